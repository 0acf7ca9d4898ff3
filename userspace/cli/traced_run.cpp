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
#include "session/system.h"
#include "session/trace_session.h"
#include "session/workload.h"

namespace capscope {

namespace {

constexpr std::uint64_t kCommandScope = 1;
constexpr std::uint64_t kEngineScope = 2; // dockerd, containerd, shims
// How long the final profile waits for container names from the runtime
// (each runtime call has its own 5 s limit).
constexpr int kSettleMs = 12000;

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

  EngineSession engines(spec.command);
  SessionOptions so;
  so.attach = spec.attach;
  // docker, compose, ctr: their containers start outside the command's
  // process tree, so every container is tracked and the command's are
  // picked out afterwards (EngineSession::owns).
  so.mode = engines.host_wide() ? CS_MODE_DAEMON : CS_MODE_RECORD;
  so.diagnose = spec.diagnose;
  // Engine clients (ctr, nerdctl) are read from /proc at their exec.
  so.batch_exec_events = !engines.host_wide();
  so.host_mntns = mntns_of_pid(getpid());
  so.verbose = spec.verbose;
  auto session = TraceSession::open(so);
  if (spec.verbose)
    std::fprintf(stderr, "capscope: attached (%s) in %.0f ms\n",
                 session->attach_mode(), session->attach_ms());
  session->on_raw_event([&engines, hook = spec.on_event](const cs_event &e) {
    engines.on_event(e, kCommandScope);
    if (hook)
      hook(e);
  });
  EventSource &source = session->source();
  engines.track_engine(source, kEngineScope, spec.verbose);

  install_stop_signals();
  engines.before_spawn(spec.verbose);
  auto spawned =
      ChildTree::spawn(path.value(), spec.command, user, spec.before_exec);
  if (!spawned)
    throw Fatal("cannot start " + spec.command[0] + ": " +
                spawned.error().message);
  auto &w = *spawned.value();
  if (auto r = source.track(w.pid(), kCommandScope, CS_PHASE_SETUP,
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
  auto everyone = [&] {
    auto tg = source.tracked_tgids();
    std::vector<unsigned> t(tg.begin(), tg.end());
    t.push_back(static_cast<unsigned>(w.pid()));
    return engines.stop_targets(t, static_cast<unsigned>(w.pid()));
  };
  Terminator terminator(everyone);
  auto stop_workload = [&](const char *why) {
    if (terminator.stopping())
      return;
    if (spec.verbose)
      std::fprintf(stderr, "capscope: %s: stopping the workload\n", why);
    terminator.stop();
  };

  while (w.reap()) {
    session->poll(50);
    if (spec.on_tick)
      spec.on_tick(*source.tracer());
    auto now = std::chrono::steady_clock::now();
    if (g_stop_signal) {
      res.interrupted = true;
      stop_workload("interrupted");
    }
    if (now >= deadline)
      stop_workload("--duration elapsed");
    terminator.tick();
  }
  std::int64_t end_wall = wall_now_ns();
  session->drain();
  session->refresh_counts();
  TracerStats stats = session->stats();
  Aggregator &agg = session->aggregator();
  // Scopes first resolved below (their event was lost) start lookups too:
  // resolve every scope, then wait for the runtime's answers.
  for (std::uint64_t scope : agg.scopes())
    if (scope != kCommandScope)
      session->resolve(scope);
  session->settle_identities(kSettleMs);
  if (spec.verbose) {
    std::fprintf(stderr,
                 "capscope: doubtful checks classified without a stack: %llu "
                 "(sampled against the stack, disagreed: %llu); stack walks "
                 "that failed: %llu; checks counted by the kernel: %llu\n",
                 static_cast<unsigned long long>(stats.fast_class),
                 static_cast<unsigned long long>(stats.fast_mismatch),
                 static_cast<unsigned long long>(stats.stack_fail),
                 static_cast<unsigned long long>(stats.checks));
    std::fprintf(stderr,
                 "capscope: call-site cache: %llu hits, %llu misses, %llu "
                 "entries replaced (full), sampled against the stack, "
                 "disagreed: %llu\n",
                 static_cast<unsigned long long>(stats.site_hit),
                 static_cast<unsigned long long>(stats.site_miss),
                 static_cast<unsigned long long>(stats.site_evict),
                 static_cast<unsigned long long>(stats.site_mismatch));
  }

  Profile &p = res.profile;
  p.workload.kind = "command";
  p.workload.name = base_name(spec.command[0]);
  p.workload.command = spec.command;
  p.workload.user = spec.user;
  p.workload.key = "command:" + base_name(spec.command[0]);
  p.start_ns = start_wall;
  p.end_ns = end_wall;
  session->stamp(p);
  p.exit_status = w.exit_status();
  TraceSession::stamp_losses(p, stats);
  // Scopes that are containers get a profile each; other private mount
  // namespaces (`unshare -m`, a runtime's helpers) stay the command's.
  std::map<std::string, Profile> by_container;
  for (std::uint64_t scope : agg.scopes()) {
    const ContainerIdentity *id =
        scope == kCommandScope ? nullptr : session->resolve(scope);
    // Host-wide (docker, ctr): only the command's own containers.
    if (engines.host_wide() && scope != kCommandScope &&
        scope != kEngineScope &&
        !engines.owns(scope, id ? id->ref.id : "", id ? id->name : ""))
      continue;
    if (!id) {
      agg.fill(p, scope);
      continue;
    }
    res.container_scopes.insert(scope);
    auto [it, fresh] = by_container.try_emplace(id->ref.id);
    Profile &cp = it->second;
    if (fresh) {
      ScopeResolver::describe(cp, *id);
      session->stamp(cp);
      TraceSession::stamp_losses(cp, stats);
    }
    agg.fill(cp, scope);
  }
  for (auto &[cid, cp] : by_container) {
    TraceSession::window_from_checks(cp);
    cp.runtime_checks = p.checks;
    res.containers.push_back(std::move(cp));
  }
  res.aggregator = std::move(agg);
  res.exit_status = w.exit_status();
  res.engine = engines.engine();
  return res;
}

} // namespace capscope
