// cmd_hook.cpp - `capscope hook`: an OCI hook (hooks.d, as podman and
// CRI-O read it) that records one container from its first instruction.
//
// prestart (state "creating"): the container's init exists, in its own
// namespaces, but has not exec'd the container's command yet. The hook
// validates the io.capscope.* annotations, forks a detached tracer and
// waits until it has attached (a pipe), then exits 0 so the runtime goes
// on: the container's first exec is already traced, and everything runc
// does before it is setup (never advice), as in the daemon. The tracer
// follows the container's mount namespace (and its runtime id) and ends
// when the container's init exits (a pidfd) or on SIGTERM/SIGINT/SIGHUP;
// either way it writes the profile atomically. While the container runs it
// also writes the profile so far every io.capscope.checkpoint (30 s by
// default), so a tracer killed without warning loses at most that much.
// poststop (state "stopped"): waits (bounded) until that tracer has
// written, so `podman run --rm` returns with the profile on disk.
//
// A hook must never break the container unless asked: every error is
// written to stderr and PROFILE.err and the hook exits 0, unless
// io.capscope.required=true (then 1, and the runtime refuses to start it).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <poll.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/oci_hook.h"
#include "core/oci_state.h"
#include "session/container_profile.h"
#include "session/system.h"
#include "session/trace_session.h"

