// container_info.cpp - scope to container identity, with the runtime's CLI
// for names and images (podman here; docker/crictl when present).
#include "session/container_info.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>
#include <vector>

#include "core/policy.h"
#include "session/runtime_state.h"

namespace capscope {

namespace {

std::string read_file(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool have(const char *tool) {
  for (const char *dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"})
    if (access((std::string(dir) + tool).c_str(), X_OK) == 0)
      return true;
  return false;
}

// Runs a runtime CLI with a time limit; stdout or "" on any failure.
std::string run_tool(const std::string &cmd) {
  std::string full = "timeout 5 " + cmd + " 2>/dev/null";
  FILE *f = popen(full.c_str(), "r");
  if (!f)
    return {};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0)
    out.append(buf.data(), n);
  pclose(f);
  return out;
}

bool safe_id(const std::string &id) {
  return !id.empty() &&
         id.find_first_not_of("0123456789abcdefABCDEF-_.") == std::string::npos;
}

// podman's storage keeps each container's names and image in a file that
// root can read without any capability (`podman inspect` wants SYS_ADMIN,
// which the daemon drops after attaching).
bool from_podman_storage(ContainerIdentity &ci) {
  std::string text = read_file("/var/lib/containers/storage/overlay-containers/"
                               "containers.json");
  if (text.empty())
    return false;
  try {
    for (const auto &c : nlohmann::json::parse(text)) {
      if (c.value("id", std::string()) != ci.ref.id)
        continue;
      if (c.contains("names") && c["names"].is_array() && !c["names"].empty())
        ci.name = c["names"][0].get<std::string>();
      auto meta = nlohmann::json::parse(c.value("metadata", std::string("{}")));
      ci.image = meta.value("image-name", std::string());
      if (ci.name.empty())
        ci.name = meta.value("name", std::string());
      return !ci.name.empty();
    }
  } catch (const std::exception &) {
  }
  return false;
}

// docker, containerd, CRI-O: the runtime's own files on disk (no CLI).
bool from_runtime_state(ContainerIdentity &ci, std::uint32_t ppid) {
  auto st = identity_from_runtime_state(ci.ref.runtime, ci.ref.id, ppid);
  if (!st)
    return false;
  ci.name = st->name;
  ci.image = st->image;
  ci.pod = st->pod;
  ci.namespace_ = st->namespace_;
  ci.service = st->service;
  return !ci.name.empty();
}

} // namespace

void identity_from_runtime(ContainerIdentity &ci) {
  const ContainerRef &r = ci.ref;
  if (!safe_id(r.id))
    return;
  if (r.runtime == "podman" && from_podman_storage(ci))
    return;
  const char *tool = nullptr;
  if (r.runtime == "podman" && have("podman"))
    tool = "podman";
  else if (r.runtime == "docker" && have("docker"))
    tool = "docker";
  if (tool) {
    std::string out =
        run_tool(std::string(tool) + " inspect --type container " + r.id);
    try {
      auto j = nlohmann::json::parse(out);
      if (j.is_array() && !j.empty()) {
        const auto &c = j[0];
        std::string name = c.value("Name", std::string());
        if (!name.empty() && name[0] == '/')
          name.erase(0, 1);
        ci.name = name;
        ci.image = c.value("ImageName", std::string());
        if (ci.image.empty() && c.contains("Config") && c["Config"].is_object())
          ci.image = c["Config"].value("Image", std::string());
        if (c.contains("Config") && c["Config"].is_object() &&
            c["Config"].contains("Labels") &&
            c["Config"]["Labels"].is_object()) {
          const auto &l = c["Config"]["Labels"];
          ci.pod = l.value("io.kubernetes.pod.name", std::string());
          ci.namespace_ = l.value("io.kubernetes.pod.namespace", std::string());
        }
        if (ci.pod.empty() && c.contains("Pod") && c["Pod"].is_string() &&
            !c["Pod"].get<std::string>().empty() && r.runtime == "podman") {
          std::string pod =
              run_tool("podman pod inspect --format '{{.Name}}' " +
                       c["Pod"].get<std::string>());
          while (!pod.empty() && (pod.back() == '\n' || pod.back() == ' '))
            pod.pop_back();
          ci.pod = pod;
        }
      }
    } catch (const std::exception &) {
      // The container is gone or the CLI answered oddly: keep the id.
    }
  }
}

namespace {

// conmon (podman's and cri-o's monitor) names the container on its command
// line (-n NAME): the one place the name survives `podman run --rm` of a
// container that is already gone by the time its events are read.
std::string name_from_monitor(std::uint32_t ppid) {
  if (!ppid)
    return {};
  std::string cmd = read_file("/proc/" + std::to_string(ppid) + "/cmdline");
  std::vector<std::string> args;
  std::size_t pos = 0;
  while (pos < cmd.size()) {
    std::size_t end = cmd.find('\0', pos);
    if (end == std::string::npos)
      end = cmd.size();
    args.push_back(cmd.substr(pos, end - pos));
    pos = end + 1;
  }
  if (args.empty() || args[0].find("conmon") == std::string::npos)
    return {};
  for (std::size_t i = 1; i + 1 < args.size(); ++i)
    if (args[i] == "-n" || args[i] == "--name")
      return args[i + 1];
  return {};
}

// Plain runc names the cgroup after the container id, which can be any
// string ("/mybox"); what makes it a runc container is runc's state dir.
std::optional<ContainerRef> runc_by_state(const std::string &cgroup_path) {
  auto slash = cgroup_path.find_last_of('/');
  std::string leaf =
      slash == std::string::npos ? cgroup_path : cgroup_path.substr(slash + 1);
  while (!leaf.empty() && (leaf.back() == '\n' || leaf.back() == ' '))
    leaf.pop_back();
  if (leaf.empty() || leaf.find("..") != std::string::npos)
    return std::nullopt;
  for (const char *root : {"/run/runc/", "/run/runc-ctrs/"})
    if (access((std::string(root) + leaf + "/state.json").c_str(), F_OK) == 0)
      return ContainerRef{"runc", leaf, ""};
  if (containerd_runc_state_exists(leaf)) // ctr, CRI
    return ContainerRef{"containerd", leaf, ""};
  return std::nullopt;
}

// The unified-hierarchy path ("0::/x/y") of a /proc/PID/cgroup text.
std::string unified_path(const std::string &text) {
  auto pos = text.find("0::");
  while (pos != std::string::npos && pos > 0 && text[pos - 1] != '\n')
    pos = text.find("0::", pos + 1);
  if (pos == std::string::npos)
    return {};
  auto end = text.find('\n', pos);
  return text.substr(pos + 3, end == std::string::npos ? std::string::npos
                                                       : end - pos - 3);
}

std::optional<ContainerRef> ref_from_cgroup_text(const std::string &text) {
  // runc's state dir first: a named runc container has no id shape at all.
  if (auto ref = runc_by_state(unified_path(text)))
    return ref;
  return container_from_proc_cgroup(text);
}

} // namespace

namespace {

void set_key(ContainerIdentity &ci) {
  std::string short_name = ci.name.empty() ? ci.ref.id.substr(0, 12) : ci.name;
  // A --rootfs container has no image: its name is the stable key.
  // The pod's owner (a Deployment's pods share it), from the pod's name.
  ci.key = workload_key(ci.namespace_, ci.pod.empty() ? "" : pod_owner(ci.pod),
                        ci.name, ci.image, short_name, ci.ref.id);
}

} // namespace

IdentityLookup::IdentityLookup(Fn fn, std::size_t max_queue)
    : fn_(std::move(fn)), max_(max_queue), worker_([this] { work(); }) {}

IdentityLookup::~IdentityLookup() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

bool IdentityLookup::submit(const ContainerIdentity &ci) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= max_) {
      ++dropped_;
      return false;
    }
    queue_.push_back(ci);
  }
  wake_.notify_one();
  return true;
}

