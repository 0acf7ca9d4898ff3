// cmd_trace.cpp - `capscope trace`: the live one-line-per-check view for the
// whole host or filtered, until Ctrl-C (or --duration).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/caps.h"
#include "core/noise.h"
#include "core/syscalls.h"

namespace capscope {

int run_trace(const TraceConfig &c) {
  TracerConfig tc;
  tc.mode = CS_MODE_TRACE;
  tc.attach = attach_mode_or_die("trace", c.attach);
  if (!c.cap.empty()) {
    auto cap = parse_cap(c.cap);
    if (!cap)
      throw Fatal("trace: unknown capability '" + c.cap +
                  "'; valid names: " + valid_cap_names());
    tc.trace_cap = *cap;
  }
  if (c.pid < 0)
    throw Fatal("trace: --pid must be positive");
  tc.trace_tgid = static_cast<std::uint32_t>(c.pid);
  tc.trace_denied = c.denied;
  tc.trace_unique = c.unique;
  std::int64_t duration_ms = 0;
  if (!c.duration.empty()) {
    duration_ms = duration_or_die("trace", "--duration", c.duration);
  }
  require_tracing_privileges();
  Kallsyms ksyms = host_kallsyms();
  configure_noise(tc, ksyms);
  tracer_switches_from_env(tc);
  auto tracer = open_tracer(tc, c.verbose);
  install_stop_signals();
  std::string what =
      c.pid ? "pid " + std::to_string(c.pid) + "'s" : std::string("all");
  if (!c.cap.empty())
    what += " " + cap_name(tc.trace_cap);
  if (c.denied)
    what += " denied";
  std::fprintf(stderr,
               "capscope: tracing %s capability checks (%s)%s; Ctrl-C to "
               "stop\n",
               what.c_str(), attach_mode_name(tracer->mode()),
               c.unique ? ", new keys only" : "");
  std::printf("%-15s %7s %-16s %-18s %-7s %-14s %-10s %s\n", "TIME", "PID",
              "COMM", "CAP", "VERDICT", "SYSCALL", "CLASS", "CALL SITE");
  std::fflush(stdout);

  std::int64_t mono_to_wall = wall_now_ns() - mono_now_ns();
  std::uint64_t shown = 0, lost_reported = 0;
  auto on_event = [&](const cs_event &e) {
    if (e.type != CS_EV_CHECK)
      return;
    std::int64_t wall = static_cast<std::int64_t>(e.ts_ns) + mono_to_wall;
    std::time_t secs = wall / 1000000000;
    std::tm tm{};
    localtime_r(&secs, &tm);
    char ts[32];
    std::snprintf(ts, sizeof ts, "%02d:%02d:%02d.%06ld", tm.tm_hour, tm.tm_min,
                  tm.tm_sec, static_cast<long>((wall % 1000000000) / 1000));
    std::vector<std::string> frames;
    for (std::uint32_t i = 0; i < e.stack_len && i < CS_STACK_DEPTH; ++i)
      frames.emplace_back(ksyms.resolve(e.stack[i], nullptr));
    std::string site = call_site_of(frames);
    char comm[17] = {};
    std::memcpy(comm, e.comm, 16);
    std::printf(
        "%-15s %7u %-16s %-18s %-7s %-14s %-10s %s\n", ts, e.pid, comm,
        cap_name(e.key.cap).c_str(), e.key.denied ? "denied" : "granted",
        syscall_name(e.key.syscall).c_str(),
        std::string(class_name(static_cast<CheckClass>(e.key.cls))).c_str(),
        site.empty() ? "-" : site.c_str());
    if (c.verbose)
      for (const auto &f : frames)
        std::printf("%28s%s\n", "", f.empty() ? "[bpf/unknown]" : f.c_str());
    ++shown;
  };
  auto deadline = duration_ms ? std::chrono::steady_clock::now() +
                                    std::chrono::milliseconds(duration_ms)
                              : std::chrono::steady_clock::time_point::max();
  while (!g_stop_signal && std::chrono::steady_clock::now() < deadline) {
    int n = tracer->poll(100, on_event);
    if (n < 0)
      break;
    std::fflush(stdout);
    auto st = tracer->read_stats();
    if (st.lost_events > lost_reported) {
      std::fprintf(
          stderr,
          "capscope: %llu events dropped (ring buffer "
          "full); use --unique or filters\n",
          static_cast<unsigned long long>(st.lost_events - lost_reported));
      lost_reported = st.lost_events;
    }
  }
  while (tracer->poll(0, on_event) > 0) {
  }
  std::fflush(stdout);
  auto st = tracer->read_stats();
  // The counts are kept in the kernel whatever the ring buffer drops: the
  // first number is exact, and (without --unique) shown + dropped equals
  // it.
  std::uint64_t counted = 0;
  for (const auto &kc : tracer->read_counts())
    counted += kc.count;
  std::fprintf(stderr,
               "capscope: %llu checks counted, %llu shown, %llu dropped "
               "(ring buffer full)\n",
               static_cast<unsigned long long>(counted),
               static_cast<unsigned long long>(shown),
               static_cast<unsigned long long>(st.lost_events));
  // Checks the kernel saw against those it could count per key: they
  // differ only when `counts` was full.
  Profile losses;
  TraceSession::stamp_losses(losses, st);
  std::string lost;
  for (const auto &[map, n] : map_overflow_list(losses))
    if (n)
      lost += (lost.empty() ? "" : ", ") + map + " " + std::to_string(n);
  std::fprintf(
      stderr, "capscope: %llu checks seen by the kernel%s%s%s\n",
      static_cast<unsigned long long>(st.checks),
      lost.empty() ? "; no map overflowed" : "; map overflows: ", lost.c_str(),
      st.counts_full ? " (checks of new keys went uncounted)" : "");
  return 0;
}

} // namespace capscope
