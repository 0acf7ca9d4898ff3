// kernel_btf.cpp - probe_kernel_fields(): members of kernel structs looked
// up by name in the running kernel's BTF, as the BPF program's
// bpf_core_field_exists() sees them.
#include "loader/kernel_btf.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cstring>

namespace capscope {

namespace {

// Does struct `type` have a member `member` (by name, anywhere in its
// anonymous sub-structs/unions too)?
bool has_member(const struct btf *btf, int type_id, const char *member,
                int depth = 0) {
  const struct btf_type *t = btf__type_by_id(btf, type_id);
  if (!t || depth > 4 || (!btf_is_struct(t) && !btf_is_union(t)))
    return false;
  const struct btf_member *m = btf_members(t);
  for (unsigned i = 0; i < btf_vlen(t); i++, m++) {
    const char *name = btf__name_by_offset(btf, m->name_off);
    if (name && std::strcmp(name, member) == 0)
      return true;
    if ((!name || !*name) &&
        has_member(btf, btf__resolve_type(btf, m->type), member, depth + 1))
      return true;
  }
  return false;
}

bool struct_has(const struct btf *btf, const char *type, const char *member) {
  int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
  return id > 0 && has_member(btf, id, member);
}

} // namespace

KernelFields probe_kernel_fields() {
  KernelFields f;
  struct btf *btf = btf__load_vmlinux_btf();
  if (!btf || libbpf_get_error(btf))
    return f;
  f.btf = true;
  f.ns_id = struct_has(btf, "ns_common", "ns_id");
  f.mntns_seq = struct_has(btf, "mnt_namespace", "seq");
  f.ti_status = struct_has(btf, "thread_info", "status");
  btf__free(btf);
  return f;
}

std::string scope_key_line(const KernelFields &f) {
  if (!f.btf)
    return "unknown (no kernel BTF)";
  if (f.ns_id)
    return "ns_common.ns_id (never reused)";
  if (f.mntns_seq)
    return "mnt_namespace.seq (never reused; this kernel has no "
           "ns_common.ns_id)";
  return "mount namespace inode (this kernel has neither ns_common.ns_id "
         "nor mnt_namespace.seq: a namespace number can be reused, so two "
         "containers run one after the other may share a profile)";
}

} // namespace capscope
