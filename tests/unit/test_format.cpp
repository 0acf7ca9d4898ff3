// test_format.cpp - unit tests for rendering: runtime flags, the human
// report and several profiles at once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/aggregate.h"
#include "core/caps.h"
#include "core/format.h"
#include "core/replay.h"
#include "support.h"

using namespace capscope;
using namespace capscope::test;

namespace {

// The recorded `chown` run (tests/unit/data/chown.jsonl) as a profile.
Profile chown_profile() {
  Aggregator agg = replay_data("chown.jsonl");
  Profile p;
  p.workload.command = {"chown", "nobody", "/tmp/f"};
  p.start_ns = 1700000000000000000;
  p.end_ns = 1700000000500000000;
  p.kernel = "6.18.0";
  p.arch = "x86_64";
  p.attach_mode = "replay";
  p.exit_status = 0;
  agg.fill(p, 1);
  return p;
}

Profile needing(CapMask add, const std::string &name) {
  Profile p = profile_needing(add);
  p.workload.kind = "container";
  p.workload.name = name;
  return p;
}
} // namespace

TEST_CASE("nothing needed renders as dropping everything", "[format]") {
  CHECK(cap_flags_line(0) == "--cap-drop=ALL");
}

TEST_CASE("added capabilities are sorted by name without CAP_", "[format]") {
  CHECK(cap_flags_line(cap_bit(kNetBindService) | cap_bit(kChown)) ==
        "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE");
  // Sorted by name, not by number: SYS_ADMIN (21) after NET_BIND (10) but
  // AUDIT_WRITE (29) before both.
  CHECK(cap_flags_line(cap_bit(kSysAdmin) | cap_bit(29) |
                       cap_bit(kNetBindService)) ==
        "--cap-drop=ALL --cap-add=AUDIT_WRITE --cap-add=NET_BIND_SERVICE "
        "--cap-add=SYS_ADMIN");
  CHECK(cap_flags_line(cap_bit(40)) ==
        "--cap-drop=ALL --cap-add=CHECKPOINT_RESTORE");
}

TEST_CASE("runtime formats print exactly one flags line", "[format]") {
  Profile p = chown_profile();
  for (Format f : {Format::Docker, Format::Podman, Format::Nerdctl}) {
    std::string out = render(p, f);
    CHECK(out == "--cap-drop=ALL --cap-add=CHOWN\n");
    CHECK(count_of(out, "\n") == 1);
  }
  CHECK(render(Profile{}, Format::Docker) == "--cap-drop=ALL\n");
}

TEST_CASE("every listed format name parses and others do not", "[format]") {
  std::string names = format_names();
  std::vector<std::string> listed;
  std::stringstream ss(names);
  for (std::string n; std::getline(ss, n, ',');) {
    n.erase(0, n.find_first_not_of(' '));
    listed.push_back(n);
  }
  CHECK(listed == std::vector<std::string>{"report", "json", "docker", "podman",
                                           "nerdctl", "compose", "k8s",
                                           "systemd", "oci", "capsh", "kyverno",
                                           "gatekeeper"});
  for (const auto &n : listed) {
    INFO(n);
    CHECK(parse_format(n).has_value());
  }
  CHECK(parse_format("report") == Format::Report);
  CHECK(parse_format("json") == Format::Json);
  CHECK(parse_format("docker") == Format::Docker);
  CHECK(parse_format("podman") == Format::Podman);
  CHECK(parse_format("nerdctl") == Format::Nerdctl);
  CHECK_FALSE(parse_format("yaml").has_value());
  CHECK_FALSE(parse_format("").has_value());
  CHECK_FALSE(parse_format("docker ").has_value());
}

TEST_CASE("the json format is the profile", "[format]") {
  Profile p = chown_profile();
  std::string out = render(p, Format::Json);
  REQUIRE(out.back() == '\n');
  auto j = nlohmann::json::parse(out);
  CHECK(j == to_json(p));
  CHECK(j["advice"]["add"] == nlohmann::json::array({"CHOWN"}));
}

TEST_CASE("the report explains each needed capability and gives the flags",
          "[format][report]") {
  std::string r = render(chown_profile(), Format::Report);
  INFO(r);
  CHECK(contains(r, "capscope: command: chown nobody /tmp/f\n"));
  CHECK(contains(r, "Capability checks made by the workload:"));
  CHECK(contains(r, "CHOWN"));
  CHECK(contains(r, "fchownat"));
  CHECK(contains(r, "setattr_prepare"));
  CHECK(contains(r, "by /usr/bin/chown"));
  CHECK(contains(r, "exit status 0"));
  CHECK(contains(r, "\nAdvice:\n  --cap-drop=ALL --cap-add=CHOWN\n"));
  CHECK(contains(r, "drops 13 of Docker's 14 default capabilities.\n"));
  CHECK_FALSE(contains(r, "beyond"));
  CHECK_FALSE(contains(r, "WARNING"));
  // The noise is summed up but not listed.
  CHECK(contains(r, "Kept out of the advice: 34 checks (overcommit 29, "
                    "setup 5); -v lists them."));
  CHECK_FALSE(contains(r, "security_vm_enough_memory_mm"));
  CHECK_FALSE(contains(r, std::string(class_reason(CheckClass::Overcommit))));
}

