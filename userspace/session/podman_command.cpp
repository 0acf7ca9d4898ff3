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
  // A tmpfs /tmp, as most images expect one.
  cmd.insert(cmd.end(), {"--tmpfs", "/tmp:notmpcopyup"});
  if (!r.user.empty())
    cmd.insert(cmd.end(), {"--user", r.user});
  cmd.insert(cmd.end(), r.runtime_opts.begin(), r.runtime_opts.end());
  // Every trial starts from the same files: podman's ":O" puts a
  // throwaway overlay over the directory, so what one trial wrote (nginx
  // chowns its cache directories on its first start only) cannot hide a
  // need from the next, and the user's directory is left as it was.
  if (!r.rootfs.empty())
    cmd.insert(
        cmd.end(),
        {"--rootfs", r.rootfs.ends_with(":O") ? r.rootfs : r.rootfs + ":O"});
  else
    cmd.push_back(r.image);
  cmd.insert(cmd.end(), r.command.begin(), r.command.end());
  return cmd;
}

} // namespace capscope
