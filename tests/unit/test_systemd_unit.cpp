// test_systemd_unit.cpp - `record --unit`: unit names, and finding a
// unit's cgroup in /proc/PID/cgroup text (cgroup v1 hybrid, v2, a unit
// inside a container, sub-cgroups).
#include <catch2/catch.hpp>

#include "core/systemd_unit.h"

using namespace capscope;

TEST_CASE("unit names: .service added, units without processes refused",
          "[unit]") {
  CHECK(unit_name("nginx").value() == "nginx.service");
  CHECK(unit_name("nginx.service").value() == "nginx.service");
  CHECK(unit_name("run-r1234.scope").value() == "run-r1234.scope");
  CHECK(unit_name("getty@tty1").value() == "getty@tty1.service");
  CHECK(unit_name("a.b").value() == "a.b.service");
  CHECK_FALSE(unit_name(""));
  CHECK_FALSE(unit_name("../etc"));
  CHECK_FALSE(unit_name("two words"));
  CHECK(unit_name("multi-user.target").error().message ==
        "'multi-user.target' is a target unit; record the .service it "
        "starts");
  CHECK_FALSE(unit_name("logrotate.timer"));
  CHECK_FALSE(unit_name(std::string(300, 'a')));
}

TEST_CASE("a unit's cgroup from /proc/PID/cgroup", "[unit]") {
  const std::string hybrid = "12:pids:/system.slice/nginx.service\n"
                             "1:name=systemd:/system.slice/nginx.service\n"
                             "0::/system.slice/nginx.service\n";
  CHECK(unit_cgroup_in(hybrid, "nginx.service") ==
        "/system.slice/nginx.service");
  CHECK_FALSE(unit_cgroup_in(hybrid, "nginx"));
  CHECK_FALSE(unit_cgroup_in(hybrid, "x.service"));
  // A process in a sub-cgroup (Delegate=yes) is the unit's.
  CHECK(unit_cgroup_in("0::/system.slice/foo.service/worker\n",
                       "foo.service") == "/system.slice/foo.service");
  // systemd inside a container, seen from the host.
  CHECK(unit_cgroup_in("1:name=systemd:/machine.slice/libpod-abc.scope/"
                       "system.slice/foo.service\n",
                       "foo.service") ==
        "/machine.slice/libpod-abc.scope/system.slice/foo.service");
  // A name that only prefixes a component is no match.
  CHECK_FALSE(unit_cgroup_in("0::/system.slice/foo.service2\n", "foo.service"));
  CHECK_FALSE(unit_cgroup_in("garbage\n::\n", "foo.service"));
  CHECK(unit_cgroup_in("0::/a:b/foo.service", "foo.service") ==
        "/a:b/foo.service");
}
