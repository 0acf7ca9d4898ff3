// daemon.cpp - the daemon's loop: read events, resolve scopes to
// containers, flush profiles every interval and on exit, evict scopes whose
// tasks are all gone once their profile is persisted.
#include "daemon/daemon.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <httplib.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <set>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include "cli/common.h"
#include "core/aggregate.h"
#include "core/either_or.h"
#include "core/store.h"
#include "core/syscalls.h"
#include "daemon/container_info.h"
#include "daemon/protocol.h"

namespace capscope {

namespace {

// After attaching, the daemon keeps only what it still uses: SYS_PTRACE to
// read other processes' /proc/PID/exe and ns links. Map and ring-buffer
// access goes through fds it already holds, which need no capability; BPF,
// PERFMON and SYSLOG (kallsyms) were only needed to start.
void drop_capabilities(bool verbose) {
  // The bounding set first (needs SETPCAP; under a unit that already
  // limits it, this fails harmlessly and the unit's limit stands).
  for (int c = 0; c <= CAP_LAST_CAP; ++c)
    if (c != CAP_SYS_PTRACE)
      prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
  cap_t caps = cap_init();
  if (!caps)
    return;
  cap_value_t keep[] = {CAP_SYS_PTRACE};
  cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET);
  cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET);
  if (cap_set_proc(caps) != 0 && verbose)
    std::fprintf(stderr, "capscope daemon: could not drop capabilities: %s\n",
                 std::strerror(errno));
  else if (verbose)
    std::fprintf(stderr, "capscope daemon: dropped every capability but "
                         "SYS_PTRACE\n");
  cap_free(caps);
}

std::string base_name(const std::string &p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// Published view of the profiles, for the socket and metrics threads.
struct Snapshot {
  std::map<std::string, Profile> profiles;
  std::set<std::string> running; // keys with live tasks
  std::set<std::string> privileged;
  std::uint64_t lost_events = 0;
  std::uint64_t flushes = 0;
  std::uint64_t scopes = 0;
  std::uint64_t tasks_overflow = 0;
  std::uint64_t counts_overflow = 0;
};

class Daemon {
public:
  explicit Daemon(const DaemonConfig &cfg) : cfg_(cfg), store_(cfg.state_dir) {}
  int run();

private:
  void on_event(const cs_event &e);
  std::string key_for(std::uint64_t scope);
  void adopt_existing();
  void flush(bool final);
  void serve_socket();
  void serve_metrics();
  nlohmann::json handle(const nlohmann::json &req);
  std::string metrics_text();
  bool request_flush();

  DaemonConfig cfg_;
  ProfileStore store_;
  Kallsyms ksyms_;
  std::unique_ptr<Tracer> tracer_;
  Aggregator agg_;
  ScopeResolver resolver_;
  std::map<std::uint64_t, std::string> scope_key_;
  std::map<std::uint64_t, std::string> scope_exe_;
  std::map<std::string, Profile> base_; // disk + evicted scopes
  std::uint32_t host_mntns_ = 0;
  std::uint64_t host_bounding_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  Snapshot snap_;
  bool flush_wanted_ = false;
  std::uint64_t flush_gen_ = 0;
  std::atomic<bool> stopping_{false};
  int listen_fd_ = -1;
  std::unique_ptr<httplib::Server> http_;
};

std::string Daemon::key_for(std::uint64_t scope) {
  if (auto it = scope_key_.find(scope); it != scope_key_.end())
    return it->second;
  if (const ContainerIdentity *id = resolver_.find(scope))
    return scope_key_[scope] = id->ref.id;
  if (!resolver_.known(scope))
    return {}; // not resolved yet
  // A private mount namespace that is no container (a runtime helper, a
  // service with PrivateTmp, `unshare -m`): named by what it ran.
  std::string exe = scope_exe_.count(scope) ? scope_exe_[scope] : "";
  if (exe.empty())
    exe = agg_.exe_of(agg_.some_pid(scope));
  return scope_key_[scope] =
             "ns-" + (exe.empty() ? std::to_string(scope) : base_name(exe));
}

void Daemon::on_event(const cs_event &e) {
  agg_.on_event(e, ksyms_);
  if (e.type == CS_EV_SCOPE) {
    std::string fn(e.filename, strnlen(e.filename, sizeof e.filename));
    scope_exe_.try_emplace(e.key.scope, fn);
    resolver_.on_scope_event(e);
  }
}

// Tasks already running in a private mount namespace when the daemon
// starts (a restart, containers started before it) are adopted past their
// exec gate, so a restart keeps tracing what runs.
void Daemon::adopt_existing() {
  DIR *proc = opendir("/proc");
  if (!proc)
    return;
  std::size_t adopted = 0;
  while (dirent *d = readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(d->d_name[0])))
      continue;
    int pid = std::atoi(d->d_name);
    if (pid == getpid())
      continue;
    char exe[4096];
    std::string link = "/proc/" + std::to_string(pid) + "/exe";
    ssize_t exe_len = readlink(link.c_str(), exe, sizeof exe - 1);
    if (exe_len <= 0)
      continue; // a kernel thread
    std::uint32_t inum = mntns_of_pid(pid);
    if (!inum || inum == host_mntns_)
      continue;
    // /proc shows the inode, not the kernel's unique ns id: adopted scopes
    // get their own id space (top bit set) so they never meet BPF's ids.
    std::uint64_t ns = (std::uint64_t{1} << 63) | inum;
    std::string taskdir = std::string("/proc/") + d->d_name + "/task";
    DIR *tasks = opendir(taskdir.c_str());
    if (!tasks)
      continue;
    while (dirent *t = readdir(tasks)) {
      if (!std::isdigit(static_cast<unsigned char>(t->d_name[0])))
        continue;
      std::uint32_t tid = std::atoi(t->d_name);
      if (tracer_->track(tid, ns, CS_PHASE_ACTIVE, CS_SCOPE_CONTAINER))
        ++adopted;
    }
    closedir(tasks);
    if (!resolver_.known(ns))
      resolver_.resolve_pid(ns, pid);
    scope_exe_.try_emplace(ns, std::string(exe, exe_len));
  }
  closedir(proc);
  if (cfg_.verbose)
    std::fprintf(stderr, "capscope daemon: adopted %zu running tasks\n",
                 adopted);
}

