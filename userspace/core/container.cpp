// container.cpp - cgroup path shapes of each runtime.
#include "core/container.h"
#include "core/text.h"

#include <algorithm>
#include <array>
#include <vector>

namespace capscope {

namespace {

bool is_hex_id(std::string_view s) {
  return s.size() >= 12 && s.size() <= 128 &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos < p.size()) {
    std::size_t end = p.find('/', pos);
    if (end == std::string_view::npos)
      end = p.size();
    if (end > pos)
      parts.push_back(p.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

std::string_view strip_suffix(std::string_view s, std::string_view suf) {
  if (s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf)
    return s.substr(0, s.size() - suf.size());
  return s;
}

// "kubepods-burstable-pod1234_5678.slice" or "pod1234-5678" -> the UID.
std::string pod_uid_of(std::string_view comp) {
  comp = strip_suffix(comp, ".slice");
  auto pos = comp.rfind("pod");
  if (pos == std::string_view::npos)
    return {};
  std::string uid(comp.substr(pos + 3));
  if (uid.size() < 32)
    return {};
  std::replace(uid.begin(), uid.end(), '_', '-');
  return uid;
}

// Leaf forms "<prefix><id>[.scope]": the prefix names the runtime.
struct Prefix {
  std::string_view prefix;
  std::string_view runtime;
};
constexpr std::array<Prefix, 7> kPrefixes = {{
    {"docker-", "docker"},
    {"cri-containerd-", "containerd"},
    {"crio-conmon-", ""}, // cri-o's monitor, not the container
    {"crio-", "cri-o"},
    {"libpod-conmon-", ""}, // podman's monitor, not the container
    {"libpod-", "podman"},
    {"containerd-", "containerd"},
}};

} // namespace

namespace {
std::optional<ContainerRef> match_cgroup_path(std::string_view path) {
  auto parts = split_path(path);
  if (parts.empty())
    return std::nullopt;
  ContainerRef ref;
  for (auto comp : parts)
    if (comp.starts_with("kubepods") || comp.starts_with("pod"))
      if (auto uid = pod_uid_of(comp); !uid.empty())
        ref.pod_uid = uid;
  bool kube = std::any_of(parts.begin(), parts.end(),
                          [](auto c) { return c.starts_with("kubepods"); });

  // Walk from the leaf up: runtimes sometimes nest a sub-cgroup (e.g. a
  // container's own "/init.scope" under systemd) below the container.
  for (std::size_t i = parts.size(); i-- > 0;) {
    std::string_view comp = strip_suffix(parts[i], ".scope");
    for (const auto &p : kPrefixes) {
      if (!comp.starts_with(p.prefix))
        continue;
      std::string_view id = comp.substr(p.prefix.size());
      if (p.runtime.empty() || !is_hex_id(id))
        break;
      ref.runtime = std::string(p.runtime);
      ref.id = std::string(id);
      return ref;
    }
    // cgroupfs layouts: "/docker/<id>", "/kubepods/<qos>/pod<uid>/<id>",
    // "/libpod_parent/libpod-<id>" (above).
    if (is_hex_id(comp) && comp.size() >= 32) {
      std::string_view parent = i > 0 ? parts[i - 1] : std::string_view();
      if (parent == "docker" || kube) {
        ref.id = std::string(comp);
        ref.runtime = parent == "docker" ? "docker" : "containerd";
        return ref;
      }
      // A bare hex name elsewhere is no proof of a container (this very
      // machine runs its sandbox in "/process_api/<hex>"); plain runc is
      // recognised by its state directory instead (daemon/container_info).
    }
    // LXC: "/lxc/<name>", "/lxc.payload.<name>", "/lxc.payload/<name>".
    if (comp.starts_with("lxc.payload.")) {
      ref.runtime = "lxc";
      ref.id = std::string(comp.substr(12));
      return ref;
    }
    if (i > 0 && (parts[i - 1] == "lxc" || parts[i - 1] == "lxc.payload")) {
      ref.runtime = "lxc";
      ref.id = std::string(comp);
      return ref;
    }
    // systemd-nspawn: "/machine.slice/systemd-nspawn@<name>.service" or
    // "/machine.slice/machine-<name>.scope".
    std::string_view svc = parts[i];
    if (svc.starts_with("systemd-nspawn@") && svc.ends_with(".service")) {
      ref.runtime = "nspawn";
      ref.id = std::string(svc.substr(15, svc.size() - 15 - 8));
      return ref;
    }
    if (svc.starts_with("machine-") && svc.ends_with(".scope") && i > 0 &&
        parts[i - 1] == "machine.slice") {
      ref.runtime = "nspawn";
      ref.id = std::string(svc.substr(8, svc.size() - 8 - 6));
      return ref;
    }
  }
  return std::nullopt;
}
} // namespace

std::optional<ContainerRef> container_from_cgroup_path(std::string_view path) {
  auto ref = match_cgroup_path(path);
  // A runtime's prefix with nothing after it ("/lxc.payload.") names no
  // container (found by tests/fuzz/fuzz_cgroup).
  if (ref && ref->id.empty())
    return std::nullopt;
  return ref;
}

namespace {
// Calls fn(hierarchy id, controllers, path) for each "ID:CONTROLLERS:PATH"
// line of a /proc/PID/cgroup text; malformed lines are skipped.
template <typename F> void each_proc_cgroup(std::string_view text, F &&fn) {
  for_each_line(text, [&](std::string_view line) {
    auto c1 = line.find(':');
    auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 != std::string_view::npos)
      fn(line.substr(0, c1), line.substr(c1 + 1, c2 - c1 - 1),
         line.substr(c2 + 1));
  });
}
} // namespace

std::optional<ContainerRef> container_from_proc_cgroup(std::string_view text) {
  std::string_view unified, named, any;
  each_proc_cgroup(text, [&](std::string_view id, std::string_view ctrl,
                             std::string_view path) {
    if (id == "0" && ctrl.empty())
      unified = path;
    else if (ctrl == "name=systemd")
      named = path;
    else if (any.empty() || path.size() > any.size())
      any = path;
  });
  for (auto p : {unified, named, any})
    if (!p.empty())
      if (auto ref = container_from_cgroup_path(p))
        return ref;
  return std::nullopt;
}

std::string workload_key(const std::string &k8s_namespace,
                         const std::string &owner,
                         const std::string &container_name,
                         const std::string &image, const std::string &name,
                         const std::string &id) {
  if (!k8s_namespace.empty() && !owner.empty())
    return "k8s:" + k8s_namespace + "/" + owner + "/" + container_name;
  if (!image.empty())
    return "image:" + image;
  if (!name.empty())
    return "name:" + name;
  return "id:" + id;
}

std::vector<std::string> cgroup_paths(std::string_view text) {
  std::vector<std::string> out;
  each_proc_cgroup(
      text, [&](std::string_view id, std::string_view, std::string_view p) {
        std::string path(p);
        if (path.empty() || path == "/" ||
            std::find(out.begin(), out.end(), path) != out.end())
          return;
        if (id == "0")
          out.insert(out.begin(), path);
        else
          out.push_back(path);
      });
  return out;
}

bool cgroup_under(std::string_view path, std::string_view parent,
                  bool partial) {
  while (parent.size() > 1 && parent.back() == '/')
    parent.remove_suffix(1);
  if (parent.empty() || parent == "/")
    return true;
  if (path == parent ||
      (path.starts_with(parent) && path.size() > parent.size() &&
       path[parent.size()] == '/'))
    return true;
  if (!partial)
    return false;
  std::string_view last = parent.substr(parent.rfind('/') + 1);
  std::string_view first = path.substr(path.starts_with('/') ? 1 : 0);
  first = first.substr(0, first.find('/'));
  return !last.empty() && first == last;
}

} // namespace capscope
