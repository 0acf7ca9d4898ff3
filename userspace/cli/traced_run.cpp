// traced_run.cpp - gated start, tracking, stop on --duration/Ctrl-C,
// reaping, and profile assembly for one traced workload.
#include "cli/traced_run.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <unistd.h>

#include "cli/common.h"
#include "session/engines.h"
#include "session/workload.h"
#include "core/syscalls.h"
#include "daemon/container_info.h"

namespace capscope {

namespace {

constexpr std::uint64_t kCommandScope = 1;
constexpr std::uint64_t kEngineScope = 2; // dockerd, containerd, shims
constexpr int kGraceMs = 3000; // SIGTERM before SIGKILL when stopping

std::string base_name(const std::string &p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

} // namespace

RunResult run_traced(const RunSpec &spec) {
  RunResult res;
  std::optional<Identity> user;
  if (!spec.user.empty()) {
    auto id = parse_identity(spec.user);
    if (!id)
      throw Fatal(id.error().message);
    user = id.value();
  }
  require_tracing_privileges();
  int not_found = 0;
  auto path = resolve_command(spec.command[0], &not_found);
  if (!path) {
    std::fprintf(stderr, "capscope: %s\n", path.error().message.c_str());
    res.exit_status = not_found;
    return res;
  }

  Kallsyms ksyms = Kallsyms::load();
  EngineSession engines(spec.command);
  TracerConfig tc;
  tc.attach = spec.attach;
  tc.mode = engines.host_wide() ? CS_MODE_DAEMON : CS_MODE_RECORD;
  tc.diagnose = spec.diagnose;
  tc.host_mntns = mntns_of_pid(getpid());
  configure_noise(tc, ksyms);
  std::int64_t t0 = mono_now_ns();
  auto tracer = open_tracer(tc, spec.verbose);
  if (spec.verbose)
    std::fprintf(stderr, "capscope: attached (%s) in %.0f ms\n",
                 attach_mode_name(tracer->mode()), (mono_now_ns() - t0) / 1e6);

  Aggregator &agg = res.aggregator;
  agg = Aggregator(wall_now_ns() - mono_now_ns());
  ScopeResolver resolver;
  engines.track_engine(*tracer, kEngineScope, spec.verbose);
  auto on_event = [&](const cs_event &e) {
    engines.on_event(e, kCommandScope);
    agg.on_event(e, ksyms);
    if (e.type == CS_EV_SCOPE) // name it now: the process may not last
      resolver.on_scope_event(e);
    if (spec.on_event)
      spec.on_event(e);
  };

  install_stop_signals();
  engines.before_spawn(spec.verbose);
  auto spawned =
      ChildTree::spawn(path.value(), spec.command, user, spec.before_exec);
  if (!spawned)
    throw Fatal("cannot start " + spec.command[0] + ": " +
                spawned.error().message);
  auto &w = *spawned.value();
  if (auto r = tracer->track(w.pid(), kCommandScope, CS_PHASE_SETUP,
                             CS_SCOPE_COMMAND);
      !r) {
    kill(w.pid(), SIGKILL);
    throw Fatal(r.error().message);
  }
  std::int64_t start_wall = wall_now_ns();
  if (int e = w.release(); e != 0) {
    while (w.reap())
      usleep(1000);
    if (user && (e == EPERM || e == EINVAL))
      throw Fatal("cannot switch to user '" + spec.user +
                  "': " + std::strerror(e));
    std::fprintf(stderr, "capscope: %s: %s\n", spec.command[0].c_str(),
                 std::strerror(e));
    res.exit_status = e == ENOENT ? 127 : 126;
    return res;
  }
  res.started = true;

  auto deadline = spec.duration_ms
                      ? std::chrono::steady_clock::now() +
                            std::chrono::milliseconds(spec.duration_ms)
                      : std::chrono::steady_clock::time_point::max();
  auto kill_at = std::chrono::steady_clock::time_point::max();
  bool stopping = false;
  auto everyone = [&] {
    auto tg = tracer->tracked_tgids();
    std::vector<unsigned> t(tg.begin(), tg.end());
    t.push_back(static_cast<unsigned>(w.pid()));
    return engines.stop_targets(t, static_cast<unsigned>(w.pid()));
  };
  auto stop_workload = [&](const char *why) {
    if (stopping)
      return;
    stopping = true;
    if (spec.verbose)
      std::fprintf(stderr, "capscope: %s: stopping the workload\n", why);
    signal_all(everyone(), SIGTERM);
    kill_at =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kGraceMs);
  };

