// aggregate.h - turns what the kernel side reports (exact per-key counts and
// one context event per new key) into per-scope profiles. The same code
// serves live tracing and replayed event streams (core/replay.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "capscope.h"
#include "core/kallsyms.h"
#include "core/profile.h"

namespace capscope {

struct KeyCount {
  cs_key key{};
  std::uint64_t count = 0;
  std::uint64_t first_ns = 0; // monotonic (bpf_ktime_get_ns)
  std::uint64_t last_ns = 0;
};

// What one first-seen event tells about its key, symbolized.
struct CheckContext {
  std::vector<std::string> frames; // innermost first, function names
  std::string exe;
  std::string comm;
  std::uint32_t pid = 0;
  std::uint32_t flags = 0; // CS_F_*
};

struct KeyLess {
  bool operator()(const cs_key &a, const cs_key &b) const;
};

class Aggregator {
public:
  // mono_to_wall_ns: add to a monotonic timestamp to get wall-clock ns.
  explicit Aggregator(std::int64_t mono_to_wall_ns = 0)
      : mono_to_wall_(mono_to_wall_ns) {}

  // Where a live pid's executable is looked up (the session layer passes
  // a /proc reader); none by default, so core itself reads nothing.
  using ExeLookup = std::function<std::string(std::uint32_t pid)>;
  void set_exe_lookup(ExeLookup fn) { live_exe_ = std::move(fn); }
  // Whether a live pid's executable is a given file (the session layer
  // compares /proc/PID/exe's inode): only a path so confirmed is cached for
  // the file, as the process may have exec'd again since its event.
  using ExeIsFile = std::function<bool(std::uint32_t pid, const cs_exe_id &)>;
  void set_exe_is_file(ExeIsFile fn) { exe_is_file_ = std::move(fn); }
  // Told of each file whose path is now cached (the session layer lets the
  // BPF side skip waking user space for later execs of it).
  using ExeLearned = std::function<void(const cs_exe_id &)>;
  void set_exe_learned(ExeLearned fn) { exe_learned_ = std::move(fn); }

  // A raw event from the kernel side; ksyms symbolizes its stack.
  void on_event(const cs_event &e, const Kallsyms &ksyms);
  // Context of a key, already symbolized (replay, tests).
  void on_context(const cs_key &key, CheckContext ctx);
  // A snapshot of the kernel's cumulative counts (replaces older ones).
  void set_counts(const std::vector<KeyCount> &counts);
  void add_count(const KeyCount &kc);

  std::vector<std::uint64_t> scopes() const;
  std::uint32_t scope_kind(std::uint64_t scope) const;
  // Adds the checks of `scope` to p (call sites, syscalls, executables).
  void fill(Profile &p, std::uint64_t scope) const;
  // The executable a pid last exec'd, as seen in exec events.
  std::string exe_of(std::uint32_t pid) const;
  // A pid seen in scope (first one), to resolve container identity.
  std::uint32_t some_pid(std::uint64_t scope) const;
  // Every key with a context, its context and count (record --events).
  template <typename Fn> void for_each_context(Fn fn) const {
    for (const auto &[key, ctx] : ctx_) {
      auto it = counts_.find(key);
      fn(key, ctx, it == counts_.end() ? 0 : it->second.count);
    }
  }
  // Forget everything about a scope (daemon eviction).
  void drop_scope(std::uint64_t scope);

private:
  std::string live_exe(std::uint32_t pid) const {
    return live_exe_ ? live_exe_(pid) : std::string();
  }
  std::string exec_path(const cs_event &e);
  std::int64_t mono_to_wall_;
  ExeLookup live_exe_;
  ExeIsFile exe_is_file_;
  ExeLearned exe_learned_;
  // Resolved paths by executable file (inode, generation, device).
  std::map<std::tuple<std::uint64_t, std::uint32_t, std::uint32_t>, std::string>
      exe_path_;
  std::map<cs_key, KeyCount, KeyLess> counts_;
  std::map<cs_key, CheckContext, KeyLess> ctx_;
  std::map<std::uint32_t, std::string> exe_;
  std::map<std::uint64_t, std::uint32_t> scope_pid_;
};

} // namespace capscope
