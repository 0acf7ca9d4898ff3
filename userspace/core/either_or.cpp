// either_or.cpp - the either/or call-site table and the advice refinement.
#include "core/either_or.h"
#include "core/caps.h"

namespace capscope {

namespace {

const CheckStats *needed(const Profile &p, int cap) {
  return p.find(cap, CheckClass::Needed);
}

bool has_row(std::string_view site, int b, int n) {
  for (const auto &e : either_or_sites())
    if (e.call_site == site && e.broader == b && e.narrower == n &&
        !e.broader_first)
      return true;
  return false;
}

// True when `n` was refused only at narrower-first sites whose fallback is
// `b`, and `b` was granted in a syscall where `n` was refused. A profile
// keeps the call site of the first check per (syscall, capability,
// verdict), so the broad grant may carry an earlier site of the same
// syscall (SYS_ADMIN at bpf_prog_load, PERFMON refused at bpf_check): the
// syscall ties the refusal to the grant.
bool fell_back(const Profile &p, int n, int b) {
  const CheckStats *ns = needed(p, n), *bs = needed(p, b);
  if (n == b || !ns || !bs || ns->denied == 0 || bs->granted == 0 ||
      ns->call_sites.empty())
    return false;
  for (const auto &site : ns->call_sites)
    if (!has_row(site, b, n))
      return false;
  for (const auto &sc : ns->syscalls)
    if (bs->syscalls.count(sc))
      return true;
  for (const auto &site : ns->call_sites)
    if (bs->call_sites.count(site))
      return true;
  return false;
}

} // namespace

const std::vector<EitherOrSite> &either_or_sites() {
  // Found by reading Debian's linux-source-6.1 for pairs of capability
  // checks joined so that either one suffices (`capable(A) || capable(B)`,
  // `!capable(A) && !capable(B)`, consecutive `if (capable(X)) return 0;`),
  // then each triggerable one measured on kernel 6.18 with `capscope trace`
  // (with every capability, and with the first-asked one dropped from the
  // bounding set through setpriv) to learn the call site as capscope
  // reports it and the order the kernel asks in. Call sites are the first
  // frame past the capability wrappers: an inline helper such as
  // bpf_capable() or perfmon_capable() shows up as its caller, so one helper
  // is several rows. Dropped from this table because 6.18 no longer accepts
  // the broad one: check_syslog_permissions (SYSLOG, then SYS_ADMIN with a
  // deprecation warning in 6.1; on 6.18 `dmesg` without SYSLOG is refused
  // and SYS_ADMIN is never asked). It stays as a 6.1-only row, since a
  // profile recorded there shows that pair.
  static const std::vector<EitherOrSite> sites = {
      // --- broader first: a run with every capability shows only the broad
      // one granted.
      {"ioprio_check_cap", kSysAdmin, kSysNice, true, false,
       "ioprio_set(2) to the real-time I/O class (ionice -c 1)",
       "block/ioprio.c ioprio_check_cap()",
       "6.1 source; measured on 6.18 (SYS_ADMIN asked first)"},
      {"caif_create", kSysAdmin, kNetAdmin, true, false, "socket(AF_CAIF)",
       "net/caif/caif_socket.c caif_create()", "6.1 source (module)"},

      // --- narrower first: the broad one is the fallback, asked only
      // after the narrow one was denied.
      {"generic_permission", kDacOverride, kDacReadSearch, false, true,
       "reading a file or searching a directory the DAC bits refuse",
       "fs/namei.c generic_permission()",
       "6.1 source; measured on 6.18 (DAC_READ_SEARCH asked first for "
       "reads and directory search; writes ask DAC_OVERRIDE alone)"},
      {"map_create", kSysAdmin, kBpf, false, false, "bpf(BPF_MAP_CREATE)",
       "kernel/bpf/syscall.c map_create() via bpf_token_capable()",
       "measured on 6.18"},
      {"map_create", kSysAdmin, kPerfmon, false, false,
       "bpf(BPF_MAP_CREATE) of a map type that needs PERFMON",
       "kernel/bpf/syscall.c map_create() via bpf_token_capable()",
       "6.18 (bpf_token_capable)"},
      {"map_create", kSysAdmin, kNetAdmin, false, false,
       "bpf(BPF_MAP_CREATE) of a socket map type",
       "kernel/bpf/syscall.c map_create() via bpf_token_capable()",
       "6.18 (bpf_token_capable)"},
      {"bpf_prog_load", kSysAdmin, kBpf, false, false, "bpf(BPF_PROG_LOAD)",
       "kernel/bpf/syscall.c bpf_prog_load() via bpf_token_capable()",
       "6.1 source (bpf_capable); measured on 6.18"},
      {"bpf_prog_load", kSysAdmin, kNetAdmin, false, false,
       "bpf(BPF_PROG_LOAD) of a networking program type",
       "kernel/bpf/syscall.c bpf_prog_load()",
       "6.1 source (NET_ADMIN, then SYS_ADMIN)"},
      {"bpf_prog_load", kSysAdmin, kPerfmon, false, false,
       "bpf(BPF_PROG_LOAD) of a tracing program type",
       "kernel/bpf/syscall.c bpf_prog_load()", "6.1 source (perfmon_capable)"},
      {"bpf_check", kSysAdmin, kBpf, false, false,
       "bpf(BPF_PROG_LOAD): the verifier's privilege checks",
       "kernel/bpf/verifier.c bpf_check()", "measured on 6.18"},
      {"bpf_check", kSysAdmin, kPerfmon, false, false,
       "bpf(BPF_PROG_LOAD): the verifier's privilege checks",
       "kernel/bpf/verifier.c bpf_check()", "measured on 6.18"},
      {"bpf_prog_kallsyms_add", kSysAdmin, kBpf, false, false,
       "bpf(BPF_PROG_LOAD): publishing the program in kallsyms",
       "kernel/bpf/core.c bpf_prog_kallsyms_add()", "measured on 6.18"},
      {"__sys_bpf", kSysAdmin, kBpf, false, false, "bpf(2)",
       "kernel/bpf/syscall.c __sys_bpf() (bpf_capable)", "6.1 source"},
      {"bpf_btf_load", kSysAdmin, kBpf, false, false, "bpf(BPF_BTF_LOAD)",
       "kernel/bpf/syscall.c bpf_btf_load()", "6.1 source (bpf_capable)"},
      {"perf_allow_kernel", kSysAdmin, kPerfmon, false, false,
       "perf_event_open(2) of an event that includes the kernel",
       "include/linux/perf_event.h perf_allow_kernel() (perfmon_capable)",
       "6.1 source; measured on 6.18"},
      {"perf_allow_cpu", kSysAdmin, kPerfmon, false, false,
       "perf_event_open(2) of a CPU-wide event",
       "include/linux/perf_event.h perf_allow_cpu() (perfmon_capable)",
       "6.1 source"},
      {"perf_allow_tracepoint", kSysAdmin, kPerfmon, false, false,
       "perf_event_open(2) of a tracepoint event",
       "include/linux/perf_event.h perf_allow_tracepoint()", "6.1 source"},
      {"__do_sys_perf_event_open", kSysAdmin, kPerfmon, false, false,
       "perf_event_open(2)",
       "kernel/events/core.c perf_event_open() (perfmon_capable, inlined "
       "perf_check_permission)",
       "6.1 source; measured on 6.18"},
      {"pid_ns_ctl_handler", kSysAdmin, kCheckpointRestore, false, false,
       "writing /proc/sys/kernel/ns_last_pid",
       "kernel/pid_namespace.c pid_ns_ctl_handler() "
       "(checkpoint_restore_ns_capable)",
       "6.1 source; measured on 6.18"},
      {"alloc_pid", kSysAdmin, kCheckpointRestore, false, false,
       "clone3(2) with set_tid", "kernel/pid.c alloc_pid()", "6.1 source"},
      {"prctl_set_mm_map", kSysAdmin, kCheckpointRestore, false, false,
       "prctl(PR_SET_MM, PR_SET_MM_MAP) with exe_fd",
       "kernel/sys.c prctl_set_mm_map()", "6.1 source"},
      {"proc_map_files_get_link", kSysAdmin, kCheckpointRestore, false, false,
       "following a /proc/PID/map_files link",
       "fs/proc/base.c proc_map_files_get_link()", "6.1 source"},
      {"sk_setsockopt", kNetAdmin, kNetRaw, false, true, "setsockopt(SO_MARK)",
       "net/core/sock.c sk_setsockopt()",
       "6.1 source; measured on 6.18 (other options ask NET_ADMIN alone)"},
      {"__sock_cmsg_send", kNetAdmin, kNetRaw, false, true,
       "sendmsg(2) with an SO_MARK control message",
       "net/core/sock.c __sock_cmsg_send()", "6.1 source"},
      {"do_ip_setsockopt", kNetAdmin, kNetRaw, false, true,
       "setsockopt(IP_TRANSPARENT)", "net/ipv4/ip_sockglue.c",
       "6.1 source; measured on 6.18"},
      {"do_ipv6_setsockopt", kNetAdmin, kNetRaw, false, true,
       "setsockopt(IPV6_TRANSPARENT)", "net/ipv6/ipv6_sockglue.c",
       "6.1 source"},
      {"pipe_is_unprivileged_user", kSysAdmin, kSysResource, false, false,
       "pipes beyond the per-user pipe buffer limits",
       "fs/pipe.c pipe_is_unprivileged_user()", "6.1 source"},
      {"copy_process", kSysAdmin, kSysResource, false, false,
       "fork(2) beyond RLIMIT_NPROC (non-root user)",
       "kernel/fork.c copy_process()", "6.1 source"},
      {"unix_scm_to_skb", kSysAdmin, kSysResource, false, false,
       "passing file descriptors over a Unix socket beyond RLIMIT_NOFILE",
       "net/unix/af_unix.c too_many_unix_fds() (inlined)", "6.1 source"},
      {"check_syslog_permissions", kSysAdmin, kSyslog, false, false,
       "syslog(2) / reading the kernel log",
       "kernel/printk/printk.c check_syslog_permissions()",
       "6.1 source only: 6.18 no longer accepts SYS_ADMIN there"},
  };
  return sites;
}

std::vector<const EitherOrSite *> either_or_at(std::string_view call_site,
                                               int broader) {
  std::vector<const EitherOrSite *> out;
  for (const auto &s : either_or_sites())
    if (s.call_site == call_site && s.broader == broader)
      out.push_back(&s);
  return out;
}

FinalAdvice refine_advice(const Profile &p, const Advice &base) {
  FinalAdvice out;
  out.add = base.add;
  out.denied = base.denied;

  // Denials the workload survived: the narrow capability was refused only
  // where the kernel then accepted a broad one that was granted.
  for (int n : caps_in(base.denied))
    for (int b = 0; b < kCapCount; ++b)
      if (fell_back(p, n, b))
        out.recovered |= cap_bit(n);
  out.denied &= ~out.recovered;

  // Broad capabilities whose every use has a narrower alternative.
  for (int b : caps_in(base.add)) {
    const CheckStats *s = needed(p, b);
    if (!s || s->granted == 0 || s->call_sites.empty())
      continue;
    CapMask repl = 0, fallback_caps = 0;
    bool ok = true, broader_first = false, counts_matter = false;
    auto take_fallback = [&](const EitherOrSite &e) {
      if (e.broader_first || !fell_back(p, e.narrower, b))
        return false;
      repl |= cap_bit(e.narrower);
      fallback_caps |= cap_bit(e.narrower);
      counts_matter = counts_matter || e.broader_alone;
      return true;
    };
    for (const auto &site : s->call_sites) {
      bool explained = false;
      for (const EitherOrSite *e : either_or_at(site, b)) {
        if (e->broader_first) {
          repl |= cap_bit(e->narrower);
          broader_first = explained = true;
        } else if (take_fallback(*e)) {
          explained = true;
        }
      }
      ok = ok && explained;
    }
    if (!ok)
      continue;
    // Fallbacks in the same syscalls whose broad grant was counted under
    // an earlier call site (one call site per aggregation key).
    for (const auto &e : either_or_sites())
      if (e.broader == b)
        take_fallback(e);
    if (counts_matter) {
      // Each fallback follows one refusal of a narrow capability. More
      // checks of the broad one than refusals means it was also asked on
      // its own (a write after DAC_READ_SEARCH, another socket option).
      // Counts are per capability, not per site: conservative when the
      // broad one has other sites too.
      std::uint64_t refusals = 0;
      for (int n : caps_in(fallback_caps))
        refusals += needed(p, n)->denied;
      if (s->granted + s->denied > refusals)
        continue;
    }
    Narrowing nw;
    nw.broader = b;
    nw.narrower = repl;
    nw.sites.assign(s->call_sites.begin(), s->call_sites.end());
    nw.broader_first = broader_first;
    out.narrowed.push_back(std::move(nw));
    out.add = (out.add & ~cap_bit(b)) | repl;
  }
  // A narrow capability whose every use is at either/or sites that also
  // accept a broad capability advised anyway adds nothing: there the kernel
  // takes the broad one, asked first or as the fallback after refusing the
  // narrow one (generic_permission: DAC_READ_SEARCH for reads is covered by
  // DAC_OVERRIDE, needed for writes). A cover must not itself be dropped.
  auto covers_all = [&](int n, CapMask by) {
    const CheckStats *s = needed(p, n);
    if (!s || s->call_sites.empty())
      return false;
    for (const auto &site : s->call_sites) {
      bool site_ok = false;
      for (const auto &e : either_or_sites())
        site_ok = site_ok || (e.call_site == site && e.narrower == n &&
                              e.broader != n && (by & cap_bit(e.broader)));
      if (!site_ok)
        return false;
    }
    return true;
  };
  CapMask candidates = 0;
  for (int n : caps_in(out.add))
    if (covers_all(n, out.add & ~cap_bit(n)))
      candidates |= cap_bit(n);
  for (int n : caps_in(candidates))
    if (covers_all(n, out.add & ~candidates))
      out.covered |= cap_bit(n);
  out.add &= ~out.covered;
  // A narrow capability now advised covers its own refusals.
  for (const auto &nw : out.narrowed) {
    out.recovered |= out.denied & nw.narrower;
    out.denied &= ~nw.narrower;
  }
  return out;
}

FinalAdvice final_advice(const Profile &p) {
  return refine_advice(p, advise(p));
}

} // namespace capscope
