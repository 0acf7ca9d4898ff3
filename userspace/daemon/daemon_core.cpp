// daemon_core.cpp - naming, flush, eviction, restart merge, requests and
// metrics for the daemon.
#include "daemon/daemon_core.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "core/container.h"
#include "core/either_or.h"
#include "session/system.h"

namespace capscope {

namespace {

std::string base_name(const std::string &p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

nlohmann::json summary_json(const WorkloadSummary &s, bool running,
                            bool privileged) {
  const Workload &w = s.workload;
  return {{"key", w.id.empty() ? w.key : w.id},
          {"kind", w.kind},
          {"id", w.id},
          {"name", w.name},
          {"runtime", w.runtime},
          {"image", w.image},
          {"pod", w.pod},
          {"workload_key", w.key},
          {"caps_used", cap_names(s.caps_used)},
          {"held_unused", cap_names(s.held_unused)},
          {"held_known", s.held_known},
          {"privileged", privileged},
          {"running", running},
          {"last_seen", iso8601(s.end_ns)},
          {"checks", s.checks},
          {"denied", s.denied}};
}

std::string label_value(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

} // namespace

WorkloadSummary summarize(const Profile &p) {
  WorkloadSummary s;
  s.workload = p.workload;
  s.workload.command.clear(); // not listed; can be long
  s.caps_used = final_advice(p).add;
  s.held_unused = held_unused(p);
  s.held_known = p.held_known;
  s.end_ns = p.end_ns;
  // Totals for `capscope top`: every check of the workload (its rate is
  // the load), and the denials that could have failed an operation
  // (Needed class; a refused overcommit probe or moot check is noise).
  for (const auto &c : p.checks) {
    s.checks += c.granted + c.denied;
    if (c.cls == CheckClass::Needed)
      s.denied += c.denied;
  }
  return s;
}

DaemonCore::DaemonCore(
    TraceSession &session, ProfileStore &store,
    std::map<std::string, Profile> stored, std::uint64_t host_bounding,
    bool verbose,
    const std::map<std::string, std::vector<std::string>> &noncanonical)
    : session_(session), store_(store), host_bounding_(host_bounding),
      verbose_(verbose) {
  for (auto &[key, p] : stored) {
    summaries_[key] = summarize(p);
    auto nc = noncanonical.find(key);
    if (nc == noncanonical.end())
      continue;
    if (auto r = store_.consolidate(key, p, nc->second); !r) {
      std::fprintf(stderr, "capscope daemon: %s\n", r.error().message.c_str());
      unsaved_.insert(key); // kept whole until a save works
      base_[key] = std::move(p);
    }
  }
  snap_.known = summaries_.size();
}

Profile *DaemonCore::base_of(const std::string &key) {
  if (auto it = base_.find(key); it != base_.end())
    return &it->second;
  if (in_play_.count(key))
    return nullptr; // new in this run, nothing of it evicted yet
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!summaries_.count(key))
      return nullptr; // never stored
  }
  auto p = store_.load_one(key);
  if (!p) {
    std::fprintf(stderr,
                 "capscope daemon: cannot read back %s (%s); its profile "
                 "starts again from this run's checks\n",
                 key.c_str(), p.error().message.c_str());
    return nullptr;
  }
  return &(base_[key] = std::move(p.value()));
}

std::string DaemonCore::key_for(std::uint64_t scope) {
  if (auto it = scope_key_.find(scope); it != scope_key_.end())
    return it->second;
  ScopeResolver &resolver = session_.resolver();
  if (const ContainerIdentity *id = resolver.find(scope))
    return scope_key_[scope] = id->ref.id;
  if (!resolver.known(scope))
    return {}; // not resolved yet
  // A private mount namespace that is no container (a runtime helper, a
  // service with PrivateTmp, `unshare -m`): named by what it ran.
  std::string exe = session_.scope_exe(scope);
  if (exe.empty()) {
    const Aggregator &agg = session_.aggregator();
    exe = agg.exe_of(agg.some_pid(scope));
  }
  return scope_key_[scope] =
             "ns-" + (exe.empty() ? std::to_string(scope) : base_name(exe));
}

void DaemonCore::flush(bool final) {
  EventSource &source = session_.source();
  Aggregator &agg = session_.aggregator();
  ScopeResolver &resolver = session_.resolver();
  session_.refresh_counts();
  // Every event a counted check came after (its scope's exec, its key's
  // first check) is in the ring buffer by now: take them before naming
  // and evicting, or a scope that lived between two polls is persisted
  // without a name.
  session_.drain();
  TracerStats stats = source.read_stats();
  // scope -> its lowest live tgid: in a container, its first process (the
  // init that lives as long as it does), so its capability sets are read
  // from a process still there, not a short-lived child of a busy loop.
  std::map<std::uint64_t, std::uint32_t> live;
  for (auto [tgid, scope] : source.tracked()) {
    auto [it, fresh] = live.try_emplace(scope, tgid);
    if (!fresh && tgid < it->second)
      it->second = tgid;
  }
  // A task's last checks can still be on their way into the counts while
  // it exits (its hot key moves there before it leaves the task map), and
  // a scope may be known so far only from its events. Every scope with no
  // task left is read once more, now complete.
  std::set<std::uint64_t> gone;
  for (std::uint64_t scope : agg.scopes())
    if (!live.count(scope))
      gone.insert(scope);
  if (!gone.empty()) {
    std::vector<KeyCount> again = source.read_counts();
    std::erase_if(
        again, [&](const KeyCount &kc) { return !gone.count(kc.key.scope); });
    agg.set_counts(again);
  }

  // The touched workloads' profiles: base plus every scope's part.
  std::map<std::string, Profile> current;
  std::map<std::string, Profile> evicted_parts;
  std::set<std::string> running, touched, privileged;
  std::vector<std::uint64_t> dead;
  for (std::uint64_t scope : agg.scopes()) {
    // Its scope event was lost or came too late: resolve from a pid.
    session_.resolve(scope, live.count(scope) ? live[scope] : 0);
    std::string key = key_for(scope);
    if (key.empty()) {
      if (!live.count(scope)) { // gone before we could name it
        resolver.forget(scope);
        scope_key_[scope] = key = "ns-" + std::to_string(scope);
      } else {
        continue; // try again next flush
      }
    }
    if (!cgroup_parent_.empty()) {
      const ContainerIdentity *id = resolver.find(scope);
      bool ours = false;
      for (const auto &cg : id ? id->cgroups : std::vector<std::string>{})
        ours = ours || cgroup_under(cg, cgroup_parent_, id->cgroup_partial);
      if (!ours) {
        if (!live.count(scope) && !resolver.pending(scope))
          dead.push_back(scope); // not ours: forgotten once gone
        continue;
      }
    }
    Profile part;
    if (const ContainerIdentity *id = resolver.find(scope)) {
      ScopeResolver::describe(part, *id);
    } else {
      part.workload.kind = "namespace";
      part.workload.name = key.substr(3);
      part.workload.key = "exe:" + session_.scope_exe(scope);
      part.workload.id = key;
    }
    session_.stamp(part);
    agg.fill(part, scope);
    TraceSession::window_from_checks(part);
    if (live.count(scope)) {
      std::uint32_t pid = live[scope];
      // Empty sets are known too (--cap-drop=ALL): only an unreadable
      // status (the process just exited) leaves them unknown.
      std::string eff_text = proc_status_field(pid, "CapEff:");
      std::uint64_t eff = std::strtoull(eff_text.c_str(), nullptr, 16);
      std::uint64_t bnd = proc_status_mask(pid, "CapBnd:");
      if (!eff_text.empty()) {
        part.held = eff;
        part.held_known = true;
        if (host_bounding_ && bnd == host_bounding_ && eff == host_bounding_)
          privileged.insert(key);
      }
      running.insert(key);
    } else if (!resolver.pending(scope)) {
      dead.push_back(scope);
    } // else kept until the runtime names it, then evicted

    auto it = current.find(key);
    bool fresh = it == current.end();
    if (fresh) {
      const Profile *base = base_of(key);
      it = current.emplace(key, base ? *base : part).first;
      fresh = !base;
    }
    if (!fresh) {
      bool held_known = part.held_known;
      std::uint64_t held = part.held;
      merge_into(it->second, part);
      if (held_known) { // the live value, not a union over time
        it->second.held = held;
        it->second.held_known = true;
      }
    }
    touched.insert(key);
    if (!live.count(scope) && !resolver.pending(scope)) {
      auto [ev, fresh_ev] = evicted_parts.try_emplace(key, part);
      if (!fresh_ev)
        merge_into(ev->second, part);
    }
  }

  // Saves that failed before are tried again; a failing state dir is
  // reported once, not at every flush, and tracing goes on.
  touched.insert(unsaved_.begin(), unsaved_.end());
  unsaved_.clear();
  std::string first_error;
  for (const auto &key : touched) {
    const Profile *p = nullptr;
    if (auto found = current.find(key); found != current.end())
      p = &found->second;
    else if (auto kept = base_.find(key); kept != base_.end())
      p = &kept->second; // a save that failed before, out of play since
    if (!p)
      continue;
    if (auto r = store_.save(key, *p); !r) {
      unsaved_.insert(key);
      ++write_errors_;
      if (first_error.empty())
        first_error = r.error().message;
    }
  }
  if (!first_error.empty() && !writes_failing_) {
    std::fprintf(stderr,
                 "capscope daemon: %s; profiles stay in memory and are "
                 "saved again at every flush (reported once)\n",
                 first_error.c_str());
    writes_failing_ = true;
  } else if (first_error.empty() && writes_failing_) {
    std::fprintf(stderr, "capscope daemon: profiles are saved again\n");
    writes_failing_ = false;
  }
  // Metric series: every key seen in this run until it is evicted, its
  // profile saved, and its final values exported: kSeriesGraceFlushes
  // flushes and at least one scrape after the save (a container shorter
  // than a scrape interval still reaches Prometheus). A key that comes
  // back (a restarted container) gets them again. A key evicted while the
  // state dir refuses writes keeps them until its profile is saved.
  exported_.insert(touched.begin(), touched.end());
  std::uint64_t scrapes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    scrapes = scrapes_;
  }
  const std::uint64_t flush_no = snap_.flushes + 1;
  for (const auto &[key, part] : evicted_parts)
    evicting_.try_emplace(key, SeriesEviction{});
  for (auto it = evicting_.begin(); it != evicting_.end();) {
    SeriesEviction &e = it->second;
    if (running.count(it->first)) {
      it = evicting_.erase(it);
      continue;
    }
    if (!e.saved && !unsaved_.count(it->first)) {
      e.saved = true;
      e.flush = flush_no;
      e.scrapes = scrapes;
    }
    if (e.saved && flush_no - e.flush >= kSeriesGraceFlushes &&
        scrapes > e.scrapes) {
      exported_.erase(it->first);
      it = evicting_.erase(it);
      continue;
    }
    ++it;
  }
  // Persisted: scopes with no task left leave the kernel maps and memory.
  for (std::uint64_t scope : dead) {
    session_.forget_scope(scope);
    scope_key_.erase(scope);
  }
  for (auto &[key, part] : evicted_parts) {
    auto [it, fresh] = base_.try_emplace(key, part);
    if (!fresh)
      merge_into(it->second, part);
  }
  // Out of play (no scope this flush, no series exported, saved): the
  // workload's profile lives in the store only, its summary here.
  std::erase_if(base_, [&](const auto &kv) {
    return !current.count(kv.first) && !exported_.count(kv.first) &&
           !unsaved_.count(kv.first);
  });
  // Published: the touched profiles, and the kept ones still in play.
  for (const auto &[key, p] : base_)
    current.try_emplace(key, p);

