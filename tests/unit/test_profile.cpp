// test_profile.cpp - unit tests for profiles: ordering, advice, the JSON
// form (capscope.profile/v1), loading, atomic writes and merging.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/aggregate.h"
#include "core/caps.h"
#include "core/format.h"
#include "core/profile.h"
#include "core/replay.h"
#include "core/store.h"
#include "support.h"

using namespace capscope;
using namespace capscope::test;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path &p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(const fs::path &p, const std::string &text) {
  std::ofstream out(p);
  out << text;
}

// A profile with every field set, to prove the JSON form loses nothing.
Profile full_profile() {
  Profile p;
  p.workload.kind = "container";
  p.workload.id = "3f9a1c2b7d4e";
  p.workload.name = "web";
  p.workload.runtime = "podman";
  p.workload.image = "localhost/busybox:latest";
  p.workload.pod = "web-7d4b9c-xk2p";
  p.workload.ns = "shop";
  p.workload.key = "shop/Deployment/web/nginx";
  p.workload.command = {"/bin/httpd", "-f", "-p", "80"};
  p.workload.user = "1000:1000";
  p.start_ns = 1700000000123456789;
  p.end_ns = 1700000042987654321;
  p.kernel = "6.18.0-capscope";
  p.arch = "x86_64";
  p.attach_mode = "tracepoint";
  p.lost_events = 7;
  p.tasks_overflow = 2;
  p.counts_overflow = 3;
  p.exit_status = 0;
  p.held = cap_bit(kChown) | cap_bit(kNetBindService) | cap_bit(kKill);
  p.held_known = true;
  p.runs = 3;
  CheckStats &nb = add_check(p, kNetBindService, CheckClass::Needed, 4, 0,
                             {"bind"}, {"inet_bind_sk"}, {"/bin/httpd"});
  nb.first_ns = 1700000001000001999;
  nb.last_ns = 1700000002000002000;
  CheckStats &ch =
      add_check(p, kChown, CheckClass::Needed, 1, 2, {"fchownat", "lchown"},
                {"setattr_prepare"}, {"/bin/chown", "/bin/httpd"});
  ch.other_userns = true;
  ch.first_ns = 1700000003000000000;
  ch.last_ns = 1700000003000000000;
  add_check(p, kSysAdmin, CheckClass::Overcommit, 250, 0,
            {"mmap", "brk", "clone"}, {"security_vm_enough_memory_mm"},
            {"/bin/httpd"});
  add_check(p, kSysAdmin, CheckClass::Setup, 4, 0, {"execve"});
  return p;
}

void check_same(const Profile &a, const Profile &b) {
  CHECK(a.workload.kind == b.workload.kind);
  CHECK(a.workload.id == b.workload.id);
  CHECK(a.workload.name == b.workload.name);
  CHECK(a.workload.runtime == b.workload.runtime);
  CHECK(a.workload.image == b.workload.image);
  CHECK(a.workload.pod == b.workload.pod);
  CHECK(a.workload.ns == b.workload.ns);
  CHECK(a.workload.key == b.workload.key);
  CHECK(a.workload.command == b.workload.command);
  CHECK(a.workload.user == b.workload.user);
  CHECK(a.start_ns / 1000 == b.start_ns / 1000);
  CHECK(a.end_ns / 1000 == b.end_ns / 1000);
  CHECK(a.kernel == b.kernel);
  CHECK(a.arch == b.arch);
  CHECK(a.attach_mode == b.attach_mode);
  CHECK(a.lost_events == b.lost_events);
  CHECK(a.tasks_overflow == b.tasks_overflow);
  CHECK(a.counts_overflow == b.counts_overflow);
  CHECK(a.exit_status == b.exit_status);
  CHECK(a.held_known == b.held_known);
  CHECK(a.held == b.held);
  CHECK(a.runs == b.runs);
  REQUIRE(a.checks.size() == b.checks.size());
  for (std::size_t i = 0; i < a.checks.size(); ++i) {
    const CheckStats &x = a.checks[i], &y = b.checks[i];
    INFO("check " << i);
    CHECK(x.cap == y.cap);
    CHECK(x.cls == y.cls);
    CHECK(x.granted == y.granted);
    CHECK(x.denied == y.denied);
    CHECK(x.syscalls == y.syscalls);
    CHECK(x.call_sites == y.call_sites);
    CHECK(x.executables == y.executables);
    CHECK(x.first_ns / 1000 == y.first_ns / 1000);
    CHECK(x.last_ns / 1000 == y.last_ns / 1000);
    CHECK(x.other_userns == y.other_userns);
  }
}