namespace capscope {

namespace {

constexpr const char *kRunDir = "/run/capscope/hooks";
constexpr std::size_t kMaxStateBytes = 1 << 20;

std::string read_fd(int fd, std::size_t max) {
  std::string out;
  char buf[4096];
  while (out.size() < max) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string read_text(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(int fd, const std::string &s) {
  std::size_t at = 0;
  while (at < s.size()) {
    ssize_t n = write(fd, s.data() + at, s.size() - at);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    at += static_cast<std::size_t>(n);
  }
}

// One line for the user: the hook's stderr (shown by the runtime when the
// hook fails) and, when the profile's directory takes it, PROFILE.err.
void tell(const std::string &profile, const std::string &msg) {
  std::string line = "capscope hook: " + msg + "\n";
  write_all(STDERR_FILENO, line);
  if (profile.empty() || profile.front() != '/')
    return;
  int fd = open(hook_err_path(profile).c_str(),
                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return;
  write_all(fd, iso8601(wall_now_ns()) + " " + line);
  close(fd);
}

// The profile's directory exists, is under `only_under` (when given, with
// symbolic links resolved) and takes a new file (a probe file, removed at
// once): found now, not when the container stops. An existing file must
// be a capscope profile: the hook runs as root, and whoever sets a pod's
// annotations may not be.
Result<void> check_writable(const std::string &path,
                            const std::string &only_under) {
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty())
    dir = "/";
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Error{errno, "cannot write the profile " + path + ": directory " +
                            dir + " does not exist"};
  if (!only_under.empty()) {
    char real_dir[PATH_MAX], real_root[PATH_MAX];
    if (!realpath(dir.c_str(), real_dir) ||
        !realpath(only_under.c_str(), real_root))
      return Error{errno, "cannot resolve " + dir + " or --dir " + only_under};
    std::string d = real_dir, r = real_root;
    if (d != r && !d.starts_with(r == "/" ? r : r + "/"))
      return Error{EPERM, "the profile " + path + " is not under " +
                              only_under + " (capscope hook --dir)"};
  }
  if (lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return Error{EISDIR,
                   "cannot write the profile " + path + ": it is a directory"};
    if (!S_ISREG(st.st_mode) || !load_profile(path))
      return Error{EEXIST, "will not overwrite " + path +
                               ": it exists and is not a capscope profile"};
  }
  std::string probe = dir + "/.capscope-hook-probe.XXXXXX";
  int fd = mkstemp(probe.data());
  if (fd < 0)
    return Error{errno, "cannot write the profile " + path + ": " +
                            std::strerror(errno)};
  close(fd);
  unlink(probe.c_str());
  return {};
}

// The io.capscope.profile annotation when PROFILE.err may be written next
// to it (check_writable accepts it), else "": stderr only.
std::string err_target(const OciHookState &st, const std::string &only_under) {
  auto ann = st.annotations.find(kAnnProfile);
  if (ann == st.annotations.end() || ann->second.empty() ||
      ann->second.front() != '/' || !check_writable(ann->second, only_under))
    return "";
  return ann->second;
}

std::string pid_file(const std::string &id) {
  return std::string(kRunDir) + "/" + id + ".pid";
}

int pidfd_open_(int pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// Waits until the process behind pidfd has exited, at most ms.
bool wait_pidfd(int pidfd, std::int64_t ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    end - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0)
      return false;
    pollfd p{pidfd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0)
      return true;
    if (r < 0 && errno != EINTR)
      return false;
  }
}

// The runtime, from the annotations it wrote (runc itself names none).
ContainerIdentity fallback_identity(const OciHookState &st) {
  ContainerIdentity ci;
  ci.ref.id = st.id;
  auto mgr = st.annotations.find("io.container.manager");
  bool crio = false;
  for (const auto &[k, v] : st.annotations)
    crio = crio || k.starts_with("io.kubernetes.cri-o.");
  if (mgr != st.annotations.end() && mgr->second == "libpod")
    ci.ref.runtime = "podman";
  else if (crio)
    ci.ref.runtime = "cri-o";
  if (!st.bundle.empty())
    if (auto oci = oci_config_identity(read_text(st.bundle + "/config.json"))) {
      ci.name = oci->container.empty() ? oci->name : oci->container;
      ci.pod = oci->pod;
      ci.namespace_ = oci->namespace_;
      ci.image = oci->image;
    }
  return ci;
}

// The detached tracer (its parent has written "pid N" on ready_fd). Writes
// "ok" or "error: WHY" there and closes it once attached; returns its exit
// status.
int tracer_main(const OciHookState &st, const HookRequest &req, int ready_fd) {
  // Nothing of the runtime's stays open here: runc waits for the hook's
  // stdout/stderr to close, and conmon's sync pipes leak into hooks.
  if (ready_fd <= STDERR_FILENO)
    ready_fd = fcntl(ready_fd, F_DUPFD, 3);
  if (ready_fd > 3)
    close_range(3, static_cast<unsigned>(ready_fd - 1), 0);
  close_range(static_cast<unsigned>(ready_fd + 1), ~0U, 0);
  int null = open("/dev/null", O_RDWR);
  int log = req.verbose ? open(hook_log_path(req.profile).c_str(),
                               O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644)
                        : -1;
  dup2(null, STDIN_FILENO);
  dup2(null, STDOUT_FILENO);
  dup2(log >= 0 ? log : null, STDERR_FILENO);
  if (null > STDERR_FILENO)
    close(null);
  if (log > STDERR_FILENO)
    close(log);
  if (chdir("/") != 0) {
  }
  // Named apart from the hook processes (same command line) in ps/pgrep.
  prctl(PR_SET_NAME, "capscope-tracer", 0, 0, 0);
  std::signal(SIGPIPE, SIG_IGN);
  install_stop_signals();

  std::unique_ptr<TraceSession> session;
  std::set<std::uint64_t> mnt_scopes; // the container's mount namespace
  int init_fd = -1;
  std::uint32_t mntns = 0;
  std::string pidf = pid_file(st.id);
  try {
    require_tracing_privileges();
    init_fd = pidfd_open_(st.pid);
    if (init_fd < 0)
      throw Fatal("the container's init (pid " + std::to_string(st.pid) +
                  ") is gone: " + std::strerror(errno));
    mntns = mntns_of_pid(st.pid);
    if (!mntns)
      throw Fatal("cannot read the mount namespace of pid " +
                  std::to_string(st.pid));
    if (mntns == host_mntns())
      throw Fatal("pid " + std::to_string(st.pid) +
                  " is in the host's mount namespace: not a container's "
                  "init at prestart");
    SessionOptions so;
    so.attach = attach_mode_or_die("hook", req.attach);
    so.mode = CS_MODE_DAEMON; // every task that execs in a container
    so.host_mntns = host_mntns();
    so.verbose = req.verbose;
    session = TraceSession::open(so);
    session->on_raw_event([&](const cs_event &e) {
      if (e.type == CS_EV_SCOPE && e.mntns == mntns)
        mnt_scopes.insert(e.key.scope);
    });
    mkdir("/run/capscope", 0755);
    mkdir(kRunDir, 0700);
    std::string tmp = pidf + ".tmp";
    std::ofstream(tmp) << getpid() << "\n";
    if (rename(tmp.c_str(), pidf.c_str()) != 0)
      pidf.clear(); // poststop then cannot wait for us: not fatal
  } catch (const Fatal &f) {
    write_all(ready_fd, std::string("error: ") + f.what() + "\n");
    return 1;
  } catch (const std::exception &e) {
    write_all(ready_fd,
              std::string("error: internal error: ") + e.what() + "\n");
    return 1;
  }
  std::int64_t start_wall = wall_now_ns();
  std::fprintf(stderr,
               "capscope hook: tracing container %s (init pid %d, mount ns "
               "%u, %s, attached in %.0f ms)\n",
               st.id.c_str(), st.pid, mntns, session->attach_mode(),
               session->attach_ms());
  write_all(ready_fd, "ok\n");
  close(ready_fd);

  ScopeResolver &resolver = session->resolver();
  auto ours = [&](std::uint64_t s) {
    if (mnt_scopes.count(s))
      return true;
    const ContainerIdentity *ci = resolver.find(s);
    return ci && ci->ref.id == st.id;
  };
  // The effective set the container holds, once its command runs (before
  // its exec, init still has runc's full set).
  CapMask held = 0;
  bool held_known = false;
  auto sample_held = [&] {
    std::string f = proc_status_field(st.pid, "CapEff:");
    if (f.empty())
      return;
    held = std::strtoull(f.c_str(), nullptr, 16);
    held_known = true;
  };
  // The profile so far (settle_ms: how long to wait for the runtime to
  // name the container).
  auto profile_now = [&](int settle_ms) {
    ContainerProfileOptions po;
    po.fallback = fallback_identity(st);
    po.start_wall_ns = start_wall;
    po.settle_ms = settle_ms;
    Profile prof = finish_container_profile(*session, ours, po);
    if (held_known) {
      prof.held = held;
      prof.held_known = true;
    }
    return prof;
  };
  RenderOptions ro;
  ro.verbose = req.verbose;

  bool init_exited = false;
  auto now = std::chrono::steady_clock::now();
  auto next_sample = now;
  auto next_checkpoint = now + std::chrono::milliseconds(req.checkpoint_ms);
  bool checkpoint_failed = false;
  while (!g_stop_signal) {
    session->poll(200);
    pollfd p{init_fd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) {
      init_exited = true;
      break;
    }
    now = std::chrono::steady_clock::now();
    if (!mnt_scopes.empty() && now >= next_sample) {
      sample_held();
      next_sample = now + std::chrono::seconds(1);
    }
    // A checkpoint: a tracer killed without warning leaves the profile
    // of everything up to here (the final write replaces it).
    if (req.checkpoint_ms > 0 && now >= next_checkpoint) {
      next_checkpoint = now + std::chrono::milliseconds(req.checkpoint_ms);
      if (mnt_scopes.empty())
        continue; // the container's command has not run yet
      auto r = save_text_atomic(req.profile,
                                render(profile_now(0), Format::Json, ro));
      if (!r && !checkpoint_failed) // said once; the final write retries
        tell(req.profile, "checkpoint: " + r.error().message);
      checkpoint_failed = !r;
      if (r && req.verbose)
        std::fprintf(stderr, "capscope hook: checkpoint written to %s\n",
                     req.profile.c_str());
    }
  }
  std::fprintf(stderr, "capscope hook: %s\n",
               init_exited ? "the container's init exited"
                           : "stopped by a signal before the container "
                             "ended: writing what was recorded");

  Profile prof = profile_now(3000);
  int rc = 0;
  // The extra formats first, then the profile (a checkpoint may already be
  // there: the tracer's exit, which poststop waits for, means all is
  // written).
  for (const auto &f : req.formats)
    if (auto r = save_text_atomic(hook_format_path(req.profile, f),
                                  render(prof, *parse_format(f), ro));
        !r) {
      tell(req.profile, r.error().message);
      rc = 1;
    }
  if (auto r = save_text_atomic(req.profile, render(prof, Format::Json, ro));
      !r) {
    tell(req.profile, r.error().message);
    rc = 1;
  } else {
    std::fprintf(stderr, "capscope hook: wrote %s\n", req.profile.c_str());
  }
  if (!pidf.empty())
    unlink(pidf.c_str());
  return rc;
}

// prestart: start the tracer and wait until it has attached.
int hook_start(const HookConfig &c, const OciHookState &st) {
  const bool required = hook_required(st.annotations);
  // PROFILE.err only where the profile itself may go.
  std::string where = err_target(st, c.dir);
  auto fail = [&](const std::string &msg) {
    tell(where, "container " + st.id.substr(0, 12) + ": " + msg +
                    (required ? "" : " (not recorded; the container runs)"));
    return required ? 1 : 0;
  };
  auto req = hook_request(st.annotations);
  if (!req)
    return fail(req.error().message);
  if (!hook_safe_id(st.id))
    return fail("container id '" + st.id + "' is not a plain name");
  if (st.pid <= 0)
    return fail("the OCI state has no pid (capscope hook runs at the "
                "prestart stage)");
  if (auto w = check_writable(req->profile, c.dir); !w)
    return fail(w.error().message);
  unlink(hook_err_path(req->profile).c_str()); // a previous run's

  std::int64_t ready_ms =
      duration_or_die("hook", "--ready-timeout", c.ready_timeout);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return fail(std::string("pipe: ") + std::strerror(errno));
  std::fflush(nullptr);
  pid_t child = fork();
  if (child < 0)
    return fail(std::string("fork: ") + std::strerror(errno));
  if (child == 0) {
    close(fds[0]);
    setsid(); // out of the runtime's session and process group
    pid_t tracer = fork();
    if (tracer != 0) { // the hook reads this once we have exited
      if (tracer > 0)
        write_all(fds[1], "pid " + std::to_string(tracer) + "\n");
      _exit(tracer < 0 ? 1 : 0);
    }
    int rc = 1;
    try {
      rc = tracer_main(st, *req, fds[1]);
    } catch (...) {
    }
    _exit(rc);
  }
  close(fds[1]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  // Read the tracer's lines until "ok", an error, EOF or the time limit.
  std::string got;
  int tracer_pid = 0;
  bool eof = false;
  auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(ready_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    end - std::chrono::steady_clock::now())
                    .count();
    // Past the deadline, still take what is already there (the pid line).
    pollfd p{fds[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    char buf[1024];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      eof = true; // the tracer ended (or closed the pipe) without a word
      break;
    }
    got.append(buf, static_cast<std::size_t>(n));
    if (got.find("\nok\n") != std::string::npos ||
        got.find("\nerror: ") != std::string::npos)
      break;
  }
  close(fds[0]);
  if (got.starts_with("pid "))
    tracer_pid = std::atoi(got.c_str() + 4);
  if (got.find("\nok\n") != std::string::npos)
    return 0;
  if (auto e = got.find("\nerror: "); e != std::string::npos) {
    std::string why = got.substr(e + 8);
    while (!why.empty() && why.back() == '\n')
      why.pop_back();
    return fail(why);
  }
  if (eof || tracer_pid <= 0)
    return fail("the tracer ended before it attached");
  kill(tracer_pid, SIGKILL); // still attaching: the container goes on
  return fail("the tracer did not attach within " + c.ready_timeout);
}

// poststop: wait for the tracer to have written the profile.
int hook_stop(const HookConfig &c, const OciHookState &st) {
  if (!hook_safe_id(st.id))
    return 0;
  std::string pidf = pid_file(st.id);
  int pid = std::atoi(read_text(pidf).c_str());
  if (pid <= 0)
    return 0; // not recorded (or already written)
  // Only our own tracer: the same executable, forked from `capscope hook`.
  char self[4096], other[4096];
  ssize_t a = readlink("/proc/self/exe", self, sizeof self - 1);
  ssize_t b = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), other,
                       sizeof other - 1);
  if (a <= 0 || b <= 0 || a != b || std::memcmp(self, other, a) != 0) {
    unlink(pidf.c_str());
    return 0;
  }
  int fd = pidfd_open_(pid);
  if (fd < 0) {
    unlink(pidf.c_str()); // gone without removing it (SIGKILL)
    return 0;
  }
  std::int64_t ms = duration_or_die("hook", "--stop-timeout", c.stop_timeout);
  if (!wait_pidfd(fd, ms)) {
    // Still running (the init's exit not seen?): it writes on SIGTERM.
    kill(pid, SIGTERM);
    if (!wait_pidfd(fd, ms)) {
      tell(err_target(st, c.dir),
           "container " + st.id.substr(0, 12) + ": the tracer (pid " +
               std::to_string(pid) + ") has not written the profile after " +
               c.stop_timeout + " and SIGTERM");
      close(fd);
      return 0;
    }
  }
  close(fd);
  unlink(pidf.c_str()); // the tracer removes it, unless it was killed
  return 0;
}

} // namespace

int run_hook(const HookConfig &c) {
  // Checked before anything runs, so a bad hooks.d entry fails loudly.
  duration_or_die("hook", "--ready-timeout", c.ready_timeout);
  duration_or_die("hook", "--stop-timeout", c.stop_timeout);
  if (isatty(STDIN_FILENO))
    throw Fatal("hook: reads the OCI state on stdin: it is run by the "
                "container runtime through hooks.d (see capscope hook "
                "--help)");
  std::string text = read_fd(STDIN_FILENO, kMaxStateBytes);
  auto st = parse_oci_hook_state(text);
  if (!st) {
    // No annotations to tell whether failing is wanted: never fatal.
    tell("", st.error().message);
    return 0;
  }
  if (st->status == "stopped")
    return hook_stop(c, *st);
  if (st->status == "creating" || st->status == "created")
    return hook_start(c, *st);
  tell(err_target(*st, c.dir),
       "container " + st->id.substr(0, 12) + ": status '" + st->status +
           "': capscope hook runs at the prestart (creating) and poststop "
           "(stopped) stages");
  return hook_required(st->annotations) ? 1 : 0;
}

} // namespace capscope
