// test_caps.cpp - unit tests for the capability knowledge base and parsers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bitset>
#include <set>
#include <string>
#include <vector>

#include "core/caps.h"

using namespace capscope;

namespace {
const std::vector<std::string> kDockerDefaults = {
    "CHOWN",      "DAC_OVERRIDE", "FOWNER",      "FSETID",           "KILL",
    "SETGID",     "SETUID",       "SETPCAP",     "NET_BIND_SERVICE", "NET_RAW",
    "SYS_CHROOT", "MKNOD",        "AUDIT_WRITE", "SETFCAP"};
} // namespace

TEST_CASE("the knowledge base has 41 capabilities indexed by number",
          "[caps]") {
  const auto &caps = all_caps();
  REQUIRE(caps.size() == 41);
  REQUIRE(kCapCount == 41);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < caps.size(); ++i) {
    CHECK(caps[i].number == static_cast<int>(i));
    CHECK_FALSE(caps[i].name.empty());
    CHECK_FALSE(caps[i].name.starts_with("CAP_"));
    CHECK_FALSE(caps[i].meaning.empty());
    CHECK_FALSE(caps[i].risk.empty());
    names.insert(caps[i].name);
  }
  CHECK(names.size() == 41);
}

TEST_CASE("well-known capabilities have their kernel numbers", "[caps]") {
  CHECK(parse_cap("CHOWN") == 0);
  CHECK(parse_cap("NET_BIND_SERVICE") == 10);
  CHECK(parse_cap("SYS_ADMIN") == 21);
  CHECK(parse_cap("CHECKPOINT_RESTORE") == 40);
  CHECK(cap_name(0) == "CHOWN");
  CHECK(cap_name(21) == "SYS_ADMIN");
  CHECK(cap_name(40) == "CHECKPOINT_RESTORE");
}

TEST_CASE("cap_info is null and cap_name is numeric outside 0..40", "[caps]") {
  CHECK(cap_info(-1) == nullptr);
  CHECK(cap_info(41) == nullptr);
  REQUIRE(cap_info(39) != nullptr);
  CHECK(cap_info(39)->name == "BPF");
  CHECK(cap_name(63) == "CAP_63");
  CHECK(cap_name(41) == "CAP_41");
}

TEST_CASE("capability names are accepted with or without CAP_ in any case",
          "[caps]") {
  CHECK(parse_cap("chown") == 0);
  CHECK(parse_cap("CAP_CHOWN") == 0);
  CHECK(parse_cap("Cap_Chown") == 0);
  CHECK(parse_cap("cap_net_bind_service") == 10);
  CHECK(parse_cap("  sys_admin\t") == 21);
  CHECK_FALSE(parse_cap("FOO").has_value());
  CHECK_FALSE(parse_cap("").has_value());
  CHECK_FALSE(parse_cap("CAP_").has_value());
  CHECK_FALSE(parse_cap("CAP_CAP_CHOWN").has_value());
}

TEST_CASE("a capability list parses into a mask", "[caps]") {
  std::string error;
  auto mask = parse_cap_list("chown, CAP_NET_BIND_SERVICE ,Sys_Admin", &error);
  REQUIRE(mask.has_value());
  CHECK(*mask == ((1ULL << 0) | (1ULL << 10) | (1ULL << 21)));
  CHECK(error.empty());
  CHECK(parse_cap_list("chown,chown", &error) == 1ULL);
}

TEST_CASE("an empty capability list is the empty set", "[caps]") {
  std::string error;
  CHECK(parse_cap_list("", &error) == 0ULL);
  CHECK(parse_cap_list("   ", &error) == 0ULL);
  CHECK(error.empty());
}

TEST_CASE("empty items in a capability list are errors", "[caps]") {
  std::string error;
  CHECK_FALSE(parse_cap_list("chown,,kill", &error).has_value());
  CHECK_FALSE(error.empty());
  error.clear();
  CHECK_FALSE(parse_cap_list("chown,", &error).has_value());
  CHECK_FALSE(error.empty());
  error.clear();
  CHECK_FALSE(parse_cap_list(",chown", &error).has_value());
  CHECK_FALSE(error.empty());
  CHECK_FALSE(parse_cap_list("chown, ,kill", nullptr).has_value());
}

