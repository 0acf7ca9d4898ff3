// trace_session.cpp - attaching, draining, resolving, adopting and
// stamping for one trace session.
#include "session/trace_session.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <unistd.h>

#include "core/noise.h"
#include "core/syscalls.h"
#include "core/text.h"
#include "session/system.h"

namespace capscope {

Kallsyms host_kallsyms() {
  return Kallsyms::load("/proc/kallsyms", "/proc/modules");
}

AttachMode attach_mode_or_die(const char *cmd, const std::string &name) {
  AttachMode m = AttachMode::Auto;
  if (!parse_attach_mode(name, &m))
    throw Fatal(std::string(cmd) + ": unknown --attach '" + name +
                "' (valid: auto, tracepoint, fexit, kprobe)");
  return m;
}

void configure_noise(TracerConfig &cfg, const Kallsyms &ksyms) {
  cfg.doubt_caps = doubt_caps();
  cfg.exec_only_caps = exec_only_caps();
  cfg.ranges.clear();
  for (const auto &site : noise_sites()) {
    std::uint64_t start, end;
    if (!ksyms.range(site.function, &start, &end))
      continue; // inlined or absent on this kernel
    if (cfg.ranges.size() == CS_MAX_NOISE_RANGES)
      break;
    cs_range r{};
    r.start = start;
    r.end = end;
    r.cls = static_cast<std::uint32_t>(site.cls);
    cfg.ranges.push_back(r);
  }
  auto fn = [&](const char *name, cs_range *out) {
    std::uint64_t start, end;
    *out = cs_range{};
    if (ksyms.range(name, &start, &end)) {
      out->start = start;
      out->end = end;
    }
  };
  fn("cap_capable", &cfg.fn_capable);
  fn("security_capable", &cfg.fn_security_capable);
  cfg.stops.clear();
  for (std::string_view name : syscall_dispatch_functions()) {
    cs_range r{};
    fn(std::string(name).c_str(), &r);
    if (r.start && cfg.stops.size() < CS_MAX_STOP_RANGES)
      cfg.stops.push_back(r);
  }
}

static bool env_is_1(const char *name) {
  const char *e = std::getenv(name);
  return e && *e == '1';
}

std::vector<std::pair<std::string, std::uint32_t>>
parse_map_entries(const std::string &spec) {
  std::vector<std::pair<std::string, std::uint32_t>> out;
  for_each_piece(spec, ',', [&](std::string_view piece) {
    std::string item(piece);
    auto eq = item.find('=');
    std::string num = eq == std::string::npos ? "" : item.substr(eq + 1);
    bool digits = !num.empty() && num.size() <= 9 &&
                  std::all_of(num.begin(), num.end(),
                              [](unsigned char c) { return std::isdigit(c); });
    if (eq == 0 || !digits || std::stoul(num) == 0)
      throw Fatal("CAPSCOPE_MAP_ENTRIES: '" + item +
                  "' is not MAP=ENTRIES (e.g. seen=16,tasks=64)");
    out.emplace_back(item.substr(0, eq),
                     static_cast<std::uint32_t>(std::stoul(num)));
  });
  return out;
}

void tracer_switches_from_env(TracerConfig &cfg) {
  cfg.no_fast_class = env_is_1("CAPSCOPE_NO_FAST_CLASS");
  cfg.no_caches = env_is_1("CAPSCOPE_NO_CACHES");
  cfg.compat_object = env_is_1("CAPSCOPE_COMPAT_OBJECT");
  cfg.no_site_cache = env_is_1("CAPSCOPE_NO_SITE_CACHE");
  if (const char *e = std::getenv("CAPSCOPE_MAP_ENTRIES"))
    cfg.map_entries = parse_map_entries(e);
}

std::unique_ptr<Tracer> open_tracer(const TracerConfig &cfg, bool verbose) {
  set_libbpf_verbose(verbose, std::getenv("CAPSCOPE_LIBBPF_DEBUG") != nullptr);
  std::vector<AttachAttempt> attempts;
  auto t = Tracer::open(cfg, &attempts);
  if (verbose)
    for (const auto &a : attempts)
      std::fprintf(stderr, "capscope: attach %s: %s\n",
                   attach_mode_name(a.mode),
                   !a.ok      ? a.error.c_str()
                   : a.compat ? "ok (compat object: no BPF atomics)"
                              : "ok");
  if (!t)
    throw Fatal(t.error().message);
  return std::move(t.value());
}

std::unique_ptr<TraceSession> TraceSession::open(const SessionOptions &o) {
  Kallsyms ksyms = host_kallsyms();
  TracerConfig tc;
  tc.attach = o.attach;
  tc.mode = o.mode;
  tc.diagnose = o.diagnose;
  tc.host_mntns = o.host_mntns;
  configure_noise(tc, ksyms);
  tracer_switches_from_env(tc);
  std::int64_t t0 = mono_now_ns();
  auto tracer = open_tracer(tc, o.verbose);
  std::int64_t took = mono_now_ns() - t0;
  auto s = std::make_unique<TraceSession>(
      std::make_unique<LiveSource>(std::move(tracer)), std::move(ksyms),
      wall_now_ns() - mono_now_ns());
  s->attach_ns_ = took;
  s->agg_.set_exe_lookup(proc_exe);
  s->agg_.set_exe_is_file([](std::uint32_t pid, const cs_exe_id &id) {
    return proc_exe_is(pid, id.ino, id.dev);
  });
  if (o.batch_exec_events)
    s->agg_.set_exe_learned(
        [src = s->source_.get()](const cs_exe_id &id) { src->exe_known(id); });
  s->resolver_.set_lookup(std::make_shared<IdentityLookup>());
  s->kernel_ = kernel_release();
  return s;
}

TraceSession::TraceSession(std::unique_ptr<EventSource> source, Kallsyms ksyms,
                           std::int64_t mono_to_wall_ns)
    : source_(std::move(source)), ksyms_(std::move(ksyms)),
      agg_(mono_to_wall_ns), kernel_(kernel_release()) {}

void TraceSession::on_event(const cs_event &e) {
  agg_.on_event(e, ksyms_);
  if (e.type == CS_EV_SCOPE) { // name it now: the process may not last
    scope_exe_.try_emplace(
        e.key.scope,
        std::string(e.filename, strnlen(e.filename, sizeof e.filename)));
    resolver_.on_scope_event(e);
  }
  if (hook_)
    hook_(e);
}

void TraceSession::on_context(const cs_key &key, const CheckContext &ctx) {
  agg_.on_context(key, ctx);
}

int TraceSession::poll(int timeout_ms) {
  int n = source_->poll(timeout_ms, *this);
  resolver_.apply_lookups();
  return n;
}

void TraceSession::drain() {
  while (source_->poll(0, *this) > 0) {
  }
  resolver_.apply_lookups();
}

void TraceSession::settle_identities(int timeout_ms) {
  if (IdentityLookup *l = resolver_.lookup())
    l->wait_idle(timeout_ms);
  resolver_.apply_lookups();
}

void TraceSession::refresh_counts() { agg_.set_counts(source_->read_counts()); }

std::string TraceSession::scope_exe(std::uint64_t scope) const {
  auto it = scope_exe_.find(scope);
  return it == scope_exe_.end() ? std::string() : it->second;
}

const ContainerIdentity *TraceSession::resolve(std::uint64_t scope,
                                               std::uint32_t pid) {
  if (!resolver_.known(scope))
    resolver_.resolve_pid(scope, pid ? pid : agg_.some_pid(scope));
  return resolver_.find(scope);
}

void TraceSession::forget_scope(std::uint64_t scope) {
  source_->forget_scope(scope);
  agg_.drop_scope(scope);
  resolver_.forget(scope);
  scope_exe_.erase(scope);
}

std::size_t TraceSession::adopt_process(int pid, std::uint64_t scope,
                                        std::uint8_t kind) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR *tasks = opendir(dir.c_str());
  if (!tasks)
    return 0;
  std::size_t adopted = 0;
  while (dirent *t = readdir(tasks))
    if (std::isdigit(static_cast<unsigned char>(t->d_name[0])) &&
        source_->track(std::atoi(t->d_name), scope, CS_PHASE_ACTIVE, kind))
      ++adopted;
  closedir(tasks);
  if (kind == CS_SCOPE_CONTAINER && !resolver_.known(scope))
    resolver_.resolve_pid(scope, pid);
  scope_exe_.try_emplace(scope, proc_exe(pid));
  return adopted;
}

