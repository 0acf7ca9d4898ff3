// test_verify.cpp - unit tests for verify's pure logic: the ablation that
// decides kept / unnecessary / ambiguous / replaced / flaky, the
// substitution table, and the rendering of the result. The workload is
// simulated by an oracle from capability set to run.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/caps.h"
#include "core/capset.h"

using namespace capscope;

namespace {

using Oracle = std::function<TrialRun(CapMask)>;

// Runs the minimizer to the end against the oracle, `repeat` runs a trial.
Minimizer minimize(CapMask given, const Oracle &oracle, bool check = false,
                   int repeat = 1, std::vector<Trial> *trials = nullptr) {
  Minimizer m(given, true, check);
  int guard = 0;
  while (auto t = m.next()) {
    REQUIRE(++guard < 100);
    if (trials)
      trials->push_back(*t);
    std::vector<TrialRun> runs;
    for (int i = 0; i < repeat; ++i)
      runs.push_back(oracle(t->caps));
    m.record(runs);
  }
  return m;
}

TrialRun pass() {
  TrialRun r;
  r.passed = true;
  return r;
}

TrialRun fail(int status = 1) {
  TrialRun r;
  r.exit_status = status;
  return r;
}

// A workload that needs exactly `needed`; checks of each needed cap are
// granted or denied at `site`.
Oracle needs(CapMask needed, const std::string &site = "setattr_prepare") {
  return [needed, site](CapMask caps) {
    TrialRun r = (caps & needed) == needed ? pass() : fail();
    for (int c : caps_in(needed)) {
      r.sites[c].insert(site);
      if (caps & cap_bit(c))
        r.used |= cap_bit(c);
      else
        r.denied |= cap_bit(c);
    }
    return r;
  };
}

const Decision *decision_for(const Minimizer &m, int cap) {
  for (const auto &d : m.decisions())
    if (d.cap == cap)
      return &d;
  return nullptr;
}

} // namespace

TEST_CASE("every capability the workload needs is kept, none unnecessary",
          "[verify]") {
  auto m = minimize(cap_bit(kChown) | cap_bit(kNetBindService),
                    needs(cap_bit(kChown) | cap_bit(kNetBindService)));
  REQUIRE_FALSE(m.baseline_failed());
  CHECK(m.result() == (cap_bit(kChown) | cap_bit(kNetBindService)));
  REQUIRE(m.decisions().size() == 2);
  for (const auto &d : m.decisions()) {
    CHECK(d.verdict == Verdict::Kept);
    CHECK(d.why.find("exit 1") != std::string::npos);
  }
}

TEST_CASE("a capability whose removal passes and is never denied is "
          "unnecessary",
          "[verify]") {
  auto m = minimize(cap_bit(kChown) | cap_bit(kNetRaw), needs(cap_bit(kChown)));
  CHECK(m.result() == cap_bit(kChown));
  REQUIRE(decision_for(m, kNetRaw));
  CHECK(decision_for(m, kNetRaw)->verdict == Verdict::Unnecessary);
  CHECK(decision_for(m, kChown)->verdict == Verdict::Kept);
}

TEST_CASE("a removal that passes although the capability was denied is "
          "ambiguous and kept",
          "[verify]") {
  // nice(1) warns and exits 0 when it cannot renice.
  Oracle degrade = [](CapMask caps) {
    TrialRun r = pass();
    r.sites[kSysNice].insert("set_one_prio");
    if (caps & cap_bit(kSysNice))
      r.used |= cap_bit(kSysNice);
    else
      r.denied |= cap_bit(kSysNice);
    return r;
  };
  auto m = minimize(cap_bit(kSysNice), degrade);
  CHECK(m.result() == cap_bit(kSysNice));
  REQUIRE(m.decisions().size() == 1);
  CHECK(m.decisions()[0].verdict == Verdict::Ambiguous);
  CHECK(m.decisions()[0].why.find("denied") != std::string::npos);

  SECTION("unless a --check proves the effect") {
    auto proven = minimize(cap_bit(kSysNice), degrade, /*check=*/true);
    CHECK(proven.result() == 0);
    CHECK(proven.decisions()[0].verdict == Verdict::Unnecessary);
  }
}

