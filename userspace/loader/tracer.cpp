// tracer.cpp - skeleton lifecycle (open -> configure -> load -> attach),
// attach-mode fallback, ring buffer and map access.
#include "loader/tracer.h"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <unistd.h>

#include "capscope.skel.h"
#include "capscope_compat.skel.h"

namespace capscope {

namespace {

bool g_libbpf_verbose = false;
bool g_libbpf_debug = false;
std::string *g_capture = nullptr; // last libbpf warnings, for messages

int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
  // Large enough for a whole verifier log, which libbpf prints at once.
  static char buf[1 << 20];
  vsnprintf(buf, sizeof buf, fmt, ap);
  if (level == LIBBPF_DEBUG && !g_libbpf_debug)
    return 0;
  if (g_capture)
    *g_capture += buf;
  if (g_libbpf_verbose)
    std::fprintf(stderr, "%s", buf);
  return 0;
}

struct SkelDeleter {
  void operator()(capscope_bpf *s) const { capscope_bpf__destroy(s); }
};
struct RingDeleter {
  void operator()(ring_buffer *r) const { ring_buffer__free(r); }
};
using SkelPtr = std::unique_ptr<capscope_bpf, SkelDeleter>;
using RingPtr = std::unique_ptr<ring_buffer, RingDeleter>;

std::string last_line(const std::string &log) {
  std::string s = log;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

} // namespace

void set_libbpf_verbose(bool verbose, bool debug) {
  g_libbpf_verbose = verbose;
  g_libbpf_debug = debug;
  libbpf_set_print(libbpf_print);
}

const char *attach_mode_name(AttachMode m) {
  switch (m) {
  case AttachMode::Auto:
    return "auto";
  case AttachMode::Tracepoint:
    return "tracepoint";
  case AttachMode::Fexit:
    return "fexit";
  case AttachMode::Kprobe:
    return "kprobe";
  }
  return "?";
}

bool parse_attach_mode(const std::string &s, AttachMode *out) {
  for (auto m : {AttachMode::Auto, AttachMode::Tracepoint, AttachMode::Fexit,
                 AttachMode::Kprobe})
    if (s == attach_mode_name(m)) {
      *out = m;
      return true;
    }
  return false;
}

struct Tracer::Impl {
  SkelPtr skel;
  RingPtr ring;
  // Scopes forgotten while keys of theirs may still sit in count_slots:
  // those slots are stale until BPF takes them over.
  std::set<std::uint64_t> dead_scopes;
  std::uint64_t dead_scopes_full = 0; // forget_scope's insertions refused
  const std::function<void(const cs_event &)> *cb = nullptr;
  int handled = 0;
};

static int on_ring_event(void *ctx, void *data, size_t size) {
  auto *impl = static_cast<Tracer::Impl *>(ctx);
  // Check events end at the stack (CS_CHECK_EVENT_SIZE); the rest reads 0.
  if (size < CS_CHECK_EVENT_SIZE || !impl->cb)
    return 0;
  cs_event e{};
  std::memcpy(&e, data, std::min(size, sizeof e));
  (*impl->cb)(e);
  impl->handled++;
  return 0;
}

// The skeleton of capscope.bpf.o, or of the same source built without
// atomic instructions (capscope_compat.bpf.o, see bpf/cs_compat.h): the
// compat object is opened through the default skeleton, whose maps,
// programs and globals it shares, with its own ELF bytes.
static capscope_bpf *open_skeleton(bool compat) {
  if (!compat)
    return capscope_bpf__open();
  auto *obj = static_cast<capscope_bpf *>(calloc(1, sizeof(capscope_bpf)));
  if (!obj) {
    errno = ENOMEM;
    return nullptr;
  }
  int err = capscope_bpf__create_skeleton(obj);
  if (!err) {
    std::size_t sz = 0;
    obj->skeleton->data = capscope_compat_bpf__elf_bytes(&sz);
    obj->skeleton->data_sz = sz;
    err = bpf_object__open_skeleton(obj->skeleton, nullptr);
  }
  // Same source, same layout: a compat object whose globals differ in
  // size from the skeleton's view of them would be written wrongly.
  // (A section's size is its variables' end; the skeleton's struct of
  // them is padded to its alignment.)
  auto same = [](std::size_t section, std::size_t skel) {
    return section <= skel && skel - section < 8;
  };
  if (!err &&
      (!same(bpf_map__value_size(obj->maps.rodata), sizeof(*obj->rodata)) ||
       !same(bpf_map__value_size(obj->maps.bss), sizeof(*obj->bss))))
    err = -EPROTO;
  if (err) {
    capscope_bpf__destroy(obj);
    errno = -err;
    return nullptr;
  }
  return obj;
}

// One attempt: a fresh skeleton with only `m`'s programs set to load.
static Result<SkelPtr> try_mode(const TracerConfig &cfg, AttachMode m,
                                bool compat) {
  std::string log;
  g_capture = &log;
  struct Reset {
    ~Reset() { g_capture = nullptr; }
  } reset;

  SkelPtr skel(open_skeleton(compat));
  if (!skel)
    return Error{errno, std::string("cannot open BPF object") +
                            (compat ? " (compat)" : "") + ": " +
                            std::strerror(errno)};
  auto *rodata = skel->rodata;
  rodata->cfg_mode = cfg.mode;
  rodata->cfg_self_tgid = static_cast<__u32>(getpid());
  rodata->cfg_host_mntns = cfg.host_mntns;
  rodata->cfg_doubt_caps = cfg.doubt_caps;
  rodata->cfg_trace_tgid = cfg.trace_tgid;
  rodata->cfg_trace_cap = cfg.trace_cap;
  rodata->cfg_trace_denied = cfg.trace_denied;
  rodata->cfg_trace_unique = cfg.trace_unique;
  rodata->cfg_diagnose = cfg.diagnose;
  std::size_t n = std::min<std::size_t>(cfg.ranges.size(), CS_MAX_NOISE_RANGES);
  for (std::size_t i = 0; i < n; ++i)
    const_cast<cs_range &>(rodata->cfg_ranges[i]) = cfg.ranges[i];
  rodata->cfg_nranges = static_cast<__u32>(n);
  // no_fast_class (tests, benchmarks): every doubtful check takes the real
  // stack.
  if (!cfg.no_fast_class) {
    const_cast<cs_range &>(rodata->cfg_fn_capable) = cfg.fn_capable;
    const_cast<cs_range &>(rodata->cfg_fn_security_capable) =
        cfg.fn_security_capable;
    rodata->cfg_exec_only_caps = cfg.exec_only_caps;
  }
  n = std::min<std::size_t>(cfg.stops.size(), CS_MAX_STOP_RANGES);
  for (std::size_t i = 0; i < n; ++i)
    const_cast<cs_range &>(rodata->cfg_stops[i]) = cfg.stops[i];
  rodata->cfg_nstops = static_cast<__u32>(n);
  rodata->cfg_no_site_cache = cfg.no_site_cache ? 1 : 0;

  bpf_program__set_autoload(skel->progs.cap_tp, m == AttachMode::Tracepoint);
  bpf_program__set_autoload(skel->progs.cap_fexit, m == AttachMode::Fexit);
  bpf_program__set_autoload(skel->progs.cap_kprobe, m == AttachMode::Kprobe);
  bpf_program__set_autoload(skel->progs.cap_kretprobe, m == AttachMode::Kprobe);
  // Attached by hand, before the kprobe (below).
  bpf_program__set_autoattach(skel->progs.cap_kretprobe, false);
  if (m != AttachMode::Kprobe)
    bpf_map__set_max_entries(skel->maps.kprobe_pending, 1);
  bpf_program__set_autoload(skel->progs.on_sys_enter, cfg.diagnose);
  bpf_program__set_autoload(skel->progs.on_sys_exit, cfg.diagnose);
  if (!cfg.diagnose)
    bpf_map__set_max_entries(skel->maps.inflight, 1);
  if (cfg.mode == CS_MODE_TRACE) // trace keys checks by tgid, not tasks
    bpf_map__set_max_entries(skel->maps.task_slots, 1);
  // For tests and benchmarks: no_caches leaves the task and count caches a
  // single slot, so nearly every check takes the hash maps.
  // The compat object never claims a task cache slot.
  if (cfg.no_caches || compat) {
    bpf_map__set_max_entries(skel->maps.task_slots, 1);
    bpf_map__set_max_entries(skel->maps.count_slots, 1);
  }
  for (const auto &[name, n] : cfg.map_entries) {
    bpf_map *map = nullptr;
    for (auto *m :
         {skel->maps.tasks, skel->maps.counts, skel->maps.seen,
          skel->maps.inflight, skel->maps.kprobe_pending, skel->maps.task_slots,
          skel->maps.count_slots, skel->maps.dead_scopes, skel->maps.events})
      if (name == bpf_map__name(m))
        map = m;
    if (!map || n == 0)
      return Error{EINVAL, "cannot resize map '" + name + "' to " +
                               std::to_string(n) + " entries"};
    if (int err = bpf_map__set_max_entries(map, n))
      return Error{-err,
                   "cannot resize map '" + name + "': " + std::strerror(-err)};
  }

  // The kernel's own ENOTSUPP (not a libc errno: strerror has no text).
  constexpr int kENOTSUPP = 524;
  auto errno_text = [](int err) -> std::string {
    return err == kENOTSUPP ? "not supported by this kernel (ENOTSUPP)"
                            : std::strerror(err);
  };
  // What a refusal usually means, per mode, so doctor can say why.
  auto hint = [m](int err) -> std::string {
    if (m == AttachMode::Tracepoint &&
        (err == ENOENT || err == ESRCH || err == EINVAL))
      return "; the capability:cap_capable tracepoint needs Linux 6.14+";
    if (m == AttachMode::Fexit && err == EPERM)
      return "; this kernel refuses fentry/fexit programs";
    if (m == AttachMode::Fexit && err == kENOTSUPP)
      return "; this kernel cannot attach a BPF trampoline to a kernel "
             "function (arm64 before Linux 6.4: no ftrace direct calls)";
    if (m == AttachMode::Kprobe && (err == ENOENT || err == EOPNOTSUPP))
      return "; kprobes are not available (CONFIG_KPROBES off?)";
    return "";
  };
  if (int err = capscope_bpf__load(skel.get())) {
    std::string why = last_line(log);
    return Error{-err, std::string("load refused: ") + errno_text(-err) +
                           hint(-err) + (why.empty() ? "" : " [" + why + "]")};
  }
  // Kprobes on one address run newest first, and a kretprobe's entry
  // handler replaces the return address with its trampoline, past which
  // older kernels (5.10) cannot unwind: so the kretprobe is attached
  // first and cap_kprobe, which takes the stack at entry, runs before it.
  if (m == AttachMode::Kprobe) {
    skel->links.cap_kretprobe = bpf_program__attach(skel->progs.cap_kretprobe);
    if (!skel->links.cap_kretprobe) {
      int err = errno;
      std::string why = last_line(log);
      return Error{err, std::string("attach refused: ") + errno_text(err) +
                            hint(err) + (why.empty() ? "" : " [" + why + "]")};
    }
  }
  if (int err = capscope_bpf__attach(skel.get())) {
    std::string why = last_line(log);
    return Error{-err, std::string("attach refused: ") + errno_text(-err) +
                           hint(-err) + (why.empty() ? "" : " [" + why + "]")};
  }
  return skel;
}

Result<std::unique_ptr<Tracer>>
Tracer::open(const TracerConfig &cfg, std::vector<AttachAttempt> *attempts) {
  libbpf_set_print(libbpf_print);
  std::vector<AttachMode> order;
  if (cfg.attach == AttachMode::Auto)
    order = {AttachMode::Tracepoint, AttachMode::Fexit, AttachMode::Kprobe};
  else
    order = {cfg.attach};

  std::string errors;
  for (AttachMode m : order) {
    bool compat = cfg.compat_object;
    auto skel = try_mode(cfg, m, compat);
    // A kernel older than 5.12 refuses BPF atomic instructions before it
    // verifies anything ("uses reserved fields"): the compat object.
    if (!skel && !compat && skel.error().err == EINVAL &&
        m != AttachMode::Tracepoint) {
      auto again = try_mode(cfg, m, true);
      if (again) {
        compat = true;
        skel = std::move(again);
      }
    }
    if (attempts)
      attempts->push_back({m, skel.ok(),
                           skel.ok() ? std::string() : skel.error().message,
                           compat});
    if (!skel) {
      errors += std::string(errors.empty() ? "" : "; ") + attach_mode_name(m) +
                ": " + skel.error().message;
      continue;
    }
    std::unique_ptr<Tracer> t(new Tracer());
    t->impl_ = std::make_unique<Impl>();
    t->impl_->skel = std::move(skel.value());
    t->mode_ = m;
    t->compat_ = compat;
    t->impl_->ring.reset(
        ring_buffer__new(bpf_map__fd(t->impl_->skel->maps.events),
                         on_ring_event, t->impl_.get(), nullptr));
    if (!t->impl_->ring)
      return Error{errno, std::string("cannot open the ring buffer: ") +
                              std::strerror(errno)};
    return t;
  }
  if (order.size() == 1)
    return Error{ENOTSUP, std::string("attach mode ") +
                              attach_mode_name(order[0]) + ": " +
                              errors.substr(errors.find(':') + 2)};
  return Error{ENOTSUP, "no usable attach mode: " + errors};
}

Tracer::~Tracer() = default;

Result<void> Tracer::track(std::uint32_t tid, std::uint64_t scope,
                           std::uint8_t phase, std::uint8_t kind) {
  cs_task t{};
  t.scope = scope;
  t.tgid = tid;
  t.phase = phase;
  t.kind = kind;
  int fd = bpf_map__fd(impl_->skel->maps.tasks);
  if (bpf_map_update_elem(fd, &tid, &t, BPF_ANY) != 0)
    return Error{errno, std::string("cannot register the workload: ") +
                            std::strerror(errno)};
  // The task cache is BPF's own (it holds the task's uncounted hot key):
  // a tid BPF already follows keeps the state BPF gave it there.
  if (impl_->dead_scopes.erase(scope))
    bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.dead_scopes), &scope);
  return {};
}

