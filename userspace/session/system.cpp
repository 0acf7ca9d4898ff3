// system.cpp - stop signals, privilege checks, namespaces, /proc and clocks.
#include "session/system.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/result.h"

namespace capscope {

volatile std::sig_atomic_t g_stop_signal = 0;

static void on_stop(int sig) { g_stop_signal = sig; }

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; // no SA_RESTART: interrupt waits so we notice at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

std::string proc_status_field(int pid, const char *field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  std::size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0) {
      std::size_t start = line.find_first_not_of(" \t", n);
      return start == std::string::npos ? std::string() : line.substr(start);
    }
  return {};
}

std::uint64_t proc_status_mask(int pid, const char *field) {
  std::string v = proc_status_field(pid, field);
  return v.empty() ? 0 : std::strtoull(v.c_str(), nullptr, 16);
}

std::string proc_exe(std::uint32_t pid) {
  char buf[4096];
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  if (n <= 0)
    return {};
  return std::string(buf, n);
}

bool proc_exe_is(std::uint32_t pid, std::uint64_t ino, std::uint32_t kdev) {
  struct stat st;
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  if (stat(link.c_str(), &st) != 0)
    return false;
  return st.st_ino == ino && major(st.st_dev) == (kdev >> 20) &&
         minor(st.st_dev) == (kdev & 0xfffff);
}

void require_tracing_privileges() {
  std::uint64_t eff = proc_status_mask(getpid(), "CapEff:");
  bool bpf = eff & cap_bit(kBpf), perfmon = eff & cap_bit(kPerfmon);
  bool admin = eff & cap_bit(kSysAdmin);
  if (!(bpf && perfmon) && !admin)
    throw Fatal(geteuid() != 0
                    ? "tracing needs root (or CAP_BPF and CAP_PERFMON); "
                      "run capscope with sudo"
                    : "tracing needs CAP_BPF and CAP_PERFMON, which this "
                      "root process lacks");
  struct stat st;
  if (stat("/sys/kernel/btf/vmlinux", &st) != 0)
    throw Fatal("this kernel has no BTF (/sys/kernel/btf/vmlinux is "
                "missing); capscope needs CONFIG_DEBUG_INFO_BTF=y");
}

std::uint32_t mntns_of_pid(int pid) {
  // readlink ("mnt:[4026531832]") rather than stat: stat of another
  // process's ns file can be refused where reading the link is not (seen
  // for pid 1 on these machines).
  char buf[64];
  std::string path = "/proc/" + std::to_string(pid) + "/ns/mnt";
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  const char *open = std::strchr(buf, '[');
  return open ? static_cast<std::uint32_t>(std::strtoul(open + 1, nullptr, 10))
              : 0;
}

std::uint32_t host_mntns() {
  // init's mount namespace; where init's ns links are unreadable (seen on
  // these machines), kthreadd's: kernel threads live in the initial
  // namespaces. Last resort: our own.
  if (std::uint32_t ns = mntns_of_pid(1))
    return ns;
  std::ifstream comm("/proc/2/comm");
  std::string name;
  if (std::getline(comm, name) && name == "kthreadd")
    if (std::uint32_t ns = mntns_of_pid(2))
      return ns;
  return mntns_of_pid(getpid());
}

std::string kernel_release() {
  struct utsname u {};
  uname(&u);
  return u.release;
}

std::int64_t wall_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

std::int64_t mono_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

} // namespace capscope