TEST_CASE("the given set failing means nothing is minimized", "[verify]") {
  std::vector<Trial> trials;
  auto m =
      minimize(cap_bit(kNetRaw), needs(cap_bit(kChown)), false, 1, &trials);
  CHECK(m.baseline_failed());
  CHECK(m.baseline_outcome() == Outcome::Fail);
  CHECK(m.decisions().empty());
  REQUIRE(trials.size() == 1);
  CHECK(trials[0].kind == TrialKind::Baseline);
}

TEST_CASE("DAC_OVERRIDE for a read is narrowed to DAC_READ_SEARCH",
          "[verify][substitution]") {
  // generic_permission: a read passes with either; DAC_READ_SEARCH is
  // asked first.
  Oracle read = [](CapMask caps) {
    bool ok = caps & (cap_bit(kDacOverride) | cap_bit(kDacReadSearch));
    TrialRun r = ok ? pass() : fail();
    r.sites[kDacReadSearch].insert("generic_permission");
    if (caps & cap_bit(kDacReadSearch)) {
      r.used |= cap_bit(kDacReadSearch);
      return r;
    }
    r.denied |= cap_bit(kDacReadSearch);
    r.sites[kDacOverride].insert("generic_permission");
    if (caps & cap_bit(kDacOverride))
      r.used |= cap_bit(kDacOverride);
    else
      r.denied |= cap_bit(kDacOverride);
    return r;
  };
  std::vector<Trial> trials;
  auto m = minimize(cap_bit(kDacOverride), read, false, 1, &trials);
  CHECK(m.result() == cap_bit(kDacReadSearch));
  REQUIRE(m.decisions().size() == 1);
  CHECK(m.decisions()[0].verdict == Verdict::Replaced);
  CHECK(m.decisions()[0].replacement == kDacReadSearch);
  REQUIRE(trials.size() == 3);
  CHECK(trials[2].kind == TrialKind::Substitution);
  CHECK(trials[2].caps == cap_bit(kDacReadSearch));
}

TEST_CASE("DAC_OVERRIDE for a write stays when the narrower one fails",
          "[verify][substitution]") {
  auto m = minimize(cap_bit(kDacOverride),
                    needs(cap_bit(kDacOverride), "generic_permission"));
  CHECK(m.result() == cap_bit(kDacOverride));
  REQUIRE(m.decisions().size() == 1);
  CHECK(m.decisions()[0].verdict == Verdict::Kept);
  CHECK(m.decisions()[0].why.find("DAC_READ_SEARCH instead") !=
        std::string::npos);
}

// /proc/PID/map_files: checkpoint_restore_ns_capable() asks for
// CHECKPOINT_RESTORE first, then SYS_ADMIN, in proc_map_files_get_link.
Oracle map_files(bool survives) {
  return [survives](CapMask caps) {
    bool ok = caps & (cap_bit(kCheckpointRestore) | cap_bit(kSysAdmin));
    TrialRun r = ok || survives ? pass() : fail();
    r.sites[kCheckpointRestore].insert("proc_map_files_get_link");
    if (caps & cap_bit(kCheckpointRestore)) {
      r.used |= cap_bit(kCheckpointRestore);
      return r;
    }
    r.denied |= cap_bit(kCheckpointRestore);
    r.sites[kSysAdmin].insert("proc_map_files_get_link");
    if (caps & cap_bit(kSysAdmin))
      r.used |= cap_bit(kSysAdmin);
    else
      r.denied |= cap_bit(kSysAdmin);
    return r;
  };
}

TEST_CASE("SYS_ADMIN at an either/or call site is narrowed to what the "
          "table names",
          "[verify][substitution]") {
  auto m = minimize(cap_bit(kSysAdmin), map_files(false));
  CHECK(m.result() == cap_bit(kCheckpointRestore));
  CHECK(m.decisions().at(0).verdict == Verdict::Replaced);
  CHECK(m.decisions().at(0).replacement == kCheckpointRestore);
}

TEST_CASE("an ambiguous capability is still replaced by a narrower one that "
          "passes without denials",
          "[verify][substitution]") {
  auto m = minimize(cap_bit(kSysAdmin), map_files(true));
  CHECK(m.result() == cap_bit(kCheckpointRestore));
  CHECK(m.decisions().at(0).verdict == Verdict::Replaced);
}