std::vector<std::uint32_t> Tracer::tracked_tgids() const {
  std::vector<std::uint32_t> out;
  for (auto [tgid, scope] : tracked())
    out.push_back(tgid);
  return out;
}

std::size_t Tracer::tracked_count() const { return tracked_tgids().size(); }

std::vector<std::pair<std::uint32_t, std::uint64_t>> Tracer::tracked() const {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
  int fd = bpf_map__fd(impl_->skel->maps.tasks);
  __u32 key, next;
  __u32 *prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    cs_task t{};
    if (bpf_map_lookup_elem(fd, &next, &t) == 0)
      out.emplace_back(t.tgid, t.scope);
    key = next;
    prev = &key;
  }
  return out;
}

int Tracer::poll(int timeout_ms,
                 const std::function<void(const cs_event &)> &fn) {
  impl_->cb = &fn;
  impl_->handled = 0;
  int err = ring_buffer__poll(impl_->ring.get(), timeout_ms);
  impl_->cb = nullptr;
  if (err < 0 && err != -EINTR)
    return err;
  return impl_->handled;
}

void Tracer::exe_known(const cs_exe_id &id) {
  __u8 one = 1;
  // Best effort: a full (LRU) map or an error only costs wake-ups.
  bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.exe_known), &id, &one,
                      BPF_ANY);
}