void Daemon::flush(bool final) {
  agg_.set_counts(tracer_->read_counts());
  // Every event a counted check came after (its scope's exec, its key's
  // first check) is in the ring buffer by now: take them before naming
  // and evicting, or a scope that lived between two polls is persisted
  // without a name.
  while (tracer_->poll(0, [this](const cs_event &e) { on_event(e); }) > 0) {
  }
  TracerStats stats = tracer_->read_stats();
  std::map<std::uint64_t, std::uint32_t> live; // scope -> a live tgid
  for (auto [tgid, scope] : tracer_->tracked())
    live.try_emplace(scope, tgid);
  // A task's last checks can still be on their way into the counts while
  // it exits (its hot key moves there before it leaves the task map), and
  // a scope may be known so far only from its events. Every scope with no
  // task left is read once more, now complete.
  std::set<std::uint64_t> gone;
  for (std::uint64_t scope : agg_.scopes())
    if (!live.count(scope))
      gone.insert(scope);
  if (!gone.empty()) {
    std::vector<KeyCount> again = tracer_->read_counts();
    std::erase_if(
        again, [&](const KeyCount &kc) { return !gone.count(kc.key.scope); });
    agg_.set_counts(again);
  }

  std::map<std::string, Profile> current = base_;
  std::map<std::string, Profile> evicted_parts;
  std::set<std::string> running, touched, privileged;
  std::vector<std::uint64_t> dead;
  for (std::uint64_t scope : agg_.scopes()) {
    if (!resolver_.known(scope)) // its scope event was lost or too late
      resolver_.resolve_pid(scope, live.count(scope) ? live[scope]
                                                     : agg_.some_pid(scope));
    std::string key = key_for(scope);
    if (key.empty()) {
      if (!live.count(scope)) { // gone before we could name it
        resolver_.forget(scope);
        scope_key_[scope] = key = "ns-" + std::to_string(scope);
      } else {
        continue; // try again next flush
      }
    }
    Profile part;
    if (const ContainerIdentity *id = resolver_.find(scope)) {
      ScopeResolver::describe(part, *id);
    } else {
      part.workload.kind = "namespace";
      part.workload.name = key.substr(3);
      part.workload.key = "exe:" + scope_exe_[scope];
      part.workload.id = key;
    }
    part.kernel = kernel_release();
    part.arch = std::string(syscall_arch());
    part.attach_mode = attach_mode_name(tracer_->mode());
    agg_.fill(part, scope);
    for (const auto &c : part.checks) {
      if (!part.start_ns || (c.first_ns && c.first_ns < part.start_ns))
        part.start_ns = c.first_ns;
      part.end_ns = std::max(part.end_ns, c.last_ns);
    }
    if (live.count(scope)) {
      std::uint32_t pid = live[scope];
      std::uint64_t eff = proc_status_mask(pid, "CapEff:");
      std::uint64_t bnd = proc_status_mask(pid, "CapBnd:");
      if (eff || bnd) {
        part.held = eff;
        part.held_known = true;
        if (host_bounding_ && bnd == host_bounding_ && eff == host_bounding_)
          privileged.insert(key);
      }
      running.insert(key);
    } else {
      dead.push_back(scope);
    }
    auto [it, fresh] = current.try_emplace(key, part);
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
    if (!live.count(scope)) {
      auto [ev, fresh_ev] = evicted_parts.try_emplace(key, part);
      if (!fresh_ev)
        merge_into(ev->second, part);
    }
  }

  for (const auto &key : touched) {
    if (auto r = store_.save(key, current[key]); !r)
      std::fprintf(stderr, "capscope daemon: %s\n", r.error().message.c_str());
  }
  // Persisted: scopes with no task left leave the kernel maps and memory.
  for (std::uint64_t scope : dead) {
    tracer_->forget_scope(scope);
    agg_.drop_scope(scope);
    resolver_.forget(scope);
    scope_key_.erase(scope);
    scope_exe_.erase(scope);
  }
  for (auto &[key, part] : evicted_parts) {
    auto [it, fresh] = base_.try_emplace(key, part);
    if (!fresh)
      merge_into(it->second, part);
  }

  std::lock_guard<std::mutex> lock(mu_);
  snap_.profiles = std::move(current);
  snap_.running = std::move(running);
  snap_.privileged = std::move(privileged);
  snap_.lost_events = stats.lost_events;
  snap_.tasks_overflow = stats.tasks_full;
  snap_.counts_overflow = stats.counts_full;
  snap_.scopes = live.size();
  snap_.flushes++;
  flush_gen_++;
  cv_.notify_all();
  if (final && cfg_.verbose)
    std::fprintf(stderr, "capscope daemon: final flush: %zu profiles\n",
                 snap_.profiles.size());
}

