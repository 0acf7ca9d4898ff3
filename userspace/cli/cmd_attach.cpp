// cmd_attach.cpp - `capscope record --container ID|NAME`: attach to a
// running container, trace it (and whatever execs into it later, such as
// `podman exec`) until --duration elapses, Ctrl-C, or the container exits,
// then report like `record`.
#include <chrono>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <set>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/aggregate.h"
#include "core/either_or.h"
#include "core/format.h"
#include "core/syscalls.h"
#include "daemon/container_info.h"

namespace capscope {

namespace {} // namespace

int run_record_container(const RecordConfig &c) {
  const Format fmt = format_or_die("record", c.format);
  std::int64_t duration_ms = 0;
  if (!c.duration.empty()) {
    duration_ms = duration_or_die("record", "--duration", c.duration);
  }
  TracerConfig tc;
  if (!parse_attach_mode(c.attach, &tc.attach))
    throw Fatal("record: unknown --attach '" + c.attach +
                "' (valid: auto, tracepoint, fexit, kprobe)");
  require_tracing_privileges();
  auto target = find_running_container(c.container);
  if (!target)
    throw Fatal("record: " + target.error().message);
  const std::string id = target->id;

  Kallsyms ksyms = Kallsyms::load();
  tc.mode = CS_MODE_DAEMON; // also catches later execs into the container
  tc.host_mntns = host_mntns();
  configure_noise(tc, ksyms);
  auto tracer = open_tracer(tc, c.verbose);
  Aggregator agg(wall_now_ns() - mono_now_ns());
  ScopeResolver resolver;
  std::int64_t start_wall = wall_now_ns();

  // Adopt the container's tasks as they are: past their exec gate.
  std::size_t adopted = 0;
  for (int pid : target->pids) {
    std::uint64_t scope = (std::uint64_t{1} << 63) | mntns_of_pid(pid);
    resolver.resolve_pid(scope, pid);
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    if (DIR *tasks = opendir(dir.c_str())) {
      while (dirent *t = readdir(tasks))
        if (std::isdigit(static_cast<unsigned char>(t->d_name[0])) &&
            tracer->track(std::atoi(t->d_name), scope, CS_PHASE_ACTIVE,
                          CS_SCOPE_CONTAINER))
          ++adopted;
      closedir(tasks);
    }
  }
  install_stop_signals();
  bool tty = isatty(STDERR_FILENO);
  std::fprintf(stderr,
               "capscope: attached (%s) to container %s (%zu tasks)%s; "
               "Ctrl-C to stop\n",
               attach_mode_name(tracer->mode()), id.substr(0, 12).c_str(),
               adopted, duration_ms ? (", for " + c.duration).c_str() : "");

  auto ours = [&](std::uint64_t scope) {
    const ContainerIdentity *ci = resolver.find(scope);
    return ci && ci->ref.id == id;
  };
  auto on_event = [&](const cs_event &e) {
    agg.on_event(e, ksyms);
    if (e.type == CS_EV_SCOPE)
      resolver.on_scope_event(e);
  };
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = duration_ms ? t0 + std::chrono::milliseconds(duration_ms)
                              : std::chrono::steady_clock::time_point::max();
  auto next_status = t0;
  bool gone = false;
  while (!g_stop_signal && std::chrono::steady_clock::now() < deadline) {
    tracer->poll(100, on_event);
    auto now = std::chrono::steady_clock::now();
    if (now < next_status)
      continue;
    next_status = now + std::chrono::seconds(1);
    std::set<std::uint64_t> live;
    for (auto [tgid, scope] : tracer->tracked())
      if (ours(scope))
        live.insert(scope);
    if (live.empty()) {
      gone = true;
      break;
    }
    if (tty) {
      agg.set_counts(tracer->read_counts());
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
  while (tracer->poll(0, on_event) > 0) {
  }
  agg.set_counts(tracer->read_counts());
  TracerStats stats = tracer->read_stats();

  Profile p;
  bool described = false;
  for (std::uint64_t s : agg.scopes()) {
    if (!ours(s))
      continue;
    if (!described) {
      ScopeResolver::describe(p, *resolver.find(s));
      described = true;
    }
    agg.fill(p, s);
  }
  if (!described) {
    ContainerIdentity ci;
    ci.ref.id = id;
    ScopeResolver::describe(p, ci);
  }
  p.start_ns = start_wall;
  p.end_ns = wall_now_ns();
  p.kernel = kernel_release();
  p.arch = std::string(syscall_arch());
  p.attach_mode = attach_mode_name(tracer->mode());
  p.lost_events = stats.lost_events;
  p.tasks_overflow = stats.tasks_full;
  p.counts_overflow = stats.counts_full;
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
