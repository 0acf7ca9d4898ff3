// test_formats_explain.cpp - the report explains each advised capability
// and warns where a reader must act (SYS_ADMIN, root for a low port,
// --privileged, non-root denials, foreign user namespaces).
#include <catch2/catch.hpp>

#include <string>

#include "core/caps.h"
#include "core/explain.h"
#include "core/format.h"
#include "support.h"

using namespace capscope;
using namespace capscope::test;

namespace {
constexpr std::int64_t kT0 = 1700000000000000000; // 2023-11-14T22:13:20Z

CheckStats &use(Profile &p, int cap, const std::string &syscall,
                const std::string &site, const std::string &exe,
                std::uint64_t granted = 1, std::uint64_t denied = 0) {
  CheckStats &s = add_check(p, cap, CheckClass::Needed, granted, denied,
                            {syscall}, {site}, {exe});
  if (!s.first_ns)
    s.first_ns = kT0;
  return s;
}
} // namespace

TEST_CASE("each advised capability says what needed it and what it means",
          "[report][explain]") {
  Profile p;
  p.workload.command = {"./server"};
  use(p, kChown, "fchownat", "setattr_prepare", "/usr/bin/chown", 3);
  use(p, kNetBindService, "bind", "inet_bind_sk", "/srv/server", 1);
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "\nWhy each capability:\n"));
  CHECK(contains(r, "  CHOWN: change the owner and group of any file\n"
                    "    needed by fchownat at setattr_prepare, run by "
                    "/usr/bin/chown\n"
                    "    3 checks granted, first seen "
                    "2023-11-14T22:13:20.000000Z\n"));
  CHECK(contains(r, "  NET_BIND_SERVICE: bind sockets to ports below 1024\n"
                    "    needed by bind at inet_bind_sk, run by /srv/server\n"
                    "    1 check granted"));
}

TEST_CASE("the report names Docker's defaults it drops and what it adds",
          "[report][explain]") {
  Profile p;
  use(p, kChown, "fchownat", "setattr_prepare", "/usr/bin/chown");
  use(p, kDacReadSearch, "openat", "generic_permission", "/usr/bin/cat");
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "  drops 13 of Docker's 14 default capabilities; adds 1 "
                    "beyond them.\n"
                    "    dropped from Docker's defaults: AUDIT_WRITE, "
                    "DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, "
                    "NET_BIND_SERVICE, NET_RAW, SETFCAP, SETGID, SETPCAP, "
                    "SETUID, SYS_CHROOT\n"
                    "    added beyond Docker's defaults: DAC_READ_SEARCH\n"));
}

TEST_CASE("SYS_ADMIN in the advice is a warning naming what needed it",
          "[report][explain]") {
  Profile p;
  use(p, kSysAdmin, "mount", "path_mount", "/usr/bin/mount");
  use(p, kSysAdmin, "sethostname", "__x64_sys_sethostname", "/bin/hostname");
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "WARNING: SYS_ADMIN is in the advice."));
  CHECK(contains(r, "needed by syscalls mount, sethostname at "
                    "__x64_sys_sethostname, path_mount"));
  CHECK(contains(r, "  - path_mount: mount(2): mount from outside instead"));
  CHECK(contains(r, "  - __x64_sys_sethostname: sethostname(2): set the "
                    "hostname from outside (--hostname"));
}

TEST_CASE("root used only to bind a low port suggests a non-root user",
          "[report][explain]") {
  Profile p;
  use(p, kNetBindService, "bind", "inet_bind_sk", "/srv/server");
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "WARNING: the workload ran as root only to bind a port "
                    "below 1024."));
  CHECK(contains(r, "setcap cap_net_bind_service=+ep"));
  CHECK(contains(r, "-p 80:8080"));
  // Not when it needs more, and not when it already runs as a user.
  use(p, kChown, "fchownat", "setattr_prepare", "/usr/bin/chown");
  CHECK_FALSE(contains(render_report(p, {}), "only to bind"));
  Profile u;
  u.workload.user = "1000";
  use(u, kNetBindService, "bind", "inet_bind_sk", "/srv/server");
  CHECK_FALSE(contains(render_report(u, {}), "only to bind"));
}

TEST_CASE("a workload that held every capability gets the tight list",
          "[report][explain]") {
  Profile p;
  p.held = all_caps_mask();
  p.held_known = true;
  use(p, kChown, "fchownat", "setattr_prepare", "/usr/bin/chown");
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "WARNING: the workload held every capability "
                    "(--privileged or equivalent) and used 1 of them.\n"
                    "  This tight list replaces it: --cap-drop=ALL "
                    "--cap-add=CHOWN\n"));
  CHECK(contains(r, "held but never used: 40 capabilities.\n"));
  p.held = docker_default_mask();
  CHECK_FALSE(contains(render_report(p, {}), "held every capability"));
}

TEST_CASE("a non-root workload's denials point at file and ambient "
          "capabilities",
          "[report][explain]") {
  Profile p;
  p.workload.user = "1000:1000";
  use(p, kNetBindService, "bind", "inet_bind_sk", "/srv/server", 0, 2);
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "WARNING: denied during the recording: NET_BIND_SERVICE "
                    "(the workload ran as user 1000:1000).\n"));
  CHECK(contains(r, "--cap-add does not give a non-root process effective "
                    "capabilities (Docker, Kubernetes)"));
  CHECK(contains(r, "    setcap cap_net_bind_service=+ep /srv/server\n"));
  CHECK(contains(r, "AmbientCapabilities="));
  // Not the root advice to re-record as root.
  CHECK_FALSE(contains(r, "Re-record with all capabilities"));
  CHECK(count_of(r, "WARNING") == 1);
  CHECK(contains(r, "  user     1000:1000\n"));
}

TEST_CASE("denials in another user namespace cannot be fixed by --cap-add",
          "[report][explain]") {
  Profile p;
  CheckStats &s =
      use(p, kChown, "fchownat", "setattr_prepare", "/usr/bin/chown", 0, 1);
  s.other_userns = true;
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "WARNING: denied checks against a user namespace other "
                    "than the workload's own: CHOWN (1)."));
  CHECK(contains(r, "no\n  --cap-add can satisfy these"));
}

TEST_CASE("run_as tells root from users", "[explain]") {
  Workload w;
  CHECK(run_as(w).root);
  w.user = "root";
  CHECK(run_as(w).root);
  w.user = "0:0";
  CHECK(run_as(w).root);
  w.user = "1000:50";
  RunAs r = run_as(w);
  CHECK_FALSE(r.root);
  CHECK(r.uid == 1000u);
  CHECK(r.gid == 50u);
  w.user = "app";
  CHECK_FALSE(run_as(w).root);
  CHECK_FALSE(run_as(w).uid.has_value());
}