bool Daemon::request_flush() {
  std::unique_lock<std::mutex> lock(mu_);
  std::uint64_t gen = flush_gen_;
  flush_wanted_ = true;
  return cv_.wait_for(lock, std::chrono::seconds(3),
                      [&] { return flush_gen_ > gen || stopping_; });
}

static nlohmann::json summary(const Profile &p, bool running, bool privileged) {
  FinalAdvice a = final_advice(p);
  return {{"key", p.workload.id.empty() ? p.workload.key : p.workload.id},
          {"kind", p.workload.kind},
          {"id", p.workload.id},
          {"name", p.workload.name},
          {"runtime", p.workload.runtime},
          {"image", p.workload.image},
          {"pod", p.workload.pod},
          {"workload_key", p.workload.key},
          {"caps_used", cap_names(a.add)},
          {"held_unused", cap_names(held_unused(p))},
          {"held_known", p.held_known},
          {"privileged", privileged},
          {"running", running},
          {"last_seen", iso8601(p.end_ns)}};
}

nlohmann::json Daemon::handle(const nlohmann::json &req) {
  std::string op = req.value("op", std::string());
  if (op != "list" && op != "get")
    return {{"ok", false}, {"error", "unknown request '" + op + "'"}};
  request_flush();
  std::lock_guard<std::mutex> lock(mu_);
  if (op == "list") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto &[key, p] : snap_.profiles)
      arr.push_back(summary(p, snap_.running.count(key) != 0,
                            snap_.privileged.count(key) != 0));
    return {{"ok", true},
            {"profiles", arr},
            {"lost_events", snap_.lost_events},
            {"scopes", snap_.scopes}};
  }
  std::string want = req.value("id", std::string());
  if (want.empty())
    return {{"ok", false}, {"error", "no container id or name given"}};
  std::vector<const Profile *> hits;
  for (const auto &[key, p] : snap_.profiles) {
    const Workload &w = p.workload;
    if (key == want || w.id == want || w.name == want)
      return {{"ok", true}, {"profile", to_json(p)}};
    if (want.size() >= 4 && w.id.rfind(want, 0) == 0)
      hits.push_back(&p);
  }
  if (hits.size() == 1)
    return {{"ok", true}, {"profile", to_json(*hits[0])}};
  if (hits.size() > 1)
    return {{"ok", false},
            {"error", "'" + want + "' matches " + std::to_string(hits.size()) +
                          " containers; give more of the id"}};
  return {{"ok", false},
          {"error", "no container '" + want +
                        "' in the daemon's profiles (see: capscope profiles)"}};
}

