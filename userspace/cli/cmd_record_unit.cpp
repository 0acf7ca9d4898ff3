// cmd_record_unit.cpp - `capscope record --unit NAME.service`: attach to a
// running systemd service by its cgroup, trace its processes (and what
// they fork; processes systemd starts in it later, such as ExecReload=,
// are adopted at the next rescan, once a second) until --duration
// elapses, Ctrl-C, or the unit has no process left, then report like
// `record`. The profile's workload is the unit, run as the uid its main
// process had, so `--format systemd` gives its drop-in.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <pwd.h>
#include <set>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/format.h"
#include "core/systemd_unit.h"
#include "session/system.h"
#include "session/trace_session.h"
#include "session/unit_cgroup.h"

namespace capscope {

namespace {

// The unit's processes share one scope, as a recorded command's do.
constexpr std::uint64_t kUnitScope = 1;

std::vector<std::string> cmdline_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string raw((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  std::vector<std::string> out;
  std::string cur;
  for (char c : raw) {
    if (c) {
      cur += c;
    } else {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty())
    out.push_back(cur);
  return out;
}

// The effective uid of pid, as Workload::user: the name when the process
// sees the host's users (the host's mount namespace), else the number (a
// unit inside a container has its own /etc/passwd). "" for root.
std::string user_of(int pid, std::uint32_t host_ns) {
  std::string uids = proc_status_field(pid, "Uid:");
  unsigned real = 0, eff = 0;
  if (std::sscanf(uids.c_str(), "%u %u", &real, &eff) != 2 || eff == 0)
    return {};
  if (mntns_of_pid(pid) == host_ns)
    if (const passwd *pw = getpwuid(eff))
      return pw->pw_name;
  return std::to_string(eff);
}

} // namespace

int run_record_unit(const RecordConfig &c) {
  const Format fmt = format_or_die("record", c.format);
  std::int64_t duration_ms = 0;
  if (!c.duration.empty())
    duration_ms = duration_or_die("record", "--duration", c.duration);
  auto unit = unit_name(c.unit);
  if (!unit)
    throw Fatal("record: --unit: " + unit.error().message);
  SessionOptions so;
  so.attach = attach_mode_or_die("record", c.attach);
  require_tracing_privileges();
  auto target = find_unit_cgroup(unit.value());
  if (!target)
    throw Fatal("record: " + target.error().message);
  const std::string path = target->path;
  const std::uint32_t host_ns = host_mntns();
  const int main_pid =
      *std::min_element(target->pids.begin(), target->pids.end());
  Profile p;
  p.workload.kind = "unit";
  p.workload.id = unit.value();
  p.workload.name = unit.value();
  p.workload.runtime = "systemd";
  p.workload.key = "systemd:" + unit.value();
  p.workload.command = cmdline_of(main_pid);
  p.workload.user = user_of(main_pid, host_ns);

  // Record mode with no host namespace: the unit's tasks stay in their
  // scope whatever mount namespace they exec in (PrivateTmp=, a unit
  // inside a container); nothing else is traced.
  so.mode = CS_MODE_RECORD;
  so.host_mntns = 0;
  so.verbose = c.verbose;
  auto session = TraceSession::open(so);
  EventSource &source = session->source();
  std::int64_t start_wall = wall_now_ns();
  std::set<std::uint32_t> followed;
  auto adopt = [&](const std::vector<int> &pids) {
    std::size_t n = 0;
    for (int pid : pids)
      if (followed.insert(static_cast<std::uint32_t>(pid)).second)
        n += session->adopt_process(pid, kUnitScope, CS_SCOPE_COMMAND);
    return n;
  };
  // Attaching takes a moment (seconds on a busy host): the processes are
  // those in the unit now, not when it was looked up.
  std::vector<int> pids = unit_cgroup_pids(unit.value(), path);
  std::size_t adopted = adopt(pids);
  install_stop_signals();
  std::fprintf(stderr,
               "capscope: attached (%s) to unit %s (cgroup %s, %zu "
               "processes, %zu tasks)%s; Ctrl-C to stop\n",
               session->attach_mode(), unit.value().c_str(), path.c_str(),
               pids.size(), adopted,
               duration_ms ? (", for " + c.duration).c_str() : "");

  auto t0 = std::chrono::steady_clock::now();
  auto deadline = duration_ms ? t0 + std::chrono::milliseconds(duration_ms)
                              : std::chrono::steady_clock::time_point::max();
  auto next_scan = t0 + std::chrono::seconds(1);
  bool gone = false;
  while (!g_stop_signal && std::chrono::steady_clock::now() < deadline) {
    session->poll(100);
    auto now = std::chrono::steady_clock::now();
    if (now < next_scan)
      continue;
    next_scan = now + std::chrono::seconds(1);
    // What systemd started in the unit since (not forked from a task
    // already followed), and whether anything is left.
    pids = unit_cgroup_pids(unit.value(), path);
    std::set<std::uint32_t> live_tgids;
    for (auto [tgid, scope] : source.tracked())
      if (scope == kUnitScope)
        live_tgids.insert(tgid);
    for (std::uint32_t t : live_tgids)
      followed.insert(t);
    adopt(pids);
    if (pids.empty() && live_tgids.empty()) {
      gone = true;
      break;
    }
  }
  if (gone)
    std::fprintf(stderr, "capscope: unit %s has no process left\n",
                 unit.value().c_str());
  session->drain();
  session->refresh_counts();
  TracerStats stats = session->stats();
  session->aggregator().fill(p, kUnitScope);
  p.start_ns = start_wall;
  p.end_ns = wall_now_ns();
  session->stamp(p);
  TraceSession::stamp_losses(p, stats);
  if (std::uint64_t eff = proc_status_mask(main_pid, "CapEff:")) {
    p.held = eff;
    p.held_known = true;
  } else if (!gone) { // a non-root main process holds nothing
    p.held_known = proc_status_field(main_pid, "CapEff:").size() > 0;
  }
  RenderOptions ro;
  ro.verbose = c.verbose;
  emit_output(c.output, render(p, fmt, ro));
  return 0;
}

} // namespace capscope