  in_play_.clear();
  for (const auto &kv : current)
    in_play_.insert(in_play_.end(), kv.first);

  std::lock_guard<std::mutex> lock(mu_);
  for (const auto &key : touched)
    if (auto found = current.find(key); found != current.end())
      summaries_[key] = summarize(found->second);
  snap_.known = summaries_.size();
  snap_.profiles = std::move(current);
  snap_.running = std::move(running);
  snap_.privileged = std::move(privileged);
  snap_.lost_events = stats.lost_events;
  snap_.tasks_overflow = stats.tasks_full;
  snap_.counts_overflow = stats.counts_full;
  snap_.stats = stats;
  snap_.exported = exported_;
  snap_.scopes = live.size();
  if (IdentityLookup *l = resolver.lookup()) {
    snap_.lookups_queued = l->queued();
    snap_.lookups_dropped = l->dropped();
  }
  snap_.write_errors = write_errors_;
  snap_.flushes++;
  snap_.flushed_mono_ns = mono_now_ns();
  flush_gen_++;
  cv_.notify_all();
  if (final && verbose_)
    std::fprintf(stderr, "capscope daemon: final flush: %zu profiles\n",
                 summaries_.size());
}

bool DaemonCore::request_flush() {
  std::unique_lock<std::mutex> lock(mu_);
  std::uint64_t gen = flush_gen_;
  flush_wanted_ = true;
  return cv_.wait_for(lock, std::chrono::seconds(3),
                      [&] { return flush_gen_ > gen || stopping_; });
}

