// cmd_doctor.cpp - `capscope doctor`: what this kernel supports, which
// attach mode will run and why the others were refused.
#include <cstdio>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/noise.h"
#include "loader/kernel_btf.h"

namespace capscope {

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

// The listed call sites (core/noise.cpp) found in kallsyms, and for those
// that are not (inlined into their callers in this build, or absent), what
// becomes of the checks made through them.
static void print_noise_sites(const Kallsyms &ksyms, std::size_t resolved) {
  std::printf("noise call sites resolved: %zu of %zu\n", resolved,
              noise_sites().size());
  std::uint64_t s, e;
  for (const auto &site : noise_sites()) {
    if (ksyms.range(site.function, &s, &e))
      continue;
    std::string others;
    for (const auto &o : noise_sites())
      if (o.cls == site.cls && ksyms.range(o.function, &s, &e))
        others += (others.empty() ? "" : ", ") + std::string(o.function);
    std::string cls(class_name(site.cls));
    std::printf("  %-28s not in kallsyms (inlined or absent); ",
                std::string(site.function).c_str());
    if (!others.empty())
      std::printf("covered by %s (also %s)\n", others.c_str(), cls.c_str());
    else if (site.cls == CheckClass::Needed)
      std::printf("no other %s site resolves: a NOAUDIT check made "
                  "through it stays advisory\n",
                  cls.c_str());
    else
      std::printf("no other %s site resolves: its checks count as "
                  "needed\n",
                  cls.c_str());
  }
}

int run_doctor(const DoctorConfig &c) {
  std::printf("kernel      %s\n", kernel_release().c_str());
  bool btf = exists("/sys/kernel/btf/vmlinux");
  std::printf("BTF         %s\n",
              btf ? "yes (/sys/kernel/btf/vmlinux)" : "MISSING");
  bool tp = exists("/sys/kernel/tracing/events/capability/cap_capable") ||
            exists("/sys/kernel/debug/tracing/events/capability/cap_capable");
  std::printf("tracepoint  capability:cap_capable %s\n",
              tp ? "present" : "absent (tracefs)");
  Kallsyms ksyms = host_kallsyms();
  std::uint64_t s, e;
  std::printf("kallsyms    %s\n", ksyms.empty() ? "unreadable"
                                  : ksyms.range("cap_capable", &s, &e)
                                      ? "readable, cap_capable found"
                                      : "readable, no cap_capable");
  std::printf("privileges  euid %d\n", static_cast<int>(geteuid()));
  try {
    require_tracing_privileges();
  } catch (const Fatal &f) {
    std::printf("            cannot trace: %s\n", f.what());
    std::printf("record will use: nothing (fix the above first)\n");
    return 1;
  }
  TracerConfig tc;
  configure_noise(tc, ksyms);
  set_libbpf_verbose(c.verbose);
  const char *chosen = nullptr;
  std::printf("attach modes (tried in this order by --attach auto):\n");
  for (AttachMode m :
       {AttachMode::Tracepoint, AttachMode::Fexit, AttachMode::Kprobe}) {
    tc.attach = m;
    auto t = Tracer::open(tc, nullptr);
    std::string msg = !t ? t.error().message
                      : t.value()->compat_object()
                          ? "loads and attaches the compat object (this "
                            "kernel refuses BPF atomic instructions, Linux "
                            "< 5.12: no task cache, every check takes the "
                            "hash maps)"
                          : "loads and attaches";
    std::string prefix =
        std::string("attach mode ") + attach_mode_name(m) + ": ";
    if (msg.rfind(prefix, 0) == 0)
      msg = msg.substr(prefix.size());
    std::printf("  %-11s %s\n", attach_mode_name(m), msg.c_str());
    if (t && !chosen)
      chosen = attach_mode_name(m);
  }
  print_noise_sites(ksyms, tc.ranges.size());
  std::string stops;
  for (std::string_view name : syscall_dispatch_functions())
    if (ksyms.range(name, &s, &e))
      stops += (stops.empty() ? "" : ", ") + std::string(name);
  if (!stops.empty())
    std::printf("walks end   at %s (the syscall dispatch: no call site lies "
                "above, and the kernel may move the stack there on every "
                "syscall)\n",
                stops.c_str());
  else
    std::printf("walks end   at the stack's end (no syscall dispatch function "
                "in kallsyms: with a randomized kernel stack offset, checks "
                "outside listed call sites take the stack every time)\n");
  KernelFields kf = probe_kernel_fields();
  std::printf("scope key   %s\n", scope_key_line(kf).c_str());
#if defined(__x86_64__)
  std::printf("32-bit      %s\n",
              kf.ti_status ? "ia32 syscalls told apart (thread_info.status)"
                           : "ia32 syscalls cannot be told apart (no "
                             "thread_info.status): no check is called moot");
#endif
  std::printf("record will use: %s\n", chosen ? chosen : "nothing");
  return chosen ? 0 : 1;
}

int run_decode(const DecodeConfig &c) {
  auto m = parse_hex_mask(c.hex);
  if (!m)
    throw Fatal("decode: '" + c.hex +
                "' is not a capability mask (expected up to 16 hex digits, "
                "e.g. 00000000a80425fb)");
  std::printf("0x%016llx=", static_cast<unsigned long long>(*m));
  bool first = true;
  for (const auto &n : cap_names(*m)) {
    std::printf("%s%s", first ? "" : ",", ("CAP_" + n).c_str());
    first = false;
  }
  std::printf("\n");
  return 0;
}

} // namespace capscope
