// noise.cpp - the noise call-site table and class names.
#include "core/noise.h"
#include "core/caps.h"

#include <algorithm>

namespace capscope {

namespace {} // namespace

std::string_view class_name(CheckClass c) {
  switch (c) {
  case CheckClass::Needed:
    return "needed";
  case CheckClass::Setup:
    return "setup";
  case CheckClass::Overcommit:
    return "overcommit";
  case CheckClass::Exec:
    return "exec";
  case CheckClass::Advisory:
    return "advisory";
  case CheckClass::Borrowed:
    return "borrowed";
  case CheckClass::Moot:
    return "moot";
  }
  return "unknown";
}

bool parse_class(std::string_view name, CheckClass *out) {
  for (int i = 0; i < CS_CLASS__COUNT; ++i) {
    auto c = static_cast<CheckClass>(i);
    if (class_name(c) == name) {
      *out = c;
      return true;
    }
  }
  return false;
}

std::string_view class_reason(CheckClass c) {
  switch (c) {
  case CheckClass::Needed:
    return "the workload's own check";
  case CheckClass::Setup:
    return "made before the task's exec gate (runtime or capscope set-up)";
  case CheckClass::Overcommit:
    return "memory-overcommit probe on mmap/brk/fork: asked with NOAUDIT, "
           "the allocation succeeds either way";
  case CheckClass::Exec:
    return "credential transition inside execve, not a use by the program";
  case CheckClass::Advisory:
    return "advisory (NOAUDIT) check: the kernel only asks, the operation "
           "does not depend on it";
  case CheckClass::Borrowed:
    return "checked against borrowed credentials (e.g. overlayfs acting as "
           "its mounter), not the workload's own";
  case CheckClass::Moot:
    return "this call's outcome does not depend on the capability: the "
           "kernel asks first, then its unprivileged rule allows the call";
  }
  return "";
}

const std::vector<NoiseSite> &noise_sites() {
  // Kernel facts (6.x): security_vm_enough_memory_mm() -> cap_vm_enough_memory
  // -> cap_capable(CAP_SYS_ADMIN, CAP_OPT_NOAUDIT) runs on every mmap, brk,
  // stack expansion and fork; it only tunes the overcommit heuristic.
  // The *_noaudit wrappers are what every other advisory call site uses
  // (ptrace_may_access with PTRACE_MODE_NOAUDIT: ns_capable_noaudit for
  // SYS_PTRACE, e.g. root reading another user's /proc/PID/stat).
  // cap_bprm_creds_from_file checks during execve while computing the new
  // credentials.
  // Not every NOAUDIT check is advisory: seccomp_prepare_filter() refuses a
  // filter (-EACCES) unless the task has no_new_privs or passes
  // ns_capable_noaudit(CAP_SYS_ADMIN). Its call sites (inlined into one
  // another differently per build, so all of them) are Needed: a wrapper
  // called directly from one of them is needed (class_of_frames).
  static const std::vector<NoiseSite> sites = {
      {"security_vm_enough_memory_mm", CheckClass::Overcommit,
       cap_bit(kSysAdmin), "overcommit probe"},
      {"cap_vm_enough_memory", CheckClass::Overcommit, cap_bit(kSysAdmin),
       "overcommit probe"},
      {"cap_bprm_creds_from_file", CheckClass::Exec,
       cap_bit(kSysAdmin) | cap_bit(kSetpcap) | cap_bit(6) | cap_bit(7),
       "exec credential transition"},
      {"ns_capable_noaudit", CheckClass::Advisory,
       cap_bit(kSysAdmin) | cap_bit(kSysPtrace), "NOAUDIT check"},
      {"has_ns_capability_noaudit", CheckClass::Advisory,
       cap_bit(kSysAdmin) | cap_bit(kSysPtrace), "NOAUDIT check"},
      {"has_capability_noaudit", CheckClass::Advisory,
       cap_bit(kSysAdmin) | cap_bit(kSysPtrace), "NOAUDIT check"},
      {"seccomp_prepare_filter", CheckClass::Needed, cap_bit(kSysAdmin),
       "seccomp filter without no_new_privs"},
      {"seccomp_set_mode_filter", CheckClass::Needed, cap_bit(kSysAdmin),
       "seccomp filter without no_new_privs"},
      {"do_seccomp", CheckClass::Needed, cap_bit(kSysAdmin),
       "seccomp filter without no_new_privs"},
  };
  return sites;
}

CapMask doubt_caps() {
  CapMask m = 0;
  for (const auto &s : noise_sites())
    m |= s.caps;
  return m;
}

CapMask exec_only_caps() {
  CapMask m = doubt_caps();
  for (const auto &s : noise_sites())
    if (s.cls != CheckClass::Exec)
      m &= ~s.caps;
  return m;
}

const std::vector<std::string_view> &syscall_dispatch_functions() {
  static const std::vector<std::string_view> names = {
      // x86-64 (arch/x86/entry/syscall_*.c, common.c): 64-bit, int 0x80 (and
      // its FRED/emulation path), sysenter/syscall from 32-bit code
      "do_syscall_64", "do_int80_syscall_32", "do_int80_emulation",
      "__do_fast_syscall_32", "do_fast_syscall_32",
      // arm64 (arch/arm64/kernel/syscall.c); the outer ones for kernels
      // that inline invoke_syscall
      "invoke_syscall", "el0_svc_common", "do_el0_svc"};
  return names;
}

namespace {
const NoiseSite *site_of(std::string_view frame) {
  std::size_t dot = frame.find('.');
  if (dot != std::string_view::npos)
    frame = frame.substr(0, dot);
  for (const auto &s : noise_sites())
    if (s.function == frame)
      return &s;
  return nullptr;
}
} // namespace

const NoiseSite *deciding_site(const std::vector<std::string> &frames,
                               std::size_t depth) {
  // As class_of_stack() in bpf/capscope.bpf.c.
  std::size_t n = std::min(frames.size(), depth);
  for (std::size_t i = 0; i < n; ++i) {
    const NoiseSite *s = site_of(frames[i]);
    if (!s)
      continue;
    if (s->cls == CheckClass::Advisory && i + 1 < n) {
      const NoiseSite *caller = site_of(frames[i + 1]);
      if (caller && caller->cls == CheckClass::Needed)
        return caller;
    }
    return s;
  }
  return nullptr;
}

CheckClass class_of_frames(const std::vector<std::string> &frames,
                           std::size_t depth) {
  const NoiseSite *s = deciding_site(frames, depth);
  return s ? s->cls : CheckClass::Needed;
}

CheckClass live_class(CheckClass kernel,
                      const std::vector<std::string> &frames) {
  if (kernel != CheckClass::Advisory)
    return kernel;
  const NoiseSite *s = deciding_site(frames);
  return s && s->cls == CheckClass::Needed ? CheckClass::Needed : kernel;
}

} // namespace capscope
