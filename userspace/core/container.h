// container.h - which container a process belongs to, from its cgroup path
// (/proc/PID/cgroup), for docker, containerd/CRI, cri-o, podman/libpod,
// plain runc, LXC, systemd-nspawn and Kubernetes pods; cgroup v1, v2 and
// hybrid. Pure parsing: no /proc access, no runtime calls.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace capscope {

struct ContainerRef {
  std::string runtime; // docker, containerd, cri-o, podman, runc, lxc, nspawn
  std::string id;      // full container id (or machine/LXC name)
  std::string pod_uid; // Kubernetes pod UID when under kubepods
  bool operator==(const ContainerRef &) const = default;
};

// One cgroup path such as "/libpod_parent/libpod-<id>" or
// "/kubepods.slice/.../cri-containerd-<id>.scope".
std::optional<ContainerRef> container_from_cgroup_path(std::string_view path);

// The whole /proc/PID/cgroup text: the unified ("0::") line first, then
// the v1 lines (name=systemd, then any).
std::optional<ContainerRef> container_from_proc_cgroup(std::string_view text);

// The stable key profiles are merged by: Kubernetes namespace/owner/
// container when known, else the image, else the container name, else id.
std::string workload_key(const std::string &k8s_namespace,
                         const std::string &owner,
                         const std::string &container_name,
                         const std::string &image, const std::string &name,
                         const std::string &id);

} // namespace capscope
