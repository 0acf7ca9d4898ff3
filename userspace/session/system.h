// system.h - what the host tells the session layer: stop signals, tracing
// privileges, mount namespaces, /proc status and executables, clocks, and
// adopting the tasks of a process that is already running.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>

namespace capscope {

// Set by SIGINT/SIGTERM/SIGHUP handlers installed with
// install_stop_signals().
extern volatile std::sig_atomic_t g_stop_signal;
void install_stop_signals();

// Throws Fatal with a one-line reason when capscope cannot trace here:
// not root / lacking CAP_BPF+CAP_PERFMON, no kernel BTF.
void require_tracing_privileges();

std::uint32_t mntns_of_pid(int pid); // 0 when unknown
// The host's (initial) mount namespace, even from inside a private one.
std::uint32_t host_mntns();
std::string kernel_release();

// One field of /proc/PID/status ("CapEff:", "Seccomp:"), "" if unreadable.
std::string proc_status_field(int pid, const char *field);
// A capability mask field of /proc/PID/status; 0 if unreadable.
std::uint64_t proc_status_mask(int pid, const char *field);
// The executable /proc/PID/exe points at, "" when unreadable (a kernel
// thread, a process that is gone).
std::string proc_exe(std::uint32_t pid);
// Whether /proc/PID/exe is the file with inode `ino` on the device the
// kernel calls `kdev` (its internal encoding: major << 20 | minor).
bool proc_exe_is(std::uint32_t pid, std::uint64_t ino, std::uint32_t kdev);

std::int64_t wall_now_ns();
std::int64_t mono_now_ns();

// The scope of tasks adopted from /proc: /proc shows a mount namespace's
// inode, not the kernel's unique ns id, so adopted scopes get their own id
// space (top bit set) and never meet the ids BPF assigns.
inline std::uint64_t adopted_scope(std::uint32_t mntns_inum) {
  return (std::uint64_t{1} << 63) | mntns_inum;
}

} // namespace capscope
