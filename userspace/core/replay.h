// replay.h - the replay event source: a recorded stream of capability checks
// (JSON lines) fed through the same classification and aggregation as live
// tracing, so the advice logic is tested without root or a kernel.
//
// One check (or a run of identical checks) per line:
//   {"cap":"SYS_ADMIN","denied":false,"syscall":"clone","arch":"x86_64",
//    "phase":"active",
//    "frames":["bpf_trace_run5","cap_capable","security_vm_enough_memory_mm"],
//    "exe":"/usr/bin/x","comm":"x","pid":42,"count":3,"scope":1,
//    "kernel_class":"overcommit","class":"overcommit"}
// "kernel_class" (what the BPF side decided, when the stream was recorded
// live) and "class" (what the check was counted as: kernel_class
// reconciled with the frames, see live_class() in core/noise.h) are
// informational; "arch" (optional) is the recording machine's: a syscall
// the replaying build's architecture lacks keeps its name; replay classifies
// from the frames itself, except that a kernel_class "moot" (decided from the
// call's arguments, which the line does not carry) is kept for an active check.
#pragma once

#include <functional>
#include <istream>
#include <ostream>
#include <string>

#include "core/aggregate.h"
#include "core/result.h"

namespace capscope {

struct ReplayedCheck {
  cs_key key{};
  CheckContext ctx;
  std::uint64_t count = 1;
  std::string kernel_class; // "" when not recorded live
};

// Classifies as the BPF side does: set-up before the exec gate, else the
// noise table for doubtful capabilities, else borrowed/needed.
CheckClass classify_check(int cap, bool active,
                          const std::vector<std::string> &frames,
                          bool borrowed);

Result<ReplayedCheck> parse_replay_line(const std::string &line);
// Calls fn with every check of a stream (blank and '#' lines skipped);
// errors name the line number. Returns the number of checks.
Result<std::size_t>
for_each_replayed(std::istream &in,
                  const std::function<void(const ReplayedCheck &)> &fn);
// Feeds every line into agg; errors name the line number.
Result<std::size_t> replay_stream(std::istream &in, Aggregator &agg);

// One JSON line for a live first-seen check (record --events).
std::string replay_line(const cs_key &key, const CheckContext &ctx,
                        std::uint64_t count);

} // namespace capscope
