// container_info.h - the runtime layer: which container (runtime, id,
// name, image, pod) a mount-namespace scope is. The id comes at once from
// /proc/PID/cgroup (or the cgroup names the BPF side captured at exec),
// because short-lived processes are gone before their events are read;
// names and images come from the runtime (its storage or CLI) on a worker
// thread, cached per container, so event handling never waits for them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "capscope.h"
#include "core/container.h"
#include "core/profile.h"
#include "core/result.h"

#include <vector>

namespace capscope {

struct ContainerIdentity {
  ContainerRef ref;
  std::string name;
  std::string image;
  std::string pod;        // pod name
  std::string namespace_; // Kubernetes namespace
  std::string service;    // compose service
  std::string key;        // stable workload key
  bool pending = false;   // the runtime lookup has not answered yet
  // The container's cgroup paths (unified and v1 hierarchies,
  // cgroup_paths), for `daemon --cgroup-parent`; only the last two
  // components ("/parent/leaf", cgroup_partial) when the process was gone
  // before /proc was read.
  std::vector<std::string> cgroups;
  bool cgroup_partial = false;
};

// Fills name, image, pod and namespace of ci (its ref already set) from
// the runtime: podman's storage file, else `podman|docker inspect`. Can
// take seconds: never call it where events are handled.
void identity_from_runtime(ContainerIdentity &ci);

// Runtime lookups on a worker thread, so the thread that handles events
// never waits for a runtime CLI. The queue is bounded: a lookup that does
// not fit is dropped (and counted), its container keeps its id as name.
class IdentityLookup {
public:
  using Fn = std::function<void(ContainerIdentity &)>;
  static constexpr std::size_t kMaxQueue = 64;
  explicit IdentityLookup(Fn fn = identity_from_runtime,
                          std::size_t max_queue = kMaxQueue);
  ~IdentityLookup();
  IdentityLookup(const IdentityLookup &) = delete;
  IdentityLookup &operator=(const IdentityLookup &) = delete;

  // Queues a lookup of ci.ref; false when the queue is full (dropped).
  bool submit(const ContainerIdentity &ci);
  // Lookups finished since the last call.
  std::vector<ContainerIdentity> take_done();
  // Waits until nothing is queued or running; false on timeout.
  bool wait_idle(int timeout_ms);
  std::size_t queued() const; // waiting or running
  std::uint64_t dropped() const;

private:
  void work();
  Fn fn_;
  std::size_t max_;
  mutable std::mutex mu_;
  std::condition_variable wake_, idle_;
  std::deque<ContainerIdentity> queue_;
  std::vector<ContainerIdentity> done_;
  std::size_t running_ = 0;
  std::uint64_t dropped_ = 0;
  bool stop_ = false;
  std::thread worker_;
};

class ScopeResolver {
public:
  // Called for each CS_EV_SCOPE / CS_EV_EXEC event: resolves the scope the
  // first time it is seen. Returns the identity (nullopt: not a container).
  const ContainerIdentity *on_scope_event(const cs_event &e);
  // Resolution by a live pid, for scopes whose event was lost.
  const ContainerIdentity *resolve_pid(std::uint64_t scope, std::uint32_t pid);
  const ContainerIdentity *find(std::uint64_t scope) const;
  bool known(std::uint64_t scope) const { return cache_.count(scope) != 0; }
  void forget(std::uint64_t scope) { cache_.erase(scope); }
  // True while the scope's container waits for its runtime lookup.
  bool pending(std::uint64_t scope) const;

  // Runtime lookups go through `lookup` (a worker thread); without one
  // they run inline, where the caller waits.
  void set_lookup(std::shared_ptr<IdentityLookup> lookup) {
    lookup_ = std::move(lookup);
  }
  IdentityLookup *lookup() const { return lookup_.get(); }
  // Takes the lookups that finished into the cache; returns how many.
  std::size_t apply_lookups();

  // Fills a profile's workload fields from an identity.
  static void describe(Profile &p, const ContainerIdentity &id);

private:
  const ContainerIdentity *store(std::uint64_t scope,
                                 std::optional<ContainerRef> ref,
                                 std::uint32_t ppid,
                                 std::vector<std::string> cgroups = {},
                                 bool cgroup_partial = false);
  std::map<std::uint64_t, std::optional<ContainerIdentity>> cache_;
  std::map<std::string, ContainerIdentity> by_id_; // runtime lookups
  std::shared_ptr<IdentityLookup> lookup_;
};

} // namespace capscope

namespace capscope {

struct RunningContainer {
  std::string id;
  std::vector<int> pids; // processes in it now
};

// Finds a running container by id, id prefix (4+ characters) or name (via
// the runtime's CLI), and its processes, from /proc. Errors are one line.
Result<RunningContainer> find_running_container(const std::string &query);

} // namespace capscope