int Tracer::ring_fd() const { return ring_buffer__epoll_fd(impl_->ring.get()); }

namespace {

// Adds one CPU's counter of a key to its running total.
void add_count(KeyCount &kc, const cs_count &v) {
  if (!v.count)
    return;
  kc.count += v.count;
  if (v.first_ns && (!kc.first_ns || v.first_ns < kc.first_ns))
    kc.first_ns = v.first_ns;
  kc.last_ns = std::max<std::uint64_t>(kc.last_ns, v.last_ns);
}

std::pair<std::uint64_t, std::uint64_t> key_words(const cs_key &k) {
  std::uint64_t w[2];
  std::memcpy(w, &k, sizeof w);
  return {w[0], w[1]};
}

} // namespace

std::vector<KeyCount> Tracer::read_counts() const {
  std::vector<KeyCount> out;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0)
    return out;
  // A key's count is the sum over CPUs of its `counts` element and of the
  // count_slots slot it holds on that CPU.
  std::map<std::pair<std::uint64_t, std::uint64_t>, KeyCount> sums;
  auto entry = [&](const cs_key &k) -> KeyCount & {
    KeyCount &kc = sums[key_words(k)];
    kc.key = k;
    return kc;
  };

  int fd = bpf_map__fd(impl_->skel->maps.counts);
  std::vector<cs_count> vals(ncpu);
  cs_key key{}, next{};
  cs_key *prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (bpf_map_lookup_elem(fd, &next, vals.data()) == 0) {
      KeyCount &kc = entry(next);
      for (const auto &v : vals)
        add_count(kc, v);
    }
    key = next;
    prev = &key;
  }

  int sfd = bpf_map__fd(impl_->skel->maps.count_slots);
  std::vector<cs_count_slot> slots(ncpu);
  std::set<std::uint64_t> dead_seen;
  __u32 nslots = bpf_map__max_entries(impl_->skel->maps.count_slots);
  for (__u32 i = 0; i < nslots; ++i) {
    if (bpf_map_lookup_elem(sfd, &i, slots.data()) != 0)
      continue;
    for (const auto &sl : slots) {
      if (!sl.c.count)
        continue;
      if (impl_->dead_scopes.count(sl.key.scope)) {
        dead_seen.insert(sl.key.scope);
        continue;
      }
      add_count(entry(sl.key), sl.c);
    }
  }
  // The hot keys of live tasks, not yet in the maps above. Batches of the
  // task cache; a slot is live while it has a tag.
  int tfd = bpf_map__fd(impl_->skel->maps.task_slots);
  __u32 ntask = bpf_map__max_entries(impl_->skel->maps.task_slots);
  const __u32 chunk = 4096;
  std::vector<__u32> keys(chunk);
  std::vector<cs_task_slot> tslots(chunk);
  __u32 next_batch = 0;
  bool first = true;
  for (__u32 done = 0; done < ntask;) {
    __u32 n = std::min(chunk, ntask - done);
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err =
        bpf_map_lookup_batch(tfd, first ? nullptr : &next_batch, &next_batch,
                             keys.data(), tslots.data(), &n, &opts);
    first = false;
    if (err && errno != ENOENT)
      break;
    for (__u32 i = 0; i < n; ++i)
      if (tslots[i].tag && tslots[i].hot.count &&
          !impl_->dead_scopes.count(tslots[i].hot_key.scope))
        add_count(entry(tslots[i].hot_key), tslots[i].hot);
    done += n;
    if (err || n == 0)
      break; // ENOENT: that was the last batch
  }

  // A retired scope no slot holds any more needs no remembering.
  int dfd = bpf_map__fd(impl_->skel->maps.dead_scopes);
  for (auto it = impl_->dead_scopes.begin(); it != impl_->dead_scopes.end();) {
    if (dead_seen.count(*it)) {
      ++it;
      continue;
    }
    std::uint64_t scope = *it;
    bpf_map_delete_elem(dfd, &scope);
    it = impl_->dead_scopes.erase(it);
  }

  out.reserve(sums.size());
  for (auto &[words, kc] : sums)
    out.push_back(kc);
  return out;
}

