// test_syscalls.cpp - unit tests for syscall number/name lookup.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "core/syscalls.h"

using namespace capscope;

namespace capscope_test {
std::vector<std::pair<std::string_view, long>> bpf_sysnr_x86();
std::vector<std::pair<std::string_view, long>> bpf_sysnr_arm64();
} // namespace capscope_test

namespace {
bool has_table(std::string_view arch) {
  auto a = syscall_arches();
  return std::find(a.begin(), a.end(), arch) != a.end();
}
} // namespace

TEST_CASE("the syscall table is for x86_64 on this build", "[syscalls]") {
#if defined(__x86_64__)
  CHECK(syscall_arch() == "x86_64");
#else
  CHECK_FALSE(syscall_arch().empty());
#endif
}

TEST_CASE("x86_64 syscall numbers match the kernel ABI", "[syscalls]") {
  if (syscall_arch() != "x86_64")
    return;
  CHECK(syscall_number("chown") == 92u);
  CHECK(syscall_number("fchownat") == 260u);
  CHECK(syscall_number("bind") == 49u);
  CHECK(syscall_number("mknod") == 133u);
  CHECK(syscall_number("clone") == 56u);
  CHECK(syscall_number("execve") == 59u);
  CHECK(syscall_name(0) == "read");
  CHECK(syscall_name(92) == "chown");
  CHECK(syscall_name(59) == "execve");
}

TEST_CASE("the build holds the target's table first, and arm64's",
          "[syscalls]") {
  REQUIRE_FALSE(syscall_arches().empty());
  CHECK(syscall_arches().front() == syscall_arch());
  // The unit tier's hosts install linux-libc-dev-arm64-cross (setup.sh):
  // the arm64 table is generated from it on x86-64 too.
  CHECK(has_table("aarch64"));
}

TEST_CASE("aarch64 syscall numbers are the generic table's", "[syscalls]") {
  if (!has_table("aarch64")) {
    WARN("SKIPPED: no aarch64 table in this build");
    return;
  }
  CHECK(syscall_number("aarch64", "openat") == 56u);
  CHECK(syscall_number("aarch64", "capset") == 91u);
  CHECK(syscall_number("aarch64", "setuid") == 146u);
  CHECK(syscall_number("aarch64", "read") == 63u);
  CHECK(syscall_number("aarch64", "execve") == 221u);
  CHECK(syscall_number("aarch64", "clone") == 220u);
  CHECK(syscall_number("aarch64", "clone3") == 435u);
  // Aliases resolved (__NR_fcntl -> __NR3264_fcntl), 64-bit names.
  CHECK(syscall_number("aarch64", "fcntl") == 25u);
  CHECK(syscall_number("aarch64", "newfstatat") == 79u);
  CHECK(syscall_number("aarch64", "mmap") == 222u);
  CHECK(syscall_name("aarch64", 0) == "io_setup");
  CHECK(syscall_name("aarch64", 56) == "openat");
  // No legacy calls on arm64; no 32-bit-only names either.
  CHECK_FALSE(syscall_number("aarch64", "open").has_value());
  CHECK_FALSE(syscall_number("aarch64", "chown").has_value());
  CHECK_FALSE(syscall_number("aarch64", "fcntl64").has_value());
  CHECK_FALSE(syscall_number("aarch64", "syscalls").has_value());
}

TEST_CASE("x86_64 numbers by name of the architecture", "[syscalls]") {
  if (!has_table("x86_64")) {
    WARN("SKIPPED: no x86_64 table in this build");
    return;
  }
  CHECK(syscall_number("x86_64", "openat") == 257u);
  CHECK(syscall_name("x86_64", 126) == "capset");
  CHECK_FALSE(syscall_number("sparc", "openat").has_value());
  CHECK(syscall_name("sparc", 3) == "syscall_3");
}

TEST_CASE("the BPF side's syscall numbers match the generated tables",
          "[syscalls]") {
  auto check = [](std::string_view arch, const auto &nrs) {
    if (!has_table(arch))
      return;
    for (auto [name, nr] : nrs) {
      INFO(arch << " " << name);
      auto want = syscall_number(arch, name);
      if (nr < 0)
        CHECK_FALSE(want.has_value()); // CS_NR_NONE: the arch lacks it
      else
        CHECK(want == static_cast<unsigned>(nr));
    }
  };
  check("x86_64", capscope_test::bpf_sysnr_x86());
  check("aarch64", capscope_test::bpf_sysnr_arm64());
}

TEST_CASE("a syscall the target lacks keeps its name through a key",
          "[syscalls]") {
  // Replay of a stream recorded on the other architecture.
  std::string_view other = syscall_arch() == "x86_64" ? "aarch64" : "x86_64";
  if (!has_table(other)) {
    WARN("SKIPPED: no table for " << other);
    return;
  }
  // A shared syscall maps to the target's own number.
  CHECK(foreign_syscall(other, "openat") == syscall_number("openat"));
  CHECK_FALSE(foreign_syscall(other, "no_such_syscall").has_value());
  if (other == "x86_64") {
    // x86-64's open(2), which arm64 lacks.
    auto k = foreign_syscall(other, "open");
    REQUIRE(k.has_value());
    CHECK(syscall_name(*k) == "open");
    CHECK_FALSE(syscall_number("open").has_value());
  } else {
    // arm64's generic table has no name x86-64 lacks: every arm64 name
    // maps to an x86-64 number.
    for (unsigned nr = 0; nr < 512; ++nr) {
      std::string name = syscall_name("aarch64", nr);
      if (name.starts_with("syscall_"))
        continue;
      INFO(name);
      CHECK(foreign_syscall("aarch64", name) == syscall_number(name));
    }
  }
}

TEST_CASE("syscall names and numbers round trip", "[syscalls]") {
  for (const char *name : {"read", "chown", "fchownat", "bind", "mknod",
                           "clone", "execve", "setuid", "mount"}) {
    auto nr = syscall_number(name);
    REQUIRE(nr.has_value());
    CHECK(syscall_name(*nr) == name);
  }
  for (unsigned nr = 0; nr < 300; ++nr) {
    std::string name = syscall_name(nr);
    if (name.starts_with("syscall_"))
      continue;
    CHECK(syscall_number(name) == nr);
  }
}

TEST_CASE("a check outside any syscall is named none", "[syscalls]") {
  CHECK(syscall_name(0xffffffffu) == "none");
}

TEST_CASE("unknown syscall numbers are named syscall_N", "[syscalls]") {
  CHECK(syscall_name(100000) == "syscall_100000");
  CHECK(syscall_name(0xfffffffeu) == "syscall_4294967294");
}

TEST_CASE("unknown syscall names have no number", "[syscalls]") {
  CHECK_FALSE(syscall_number("no_such_syscall").has_value());
  CHECK_FALSE(syscall_number("").has_value());
  CHECK_FALSE(syscall_number("CHOWN").has_value());
}
