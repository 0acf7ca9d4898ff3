// profile.h - what a workload was seen to do with capabilities, and the
// aggregation that builds it from kernel counts and first-seen events.
// The JSON form is `capscope.profile/v1` (schema/profile.schema.json).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "capscope.h"
#include "core/caps.h"
#include "core/noise.h"
#include "core/result.h"

namespace capscope {

inline constexpr const char *kProfileSchema = "capscope.profile/v1";

struct Workload {
  std::string kind = "command"; // command | container
  std::string id;
  std::string name;
  std::string runtime;
  std::string image;
  std::string pod;
  std::string ns;      // Kubernetes namespace
  std::string service; // compose service (label), "" = not compose
  std::string key;     // stable workload key for merging replicas
  std::vector<std::string> command;
  std::string user; // --user as given, "" = root
};

// Checks of one capability in one class.
struct CheckStats {
  int cap = 0;
  CheckClass cls = CheckClass::Needed;
  std::uint64_t granted = 0;
  std::uint64_t denied = 0;
  std::set<std::string> syscalls;
  std::set<std::string> call_sites;
  std::set<std::string> executables;
  std::int64_t first_ns = 0; // wall clock, ns since the epoch
  std::int64_t last_ns = 0;
  bool other_userns = false; // checked against a user ns not the task's
};

struct Advice {
  CapMask add = 0;    // capabilities to add after --cap-drop=ALL
  CapMask denied = 0; // needed but denied during the recording
};

struct Profile {
  Workload workload;
  std::int64_t start_ns = 0; // wall clock
  std::int64_t end_ns = 0;
  std::string kernel;
  std::string arch;
  std::string attach_mode;
  std::vector<CheckStats> checks; // sorted by (cap, class)
  // For a container recorded through its runtime (`record -- podman run`):
  // the runtime's own checks (podman, conmon, runc set-up), never advice.
  std::vector<CheckStats> runtime_checks;
  std::uint64_t lost_events = 0;
  // Kernel map insertions that failed (see map_overflow_list).
  std::uint64_t tasks_overflow = 0;       // tasks went untracked
  std::uint64_t counts_overflow = 0;      // checks of new keys not counted
  std::uint64_t seen_overflow = 0;        // new keys not announced (no context)
  std::uint64_t kprobe_overflow = 0;      // kprobe mode: checks lost
  std::uint64_t inflight_overflow = 0;    // diagnose: syscalls not followed
  std::uint64_t dead_scopes_overflow = 0; // daemon: cache slots kept longer
  // Checks the kernel side attributed to tracked scopes while this was
  // recorded (the whole trace session's, runtime set-up included); 0 when
  // unknown (older profiles, replays).
  std::uint64_t checks_total = 0;
  int exit_status = -1; // -1: not applicable
  CapMask held = 0;     // effective set the workload held, when known
  bool held_known = false;
  int runs = 1; // merged runs

  CheckStats &entry(int cap, CheckClass cls);
  const CheckStats *find(int cap, CheckClass cls) const;
};

// The advice follows from the checks alone: Needed-class checks that were
// granted are needed; everything else is noise or a denial.
Advice advise(const Profile &p);
// Capabilities held (when known) that no Needed check used.
CapMask held_unused(const Profile &p);

nlohmann::json to_json(const Profile &p);
Result<Profile> profile_from_json(const nlohmann::json &j);
Result<Profile> load_profile(const std::string &path);
// Atomic write: temp file in the same directory, then rename.
Result<void> save_text_atomic(const std::string &path, const std::string &text);

// Union of two profiles: counts summed, sets joined, window widened.
void merge_into(Profile &into, const Profile &from);

// The failed map insertions by map name, in a fixed order (tasks, counts,
// seen, kprobe_pending, inflight, dead_scopes), zeros included.
std::vector<std::pair<std::string, std::uint64_t>>
map_overflow_list(const Profile &p);
// Any of them non-zero.
bool any_map_overflow(const Profile &p);

std::string iso8601(std::int64_t wall_ns);

} // namespace capscope
