// cluster.h - cluster-wide advice from Prometheus: the PromQL that selects
// one Kubernetes workload's series of every node's capscope daemon, the
// parsing of Prometheus' /api/v1/query answer, and the profiles those
// series add up to (all replicas together, one per container name).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/profile.h"
#include "core/result.h"

namespace capscope {

// One element of an instant vector.
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// "NAMESPACE/NAME" -> {namespace, name}; errors are one line.
Result<std::pair<std::string, std::string>>
parse_workload_ref(const std::string &ref);

// The PromQL for the checks (capscope_checks_total) and the call sites
// (capscope_check_sites) of the pods of workload `owner` in namespace `ns`
// over the last `window` (a PromQL duration, e.g. "1h"): the largest value
// of each series in the window, so containers that ended within it count.
std::string prom_checks_query(const std::string &ns, const std::string &owner,
                              const std::string &window);
std::string prom_sites_query(const std::string &ns, const std::string &owner,
                             const std::string &window);

// The samples of a /api/v1/query answer (resultType vector). Errors are
// one line: not JSON, status error (with Prometheus' message), another
// result type.
Result<std::vector<PromSample>> parse_prom_vector(const std::string &body);

struct ClusterAdvice {
  std::vector<Profile> profiles;    // one per container name, sorted
  std::set<std::string> nodes;      // the daemons' `instance` labels
  std::set<std::string> containers; // container ids
  std::set<std::string> pods;
};

// The series of `checks` and `sites` whose pod belongs to `owner`
// (pod_owner), summed over nodes and replicas: per container name, each
// (capability, class) gets the granted and denied counts of every
// container, and the call sites any of them showed. `now_ns` and
// `window_s` give the profiles' window. An error (one line) when no
// series is left.
Result<ClusterAdvice> cluster_advice(const std::vector<PromSample> &checks,
                                     const std::vector<PromSample> &sites,
                                     const std::string &ns,
                                     const std::string &owner,
                                     std::int64_t now_ns, double window_s);

// The PromQL for every container's series of `metric`
// (capscope_checks_total, capscope_check_sites) over the last `window`
// (`profiles --by workload --prometheus`).
std::string prom_all_query(const std::string &metric,
                           const std::string &window);

// The Kubernetes workloads (namespace, pod owner) of a set of samples, in
// order; samples with no namespace or pod are left out.
std::vector<std::pair<std::string, std::string>>
cluster_workloads(const std::vector<PromSample> &samples);

// "2 nodes, 3 containers (pods web-1, web-2)" for the report and stderr.
std::string cluster_summary(const ClusterAdvice &c);

} // namespace capscope
