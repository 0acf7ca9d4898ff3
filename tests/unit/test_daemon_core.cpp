// test_daemon_core.cpp - the daemon's bookkeeping (flush, eviction,
// restart merge, naming, requests and metrics) driven by replayed streams
// through a ReplaySource, without root or a kernel.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "core/caps.h"
#include "core/store.h"
#include "daemon/daemon_core.h"
#include "session/container_info.h"
#include "session/event_source.h"
#include "session/trace_session.h"

using namespace capscope;

namespace {

// No such pid can exist (pid_max is at most 2^22): nothing is read from a
// real process.
constexpr std::uint32_t kPid = 90000001;
constexpr std::uint64_t kScope = 4026532001ULL;
const std::string kCid =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string bind_line(std::uint64_t count) {
  return R"({"cap":"NET_BIND_SERVICE","denied":false,"syscall":"bind",)"
         R"("phase":"active","frames":["bpf_trace_run5","cap_capable",)"
         R"("inet_bind_sk","__sys_bind"],"exe":"/usr/sbin/nginx",)"
         R"("comm":"nginx","pid":90000001,"count":)" +
         std::to_string(count) + "}\n";
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/capscope-daemon-core-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// A replayed session with a fake runtime lookup (names every container
// "web", image "nginx:1"), a store in dir and a DaemonCore over both.
struct Rig {
  ReplaySource *src;
  std::unique_ptr<TraceSession> session;
  ProfileStore store;
  std::unique_ptr<DaemonCore> core;

  explicit Rig(const std::string &dir) : store(dir) {
    auto s = std::make_unique<ReplaySource>();
    src = s.get();
    session = std::make_unique<TraceSession>(std::move(s));
    session->resolver().set_lookup(
        std::make_shared<IdentityLookup>([](ContainerIdentity &ci) {
          ci.name = "web";
          ci.image = "nginx:1";
        }));
    REQUIRE(store.open().ok());
    std::map<std::string, Profile> base;
    REQUIRE(store.load(&base).empty());
    core = std::make_unique<DaemonCore>(*session, store, std::move(base));
  }
  void checks(std::uint64_t n, std::uint64_t scope = kScope) {
    std::istringstream in(bind_line(n));
    REQUIRE(src->add_stream(in, scope).ok());
  }
  void container_starts(std::uint64_t scope = kScope) {
    src->add_scope_event(scope, kPid, "/usr/sbin/nginx", "machine.slice",
                         "libpod-" + kCid + ".scope");
    REQUIRE(src->track(kPid, scope, CS_PHASE_ACTIVE, CS_SCOPE_CONTAINER).ok());
  }
  // Flushes once the runtime lookups are done, so names are final.
  void flush() {
    session->poll(0);
    session->settle_identities(2000);
    core->flush(false);
  }
};

std::uint64_t bind_count(const Profile &p) {
  const CheckStats *s = p.find(kNetBindService, CheckClass::Needed);
  return s ? s->granted : 0;
}

} // namespace

TEST_CASE("daemon flush saves a profile per live container, named by the "
          "runtime",
          "[daemon]") {
  TempDir dir;
  Rig rig(dir.path);
  rig.container_starts();
  rig.checks(5);
  rig.flush();
  DaemonSnapshot snap = rig.core->snapshot();
  REQUIRE(snap.profiles.count(kCid) == 1);
  const Profile &p = snap.profiles.at(kCid);
  CHECK(p.workload.kind == "container");
  CHECK(p.workload.runtime == "podman");
  CHECK(p.workload.name == "web");
  CHECK(p.workload.image == "nginx:1");
  CHECK(p.attach_mode == "replay");
  CHECK(bind_count(p) == 5);
  CHECK(snap.running.count(kCid) == 1);
  CHECK(snap.scopes == 1);
  CHECK(snap.flushes == 1);
  CHECK(
      std::filesystem::exists(dir.path + "/" + ProfileStore::file_name(kCid)));

  // Counts are cumulative snapshots: a second flush does not add them
  // twice, new checks do add.
  rig.checks(2);
  rig.flush();
  CHECK(bind_count(*rig.core->profile(kCid)) == 7);
}

TEST_CASE("daemon evicts a scope whose tasks are gone, keeping its profile",
          "[daemon]") {
  TempDir dir;
  Rig rig(dir.path);
  rig.container_starts();
  rig.checks(3);
  rig.flush();
  rig.src->exit_scope(kScope);
  rig.flush();
  DaemonSnapshot snap = rig.core->snapshot();
  CHECK(snap.running.empty());
  CHECK(snap.scopes == 0);
  REQUIRE(rig.core->profile(kCid));
  CHECK(bind_count(*rig.core->profile(kCid)) == 3);
  // Gone from the source, the aggregator and the resolver.
  CHECK(rig.session->aggregator().scopes().empty());
  CHECK(rig.src->read_counts().empty());
  CHECK_FALSE(rig.session->resolver().known(kScope));
  // Later flushes keep it, counted once: out of play (its series gone
  // after the grace flushes and a scrape), from the store.
  for (int i = 0; i < 11; ++i)
    rig.flush();
  rig.core->metrics_text();
  rig.flush();
  CHECK(rig.core->snapshot().profiles.empty());
  CHECK(rig.core->snapshot().known == 1);
  CHECK(bind_count(*rig.core->profile(kCid)) == 3);

  // The same container in a new scope (a restart of it) adds to it.
  rig.container_starts(kScope + 1);
  rig.checks(4, kScope + 1);
  rig.flush();
  CHECK(bind_count(*rig.core->profile(kCid)) == 7);
}

TEST_CASE("daemon restart merges with the profiles on disk", "[daemon]") {
  TempDir dir;
  {
    Rig first(dir.path);
    first.container_starts();
    first.checks(3);
    first.flush();
  }
  ProfileStore store(dir.path);
  std::map<std::string, Profile> base;
  REQUIRE(store.load(&base).empty());
  REQUIRE(base.count(kCid) == 1);
  CHECK(bind_count(base.at(kCid)) == 3);

  Rig second(dir.path);
  // A Rig loads the store too: what the first run saved is published at
  // the first flush, before anything new is seen.
  second.flush();
  CHECK(bind_count(*second.core->profile(kCid)) == 3);
  second.container_starts();
  second.checks(4);
  second.flush();
  CHECK(bind_count(*second.core->profile(kCid)) == 7);
  // And what is on disk now is the merged profile.
  std::map<std::string, Profile> after;
  REQUIRE(store.load(&after).empty());
  CHECK(bind_count(after.at(kCid)) == 7);
}

TEST_CASE("daemon keeps a workload's counts exact while its scopes come "
          "and go, and after it leaves memory",
          "[daemon]") {
  TempDir dir;
  Rig rig(dir.path);
  // Two private mount namespaces running the same program share a key.
  auto start = [&](std::uint64_t scope, std::uint32_t pid) {
    rig.src->add_scope_event(scope, pid, "/usr/bin/worker", "system.slice",
                             "worker.service");
    REQUIRE(
        rig.src->track(pid, scope, CS_PHASE_ACTIVE, CS_SCOPE_CONTAINER).ok());
  };
  const std::string key = "ns-worker";
  auto count = [&] {
    auto p = rig.core->profile(key);
    return p ? bind_count(*p) : 0;
  };
  start(kScope, kPid);
  start(kScope + 1, kPid + 1);
  rig.checks(2, kScope);
  rig.checks(3, kScope + 1);
  rig.flush();
  CHECK(count() == 5);
  rig.src->exit_scope(kScope);
  rig.flush();
  CHECK(count() == 5);
  rig.checks(1, kScope + 1);
  rig.flush();
  rig.flush();
  CHECK(count() == 6);
  rig.src->exit_scope(kScope + 1);
  for (int i = 0; i < 12; ++i)
    rig.flush();
  rig.core->metrics_text();
  rig.flush();
  CHECK(rig.core->snapshot().profiles.empty()); // out of play
  CHECK(count() == 6);                          // from the store
  start(kScope + 2, kPid + 2);
  rig.checks(1, kScope + 2);
  rig.flush();
  rig.flush();
  CHECK(count() == 7);
}

TEST_CASE("daemon restart resaves a profile found under another file name",
          "[daemon]") {
  TempDir dir;
  {
    Rig first(dir.path);
    first.container_starts();
    first.checks(3);
    first.flush();
  }
  std::filesystem::rename(dir.path + "/" + ProfileStore::file_name(kCid),
                          dir.path + "/renamed-by-hand.json");
  ProfileStore store(dir.path);
  std::map<std::string, Profile> stored;
  std::map<std::string, std::vector<std::string>> noncanonical;
  REQUIRE(store.load(&stored, &noncanonical).empty());
  REQUIRE(noncanonical.count(kCid) == 1);
  CHECK(noncanonical.size() == 1);
  {
    TraceSession session{std::make_unique<ReplaySource>()};
    DaemonCore core(session, store, std::move(stored), 0, false, noncanonical);
    CHECK(std::filesystem::exists(dir.path + "/" +
                                  ProfileStore::file_name(kCid)));
    REQUIRE(core.profile(kCid));
    CHECK(bind_count(*core.profile(kCid)) == 3);
    CHECK(core.answer({{"op", "get"}, {"id", "web"}})["ok"] == true);
  }
  // The hand-named file is set aside: a second restart counts it once.
  CHECK(std::filesystem::exists(dir.path + "/renamed-by-hand.json.merged"));
  std::map<std::string, Profile> again;
  std::map<std::string, std::vector<std::string>> none;
  REQUIRE(store.load(&again, &none).empty());
  CHECK(none.empty());
  CHECK(bind_count(again.at(kCid)) == 3);
}

TEST_CASE("daemon names scopes that are no container by what they ran",
          "[daemon]") {
  TempDir dir;
  Rig rig(dir.path);
  // A private mount namespace outside any container cgroup.
  rig.src->add_scope_event(kScope, kPid, "/usr/lib/systemd/systemd-resolved",
                           "system.slice", "systemd-resolved.service");
  REQUIRE(
      rig.src->track(kPid, kScope, CS_PHASE_ACTIVE, CS_SCOPE_CONTAINER).ok());
  rig.checks(1);
  // A scope seen only in counts, gone before it could be named.
  rig.checks(2, kScope + 7);
  rig.flush();
  DaemonSnapshot snap = rig.core->snapshot();
  REQUIRE(snap.profiles.count("ns-systemd-resolved") == 1);
  const Profile &p = snap.profiles.at("ns-systemd-resolved");
  CHECK(p.workload.kind == "namespace");
  CHECK(p.workload.name == "systemd-resolved");
  CHECK(p.workload.key == "exe:/usr/lib/systemd/systemd-resolved");
  std::string unnamed = "ns-" + std::to_string(kScope + 7);
  REQUIRE(snap.profiles.count(unnamed) == 1);
  CHECK(bind_count(snap.profiles.at(unnamed)) == 2);
  CHECK(snap.running == std::set<std::string>{"ns-systemd-resolved"});
}

TEST_CASE("daemon answers list and get from the published profiles",
          "[daemon]") {
  TempDir dir;
  Rig rig(dir.path);
  rig.container_starts();
  rig.checks(1);
  rig.flush();
  auto list = rig.core->answer({{"op", "list"}});
  REQUIRE(list["ok"] == true);
  REQUIRE(list["profiles"].size() == 1);
  CHECK(list["profiles"][0]["name"] == "web");
  CHECK(list["profiles"][0]["running"] == true);
  CHECK(list["profiles"][0]["caps_used"] ==
        nlohmann::json::array({"NET_BIND_SERVICE"}));
  CHECK(rig.core->answer({{"op", "get"}, {"id", "web"}})["ok"] == true);
  CHECK(rig.core->answer({{"op", "get"}, {"id", kCid.substr(0, 6)}})["ok"] ==
        true);
  auto miss = rig.core->answer({{"op", "get"}, {"id", "nope"}});
  CHECK(miss["ok"] == false);
  CHECK(rig.core->answer({{"op", "bogus"}})["error"] ==
        "unknown request 'bogus'");
}

TEST_CASE("daemon list answers carry check and denial totals and the flush "
          "time, for top's rates",
          "[daemon][top]") {
  TempDir dir;
  Rig rig(dir.path);
  rig.container_starts();
  rig.checks(4);
  std::istringstream denied(
      R"({"cap":"CHOWN","denied":true,"syscall":"fchownat","phase":"active",)"
      R"("frames":["bpf_trace_run5","cap_capable","setattr_prepare"],)"
      R"("exe":"/bin/chown","comm":"chown","pid":90000001,"count":3})"
      "\n");
  REQUIRE(rig.src->add_stream(denied, kScope).ok());
  rig.flush();
  auto first = rig.core->answer({{"op", "list"}});
  REQUIRE(first["profiles"].size() == 1);
  CHECK(first["profiles"][0]["checks"] == 7);
  CHECK(first["profiles"][0]["denied"] == 3);
  std::int64_t t1 = first["sampled_mono_ns"].get<std::int64_t>();
  CHECK(t1 > 0);
  rig.checks(2); // two more bind checks
  rig.flush();
  auto second = rig.core->answer({{"op", "list"}});
  CHECK(second["profiles"][0]["checks"] == 9);
  CHECK(second["sampled_mono_ns"].get<std::int64_t>() >= t1);
}

TEST_CASE("daemon metrics text counts checks per container", "[daemon]") {
  TempDir dir;
  Rig rig(dir.path);
  rig.container_starts();
  rig.checks(6);
  TracerStats st;
  st.lost_events = 2;
  st.counts_full = 1;
  rig.src->set_stats(st);
  rig.flush();
  std::string m = rig.core->metrics_text();
  CHECK_THAT(m,
             Catch::Contains(
                 "capscope_checks_total{container=\"web\",id=\"" + kCid +
                 "\",kind=\"container\",pod=\"\",namespace=\"\",cap=\"NET_"
                 "BIND_SERVICE\",verdict=\"granted\",class=\"needed\"} 6\n"));
  CHECK_THAT(m, Catch::Contains("capscope_lost_events_total 2\n"));
  CHECK_THAT(
      m, Catch::Contains("capscope_map_overflows_total{map=\"counts\"} 1\n"));
  CHECK_THAT(m, Catch::Contains("capscope_scopes_tracked 1\n"));
  CHECK_THAT(m, Catch::Contains("capscope_profiles 1\n"));
  CHECK_THAT(m, Catch::Contains("capscope_profile_flushes_total 1\n"));
  CHECK_THAT(m, Catch::Contains("capscope_identity_lookups_queued 0\n"));
}

namespace {
// The id of the i-th container of a churn: 64 hex digits.
std::string churn_cid(int i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", i + 1);
  return buf;
}
std::size_t series_lines(const std::string &metrics) {
  std::size_t n = 0;
  for (std::size_t at = 0;
       (at = metrics.find("\ncapscope_checks_total{", at)) != std::string::npos;
       ++at)
    ++n;
  return n;
}
} // namespace

TEST_CASE("daemon metrics drop the series of evicted containers once saved "
          "and scraped",
          "[daemon]") {
  TempDir dir;
  Rig rig(dir.path);
  const int kContainers = 40;
  auto start = [&](int i, std::uint64_t scope) {
    rig.src->add_scope_event(scope, kPid + i, "/usr/sbin/nginx",
                             "machine.slice",
                             "libpod-" + churn_cid(i) + ".scope");
    REQUIRE(rig.src->track(kPid + i, scope, CS_PHASE_ACTIVE, CS_SCOPE_CONTAINER)
                .ok());
    rig.checks(1, scope);
  };
  // A churn, replayed: containers come and go in waves of ten; the series
  // follow the live ones, never every container ever seen.
  for (int wave = 0; wave < kContainers / 10; ++wave) {
    for (int i = wave * 10; i < wave * 10 + 10; ++i)
      start(i, kScope + i);
    rig.flush();
    CHECK(series_lines(rig.core->metrics_text()) == 10);
    for (int i = wave * 10; i < wave * 10 + 10; ++i)
      rig.src->exit_scope(kScope + i);
    // Evicted and saved: their final values stay exported for ten
    // flushes and until a scrape has taken them, then they are dropped.
    rig.flush();
    for (int f = 0; f < 10; ++f)
      rig.flush();
    CHECK(series_lines(rig.core->metrics_text()) == 10);
    rig.flush();
    std::string m = rig.core->metrics_text();
    CHECK(series_lines(m) == 0);
    CHECK_THAT(m, Catch::Contains("capscope_workload_series 0\n"));
  }
  // Every profile was saved before its series went, and is still served.
  DaemonSnapshot snap = rig.core->snapshot();
  CHECK(snap.known == kContainers);
  // Out of play, they left memory: only summaries stay.
  CHECK(snap.profiles.empty());
  CHECK(rig.core->answer({{"op", "list"}})["profiles"].size() == kContainers);
  for (int i = 0; i < kContainers; ++i)
    CHECK(std::filesystem::exists(dir.path + "/" +
                                  ProfileStore::file_name(churn_cid(i))));
  CHECK(rig.core->answer({{"op", "get"}, {"id", churn_cid(3)}})["ok"] == true);
  // A container that comes back (a restart) has its series again, with
  // every check it made across both runs.
  start(3, kScope + 1000);
  rig.checks(4, kScope + 1000);
  rig.flush();
  std::string m = rig.core->metrics_text();
  CHECK(series_lines(m) == 1);
  CHECK_THAT(m, Catch::Contains("id=\"" + churn_cid(3) + "\""));
  CHECK_THAT(m, Catch::Contains("class=\"needed\"} 6\n"));
}

TEST_CASE("daemon metrics report each kernel map's failed insertions and "
          "the checks counted",
          "[daemon]") {
  TempDir dir;
  Rig rig(dir.path);
  rig.container_starts();
  rig.checks(1);
  TracerStats st;
  st.checks = 123;
  st.lost_events = 1;
  st.tasks_full = 2;
  st.counts_full = 3;
  st.seen_full = 4;
  st.kprobe_full = 5;
  st.inflight_full = 6;
  st.dead_scopes_full = 7;
  st.task_slots_busy = 8;
  st.count_slots_busy = 9;
  rig.src->set_stats(st);
  rig.flush();
  std::string m = rig.core->metrics_text();
  CHECK_THAT(m, Catch::Contains("capscope_kernel_checks_total 123\n"));
  const std::pair<const char *, int> want[] = {
      {"events", 1},      {"tasks", 2},          {"counts", 3},
      {"seen", 4},        {"kprobe_pending", 5}, {"inflight", 6},
      {"dead_scopes", 7}, {"task_slots", 8},     {"count_slots", 9}};
  for (const auto &[map, n] : want)
    CHECK_THAT(m, Catch::Contains(
                      std::string("capscope_map_insert_failures_total{map=\"") +
                      map + "\"} " + std::to_string(n) + "\n"));
}

TEST_CASE("daemon --cgroup-parent keeps only the containers under it",
          "[daemon]") {
  // The process is gone before /proc is read: the cgroup names captured
  // at exec (machine.slice/libpod-ID.scope) decide.
  for (const char *parent : {"/machine.slice", "/deep/machine.slice"}) {
    TempDir dir;
    Rig rig(dir.path);
    rig.core->set_cgroup_parent(parent);
    rig.container_starts();
    rig.checks(2);
    rig.flush();
    INFO(parent);
    CHECK(rig.core->profile(kCid));
  }
  TempDir dir;
  Rig rig(dir.path);
  rig.core->set_cgroup_parent("/team-b");
  rig.container_starts();
  rig.checks(2);
  rig.flush();
  CHECK(rig.core->snapshot().known == 0);
  CHECK_FALSE(rig.core->profile(kCid));
  CHECK(rig.core->metrics_text().find("NET_BIND_SERVICE") == std::string::npos);
  CHECK_FALSE(
      std::filesystem::exists(dir.path + "/" + ProfileStore::file_name(kCid)));
}
