// container_profile.h - the end of a container recording, shared by
// `record --container` and `capscope hook`: drain what is queued, take the
// kernel's counts, wait (bounded) for the runtime's names, and build one
// profile from every scope that belongs to the container, stamped with
// where it was traced and what was lost.
#pragma once

#include <cstdint>
#include <functional>

#include "core/profile.h"
#include "session/container_info.h"
#include "session/trace_session.h"

namespace capscope {

struct ContainerProfileOptions {
  // The identity used when no scope of the container was resolved (it
  // made no check, or its processes were gone before they were named).
  ContainerIdentity fallback;
  std::int64_t start_wall_ns = 0;
  int settle_ms = 12000; // how long to wait for runtime lookups
};

// `ours` says which scopes are the container's.
Profile finish_container_profile(TraceSession &session,
                                 const std::function<bool(std::uint64_t)> &ours,
                                 const ContainerProfileOptions &o);

} // namespace capscope
