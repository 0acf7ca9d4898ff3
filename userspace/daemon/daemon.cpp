// daemon.cpp - the daemon process: attach, adopt what already runs, drop
// capabilities, run the trace loop (flushing through DaemonCore every
// interval and on exit), and serve the Unix socket and /metrics.

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
#include <malloc.h>
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

#include "core/json_safe.h"
#include "core/store.h"
#include "daemon/daemon_core.h"
#include "daemon/protocol.h"
#include "session/system.h"
#include "session/trace_session.h"

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

class Daemon {
public:
  explicit Daemon(const DaemonConfig &cfg) : cfg_(cfg), store_(cfg.state_dir) {}
  int run();

private:
  void serve_socket();
  nlohmann::json handle(const nlohmann::json &req);

  DaemonConfig cfg_;
  ProfileStore store_;
  std::unique_ptr<TraceSession> session_;
  std::unique_ptr<DaemonCore> core_;
  std::atomic<bool> stopping_{false};
  int listen_fd_ = -1;
  std::unique_ptr<httplib::Server> http_;
};

nlohmann::json Daemon::handle(const nlohmann::json &req) {
  std::string op = req.value("op", std::string());
  if (op == "list" || op == "get")
    core_->request_flush();
  return core_->answer(req);
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
    // One request line of at most kMaxRequest bytes.
    constexpr std::size_t kMaxRequest = 64 * 1024;
    std::string line;
    char buf[4096];
    bool too_large = false;
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0)
        break;
      line.append(buf, n);
      if (line.find('\n') != std::string::npos)
        break;
      if (line.size() > kMaxRequest) {
        too_large = true;
        break;
      }
    }
    nlohmann::json reply;
    if (too_large) {
      reply = {{"ok", false},
               {"error", "request too large (over " +
                             std::to_string(kMaxRequest / 1024) + " KiB)"}};
    } else {
      try {
        reply = handle(nlohmann::json::parse(line));
      } catch (const std::exception &) {
        reply = {{"ok", false}, {"error", "malformed request"}};
      }
    }
    std::string out = json_text(reply) + "\n";
    std::size_t off = 0;
    while (off < out.size()) {
      // MSG_NOSIGNAL: a client that hung up must not kill the daemon.
      ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n <= 0)
        break;
      off += n;
    }
    if (too_large) {
      // Unread input makes close() reset the connection, and the client
      // would lose the reply: take (and drop) what it is still sending,
      // for a moment at most.
      shutdown(fd, SHUT_WR);
      timeval brief{0, 200 * 1000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &brief, sizeof brief);
      std::size_t dropped = 0;
      ssize_t n;
      while (dropped < (64u << 20) && (n = read(fd, buf, sizeof buf)) > 0)
        dropped += n;
    }
    close(fd);
    // A large reply (every profile, as JSON) takes megabytes of small
    // allocations that malloc keeps for reuse: hand them back, or one
    // `capscope profiles --json` raises the daemon's RSS for good.
    if (out.size() > (1u << 20)) {
      reply = nullptr;
      std::string().swap(out);
      malloc_trim(0);
    }
  }
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
  std::map<std::string, Profile> base;
  std::map<std::string, std::vector<std::string>> noncanonical;
  for (const auto &problem : store_.load(&base, &noncanonical))
    std::fprintf(stderr, "capscope daemon: corrupt profile: %s\n",
                 problem.c_str());
  std::size_t loaded = base.size();
  refuse_if_running(cfg_.socket);

  std::uint32_t host_ns = host_mntns();
  if (cfg_.verbose)
    std::fprintf(stderr, "capscope daemon: host mount namespace %u\n", host_ns);
  std::uint64_t host_bounding = proc_status_mask(1, "CapBnd:");
  if (!host_bounding)
    host_bounding = proc_status_mask(getpid(), "CapBnd:");
  SessionOptions so;
  so.attach = cfg_.attach;
  so.mode = CS_MODE_DAEMON;
  so.host_mntns = host_ns;
  so.verbose = cfg_.verbose;
  session_ = TraceSession::open(so);
  core_ =
      std::make_unique<DaemonCore>(*session_, store_, std::move(base),
                                   host_bounding, cfg_.verbose, noncanonical);
  core_->set_cgroup_parent(cfg_.cgroup_parent);
  // Tasks already running in a private mount namespace when the daemon
  // starts (a restart, containers started before it) are adopted past
  // their exec gate, so a restart keeps tracing what runs.
  std::size_t adopted = session_->adopt_outside_host(host_ns);
  if (cfg_.verbose)
    std::fprintf(stderr, "capscope daemon: adopted %zu running tasks\n",
                 adopted);
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
    http_->Get(
        "/metrics", [this](const httplib::Request &, httplib::Response &res) {
          res.set_content(core_->metrics_text(), "text/plain; version=0.0.4");
        });
    if (!http_->bind_to_port(host.c_str(), port)) {
      stopping_ = true;
      sock_thread.join();
      throw Fatal("daemon: cannot serve metrics on " + cfg_.metrics);
    }
    http_thread = std::thread([this] { http_->listen_after_bind(); });
  }
  std::fprintf(stderr,
               "capscope daemon: tracing all containers%s (%s, attached in "
               "%.0f ms); %zu profiles from %s; socket %s%s\n",
               cfg_.cgroup_parent.empty()
                   ? ""
                   : (" under cgroup " + cfg_.cgroup_parent).c_str(),
               session_->attach_mode(), session_->attach_ms(), loaded,
               cfg_.state_dir.c_str(), cfg_.socket.c_str(),
               cfg_.metrics.empty()
                   ? ""
                   : ("; metrics http://" + cfg_.metrics + "/metrics").c_str());

  auto next = std::chrono::steady_clock::now() +
              std::chrono::milliseconds(cfg_.flush_ms);
  core_->flush(false); // publish what is on disk at once
  while (!g_stop_signal) {
    session_->poll(100);
    bool wanted = core_->take_flush_request();
    auto now = std::chrono::steady_clock::now();
    if (wanted || now >= next) {
      core_->flush(false);
      next = now + std::chrono::milliseconds(cfg_.flush_ms);
    }
  }
  session_->drain();
  core_->flush(true);
  stopping_ = true;
  core_->stop();
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
  // One malloc arena for every thread: with one per thread, memory that
  // one thread freed (a large socket reply) stayed in its arena, unused by
  // the others, and the daemon's RSS only grew (+13 MB after one
  // `profiles --json` of 3,000 profiles). Its threads rarely allocate at
  // the same time.
  mallopt(M_ARENA_MAX, 1);
  Daemon d(cfg);
  return d.run();
}

} // namespace capscope
