// cmd_advise_cluster.cpp - `capscope advise --prometheus URL --workload
// NAMESPACE/NAME`: the advice for every replica of a Kubernetes workload
// together, from the series every node's capscope daemon exports, summed
// in Prometheus. Any format; the report says how many nodes and
// containers it saw (other formats say it on stderr, stdout stays valid).
// Also `capscope profiles --by workload --prometheus URL`: every workload
// the daemons exported, one row each.
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/cluster.h"
#include "core/either_or.h"
#include "core/format.h"
#include "core/policy.h"
#include "session/prometheus.h"

namespace capscope {

namespace {

// --window as a PromQL duration in seconds ("3600s"); *seconds set.
std::string window_or_die(const char *cmd, const std::string &text,
                          double *seconds) {
  std::int64_t ms = duration_or_die(cmd, "--window", text);
  if (ms < 1000)
    throw Fatal(std::string(cmd) + ": --window must be at least 1s");
  *seconds = static_cast<double>(ms / 1000);
  return std::to_string(ms / 1000) + "s";
}

std::vector<PromSample> query_or_die(const char *cmd, const std::string &url,
                                     const std::string &promql) {
  auto r = prometheus_query(url, promql);
  if (!r)
    throw Fatal(std::string(cmd) + ": " + r.error().message);
  return r.value();
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

int run_profiles_cluster(const ProfilesConfig &c) {
  double window_s = 0;
  std::string window = window_or_die("profiles", c.window, &window_s);
  auto checks = query_or_die("profiles", c.prometheus,
                             prom_all_query("capscope_checks_total", window));
  auto sites = query_or_die("profiles", c.prometheus,
                            prom_all_query("capscope_check_sites", window));
  std::printf("%-32s %-16s %-5s %-10s %-30s %s\n", "WORKLOAD", "CONTAINER",
              "NODES", "CONTAINERS", "CAPS USED", "PSS");
  auto workloads = cluster_workloads(checks);
  for (const auto &[ns, owner] : workloads) {
    auto ca = cluster_advice(checks, sites, ns, owner, now_ns(), window_s);
    if (!ca)
      continue;
    for (const Profile &p : ca.value().profiles) {
      CapMask add = final_advice(p).add;
      std::string caps;
      for (const auto &n : cap_names(add))
        caps += (caps.empty() ? "" : ",") + n;
      std::printf("%-32s %-16s %-5zu %-10zu %-30s %s\n",
                  (ns + "/" + owner).c_str(), p.workload.name.c_str(),
                  ca.value().nodes.size(), ca.value().containers.size(),
                  caps.empty() ? "none" : caps.c_str(),
                  std::string(pss_name(pss_level(add).level)).c_str());
    }
  }
  if (workloads.empty())
    std::printf("(no Kubernetes workload in %s's capscope series)\n",
                c.prometheus.c_str());
  return 0;
}

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
  double window_s = 0;
  std::string window = window_or_die("advise", c.window, &window_s);
  auto checks = query_or_die("advise", c.prometheus,
                             prom_checks_query(ns, owner, window));
  // Call sites refine the advice (either/or sites); daemons older than the
  // capscope_check_sites series simply have none.
  auto sites =
      query_or_die("advise", c.prometheus, prom_sites_query(ns, owner, window));
  auto cluster = cluster_advice(checks, sites, ns, owner, now_ns(), window_s);
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
