// container.h - which container a process belongs to, from its cgroup path
// (/proc/PID/cgroup), for docker, containerd/CRI, cri-o, podman/libpod,
// plain runc, LXC, systemd-nspawn and Kubernetes pods; cgroup v1, v2 and
// hybrid. Pure parsing: no /proc access, no runtime calls.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// Every distinct cgroup path of a /proc/PID/cgroup text (unified first,
// then each v1 hierarchy's), the root "/" left out.
std::vector<std::string> cgroup_paths(std::string_view proc_cgroup_text);

// True when cgroup `path` ("/a/b/c") is `parent` or lies under it
// (`capscope daemon --cgroup-parent`). A path known only by its last two
// components (the names the BPF side captured at exec, "/b/c" with
// `partial`) is under `parent` when its first component is parent's last.
bool cgroup_under(std::string_view path, std::string_view parent,
                  bool partial = false);

} // namespace capscope
