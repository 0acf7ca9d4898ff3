// cmd_advise_cluster.cpp - `capscope advise --prometheus URL --workload
// NAMESPACE/NAME`: the advice for every replica of a Kubernetes workload
// together, from the series every node's capscope daemon exports, summed
// in Prometheus. Any format; the report says how many nodes and
// containers it saw (other formats say it on stderr, stdout stays valid).
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/cluster.h"
#include "core/format.h"
#include "session/prometheus.h"

namespace capscope {

int run_advise_cluster(const AdviseConfig &c) {
  if (c.prometheus.empty() || c.workload.empty())
    throw Fatal("advise: --prometheus URL and --workload NAMESPACE/NAME go "
                "together");
  if (!c.profile.empty())
    throw Fatal("advise: --prometheus takes no PROFILE argument");
  if (!c.patch.empty())
    throw Fatal("advise: --patch works on one profile, not with --prometheus");
  Format fmt = format_or_die("advise", c.format);
  auto ref = parse_workload_ref(c.workload);
  if (!ref)
    throw Fatal("advise: " + ref.error().message);
  const auto &[ns, owner] = ref.value();
  std::int64_t window_ms = duration_or_die("advise", "--window", c.window);
  if (window_ms < 1000)
    throw Fatal("advise: --window must be at least 1s");
  std::string window = std::to_string(window_ms / 1000) + "s";

  auto checks =
      prometheus_query(c.prometheus, prom_checks_query(ns, owner, window));
  if (!checks)
    throw Fatal("advise: " + checks.error().message);
  // Call sites refine the advice (either/or sites); daemons older than the
  // capscope_check_sites series simply have none.
  auto sites =
      prometheus_query(c.prometheus, prom_sites_query(ns, owner, window));
  if (!sites)
    throw Fatal("advise: " + sites.error().message);
  std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  auto cluster = cluster_advice(checks.value(), sites.value(), ns, owner,
                                now_ns, window_ms / 1000.0);
  if (!cluster)
    throw Fatal("advise: " + cluster.error().message);
  const ClusterAdvice &ca = cluster.value();
  std::string seen = "capscope: workload " + ns + "/" + owner + " from " +
                     c.prometheus + ": " + cluster_summary(ca) + "\n";
  RenderOptions ro;
  ro.verbose = c.verbose;
  std::string text = render_many(ca.profiles, fmt, ro);
  if (fmt == Format::Report)
    text = seen + "\n" + text;
  else
    std::fputs(seen.c_str(), stderr);
  emit_output(c.output.empty() ? "-" : c.output, text);
  return 0;
}

} // namespace capscope
