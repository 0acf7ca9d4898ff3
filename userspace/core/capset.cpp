// capset.cpp - verify's ablation, substitution table and result rendering.
#include "core/capset.h"
#include "core/caps.h"
#include "core/json_safe.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/either_or.h"
#include "core/noise.h"

namespace capscope {

namespace {

std::string join(const std::set<std::string> &s, const char *sep = ", ") {
  std::string out;
  for (const auto &x : s)
    out += (out.empty() ? "" : sep) + x;
  return out;
}

} // namespace

void fill_from_profile(TrialRun &r, const Profile &p, CapMask relevant) {
  for (const auto &c : p.checks) {
    if (c.cap < 0 || c.cap >= 64)
      continue;
    if (c.cls == CheckClass::Moot && c.denied && (relevant & cap_bit(c.cap))) {
      r.moot |= cap_bit(c.cap);
      r.moot_syscalls[c.cap].insert(c.syscalls.begin(), c.syscalls.end());
    }
    if (c.cls != CheckClass::Needed)
      continue;
    if (c.granted)
      r.used |= cap_bit(c.cap);
    if (c.denied && (relevant & cap_bit(c.cap))) {
      r.denied |= cap_bit(c.cap);
      r.syscalls[c.cap].insert(c.syscalls.begin(), c.syscalls.end());
    }
    r.sites[c.cap].insert(c.call_sites.begin(), c.call_sites.end());
  }
}

std::string errno_text(int err) {
  if (const char *n = strerrorname_np(err))
    return n;
  return "errno " + std::to_string(err);
}

void add_syscall_outcome(TrialRun &r, const std::string &syscall, int ret,
                         CapMask denied) {
  std::string what =
      syscall + ": " + (ret < 0 ? errno_text(-ret) : std::string("ok"));
  for (int c : caps_in(denied))
    r.outcomes[c].insert(what);
}

CapMask either_or_excused(const TrialRun &r) {
  CapMask out = 0;
  for (int c : caps_in(r.denied)) {
    auto mine = r.sites.find(c);
    if (mine == r.sites.end() || mine->second.empty())
      continue;
    bool all = true;
    for (const auto &site : mine->second) {
      bool narrower_granted = false;
      for (const auto &e : either_or_sites()) {
        if (e.broader != c || e.broader_alone || e.call_site != site ||
            !(r.used & cap_bit(e.narrower)))
          continue;
        auto theirs = r.sites.find(e.narrower);
        if (theirs != r.sites.end() && theirs->second.count(site)) {
          narrower_granted = true;
          break;
        }
      }
      if (!narrower_granted) {
        all = false;
        break;
      }
    }
    if (all)
      out |= cap_bit(c);
  }
  return out;
}

const std::vector<Substitution> &substitutions() {
  // Kernel facts (6.x). generic_permission() asks for DAC_READ_SEARCH
  // first when the access is a read or a directory search, and only then
  // for DAC_OVERRIDE; a workload granted DAC_OVERRIDE for reading needs
  // only the narrower one. Writes still need DAC_OVERRIDE, which the
  // trial run shows.
  //
  // The SYS_ADMIN-or-narrower call sites are not repeated here: they are
  // the either/or data the advice uses too (core/either_or.cpp), read by
  // narrower_candidates() below. What was measured on 6.18 for them:
  //
  // SYS_ADMIN-or-narrower: capabilities split off SYS_ADMIN that still
  // accept SYS_ADMIN at their call sites, asking for the narrower first.
  //  - checkpoint_restore_ns_capable(): CHECKPOINT_RESTORE or SYS_ADMIN,
  //    for /proc/PID/map_files, ns_last_pid, clone3 set_tid and
  //    PR_SET_MM_EXE_FILE. Measured on 6.18: opening /proc/PID/map_files/*
  //    with SYS_ADMIN alone denies CHECKPOINT_RESTORE and grants SYS_ADMIN
  //    in proc_map_files_get_link; CHECKPOINT_RESTORE alone works.
  //  - perfmon_capable(): PERFMON or SYS_ADMIN. Measured on 6.18:
  //    `perf stat -a` passes with PERFMON alone (perf_allow_kernel).
  //  - bpf_token_capable(): the asked capability (BPF, PERFMON, NET_ADMIN)
  //    or SYS_ADMIN; inlined into its callers on 6.18.
  // Not one any more: syslog. Older kernels accepted SYS_ADMIN in
  // check_syslog_permissions() with a deprecation warning; on 6.18 dmesg
  // with SYS_ADMIN alone is refused (SYSLOG denied in devkmsg_open), so
  // SYSLOG is simply needed and there is nothing to substitute.
  static const std::vector<Substitution> table = {
      {kDacOverride,
       kDacReadSearch,
       {},
       "generic_permission accepts DAC_READ_SEARCH for reads and "
       "directory search"},
  };
  return table;
}

std::vector<int> narrower_candidates(int cap,
                                     const std::vector<TrialRun> &evidence) {
  std::vector<int> out;
  auto add = [&](int n) {
    if (n != cap && std::find(out.begin(), out.end(), n) == out.end())
      out.push_back(n);
  };
  auto sites_of = [&](int c) {
    std::set<std::string> s;
    for (const auto &r : evidence)
      if (auto it = r.sites.find(c); it != r.sites.end())
        s.insert(it->second.begin(), it->second.end());
    return s;
  };
  std::set<std::string> mine = sites_of(cap);
  for (const auto &s : substitutions()) {
    if (s.broad != cap)
      continue;
    if (s.call_sites.empty()) {
      add(s.narrow);
      continue;
    }
    std::set<std::string> seen = mine;
    std::set<std::string> theirs = sites_of(s.narrow);
    seen.insert(theirs.begin(), theirs.end());
    for (auto site : s.call_sites)
      if (seen.count(std::string(site))) {
        add(s.narrow);
        break;
      }
  }
  // The either/or call sites the advice knows (core/either_or.h): what
  // record narrows from the checks, verify tries for real.
  for (const auto &e : either_or_sites())
    if (e.broader == cap &&
        (mine.count(std::string(e.call_site)) ||
         sites_of(e.narrower).count(std::string(e.call_site))))
      add(e.narrower);
  // Observed either/or: in one run, another capability denied at a call
  // site where `cap` was granted. The kernel asked for it first there.
  for (const auto &r : evidence) {
    if (!(r.used & cap_bit(cap)))
      continue;
    auto my = r.sites.find(cap);
    if (my == r.sites.end())
      continue;
    for (int n : caps_in(r.denied)) {
      auto it = r.sites.find(n);
      if (it == r.sites.end())
        continue;
      for (const auto &site : it->second)
        if (my->second.count(site)) {
          add(n);
          break;
        }
    }
  }
  return out;
}

Outcome outcome_of(const std::vector<TrialRun> &runs) {
  std::size_t passed = 0;
  for (const auto &r : runs)
    passed += r.passed;
  if (passed == runs.size())
    return Outcome::Pass;
  return passed == 0 ? Outcome::Fail : Outcome::Flaky;
}

std::string_view outcome_name(Outcome o) {
  switch (o) {
  case Outcome::Pass:
    return "pass";
  case Outcome::Fail:
    return "fail";
  case Outcome::Flaky:
    return "flaky";
  }
  return "?";
}

std::string_view verdict_name(Verdict v) {
  switch (v) {
  case Verdict::Kept:
    return "kept";
  case Verdict::Unnecessary:
    return "unnecessary";
  case Verdict::Ambiguous:
    return "ambiguous";
  case Verdict::Replaced:
    return "replaced";
  case Verdict::Flaky:
    return "flaky";
  }
  return "?";
}

std::string cap_list_text(CapMask m) {
  if (!m)
    return "none";
  std::string out;
  for (const auto &n : cap_names(m))
    out += (out.empty() ? "" : ",") + n;
  return out;
}

std::string trial_label(const Trial &t) {
  switch (t.kind) {
  case TrialKind::Baseline:
    return "given set " + cap_list_text(t.caps);
  case TrialKind::Removal:
    return "without " + cap_name(t.cap);
  case TrialKind::Substitution:
    return cap_name(t.replacement) + " instead of " + cap_name(t.cap);
  }
  return "";
}

std::string denied_text(const TrialRun &r, CapMask only) {
  std::string out;
  for (int c : caps_in(r.denied & only)) {
    std::string d = cap_name(c);
    std::string detail;
    if (auto it = r.syscalls.find(c); it != r.syscalls.end())
      detail = join(it->second, "/");
    if (auto it = r.sites.find(c); it != r.sites.end() && !it->second.empty())
      detail += (detail.empty() ? "in " : " in ") + join(it->second, "/");
    if (!detail.empty())
      d += " (" + detail + ")";
    out += (out.empty() ? "" : ", ") + d;
  }
  return out;
}

namespace {

// Denied in a run in a way the workload may have felt: a Needed-class
// denial that no either/or site explains. (Moot-class denials never reach
// r.denied.)
bool any_denied(const std::vector<TrialRun> &runs, int cap) {
  for (const auto &r : runs)
    if ((r.denied & cap_bit(cap)) && !(either_or_excused(r) & cap_bit(cap)))
      return true;
  return false;
}

// Why a denial of `cap` in these runs did not count, for the report: "" when
// it was never denied.
std::string excused_text(const std::vector<TrialRun> &runs, int cap) {
  std::set<std::string> eo_sites, moot_calls;
  CapMask narrower = 0;
  bool moot = false;
  for (const auto &r : runs) {
    if ((r.denied & cap_bit(cap)) && (either_or_excused(r) & cap_bit(cap)))
      if (auto it = r.sites.find(cap); it != r.sites.end())
        for (const auto &site : it->second) {
          eo_sites.insert(site);
          for (const auto &e : either_or_sites())
            if (e.broader == cap && e.call_site == site &&
                (r.used & cap_bit(e.narrower)))
              narrower |= cap_bit(e.narrower);
        }
    if (r.moot & cap_bit(cap)) {
      moot = true;
      if (auto it = r.moot_syscalls.find(cap); it != r.moot_syscalls.end())
        moot_calls.insert(it->second.begin(), it->second.end());
    }
  }
  std::string out;
  if (!eo_sites.empty())
    out = "denied at " + join(eo_sites, "/") +
          ", an either/or site where the kernel then granted " +
          cap_list_text(narrower) + ": the narrower path worked";
  if (moot)
    out += (out.empty() ? "" : "; ") +
           std::string("denied only where the "
                       "outcome did not depend "
                       "on it (moot") +
           (moot_calls.empty() ? "" : ": " + join(moot_calls, "/")) + ")";
  return out;
}

// The operations in which `cap` was denied: "fchown: EPERM at
// setattr_prepare", from the runs' syscall outcomes, else the syscalls and
// call sites of the denied checks.
std::vector<std::string> denied_operations(const std::vector<TrialRun> &runs,
                                           int cap) {
  std::set<std::string> ops, sites, calls;
  for (const auto &r : runs) {
    if (!(r.denied & cap_bit(cap)))
      continue;
    if (auto it = r.outcomes.find(cap); it != r.outcomes.end())
      ops.insert(it->second.begin(), it->second.end());
    if (auto it = r.sites.find(cap); it != r.sites.end())
      sites.insert(it->second.begin(), it->second.end());
    if (auto it = r.syscalls.find(cap); it != r.syscalls.end())
      calls.insert(it->second.begin(), it->second.end());
  }
  std::string at = sites.empty() ? "" : " at " + join(sites, "/");
  std::vector<std::string> out;
  if (ops.empty())
    for (const auto &c : calls)
      ops.insert(c + ": result unknown");
  for (const auto &o : ops)
    out.push_back(o + at);
  if (out.empty() && !sites.empty())
    out.push_back("call site " + join(sites, "/"));
  return out;
}

// The ambiguous verdict's explanation: what failed and what to check.
std::string ambiguous_text(const std::vector<std::string> &ops,
                           const std::string &cap) {
  std::string what;
  for (const auto &o : ops)
    what += (what.empty() ? "" : "; ") + o;
  if (what.empty())
    what = "no call site known";
  return "passes without it, but it was denied then (" + what +
         "): the program carried on without that operation; kept. Check "
         "whether the program still needs what that operation does (its "
         "log, the file, socket or setting involved): if not, drop " +
         cap + "; a --check that proves the effect settles it";
}

// "exit 1; denied CHOWN (fchownat in setattr_prepare)" for the failing
// runs of a trial; "2 of 3 runs failed: ..." with --repeat.
std::string failure_text(const std::vector<TrialRun> &runs) {
  const TrialRun *first = nullptr;
  std::size_t failed = 0;
  for (const auto &r : runs)
    if (!r.passed) {
      failed++;
      if (!first)
        first = &r;
    }
  if (!first)
    return "passes";
  std::string out;
  if (runs.size() > 1)
    out = std::to_string(failed) + " of " + std::to_string(runs.size()) +
          " runs failed: ";
  if (first->has_check)
    out += "check failed (" + std::to_string(first->check_attempts) +
           " attempts), workload exit " + std::to_string(first->exit_status);
  else
    out += "exit " + std::to_string(first->exit_status);
  if (first->denied)
    out += "; denied " + denied_text(*first);
  return out;
}

} // namespace

Minimizer::Minimizer(CapMask given, bool minimize, bool check_proves,
                     CapMask allowed)
    : given_(given), minimize_(minimize), check_proves_(check_proves),
      allowed_(allowed), current_(given), order_(caps_in(given)) {}

std::optional<Trial> Minimizer::next() const {
  if (!baseline_done_)
    return Trial{TrialKind::Baseline, given_, -1, -1};
  if (baseline_failed_ || !minimize_ || idx_ >= order_.size())
    return std::nullopt;
  int c = order_[idx_];
  if (!pending_.empty()) {
    int n = pending_.front();
    return Trial{TrialKind::Substitution, (current_ & ~cap_bit(c)) | cap_bit(n),
                 c, n};
  }
  return Trial{TrialKind::Removal, current_ & ~cap_bit(c), c, -1};
}

void Minimizer::decide(Decision d) {
  decisions_.push_back(std::move(d));
  start_next_cap();
}

void Minimizer::start_next_cap() {
  idx_++;
  pending_.clear();
  kept_why_.clear();
  kept_ops_.clear();
  kept_as_ = Verdict::Kept;
  evidence_.resize(std::min<std::size_t>(evidence_.size(), baseline_runs_));
}

void Minimizer::record(const std::vector<TrialRun> &runs) {
  auto t = next();
  if (!t)
    return;
  Outcome o = outcome_of(runs);
  if (t->kind == TrialKind::Baseline) {
    baseline_done_ = true;
    baseline_outcome_ = o;
    baseline_failed_ = o != Outcome::Pass;
    evidence_ = runs;
    baseline_runs_ = runs.size();
    return;
  }
  int c = t->cap;
  const std::string name = cap_name(c);
  if (t->kind == TrialKind::Removal) {
    if (o == Outcome::Flaky) {
      decide(
          {c,
           Verdict::Flaky,
           -1,
           "without it the workload is flaky: " + failure_text(runs) + "; kept",
           {}});
      return;
    }
    bool denied = any_denied(runs, c);
    if (o == Outcome::Pass && (!denied || check_proves_)) {
      current_ &= ~cap_bit(c);
      std::string excused = excused_text(runs, c);
      decide({c,
              Verdict::Unnecessary,
              -1,
              denied ? "passes without it; it was denied, but --check "
                       "proved the effect"
              : excused.empty() ? "passes without it; never denied"
                                : "passes without it; " + excused,
              {}});
      return;
    }
    if (o == Outcome::Pass) {
      kept_as_ = Verdict::Ambiguous;
      kept_ops_ = denied_operations(runs, c);
      kept_why_ = ambiguous_text(kept_ops_, name);
    } else {
      kept_as_ = Verdict::Kept;
      kept_why_ = "without it: " + failure_text(runs);
    }
    evidence_.insert(evidence_.end(), runs.begin(), runs.end());
    for (int n : narrower_candidates(c, evidence_))
      if (!(current_ & cap_bit(n)) && (allowed_ & cap_bit(n)))
        pending_.push_back(n);
    if (pending_.empty())
      decide({c, kept_as_, -1, kept_why_, kept_ops_});
    return;
  }
  // Substitution.
  int n = t->replacement;
  bool denied = any_denied(runs, c);
  if (o == Outcome::Pass && (!denied || check_proves_)) {
    current_ = t->caps;
    std::string excused = excused_text(runs, c);
    decide({c,
            Verdict::Replaced,
            n,
            "passes with " + cap_name(n) + " in its place" +
                (denied ? " (" + name +
                              " was denied, --check proved the "
                              "effect)"
                 : excused.empty() ? ""
                                   : " (" + name + " " + excused + ")") +
                "; " + kept_why_,
            {}});
    return;
  }
  kept_why_ +=
      "; " + cap_name(n) + " instead: " +
      (o == Outcome::Pass ? "passes, but " + name + " was denied (ambiguous)"
                          : failure_text(runs));
  pending_.erase(pending_.begin());
  if (pending_.empty())
    decide({c, kept_as_, -1, kept_why_, kept_ops_});
}

// --- rendering ----------------------------------------------------------

namespace {

nlohmann::json names_json(CapMask m) { return nlohmann::json(cap_names(m)); }

std::string_view kind_name(TrialKind k) {
  switch (k) {
  case TrialKind::Baseline:
    return "baseline";
  case TrialKind::Removal:
    return "removal";
  case TrialKind::Substitution:
    return "substitution";
  }
  return "?";
}

nlohmann::json verify_json(const VerifyResult &v) {
  using nlohmann::json;
  json j;
  j["schema"] = "capscope.verify/v1";
  j["command"] = v.command;
  j["runtime"] = v.runtime.empty() ? "native" : v.runtime;
  j["user"] = v.user;
  j["given"] = names_json(v.given);
  j["minimize"] = v.minimize;
  j["check"] = v.has_check;
  j["repeat"] = v.repeat;
  j["result"] = v.passed ? "pass" : std::string(outcome_name(v.baseline));
  j["proven"] = names_json(v.proven);
  j["flags"] = cap_flags_line(v.proven);
  json ds = json::array();
  for (const auto &d : v.decisions) {
    json dj = {{"cap", cap_name(d.cap)},
               {"verdict", verdict_name(d.verdict)},
               {"why", d.why}};
    if (d.replacement >= 0)
      dj["replacement"] = cap_name(d.replacement);
    if (!d.operations.empty())
      dj["operations"] = d.operations;
    ds.push_back(dj);
  }
  j["decisions"] = ds;
  json ts = json::array();
  for (const auto &t : v.trials) {
    json tj = {{"kind", kind_name(t.trial.kind)},
               {"caps", names_json(t.trial.caps)},
               {"outcome", outcome_name(outcome_of(t.runs))}};
    if (t.trial.cap >= 0)
      tj["cap"] = cap_name(t.trial.cap);
    if (t.trial.replacement >= 0)
      tj["replacement"] = cap_name(t.trial.replacement);
    json rs = json::array();
    for (const auto &r : t.runs) {
      json rj = {{"passed", r.passed},         {"exit_status", r.exit_status},
                 {"used", names_json(r.used)}, {"denied", names_json(r.denied)},
                 {"moot", names_json(r.moot)}, {"seconds", r.seconds}};
      if (r.has_check) {
        rj["check_passed"] = r.check_passed;
        rj["check_attempts"] = r.check_attempts;
      }
      if (!r.passed)
        rj["stderr_tail"] = r.stderr_tail;
      rs.push_back(rj);
    }
    tj["runs"] = rs;
    ts.push_back(tj);
  }
  j["trials"] = ts;
  return j;
}

std::string verify_report(const VerifyResult &v) {
  std::ostringstream out;
  out << "capscope verify:";
  for (const auto &a : v.command)
    out << " " << a;
  out << "\n";
  out << "  given    " << cap_list_text(v.given) << "\n";
  if (!v.runtime.empty())
    out << "  runtime  " << v.runtime << " (--cap-drop=ALL --cap-add=...)\n";
  if (!v.user.empty())
    out << "  user     " << v.user << "\n";
  std::size_t runs = 0;
  for (const auto &t : v.trials)
    runs += t.runs.size();
  out << "  runs     " << runs << " (" << v.trials.size() << " set"
      << (v.trials.size() == 1 ? "" : "s") << " x " << v.repeat
      << (v.has_check ? ", judged by --check" : ", judged by exit status")
      << ")\n";
  if (!v.passed) {
    const TrialRecord *base = v.trials.empty() ? nullptr : &v.trials.front();
    out << "  result   FAIL: the workload "
        << (v.baseline == Outcome::Flaky ? "is flaky" : "fails")
        << " with the given set";
    if (base)
      out << " (" << failure_text(base->runs) << ")";
    out << "\n";
    if (v.minimize)
      out << "\nThe workload fails even with the given set; nothing to "
             "minimize.\n";
    return out.str();
  }
  out << "  result   PASS with the given set\n";
  if (v.minimize) {
    out << "\nEach capability removed in turn:\n";
    if (v.decisions.empty())
      out << "  (the given set is empty: nothing to remove)\n";
    char line[128];
    for (const auto &d : v.decisions) {
      std::string verdict(verdict_name(d.verdict));
      std::snprintf(line, sizeof line, "  %-18s %-14s ",
                    cap_name(d.cap).c_str(), verdict.c_str());
      out << line;
      if (d.verdict == Verdict::Replaced)
        out << "by " << cap_name(d.replacement) << ": ";
      out << d.why << "\n";
    }
    out << "\nProven-minimal set: " << cap_list_text(v.proven) << "\n";
  } else {
    out << "\nVerified set: " << cap_list_text(v.proven) << "\n";
  }
  out << "  " << cap_flags_line(v.proven) << "\n";
  return out.str();
}

} // namespace

std::string render_verify(const VerifyResult &v, Format f) {
  if (f == Format::Report)
    return verify_report(v);
  if (f == Format::Json)
    return json_text(verify_json(v), 2) + "\n";
  // Every flags format: render a profile whose advice is the proven set,
  // so each runtime's syntax comes from the one place that knows it.
  Profile p;
  p.workload.kind = "command";
  p.workload.command = v.command;
  p.workload.user = v.user;
  if (!v.command.empty()) {
    const std::string &c0 = v.command.front();
    p.workload.name = c0.substr(c0.rfind('/') + 1);
    p.workload.key = "command:" + p.workload.name;
  }
  for (int c : caps_in(v.proven))
    p.entry(c, CheckClass::Needed).granted = 1;
  return render(p, f);
}

} // namespace capscope