// The JSON form without the derived duration, which follows from times kept
// to the microsecond and so may differ in its last digits after a reload.
nlohmann::json without_duration(nlohmann::json j) {
  j["window"].erase("duration_s");
  return j;
}

nlohmann::json minimal_json() {
  return nlohmann::json{{"schema", "capscope.profile/v1"},
                        {"checks", nlohmann::json::array()}};
}
} // namespace

TEST_CASE("profile entries stay sorted by capability and class", "[profile]") {
  Profile p;
  p.entry(kSysAdmin, CheckClass::Overcommit).granted = 1;
  p.entry(kChown, CheckClass::Needed).granted = 2;
  p.entry(kSysAdmin, CheckClass::Needed).granted = 3;
  p.entry(kNetBindService, CheckClass::Needed).granted = 4;
  p.entry(kChown, CheckClass::Setup).granted = 5;
  p.entry(kSysAdmin, CheckClass::Setup).granted = 6;
  const std::vector<std::pair<int, CheckClass>> want = {
      {kChown, CheckClass::Needed},
      {kChown, CheckClass::Setup},
      {kNetBindService, CheckClass::Needed},
      {kSysAdmin, CheckClass::Needed},
      {kSysAdmin, CheckClass::Setup},
      {kSysAdmin, CheckClass::Overcommit}};
  REQUIRE(p.checks.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("entry " << i);
    CHECK(p.checks[i].cap == want[i].first);
    CHECK(p.checks[i].cls == want[i].second);
  }
  // An existing entry is returned, not duplicated.
  p.entry(kChown, CheckClass::Needed).granted += 10;
  CHECK(p.checks.size() == 6);
  REQUIRE(p.find(kChown, CheckClass::Needed));
  CHECK(p.find(kChown, CheckClass::Needed)->granted == 12);
  CHECK(p.find(kSysAdmin, CheckClass::Setup)->granted == 6);
  CHECK(p.find(kChown, CheckClass::Overcommit) == nullptr);
  CHECK(p.find(kKill, CheckClass::Needed) == nullptr);
}

TEST_CASE("only granted needed checks are advised", "[advice]") {
  Profile p;
  add_check(p, kNetBindService, CheckClass::Needed, 3, 0);
  add_check(p, kChown, CheckClass::Needed, 1, 0);
  add_check(p, kSysAdmin, CheckClass::Overcommit, 500, 0);
  add_check(p, kSetuid, CheckClass::Setup, 2, 0);
  add_check(p, kSysAdmin, CheckClass::Exec, 1, 0);
  add_check(p, kNetRaw, CheckClass::Advisory, 4, 0);
  add_check(p, kDacOverride, CheckClass::Borrowed, 9, 0);
  Advice a = advise(p);
  CHECK(a.add == (cap_bit(kNetBindService) | cap_bit(kChown)));
  CHECK(a.denied == 0);
}

TEST_CASE("denied checks are reported but never advised", "[advice]") {
  Profile p;
  add_check(p, kNetBindService, CheckClass::Needed, 0, 2);
  add_check(p, kChown, CheckClass::Needed, 1, 0);
  // A denied noise check is not a denial of anything the workload needs.
  add_check(p, kSysAdmin, CheckClass::Overcommit, 0, 40);
  Advice a = advise(p);
  CHECK(a.add == cap_bit(kChown));
  CHECK(a.denied == cap_bit(kNetBindService));
  CHECK(advise(Profile{}).add == 0);
  CHECK(advise(Profile{}).denied == 0);
}

TEST_CASE("held but unused capabilities are those no needed check used",
          "[advice]") {
  Profile p;
  add_check(p, kChown, CheckClass::Needed, 1, 0);
  add_check(p, kSysAdmin, CheckClass::Overcommit, 10, 0);
  p.held = cap_bit(kChown) | cap_bit(kKill) | cap_bit(kSysAdmin);
  CHECK(held_unused(p) == 0); // held not known
  p.held_known = true;
  CHECK(held_unused(p) == (cap_bit(kKill) | cap_bit(kSysAdmin)));
}

