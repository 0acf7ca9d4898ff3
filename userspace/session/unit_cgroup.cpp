// unit_cgroup.cpp - finding a systemd unit's processes (unit_cgroup.h).
#include "session/unit_cgroup.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <map>
#include <unistd.h>

#include "core/systemd_unit.h"

namespace capscope {

namespace {

// pid -> the unit's cgroup path it is in, for every process in one.
std::map<int, std::string> scan(const std::string &unit) {
  std::map<int, std::string> out;
  DIR *proc = opendir("/proc");
  if (!proc)
    return out;
  const int self = getpid();
  while (dirent *d = readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(d->d_name[0])))
      continue;
    int pid = std::atoi(d->d_name);
    if (pid == self)
      continue;
    std::ifstream in(std::string("/proc/") + d->d_name + "/cgroup");
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    if (auto path = unit_cgroup_in(text, unit))
      out[pid] = *path;
  }
  closedir(proc);
  return out;
}

} // namespace

Result<UnitCgroup> find_unit_cgroup(const std::string &unit) {
  std::map<int, std::string> found = scan(unit);
  if (found.empty())
    return Error{ESRCH, "no process runs in a cgroup of unit " + unit +
                            " (is it running? systemctl status " + unit + ")"};
  std::map<std::string, std::vector<int>> by_path;
  for (const auto &[pid, path] : found)
    by_path[path].push_back(pid);
  if (by_path.size() > 1) {
    std::string paths;
    for (const auto &[path, pids] : by_path)
      paths += (paths.empty() ? "" : ", ") + path;
    return Error{EEXIST, "unit " + unit + " runs in " +
                             std::to_string(by_path.size()) +
                             " different cgroups (" + paths +
                             "); stop the ones you do not mean"};
  }
  UnitCgroup u;
  u.unit = unit;
  u.path = by_path.begin()->first;
  u.pids = by_path.begin()->second;
  return u;
}

std::vector<int> unit_cgroup_pids(const std::string &unit,
                                  const std::string &path) {
  std::vector<int> out;
  for (const auto &[pid, p] : scan(unit))
    if (p == path)
      out.push_back(pid);
  return out;
}

} // namespace capscope
