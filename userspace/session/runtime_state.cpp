// runtime_state.cpp - finding and reading the runtimes' state files for
// one container id (runtime_state.h); the parsing is core/oci_state.
#include "session/runtime_state.h"

#include <dirent.h>
#include <fstream>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <vector>

namespace capscope {

namespace {

std::string read_whole(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string &p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

bool safe(const std::string &id) {
  return !id.empty() && id.find('/') == std::string::npos && id != "." &&
         id != "..";
}

std::vector<std::string> subdirs(const std::string &dir) {
  std::vector<std::string> out;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (e->d_name[0] != '.')
        out.push_back(dir + "/" + e->d_name);
    closedir(d);
  }
  return out;
}

// The value of `--flag VALUE` or `--flag=VALUE` in a NUL-separated cmdline.
std::string flag_value(const std::string &cmdline, const std::string &flag) {
  std::vector<std::string> args;
  std::size_t pos = 0;
  while (pos < cmdline.size()) {
    auto end = cmdline.find('\0', pos);
    if (end == std::string::npos)
      end = cmdline.size();
    args.push_back(cmdline.substr(pos, end - pos));
    pos = end + 1;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size())
      return args[i + 1];
    if (args[i].rfind(flag + "=", 0) == 0)
      return args[i].substr(flag.size() + 1);
  }
  return {};
}

struct DockerRoots {
  std::vector<std::string> data, exec;
};

// Every running dockerd's data and exec roots (the defaults when not
// given), rescanned at most every few seconds.
DockerRoots docker_roots() {
  static std::mutex mu;
  static DockerRoots cached;
  static time_t when = 0;
  std::lock_guard<std::mutex> g(mu);
  time_t now = time(nullptr);
  if (when && now - when < 5)
    return cached;
  DockerRoots r;
  if (DIR *proc = opendir("/proc")) {
    while (dirent *d = readdir(proc)) {
      if (d->d_name[0] < '1' || d->d_name[0] > '9')
        continue;
      std::string base = std::string("/proc/") + d->d_name;
      std::string comm = read_whole(base + "/comm");
      if (comm != "dockerd\n")
        continue;
      std::string cmd = read_whole(base + "/cmdline");
      std::string data = flag_value(cmd, "--data-root");
      std::string exec = flag_value(cmd, "--exec-root");
      r.data.push_back(data.empty() ? "/var/lib/docker" : data);
      r.exec.push_back(exec.empty() ? "/run/docker" : exec);
    }
    closedir(proc);
  }
  if (r.data.empty()) {
    r.data.push_back("/var/lib/docker");
    r.exec.push_back("/run/docker");
  }
  cached = r;
  when = now;
  return r;
}

// runc state dirs that may hold `id`: runc's default root, containerd's
// (per namespace), docker's (per namespace under its exec root).
std::vector<std::string> runc_state_candidates(const std::string &id) {
  std::vector<std::string> out{"/run/runc/" + id + "/state.json"};
  for (const auto &ns : subdirs("/run/containerd/runc"))
    out.push_back(ns + "/" + id + "/state.json");
  for (const auto &exec : docker_roots().exec)
    for (const auto &ns : subdirs(exec + "/runtime-runc"))
      out.push_back(ns + "/" + id + "/state.json");
  return out;
}

std::optional<OciIdentity> from_bundle(const std::string &id) {
  for (const auto &state : runc_state_candidates(id)) {
    std::string text = read_whole(state);
    if (text.empty())
      continue;
    auto bundle = runc_state_bundle(text);
    if (!bundle)
      continue;
    if (auto ident = oci_config_identity(read_whole(*bundle + "/config.json")))
      return ident;
  }
  return std::nullopt;
}

} // namespace

std::optional<std::pair<std::string, std::string>>
shim_container(std::uint32_t shim_pid) {
  if (!shim_pid)
    return std::nullopt;
  std::string cmd =
      read_whole("/proc/" + std::to_string(shim_pid) + "/cmdline");
  auto first = cmd.substr(0, cmd.find('\0'));
  if (first.find("containerd-shim") == std::string::npos)
    return std::nullopt;
  std::string ns = flag_value(cmd, "-namespace"), id = flag_value(cmd, "-id");
  if (id.empty())
    return std::nullopt;
  return std::make_pair(ns, id);
}

std::optional<OciIdentity>
identity_from_runtime_state(const std::string &runtime, const std::string &id,
                            std::uint32_t parent) {
  if (!safe(id))
    return std::nullopt;
  if (runtime != "docker") {
    auto shim = shim_container(parent);
    if (shim && shim->second == id) {
      std::string text =
          read_whole("/proc/" + std::to_string(parent) + "/cwd/config.json");
      if (auto ident = oci_config_identity(text))
        return ident;
    }
  }
  if (runtime == "docker") {
    for (const auto &root : docker_roots().data) {
      std::string text =
          read_whole(root + "/containers/" + id + "/config.v2.json");
      if (text.empty())
        continue;
      if (auto ident = docker_config_identity(text))
        return ident;
    }
    return std::nullopt;
  }
  if (runtime == "containerd" || runtime == "cri-o" || runtime == "runc")
    return from_bundle(id);
  return std::nullopt;
}

bool containerd_runc_state_exists(const std::string &id) {
  if (!safe(id))
    return false;
  for (const auto &ns : subdirs("/run/containerd/runc"))
    if (exists(ns + "/" + id + "/state.json"))
      return true;
  return false;
}

} // namespace capscope