TEST_CASE("a profile survives the JSON round trip", "[profile][json]") {
  Profile p = full_profile();
  nlohmann::json j = to_json(p);
  CHECK(j["schema"] == "capscope.profile/v1");
  CHECK(j["advice"]["drop"] == nlohmann::json::array({"ALL"}));
  CHECK(j["advice"]["add"] ==
        nlohmann::json::array({"CHOWN", "NET_BIND_SERVICE"}));
  CHECK(j["advice"]["denied"] == nlohmann::json::array({"CHOWN"}));
  CHECK(j["held"] ==
        nlohmann::json::array({"CHOWN", "KILL", "NET_BIND_SERVICE"}));
  CHECK(j["held_unused"] == nlohmann::json::array({"KILL"}));
  CHECK(j["window"]["start"] == "2023-11-14T22:13:20.123456Z");
  CHECK(j["window"]["duration_s"].get<double>() ==
        Approx(42.864197532).margin(1e-6));
  CHECK(j["checks"][0]["cap"] == "CHOWN");
  CHECK(j["checks"][0]["number"] == 0);
  CHECK(j["checks"][0]["class"] == "needed");

  // Through text, as a saved profile is read.
  auto back = profile_from_json(nlohmann::json::parse(j.dump(2)));
  INFO((back ? "" : back.error().message));
  REQUIRE(back.ok());
  check_same(p, back.value());
  // Times keep microseconds and drop what is below.
  CHECK(back->start_ns == 1700000000123456000);
  CHECK(back->checks[1].first_ns == 1700000001000001000);
  // And the second generation is the same JSON.
  CHECK(without_duration(to_json(back.value())) == without_duration(j));
}

TEST_CASE("an empty profile survives the JSON round trip", "[profile][json]") {
  Profile p;
  nlohmann::json j = to_json(p);
  CHECK(j["window"]["start"] == "");
  CHECK(j.contains("exit_status") == false);
  CHECK(j.contains("held") == false);
  auto back = profile_from_json(j);
  REQUIRE(back.ok());
  check_same(p, back.value());
  CHECK(back->exit_status == -1);
  CHECK(back->start_ns == 0);
}

TEST_CASE("profile_from_json rejects what is not a v1 profile",
          "[profile][json]") {
  REQUIRE(profile_from_json(minimal_json()).ok());

  auto wrong = minimal_json();
  wrong["schema"] = "capscope.profile/v2";
  auto r = profile_from_json(wrong);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("capscope.profile/v2") != std::string::npos);
  CHECK(r.error().message.find("capscope.profile/v1") != std::string::npos);

  auto no_schema = minimal_json();
  no_schema.erase("schema");
  CHECK_FALSE(profile_from_json(no_schema).ok());

  auto no_checks = minimal_json();
  no_checks.erase("checks");
  r = profile_from_json(no_checks);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("checks") != std::string::npos);

  auto checks_not_array = minimal_json();
  checks_not_array["checks"] = "none";
  CHECK_FALSE(profile_from_json(checks_not_array).ok());

  auto bad_cap = minimal_json();
  bad_cap["checks"] = {{{"cap", "CAP_FLY"}, {"class", "needed"}}};
  r = profile_from_json(bad_cap);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("CAP_FLY") != std::string::npos);

  auto bad_class = minimal_json();
  bad_class["checks"] = {{{"cap", "CHOWN"}, {"class", "noise"}}};
  r = profile_from_json(bad_class);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("noise") != std::string::npos);

  auto bad_held = minimal_json();
  bad_held["held"] = {"CHOWN", "WIZARDRY"};
  r = profile_from_json(bad_held);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("WIZARDRY") != std::string::npos);

  auto bad_type = minimal_json();
  bad_type["checks"] = {{{"cap", "CHOWN"}, {"granted", "many"}}};
  CHECK_FALSE(profile_from_json(bad_type).ok());

  auto bad_time = minimal_json();
  bad_time["window"] = {{"start", "yesterday"}, {"end", ""}};
  CHECK_FALSE(profile_from_json(bad_time).ok());

  for (const auto &j : {nlohmann::json::array({1, 2}), nlohmann::json("x"),
                        nlohmann::json(nullptr), nlohmann::json(42)}) {
    INFO(j.dump());
    r = profile_from_json(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("not a capscope profile") !=
          std::string::npos);
  }
}

TEST_CASE("a profile accepts capability names in any form", "[profile][json]") {
  auto j = minimal_json();
  j["checks"] = {{{"cap", "cap_net_bind_service"}, {"granted", 1}},
                 {{"cap", "CAP_CHOWN"}, {"class", "needed"}, {"granted", 2}}};
  auto r = profile_from_json(j);
  REQUIRE(r.ok());
  CHECK(advise(r.value()).add == (cap_bit(kChown) | cap_bit(kNetBindService)));
  CHECK(r->checks[0].cap == kChown); // sorted on load
}

