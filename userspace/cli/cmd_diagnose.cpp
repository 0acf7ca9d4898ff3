// cmd_diagnose.cpp - `capscope diagnose -- CMD`: run CMD traced, follow the
// outcome of every syscall its tasks make, and explain which denied
// capability made which syscall fail (and which failures were not about
// capabilities at all). Exits with CMD's status.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/traced_run.h"
#include "core/diagnosis.h"
#include "core/either_or.h"
#include "session/engines.h"

namespace capscope {

namespace {

int seccomp_mode(std::uint32_t pid) {
  std::string v = proc_status_field(static_cast<int>(pid), "Seccomp:");
  return v.empty() ? -1 : std::atoi(v.c_str());
}

std::string exe_of(std::uint32_t pid, const char *comm) {
  char buf[4096];
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  if (n > 0)
    return std::string(buf, n);
  return std::string(comm, strnlen(comm, 16));
}

} // namespace

int run_diagnose(const DiagnoseConfig &c) {
  if (c.command.empty())
    throw Fatal("diagnose: no command given (usage: capscope diagnose "
                "[options] -- CMD [ARGS...])");
  RunSpec spec;
  spec.command = c.command;
  spec.user = c.user;
  spec.verbose = c.verbose;
  spec.diagnose = true;
  if (!c.duration.empty()) {
    spec.duration_ms = duration_or_die("diagnose", "--duration", c.duration);
  }
  struct Seen {
    SyscallOutcome o;
    std::uint64_t scope;
  };
  std::vector<Seen> seen;
  spec.on_event = [&](const cs_event &e) {
    if (e.type != CS_EV_SYSCALL)
      return;
    SyscallOutcome o;
    o.nr = e.key.syscall;
    o.ret = e.ret;
    o.denied = e.denied_mask;
    o.granted = e.granted_mask;
    o.no_enter = e.flags & CS_F_NO_ENTER;
    o.seccomp_mode = seccomp_mode(e.pid);
    o.exe = exe_of(e.pid, e.comm);
    seen.push_back({o, e.key.scope});
  };
  RunResult run = run_traced(spec);
  if (!run.started)
    return run.exit_status;
  if (!run.engine.empty() && run.containers.empty()) {
    std::fputs(empty_engine_scope_message(run.engine).c_str(), stderr);
    return 125;
  }

  // With containers, the runtime's own failures are not the question.
  std::vector<SyscallOutcome> outcomes;
  for (const auto &s : seen)
    if (run.container_scopes.empty() || run.container_scopes.count(s.scope))
      outcomes.push_back(s.o);
  CapMask used = 0;
  if (run.containers.empty())
    used = final_advice(run.profile).add;
  else
    for (const auto &p : run.containers)
      used |= final_advice(p).add;
  Diagnosis d = diagnose(outcomes);
  std::string text = render_diagnosis(d, used);
  if (run.profile.lost_events)
    text += "WARNING: " + std::to_string(run.profile.lost_events) +
            " events lost (ring buffer full): some failures may be "
            "missing.\n";
  if (run.profile.inflight_overflow)
    text += "WARNING: " + std::to_string(run.profile.inflight_overflow) +
            " syscalls not followed (kernel map inflight full): some "
            "failures may be missing.\n";
  if (any_map_overflow(run.profile))
    for (const auto &w : loss_warnings(run.profile))
      if (w.find("kernel maps") != std::string::npos)
        text += w + "\n";
  emit_output(c.output, text);
  return run.exit_status;
}

} // namespace capscope