  while (w.reap()) {
    tracer->poll(50, on_event);
    if (spec.on_tick)
      spec.on_tick(*tracer);
    auto now = std::chrono::steady_clock::now();
    if (g_stop_signal) {
      res.interrupted = true;
      stop_workload("interrupted");
    }
    if (now >= deadline)
      stop_workload("--duration elapsed");
    if (now >= kill_at) {
      signal_all(everyone(), SIGKILL);
      kill_at = now + std::chrono::milliseconds(kGraceMs);
    }
  }
  std::int64_t end_wall = wall_now_ns();
  while (tracer->poll(0, on_event) > 0) {
  }
  agg.set_counts(tracer->read_counts());
  TracerStats stats = tracer->read_stats();
  if (spec.verbose)
    std::fprintf(stderr,
                 "capscope: doubtful checks classified without a stack: %llu "
                 "(sampled against the stack, disagreed: %llu); stack walks "
                 "that failed: %llu\n",
                 static_cast<unsigned long long>(stats.fast_class),
                 static_cast<unsigned long long>(stats.fast_mismatch),
                 static_cast<unsigned long long>(stats.stack_fail));

  Profile &p = res.profile;
  p.workload.kind = "command";
  p.workload.name = base_name(spec.command[0]);
  p.workload.command = spec.command;
  p.workload.user = spec.user;
  p.workload.key = "command:" + base_name(spec.command[0]);
  p.start_ns = start_wall;
  p.end_ns = end_wall;
  p.kernel = kernel_release();
  p.arch = std::string(syscall_arch());
  p.attach_mode = attach_mode_name(tracer->mode());
  p.exit_status = w.exit_status();
  p.lost_events = stats.lost_events;
  p.tasks_overflow = stats.tasks_full;
  p.counts_overflow = stats.counts_full;
  // Scopes that are containers get a profile each; other private mount
  // namespaces (`unshare -m`, a runtime's helpers) stay the command's.
  std::map<std::string, Profile> by_container;
  for (std::uint64_t scope : agg.scopes()) {
    const ContainerIdentity *id = nullptr;
    if (scope != kCommandScope) {
      if (!resolver.known(scope))
        resolver.resolve_pid(scope, agg.some_pid(scope));
      id = resolver.find(scope);
      // Host-wide (docker, ctr): only the command's own containers.
      if (engines.host_wide() && scope != kEngineScope &&
          !engines.owns(scope, id ? id->ref.id : "", id ? id->name : ""))
        continue;
    }
    if (!id) {
      agg.fill(p, scope);
      continue;
    }
    res.container_scopes.insert(scope);
    auto [it, fresh] = by_container.try_emplace(id->ref.id);
    Profile &cp = it->second;
    if (fresh) {
      ScopeResolver::describe(cp, *id);
      cp.kernel = p.kernel;
      cp.arch = p.arch;
      cp.attach_mode = p.attach_mode;
      cp.lost_events = p.lost_events;
    }
    agg.fill(cp, scope);
  }
  for (auto &[cid, cp] : by_container) {
    for (const auto &c : cp.checks) {
      if (!cp.start_ns || (c.first_ns && c.first_ns < cp.start_ns))
        cp.start_ns = c.first_ns;
      cp.end_ns = std::max(cp.end_ns, c.last_ns);
    }
    cp.runtime_checks = p.checks;
    res.containers.push_back(std::move(cp));
  }
  res.exit_status = w.exit_status();
  res.engine = engines.engine();
  return res;
}

} // namespace capscope