TEST_CASE("an unknown capability name is an error that lists valid names",
          "[caps]") {
  std::string error;
  CHECK_FALSE(parse_cap_list("chown,foo", &error).has_value());
  CHECK(error.starts_with("unknown capability 'foo'; valid names: "));
  CHECK(error.find("CHOWN, DAC_OVERRIDE, ") != std::string::npos);
  CHECK(error.find("CHECKPOINT_RESTORE") != std::string::npos);
  CHECK(error.find('\n') == std::string::npos);
  CHECK(error.find(valid_cap_names()) != std::string::npos);
  CHECK_FALSE(parse_cap_list("FOO", nullptr).has_value());
}

TEST_CASE("valid_cap_names lists all 41 names in number order", "[caps]") {
  std::string names = valid_cap_names();
  CHECK(names.starts_with("CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, "));
  CHECK(names.ends_with(", PERFMON, BPF, CHECKPOINT_RESTORE"));
  CHECK(std::count(names.begin(), names.end(), ',') == 40);
}

TEST_CASE("the docker default set is the well-known 14 capabilities",
          "[caps]") {
  CapMask mask = docker_default_mask();
  CHECK(std::bitset<64>(mask).count() == 14);
  CHECK(mask == 0x00000000a80425fbULL);
  for (const auto &name : kDockerDefaults) {
    auto cap = parse_cap(name);
    REQUIRE(cap.has_value());
    CHECK(cap_info(*cap)->docker_default);
  }
  int flagged = 0;
  for (const auto &info : all_caps())
    flagged += info.docker_default ? 1 : 0;
  CHECK(flagged == 14);
}

TEST_CASE("all_caps_mask covers bits 0 to 40", "[caps]") {
  CHECK(all_caps_mask() == 0x000001ffffffffffULL);
  CHECK(caps_in(all_caps_mask()).size() == 41);
}

TEST_CASE("decoding the docker default mask gives its 14 names", "[caps]") {
  auto mask = parse_hex_mask("00000000a80425fb");
  REQUIRE(mask.has_value());
  auto names = cap_names(*mask);
  CHECK(names.size() == 14);
  CHECK(std::set<std::string>(names.begin(), names.end()) ==
        std::set<std::string>(kDockerDefaults.begin(), kDockerDefaults.end()));
  CHECK(names.front() == "CHOWN");
  CHECK(names.back() == "SETFCAP");
  CHECK(caps_in(*mask) ==
        std::vector<int>{0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31});
}

TEST_CASE("decoding names bits beyond 40 numerically", "[caps]") {
  CHECK(cap_names(1ULL << 63) == std::vector<std::string>{"CAP_63"});
  CHECK(caps_in(0).empty());
}

TEST_CASE("hex masks accept an optional 0x prefix and 1 to 16 digits",
          "[caps]") {
  CHECK(parse_hex_mask("0xa80425fb") == 0xa80425fbULL);
  CHECK(parse_hex_mask("0XA80425FB") == 0xa80425fbULL);
  CHECK(parse_hex_mask("0") == 0ULL);
  CHECK(parse_hex_mask("ffffffffffffffff") == ~0ULL);
  CHECK(parse_hex_mask("000001ffffffffff") == all_caps_mask());
}

TEST_CASE("bad hex masks are rejected", "[caps]") {
  CHECK_FALSE(parse_hex_mask("").has_value());
  CHECK_FALSE(parse_hex_mask("0x").has_value());
  CHECK_FALSE(parse_hex_mask("xyz").has_value());
  CHECK_FALSE(parse_hex_mask("12g4").has_value());
  CHECK_FALSE(parse_hex_mask("0x0x12").has_value());
  CHECK_FALSE(parse_hex_mask("-1").has_value());
  CHECK_FALSE(parse_hex_mask(" 12").has_value());
  CHECK_FALSE(parse_hex_mask("10000000000000000").has_value()); // 17 digits
}
