// test_formats_systemd_unit.cpp - `--format systemd` for a profile recorded
// with `record --unit`: the drop-in of that unit (where to save it), the
// measured CapabilityBoundingSet=, AmbientCapabilities= for a non-root
// unit, and NoNewPrivileges=yes only when nothing gained privilege
// through exec.
#include <catch2/catch.hpp>

#include "core/caps.h"
#include "core/format.h"
#include "support.h"

using namespace capscope;
using namespace capscope::test;

namespace {

Profile unit_needing(CapMask add, const std::string &user) {
  Profile p = profile_needing(add, 3, "bind", "inet_bind_sk");
  p.workload.kind = "unit";
  p.workload.id = "web.service";
  p.workload.name = "web.service";
  p.workload.runtime = "systemd";
  p.workload.user = user;
  p.workload.command = {"/usr/bin/web"};
  return p;
}

} // namespace

TEST_CASE("systemd drop-in of a recorded unit: bounding set, ambient for "
          "its non-root user, no_new_privs",
          "[format][systemd][unit]") {
  std::string d = render(unit_needing(cap_bit(kNetBindService), "www-data"),
                         Format::Systemd);
  INFO(d);
  CHECK(d == "# capscope: measured drop-in for web.service\n"
             "# save as /etc/systemd/system/web.service.d/capscope.conf, then: "
             "systemctl daemon-reload && systemctl restart web.service\n"
             "[Service]\n"
             "User=www-data\n"
             "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"
             "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
             "NoNewPrivileges=yes\n");
  // Root: the bounding set alone; nothing ambient.
  std::string root = render(unit_needing(cap_bit(kChown), ""), Format::Systemd);
  CHECK(root.find("CapabilityBoundingSet=CAP_CHOWN\n") != std::string::npos);
  CHECK(root.find("Ambient") == std::string::npos);
  CHECK(root.find("User=") == std::string::npos);
}

TEST_CASE("systemd drop-in: no NoNewPrivileges= when the unit changed "
          "identity or ran a setuid program",
          "[format][systemd][unit]") {
  // Needs SETUID/SETGID itself (a server dropping to its user).
  std::string drops = render(
      unit_needing(cap_bit(kSetuid) | cap_bit(kSetgid), ""), Format::Systemd);
  CHECK(drops.find("NoNewPrivileges") == std::string::npos);
  // An exec that gained identity (su, a setuid helper): the Exec-class
  // SETUID check of cap_bprm_creds_from_file.
  Profile p = unit_needing(cap_bit(kNetBindService), "1000");
  add_check(p, kSetuid, CheckClass::Exec, 1, 0, {"execve"},
            {"cap_bprm_creds_from_file"});
  std::string suid = render(p, Format::Systemd);
  INFO(suid);
  CHECK(suid.find("NoNewPrivileges") == std::string::npos);
  CHECK(suid.find("AmbientCapabilities=CAP_NET_BIND_SERVICE\n") !=
        std::string::npos);
}
