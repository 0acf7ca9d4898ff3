// capset_entry.h - what `verify` does in the child right before exec to run
// a workload under exactly one capability set, and the host facts it needs
// (the bounding set, the last capability the kernel knows).
#pragma once

#include <optional>
#include <sys/capability.h>

#include "core/caps.h"
#include "session/workload.h"

namespace capscope {

// CapBnd of this process; throws Fatal when /proc cannot say.
CapMask host_bounding_set();
// /proc/sys/kernel/cap_last_cap, or the last capability capscope knows.
int last_cap();

// The set entry, prepared in the parent (libcap allocates) and entered in
// the child: bounding = CAPS, nothing ambient or inheritable, permitted =
// effective = CAPS. As root, exec recomputes permitted as (all & bounding)
// = CAPS; the bounding set caps what any setuid or file-capability exec
// could gain, as in a container. For a user, keep-caps carries the set over
// the uid switch and the ambient set (which needs it inheritable too)
// carries it over exec. no_new_privs only when asked: Docker and podman
// leave it off by default, and it changes what some programs need (a
// seccomp filter installed without it needs SYS_ADMIN).
class CapsetEntry {
public:
  // err_fd: becomes the child's stderr first (-1: keep it). top: the last
  // capability to drop from the bounding set.
  CapsetEntry(CapMask caps, std::optional<Identity> user, int err_fd, int top,
              bool no_new_privs);
  ~CapsetEntry();
  CapsetEntry(const CapsetEntry &) = delete;
  CapsetEntry &operator=(const CapsetEntry &) = delete;

  // In the child: enters the set. Returns 0 or an errno, after saying on
  // stderr which step failed.
  int enter() const;

private:
  CapMask caps_;
  std::optional<Identity> user_;
  int err_fd_;
  int top_;
  bool no_new_privs_;
  cap_t prepared_ = nullptr;
};

} // namespace capscope