void Daemon::serve_socket() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0)
      continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string line;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0)
        break;
      line.append(buf, n);
      if (line.find('\n') != std::string::npos || line.size() > 65536)
        break;
    }
    nlohmann::json reply;
    try {
      reply = handle(nlohmann::json::parse(line));
    } catch (const std::exception &) {
      reply = {{"ok", false}, {"error", "malformed request"}};
    }
    std::string out = reply.dump() + "\n";
    std::size_t off = 0;
    while (off < out.size()) {
      // MSG_NOSIGNAL: a client that hung up must not kill the daemon.
      ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n <= 0)
        break;
      off += n;
    }
    close(fd);
  }
}

static std::string label_value(const std::string &s) {
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

std::string Daemon::metrics_text() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP capscope_checks_total Capability checks seen per workload, "
         "capability, verdict and class.\n"
         "# TYPE capscope_checks_total counter\n";
  for (const auto &[key, p] : snap_.profiles) {
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
  out += "# HELP capscope_scopes_tracked Scopes with live tasks.\n"
         "# TYPE capscope_scopes_tracked gauge\n"
         "capscope_scopes_tracked " +
         std::to_string(snap_.scopes) + "\n";
  out += "# HELP capscope_profiles Profiles kept by the daemon.\n"
         "# TYPE capscope_profiles gauge\n"
         "capscope_profiles " +
         std::to_string(snap_.profiles.size()) + "\n";
  out += "# HELP capscope_profile_flushes_total Profile flushes to disk.\n"
         "# TYPE capscope_profile_flushes_total counter\n"
         "capscope_profile_flushes_total " +
         std::to_string(snap_.flushes) + "\n";
  return out;
}

static sockaddr_un socket_address(const std::string &path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    throw Fatal("daemon: socket path too long: " + path);
  std::strcpy(addr.sun_path, path.c_str());
  return addr;
}

// Checked before anything is loaded, so a second daemon fails at once.
static void refuse_if_running(const std::string &path) {
  sockaddr_un addr = socket_address(path);
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool running =
      connect(probe, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
  close(probe);
  if (running)
    throw Fatal("daemon: another capscope daemon is already listening on " +
                path);
}

// Bound only once tracing runs: the socket's presence means "ready".
static int open_listen_socket(const std::string &path) {
  sockaddr_un addr = socket_address(path);
  unlink(path.c_str()); // a stale socket from a daemon that was killed
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mode_t old = umask(0177); // the socket is born 0600: root only
  int rc = bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || listen(fd, 16) != 0) {
    int e = errno;
    close(fd);
    throw Fatal("daemon: cannot listen on " + path + ": " + std::strerror(e));
  }
  chmod(path.c_str(), 0600);
  return fd;
}

int Daemon::run() {
  require_tracing_privileges();
  if (auto r = store_.open(); !r)
    throw Fatal("daemon: " + r.error().message);
  for (const auto &problem : store_.load(&base_))
    std::fprintf(stderr, "capscope daemon: corrupt profile: %s\n",
                 problem.c_str());
  refuse_if_running(cfg_.socket);

  ksyms_ = Kallsyms::load();
  host_mntns_ = host_mntns();
  if (cfg_.verbose)
    std::fprintf(stderr, "capscope daemon: host mount namespace %u\n",
                 host_mntns_);
  host_bounding_ = proc_status_mask(1, "CapBnd:");
  if (!host_bounding_)
    host_bounding_ = proc_status_mask(getpid(), "CapBnd:");
  TracerConfig tc;
  tc.attach = cfg_.attach;
  tc.mode = CS_MODE_DAEMON;
  tc.host_mntns = host_mntns_;
  configure_noise(tc, ksyms_);
  std::int64_t t0 = mono_now_ns();
  tracer_ = open_tracer(tc, cfg_.verbose);
  agg_ = Aggregator(wall_now_ns() - mono_now_ns());
  adopt_existing();
  listen_fd_ = open_listen_socket(cfg_.socket);
  drop_capabilities(cfg_.verbose);
  install_stop_signals();
  signal(SIGPIPE, SIG_IGN);

  std::thread sock_thread([this] { serve_socket(); });
  std::thread http_thread;
  if (!cfg_.metrics.empty()) {
    auto colon = cfg_.metrics.rfind(':');
    std::string host = colon == std::string::npos
                           ? std::string("127.0.0.1")
                           : cfg_.metrics.substr(0, colon);
    int port = std::atoi(cfg_.metrics.substr(colon + 1).c_str());
    http_ = std::make_unique<httplib::Server>();
    http_->Get("/metrics",
               [this](const httplib::Request &, httplib::Response &res) {
                 res.set_content(metrics_text(), "text/plain; version=0.0.4");
               });
    if (!http_->bind_to_port(host.c_str(), port)) {
      stopping_ = true;
      sock_thread.join();
      throw Fatal("daemon: cannot serve metrics on " + cfg_.metrics);
    }
    http_thread = std::thread([this] { http_->listen_after_bind(); });
  }
  std::fprintf(stderr,
               "capscope daemon: tracing all containers (%s, attached in "
               "%.0f ms); %zu profiles from %s; socket %s%s\n",
               attach_mode_name(tracer_->mode()), (mono_now_ns() - t0) / 1e6,
               base_.size(), cfg_.state_dir.c_str(), cfg_.socket.c_str(),
               cfg_.metrics.empty()
                   ? ""
                   : ("; metrics http://" + cfg_.metrics + "/metrics").c_str());

  auto handle_event = [this](const cs_event &e) { on_event(e); };
  auto next = std::chrono::steady_clock::now() +
              std::chrono::milliseconds(cfg_.flush_ms);
  flush(false); // publish what is on disk at once
  while (!g_stop_signal) {
    tracer_->poll(100, handle_event);
    bool wanted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wanted = flush_wanted_;
      flush_wanted_ = false;
    }
    auto now = std::chrono::steady_clock::now();
    if (wanted || now >= next) {
      flush(false);
      next = now + std::chrono::milliseconds(cfg_.flush_ms);
    }
  }
  while (tracer_->poll(0, handle_event) > 0) {
  }
  flush(true);
  stopping_ = true;
  cv_.notify_all();
  if (http_)
    http_->stop();
  sock_thread.join();
  if (http_thread.joinable())
    http_thread.join();
  close(listen_fd_);
  unlink(cfg_.socket.c_str());
  std::fprintf(stderr, "capscope daemon: stopped; profiles saved in %s\n",
               cfg_.state_dir.c_str());
  return 0;
}

} // namespace

int run_daemon(const DaemonConfig &cfg) {
  Daemon d(cfg);
  return d.run();
}

} // namespace capscope
