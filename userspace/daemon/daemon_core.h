// daemon_core.h - the daemon's bookkeeping, apart from its sockets and
// threads: naming scopes, flushing profiles to the store, evicting scopes
// whose tasks are gone, merging with what a previous run left on disk,
// answering list/get requests and the Prometheus text. It runs over any
// trace session, so a replayed one drives it in the unit tests.
//
// Memory follows the live workloads, not every one ever seen: a workload
// whose scopes are all gone keeps only a summary line (what `list` shows)
// once its profile is saved and its metric series are dropped; `get` and a
// restart of it read the full profile back from the store.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/profile.h"
#include "core/store.h"
#include "session/trace_session.h"

namespace capscope {

// What `list` shows of a workload, kept for every one the store holds.
struct WorkloadSummary {
  Workload workload;
  std::uint64_t caps_used = 0;   // the advice's added capabilities
  std::uint64_t held_unused = 0; // held but never checked
  bool held_known = false;
  std::int64_t end_ns = 0;
  std::uint64_t checks = 0; // every check, granted or denied
  std::uint64_t denied = 0; // denials of the Needed class
};
WorkloadSummary summarize(const Profile &p);

// Published view of the profiles, for the socket and metrics threads.
struct DaemonSnapshot {
  // Full profiles of the workloads in play: with live scopes, with metric
  // series still exported, or with a save still to be retried.
  std::map<std::string, Profile> profiles;
  std::uint64_t known = 0; // workloads with a summary (the store's and ours)
  std::set<std::string> running; // keys with live tasks
  std::set<std::string> privileged;
  // Keys with per-workload metric series: those seen in this run, less the
  // ones evicted (no task left) once their profile is saved and their last
  // values were scraped (DaemonCore::flush), so the label cardinality
  // follows the live containers, not every one ever seen.
  std::set<std::string> exported;
  std::uint64_t lost_events = 0;
  std::uint64_t flushes = 0;
  std::uint64_t scopes = 0;
  std::uint64_t tasks_overflow = 0;
  std::uint64_t counts_overflow = 0;
  TracerStats stats;                 // the kernel side's, at the last flush
  std::uint64_t lookups_queued = 0;  // container lookups queued or running
  std::uint64_t lookups_dropped = 0; // ... dropped on a full queue
  std::uint64_t write_errors = 0;    // profile saves that failed
  // CLOCK_MONOTONIC at the last flush: successive `list` answers give
  // rates (`capscope top`) over the daemon's own sampling interval.
  std::int64_t flushed_mono_ns = 0;
};

class DaemonCore {
public:
  // stored: what the store held at start (a restart), merged into every
  // profile of the same key; only summaries of it stay in memory, and the
  // keys in `noncanonical` (from ProfileStore::load) are consolidated at
  // once. host_bounding: the host's bounding set (0: unknown), to tell
  // privileged containers.
  DaemonCore(
      TraceSession &session, ProfileStore &store,
      std::map<std::string, Profile> stored, std::uint64_t host_bounding = 0,
      bool verbose = false,
      const std::map<std::string, std::vector<std::string>> &noncanonical = {});

  // Reads the counts and every queued event, names the scopes, saves each
  // touched profile, evicts scopes with no task left, and publishes.
  void flush(bool final);
  // Keeps only containers whose cgroup lies under `parent` (cgroup_under);
  // other scopes are never profiled and leave memory once gone.
  void set_cgroup_parent(std::string parent) {
    cgroup_parent_ = std::move(parent);
  }
  // The key a scope's profile is kept under ("" while it cannot be named).
  std::string key_for(std::uint64_t scope);

  // Answers one socket request from the published view (no flush); `get`
  // of a workload no longer in play reads its profile from the store.
  nlohmann::json answer(const nlohmann::json &req) const;
  // A workload's full profile: the published one while it is in play, the
  // store's after (nullopt: unknown or unreadable).
  std::optional<Profile> profile(const std::string &key) const;
  // The Prometheus exposition text.
  std::string metrics_text() const;
  DaemonSnapshot snapshot() const;

  // Between threads: another thread asks for a flush and waits (up to 3 s)
  // for it; the loop takes the request.
  bool request_flush();
  bool take_flush_request();
  // Wakes every waiter for good.
  void stop();

private:
  TraceSession &session_;
  ProfileStore &store_;
  std::uint64_t host_bounding_;
  bool verbose_;
  std::string cgroup_parent_;
  // The base of a workload in play: what the store held when it came into
  // play, plus its scopes evicted since (their counts have left the
  // kernel maps). Dropped once the workload is out of play (see flush).
  Profile *base_of(const std::string &key);
  std::map<std::uint64_t, std::string> scope_key_;
  std::map<std::string, Profile> base_;
  std::set<std::string> in_play_; // the keys published at the last flush
  // Keys whose last save failed (a full or read-only state dir): saved
  // again at every flush until it works; the profile stays in memory.
  std::set<std::string> unsaved_;
  std::uint64_t write_errors_ = 0;
  // Metric series (see DaemonSnapshot::exported and flush()).
  static constexpr std::uint64_t kSeriesGraceFlushes = 10;
  struct SeriesEviction {
    bool saved = false;
    std::uint64_t flush = 0;   // the flush that saved it
    std::uint64_t scrapes = 0; // metrics_text() calls by then
  };
  std::set<std::string> exported_;
  std::map<std::string, SeriesEviction> evicting_;
  bool writes_failing_ = false; // logged once per failing spell

  mutable std::mutex mu_;
  std::condition_variable cv_;
  DaemonSnapshot snap_;
  std::map<std::string, WorkloadSummary> summaries_; // under mu_
  bool flush_wanted_ = false;
  std::uint64_t flush_gen_ = 0;
  bool stopping_ = false;
  mutable std::uint64_t scrapes_ = 0; // metrics_text() calls, under mu_
};

} // namespace capscope
