// test_identity_lookup.cpp - container names come from the runtime on a
// worker thread: a scope whose lookup is pending still resolves (by id) at
// once, gets its name when the lookup answers, and a full queue drops
// lookups instead of blocking. The runtime is a fake function here.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "session/container_info.h"

using namespace capscope;

namespace {

// A fake runtime that answers only when told to.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int calls = 0;
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  IdentityLookup::Fn fn() {
    return [this](ContainerIdentity &ci) {
      std::unique_lock<std::mutex> lock(mu);
      ++calls;
      cv.wait(lock, [this] { return open; });
      ci.name = "name-" + ci.ref.id.substr(0, 4);
      ci.image = "img";
    };
  }
};

std::string cid(char c) { return std::string(64, c); }

// A scope event of a podman container whose process is already gone: the
// resolver names it from the cgroup captured at exec.
cs_event scope_event(std::uint64_t scope, const std::string &id) {
  cs_event e{};
  e.type = CS_EV_SCOPE;
  e.key.scope = scope;
  e.key.kind = CS_SCOPE_CONTAINER;
  e.pid = 90000001; // no such process
  std::string leaf = "libpod-" + id + ".scope";
  std::strcpy(e.cg_parent, "machine.slice");
  std::strncpy(e.cg_leaf, leaf.c_str(), sizeof e.cg_leaf - 1);
  return e;
}

} // namespace

TEST_CASE("a pending container lookup does not hold up resolution",
          "[identity]") {
  Gate gate;
  ScopeResolver r;
  auto lookup = std::make_shared<IdentityLookup>(gate.fn());
  r.set_lookup(lookup);
  auto t0 = std::chrono::steady_clock::now();
  const ContainerIdentity *id = r.on_scope_event(scope_event(7, cid('a')));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  REQUIRE(id != nullptr);
  CHECK(id->ref.id == cid('a'));
  CHECK(id->pending);
  CHECK(r.pending(7));
  CHECK(id->name.empty());
  CHECK(lookup->queued() == 1);
  // A second scope of the same container asks the runtime only once.
  r.on_scope_event(scope_event(8, cid('a')));
  gate.release();
  REQUIRE(lookup->wait_idle(2000));
  CHECK(r.apply_lookups() == 1);
  CHECK(gate.calls == 1);
  for (std::uint64_t scope : {7, 8}) {
    const ContainerIdentity *named = r.find(scope);
    REQUIRE(named != nullptr);
    CHECK_FALSE(named->pending);
    CHECK(named->name == "name-aaaa");
    CHECK(named->image == "img");
    CHECK_FALSE(named->key.empty());
  }
  CHECK(lookup->queued() == 0);
  CHECK(lookup->dropped() == 0);
}

TEST_CASE("a full lookup queue drops lookups and counts them", "[identity]") {
  Gate gate;
  ScopeResolver r;
  // One lookup running (blocked), one waiting: the third does not fit.
  auto lookup = std::make_shared<IdentityLookup>(gate.fn(), 1);
  r.set_lookup(lookup);
  r.on_scope_event(scope_event(1, cid('a')));
  for (int i = 0; i < 200 && lookup->queued() == 1 && gate.calls == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  r.on_scope_event(scope_event(2, cid('b')));
  const ContainerIdentity *dropped = r.on_scope_event(scope_event(3, cid('c')));
  REQUIRE(dropped != nullptr);
  CHECK_FALSE(dropped->pending); // never asked: keeps its id
  CHECK(lookup->dropped() == 1);
  CHECK(lookup->queued() == 2);
  gate.release();
  REQUIRE(lookup->wait_idle(2000));
  r.apply_lookups();
  CHECK(r.find(1)->name == "name-aaaa");
  CHECK(r.find(2)->name == "name-bbbb");
  CHECK(r.find(3)->name.empty());
  ContainerIdentity shown = *r.find(3);
  Profile p;
  ScopeResolver::describe(p, shown);
  CHECK(p.workload.name == cid('c').substr(0, 12));
}

TEST_CASE("without a lookup worker the runtime is asked inline", "[identity]") {
  ScopeResolver r;
  // Not a container: no runtime lookup at all.
  cs_event e = scope_event(5, cid('d'));
  std::strcpy(e.cg_parent, "system.slice");
  std::strcpy(e.cg_leaf, "cron.service");
  CHECK(r.on_scope_event(e) == nullptr);
  CHECK(r.known(5));
  CHECK_FALSE(r.pending(5));
}

TEST_CASE("replicas of one Deployment share a workload key: the pod owner",
          "[identity]") {
  ScopeResolver r;
  r.set_lookup(std::make_shared<IdentityLookup>([](ContainerIdentity &ci) {
    ci.name = "web";
    ci.namespace_ = "shop";
    ci.pod =
        ci.ref.id[0] == 'a' ? "web-7d4b9c8f6d-x2kqz" : "web-7d4b9c8f6d-b5rtz";
  }));
  r.on_scope_event(scope_event(1, cid('a')));
  r.on_scope_event(scope_event(2, cid('b')));
  REQUIRE(r.lookup()->wait_idle(2000));
  r.apply_lookups();
  CHECK(r.find(1)->key == "k8s:shop/web/web");
  CHECK(r.find(2)->key == "k8s:shop/web/web");
  // The cgroup names captured at exec, for daemon --cgroup-parent.
  REQUIRE(r.find(1)->cgroups.size() == 1);
  CHECK(r.find(1)->cgroups[0] ==
        "/machine.slice/libpod-" + cid('a') + ".scope");
  CHECK(r.find(1)->cgroup_partial);
}