bool DaemonCore::take_flush_request() {
  std::lock_guard<std::mutex> lock(mu_);
  bool wanted = flush_wanted_;
  flush_wanted_ = false;
  return wanted;
}

void DaemonCore::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

DaemonSnapshot DaemonCore::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snap_;
}

nlohmann::json DaemonCore::answer(const nlohmann::json &req) const {
  std::string op = req.value("op", std::string());
  if (op != "list" && op != "get")
    return {{"ok", false}, {"error", "unknown request '" + op + "'"}};
  std::string want = req.value("id", std::string());
  if (op == "get" && want.empty())
    return {{"ok", false}, {"error", "no container id or name given"}};
  std::string found;
  std::size_t prefix_hits = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (op == "list") {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto &[key, s] : summaries_)
        arr.push_back(summary_json(s, snap_.running.count(key) != 0,
                                   snap_.privileged.count(key) != 0));
      return {{"ok", true},
              {"profiles", arr},
              {"lost_events", snap_.lost_events},
              {"scopes", snap_.scopes},
              {"sampled_mono_ns", snap_.flushed_mono_ns}};
    }
    std::string prefix_key;
    for (const auto &[key, s] : summaries_) {
      const Workload &w = s.workload;
      if (key == want || w.id == want || w.name == want) {
        found = key;
        break;
      }
      if (want.size() >= 4 && w.id.rfind(want, 0) == 0) {
        prefix_key = key;
        ++prefix_hits;
      }
    }
    if (found.empty() && prefix_hits == 1)
      found = prefix_key;
  }
  if (prefix_hits > 1 && found.empty())
    return {{"ok", false},
            {"error", "'" + want + "' matches " + std::to_string(prefix_hits) +
                          " containers; give more of the id"}};
  if (found.empty())
    return {{"ok", false},
            {"error", "no container '" + want +
                          "' in the daemon's profiles (see: capscope "
                          "profiles)"}};
  if (auto p = profile(found))
    return {{"ok", true}, {"profile", to_json(*p)}};
  return {{"ok", false},
          {"error", "the profile of '" + want + "' cannot be read from " +
                        store_.dir() + " (see the daemon's log)"}};
}