TracerStats Tracer::read_stats() const {
  TracerStats s;
  int fd = bpf_map__fd(impl_->skel->maps.stats);
  int ncpu = libbpf_num_possible_cpus();
  std::vector<__u64> vals(ncpu > 0 ? ncpu : 1);
  auto sum = [&](__u32 idx) {
    std::uint64_t total = 0;
    if (bpf_map_lookup_elem(fd, &idx, vals.data()) == 0)
      for (auto v : vals)
        total += v;
    return total;
  };
  auto fails = [&](__u32 which) { return sum(CS_STAT__COUNT + which); };
  s.lost_events = sum(CS_STAT_LOST_EVENTS);
  s.tasks_full = sum(CS_STAT_TASKS_FULL);
  s.counts_full = sum(CS_STAT_COUNTS_FULL) + fails(CS_FAIL_COUNTS_RACE);
  s.seen_full = fails(CS_FAIL_SEEN);
  s.kprobe_full = fails(CS_FAIL_KPROBE_PENDING);
  s.inflight_full = fails(CS_FAIL_INFLIGHT);
  s.task_slots_busy = fails(CS_FAIL_TASK_SLOTS);
  s.count_slots_busy = fails(CS_FAIL_COUNT_SLOTS);
  s.dead_scopes_full = impl_->dead_scopes_full;
  s.checks = sum(CS_STAT_CHECKS);
  s.stack_fail = sum(CS_STAT_STACK_FAIL);
  s.fast_class = sum(CS_STAT_FAST_CLASS);
  s.fast_mismatch = sum(CS_STAT_FAST_MISMATCH);
  s.site_hit = sum(CS_STAT_SITE_HIT);
  s.site_miss = sum(CS_STAT_SITE_MISS);
  s.site_evict = sum(CS_STAT_SITE_EVICT);
  s.site_mismatch = sum(CS_STAT_SITE_MISMATCH);
  return s;
}

void Tracer::forget_scope(std::uint64_t scope) {
  // Its keys in count_slots stay until BPF reuses the slots: ignore them
  // from now on, and let BPF take them over.
  // (If dead_scopes is full, those slots only stay taken.)
  __u8 one = 1;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.dead_scopes), &scope,
                          &one, BPF_ANY) != 0)
    impl_->dead_scopes_full++;
  impl_->dead_scopes.insert(scope);
  for (auto *m : {impl_->skel->maps.counts, impl_->skel->maps.seen}) {
    int fd = bpf_map__fd(m);
    std::vector<cs_key> doomed;
    cs_key key{}, next{};
    cs_key *prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      if (next.scope == scope)
        doomed.push_back(next);
      key = next;
      prev = &key;
    }
    for (const auto &k : doomed)
      bpf_map_delete_elem(fd, &k);
  }
}

} // namespace capscope
