// trace_session.h - one trace session, shared by `record`, `record
// --container` and the daemon: attach (or replay), kallsyms, noise
// configuration, the aggregator, draining events, counts and stats, scope
// resolution to containers, adopting running processes and stamping
// profiles with where and how they were traced.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/aggregate.h"
#include "core/kallsyms.h"
#include "core/profile.h"
#include "loader/tracer.h"
#include "session/container_info.h"
#include "session/event_source.h"

namespace capscope {

// The running kernel's symbols (/proc/kallsyms, /proc/modules).
Kallsyms host_kallsyms();

// --attach NAME, or Fatal("CMD: unknown --attach ... (valid: ...)").
AttachMode attach_mode_or_die(const char *cmd, const std::string &name);

// Noise ranges (from kallsyms) and the capabilities whose class needs a
// stack, for the BPF side.
void configure_noise(TracerConfig &cfg, const Kallsyms &ksyms);
// The test and benchmark switches from the environment:
// CAPSCOPE_NO_FAST_CLASS=1, CAPSCOPE_NO_CACHES=1, CAPSCOPE_NO_SITE_CACHE=1,
// CAPSCOPE_COMPAT_OBJECT=1 and CAPSCOPE_MAP_ENTRIES=MAP=N[,MAP=N...]
// (shrunk maps, for loss tests).
void tracer_switches_from_env(TracerConfig &cfg);
// "seen=16,tasks=64" -> {{"seen",16},{"tasks",64}}; Fatal on bad input.
std::vector<std::pair<std::string, std::uint32_t>>
parse_map_entries(const std::string &spec);
// Opens the tracer; on failure throws Fatal naming each refused mode.
// CAPSCOPE_LIBBPF_DEBUG in the environment adds libbpf's debug lines to -v.
std::unique_ptr<Tracer> open_tracer(const TracerConfig &cfg, bool verbose);

struct SessionOptions {
  AttachMode attach = AttachMode::Auto;
  std::uint32_t mode = CS_MODE_RECORD; // enum cs_mode
  std::uint32_t host_mntns = 0;
  bool diagnose = false;
  bool verbose = false;
  // Let the BPF side batch exec events of executables already named (no
  // wake-up per exec). Off where an exec must be seen while its process
  // lives (a ctr/nerdctl client's arguments are read from /proc).
  bool batch_exec_events = true;
};

class TraceSession : private EventSink {
public:
  // Live: loads kallsyms, configures noise, attaches the tracer. Throws
  // Fatal when it cannot.
  static std::unique_ptr<TraceSession> open(const SessionOptions &o);
  // Over any source (a replay in tests); ksyms symbolizes raw stacks.
  explicit TraceSession(std::unique_ptr<EventSource> source,
                        Kallsyms ksyms = {}, std::int64_t mono_to_wall_ns = 0);

  EventSource &source() { return *source_; }
  const EventSource &source() const { return *source_; }
  Aggregator &aggregator() { return agg_; }
  const Aggregator &aggregator() const { return agg_; }
  ScopeResolver &resolver() { return resolver_; }
  const char *attach_mode() const { return source_->attach_mode(); }
  double attach_ms() const { return attach_ns_ / 1e6; }

  // Also called for every raw event, after the session's own handling.
  void on_raw_event(std::function<void(const cs_event &)> fn) {
    hook_ = std::move(fn);
  }
  // Handles what arrives within timeout_ms; returns how many.
  int poll(int timeout_ms);
  // Handles everything already queued.
  void drain();
  // Waits (up to timeout_ms) for the container lookups still running and
  // takes their answers: before a profile is final.
  void settle_identities(int timeout_ms);
  // Takes the source's current counts into the aggregator.
  void refresh_counts();
  TracerStats stats() const { return source_->read_stats(); }

  // The executable a scope's first exec ran ("" when none was seen).
  std::string scope_exe(std::uint64_t scope) const;
  // The container a scope is, resolving it first from pid (or a pid seen
  // in it) when no event named it; nullptr when it is none (yet).
  const ContainerIdentity *resolve(std::uint64_t scope, std::uint32_t pid = 0);
  // Forgets a scope everywhere: the source's keys, the aggregator, the
  // resolver (after its profile is persisted).
  void forget_scope(std::uint64_t scope);

  // Adopts every task of a running process into scope, past its exec
  // gate, and names the scope from it (a container scope; a command scope,
  // as `record --unit` uses, is named by its caller). Returns the tasks
  // tracked.
  std::size_t adopt_process(int pid, std::uint64_t scope,
                            std::uint8_t kind = CS_SCOPE_CONTAINER);
  // Adopts every process outside the host's mount namespace (containers
  // and other private namespaces already running when the daemon starts).
  std::size_t adopt_outside_host(std::uint32_t host_mntns);

  // Where the profile was traced: kernel, architecture, attach mode.
  void stamp(Profile &p) const;
  // What was lost: ring-buffer events and map overflows.
  static void stamp_losses(Profile &p, const TracerStats &s);
  // A profile's time window from its checks' first and last times.
  static void window_from_checks(Profile &p);

private:
  void on_event(const cs_event &e) override;
  void on_context(const cs_key &key, const CheckContext &ctx) override;

  std::unique_ptr<EventSource> source_;
  Kallsyms ksyms_;
  Aggregator agg_;
  ScopeResolver resolver_;
  std::map<std::uint64_t, std::string> scope_exe_;
  std::function<void(const cs_event &)> hook_;
  std::int64_t attach_ns_ = 0;
  std::string kernel_;
};

} // namespace capscope