std::size_t TraceSession::adopt_outside_host(std::uint32_t host_mntns) {
  DIR *proc = opendir("/proc");
  if (!proc)
    return 0;
  std::size_t adopted = 0;
  while (dirent *d = readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(d->d_name[0])))
      continue;
    int pid = std::atoi(d->d_name);
    if (pid == getpid() || proc_exe(pid).empty()) // empty: a kernel thread
      continue;
    std::uint32_t inum = mntns_of_pid(pid);
    if (!inum || inum == host_mntns)
      continue;
    adopted += adopt_process(pid, adopted_scope(inum));
  }
  closedir(proc);
  return adopted;
}

void TraceSession::stamp(Profile &p) const {
  p.kernel = kernel_;
  p.arch = std::string(syscall_arch());
  p.attach_mode = attach_mode();
}

void TraceSession::stamp_losses(Profile &p, const TracerStats &s) {
  p.lost_events = s.lost_events;
  p.tasks_overflow = s.tasks_full;
  p.counts_overflow = s.counts_full;
  p.seen_overflow = s.seen_full;
  p.kprobe_overflow = s.kprobe_full;
  p.inflight_overflow = s.inflight_full;
  p.dead_scopes_overflow = s.dead_scopes_full;
  p.checks_total = s.checks;
}

void TraceSession::window_from_checks(Profile &p) {
  for (const auto &c : p.checks) {
    if (!p.start_ns || (c.first_ns && c.first_ns < p.start_ns))
      p.start_ns = c.first_ns;
    p.end_ns = std::max(p.end_ns, c.last_ns);
  }
}

} // namespace capscope