TEST_CASE("the either/or sites of the advice are tried as substitutes too",
          "[verify][substitution]") {
  // ioprio_check_cap: SYS_ADMIN asked first, SYS_NICE accepted.
  TrialRun r;
  r.used = cap_bit(kSysAdmin);
  r.sites[kSysAdmin].insert("ioprio_check_cap");
  CHECK(narrower_candidates(kSysAdmin, {r}) == std::vector<int>{kSysNice});
}

TEST_CASE("SYS_ADMIN at a call site the table does not know is not "
          "narrowed blindly",
          "[verify][substitution]") {
  std::vector<Trial> trials;
  auto m = minimize(cap_bit(kSysAdmin), needs(cap_bit(kSysAdmin), "path_mount"),
                    false, 1, &trials);
  CHECK(m.result() == cap_bit(kSysAdmin));
  CHECK(m.decisions().at(0).verdict == Verdict::Kept);
  CHECK(trials.size() == 2); // baseline + removal, no substitution tried
}

TEST_CASE("the substitution table names CHECKPOINT_RESTORE and PERFMON for "
          "SYS_ADMIN and DAC_READ_SEARCH for DAC_OVERRIDE",
          "[verify][substitution]") {
  TrialRun r;
  r.sites[kSysAdmin].insert("proc_map_files_get_link");
  CHECK(narrower_candidates(kSysAdmin, {r}) ==
        std::vector<int>{kCheckpointRestore});
  TrialRun p;
  p.sites[kSysAdmin].insert("perf_allow_kernel");
  CHECK(narrower_candidates(kSysAdmin, {p}) == std::vector<int>{kPerfmon});
  CHECK(narrower_candidates(kDacOverride, {}) ==
        std::vector<int>{kDacReadSearch});
  CHECK(narrower_candidates(kChown, {}).empty());
  for (const auto &s : substitutions()) {
    CHECK(s.broad != s.narrow);
    CHECK_FALSE(s.why.empty());
  }
}

TEST_CASE("a capability denied where the broad one was granted is tried as "
          "its substitute",
          "[verify][substitution]") {
  TrialRun r;
  r.used = cap_bit(kSysAdmin);
  r.denied = cap_bit(kNetRaw);
  r.sites[kSysAdmin].insert("some_either_or_site");
  r.sites[kNetRaw].insert("some_either_or_site");
  CHECK(narrower_candidates(kSysAdmin, {r}) == std::vector<int>{kNetRaw});
}

TEST_CASE("with --repeat, a removal that passes only sometimes is flaky and "
          "kept",
          "[verify][repeat]") {
  int n = 0;
  Oracle flaky = [&n](CapMask caps) {
    if (caps & cap_bit(kNetRaw))
      return pass();
    return (n++ % 2) ? pass() : fail(3);
  };
  auto m = minimize(cap_bit(kNetRaw), flaky, false, 3);
  CHECK(m.result() == cap_bit(kNetRaw));
  REQUIRE(m.decisions().size() == 1);
  CHECK(m.decisions()[0].verdict == Verdict::Flaky);
  CHECK(m.decisions()[0].why.find("of 3 runs failed") != std::string::npos);
}

TEST_CASE("a flaky given set is a failure", "[verify][repeat]") {
  int n = 0;
  Oracle flaky = [&n](CapMask) { return (n++ % 2) ? pass() : fail(); };
  auto m = minimize(cap_bit(kChown), flaky, false, 2);
  CHECK(m.baseline_failed());
  CHECK(m.baseline_outcome() == Outcome::Flaky);
}

TEST_CASE("without --minimize only the given set runs", "[verify]") {
  Minimizer m(cap_bit(kChown) | cap_bit(kNetRaw), false, false);
  REQUIRE(m.next());
  m.record({pass()});
  CHECK_FALSE(m.next());
  CHECK(m.result() == (cap_bit(kChown) | cap_bit(kNetRaw)));
}

TEST_CASE("the empty set is a valid set to verify", "[verify]") {
  auto m = minimize(0, needs(0));
  CHECK_FALSE(m.baseline_failed());
  CHECK(m.result() == 0);
  CHECK(m.decisions().empty());
}

