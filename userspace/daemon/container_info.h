// container_info.h - naming a scope: which container (runtime, id, name,
// image, pod) a mount-namespace scope is, resolved once per scope from
// /proc/PID/cgroup (or the cgroup names the BPF side captured at exec) and
// the runtime's own CLI, then cached, because short-lived processes are
// gone before their events are read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

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

  // Fills a profile's workload fields from an identity.
  static void describe(Profile &p, const ContainerIdentity &id);

private:
  const ContainerIdentity *store(std::uint64_t scope,
                                 std::optional<ContainerRef> ref,
                                 std::uint32_t ppid);
  std::map<std::uint64_t, std::optional<ContainerIdentity>> cache_;
  std::map<std::string, ContainerIdentity> by_id_; // runtime lookups
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
