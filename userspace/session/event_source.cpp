// event_source.cpp - the live source (a thin adapter over loader/Tracer)
// and the replay source (a scripted recording, for tests without root).
#include "session/event_source.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "core/replay.h"

namespace capscope {

std::vector<std::uint32_t> EventSource::tracked_tgids() const {
  std::set<std::uint32_t> s;
  for (auto [tgid, scope] : tracked())
    s.insert(tgid);
  return {s.begin(), s.end()};
}

const char *LiveSource::attach_mode() const {
  return attach_mode_name(t_->mode());
}

int LiveSource::poll(int timeout_ms, EventSink &sink) {
  return t_->poll(timeout_ms, [&](const cs_event &e) { sink.on_event(e); });
}

Result<void> LiveSource::track(std::uint32_t tid, std::uint64_t scope,
                               std::uint8_t phase, std::uint8_t kind) {
  return t_->track(tid, scope, phase, kind);
}

std::vector<std::pair<std::uint32_t, std::uint64_t>>
LiveSource::tracked() const {
  return t_->tracked();
}

std::vector<KeyCount> LiveSource::read_counts() const {
  return t_->read_counts();
}

TracerStats LiveSource::read_stats() const { return t_->read_stats(); }

void LiveSource::forget_scope(std::uint64_t scope) { t_->forget_scope(scope); }

Result<std::size_t> ReplaySource::add_stream(std::istream &in,
                                             std::uint64_t scope) {
  return for_each_replayed(in, [&](const ReplayedCheck &r) {
    ReplayedCheck c = r;
    if (scope)
      c.key.scope = scope;
    Item it;
    it.is_context = true;
    it.key = c.key;
    it.ctx = c.ctx;
    queue_.push_back(std::move(it));
    add_count(c.key, c.count);
  });
}

void ReplaySource::add_scope_event(std::uint64_t scope, std::uint32_t pid,
                                   const std::string &exe,
                                   const std::string &cg_parent,
                                   const std::string &cg_leaf) {
  Item it;
  cs_event &e = it.event;
  e.type = CS_EV_SCOPE;
  e.key.scope = scope;
  e.key.kind = CS_SCOPE_CONTAINER;
  e.pid = e.tid = pid;
  e.ts_ns = clock_ns_++;
  auto put = [](char *dst, std::size_t size, const std::string &s) {
    std::memcpy(dst, s.data(), std::min(size - 1, s.size()));
  };
  put(e.filename, sizeof e.filename, exe);
  put(e.cg_parent, sizeof e.cg_parent, cg_parent);
  put(e.cg_leaf, sizeof e.cg_leaf, cg_leaf);
  auto slash = exe.rfind('/');
  put(e.comm, sizeof e.comm,
      slash == std::string::npos ? exe : exe.substr(slash + 1));
  queue_.push_back(std::move(it));
}

void ReplaySource::add_count(const cs_key &key, std::uint64_t n) {
  auto [it, fresh] = counts_.try_emplace(key);
  KeyCount &kc = it->second;
  if (fresh) {
    kc.key = key;
    kc.first_ns = clock_ns_;
  }
  kc.count += n;
  kc.last_ns = clock_ns_++;
}

void ReplaySource::exit_scope(std::uint64_t scope) {
  std::erase_if(tasks_, [&](const auto &kv) { return kv.second == scope; });
}

int ReplaySource::poll(int, EventSink &sink) {
  std::vector<Item> batch;
  batch.swap(queue_);
  for (const Item &it : batch) {
    if (it.is_context)
      sink.on_context(it.key, it.ctx);
    else
      sink.on_event(it.event);
  }
  return static_cast<int>(batch.size());
}

Result<void> ReplaySource::track(std::uint32_t tid, std::uint64_t scope,
                                 std::uint8_t, std::uint8_t) {
  tasks_[tid] = scope;
  return {};
}

std::vector<std::pair<std::uint32_t, std::uint64_t>>
ReplaySource::tracked() const {
  return {tasks_.begin(), tasks_.end()};
}

std::vector<KeyCount> ReplaySource::read_counts() const {
  std::vector<KeyCount> out;
  for (const auto &[k, kc] : counts_)
    out.push_back(kc);
  return out;
}

void ReplaySource::forget_scope(std::uint64_t scope) {
  std::erase_if(counts_,
                [&](const auto &kv) { return kv.first.scope == scope; });
}

} // namespace capscope
