// engines.cpp - engine clients in a recorded command, the docker relay
// socket that ties the containers a docker client starts to the command,
// and the engine's own processes for the runtime section (engines.h).
#include "session/engines.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <mutex>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace capscope {

namespace {

std::string base_name(std::string_view p) {
  auto s = p.rfind('/');
  return std::string(s == std::string_view::npos ? p : p.substr(s + 1));
}

std::string read_text(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\0' || c == ';' ||
        c == '&' || c == '|' || c == '(' || c == ')' || c == '\'' || c == '"') {
      if (!cur.empty())
        out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty())
    out.push_back(cur);
  return out;
}

bool is_host_engine_client(const std::string &name) {
  return name == "docker" || name == "docker-compose" || name == "ctr" ||
         name == "nerdctl";
}

int unix_socket(const std::string &path, bool listen_on) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path)
    return -1;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int rc = listen_on ? bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a)
                     : connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
  if (rc == 0 && listen_on)
    rc = listen(fd, 64);
  if (rc != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The socket a docker client of this environment talks to, or "".
std::string docker_upstream() {
  const char *h = std::getenv("DOCKER_HOST");
  std::string host = h ? h : "";
  if (host.empty()) {
    for (const char *p : {"/var/run/docker.sock", "/run/docker.sock"}) {
      struct stat st {};
      if (stat(p, &st) == 0 && S_ISSOCK(st.st_mode))
        return p;
    }
    return {};
  }
  if (host.rfind("unix://", 0) == 0)
    return host.substr(7);
  return {}; // tcp:// or ssh://: not relayed
}

} // namespace

std::string engine_client_name(std::string_view exe) {
  std::string n = base_name(exe);
  if (n == "docker" || n == "podman" || n == "nerdctl" || n == "ctr" ||
      n == "crictl")
    return n;
  if (n == "docker-compose" || n == "podman-compose")
    return "compose";
  return {};
}

bool command_uses_host_engine(const std::vector<std::string> &command) {
  if (command.empty())
    return false;
  if (is_host_engine_client(base_name(command[0])))
    return true;
  for (std::size_t i = 1; i < command.size(); ++i)
    for (const auto &w : split_words(command[i]))
      if (is_host_engine_client(base_name(w)))
        return true;
  return false;
}

std::vector<std::string> started_containers_in(std::string_view req) {
  // "POST /v1.41/containers/<id or name>/start HTTP/1.1"
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = req.find("POST /", pos)) != std::string_view::npos) {
    std::size_t eol = req.find_first_of(" \r\n", pos + 5);
    if (eol == std::string_view::npos)
      break;
    std::string_view path = req.substr(pos + 5, eol - pos - 5);
    pos = eol;
    auto q = path.find('?');
    if (q != std::string_view::npos)
      path = path.substr(0, q);
    auto c = path.find("/containers/");
    if (c == std::string_view::npos)
      continue;
    std::string_view rest = path.substr(c + 12);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 ||
        rest.substr(slash) != "/start")
      continue;
    out.emplace_back(rest.substr(0, slash));
  }
  return out;
}

// A pass-through for docker's API socket: every connection is relayed to
// the real one byte for byte (attach streams included); only the request
// lines are read, for the containers started.
class DockerRelay {
public:
  static std::unique_ptr<DockerRelay> start(const std::string &upstream,
                                            std::string *err) {
    char tmpl[] = "/tmp/capscope-docker.XXXXXX";
    if (!mkdtemp(tmpl)) {
      *err = std::string("mkdtemp: ") + std::strerror(errno);
      return nullptr;
    }
    auto r = std::unique_ptr<DockerRelay>(new DockerRelay);
    r->dir_ = tmpl;
    r->path_ = r->dir_ + "/docker.sock";
    r->upstream_ = upstream;
    r->listen_fd_ = unix_socket(r->path_, true);
    if (r->listen_fd_ < 0) {
      *err = "cannot listen on " + r->path_ + ": " + std::strerror(errno);
      return nullptr;
    }
    // Whoever may use the real socket may use this one.
    struct stat st {};
    chmod(r->dir_.c_str(), 0711);
    if (stat(upstream.c_str(), &st) == 0) {
      if (chown(r->path_.c_str(), st.st_uid, st.st_gid) != 0) {
      }
      chmod(r->path_.c_str(), st.st_mode & 0777);
    }
    r->thread_ = std::thread([p = r.get()] { p->loop(); });
    return r;
  }

