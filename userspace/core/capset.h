// capset.h - the pure logic of `capscope verify`: what one run under a fixed
// capability set showed, the ablation that proves each capability of a set
// necessary (or not), the known narrower substitutes for broad
// capabilities, and the rendering of the result. No kernel, no privilege:
// cmd_verify.cpp runs the trials, this decides which trial comes next.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/caps.h"
#include "core/format.h"
#include "core/profile.h"

namespace capscope {

// One run of the workload under a fixed set, as verify saw it.
struct TrialRun {
  bool passed = false;
  int exit_status = 0;
  bool has_check = false;    // --check decided the verdict
  bool check_passed = false; // the check succeeded within its timeout
  int check_attempts = 0;
  CapMask used = 0;   // Needed-class checks granted in the run
  CapMask denied = 0; // Needed-class checks denied in the run
  // Call sites of the run's Needed-class checks, per capability.
  std::map<int, std::set<std::string>> sites;
  std::map<int, std::set<std::string>> syscalls; // of denied checks
  // Denied only at Moot-class checks (the call's outcome did not depend on
  // the capability: setuid to one's own id, ...), per capability: the
  // syscalls. Never a reason to keep a capability.
  CapMask moot = 0;
  std::map<int, std::set<std::string>> moot_syscalls;
  // What the syscalls in which a capability was denied returned (from the
  // kernel side's syscall outcomes): "fchown: EPERM", "setsockopt: ok".
  std::map<int, std::set<std::string>> outcomes;
  std::string stderr_tail; // the workload's last stderr lines
  double seconds = 0;
};

// Builds the kernel-side facts of a run (used, denied, sites) from its
// traced profile. `relevant` masks what may count as denied (in a
// container, the runtime's own denials of capabilities the host lacks are
// not the workload's).
void fill_from_profile(TrialRun &r, const Profile &p,
                       CapMask relevant = ~CapMask{0});

// Adds one syscall outcome of the run: `syscall` returned `ret` (-errno on
// failure) with the Needed-class capabilities `denied` refused inside it.
void add_syscall_outcome(TrialRun &r, const std::string &syscall, int ret,
                         CapMask denied);

// "EPERM" for 1, "errno 99" when it has no name.
std::string errno_text(int err);

// The capabilities whose every denial in the run was at a known either/or
// site (core/either_or.h) where the kernel then granted the narrower
// capability at the same site: the narrower path working, not a loss. Only
// sites where the broad capability is not also asked on its own count.
CapMask either_or_excused(const TrialRun &r);

// A broad capability that a narrower one replaces at known call sites.
struct Substitution {
  int broad;
  int narrow;
  // Kernel functions (call sites as capscope reports them) where the
  // narrower capability is accepted instead; empty = everywhere it applies.
  std::vector<std::string_view> call_sites;
  std::string_view why;
};

// The knowledge base of substitutes, as data.
const std::vector<Substitution> &substitutions();

// Narrower capabilities worth trying in place of `cap`, best first: those
// the table names for a call site where `cap` (or the narrower one) was
// checked in `evidence`, then any capability that was denied at the same
// call site where `cap` was granted (the kernel asked for it first).
std::vector<int> narrower_candidates(int cap,
                                     const std::vector<TrialRun> &evidence);

enum class Outcome { Pass, Fail, Flaky };
// All runs passed / all failed / some of each.
Outcome outcome_of(const std::vector<TrialRun> &runs);
std::string_view outcome_name(Outcome o); // "pass", "fail", "flaky"

enum class TrialKind { Baseline, Removal, Substitution };

struct Trial {
  TrialKind kind = TrialKind::Baseline;
  CapMask caps = 0;     // the set this trial runs with
  int cap = -1;         // removed (Removal, Substitution)
  int replacement = -1; // added instead (Substitution)
};

enum class Verdict {
  Kept,        // removing it fails
  Unnecessary, // removing it passes and it was never denied
  Ambiguous,   // removing it passes but it was denied: kept, degraded?
  Replaced,    // a narrower capability does the job instead
  Flaky,       // removing it passes only sometimes: kept
};
std::string_view verdict_name(Verdict v);

struct Decision {
  int cap = -1;
  Verdict verdict = Verdict::Kept;
  int replacement = -1; // Replaced: the narrower capability
  std::string why;      // one line of evidence
  // Ambiguous: the operations in which it was denied, "fchown: EPERM at
  // setattr_prepare", for the user to check.
  std::vector<std::string> operations;
};

// The ablation. Baseline first (the given set, which must pass); then,
// with --minimize, each capability removed in turn from the current
// (shrinking) set; after a removal that fails or is ambiguous, the
// narrower candidates in its place. The current set is always one that has
// passed.
class Minimizer {
public:
  // check_proves: a --check decides pass/fail, so a denial of the removed
  // capability does not make a passing removal ambiguous. allowed: what
  // may be tried as a substitute (the host's bounding set).
  Minimizer(CapMask given, bool minimize, bool check_proves,
            CapMask allowed = ~CapMask{0});

