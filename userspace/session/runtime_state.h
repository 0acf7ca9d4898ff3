// runtime_state.h - a container's identity read from its runtime's own
// state on disk, never from a CLI: docker's config.v2.json under dockerd's
// data root; for containerd and CRI-O, runc's state.json -> the OCI bundle
// -> config.json annotations (pod, namespace, container name). Cheap
// enough for the daemon's event path (a few small files, no processes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "core/oci_state.h"

namespace capscope {

// The identity of container `id` of `runtime` ("docker", "containerd",
// "cri-o", "runc"); nullopt when no state for it is found. `parent`: the
// container process's parent (its shim); a containerd shim's working
// directory is the bundle, reachable through /proc even when /run/containerd
// is closed to a process without DAC_READ_SEARCH (the daemon).
std::optional<OciIdentity>
identity_from_runtime_state(const std::string &runtime, const std::string &id,
                            std::uint32_t parent = 0);

// The container a containerd shim (`containerd-shim-runc-v2 -namespace NS
// -id ID ...`) runs, from its command line: {NS, ID}, or nullopt.
std::optional<std::pair<std::string, std::string>>
shim_container(std::uint32_t shim_pid);

// A container that runc runs for containerd (ctr, CRI) has runc state
// under /run/containerd/runc/<namespace>/<id>: true for such an id.
bool containerd_runc_state_exists(const std::string &id);

} // namespace capscope
