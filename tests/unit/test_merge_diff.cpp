// test_merge_diff.cpp - merging profiles of one workload, refusing to mix
// workloads, and the advice diff CI pipelines gate on.
#include <catch2/catch.hpp>

#include <string>

#include "core/caps.h"
#include "core/diffing.h"
#include "support.h"

using namespace capscope;
using namespace capscope::test;

namespace {

Profile run_of(const std::string &key, CapMask caps, std::int64_t start) {
  Profile p;
  p.workload.kind = "container";
  p.workload.name = "web-" + std::to_string(start);
  p.workload.key = key;
  p.start_ns = start;
  p.end_ns = start + 10;
  for (int cap : caps_in(caps)) {
    CheckStats &s = p.entry(cap, CheckClass::Needed);
    s.granted = 2;
    s.syscalls = {"sys_" + std::to_string(cap)};
    s.call_sites = {"site_" + std::to_string(cap)};
  }
  return p;
}
} // namespace

TEST_CASE("replicas of one workload merge: union, counts summed", "[merge]") {
  Profile a = run_of("k8s:shop/Deployment/web/web", cap_bit(kChown), 100);
  Profile b = run_of("k8s:shop/Deployment/web/web",
                     cap_bit(kChown) | cap_bit(kNetBindService), 50);
  auto m = merge_profiles({a, b}, false);
  REQUIRE(m.ok());
  CHECK(advise(m.value()).add == (cap_bit(kChown) | cap_bit(kNetBindService)));
  CHECK(m.value().find(kChown, CheckClass::Needed)->granted == 4);
  CHECK(m.value().runs == 2);
  CHECK(m.value().start_ns == 50);
  CHECK(m.value().end_ns == 110);
}

TEST_CASE("profiles of different workloads are refused unless forced",
          "[merge]") {
  Profile a = run_of("image:web@sha256:aa", cap_bit(kChown), 1);
  Profile b = run_of("image:db@sha256:bb", cap_bit(kSysAdmin), 2);
  auto m = merge_profiles({a, b}, false);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message == "profiles of different workloads "
                             "('image:web@sha256:aa' and "
                             "'image:db@sha256:bb'); --force merges them "
                             "anyway");
  auto f = merge_profiles({a, b}, true);
  REQUIRE(f.ok());
  CHECK(advise(f.value()).add == (cap_bit(kChown) | cap_bit(kSysAdmin)));
}

TEST_CASE("without a key, kind and name identify the workload", "[merge]") {
  Profile a, b;
  a.workload.name = b.workload.name = "chown";
  CHECK(merge_key(a) == "command:chown");
  CHECK(merge_profiles({a, b}, false).ok());
  b.workload.name = "mount";
  CHECK_FALSE(merge_profiles({a, b}, false).ok());
}

TEST_CASE("diff lists new capabilities with what needed them", "[diff]") {
  Profile old = run_of("w", cap_bit(kChown), 1);
  Profile now = run_of("w", cap_bit(kChown) | cap_bit(kNetBindService), 2);
  AdviceDiff d = diff_advice(old, now);
  CHECK(d.added == cap_bit(kNetBindService));
  CHECK(d.removed == 0);
  std::string out = render_diff(old, now, d);
  INFO(out);
  CHECK(contains(out, "old advice: CHOWN\nnew advice: CHOWN, "
                      "NET_BIND_SERVICE\n"));
  CHECK(contains(out, "New capabilities:\n  NET_BIND_SERVICE: needed by "
                      "sys_10 at site_10\n"));
  CHECK(contains(out, "FAIL: 1 capability beyond the old advice\n"));
}

TEST_CASE("diff with nothing new passes and reports what went away", "[diff]") {
  Profile old = run_of("w", cap_bit(kChown) | cap_bit(kNetBindService), 1);
  Profile now = run_of("w", cap_bit(kChown), 2);
  AdviceDiff d = diff_advice(old, now);
  CHECK(d.added == 0);
  CHECK(d.removed == cap_bit(kNetBindService));
  std::string out = render_diff(old, now, d);
  CHECK(contains(out, "No longer needed: NET_BIND_SERVICE\n"));
  CHECK(contains(out, "OK: nothing beyond the old advice\n"));
}

TEST_CASE("diff compares refined advice, not raw checks", "[diff]") {
  // The old profile advised SYS_NICE (SYS_ADMIN seen at ioprio_check_cap);
  // a new run showing the same is no change.
  Profile old, now;
  for (Profile *p : {&old, &now}) {
    CheckStats &s = p->entry(kSysAdmin, CheckClass::Needed);
    s.granted = 1;
    s.call_sites = {"ioprio_check_cap"};
  }
  AdviceDiff d = diff_advice(old, now);
  CHECK(d.old_add == cap_bit(kSysNice));
  CHECK(d.added == 0);
  CHECK(needed_by_lines(now, cap_bit(kSysNice)) ==
        "  SYS_NICE: needed by - at ioprio_check_cap (instead of "
        "SYS_ADMIN)\n");
}
