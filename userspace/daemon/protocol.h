// protocol.h - all the CLI may know of the daemon: how to start one
// (DaemonConfig, run_daemon), where it lives by default, and its
// Unix-socket protocol with the client side of it.
// One JSON request line per connection, one JSON response, then close:
//   {"op":"list"}                 -> {"ok":true,"profiles":[summary...],
//                                     "sampled_mono_ns":N}
//     N: CLOCK_MONOTONIC at the flush the answer is from. Each summary
//     carries "checks" (all classes) and "denied" (Needed class) totals;
//     older daemons lack these three fields, so clients treat them as
//     optional (`capscope top` then shows "?" for the rates).
//   {"op":"get","id":"ID|NAME"}   ->
//   {"ok":true,"profile":{capscope.profile/v1}} any failure ->
//   {"ok":false,"error":"one line"}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/profile.h"
#include "core/result.h"
#include "loader/tracer.h"

namespace capscope {

inline constexpr const char *kDefaultSocket = "/run/capscope.sock";
inline constexpr const char *kDefaultStateDir = "/var/lib/capscope";

struct DaemonConfig {
  std::string state_dir = kDefaultStateDir;
  std::string socket = kDefaultSocket;
  std::string metrics; // "HOST:PORT" or "" for none
  std::int64_t flush_ms = 5000;
  AttachMode attach = AttachMode::Auto;
  bool verbose = false;
  // Only containers whose cgroup is under this one ("" = every container):
  // podman's --cgroup-parent, ctr's --cgroup, a kubelet's slice.
  std::string cgroup_parent;
};

// `capscope daemon`: traces every container on the host, keeps a profile
// per container on disk, serves the CLI on a Unix socket and Prometheus on
// HTTP. Runs until SIGTERM/SIGINT; returns the exit status.
int run_daemon(const DaemonConfig &cfg);

// Client side: one request, one response. Errors are one line and say how
// to start the daemon when none is listening.
Result<nlohmann::json> daemon_request(const std::string &socket,
                                      const nlohmann::json &request);
Result<Profile> daemon_get_profile(const std::string &socket,
                                   const std::string &id_or_name);
Result<nlohmann::json> daemon_list(const std::string &socket);
// For `advise ID|NAME` when the argument is no profile file: the daemon's
// profile, or an error that also says no such file exists. One line, fit
// to print after "capscope: advise: ".
Result<Profile> fetch_daemon_profile(const std::string &id_or_name,
                                     const std::string &socket);

} // namespace capscope
