// container_profile.cpp - one container's profile at the end of a trace
// session (see container_profile.h).
#include "session/container_profile.h"

#include "session/system.h"

namespace capscope {

Profile finish_container_profile(TraceSession &session,
                                 const std::function<bool(std::uint64_t)> &ours,
                                 const ContainerProfileOptions &o) {
  session.drain();
  session.refresh_counts();
  session.settle_identities(o.settle_ms); // names from the runtime
  TracerStats stats = session.stats();
  Aggregator &agg = session.aggregator();
  ScopeResolver &resolver = session.resolver();

  Profile p;
  bool described = false;
  for (std::uint64_t s : agg.scopes()) {
    if (!ours(s))
      continue;
    const ContainerIdentity *ci = resolver.find(s);
    if (!described && ci) {
      ScopeResolver::describe(p, *ci);
      described = true;
    }
    agg.fill(p, s);
  }
  if (!described)
    ScopeResolver::describe(p, o.fallback);
  p.start_ns = o.start_wall_ns;
  p.end_ns = wall_now_ns();
  session.stamp(p);
  TraceSession::stamp_losses(p, stats);
  return p;
}

} // namespace capscope
