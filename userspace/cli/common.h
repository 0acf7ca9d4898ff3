// common.h - what every command needs: privilege and kernel checks, the
// tracer configuration derived from the noise table, clocks, output.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "core/format.h"
#include "core/kallsyms.h"
#include "core/profile.h"
#include "core/result.h"
#include "loader/tracer.h"

namespace capscope {

// Set by SIGINT/SIGTERM handlers installed with install_stop_signals().
extern volatile std::sig_atomic_t g_stop_signal;
void install_stop_signals();

// Throws Fatal with a one-line reason when capscope cannot trace here:
// not root / lacking CAP_BPF+CAP_PERFMON, no kernel BTF.
void require_tracing_privileges();

std::uint32_t mntns_of_pid(int pid); // 0 when unknown
// The host's (initial) mount namespace, even from inside a private one.
std::uint32_t host_mntns();
std::string kernel_release();

// Noise ranges (from kallsyms) and the capabilities whose class needs a
// stack, for the BPF side.
void configure_noise(TracerConfig &cfg, const Kallsyms &ksyms);

// Opens the tracer; on failure throws Fatal naming each refused mode.
std::unique_ptr<Tracer> open_tracer(const TracerConfig &cfg, bool verbose);

// --format NAME, or Fatal("CMD: unknown format ... (valid: ...)").
Format format_or_die(const char *cmd, const std::string &name);
// A duration option ("30s", "5m"): milliseconds, or Fatal("CMD: bad OPT").
std::int64_t duration_or_die(const char *cmd, const char *option,
                             const std::string &text);

// A saved profile, or Fatal("CMD: <why>") - for commands that take files.
Profile load_profile_or_die(const char *cmd, const std::string &path);

// One field of /proc/PID/status ("CapEff:", "Seccomp:"), "" if unreadable.
std::string proc_status_field(int pid, const char *field);
// A capability mask field of /proc/PID/status; 0 if unreadable.
std::uint64_t proc_status_mask(int pid, const char *field);

std::int64_t wall_now_ns();
std::int64_t mono_now_ns();

// Writes text to "-" (stdout), a file (atomically), or stderr when path is
// empty.
void emit_output(const std::string &path, const std::string &text);

} // namespace capscope