void IdentityLookup::work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_)
      return;
    ContainerIdentity ci = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    try {
      fn_(ci);
    } catch (const std::exception &) {
      // A lookup that fails leaves the identity as it was.
    }
    lock.lock();
    --running_;
    done_.push_back(std::move(ci));
    if (queue_.empty() && running_ == 0)
      idle_.notify_all();
  }
}

std::vector<ContainerIdentity> IdentityLookup::take_done() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ContainerIdentity> out;
  out.swap(done_);
  return out;
}

bool IdentityLookup::wait_idle(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [this] { return queue_.empty() && running_ == 0; });
}

std::size_t IdentityLookup::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + running_;
}

std::uint64_t IdentityLookup::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

bool ScopeResolver::pending(std::uint64_t scope) const {
  const ContainerIdentity *id = find(scope);
  return id && id->pending;
}

std::size_t ScopeResolver::apply_lookups() {
  if (!lookup_)
    return 0;
  std::vector<ContainerIdentity> done = lookup_->take_done();
  for (ContainerIdentity &ci : done) {
    auto it = by_id_.find(ci.ref.id);
    if (it == by_id_.end())
      continue;
    if (ci.name.empty()) // the runtime does not know it: keep the monitor's
      ci.name = it->second.name;
    ci.pending = false;
    set_key(ci);
    it->second = ci;
    for (auto &[scope, id] : cache_)
      if (id && id->ref.id == ci.ref.id)
        id = ci;
  }
  return done.size();
}

