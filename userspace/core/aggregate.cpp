// aggregate.cpp - building profiles from kernel counts and context events.
#include "core/aggregate.h"

#include <algorithm>
#include <cstring>

#include "core/noise.h"
#include "core/syscalls.h"

namespace capscope {

bool KeyLess::operator()(const cs_key &a, const cs_key &b) const {
  return std::tie(a.scope, a.syscall, a.cap, a.denied, a.cls, a.kind) <
         std::tie(b.scope, b.syscall, b.cap, b.denied, b.cls, b.kind);
}

void Aggregator::on_event(const cs_event &e, const Kallsyms &ksyms) {
  if (e.type == CS_EV_FORK) {
    // A child runs its parent's executable until it execs.
    if (auto it = exe_.find(e.ppid); it != exe_.end())
      exe_[e.pid] = it->second;
    return;
  }
  if (e.type == CS_EV_EXEC || e.type == CS_EV_SCOPE) {
    std::string fn = exec_path(e);
    if (fn.empty())
      fn.assign(e.filename, strnlen(e.filename, sizeof e.filename));
    if (!fn.empty())
      exe_[e.pid] = fn;
    scope_pid_.try_emplace(e.key.scope, e.pid);
    return;
  }
  if (e.type != CS_EV_CHECK)
    return;
  CheckContext c;
  std::uint32_t n = std::min<std::uint32_t>(e.stack_len, CS_STACK_DEPTH);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint64_t off = 0;
    std::string_view fn = ksyms.resolve(e.stack[i], &off);
    c.frames.emplace_back(fn);
  }
  c.comm.assign(e.comm, strnlen(e.comm, sizeof e.comm));
  c.pid = e.pid;
  c.flags = e.flags;
  c.exe = exe_of(e.pid);
  if (c.exe.empty())
    c.exe = live_exe(e.pid);
  if (c.exe.empty())
    c.exe = c.comm;
  scope_pid_.try_emplace(e.key.scope, e.pid);
  on_context(e.key, std::move(c));
}

// The path as exec'd may be relative (or a script's, or a symlink); the live
// process knows better, and its answer for a file is kept: a loop that execs
// one file thousands of times reads /proc once.
std::string Aggregator::exec_path(const cs_event &e) {
  constexpr std::size_t kMaxFiles = 4096;
  auto id = std::make_tuple(e.exe.ino, e.exe.gen, e.exe.dev);
  if (e.exe.ino)
    if (auto it = exe_path_.find(id); it != exe_path_.end())
      return it->second;
  std::string fn = live_exe(e.pid);
  if (fn.empty() || !e.exe.ino || !exe_is_file_ || !exe_is_file_(e.pid, e.exe))
    return fn;
  if (exe_path_.size() >= kMaxFiles)
    exe_path_.clear();
  exe_path_.emplace(id, fn);
  if (exe_learned_)
    exe_learned_(e.exe);
  return fn;
}

void Aggregator::on_context(const cs_key &key, CheckContext ctx) {
  ctx_.try_emplace(key, std::move(ctx));
}

void Aggregator::set_counts(const std::vector<KeyCount> &counts) {
  for (const auto &kc : counts)
    counts_[kc.key] = kc;
}

void Aggregator::add_count(const KeyCount &kc) {
  auto [it, fresh] = counts_.try_emplace(kc.key, kc);
  if (fresh)
    return;
  it->second.count += kc.count;
  it->second.first_ns = std::min(it->second.first_ns, kc.first_ns);
  it->second.last_ns = std::max(it->second.last_ns, kc.last_ns);
}

std::vector<std::uint64_t> Aggregator::scopes() const {
  std::vector<std::uint64_t> out;
  for (const auto &[k, v] : counts_)
    if (out.empty() || out.back() != k.scope)
      out.push_back(k.scope);
  for (const auto &[s, pid] : scope_pid_)
    if (std::find(out.begin(), out.end(), s) == out.end())
      out.push_back(s);
  std::sort(out.begin(), out.end());
  return out;
}

std::uint32_t Aggregator::scope_kind(std::uint64_t scope) const {
  for (const auto &[k, v] : counts_)
    if (k.scope == scope)
      return k.kind;
  return scope == 1 ? CS_SCOPE_COMMAND : CS_SCOPE_CONTAINER;
}

std::string Aggregator::exe_of(std::uint32_t pid) const {
  auto it = exe_.find(pid);
  return it == exe_.end() ? std::string() : it->second;
}

std::uint32_t Aggregator::some_pid(std::uint64_t scope) const {
  auto it = scope_pid_.find(scope);
  return it == scope_pid_.end() ? 0 : it->second;
}

void Aggregator::fill(Profile &p, std::uint64_t scope) const {
  for (const auto &[key, kc] : counts_) {
    if (key.scope != scope || kc.count == 0)
      continue;
    auto c = ctx_.find(key);
    CheckClass cls = static_cast<CheckClass>(key.cls);
    if (c != ctx_.end())
      cls = live_class(cls, c->second.frames);
    CheckStats &s = p.entry(key.cap, cls);
    (key.denied ? s.denied : s.granted) += kc.count;
    s.syscalls.insert(syscall_name(key.syscall));
    std::int64_t first = static_cast<std::int64_t>(kc.first_ns) + mono_to_wall_;
    std::int64_t last = static_cast<std::int64_t>(kc.last_ns) + mono_to_wall_;
    if (!s.first_ns || first < s.first_ns)
      s.first_ns = first;
    s.last_ns = std::max(s.last_ns, last);
    if (c == ctx_.end())
      continue;
    std::string site = call_site_of(c->second.frames);
    if (!site.empty())
      s.call_sites.insert(site);
    if (!c->second.exe.empty())
      s.executables.insert(c->second.exe);
    if (c->second.flags & CS_F_OTHER_USERNS)
      s.other_userns = true;
  }
}

void Aggregator::drop_scope(std::uint64_t scope) {
  std::erase_if(counts_,
                [&](const auto &kv) { return kv.first.scope == scope; });
  std::erase_if(ctx_, [&](const auto &kv) { return kv.first.scope == scope; });
  scope_pid_.erase(scope);
}

} // namespace capscope
