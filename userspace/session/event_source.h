// event_source.h - where a trace session's events come from: the live
// kernel tracer (LiveSource, the libbpf loader) or a replayed recording
// (ReplaySource: `record --events` streams, scope events and count
// snapshots), so everything above the source runs the same way in tests
// without root as it does live.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <istream>

#include "capscope.h"
#include "core/aggregate.h"
#include "core/result.h"
#include "loader/tracer.h"

namespace capscope {

// What a source hands to whoever drains it.
class EventSink {
public:
  virtual ~EventSink() = default;
  // A raw event as the kernel side reports it (replay synthesizes scope
  // events in this form).
  virtual void on_event(const cs_event &e) = 0;
  // A first-seen check whose context is already symbolized (replay).
  virtual void on_context(const cs_key &key, const CheckContext &ctx) = 0;
};

class EventSource {
public:
  virtual ~EventSource() = default;
  virtual const char *attach_mode() const = 0;
  // Waits up to timeout_ms for events and hands each to sink. Returns how
  // many were handled (0: none pending) or -errno.
  virtual int poll(int timeout_ms, EventSink &sink) = 0;
  // Registers a task (thread) under scope.
  virtual Result<void> track(std::uint32_t tid, std::uint64_t scope,
                             std::uint8_t phase, std::uint8_t kind) = 0;
  // (tgid, scope) of every tracked task.
  virtual std::vector<std::pair<std::uint32_t, std::uint64_t>>
  tracked() const = 0;
  std::vector<std::uint32_t> tracked_tgids() const;
  // The cumulative count of every key (a snapshot).
  virtual std::vector<KeyCount> read_counts() const = 0;
  virtual TracerStats read_stats() const = 0;
  // Removes every key of a scope (after its profile is persisted).
  virtual void forget_scope(std::uint64_t scope) = 0;
  // User space has named this executable file (a hint; no-op by default).
  virtual void exe_known(const cs_exe_id &) {}
  // The live tracer behind this source, nullptr for a replay.
  virtual const Tracer *tracer() const { return nullptr; }
};

// The libbpf tracer as an event source.
class LiveSource : public EventSource {
public:
  explicit LiveSource(std::unique_ptr<Tracer> t) : t_(std::move(t)) {}
  const char *attach_mode() const override;
  int poll(int timeout_ms, EventSink &sink) override;
  Result<void> track(std::uint32_t tid, std::uint64_t scope, std::uint8_t phase,
                     std::uint8_t kind) override;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> tracked() const override;
  std::vector<KeyCount> read_counts() const override;
  TracerStats read_stats() const override;
  void forget_scope(std::uint64_t scope) override;
  void exe_known(const cs_exe_id &id) override { t_->exe_known(id); }
  const Tracer *tracer() const override { return t_.get(); }

private:
  std::unique_ptr<Tracer> t_;
};

// A scripted recording: what is queued is delivered at the next poll;
// counts accumulate like the kernel's and leave with forget_scope; tasks
// are live from track() until exit_scope().
class ReplaySource : public EventSource {
public:
  // Queues a recorded `record --events` stream: each line's context is
  // delivered at the next poll, its count joins the snapshot. Every line
  // goes to `scope` when it is non-zero, else to the line's own scope.
  // Errors name the line.
  Result<std::size_t> add_stream(std::istream &in, std::uint64_t scope = 0);
  // Queues the event the kernel sends for a scope's first exec: its pid,
  // executable and the cgroup names captured at exec.
  void add_scope_event(std::uint64_t scope, std::uint32_t pid,
                       const std::string &exe,
                       const std::string &cg_parent = {},
                       const std::string &cg_leaf = {});
  // Adds n checks to a key's cumulative count.
  void add_count(const cs_key &key, std::uint64_t n);
  // Every task of scope exits.
  void exit_scope(std::uint64_t scope);
  void set_stats(const TracerStats &s) { stats_ = s; }
  // How many events are queued for the next poll.
  std::size_t pending() const { return queue_.size(); }

  const char *attach_mode() const override { return "replay"; }
  int poll(int timeout_ms, EventSink &sink) override;
  Result<void> track(std::uint32_t tid, std::uint64_t scope, std::uint8_t phase,
                     std::uint8_t kind) override;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> tracked() const override;
  std::vector<KeyCount> read_counts() const override;
  TracerStats read_stats() const override { return stats_; }
  void forget_scope(std::uint64_t scope) override;

private:
  struct Item {
    bool is_context = false;
    cs_event event{};
    cs_key key{};
    CheckContext ctx;
  };
  std::vector<Item> queue_;
  std::map<cs_key, KeyCount, KeyLess> counts_;
  std::map<std::uint32_t, std::uint64_t> tasks_; // tid -> scope
  TracerStats stats_;
  std::uint64_t clock_ns_ = 1; // fake monotonic time, one tick per count
};

} // namespace capscope