const ContainerIdentity *ScopeResolver::store(std::uint64_t scope,
                                              std::optional<ContainerRef> ref,
                                              std::uint32_t ppid,
                                              std::vector<std::string> cgroups,
                                              bool cgroup_partial) {
  if (!ref) // a ctr/CRI container whose runc state is out of reach
    if (auto shim = shim_container(ppid))
      ref = ContainerRef{shim->first == "moby" ? "docker" : "containerd",
                         shim->second, ""};
  if (!ref) {
    cache_[scope] = std::nullopt;
    return nullptr;
  }
  auto it = by_id_.find(ref->id);
  if (it == by_id_.end()) {
    ContainerIdentity ci;
    ci.ref = *ref;
    ci.cgroups = std::move(cgroups);
    ci.cgroup_partial = cgroup_partial;
    // Read now: the monitor may be gone by the time the runtime answers.
    std::string monitor_name = name_from_monitor(ppid);
    // docker, containerd and CRI-O state is read now, from disk (cheap;
    // the shim that leads to the bundle may be gone later); what needs a
    // runtime's CLI goes to the lookup worker.
    if (!from_runtime_state(ci, ppid)) {
      if (lookup_)
        ci.pending = lookup_->submit(ci);
      else
        identity_from_runtime(ci);
    }
    if (ci.name.empty())
      ci.name = monitor_name;
    set_key(ci);
    it = by_id_.emplace(ref->id, ci).first;
  }
  cache_[scope] = it->second;
  return &*cache_[scope];
}

