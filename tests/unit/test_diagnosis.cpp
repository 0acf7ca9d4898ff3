// test_diagnosis.cpp - grouping syscall outcomes into explanations.
#include <catch2/catch.hpp>

#include "core/caps.h"
#include "core/diagnosis.h"
#include "core/syscalls.h"

using namespace capscope;

namespace {

SyscallOutcome outcome(const char *sc, int ret, CapMask denied,
                       CapMask granted = 0) {
  SyscallOutcome o;
  o.nr = *syscall_number(sc);
  o.ret = ret;
  o.denied = denied;
  o.granted = granted;
  o.exe = "/bin/x";
  return o;
}
} // namespace

TEST_CASE("a failed syscall with a denied capability is fixed by that "
          "capability",
          "[diagnose]") {
  Diagnosis d = diagnose({outcome("bind", -13, cap_bit(kNetBindService))});
  REQUIRE(d.rows.size() == 1);
  CHECK(d.rows[0].verdict == SyscallVerdict::CapFailure);
  CHECK(d.rows[0].syscall == "bind");
  CHECK(d.rows[0].err == 13);
  CHECK(d.fix == cap_bit(kNetBindService));
  std::string text = render_diagnosis(d, 0);
  CHECK_THAT(text, Catch::Contains("bind() failed with EACCES after "
                                   "CAP_NET_BIND_SERVICE was denied"));
  CHECK_THAT(text,
             Catch::Contains("Fix: --cap-drop=ALL --cap-add=NET_BIND_SERVICE"));
}

TEST_CASE("a read denied both DAC capabilities needs only DAC_READ_SEARCH",
          "[diagnose]") {
  CHECK(fix_for(cap_bit(kDacOverride) | cap_bit(kDacReadSearch)) ==
        cap_bit(kDacReadSearch));
  CHECK(fix_for(cap_bit(kDacOverride)) == cap_bit(kDacOverride));
  Diagnosis d = diagnose({outcome(
      "openat", -13, cap_bit(kDacOverride) | cap_bit(kDacReadSearch))});
  CHECK(d.fix == cap_bit(kDacReadSearch));
}

TEST_CASE("a denial the syscall survived is not a failure and fixes "
          "nothing",
          "[diagnose]") {
  Diagnosis d = diagnose(
      {outcome("openat", 3, cap_bit(kDacReadSearch), cap_bit(kDacOverride))});
  REQUIRE(d.rows.size() == 1);
  CHECK(d.rows[0].verdict == SyscallVerdict::Survived);
  CHECK(d.fix == 0);
  CHECK_THAT(render_diagnosis(d, cap_bit(kDacOverride)),
             Catch::Contains("SURVIVED openat() succeeded although "
                             "CAP_DAC_READ_SEARCH was denied"));
}

TEST_CASE("EPERM without a denied capability is never blamed on "
          "capabilities",
          "[diagnose]") {
  SyscallOutcome o = outcome("mkdir", -1, 0);
  o.no_enter = true;
  Diagnosis d = diagnose({o, outcome("openat", -13, 0)});
  REQUIRE(d.rows.size() == 2);
  CHECK(d.fix == 0);
  for (const auto &r : d.rows)
    CHECK(r.verdict == SyscallVerdict::NotCapability);
  std::string text = render_diagnosis(d, 0);
  CHECK_THAT(text, Catch::Contains("seccomp"));
  CHECK_THAT(text, Catch::Contains("file permissions"));
  CHECK_THAT(text, !Catch::Contains("FAILED"));
}

TEST_CASE("repeated identical failures are one row with a count",
          "[diagnose]") {
  Diagnosis d = diagnose({outcome("bind", -13, cap_bit(kNetBindService)),
                          outcome("bind", -13, cap_bit(kNetBindService)),
                          outcome("bind", -13, cap_bit(kNetBindService))});
  REQUIRE(d.rows.size() == 1);
  CHECK(d.rows[0].count == 3);
  CHECK_THAT(render_diagnosis(d, 0), Catch::Contains("(x3)"));
}

TEST_CASE("successful syscalls without denials are not reported",
          "[diagnose]") {
  Diagnosis d = diagnose({outcome("openat", 3, 0), outcome("read", -2, 0)});
  CHECK(d.rows.empty());
  CHECK_THAT(render_diagnosis(d, 0),
             Catch::Contains("no syscall failed with EPERM/EACCES"));
}
