// kernel_btf.h - what the running kernel's BTF says about the fields the BPF
// program reads with a CO-RE fallback, so that `capscope doctor` can name
// the fallback each kernel gets (the program itself decides at load time
// with bpf_core_field_exists()).
#pragma once

#include <string>

namespace capscope {

struct KernelFields {
  bool btf = false;       // vmlinux BTF could be read
  bool ns_id = false;     // ns_common.ns_id (6.18+): scope keys never reused
  bool mntns_seq = false; // mnt_namespace.seq (older kernels): never reused
  bool ti_status = false; // thread_info.status (x86: 32-bit syscalls told)
};

// Reads /sys/kernel/btf/vmlinux through libbpf; btf = false when it cannot.
KernelFields probe_kernel_fields();

// The scope key the BPF program uses on this kernel, one line for doctor.
std::string scope_key_line(const KernelFields &f);

} // namespace capscope
