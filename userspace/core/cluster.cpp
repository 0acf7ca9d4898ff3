// cluster.cpp - one workload's advice from the capscope daemons' series
// in Prometheus: query text, answer parsing, and the summing.
#include "core/cluster.h"

#include <cmath>

#include "core/caps.h"
#include "core/noise.h"
#include "core/policy.h"

namespace capscope {

namespace {

// A PromQL string literal (double quotes, backslash escapes).
std::string prom_string(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

// RE2 text matching `s` literally.
std::string regex_quote(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos)
      out += '\\';
    out += c;
  }
  return out;
}

std::string selector(const std::string &ns, const std::string &owner) {
  // The pods of the owner (and a bare pod of that name); cluster_advice
  // keeps only those whose generated name leads back to it.
  return "{kind=\"container\",namespace=" + prom_string(ns) + ",pod=~" +
         prom_string(regex_quote(owner) + "(-.+)?") + "}";
}

std::string label(const PromSample &s, const char *name) {
  auto it = s.labels.find(name);
  return it == s.labels.end() ? std::string() : it->second;
}

} // namespace

Result<std::pair<std::string, std::string>>
parse_workload_ref(const std::string &ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == ref.size() ||
      ref.find('/', slash + 1) != std::string::npos)
    return Error{EINVAL, "--workload wants NAMESPACE/NAME (e.g. shop/web), "
                         "got '" +
                             ref + "'"};
  return std::make_pair(ref.substr(0, slash), ref.substr(slash + 1));
}

std::string prom_checks_query(const std::string &ns, const std::string &owner,
                              const std::string &window) {
  return "max_over_time(capscope_checks_total" + selector(ns, owner) + "[" +
         window + "])";
}

std::string prom_sites_query(const std::string &ns, const std::string &owner,
                             const std::string &window) {
  return "max_over_time(capscope_check_sites" + selector(ns, owner) + "[" +
         window + "])";
}

std::string prom_all_query(const std::string &metric,
                           const std::string &window) {
  return "max_over_time(" + metric + "{kind=\"container\"}[" + window + "])";
}

std::vector<std::pair<std::string, std::string>>
cluster_workloads(const std::vector<PromSample> &samples) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto &s : samples) {
    std::string ns = label(s, "namespace"), pod = label(s, "pod");
    if (!ns.empty() && !pod.empty())
      seen.emplace(ns, pod_owner(pod));
  }
  return {seen.begin(), seen.end()};
}

Result<std::vector<PromSample>> parse_prom_vector(const std::string &body) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception &) {
    return Error{EINVAL, "Prometheus answered something that is not JSON"};
  }
  if (!j.is_object() || !j.contains("status"))
    return Error{EINVAL, "Prometheus' answer has no status"};
  if (j["status"] != "success")
    return Error{EINVAL, "Prometheus: " + j.value("errorType", std::string()) +
                             ": " + j.value("error", std::string("error"))};
  const auto &data = j.value("data", nlohmann::json::object());
  if (!data.is_object() || data.value("resultType", "") != "vector" ||
      !data.contains("result") || !data["result"].is_array())
    return Error{EINVAL, "Prometheus' answer is not an instant vector"};
  std::vector<PromSample> out;
  for (const auto &r : data["result"]) {
    if (!r.is_object() || !r.contains("metric") || !r.contains("value") ||
        !r["metric"].is_object() || !r["value"].is_array() ||
        r["value"].size() != 2 || !r["value"][1].is_string())
      return Error{EINVAL, "Prometheus' answer has a malformed sample"};
    PromSample s;
    for (const auto &[k, v] : r["metric"].items())
      if (v.is_string())
        s.labels[k] = v.get<std::string>();
    try {
      s.value = std::stod(r["value"][1].get<std::string>());
    } catch (const std::exception &) {
      return Error{EINVAL, "Prometheus' answer has a sample value that is "
                           "not a number"};
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<ClusterAdvice> cluster_advice(const std::vector<PromSample> &checks,
                                     const std::vector<PromSample> &sites,
                                     const std::string &ns,
                                     const std::string &owner,
                                     std::int64_t now_ns, double window_s) {
  ClusterAdvice c;
  std::map<std::string, Profile> by_container;
  // Per container name, the container ids seen (Profile::runs).
  std::map<std::string, std::set<std::string>> ids;
  auto ours = [&](const PromSample &s) {
    return label(s, "namespace") == ns && pod_owner(label(s, "pod")) == owner;
  };
  auto profile_for = [&](const PromSample &s) -> Profile & {
    std::string name = label(s, "container");
    auto [it, fresh] = by_container.try_emplace(name);
    if (fresh) {
      Workload &w = it->second.workload;
      w.kind = "container";
      w.name = name;
      w.ns = ns;
      w.pod = label(s, "pod");
      w.runtime = "kubernetes";
      w.key = "k8s:" + ns + "/" + owner + "/" + name;
      it->second.start_ns = now_ns - static_cast<std::int64_t>(window_s * 1e9);
      it->second.end_ns = now_ns;
      it->second.attach_mode = "capscope daemons";
      it->second.arch = "via Prometheus";
    }
    return it->second;
  };
  for (const auto &s : checks) {
    if (!ours(s))
      continue;
    auto cap = parse_cap(label(s, "cap"));
    CheckClass cls;
    if (!cap || !parse_class(label(s, "class"), &cls))
      continue; // a newer daemon's capability or class: not ours to judge
    Profile &p = profile_for(s);
    CheckStats &e = p.entry(*cap, cls);
    auto n = static_cast<std::uint64_t>(std::llround(s.value));
    (label(s, "verdict") == "denied" ? e.denied : e.granted) += n;
    c.nodes.insert(label(s, "instance"));
    c.containers.insert(label(s, "id"));
    c.pods.insert(label(s, "pod"));
    ids[label(s, "container")].insert(label(s, "id"));
  }
  if (by_container.empty())
    return Error{ENOENT, "no capscope_checks_total series for workload " + ns +
                             "/" + owner +
                             " in Prometheus (is every node's daemon "
                             "scraped, and did a pod of it run?)"};
  for (const auto &s : sites) {
    if (!ours(s) || s.value <= 0)
      continue;
    auto cap = parse_cap(label(s, "cap"));
    CheckClass cls;
    auto it = by_container.find(label(s, "container"));
    if (!cap || !parse_class(label(s, "class"), &cls) ||
        it == by_container.end())
      continue;
    for (CheckStats &e : it->second.checks)
      if (e.cap == *cap && e.cls == cls)
        e.call_sites.insert(label(s, "call_site"));
  }
  for (auto &[name, p] : by_container) {
    p.runs = static_cast<int>(ids[name].size());
    p.kernel = std::to_string(c.nodes.size()) + " node" +
               (c.nodes.size() == 1 ? "" : "s");
    c.profiles.push_back(std::move(p));
  }
  return c;
}

std::string cluster_summary(const ClusterAdvice &c) {
  std::string out = std::to_string(c.nodes.size()) + " node" +
                    (c.nodes.size() == 1 ? "" : "s") + " (";
  std::size_t i = 0;
  for (const auto &n : c.nodes)
    out += (i++ ? ", " : "") + n;
  out += "), " + std::to_string(c.containers.size()) + " container" +
         (c.containers.size() == 1 ? "" : "s") + " (pods ";
  i = 0;
  for (const auto &p : c.pods)
    out += (i++ ? ", " : "") + p;
  return out + ")";
}

} // namespace capscope
