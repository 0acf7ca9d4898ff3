// cmd_daemon.cpp - `capscope daemon`, and the client commands that ask it:
// `capscope profiles` and `capscope show ID|NAME`.
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/format.h"
#include "core/json_safe.h"
#include "core/result.h"
#include "daemon/protocol.h"

namespace capscope {

int run_daemon_cmd(const DaemonCmdConfig &c) {
  DaemonConfig d;
  d.state_dir = c.state_dir;
  d.socket = c.socket;
  d.metrics = c.metrics;
  d.verbose = c.verbose;
  d.cgroup_parent = c.cgroup_parent;
  if (!c.cgroup_parent.empty() && c.cgroup_parent[0] != '/')
    throw Fatal("daemon: --cgroup-parent wants an absolute cgroup path, "
                "e.g. /capscope-a or /kubepods.slice");
  d.flush_ms = duration_or_die("daemon", "--flush-interval", c.flush_interval);
  d.attach = attach_mode_or_die("daemon", c.attach);
  if (!c.metrics.empty() && c.metrics.find(':') == std::string::npos)
    throw Fatal("daemon: --metrics wants HOST:PORT, e.g. 127.0.0.1:9464");
  return run_daemon(d);
}

static std::string cell(std::string s, std::size_t w) {
  if (s.empty())
    s = "-";
  if (s.size() > w)
    s = s.substr(0, w - 1) + "~";
  return s;
}

static std::string joined(const nlohmann::json &arr, std::size_t max) {
  std::string out;
  std::size_t n = 0;
  for (const auto &v : arr) {
    if (n == max) {
      out += ",+" + std::to_string(arr.size() - max);
      break;
    }
    out += (n++ ? "," : "") + v.get<std::string>();
  }
  return out.empty() ? "none" : out;
}

int run_profiles(const ProfilesConfig &c) {
  if (!c.prometheus.empty()) {
    if (c.by != "workload")
      throw Fatal("profiles: --prometheus lists workloads: add --by workload");
    return run_profiles_cluster(c); // cmd_advise_cluster.cpp
  }
  auto r = daemon_list(c.socket);
  if (!r)
    throw Fatal(r.error().message);
  const auto &profiles = r.value()["profiles"];
  if (!c.by.empty() && c.by != "workload")
    throw Fatal("profiles: --by takes 'workload'");
  if (c.by == "workload") {
    // Replicas and restarts share a workload key (Kubernetes owner, else
    // image, else name): the union of what they used.
    std::map<std::string, std::pair<std::set<std::string>, int>> rows;
    for (const auto &p : profiles) {
      if (p.value("kind", "") != "container" && !c.all)
        continue;
      std::string key = p.value("workload_key", "");
      if (key.empty())
        key = p.value("key", "");
      auto &row = rows[key];
      for (const auto &cap : p["caps_used"])
        row.first.insert(cap.get<std::string>());
      row.second++;
    }
    std::printf("%-40s %-10s %s\n", "WORKLOAD", "CONTAINERS", "CAPS USED");
    for (const auto &[key, row] : rows) {
      std::string caps;
      for (const auto &cap : row.first)
        caps += (caps.empty() ? "" : ",") + cap;
      std::printf("%-40s %-10d %s\n", cell(key, 40).c_str(), row.second,
                  caps.empty() ? "none" : caps.c_str());
    }
    return 0;
  }
  if (c.json) {
    std::printf("%s\n", json_text(profiles, 2).c_str());
    return 0;
  }
  std::printf("%-14s %-8s %-24s %-30s %-22s %s\n", "CONTAINER", "RUNTIME",
              "NAME/IMAGE", "CAPS USED", "HELD, NEVER USED", "LAST SEEN");
  std::size_t shown = 0, hidden = 0;
  for (const auto &p : profiles) {
    bool container = p.value("kind", "") == "container";
    if (!container && !c.all) {
      ++hidden;
      continue;
    }
    std::string id = p.value("id", "");
    std::string name = p.value("name", "");
    std::string image = p.value("image", "");
    std::string held = p.value("held_known", false)
                           ? std::to_string(p["held_unused"].size())
                           : "?";
    if (p.value("privileged", false))
      held += " PRIVILEGED";
    std::string last = p.value("last_seen", "");
    if (p.value("running", false))
      last = "running";
    std::printf("%-14s %-8s %-24s %-30s %-22s %s\n",
                cell(container ? id.substr(0, 12) : id, 14).c_str(),
                cell(p.value("runtime", ""), 8).c_str(),
                cell(image.empty() ? name : name + " " + image, 24).c_str(),
                cell(joined(p["caps_used"], 3), 30).c_str(),
                cell(held, 22).c_str(), last.c_str());
    ++shown;
  }
  if (!shown)
    std::printf("(no containers seen yet)\n");
  if (hidden)
    std::printf("(%zu non-container namespaces hidden; --all shows them)\n",
                hidden);
  return 0;
}

int run_show(const ShowConfig &c) {
  const Format fmt = format_or_die("show", c.format);
  auto p = daemon_get_profile(c.socket, c.id);
  if (!p)
    throw Fatal(p.error().message);
  RenderOptions ro;
  ro.verbose = c.verbose;
  std::fputs(render(p.value(), fmt, ro).c_str(), stdout);
  return 0;
}

} // namespace capscope
