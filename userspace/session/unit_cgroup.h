// unit_cgroup.h - a running systemd unit's processes, found by its cgroup
// in /proc/PID/cgroup: the same lookup whether systemd is the host's init
// or runs inside a container (`podman run --systemd=always`), and without
// asking systemctl (a unit is its cgroup; that is systemd's own rule).
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace capscope {

struct UnitCgroup {
  std::string unit; // NAME.service
  std::string path; // its cgroup path, as /proc/PID/cgroup shows it
  std::vector<int> pids;
};

// The unit's cgroup and the processes in it now (sub-cgroups included).
// Errors: no process in a cgroup of that name (not running, or no such
// unit), or several distinct cgroups of that name (a host unit and one in
// a container, a user unit): one line naming them.
Result<UnitCgroup> find_unit_cgroup(const std::string &unit);

// The processes in the cgroup `path` of `unit` now (sub-cgroups included).
std::vector<int> unit_cgroup_pids(const std::string &unit,
                                  const std::string &path);

} // namespace capscope