TEST_CASE("noise checks are listed only in the verbose report",
          "[format][report]") {
  RenderOptions verbose;
  verbose.verbose = true;
  std::string r = render(chown_profile(), Format::Report, verbose);
  INFO(r);
  CHECK(contains(r, "Kept out of the advice: 34 checks (overcommit 29, "
                    "setup 5):\n"));
  CHECK(contains(r, "security_vm_enough_memory_mm"));
  CHECK(contains(r, "overcommit: " +
                        std::string(class_reason(CheckClass::Overcommit))));
  CHECK(contains(r, "setup: " + std::string(class_reason(CheckClass::Setup))));
  CHECK_FALSE(contains(r, "-v lists them"));
  // The advice itself does not change.
  CHECK(contains(r, "\nAdvice:\n  --cap-drop=ALL --cap-add=CHOWN\n"));
}

TEST_CASE("a report with only noise advises dropping everything",
          "[format][report]") {
  Profile p;
  p.entry(kSysAdmin, CheckClass::Overcommit).granted = 1;
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(contains(r, "The workload made no capability check of its own."));
  CHECK(contains(r, "Kept out of the advice: 1 check (overcommit 1)"));
  CHECK(contains(r, "\nAdvice:\n  --cap-drop=ALL\n"));
  CHECK(contains(r, "drops 14 of Docker's 14 default capabilities.\n"));
}

TEST_CASE("capabilities beyond Docker's defaults are counted in the report",
          "[format][report]") {
  std::string r =
      render_report(needing(cap_bit(kSysAdmin) | cap_bit(kChown), "x"), {});
  INFO(r);
  CHECK(contains(r, "--cap-drop=ALL --cap-add=CHOWN --cap-add=SYS_ADMIN\n"));
  CHECK(contains(r, "drops 13 of Docker's 14 default capabilities; adds 1 "
                    "beyond them.\n"));
  CHECK(contains(r, "capscope: container x\n"));
}

TEST_CASE("a denied needed check makes the report warn", "[format][report]") {
  Profile p = chown_profile();
  p.entry(kNetBindService, CheckClass::Needed).denied = 1;
  // A denied noise check is no reason to warn.
  p.entry(kSysAdmin, CheckClass::Overcommit).denied = 5;
  std::string r = render_report(p, {});
  INFO(r);
  CHECK(
      contains(r, "WARNING: denied during the recording: NET_BIND_SERVICE.\n"));
  CHECK(count_of(r, "WARNING") == 1);
  // Denied is not advised.
  CHECK(contains(r, "\nAdvice:\n  --cap-drop=ALL --cap-add=CHOWN\n"));

  Profile only_noise_denied = chown_profile();
  only_noise_denied.entry(kSysAdmin, CheckClass::Overcommit).denied = 5;
  CHECK_FALSE(contains(render_report(only_noise_denied, {}), "WARNING"));
}

TEST_CASE("lost events and map overflows are reported, never silent",
          "[format][report]") {
  Profile p = chown_profile();
  p.lost_events = 12;
  p.counts_overflow = 3;
  std::string r = render_report(p, {});
  CHECK(contains(r, "WARNING: 12 events lost"));
  CHECK(contains(r, "WARNING: kernel maps overflowed (tasks 0, keys 3)"));
}

TEST_CASE("held but unused capabilities are counted in the report",
          "[format][report]") {
  Profile p = chown_profile();
  p.held = docker_default_mask();
  p.held_known = true;
  CHECK(contains(render_report(p, {}),
                 "held but never used: 13 capabilities.\n"));
}

TEST_CASE("several profiles get a name line before each flags line",
          "[format]") {
  Profile web = needing(cap_bit(kNetBindService) | cap_bit(kChown), "web");
  Profile db = needing(0, "");
  db.workload.id = "0123456789ab"; // no name: the id stands in
  CHECK(render_many({web, db}, Format::Docker) ==
        "# web\n--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE\n"
        "# 0123456789ab\n--cap-drop=ALL\n");
  CHECK(render_many({web, db}, Format::Podman) ==
        render_many({web, db}, Format::Docker));
  // One profile: just its line, no comment.
  CHECK(render_many({web}, Format::Docker) ==
        "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE\n");
}

TEST_CASE("several profiles in json are one array", "[format]") {
  Profile web = needing(cap_bit(kNetBindService), "web");
  Profile db = needing(cap_bit(kChown), "db");
  auto j = nlohmann::json::parse(render_many({web, db}, Format::Json));
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 2);
  CHECK(j[0]["workload"]["name"] == "web");
  CHECK(j[1]["advice"]["add"] == nlohmann::json::array({"CHOWN"}));
  // One profile is the object itself, as `advise --format json` gives.
  CHECK(nlohmann::json::parse(render_many({web}, Format::Json)).is_object());
}

TEST_CASE("the runtime section of a container recording advises nothing",
          "[format]") {
  Profile p;
  p.workload.kind = "runtime";
  p.workload.name = "podman";
  CheckStats &s = p.entry(21, CheckClass::Needed); // runc's mounts
  s.granted = 12;
  s.syscalls = {"mount"};
  std::string r = render(p, Format::Report);
  CHECK_THAT(r, Catch::Contains("SYS_ADMIN"));
  CHECK_THAT(r, Catch::Contains("no container needs them"));
  CHECK_THAT(r, !Catch::Contains("Advice:"));
  CHECK_THAT(r, !Catch::Contains("--cap-add"));
}
