// podman_command.h - the `podman run` command line that runs a workload
// under exactly one capability set (verify --runtime podman). Only what the
// set needs is added; everything else comes from the user's own podman
// configuration, plus the options the user passes (--runtime-opt), which
// is where machine-specific settings (an OCI runtime, ulimits) belong.
#pragma once

#include <string>
#include <vector>

#include "core/caps.h"

namespace capscope {

struct PodmanRun {
  CapMask caps = 0;
  bool no_new_privs = false;
  std::string user;                      // --user, "" = the image's
  std::vector<std::string> runtime_opts; // the user's, passed as given
  std::string rootfs;                    // --rootfs DIR, or
  std::string image;                     // an image
  std::vector<std::string> command;
};

// podman run --rm --cap-drop=ALL --cap-add=... [--security-opt
// no-new-privileges] --tmpfs /tmp:notmpcopyup [--user U] OPTS...
// (--rootfs DIR | IMAGE) CMD...
std::vector<std::string> podman_run_command(const PodmanRun &r);

} // namespace capscope
