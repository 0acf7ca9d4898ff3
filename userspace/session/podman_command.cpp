// podman_command.cpp - builds verify's `podman run` line (see
// podman_command.h).
#include "session/podman_command.h"

#include <algorithm>

namespace capscope {

std::vector<std::string> podman_run_command(const PodmanRun &r) {
  std::vector<std::string> cmd = {"podman", "run", "--rm"};
  // The exact flags a user pastes (cap_flags_line: sorted, no CAP_).
  std::vector<std::string> names = cap_names(r.caps);
  std::sort(names.begin(), names.end());
  cmd.push_back("--cap-drop=ALL");
  for (const auto &n : names)
    cmd.push_back("--cap-add=" + n);
  if (r.no_new_privs)
    cmd.insert(cmd.end(), {"--security-opt", "no-new-privileges"});
  // --rootfs uses the directory in place: keep /tmp writes out of it.
  cmd.insert(cmd.end(), {"--tmpfs", "/tmp:notmpcopyup"});
  if (!r.user.empty())
    cmd.insert(cmd.end(), {"--user", r.user});
  cmd.insert(cmd.end(), r.runtime_opts.begin(), r.runtime_opts.end());
  if (!r.rootfs.empty())
    cmd.insert(cmd.end(), {"--rootfs", r.rootfs});
  else
    cmd.push_back(r.image);
  cmd.insert(cmd.end(), r.command.begin(), r.command.end());
  return cmd;
}

} // namespace capscope