  ~DockerRelay() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
    for (auto &c : conns_) {
      close(c.client);
      close(c.server);
    }
    if (listen_fd_ >= 0)
      close(listen_fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  const std::string &path() const { return path_; }

  std::set<std::string> started() const {
    std::lock_guard<std::mutex> g(mu_);
    return started_;
  }

private:
  struct Conn {
    int client = -1, server = -1;
    bool client_eof = false, server_eof = false;
    std::string tail; // the end of the client's bytes, for split lines
  };

  DockerRelay() = default;

  static bool write_all(int fd, const char *p, std::size_t n) {
    while (n) {
      ssize_t w = send(fd, p, n, MSG_NOSIGNAL); // a closed peer: no SIGPIPE
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  void note_request(Conn &c, const char *p, std::size_t n) {
    std::string text = c.tail + std::string(p, n);
    // Only whole lines are parsed; the last partial one waits.
    auto last = text.rfind('\n');
    if (last == std::string::npos) {
      c.tail = text.size() > 4096 ? std::string() : text;
      return;
    }
    auto ids = started_containers_in(std::string_view(text).substr(0, last));
    c.tail = text.substr(last + 1);
    if (c.tail.size() > 4096)
      c.tail.clear();
    if (!ids.empty()) {
      std::lock_guard<std::mutex> g(mu_);
      started_.insert(ids.begin(), ids.end());
    }
  }

  void loop() {
    std::vector<char> buf(64 * 1024);
    while (!stop_) {
      std::vector<pollfd> pfds;
      pfds.push_back({listen_fd_, POLLIN, 0});
      for (auto &c : conns_) {
        pfds.push_back(
            {c.client, static_cast<short>(c.client_eof ? 0 : POLLIN), 0});
        pfds.push_back(
            {c.server, static_cast<short>(c.server_eof ? 0 : POLLIN), 0});
      }
      if (poll(pfds.data(), pfds.size(), 100) <= 0)
        continue;
      if (pfds[0].revents & POLLIN) {
        int cfd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (cfd >= 0) {
          int sfd = unix_socket(upstream_, false);
          if (sfd < 0)
            close(cfd);
          else
            conns_.push_back(Conn{cfd, sfd, false, false, {}});
        }
      }
      for (std::size_t i = 0; i + 1 < pfds.size() && i / 2 < conns_.size();
           i += 2) {
        Conn &c = conns_[i / 2];
        for (int dir = 0; dir < 2; ++dir) {
          const pollfd &pf = pfds[1 + i + dir];
          if (!(pf.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
          int from = dir == 0 ? c.client : c.server;
          int to = dir == 0 ? c.server : c.client;
          ssize_t n = read(from, buf.data(), buf.size());
          if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (n > 0 && dir == 0)
            note_request(c, buf.data(), static_cast<std::size_t>(n));
          if (n <= 0 ||
              !write_all(to, buf.data(), static_cast<std::size_t>(n))) {
            (dir == 0 ? c.client_eof : c.server_eof) = true;
            shutdown(to, SHUT_WR);
          }
        }
      }
      for (std::size_t i = conns_.size(); i-- > 0;) {
        if (conns_[i].client_eof && conns_[i].server_eof) {
          close(conns_[i].client);
          close(conns_[i].server);
          conns_.erase(conns_.begin() + static_cast<long>(i));
        }
      }
    }
  }

  std::string dir_, path_, upstream_;
  int listen_fd_ = -1;
  std::vector<Conn> conns_; // the relay thread's own
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::set<std::string> started_;
};

EngineSession::EngineSession(const std::vector<std::string> &command)
    : host_wide_(command_uses_host_engine(command)) {
  // A ctr/nerdctl client names its container ids among its arguments.
  for (const auto &a : command)
    for (const auto &w : split_words(a))
      client_words_.insert(w);
}

EngineSession::~EngineSession() {
  if (!relay_)
    return;
  if (had_docker_host_)
    setenv("DOCKER_HOST", saved_docker_host_.c_str(), 1);
  else
    unsetenv("DOCKER_HOST");
}

void EngineSession::before_spawn(bool verbose) {
  if (!host_wide_)
    return;
  std::string up = docker_upstream();
  if (up.empty())
    return;
  std::string err;
  relay_ = DockerRelay::start(up, &err);
  if (!relay_) {
    if (verbose)
      std::fprintf(stderr, "capscope: no docker relay: %s\n", err.c_str());
    return;
  }
  if (const char *h = std::getenv("DOCKER_HOST")) {
    had_docker_host_ = true;
    saved_docker_host_ = h;
  }
  setenv("DOCKER_HOST", ("unix://" + relay_->path()).c_str(), 1);
  if (verbose)
    std::fprintf(stderr, "capscope: docker clients reach %s through %s\n",
                 up.c_str(), relay_->path().c_str());
}

void EngineSession::track_engine(EventSource &t, std::uint64_t scope,
                                 bool verbose) {
  if (!host_wide_)
    return;
  DIR *proc = opendir("/proc");
  if (!proc)
    return;
  int n = 0;
  while (dirent *d = readdir(proc)) {
    if (d->d_name[0] < '1' || d->d_name[0] > '9')
      continue;
    std::string pid = d->d_name;
    std::string comm = read_text("/proc/" + pid + "/comm");
    while (!comm.empty() && comm.back() == '\n')
      comm.pop_back();
    if (comm != "dockerd" && comm != "containerd" &&
        comm.rfind("containerd-shim", 0) != 0)
      continue;
    DIR *tasks = opendir(("/proc/" + pid + "/task").c_str());
    if (!tasks)
      continue;
    while (dirent *td = readdir(tasks)) {
      if (td->d_name[0] < '1' || td->d_name[0] > '9')
        continue;
      auto tid =
          static_cast<std::uint32_t>(std::strtoul(td->d_name, nullptr, 10));
      if (t.track(tid, scope, CS_PHASE_ACTIVE, CS_SCOPE_COMMAND))
        ++n;
    }
    closedir(tasks);
  }
  closedir(proc);
  if (verbose)
    std::fprintf(stderr, "capscope: following %d engine threads\n", n);
}

void EngineSession::on_event(const cs_event &e, std::uint64_t command_scope) {
  if ((e.type == CS_EV_FORK || e.type == CS_EV_EXEC) &&
      e.key.scope == command_scope)
    tree_pids_.insert(e.pid);
  if (e.type == CS_EV_SCOPE && tree_pids_.count(e.pid))
    tree_scopes_.insert(e.key.scope);
  if (e.type == CS_EV_EXEC && e.key.scope == command_scope) {
    std::string exe(e.filename, strnlen(e.filename, sizeof e.filename));
    std::string name = engine_client_name(exe);
    if (!name.empty()) {
      if (engine_.empty() || engine_ == "compose")
        engine_ = name == "docker" && engine_ == "compose" ? engine_ : name;
      if (name == "ctr" || name == "nerdctl") {
        std::string cmd =
            read_text("/proc/" + std::to_string(e.pid) + "/cmdline");
        for (const auto &w : split_words(cmd))
          client_words_.insert(w);
      }
    }
  }
}

bool EngineSession::owns(std::uint64_t scope, const std::string &id,
                         const std::string &name) const {
  if (tree_scopes_.count(scope))
    return true;
  if (relay_)
    for (const auto &s : relay_->started())
      if ((s.size() >= 12 && id.rfind(s, 0) == 0) ||
          (!name.empty() && s == name))
        return true;
  return !id.empty() && client_words_.count(id) != 0;
}

std::vector<unsigned> EngineSession::stop_targets(std::vector<unsigned> tracked,
                                                  unsigned command_pid) const {
  if (!host_wide_)
    return tracked;
  // The engine and other containers are followed too: only the command's
  // own processes are signalled (a docker client passes signals on).
  std::vector<unsigned> out{command_pid};
  for (unsigned p : tracked)
    if (tree_pids_.count(p))
      out.push_back(p);
  return out;
}

std::vector<std::string> docker_run_command(
    std::vector<std::string> caps, bool no_new_privs, const std::string &user,
    const std::vector<std::string> &runtime_opts, const std::string &image,
    const std::vector<std::string> &command) {
  std::vector<std::string> cmd = {"docker", "run", "--rm", "--cap-drop=ALL"};
  std::sort(caps.begin(), caps.end());
  for (const auto &n : caps)
    cmd.push_back("--cap-add=" + n);
  if (no_new_privs)
    cmd.insert(cmd.end(), {"--security-opt", "no-new-privileges"});
  cmd.insert(cmd.end(), {"--tmpfs", "/tmp"});
  if (!user.empty())
    cmd.insert(cmd.end(), {"--user", user});
  cmd.insert(cmd.end(), runtime_opts.begin(), runtime_opts.end());
  cmd.push_back(image);
  cmd.insert(cmd.end(), command.begin(), command.end());
  return cmd;
}

std::string empty_engine_scope_message(const std::string &engine) {
  return "capscope: the command ran a container engine client (" + engine +
         ") but no container of its own was seen: nothing to advise.\n"
         "capscope: (the container did not start, the client only queried "
         "the engine, or it reached an engine capscope cannot tie to this "
         "command)\n";
}

} // namespace capscope
