// test_version.cpp - the version line and the profile's record of the
// capscope that wrote it.
#include <catch2/catch.hpp>

#include "core/profile.h"
#include "core/version.h"

using namespace capscope;

TEST_CASE("the version line names the release and the commit") {
  std::string line = capscope_version_line();
  CHECK(line.rfind(capscope_version(), 0) == 0);
  CHECK(line.find(std::string("(commit ") + capscope_commit() + ")") !=
        std::string::npos);
  CHECK(std::string(capscope_commit()).size() >= 7);
}

TEST_CASE("a saved profile records the capscope that wrote it") {
  Profile p;
  p.workload.kind = "command";
  p.workload.command = {"true"};
  auto j = to_json(p);
  REQUIRE(j.contains("capscope_version"));
  CHECK(j["capscope_version"] == capscope_version_line());
  auto back = profile_from_json(j);
  REQUIRE(back);
}