TEST_CASE("loading a profile that cannot be read names the file",
          "[profile][load]") {
  TempDir dir;
  std::string missing = (dir.path / "nope.json").string();
  auto r = load_profile(missing);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(missing) != std::string::npos);
  CHECK(r.error().message.find('\n') == std::string::npos);
  CHECK(r.error().err == ENOENT);

  std::string broken = (dir.path / "broken.json").string();
  write_all(broken, "{\"schema\": \"capscope.profile/v1\",\n  \"checks\": [\n");
  r = load_profile(broken);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(broken) != std::string::npos);
  CHECK(r.error().message.find("invalid JSON") != std::string::npos);
  CHECK(r.error().message.find('\n') == std::string::npos);

  std::string empty = (dir.path / "empty.json").string();
  write_all(empty, "");
  r = load_profile(empty);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(empty) != std::string::npos);

  std::string other = (dir.path / "other.json").string();
  write_all(other, R"({"schema": "something/else", "checks": []})");
  r = load_profile(other);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(other) != std::string::npos);
  CHECK(r.error().message.find("something/else") != std::string::npos);
}

TEST_CASE("a saved profile loads back", "[profile][load]") {
  TempDir dir;
  Profile p = full_profile();
  std::string path = (dir.path / "web.json").string();
  REQUIRE(save_text_atomic(path, to_json(p).dump(2)).ok());
  auto r = load_profile(path);
  REQUIRE(r.ok());
  check_same(p, r.value());
}

