// caps.cpp - the capability knowledge base and name/mask parsing helpers.
#include "core/caps.h"

#include <cctype>
#include <cstdio>

namespace capscope {
namespace {

// One row per capability, in number order. Meanings and risk notes are
// written for this project; Docker defaults follow moby's default set.
const std::vector<CapInfo> kCaps = {
    {0, "CHOWN", "change the owner and group of any file", true,
     "can hand files to other users or take ownership of sensitive ones"},
    {1, "DAC_OVERRIDE",
     "ignore read, write and execute permission bits on files", true,
     "reads and writes any file regardless of its mode bits"},
    {2, "DAC_READ_SEARCH",
     "ignore read permission on files and search permission on directories",
     false,
     "reads any file; with open_by_handle_at it can escape a container "
     "filesystem"},
    {3, "FOWNER",
     "act as the owner of any file for permission checks (chmod, utime, ...)",
     true, "can change the mode and attributes of files it does not own"},
    {4, "FSETID", "keep set-user-ID and set-group-ID bits when modifying files",
     true, "helps keep or plant setuid/setgid programs"},
    {5, "KILL", "send signals to processes owned by other users", true,
     "can kill or disrupt any process in its namespace"},
    {6, "SETGID", "change group IDs and the supplementary group list", true,
     "can become any group, including privileged ones"},
    {7, "SETUID", "change user IDs of the process freely", true,
     "can become any user, including root, within its namespace"},
    {8, "SETPCAP",
     "modify capability bounding set and pass capabilities to other programs",
     true, "can reshape the capability sets of itself and its children"},
    {9, "LINUX_IMMUTABLE", "set or clear the immutable and append-only flags",
     false, "can make tampered files undeletable or lift protection from logs"},
    {10, "NET_BIND_SERVICE", "bind sockets to ports below 1024", true,
     "can impersonate well-known services on privileged ports"},
    {11, "NET_BROADCAST", "send broadcasts and listen to multicast", false,
     "little on its own; mostly unused by the kernel today"},
    {12, "NET_ADMIN",
     "configure interfaces, routes, firewall rules and other network state",
     false, "can reroute, sniff or cut off traffic of the whole namespace"},
    {13, "NET_RAW", "open raw and packet sockets", true,
     "can forge packets and spoof addresses, e.g. ARP or DNS spoofing"},
    {14, "IPC_LOCK", "lock memory pages in RAM and use huge pages", false,
     "can pin large amounts of memory and starve the host"},
    {15, "IPC_OWNER", "bypass permission checks on System V IPC objects", false,
     "can read or alter other processes' shared memory and queues"},
    {16, "SYS_MODULE", "load and unload kernel modules", false,
     "runs arbitrary code in the kernel: full host compromise"},
    {17, "SYS_RAWIO", "perform raw I/O on ports, devices and physical memory",
     false, "can read and write host memory and hardware directly"},
    {18, "SYS_CHROOT", "use chroot and switch into other mount namespaces",
     true, "can set up filesystem views that confuse setuid programs"},
    {19, "SYS_PTRACE", "trace and inspect any process, read its memory", false,
     "can hijack other processes and steal their secrets"},
    {20, "SYS_PACCT", "turn process accounting on or off", false,
     "can hide activity from accounting or fill a disk with records"},
    {21, "SYS_ADMIN",
     "a broad grab bag: mount, namespaces, quotas, hostname and much more",
     false, "close to full root; the classic route to escaping a container"},
    {22, "SYS_BOOT", "reboot the system and load a new kernel", false,
     "can take down the host or boot a kernel of its choosing"},
    {23, "SYS_NICE",
     "raise priority, set real-time scheduling and CPU/memory affinity", false,
     "can monopolise CPUs and starve other workloads"},
    {24, "SYS_RESOURCE", "exceed resource limits and quotas", false,
     "can exhaust disk, memory or other shared limits"},
    {25, "SYS_TIME", "set the system clock", false,
     "can change host time, breaking logs, certificates and tokens"},
    {26, "SYS_TTY_CONFIG", "perform privileged operations on virtual terminals",
     false, "can tamper with host consoles"},
    {27, "MKNOD", "create device special files", true,
     "can create device nodes; dangerous if device cgroup rules are loose"},
    {28, "LEASE", "take file leases on files it does not own", false,
     "can stall other processes that open the leased files"},
    {29, "AUDIT_WRITE", "write records to the kernel audit log", true,
     "can forge or flood audit records"},
    {30, "AUDIT_CONTROL",
     "configure audit rules and enable or disable auditing", false,
     "can switch off auditing to hide its tracks"},
    {31, "SETFCAP", "set file capabilities on executables", true,
     "can mark programs to gain capabilities when run"},
    {32, "MAC_OVERRIDE", "bypass mandatory access control such as Smack", false,
     "can sidestep the LSM policy meant to confine it"},
    {33, "MAC_ADMIN", "change mandatory access control policy and labels",
     false, "can rewrite the security policy that confines it"},
    {34, "SYSLOG", "use privileged syslog operations and read kernel logs",
     false, "can read kernel addresses from logs and clear the ring buffer"},
    {35, "WAKE_ALARM", "set timers that wake the system from suspend", false,
     "can keep the machine awake and drain power"},
    {36, "BLOCK_SUSPEND", "prevent the system from suspending", false,
     "can block power management"},
    {37, "AUDIT_READ", "read the audit log through a multicast netlink socket",
     false, "can observe security events of the whole host"},
    {38, "PERFMON", "use performance monitoring and perf_event facilities",
     false, "can observe other processes and the kernel through perf"},
    {39, "BPF", "load BPF programs and create BPF maps", false,
     "with PERFMON or NET_ADMIN it can read kernel memory and watch the host"},
    {40, "CHECKPOINT_RESTORE",
     "checkpoint and restore processes, e.g. choose PIDs and read mappings",
     false, "can pick PIDs and inspect other processes' state"},
};

std::string_view trim(std::string_view s) {
  auto space = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
  };
  while (!s.empty() && space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && space(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

const std::vector<CapInfo> &all_caps() { return kCaps; }

const CapInfo *cap_info(int number) {
  if (number < 0 || number >= static_cast<int>(kCaps.size()))
    return nullptr;
  return &kCaps[static_cast<std::size_t>(number)];
}

std::string cap_name(int number) {
  if (const CapInfo *info = cap_info(number))
    return std::string(info->name);
  return "CAP_" + std::to_string(number);
}

std::optional<int> parse_cap(std::string_view text) {
  std::string name = upper(trim(text));
  if (name.starts_with("CAP_"))
    name.erase(0, 4);
  if (name.empty())
    return std::nullopt;
  for (const CapInfo &info : kCaps)
    if (info.name == name)
      return info.number;
  return std::nullopt;
}

// User text quoted in a one-line error: control bytes shown as \xNN so a
// newline in an argument cannot split the message (found by
// tests/fuzz/fuzz_args).
static std::string shown(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<CapMask> parse_cap_list(std::string_view text,
                                      std::string *error) {
  auto fail = [&](std::string message) -> std::optional<CapMask> {
    if (error)
      *error = std::move(message);
    return std::nullopt;
  };
  CapMask mask = 0;
  if (trim(text).empty())
    return mask;
  std::string_view rest = text;
  while (true) {
    std::size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    if (item.empty())
      return fail("empty capability name in list '" + shown(text) + "'");
    std::optional<int> cap = parse_cap(item);
    if (!cap)
      return fail("unknown capability '" + shown(item) +
                  "'; valid names: " + valid_cap_names());
    mask |= CapMask{1} << *cap;
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
  }
  return mask;
}

std::vector<int> caps_in(CapMask mask) {
  std::vector<int> out;
  for (int bit = 0; bit < 64; ++bit)
    if (mask & (CapMask{1} << bit))
      out.push_back(bit);
  return out;
}

std::vector<std::string> cap_names(CapMask mask) {
  std::vector<std::string> out;
  for (int number : caps_in(mask))
    out.push_back(cap_name(number));
  return out;
}

CapMask docker_default_mask() {
  CapMask mask = 0;
  for (const CapInfo &info : kCaps)
    if (info.docker_default)
      mask |= CapMask{1} << info.number;
  return mask;
}

CapMask all_caps_mask() { return (CapMask{1} << kCapCount) - 1; }

std::optional<CapMask> parse_hex_mask(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X"))
    text.remove_prefix(2);
  if (text.empty() || text.size() > 16)
    return std::nullopt;
  CapMask mask = 0;
  for (char c : text) {
    int v = hex_value(c);
    if (v < 0)
      return std::nullopt;
    mask = (mask << 4) | static_cast<CapMask>(v);
  }
  return mask;
}

std::string valid_cap_names() {
  std::string out;
  for (const CapInfo &info : kCaps) {
    if (!out.empty())
      out += ", ";
    out += info.name;
  }
  return out;
}

} // namespace capscope
