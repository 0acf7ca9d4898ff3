// systemd_unit.h - the pure half of `record --unit`: checking a unit name
// and finding a unit's cgroup in the text of /proc/PID/cgroup (systemd
// gives every unit its own cgroup, named after the unit, on every
// hierarchy it manages: v1 name=systemd, the unified one, or v2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace capscope {

// "nginx" -> "nginx.service"; NAME.service and NAME.scope stay as they
// are. An error for what systemd would refuse (empty, '/', whitespace or
// control characters, over 255 bytes) and for units that run no workload
// of their own (.target, .timer, .socket, ...: give the service).
Result<std::string> unit_name(std::string_view given);

// The cgroup path, up to and including the component that is `unit`,
// of a process whose /proc/PID/cgroup reads `text`: the first hierarchy
// that has one ("0::/system.slice/nginx.service" ->
// "/system.slice/nginx.service"; a process in a sub-cgroup of the unit
// gives the unit's own path). nullopt when the process is in no such
// cgroup.
std::optional<std::string> unit_cgroup_in(std::string_view text,
                                          std::string_view unit);

} // namespace capscope
