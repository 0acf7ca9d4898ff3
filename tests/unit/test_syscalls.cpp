// test_syscalls.cpp - unit tests for syscall number/name lookup.
#include <catch2/catch.hpp>

#include "core/syscalls.h"

using namespace capscope;

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
