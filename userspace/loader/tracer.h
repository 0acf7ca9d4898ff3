// tracer.h - the only interface to the BPF side: open, configure, load and
// attach the skeleton in one of three attach modes, register tasks, read the
// ring buffer and the counts. Nothing outside userspace/loader includes
// libbpf or the skeleton.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capscope.h"
#include "core/aggregate.h"
#include "core/result.h"

namespace capscope {

enum class AttachMode { Auto, Tracepoint, Fexit, Kprobe };

const char *attach_mode_name(AttachMode m); // "tracepoint", "fexit", ...
bool parse_attach_mode(const std::string &s, AttachMode *out);

struct TracerConfig {
  AttachMode attach = AttachMode::Auto;
  std::uint32_t mode = CS_MODE_RECORD; // enum cs_mode
  std::uint32_t host_mntns = 0;
  std::uint64_t doubt_caps = 0;
  std::uint64_t exec_only_caps = 0; // see exec_only_caps() in core/noise.h
  std::vector<cs_range> ranges;
  // cap_capable and security_capable (start 0: unknown), for classifying
  // doubtful checks without a stack in tracepoint mode.
  cs_range fn_capable{};
  cs_range fn_security_capable{};
  // The syscall dispatch functions (do_syscall_64, ...): the call-site
  // cache's walks end there (at most CS_MAX_STOP_RANGES).
  std::vector<cs_range> stops;
  // trace mode filters
  std::uint32_t trace_tgid = 0;
  std::int32_t trace_cap = -1;
  bool trace_denied = false;
  bool trace_unique = false;
  bool diagnose = false; // also follow syscall outcomes (sys_enter/exit)
  // Test and benchmark switches (set by the session layer from the
  // environment, see tracer_switches_from_env in session/trace_session.h):
  bool no_fast_class = false; // every doubtful check takes the real stack
  bool no_caches = false;     // one-slot task/count caches: hash maps only
  bool compat_object = false; // load the compat object (bpf/cs_compat.h)
                              // first, as on a kernel older than 5.12
  bool no_site_cache = false; // no call-site cache (the fast classifier only)
  // Loss-accounting tests: max_entries of named maps (tasks, counts, seen,
  // inflight, kprobe_pending, task_slots, count_slots, dead_scopes; events
  // in bytes, a power of two of at least a page) set before load, so a
  // test can fill each one. Unknown names are refused by Tracer::open.
  std::vector<std::pair<std::string, std::uint32_t>> map_entries;
};

struct AttachAttempt {
  AttachMode mode;
  bool ok;
  std::string error;   // why it was refused
  bool compat = false; // loaded as the compat object (no BPF atomics)
};

// Summed over CPUs. The *_full counters are losses (a map insertion or a
// ring-buffer reserve that failed); the *_busy ones are cache slots found
// taken, where the entry went to its hash map instead (no loss).
struct TracerStats {
  std::uint64_t lost_events = 0; // ring buffer full
  std::uint64_t tasks_full = 0;
  std::uint64_t counts_full = 0;
  std::uint64_t seen_full = 0;        // new keys not announced
  std::uint64_t kprobe_full = 0;      // kprobe_pending: checks lost
  std::uint64_t inflight_full = 0;    // diagnose: syscalls not followed
  std::uint64_t dead_scopes_full = 0; // forgotten scopes' cache slots kept
  std::uint64_t task_slots_busy = 0;
  std::uint64_t count_slots_busy = 0;
  std::uint64_t checks = 0; // checks attributed to a scope
  std::uint64_t stack_fail = 0;
  std::uint64_t fast_class = 0;    // doubtful checks classified without a stack
  std::uint64_t fast_mismatch = 0; // ... whose sampled stack disagreed
  // The call-site cache (bpf/cs_sitecache.h), part of fast_class:
  std::uint64_t site_hit = 0;      // classified from cached call sites
  std::uint64_t site_miss = 0;     // an unknown frame: took the real stack
  std::uint64_t site_evict = 0;    // an entry replaced another (cache full)
  std::uint64_t site_mismatch = 0; // a sampled real stack disagreed
};

class Tracer {
public:
  ~Tracer();
  Tracer(const Tracer &) = delete;
  Tracer &operator=(const Tracer &) = delete;

  // Loads and attaches. With Auto, tries tracepoint, fexit, kprobe in turn.
  // `attempts` (if given) receives what each mode did.
  static Result<std::unique_ptr<Tracer>>
  open(const TracerConfig &cfg, std::vector<AttachAttempt> *attempts);

  AttachMode mode() const { return mode_; }
  // Whether the compat object (bpf/cs_compat.h: no BPF atomic instructions,
  // no task cache) was loaded, because this kernel refuses atomics.
  bool compat_object() const { return compat_; }

  Result<void> track(std::uint32_t tid, std::uint64_t scope, std::uint8_t phase,
                     std::uint8_t kind);
  // tgids of every tracked task (for stopping a workload).
  std::vector<std::uint32_t> tracked_tgids() const;
  std::size_t tracked_count() const;
  // (tgid, scope) of every tracked task; one entry per task (thread).
  std::vector<std::pair<std::uint32_t, std::uint64_t>> tracked() const;

  // Waits up to timeout_ms for events; calls fn for each. Returns the
  // number handled or -errno.
  int poll(int timeout_ms, const std::function<void(const cs_event &)> &fn);
  int ring_fd() const;

  std::vector<KeyCount> read_counts() const;
  TracerStats read_stats() const;
  // Removes every key of a scope (daemon eviction after persisting).
  void forget_scope(std::uint64_t scope);
  // User space has named this executable: its later execs need not wake
  // the reader (see emit_task_event in capscope.bpf.c).
  void exe_known(const cs_exe_id &id);

  struct Impl; // libbpf state, defined in tracer.cpp

private:
  Tracer() = default;
  std::unique_ptr<Impl> impl_;
  AttachMode mode_ = AttachMode::Auto;
  bool compat_ = false;
};

// libbpf's own log: shown with -v, else kept quiet; its debug lines only
// when `debug` is also set.
void set_libbpf_verbose(bool verbose, bool debug = false);

} // namespace capscope