TEST_CASE("the verify result renders as a report, JSON and docker flags",
          "[verify][format]") {
  VerifyResult v;
  v.command = {"chown", "1000", "f"};
  v.given = cap_bit(kChown) | cap_bit(kNetRaw);
  v.minimize = true;
  v.passed = true;
  v.proven = cap_bit(kChown);
  v.decisions = {{kChown, Verdict::Kept, -1, "without it: exit 1", {}},
                 {kNetRaw, Verdict::Unnecessary, -1, "passes without it", {}}};
  TrialRecord t;
  t.trial = {TrialKind::Baseline, v.given, -1, -1};
  t.runs = {pass()};
  v.trials = {t};

  std::string report = render_verify(v, Format::Report);
  CHECK(report.find("Proven-minimal set: CHOWN") != std::string::npos);
  CHECK(report.find("unnecessary") != std::string::npos);
  CHECK(render_verify(v, Format::Docker) == "--cap-drop=ALL --cap-add=CHOWN\n");
  auto j = nlohmann::json::parse(render_verify(v, Format::Json));
  CHECK(j["schema"] == "capscope.verify/v1");
  CHECK(j["result"] == "pass");
  CHECK(j["proven"] == nlohmann::json::array({"CHOWN"}));
  CHECK(j["decisions"][1]["verdict"] == "unnecessary");

  v.passed = false;
  v.baseline = Outcome::Fail;
  v.trials[0].runs = {fail(2)};
  report = render_verify(v, Format::Report);
  CHECK(report.find("nothing to minimize") != std::string::npos);
  CHECK(report.find("exit 2") != std::string::npos);
}

// --- issue 13: moot denials, the either/or rule, ambiguous verdicts --------

namespace {

// ionice -c1 -n4: ioprio_check_cap asks SYS_ADMIN first, then SYS_NICE; the
// call fails only when neither is held.
TrialRun ionice(CapMask caps) {
  bool admin = caps & cap_bit(kSysAdmin), nice = caps & cap_bit(kSysNice);
  TrialRun r = admin || nice ? pass() : fail();
  r.sites[kSysAdmin].insert("ioprio_check_cap");
  if (admin) {
    r.used |= cap_bit(kSysAdmin);
    return r;
  }
  r.denied |= cap_bit(kSysAdmin);
  r.sites[kSysNice].insert("ioprio_check_cap");
  if (nice)
    r.used |= cap_bit(kSysNice);
  else
    r.denied |= cap_bit(kSysNice);
  return r;
}

} // namespace

TEST_CASE("a denial at a moot check does not make a removal ambiguous",
          "[verify][moot]") {
  // busybox as a non-root user: setgid(getgid()); setuid(getuid()). The
  // kernel asks SETUID/SETGID, is refused, and the unprivileged rule allows
  // the call: the BPF side classes those checks moot.
  Profile p;
  auto &s = p.entry(kSetuid, CheckClass::Moot);
  s.denied = 1;
  s.syscalls = {"setuid"};
  s.call_sites = {"__sys_setuid"};
  TrialRun r = pass();
  fill_from_profile(r, p);
  CHECK(r.denied == 0);
  CHECK(r.moot == cap_bit(kSetuid));
  CHECK(r.moot_syscalls[kSetuid].count("setuid"));

  auto m = minimize(cap_bit(kSetuid), [&](CapMask caps) {
    return caps & cap_bit(kSetuid) ? pass() : r;
  });
  CHECK(m.result() == 0);
  REQUIRE(m.decisions().size() == 1);
  CHECK(m.decisions()[0].verdict == Verdict::Unnecessary);
  CHECK(m.decisions()[0].why.find("moot") != std::string::npos);
  CHECK(m.decisions()[0].why.find("setuid") != std::string::npos);
}

TEST_CASE("a moot denial beside a needed one still leaves it ambiguous",
          "[verify][moot]") {
  Profile p;
  p.entry(kSetuid, CheckClass::Moot).denied = 1;
  auto &n = p.entry(kSetuid, CheckClass::Needed);
  n.denied = 1;
  n.syscalls = {"setresuid"};
  TrialRun r = pass();
  fill_from_profile(r, p);
  CHECK(r.denied == cap_bit(kSetuid));
  auto m = minimize(cap_bit(kSetuid), [&](CapMask caps) {
    return caps & cap_bit(kSetuid) ? pass() : r;
  });
  CHECK(m.decisions().at(0).verdict == Verdict::Ambiguous);
}

