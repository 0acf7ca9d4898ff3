// diffing.h - profiles across runs: merging replicas and runs into one, and
// comparing advice for CI (`capscope diff`, `capscope record --expect`).
#pragma once

#include <string>
#include <vector>

#include "core/caps.h"
#include "core/profile.h"
#include "core/result.h"

namespace capscope {

// What identifies a workload across runs and replicas: its key when it has
// one, else kind and name (or id).
std::string merge_key(const Profile &p);

// Union of profiles (counts summed, sets joined, window widened), the
// first one's identity kept. Profiles of different workloads are refused
// (a one-line error naming both keys) unless `force`.
Result<Profile> merge_profiles(const std::vector<Profile> &ps, bool force);

struct AdviceDiff {
  CapMask old_add = 0;
  CapMask new_add = 0;
  CapMask added = 0;   // advised now, not before
  CapMask removed = 0; // advised before, not now
};
AdviceDiff diff_advice(const Profile &before, const Profile &now);

// Lines naming each capability of `caps` and what needed it in `p`
// (syscalls, call sites, executables), two-space indented.
std::string needed_by_lines(const Profile &p, CapMask caps);

// `capscope diff` output: the new capabilities and what needed them, then
// the ones no longer needed. Ends with a one-line verdict.
std::string render_diff(const Profile &before, const Profile &now,
                        const AdviceDiff &d);

} // namespace capscope