TEST_CASE("an atomic write replaces the file and leaves no temp file",
          "[profile][save]") {
  TempDir dir;
  fs::path path = dir.path / "profile.json";
  REQUIRE(save_text_atomic(path.string(), "first\n").ok());
  CHECK(read_all(path) == "first\n");
  REQUIRE(save_text_atomic(path.string(), "second, longer text\n").ok());
  CHECK(read_all(path) == "second, longer text\n");
  REQUIRE(save_text_atomic(path.string(), "").ok());
  CHECK(read_all(path) == "");
  CHECK(dir.files() == std::vector<std::string>{"profile.json"});

  std::string bad = (dir.path / "no" / "such" / "dir.json").string();
  auto r = save_text_atomic(bad, "x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(bad) != std::string::npos);
  CHECK(r.error().err == ENOENT);
  CHECK(dir.files() == std::vector<std::string>{"profile.json"});
}

TEST_CASE("merging profiles sums counts, joins sets and widens the window",
          "[profile][merge]") {
  Profile a;
  a.start_ns = 2000;
  a.end_ns = 5000;
  a.lost_events = 1;
  CheckStats &ac = add_check(a, kChown, CheckClass::Needed, 2, 1, {"fchownat"},
                             {"setattr_prepare"}, {"/bin/chown"});
  ac.first_ns = 2100;
  ac.last_ns = 2900;
  add_check(a, kSysAdmin, CheckClass::Overcommit, 100, 0, {"mmap"});

  Profile b;
  b.start_ns = 1000;
  b.end_ns = 4000;
  b.lost_events = 2;
  b.tasks_overflow = 1;
  b.counts_overflow = 4;
  b.runs = 2;
  b.held = cap_bit(kKill);
  b.held_known = true;
  CheckStats &bc = add_check(b, kChown, CheckClass::Needed, 3, 0, {"lchown"},
                             {"setattr_prepare"}, {"/usr/bin/chown"});
  bc.first_ns = 1500;
  bc.last_ns = 3500;
  bc.other_userns = true;
  add_check(b, kNetBindService, CheckClass::Needed, 1, 0, {"bind"});

  merge_into(a, b);
  CHECK(a.start_ns == 1000);
  CHECK(a.end_ns == 5000);
  CHECK(a.runs == 3);
  CHECK(a.lost_events == 3);
  CHECK(a.tasks_overflow == 1);
  CHECK(a.counts_overflow == 4);
  CHECK(a.held_known);
  CHECK(a.held == cap_bit(kKill));
  REQUIRE(a.checks.size() == 3);
  const CheckStats *c = a.find(kChown, CheckClass::Needed);
  REQUIRE(c);
  CHECK(c->granted == 5);
  CHECK(c->denied == 1);
  CHECK(c->syscalls == std::set<std::string>{"fchownat", "lchown"});
  CHECK(c->call_sites == std::set<std::string>{"setattr_prepare"});
  CHECK(c->executables ==
        std::set<std::string>{"/bin/chown", "/usr/bin/chown"});
  CHECK(c->first_ns == 1500);
  CHECK(c->last_ns == 3500);
  CHECK(c->other_userns);
  CHECK(a.find(kSysAdmin, CheckClass::Overcommit)->granted == 100);
  CHECK(a.find(kNetBindService, CheckClass::Needed)->granted == 1);
  CHECK(advise(a).add == (cap_bit(kChown) | cap_bit(kNetBindService)));
  CHECK(advise(a).denied == cap_bit(kChown));

  // A profile without a start time does not pull the window to zero.
  Profile c2;
  c2.end_ns = 100;
  merge_into(a, c2);
  CHECK(a.start_ns == 1000);
  CHECK(a.end_ns == 5000);
  CHECK(a.runs == 4);

  // Held sets are unioned once both are known.
  Profile d;
  d.held = cap_bit(kChown);
  d.held_known = true;
  merge_into(a, d);
  CHECK(a.held == (cap_bit(kKill) | cap_bit(kChown)));
}

TEST_CASE("merging into an empty profile copies the other",
          "[profile][merge]") {
  Profile into;
  into.runs = 0; // nothing merged yet
  Profile from = full_profile();
  merge_into(into, from);
  CHECK(into.runs == 3);
  CHECK(into.start_ns == from.start_ns);
  CHECK(into.end_ns == from.end_ns);
  CHECK(into.held == from.held);
  REQUIRE(into.checks.size() == from.checks.size());
  for (std::size_t i = 0; i < from.checks.size(); ++i) {
    CHECK(into.checks[i].granted == from.checks[i].granted);
    CHECK(into.checks[i].first_ns == from.checks[i].first_ns);
    CHECK(into.checks[i].syscalls == from.checks[i].syscalls);
  }
}

namespace {
// Representative profiles for the schema check (ctest profile_schema_samples).
std::vector<std::pair<std::string, Profile>> sample_profiles() {
  std::vector<std::pair<std::string, Profile>> out;

  Profile empty;
  empty.workload.command = {"/usr/bin/mem_churn"};
  empty.start_ns = 1700000000000000000;
  empty.end_ns = 1700000000250000000;
  empty.kernel = "6.18.0";
  empty.arch = "x86_64";
  empty.attach_mode = "tracepoint";
  empty.exit_status = 0;
  add_check(empty, kSysAdmin, CheckClass::Setup, 4, 0, {"execve"},
            {"security_vm_enough_memory_mm"}, {"/usr/bin/mem_churn"});
  add_check(empty, kSysAdmin, CheckClass::Overcommit, 247, 0,
            {"mmap", "brk", "clone"}, {"security_vm_enough_memory_mm"},
            {"/usr/bin/mem_churn"});
  out.emplace_back("empty_advice", empty);

  Profile web = full_profile();
  web.held_known = false;
  add_check(web, kSysAdmin, CheckClass::Advisory, 3, 1, {"mount", "none"},
            {"mnt_may_suid"});
  add_check(web, kSysAdmin, CheckClass::Exec, 1, 0, {"execve"},
            {"cap_bprm_creds_from_file"});
  add_check(web, kDacOverride, CheckClass::Borrowed, 2, 0, {"openat"},
            {"generic_permission"});
  out.emplace_back("chown_net_bind_with_noise", web);

  Profile denied;
  denied.workload.command = {"/usr/bin/bind_port", "80"};
  denied.workload.user = "nobody";
  denied.kernel = "6.18.0";
  denied.arch = "x86_64";
  denied.attach_mode = "fexit";
  denied.exit_status = 1;
  add_check(denied, kNetBindService, CheckClass::Needed, 0, 1, {"bind"},
            {"inet_bind_sk"}, {"/usr/bin/bind_port"});
  out.emplace_back("denied_check", denied);

  Profile held;
  held.workload.kind = "container";
  held.workload.id = "0123456789ab";
  held.workload.runtime = "podman";
  held.attach_mode = "replay";
  held.held = cap_bit(kChown) | cap_bit(kNetBindService) | cap_bit(kKill) |
              cap_bit(kNetRaw);
  held.held_known = true;
  held.runs = 2;
  add_check(held, kChown, CheckClass::Needed, 2, 0, {"fchownat"},
            {"setattr_prepare"}, {"/bin/chown"});
  out.emplace_back("held_known", held);

  // A profile built the way `record` builds one, from a recorded stream.
  Aggregator agg = replay_data("clone_newuts.jsonl", 1700000000000000000);
  Profile replayed;
  replayed.workload.command = {"clone_newuts"};
  replayed.attach_mode = "replay";
  replayed.arch = "x86_64";
  agg.fill(replayed, 1);
  out.emplace_back("replayed_clone_newuts", replayed);
  return out;
}
} // namespace

TEST_CASE("sample profiles are written for schema validation", "[samples]") {
  const char *dir = std::getenv("CAPSCOPE_SAMPLE_DIR");
  auto samples = sample_profiles();
  REQUIRE(samples.size() == 5);
  for (const auto &[name, p] : samples) {
    INFO(name);
    nlohmann::json j = to_json(p);
    CHECK(j["schema"] == "capscope.profile/v1");
    auto back = profile_from_json(j);
    REQUIRE(back.ok());
    CHECK(without_duration(to_json(back.value())) == without_duration(j));
    if (dir && *dir) {
      std::string path = std::string(dir) + "/" + name + ".json";
      auto w = save_text_atomic(path, j.dump(2) + "\n");
      INFO((w ? "" : w.error().message));
      REQUIRE(w.ok());
    }
  }
  CHECK(advise(samples[0].second).add == 0);
  CHECK(advise(samples[1].second).add ==
        (cap_bit(kChown) | cap_bit(kNetBindService)));
  CHECK(advise(samples[2].second).denied == cap_bit(kNetBindService));
  CHECK(held_unused(samples[3].second) ==
        (cap_bit(kNetBindService) | cap_bit(kKill) | cap_bit(kNetRaw)));
  CHECK(advise(samples[4].second).add == cap_bit(kSysAdmin));
}

TEST_CASE("names that are not UTF-8 are written, replaced, in every JSON "
          "output",
          "[profile][json]") {
  // An executable's path and a command line are any bytes; a container
  // running "/tmp/ch\xffown" must not stop the daemon's save or a
  // --format json report.
  Profile p;
  p.workload.command = {"/tmp/ch\xffown", "1000"};
  add_check(p, kChown, CheckClass::Needed, 1, 0, {"fchownat"},
            {"setattr_prepare"}, {"/tmp/ch\xffown"});
  for (Format f : {Format::Json, Format::Oci}) {
    std::string text;
    REQUIRE_NOTHROW(text = render(p, f));
    CHECK(nlohmann::json::accept(text));
  }
  std::string text = render(p, Format::Json);
  CHECK(text.find("/tmp/ch\xef\xbf\xbdown") != std::string::npos);

  std::string dir = fs::temp_directory_path() / "capscope-utf8-XXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  ProfileStore store(dir);
  REQUIRE(store.open().ok());
  CHECK(store.save("k", p).ok());
  std::map<std::string, Profile> loaded;
  CHECK(store.load(&loaded).empty());
  CHECK(loaded.size() == 1);
  fs::remove_all(dir);
}

TEST_CASE("an executable's path is read from /proc once per file",
          "[aggregate]") {
  Aggregator agg;
  int lookups = 0, learned = 0;
  bool same_file = true;
  agg.set_exe_lookup([&](std::uint32_t pid) {
    ++lookups;
    return pid == 0 ? std::string() : "/usr/bin/true";
  });
  agg.set_exe_is_file(
      [&](std::uint32_t, const cs_exe_id &) { return same_file; });
  agg.set_exe_learned([&](const cs_exe_id &) { ++learned; });
  Kallsyms k = Kallsyms::parse("");
  auto exec = [&](std::uint32_t pid, std::uint64_t ino) {
    cs_event e{};
    e.type = CS_EV_EXEC;
    e.pid = e.tid = pid;
    e.exe.ino = ino;
    e.exe.dev = 42;
    std::strcpy(e.filename, "/bin/true");
    agg.on_event(e, k);
  };
  exec(100, 7);
  exec(101, 7);
  CHECK(lookups == 1);
  CHECK(learned == 1);
  CHECK(agg.exe_of(101) == "/usr/bin/true");
  // Another file, and an event without a file: each read from /proc.
  exec(102, 8);
  exec(103, 0);
  CHECK(lookups == 3);
  CHECK(learned == 2);
  // A process that exec'd again before it was read is not cached.
  same_file = false;
  exec(104, 9);
  exec(105, 9);
  CHECK(lookups == 5);
  CHECK(learned == 2);
  // Gone before it was read: the path as exec'd, not cached.
  exec(0, 10);
  CHECK(agg.exe_of(0) == "/bin/true");
}
