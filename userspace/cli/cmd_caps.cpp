// cmd_caps.cpp - `capscope caps PID`: a process's effective, permitted,
// inheritable, bounding and ambient sets by name (the getpcaps view), and
// the container it runs in, from /proc/PID/status and /proc/PID/cgroup.
#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

#include "cli/commands.h"
#include "core/caps.h"
#include "core/container.h"
#include "core/result.h"

namespace capscope {

namespace {

std::string set_text(CapMask m) {
  if ((m & all_caps_mask()) == all_caps_mask()) {
    std::string out = "ALL";
    CapMask extra = m & ~all_caps_mask();
    for (const auto &n : cap_names(extra))
      out += "," + n;
    return out;
  }
  if (!m)
    return "(none)";
  // Nearly everything (a root shell with one capability dropped): say
  // what is missing rather than list 40 names.
  CapMask missing = all_caps_mask() & ~m;
  if (std::popcount(missing) <= 8) {
    std::vector<std::string> names = cap_names(missing);
    std::sort(names.begin(), names.end());
    std::string out = "ALL except ";
    for (std::size_t i = 0; i < names.size(); ++i)
      out += (i ? "," : "") + names[i];
    return out;
  }
  std::vector<std::string> names = cap_names(m);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto &n : names)
    out += (out.empty() ? "" : ",") + n;
  return out;
}

// `podman inspect` / `docker inspect` for a name; "" when the runtime CLI
// is not there or does not know the id.
std::string container_name(const ContainerRef &ref) {
  const char *cli = ref.runtime == "podman"   ? "podman"
                    : ref.runtime == "docker" ? "docker"
                                              : nullptr;
  if (!cli || ref.id.empty() ||
      !std::all_of(ref.id.begin(), ref.id.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      }))
    return {};
  std::string cmd = std::string(cli) + " inspect --format '{{.Name}}' " +
                    ref.id + " 2>/dev/null";
  FILE *f = popen(cmd.c_str(), "r");
  if (!f)
    return {};
  std::array<char, 256> buf{};
  std::string out;
  if (std::fgets(buf.data(), buf.size(), f))
    out = buf.data();
  pclose(f);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  if (!out.empty() && out.front() == '/')
    out.erase(0, 1); // docker's names start with '/'
  return out;
}

} // namespace

int run_caps(const CapsConfig &c) {
  std::string pid = c.pid;
  bool numeric = !pid.empty() && pid.size() <= 10 &&
                 std::all_of(pid.begin(), pid.end(), [](char ch) {
                   return std::isdigit(static_cast<unsigned char>(ch)) != 0;
                 });
  if (!numeric && pid != "self")
    throw Fatal("caps: '" + pid + "' is not a process id");
  if (pid == "self")
    pid = std::to_string(getpid());

  std::ifstream status("/proc/" + pid + "/status");
  if (!status)
    throw Fatal(errno == ENOENT ? "caps: no process " + pid
                                : "caps: cannot read /proc/" + pid +
                                      "/status: " + std::strerror(errno));
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(status, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    fields[line.substr(0, colon)] = v;
  }
  std::string uids = fields["Uid"];
  std::replace(uids.begin(), uids.end(), '\t', '/');
  std::printf("%s (%s), uid %s\n", pid.c_str(), fields["Name"].c_str(),
              uids.c_str());
  static const std::array<std::pair<const char *, const char *>, 5> kSets = {
      {{"effective", "CapEff"},
       {"permitted", "CapPrm"},
       {"inheritable", "CapInh"},
       {"bounding", "CapBnd"},
       {"ambient", "CapAmb"}}};
  for (const auto &[label, field] : kSets) {
    auto m = parse_hex_mask(fields[field]);
    if (!m)
      throw Fatal("caps: /proc/" + pid + "/status has no readable " + field);
    std::printf("  %-12s %s  %s\n", label, ("0x" + fields[field]).c_str(),
                set_text(*m).c_str());
  }

  std::ifstream cg("/proc/" + pid + "/cgroup");
  std::stringstream text;
  text << cg.rdbuf();
  auto ref = container_from_proc_cgroup(text.str());
  if (!ref) {
    std::printf("  %-12s none (not in a container's cgroup)\n", "container");
    return 0;
  }
  std::string name = container_name(*ref);
  std::printf("  %-12s %s %s%s\n", "container", ref->runtime.c_str(),
              ref->id.c_str(), name.empty() ? "" : (" (" + name + ")").c_str());
  if (!ref->pod_uid.empty())
    std::printf("  %-12s %s\n", "pod uid", ref->pod_uid.c_str());
  return 0;
}

} // namespace capscope
