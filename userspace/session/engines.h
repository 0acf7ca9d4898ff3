// engines.h - container engines as seen from a recorded command: which
// engine client the command ran (docker, podman, nerdctl, ctr, crictl,
// compose), and, for engines whose containers are created outside the
// client's process tree (dockerd -> containerd -> shim -> runc), which of
// the containers started on the host during the recording are this
// command's. docker clients reach dockerd through a pass-through socket
// capscope puts in DOCKER_HOST, which notes the containers they start;
// ctr clients name their container ids on their command line.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "capscope.h"
#include "loader/tracer.h"
#include "session/event_source.h"

namespace capscope {

// "docker", "podman", "nerdctl", "ctr", "crictl", "compose" for an engine
// client's executable (a path or a name), else "".
std::string engine_client_name(std::string_view exe);

// Whether a command line names a client whose containers are created
// outside its process tree: argv[0] or any word of an argument
// (`sh -c 'docker run ...'`) is docker, docker-compose, ctr or nerdctl.
bool command_uses_host_engine(const std::vector<std::string> &command);

// `docker run`'s and compose's requests as they pass through: the ids (or
// names) of the containers started through this socket.
std::vector<std::string> started_containers_in(std::string_view http_request);

class DockerRelay; // engines.cpp

class EngineSession {
public:
  explicit EngineSession(const std::vector<std::string> &command);
  ~EngineSession();
  EngineSession(const EngineSession &) = delete;
  EngineSession &operator=(const EngineSession &) = delete;

  // True: containers are looked for host-wide (CS_MODE_DAEMON) and kept
  // only when owns() says they are this command's.
  bool host_wide() const { return host_wide_; }
  // Before the command starts: the relay socket and DOCKER_HOST (when a
  // docker daemon is reachable). Errors are printed in verbose mode only.
  void before_spawn(bool verbose);
  // Follow the engine's own processes (dockerd, containerd, shims) under
  // `scope`, so their checks show in the runtime section.
  void track_engine(EventSource &t, std::uint64_t scope, bool verbose);
  // Every event of the recording; command_scope is the command's scope.
  void on_event(const cs_event &e, std::uint64_t command_scope);
  // Whether a container scope is the command's: opened by a process of the
  // command's tree (podman, runc), started through the relay (docker,
  // compose), or named by a ctr client of the command.
  bool owns(std::uint64_t scope, const std::string &container_id,
            const std::string &container_name) const;
  // The engine client the command ran ("" when none): record refuses to
  // advise from an empty scope when this is set.
  const std::string &engine() const { return engine_; }
  // The processes to signal to stop the workload (never the engine's).
  std::vector<unsigned> stop_targets(std::vector<unsigned> tracked,
                                     unsigned command_pid) const;

private:
  bool host_wide_ = false;
  std::string engine_;
  std::set<std::uint32_t> tree_pids_;
  std::set<std::uint64_t> tree_scopes_;
  std::set<std::string> client_words_; // ctr/nerdctl arguments
  std::unique_ptr<DockerRelay> relay_;
  std::string saved_docker_host_; // DOCKER_HOST before the relay's
  bool had_docker_host_ = false;
};

// `docker run` of IMAGE CMD with exactly `caps` (verify --runtime docker):
// --cap-drop=ALL and one sorted --cap-add per name, a private /tmp.
std::vector<std::string> docker_run_command(
    std::vector<std::string> caps, bool no_new_privs, const std::string &user,
    const std::vector<std::string> &runtime_opts, const std::string &image,
    const std::vector<std::string> &command);

// The message for a command that ran an engine client but in which no
// container of its own was seen (exit 125).
std::string empty_engine_scope_message(const std::string &engine);

} // namespace capscope
