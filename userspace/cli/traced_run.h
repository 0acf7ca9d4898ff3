// traced_run.h - run one workload under the tracer from its first
// instruction to the exit of its last process, and hand back the profile.
// `record` is a thin wrapper around it; `verify` and `diagnose` reuse it.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/aggregate.h"
#include "core/profile.h"
#include "loader/tracer.h"

namespace capscope {

struct RunSpec {
  std::vector<std::string> command;
  std::string user;             // USER[:GROUP], "" = stay root
  std::int64_t duration_ms = 0; // 0 = until the last process exits
  AttachMode attach = AttachMode::Auto;
  bool verbose = false;
  // Runs in the child after the identity switch, right before exec (so
  // what it does is set-up, not the workload's). Returns 0 or an errno.
  std::function<int()> before_exec;
  bool diagnose = false; // follow syscall outcomes too (capscope diagnose)
  // Every raw event, after capscope's own handling (diagnose).
  std::function<void(const cs_event &)> on_event;
  // Called about every 50 ms while the workload runs (status lines).
  std::function<void(const Tracer &)> on_tick;
};

struct RunResult {
  Profile profile; // the command scope plus any folded-in scopes
  // Containers the command started (`record -- podman run ...`), one
  // profile each; the runtime's own checks are in each one's runtime_checks
  // and in `profile`, never in a container's advice.
  std::vector<Profile> containers;
  std::set<std::uint64_t> container_scopes; // scopes behind `containers`
  Aggregator aggregator; // raw per-key data, for --events and diagnose
  int exit_status = 0;   // the workload's, as a shell reports it
  bool started = false;  // false: CMD not found / not executable
  bool interrupted = false;
  std::string engine; // engine client the command ran ("" = none)
};

// Throws Fatal for capscope's own errors. When CMD cannot be started,
// prints the one-line reason and returns started=false with exit_status
// 127 or 126.
RunResult run_traced(const RunSpec &spec);

} // namespace capscope