const ContainerIdentity *ScopeResolver::on_scope_event(const cs_event &e) {
  std::uint64_t scope = e.key.scope;
  if (auto it = cache_.find(scope); it != cache_.end())
    return it->second ? &*it->second : nullptr;
  if (e.key.kind != CS_SCOPE_CONTAINER)
    return nullptr;
  std::string text = read_file("/proc/" + std::to_string(e.pid) + "/cgroup");
  std::optional<ContainerRef> ref;
  std::vector<std::string> cgroups = cgroup_paths(text);
  bool partial = false;
  if (!text.empty())
    ref = ref_from_cgroup_text(text);
  if (cgroups.empty()) {
    std::string leaf(e.cg_leaf, strnlen(e.cg_leaf, sizeof e.cg_leaf));
    std::string parent(e.cg_parent, strnlen(e.cg_parent, sizeof e.cg_parent));
    if (!leaf.empty()) {
      cgroups.push_back("/" + parent + "/" + leaf);
      partial = true;
    }
  }
  if (!ref) {
    // The process is gone: fall back to the names captured at exec.
    std::string leaf(e.cg_leaf, strnlen(e.cg_leaf, sizeof e.cg_leaf));
    std::string parent(e.cg_parent, strnlen(e.cg_parent, sizeof e.cg_parent));
    if (!leaf.empty())
      ref = container_from_cgroup_path("/" + parent + "/" + leaf);
    if (!ref && !leaf.empty())
      ref = runc_by_state(leaf);
  }
  return store(scope, ref, e.ppid, std::move(cgroups), partial);
}

const ContainerIdentity *ScopeResolver::resolve_pid(std::uint64_t scope,
                                                    std::uint32_t pid) {
  if (auto it = cache_.find(scope); it != cache_.end())
    return it->second ? &*it->second : nullptr;
  std::string text = read_file("/proc/" + std::to_string(pid) + "/cgroup");
  if (text.empty())
    return nullptr; // don't cache: maybe another pid will tell
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  std::uint32_t ppid = 0;
  if (auto rp = stat.rfind(')'); rp != std::string::npos)
    std::sscanf(stat.c_str() + rp + 1, " %*c %u", &ppid);
  return store(scope, ref_from_cgroup_text(text), ppid, cgroup_paths(text));
}

const ContainerIdentity *ScopeResolver::find(std::uint64_t scope) const {
  auto it = cache_.find(scope);
  return it != cache_.end() && it->second ? &*it->second : nullptr;
}

void ScopeResolver::describe(Profile &p, const ContainerIdentity &id) {
  p.workload.kind = "container";
  p.workload.id = id.ref.id;
  p.workload.runtime = id.ref.runtime;
  p.workload.name = id.name.empty() ? id.ref.id.substr(0, 12) : id.name;
  p.workload.image = id.image;
  p.workload.pod = id.pod;
  p.workload.ns = id.namespace_;
  p.workload.service = id.service;
  p.workload.key = id.key;
}

} // namespace capscope

namespace capscope {

Result<RunningContainer> find_running_container(const std::string &query) {
  if (query.empty())
    return Error{EINVAL, "--container needs a container id or name"};
  // Names go through the runtime's CLI; ids match cgroup paths directly.
  std::string want = query;
  if (!safe_id(query) || query.size() < 4) {
    for (const char *tool : {"podman", "docker"}) {
      if (!have(tool) || query.find_first_of("'\"\\$`; ") != std::string::npos)
        continue;
      std::string id = run_tool(std::string(tool) +
                                " inspect --type container --format "
                                "'{{.Id}}' '" +
                                query + "'");
      while (!id.empty() && (id.back() == '\n' || id.back() == ' '))
        id.pop_back();
      if (!id.empty() && safe_id(id)) {
        want = id;
        break;
      }
    }
  }
  RunningContainer rc;
  DIR *proc = opendir("/proc");
  if (!proc)
    return Error{errno, "cannot read /proc"};
  while (dirent *d = readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(d->d_name[0])))
      continue;
    std::string text = read_file(std::string("/proc/") + d->d_name + "/cgroup");
    auto ref = container_from_proc_cgroup(text);
    if (!ref || ref->id.rfind(want, 0) != 0)
      continue;
    if (!rc.id.empty() && rc.id != ref->id) {
      closedir(proc);
      return Error{EINVAL, "'" + query +
                               "' matches more than one container; "
                               "give more of the id"};
    }
    rc.id = ref->id;
    rc.pids.push_back(std::atoi(d->d_name));
  }
  closedir(proc);
  if (rc.pids.empty())
    return Error{ENOENT, "no running container '" + query + "'"};
  return rc;
}

} // namespace capscope
