// cmd_record.cpp - `capscope record -- CMD`: run CMD traced from its first
// instruction, follow its whole process tree, report when the last of it
// has exited (or --duration / Ctrl-C), exit with CMD's status.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/workload.h"
#include "core/aggregate.h"
#include "core/duration.h"
#include "core/format.h"
#include "core/replay.h"
#include "core/syscalls.h"

namespace capscope {

namespace {

constexpr std::uint64_t kCommandScope = 1;
constexpr int kGraceMs = 3000; // SIGTERM before SIGKILL when stopping

std::string base_name(const std::string &p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

} // namespace

int run_record(const RecordConfig &c) {
  if (c.command.empty())
    throw Fatal("record: no command given (usage: capscope record [options] "
                "-- CMD [ARGS...])");
  auto fmt = parse_format(c.format);
  if (!fmt)
    throw Fatal("record: unknown format '" + c.format +
                "' (valid: " + format_names() + ")");
  std::int64_t duration_ms = 0;
  if (!c.duration.empty()) {
    auto d = parse_duration_ms(c.duration);
    if (!d)
      throw Fatal("record: bad --duration '" + c.duration +
                  "' (examples: 30s, 5m, 1h, 500ms)");
    duration_ms = *d;
  }
  std::optional<Identity> user;
  if (!c.user.empty()) {
    auto id = parse_identity(c.user);
    if (!id)
      throw Fatal("record: " + id.error().message);
    user = id.value();
  }
  TracerConfig tc;
  if (!parse_attach_mode(c.attach, &tc.attach))
    throw Fatal("record: unknown --attach '" + c.attach +
                "' (valid: auto, tracepoint, fexit, kprobe)");

  require_tracing_privileges();
  int not_found = 0;
  auto path = resolve_command(c.command[0], &not_found);
  if (!path) {
    std::fprintf(stderr, "capscope: %s\n", path.error().message.c_str());
    return not_found;
  }

  Kallsyms ksyms = Kallsyms::load();
  tc.mode = CS_MODE_RECORD;
  tc.host_mntns = mntns_of_pid(getpid());
  configure_noise(tc, ksyms);
  std::int64_t t0 = mono_now_ns();
  auto tracer = open_tracer(tc, c.verbose);
  if (c.verbose)
    std::fprintf(stderr, "capscope: attached (%s) in %.0f ms\n",
                 attach_mode_name(tracer->mode()),
                 (mono_now_ns() - t0) / 1e6);

  Aggregator agg(wall_now_ns() - mono_now_ns());
  auto on_event = [&](const cs_event &e) { agg.on_event(e, ksyms); };

  // Ignore stop signals until the child exists, so Ctrl-C can never leave
  // a registered-but-unreleased child behind.
  install_stop_signals();
  auto spawned = ChildTree::spawn(path.value(), c.command, user);
  if (!spawned)
    throw Fatal("record: cannot start " + c.command[0] + ": " +
                spawned.error().message);
  auto &w = *spawned.value();
  if (auto r = tracer->track(w.pid(), kCommandScope, CS_PHASE_SETUP,
                             CS_SCOPE_COMMAND);
      !r) {
    kill(w.pid(), SIGKILL);
    throw Fatal("record: " + r.error().message);
  }
  std::int64_t start_wall = wall_now_ns();
  if (int e = w.release(); e != 0) {
    while (w.reap()) {
      usleep(1000);
    }
    if (e == EPERM && user)
      throw Fatal("record: cannot switch to user '" + c.user +
                  "': " + std::strerror(e));
    std::fprintf(stderr, "capscope: %s: %s\n", c.command[0].c_str(),
                 std::strerror(e));
    return e == ENOENT ? 127 : 126;
  }

  auto deadline = duration_ms
                      ? std::chrono::steady_clock::now() +
                            std::chrono::milliseconds(duration_ms)
                      : std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point kill_at =
      std::chrono::steady_clock::time_point::max();
  bool stopping = false;
  auto stop_workload = [&](const char *why) {
    if (stopping)
      return;
    stopping = true;
    if (c.verbose)
      std::fprintf(stderr, "capscope: %s: stopping the workload\n", why);
    auto tg = tracer->tracked_tgids();
    std::vector<unsigned> t(tg.begin(), tg.end());
    t.push_back(static_cast<unsigned>(w.pid()));
    signal_all(t, SIGTERM);
    kill_at = std::chrono::steady_clock::now() +
              std::chrono::milliseconds(kGraceMs);
  };

  while (w.reap()) {
    tracer->poll(50, on_event);
    auto now = std::chrono::steady_clock::now();
    if (g_stop_signal)
      stop_workload("interrupted");
    if (now >= deadline)
      stop_workload("--duration elapsed");
    if (now >= kill_at) {
      auto tg = tracer->tracked_tgids();
      std::vector<unsigned> t(tg.begin(), tg.end());
      t.push_back(static_cast<unsigned>(w.pid()));
      signal_all(t, SIGKILL);
      kill_at = now + std::chrono::milliseconds(kGraceMs);
    }
  }
  std::int64_t end_wall = wall_now_ns();
  while (tracer->poll(0, on_event) > 0) {
  }
  agg.set_counts(tracer->read_counts());
  TracerStats stats = tracer->read_stats();

  Profile p;
  p.workload.kind = "command";
  p.workload.name = base_name(c.command[0]);
  p.workload.command = c.command;
  p.workload.user = c.user;
  p.workload.key = "command:" + base_name(c.command[0]);
  p.start_ns = start_wall;
  p.end_ns = end_wall;
  p.kernel = kernel_release();
  p.arch = std::string(syscall_arch());
  p.attach_mode = attach_mode_name(tracer->mode());
  p.exit_status = w.exit_status();
  p.lost_events = stats.lost_events;
  p.tasks_overflow = stats.tasks_full;
  p.counts_overflow = stats.counts_full;
  for (std::uint64_t scope : agg.scopes())
    agg.fill(p, scope);

  if (!c.events.empty()) {
    std::string lines;
    agg.for_each_context([&](const cs_key &k, const CheckContext &ctx,
                             std::uint64_t n) {
      lines += replay_line(k, ctx, n) + "\n";
    });
    if (auto r = save_text_atomic(c.events, lines); !r)
      std::fprintf(stderr, "capscope: %s\n", r.error().message.c_str());
  }

  RenderOptions ro;
  ro.verbose = c.verbose;
  emit_output(c.output, render(p, *fmt, ro));
  return w.exit_status();
}

} // namespace capscope
