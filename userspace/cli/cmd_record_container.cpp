// cmd_record_container.cpp - `capscope record --container ID|NAME`: attach to a
// running container, trace it (and whatever execs into it later, such as
// `podman exec`) until --duration elapses, Ctrl-C, or the container exits,
// then report like `record`.
#include <chrono>
#include <cstdio>
#include <set>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/either_or.h"
#include "core/format.h"
#include "session/container_info.h"
#include "session/container_profile.h"
#include "session/system.h"
#include "session/trace_session.h"

namespace capscope {

int run_record_container(const RecordConfig &c) {
  const Format fmt = format_or_die("record", c.format);
  std::int64_t duration_ms = 0;
  if (!c.duration.empty()) {
    duration_ms = duration_or_die("record", "--duration", c.duration);
  }
  SessionOptions so;
  so.attach = attach_mode_or_die("record", c.attach);
  require_tracing_privileges();
  auto target = find_running_container(c.container);
  if (!target)
    throw Fatal("record: " + target.error().message);
  const std::string id = target->id;

  so.mode = CS_MODE_DAEMON; // also catches later execs into the container
  so.host_mntns = host_mntns();
  so.verbose = c.verbose;
  auto session = TraceSession::open(so);
  Aggregator &agg = session->aggregator();
  ScopeResolver &resolver = session->resolver();
  std::int64_t start_wall = wall_now_ns();

  // Adopt the container's tasks as they are: past their exec gate.
  std::size_t adopted = 0;
  for (int pid : target->pids)
    adopted += session->adopt_process(pid, adopted_scope(mntns_of_pid(pid)));
  install_stop_signals();
  bool tty = isatty(STDERR_FILENO);
  std::fprintf(stderr,
               "capscope: attached (%s) to container %s (%zu tasks)%s; "
               "Ctrl-C to stop\n",
               session->attach_mode(), id.substr(0, 12).c_str(), adopted,
               duration_ms ? (", for " + c.duration).c_str() : "");

  auto ours = [&](std::uint64_t scope) {
    const ContainerIdentity *ci = resolver.find(scope);
    return ci && ci->ref.id == id;
  };
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = duration_ms ? t0 + std::chrono::milliseconds(duration_ms)
                              : std::chrono::steady_clock::time_point::max();
  auto next_status = t0;
  bool gone = false;
  while (!g_stop_signal && std::chrono::steady_clock::now() < deadline) {
    session->poll(100);
    auto now = std::chrono::steady_clock::now();
    if (now < next_status)
      continue;
    next_status = now + std::chrono::seconds(1);
    std::set<std::uint64_t> live;
    for (auto [tgid, scope] : session->source().tracked())
      if (ours(scope))
        live.insert(scope);
    if (live.empty()) {
      gone = true;
      break;
    }
    if (tty) {
      session->refresh_counts();
      Profile p;
      std::uint64_t checks = 0;
      for (std::uint64_t s : agg.scopes())
        if (ours(s))
          agg.fill(p, s);
      for (const auto &ch : p.checks)
        checks += ch.granted + ch.denied;
      auto names = cap_names(final_advice(p).add);
      std::string caps;
      for (const auto &n : names)
        caps += (caps.empty() ? "" : ",") + n;
      double secs = std::chrono::duration<double>(now - t0).count();
      std::fprintf(stderr, "\r\033[K  %.0fs  %llu checks  needs: %s", secs,
                   static_cast<unsigned long long>(checks),
                   caps.empty() ? "nothing yet" : caps.c_str());
    }
  }
  if (tty)
    std::fprintf(stderr, "\r\033[K");
  if (gone)
    std::fprintf(stderr, "capscope: container %s exited\n",
                 id.substr(0, 12).c_str());
  ContainerProfileOptions po;
  po.fallback.ref.id = id;
  po.start_wall_ns = start_wall;
  Profile p = finish_container_profile(*session, ours, po);
  for (int pid : target->pids)
    if (std::uint64_t eff = proc_status_mask(pid, "CapEff:")) {
      p.held = eff;
      p.held_known = true;
      break;
    }
  RenderOptions ro;
  ro.verbose = c.verbose;
  emit_output(c.output, render(p, fmt, ro));
  return 0;
}

} // namespace capscope