TEST_CASE("either/or: SYS_ADMIN denied then SYS_NICE granted at "
          "ioprio_check_cap is the narrower path working",
          "[verify][either_or]") {
  TrialRun with_nice = ionice(cap_bit(kSysNice));
  CHECK(either_or_excused(with_nice) == cap_bit(kSysAdmin));
  // Without SYS_NICE nothing excuses the denial.
  CHECK(either_or_excused(ionice(0)) == 0);

  std::vector<Trial> trials;
  auto m = minimize(cap_bit(kSysAdmin), ionice, false, 1, &trials);
  CHECK(m.result() == cap_bit(kSysNice));
  REQUIRE(m.decisions().size() == 1);
  CHECK(m.decisions()[0].verdict == Verdict::Replaced);
  CHECK(m.decisions()[0].replacement == kSysNice);
  CHECK(m.decisions()[0].why.find("either/or") != std::string::npos);

  SECTION("with both given, SYS_ADMIN is unnecessary, SYS_NICE kept") {
    auto both = minimize(cap_bit(kSysAdmin) | cap_bit(kSysNice), ionice);
    CHECK(both.result() == cap_bit(kSysNice));
    CHECK(decision_for(both, kSysNice)->verdict == Verdict::Kept);
    CHECK(decision_for(both, kSysAdmin)->verdict == Verdict::Unnecessary);
  }
}

TEST_CASE("either/or: a site where the broad capability is also asked alone "
          "does not excuse its denial",
          "[verify][either_or]") {
  // generic_permission: DAC_OVERRIDE is asked alone for writes.
  TrialRun r = pass();
  r.used = cap_bit(kDacReadSearch);
  r.denied = cap_bit(kDacOverride);
  r.sites[kDacOverride].insert("generic_permission");
  r.sites[kDacReadSearch].insert("generic_permission");
  CHECK(either_or_excused(r) == 0);
  // Nor does a denial at another site in the same run.
  TrialRun s = ionice(cap_bit(kSysNice));
  s.sites[kSysAdmin].insert("path_mount");
  CHECK(either_or_excused(s) == 0);
}

TEST_CASE("an ambiguous verdict names the failed operation and what to check",
          "[verify][ambiguous]") {
  // A daemon whose pid file fchown fails without CHOWN, and carries on.
  Oracle tolerant = [](CapMask caps) {
    TrialRun r = pass();
    r.sites[kChown].insert("setattr_prepare");
    if (caps & cap_bit(kChown)) {
      r.used |= cap_bit(kChown);
    } else {
      r.denied |= cap_bit(kChown);
      r.syscalls[kChown].insert("fchown");
      add_syscall_outcome(r, "fchown", -1, cap_bit(kChown));
    }
    return r;
  };
  auto m = minimize(cap_bit(kChown), tolerant);
  REQUIRE(m.decisions().size() == 1);
  const Decision &d = m.decisions()[0];
  CHECK(d.verdict == Verdict::Ambiguous);
  REQUIRE(d.operations.size() == 1);
  CHECK(d.operations[0] == "fchown: EPERM at setattr_prepare");
  CHECK(d.why.find("fchown: EPERM at setattr_prepare") != std::string::npos);
  CHECK(d.why.find("Check whether the program still needs") !=
        std::string::npos);
  CHECK(d.why.find("--check") != std::string::npos);

  VerifyResult v;
  v.command = {"daemon"};
  v.given = cap_bit(kChown);
  v.minimize = true;
  v.passed = true;
  v.proven = m.result();
  v.decisions = m.decisions();
  auto j = nlohmann::json::parse(render_verify(v, Format::Json));
  CHECK(j["decisions"][0]["operations"][0] ==
        "fchown: EPERM at setattr_prepare");

  SECTION("without syscall outcomes it names the syscall and call site") {
    TrialRun r = pass();
    r.denied = cap_bit(kChown);
    r.sites[kChown].insert("setattr_prepare");
    r.syscalls[kChown].insert("fchownat");
    auto m2 = minimize(cap_bit(kChown),
                       [&](CapMask caps) { return caps ? pass() : r; });
    CHECK(m2.decisions().at(0).operations ==
          std::vector<std::string>{
              "fchownat: result unknown at setattr_prepare"});
  }
}

TEST_CASE("syscall outcomes: errno names and successes", "[verify]") {
  CHECK(errno_text(1) == "EPERM");
  CHECK(errno_text(13) == "EACCES");
  TrialRun r;
  add_syscall_outcome(r, "setsockopt", 0, cap_bit(kNetAdmin));
  CHECK(r.outcomes[kNetAdmin].count("setsockopt: ok"));
}