std::optional<Profile> DaemonCore::profile(const std::string &key) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = snap_.profiles.find(key); it != snap_.profiles.end())
      return it->second;
    if (!summaries_.count(key))
      return std::nullopt;
  }
  // Out of play: saved before it left memory (base_ keeps what is not).
  auto p = store_.load_one(key);
  if (!p)
    return std::nullopt;
  return std::move(p.value());
}

std::string DaemonCore::metrics_text() const {
  std::lock_guard<std::mutex> lock(mu_);
  ++scrapes_;
  std::string out;
  out += "# HELP capscope_checks_total Capability checks seen per workload, "
         "capability, verdict and class.\n"
         "# TYPE capscope_checks_total counter\n";
  for (const auto &[key, p] : snap_.profiles) {
    if (!snap_.exported.count(key))
      continue;
    const Workload &w = p.workload;
    for (const auto &c : p.checks) {
      for (int denied = 0; denied < 2; ++denied) {
        std::uint64_t n = denied ? c.denied : c.granted;
        if (!n)
          continue;
        out += "capscope_checks_total{container=\"" + label_value(w.name) +
               "\",id=\"" + label_value(w.id) + "\",kind=\"" + w.kind +
               "\",pod=\"" + label_value(w.pod) + "\",namespace=\"" +
               label_value(w.ns) + "\",cap=\"" + cap_name(c.cap) +
               "\",verdict=\"" + (denied ? "denied" : "granted") +
               "\",class=\"" + std::string(class_name(c.cls)) + "\"} " +
               std::to_string(n) + "\n";
      }
    }
  }
  // The call sites each (capability, class) was checked at, as 1-valued
  // series: what the either/or refinement of the advice needs (`advise
  // --prometheus`). Bounded: the kernel's capable() callers a workload
  // reaches, a handful each.
  out += "# HELP capscope_check_sites Kernel call sites each workload's "
         "capability checks were seen at (1 per site).\n"
         "# TYPE capscope_check_sites gauge\n";
  for (const auto &[key, p] : snap_.profiles) {
    if (!snap_.exported.count(key))
      continue;
    const Workload &w = p.workload;
    for (const auto &c : p.checks)
      for (const auto &site : c.call_sites)
        out += "capscope_check_sites{container=\"" + label_value(w.name) +
               "\",id=\"" + label_value(w.id) + "\",kind=\"" + w.kind +
               "\",pod=\"" + label_value(w.pod) + "\",namespace=\"" +
               label_value(w.ns) + "\",cap=\"" + cap_name(c.cap) +
               "\",class=\"" + std::string(class_name(c.cls)) +
               "\",call_site=\"" + label_value(site) + "\"} 1\n";
  }
  out += "# HELP capscope_lost_events_total First-seen events lost to a full "
         "ring buffer (counts stay exact).\n"
         "# TYPE capscope_lost_events_total counter\n"
         "capscope_lost_events_total " +
         std::to_string(snap_.lost_events) + "\n";
  out += "# HELP capscope_map_overflows_total Kernel map insertions that "
         "failed because a map was full.\n"
         "# TYPE capscope_map_overflows_total counter\n"
         "capscope_map_overflows_total{map=\"tasks\"} " +
         std::to_string(snap_.tasks_overflow) +
         "\ncapscope_map_overflows_total{map=\"counts\"} " +
         std::to_string(snap_.counts_overflow) + "\n";
  const TracerStats &st = snap_.stats;
  out += "# HELP capscope_kernel_checks_total Capability checks the kernel "
         "side attributed to traced scopes (all workloads, evicted ones "
         "included).\n"
         "# TYPE capscope_kernel_checks_total counter\n"
         "capscope_kernel_checks_total " +
         std::to_string(st.checks) + "\n";
  out += "# HELP capscope_map_insert_failures_total Kernel map insertions "
         "that failed, per map: events (ring buffer) loses call sites, "
         "tasks and counts lose checks, seen loses a new key's context, "
         "kprobe_pending loses checks, inflight loses syscall outcomes, "
         "dead_scopes keeps cache slots longer; task_slots and count_slots "
         "are caches (the entry went to its hash map, nothing lost).\n"
         "# TYPE capscope_map_insert_failures_total counter\n";
  const std::pair<const char *, std::uint64_t> fails[] = {
      {"events", st.lost_events},           {"tasks", st.tasks_full},
      {"counts", st.counts_full},           {"seen", st.seen_full},
      {"kprobe_pending", st.kprobe_full},   {"inflight", st.inflight_full},
      {"dead_scopes", st.dead_scopes_full}, {"task_slots", st.task_slots_busy},
      {"count_slots", st.count_slots_busy}};
  for (const auto &[map, n] : fails)
    out += std::string("capscope_map_insert_failures_total{map=\"") + map +
           "\"} " + std::to_string(n) + "\n";
  out += "# HELP capscope_workload_series Workloads with per-workload "
         "series in this exposition (evicted ones are dropped once saved).\n"
         "# TYPE capscope_workload_series gauge\n"
         "capscope_workload_series " +
         std::to_string(snap_.exported.size()) + "\n";
  out += "# HELP capscope_scopes_tracked Scopes with live tasks.\n"
         "# TYPE capscope_scopes_tracked gauge\n"
         "capscope_scopes_tracked " +
         std::to_string(snap_.scopes) + "\n";
  out += "# HELP capscope_identity_lookups_queued Container name lookups "
         "waiting for or running on the container runtime.\n"
         "# TYPE capscope_identity_lookups_queued gauge\n"
         "capscope_identity_lookups_queued " +
         std::to_string(snap_.lookups_queued) + "\n";
  out += "# HELP capscope_identity_lookups_dropped_total Container name "
         "lookups dropped because the queue was full (those containers "
         "keep their id as name).\n"
         "# TYPE capscope_identity_lookups_dropped_total counter\n"
         "capscope_identity_lookups_dropped_total " +
         std::to_string(snap_.lookups_dropped) + "\n";
  out += "# HELP capscope_profiles Profiles kept by the daemon.\n"
         "# TYPE capscope_profiles gauge\n"
         "capscope_profiles " +
         std::to_string(summaries_.size()) + "\n";
  out += "# HELP capscope_state_write_errors_total Profile saves to the "
         "state dir that failed (full or read-only disk).\n"
         "# TYPE capscope_state_write_errors_total counter\n"
         "capscope_state_write_errors_total " +
         std::to_string(snap_.write_errors) + "\n";
  out += "# HELP capscope_profile_flushes_total Profile flushes to disk.\n"
         "# TYPE capscope_profile_flushes_total counter\n"
         "capscope_profile_flushes_total " +
         std::to_string(snap_.flushes) + "\n";
  return out;
}

} // namespace capscope