  // The next trial to run, or nullopt when done.
  std::optional<Trial> next() const;
  // The runs (one per --repeat) of the trial next() returned.
  void record(const std::vector<TrialRun> &runs);

  bool done() const { return !next().has_value(); }
  // The given set did not pass (fail or flaky): nothing was minimized.
  bool baseline_failed() const { return baseline_failed_; }
  Outcome baseline_outcome() const { return baseline_outcome_; }
  CapMask given() const { return given_; }
  // The proven set: one that passed, from which no capability could be
  // removed or narrowed (equals the given set without --minimize).
  CapMask result() const { return current_; }
  const std::vector<Decision> &decisions() const { return decisions_; }

private:
  void decide(Decision d);
  void start_next_cap();

  CapMask given_;
  bool minimize_;
  bool check_proves_;
  CapMask allowed_;
  bool baseline_done_ = false;
  bool baseline_failed_ = false;
  Outcome baseline_outcome_ = Outcome::Pass;
  CapMask current_ = 0;
  std::vector<int> order_; // capabilities to try removing, ascending
  std::size_t idx_ = 0;
  std::vector<int> pending_;          // narrower candidates for order_[idx_]
  std::string kept_why_;              // why order_[idx_] is kept so far
  std::vector<std::string> kept_ops_; // Ambiguous: the denied operations
  Verdict kept_as_ = Verdict::Kept;   // Kept or Ambiguous, if none replaces it
  std::vector<TrialRun> evidence_;    // baseline runs + current removal's
  std::size_t baseline_runs_ = 0;
  std::vector<Decision> decisions_;
};

// One trial as it ran, for the result.
struct TrialRecord {
  Trial trial;
  std::vector<TrialRun> runs;
};

// Everything `verify` found.
struct VerifyResult {
  std::vector<std::string> command;
  std::string runtime; // "" = native, "podman"
  std::string user;
  CapMask given = 0;
  bool minimize = false;
  bool has_check = false;
  int repeat = 1;
  bool passed = false; // the given set passed (every repeat)
  Outcome baseline = Outcome::Pass;
  CapMask proven = 0; // the final set (== given without --minimize)
  std::vector<Decision> decisions;
  std::vector<TrialRecord> trials;
};

// "CHOWN,NET_RAW" / "none".
std::string cap_list_text(CapMask m);
// One line describing a trial: "given set CHOWN,NET_RAW",
// "without NET_RAW", "DAC_READ_SEARCH instead of DAC_OVERRIDE".
std::string trial_label(const Trial &t);
// "CHOWN (fchownat in setattr_prepare)" for each denied capability (of
// `only`).
std::string denied_text(const TrialRun &r, CapMask only = ~CapMask{0});

// The result in any --format: report (human), json (capscope.verify/v1),
// and every flags format through the profile renderer, so each runtime's
// flags come out for the proven set.
std::string render_verify(const VerifyResult &v, Format f);

} // namespace capscope
