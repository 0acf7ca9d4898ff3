// cmd_verify.cpp - `capscope verify --caps LIST -- CMD`: run CMD with exactly
// LIST (bounding = permitted = effective, nothing inheritable or ambient,
// no_new_privs), traced, and judge it by its exit status or a --check;
// with --minimize, prove each capability necessary by ablation. The
// decisions are core/capset.h's; this file runs the trials.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <optional>
#include <poll.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/traced_run.h"
#include "session/workload.h"
#include "core/capset.h"
#include "core/duration.h"
#include "core/either_or.h"
#include "core/format.h"
#include "session/engines.h"

namespace capscope {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kFail = 1;
constexpr int kGraceMs = 3000;     // SIGTERM before SIGKILL when stopping
constexpr int kCheckPauseMs = 200; // between two check attempts
constexpr std::size_t kTailBytes = 4096;
constexpr int kTailLines = 6;

CapMask host_bounding_set() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("CapBnd:", 0) == 0)
      return std::stoull(line.substr(7), nullptr, 16);
  throw Fatal("verify: cannot read CapBnd from /proc/self/status");
}

int last_cap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int n = -1;
  if (in >> n && n >= 0 && n < 64)
    return n;
  return kCapCount - 1;
}

std::string last_lines(const std::string &text, int n) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos)
      nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  while (!lines.empty() && lines.back().empty())
    lines.pop_back();
  std::string out;
  std::size_t from = lines.size() > static_cast<std::size_t>(n)
                         ? lines.size() - static_cast<std::size_t>(n)
                         : 0;
  for (std::size_t i = from; i < lines.size(); ++i)
    out += (i == from ? "" : "\n") + lines[i];
  return out;
}

// The workload's stderr goes through a pipe: passed on to ours at once,
// and its tail kept for the report when the run fails.
class StderrTee {
public:
  StderrTee() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      throw Fatal(std::string("verify: pipe: ") + std::strerror(errno));
    rd_ = fds[0];
    wr_ = fds[1];
    fcntl(rd_, F_SETFL, fcntl(rd_, F_GETFL) | O_NONBLOCK);
  }
  ~StderrTee() {
    close_writer();
    if (rd_ >= 0)
      close(rd_);
  }
  int writer() const { return wr_; }
  void close_writer() {
    if (wr_ >= 0)
      close(wr_);
    wr_ = -1;
  }
  // Copies what is buffered; false at EOF.
  bool drain() {
    char buf[4096];
    for (;;) {
      ssize_t n = read(rd_, buf, sizeof buf);
      if (n > 0) {
        ssize_t w = write(STDERR_FILENO, buf, n);
        (void)w;
        tail_.append(buf, n);
        if (tail_.size() > 2 * kTailBytes)
          tail_.erase(0, tail_.size() - kTailBytes);
        continue;
      }
      if (n == 0)
        return false;
      return errno == EAGAIN || errno == EINTR;
    }
  }
  // After the run: reads to EOF, or gives up after a moment when a
  // process that escaped the session still holds the pipe.
  void finish() {
    close_writer();
    auto until = Clock::now() + std::chrono::milliseconds(300);
    while (drain() && Clock::now() < until) {
      pollfd p{rd_, POLLIN, 0};
      poll(&p, 1, 50);
    }
  }
  std::string tail() const { return last_lines(tail_, kTailLines); }

private:
  int rd_ = -1, wr_ = -1;
  std::string tail_;
};

// --check: CMD2 retried until it succeeds or the timeout expires. Each
// attempt runs in a small runner process that reports the status through
// a pipe, because the traced run reaps every child of capscope (it is a
// subreaper) and would take the status first.
class CheckLoop {
public:
  CheckLoop(std::string cmd, std::int64_t timeout_ms, std::string err_file)
      : cmd_(std::move(cmd)), err_file_(std::move(err_file)),
        deadline_(Clock::now() + std::chrono::milliseconds(timeout_ms)),
        next_try_(Clock::now()) {}
  ~CheckLoop() { abort_attempt(); }

  // Ctrl-C: no more attempts.
  void cancel() {
    abort_attempt();
    decide(false);
  }

  bool decided() const { return decided_; }
  bool passed() const { return passed_; }
  int attempts() const { return attempts_; }

  // Called on every tick of the traced run. workload_gone: no task of the
  // workload is left, so the next attempt's answer is final.
  void tick(bool workload_gone) {
    if (decided_)
      return;
    if (runner_ > 0) {
      collect(false);
      if (runner_ > 0 && Clock::now() >= deadline_) {
        abort_attempt();
        decide(false);
      }
      return;
    }
    if (Clock::now() >= deadline_) {
      decide(false);
      return;
    }
    if (Clock::now() >= next_try_)
      start(workload_gone);
  }

  // After the traced run returned (the workload is gone): the pending
  // answer, else one last attempt within the time left.
  void finish() {
    while (!decided_) {
      if (runner_ > 0) {
        collect(true);
        continue;
      }
      if (Clock::now() >= deadline_) {
        decide(false);
        break;
      }
      start(true);
    }
  }

  std::string stderr_tail() const {
    std::ifstream in(err_file_);
    std::string s((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
    return last_lines(s, kTailLines);
  }

private:
  void decide(bool ok) {
    decided_ = true;
    passed_ = ok;
  }

  void start(bool final_answer) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      throw Fatal(std::string("verify: pipe: ") + std::strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
      throw Fatal(std::string("verify: fork: ") + std::strerror(errno));
    if (pid == 0) {
      setpgid(0, 0);
      for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE})
        signal(s, SIG_DFL);
      close(fds[0]);
      pid_t c = fork();
      if (c == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open("/dev/null", O_WRONLY);
        int err = open(err_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in >= 0)
          dup2(in, 0);
        if (out >= 0)
          dup2(out, 1);
        if (err >= 0)
          dup2(err, 2);
        execl("/bin/sh", "sh", "-c", cmd_.c_str(),
              static_cast<char *>(nullptr));
        _exit(127);
      }
      int st = 0, code = 127;
      if (c > 0 && waitpid(c, &st, 0) == c)
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      ssize_t w = write(fds[1], &code, sizeof code);
      (void)w;
      _exit(0);
    }
    close(fds[1]);
    runner_ = pid;
    result_fd_ = fds[0];
    final_ = final_answer;
    attempts_++;
  }

  // Reads the runner's answer (blocking or not).
  void collect(bool block) {
    pollfd p{result_fd_, POLLIN, 0};
    int timeout =
        block ? static_cast<int>(std::max<std::int64_t>(
                    0, std::chrono::duration_cast<std::chrono::milliseconds>(
                           deadline_ - Clock::now())
                           .count()))
              : 0;
    if (poll(&p, 1, timeout) <= 0) {
      if (block) { // timed out while blocking
        abort_attempt();
        decide(false);
      }
      return;
    }
    int code = -1;
    ssize_t n = read(result_fd_, &code, sizeof code);
    close(result_fd_);
    result_fd_ = -1;
    reap_runner();
    if (n == sizeof code && code == 0) {
      decide(true);
      return;
    }
    if (final_) {
      decide(false);
      return;
    }
    next_try_ = Clock::now() + std::chrono::milliseconds(kCheckPauseMs);
  }

  void abort_attempt() {
    if (runner_ > 0) {
      kill(-runner_, SIGKILL);
      kill(runner_, SIGKILL);
      reap_runner();
    }
    if (result_fd_ >= 0)
      close(result_fd_);
    result_fd_ = -1;
  }

  // The traced run may have reaped it already (ECHILD). Never block: a
  // reused pid could belong to a reparented process of the workload.
  void reap_runner() {
    for (int i = 0; runner_ > 0 && i < 40; ++i) {
      pid_t r = waitpid(runner_, nullptr, WNOHANG);
      if (r == runner_ || (r < 0 && errno != EINTR))
        break;
      usleep(5000);
    }
    runner_ = -1;
  }

  std::string cmd_;
  std::string err_file_;
  Clock::time_point deadline_;
  Clock::time_point next_try_;
  pid_t runner_ = -1;
  int result_fd_ = -1;
  bool final_ = false;
  bool decided_ = false;
  bool passed_ = false;
  int attempts_ = 0;
};

// What every trial shares.
struct Plan {
  std::vector<std::string> command;
  std::optional<Identity> user;
  std::string user_spec;
  bool container = false; // --runtime podman|docker
  std::string engine;     // podman or docker
  std::vector<std::string> runtime_opts;
  std::string rootfs, image;
  std::string check;
  std::int64_t check_timeout_ms = 10000;
  AttachMode attach = AttachMode::Auto;
  bool verbose = false;
  bool no_new_privs = false;
  CapMask host_bnd = 0;
  int last_cap = kCapCount - 1;
  std::string tmpdir;
};

// In the child, right before exec: bounding = LIST, nothing ambient or
// inheritable, permitted = effective = LIST. As root, exec recomputes
// permitted as (all & bounding) = LIST; the bounding set caps what any
// setuid or file-capability exec could gain, as in a container. For
// --user, keep-caps carries the set over the uid switch and the ambient
// set (which needs it inheritable too) carries it over exec.
// no_new_privs only with --no-new-privs: Docker and podman leave it off by
// default, and it changes what some programs need (a seccomp filter
// installed without it needs SYS_ADMIN). Returns 0 or an errno, after
// saying which step failed.
int enter_capset(CapMask caps, const std::optional<Identity> &user, int err_fd,
                 int top, cap_t prepared, bool no_new_privs) {
  auto failed = [](const char *step) {
    int e = errno ? errno : EPERM;
    char msg[160];
    int n = std::snprintf(msg, sizeof msg,
                          "capscope: verify: cannot enter the capability "
                          "set: %s: %s\n",
                          step, std::strerror(e));
    ssize_t w = write(STDERR_FILENO, msg, n);
    (void)w;
    return e;
  };
  if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
    return failed("dup2");
  for (int c = 0; c <= top; ++c)
    if (!(caps & (CapMask{1} << c)) && prctl(PR_CAPBSET_READ, c) == 1 &&
        prctl(PR_CAPBSET_DROP, c) != 0)
      return failed("PR_CAPBSET_DROP");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    return failed("PR_CAP_AMBIENT_CLEAR_ALL");
  if (user) {
    if (prctl(PR_SET_KEEPCAPS, 1) != 0)
      return failed("PR_SET_KEEPCAPS");
    if (setgroups(user->groups.size(), user->groups.data()) != 0)
      return failed("setgroups");
    if (setgid(user->gid) != 0)
      return failed("setgid");
    if (setuid(user->uid) != 0)
      return failed("setuid");
  }
  if (cap_set_proc(prepared) != 0)
    return failed("capset");
  if (user)
    for (int c : caps_in(caps))
      if (cap_set_ambient(static_cast<cap_value_t>(c), CAP_SET) != 0)
        return failed("PR_CAP_AMBIENT_RAISE");
  if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return failed("PR_SET_NO_NEW_PRIVS");
  return 0;
}

struct CapT {
  cap_t c = nullptr;
  ~CapT() {
    if (c)
      cap_free(c);
  }
};

std::vector<std::string> container_command(const Plan &plan, CapMask caps) {
  if (plan.engine == "docker") // session/engines.cpp
    return docker_run_command(cap_names(caps), plan.no_new_privs,
                              plan.user_spec, plan.runtime_opts, plan.image,
                              plan.command);
  std::vector<std::string> cmd = {
      "podman",           "run",      "--rm",
      "--runtime",        "runc",     "--ulimit",
      "nofile=1024:1024", "--ulimit", "nproc=4096:4096"};
  // The exact flags a user pastes (cap_flags_line: sorted, no CAP_).
  std::vector<std::string> names = cap_names(caps);
  std::sort(names.begin(), names.end());
  cmd.push_back("--cap-drop=ALL");
  for (const auto &n : names)
    cmd.push_back("--cap-add=" + n);
  if (plan.no_new_privs)
    cmd.insert(cmd.end(), {"--security-opt", "no-new-privileges"});
  // --rootfs uses the directory in place: keep /tmp writes out of it.
  cmd.insert(cmd.end(), {"--tmpfs", "/tmp:notmpcopyup"});
  if (!plan.user_spec.empty())
    cmd.insert(cmd.end(), {"--user", plan.user_spec});
  cmd.insert(cmd.end(), plan.runtime_opts.begin(), plan.runtime_opts.end());
  if (!plan.rootfs.empty())
    cmd.insert(cmd.end(), {"--rootfs", plan.rootfs});
  else
    cmd.push_back(plan.image);
  cmd.insert(cmd.end(), plan.command.begin(), plan.command.end());
  return cmd;
}

// One run under `caps`, traced.
TrialRun run_once(const Plan &plan, CapMask caps, int *not_started) {
  TrialRun r;
  StderrTee tee;
  CapT prepared;
  RunSpec spec;
  spec.attach = plan.attach;
  spec.verbose = plan.verbose;
  if (plan.container) {
    spec.command = container_command(plan, caps);
    if (plan.verbose) {
      std::string line;
      for (const auto &a : spec.command)
        line += " " + a;
      std::fprintf(stderr, "capscope verify: running:%s\n", line.c_str());
    }
    int wr = tee.writer();
    spec.before_exec = [wr]() -> int {
      return dup2(wr, STDERR_FILENO) < 0 ? errno : 0;
    };
  } else {
    spec.command = plan.command;
    prepared.c = cap_init();
    if (!prepared.c)
      throw Fatal(std::string("verify: cap_init: ") + std::strerror(errno));
    std::vector<cap_value_t> vals;
    for (int c : caps_in(caps))
      vals.push_back(static_cast<cap_value_t>(c));
    if (!vals.empty()) {
      cap_set_flag(prepared.c, CAP_PERMITTED, vals.size(), vals.data(),
                   CAP_SET);
      cap_set_flag(prepared.c, CAP_EFFECTIVE, vals.size(), vals.data(),
                   CAP_SET);
      if (plan.user)
        cap_set_flag(prepared.c, CAP_INHERITABLE, vals.size(), vals.data(),
                     CAP_SET);
    }
    int wr = tee.writer(), top = plan.last_cap;
    cap_t pc = prepared.c;
    const std::optional<Identity> &user = plan.user;
    bool nnp = plan.no_new_privs;
    spec.before_exec = [caps, &user, wr, top, pc, nnp]() -> int {
      return enter_capset(caps, user, wr, top, pc, nnp);
    };
  }

  std::optional<CheckLoop> check;
  if (!plan.check.empty())
    check.emplace(plan.check, plan.check_timeout_ms,
                  plan.tmpdir + "/check.stderr");
  bool stopping = false;
  Clock::time_point kill_at{};
  spec.on_tick = [&](const Tracer &t) {
    tee.drain();
    if (!check)
      return;
    if (g_stop_signal && !check->decided())
      check->cancel(); // the traced run stops the workload itself
    auto tgids = t.tracked_tgids();
    check->tick(tgids.empty());
    if (check->decided() && !tgids.empty()) {
      std::vector<unsigned> v(tgids.begin(), tgids.end());
      if (!stopping) {
        stopping = true;
        signal_all(v, SIGTERM);
        kill_at = Clock::now() + std::chrono::milliseconds(kGraceMs);
      } else if (Clock::now() >= kill_at) {
        signal_all(v, SIGKILL);
        kill_at = Clock::now() + std::chrono::milliseconds(kGraceMs);
      }
    }
  };

  auto t0 = Clock::now();
  RunResult run = run_traced(spec);
  tee.finish();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!run.started) {
    *not_started = run.exit_status;
    return r;
  }
  if (run.interrupted)
    throw Fatal("verify: interrupted", 130);
  r.exit_status = run.exit_status;
  if (plan.container && !run.containers.empty()) {
    // The containers' own checks: the runtime's set-up is kept apart.
    for (const auto &cp : run.containers)
      fill_from_profile(r, cp);
  } else {
    // In a container the runtime acts with the host's capabilities; what
    // it is denied is only what the host lacks, not the workload's.
    fill_from_profile(r, run.profile,
                      plan.container ? plan.host_bnd : ~CapMask{0});
  }
  if (check) {
    check->finish();
    r.has_check = true;
    r.check_passed = check->passed();
    r.check_attempts = check->attempts();
    r.passed = r.check_passed;
    if (!r.passed) {
      std::string ct = check->stderr_tail();
      r.stderr_tail = tee.tail();
      if (!ct.empty())
        r.stderr_tail +=
            (r.stderr_tail.empty() ? "" : "\n") + std::string("check: ") + ct;
    }
  } else {
    r.passed = run.exit_status == 0;
    if (!r.passed)
      r.stderr_tail = tee.tail();
  }
  return r;
}

void print_run(const Trial &t, const TrialRun &r, int number, int rep,
               int repeat) {
  std::string line =
      "capscope verify: [" + std::to_string(number) + "] " + trial_label(t);
  if (t.kind != TrialKind::Baseline)
    line += " (" + cap_list_text(t.caps) + ")";
  if (repeat > 1)
    line += ", run " + std::to_string(rep) + "/" + std::to_string(repeat);
  line += ": ";
  line += r.passed ? "PASS" : "FAIL";
  char buf[64];
  std::snprintf(buf, sizeof buf, " in %.1f s", r.seconds);
  if (r.has_check)
    line += " (check " + std::string(r.check_passed ? "passed" : "failed") +
            " after " + std::to_string(r.check_attempts) + " attempt" +
            (r.check_attempts == 1 ? "" : "s") + "; workload exit " +
            std::to_string(r.exit_status) + ")";
  else
    line += " (exit " + std::to_string(r.exit_status) + ")";
  line += buf;
  line += r.denied ? "; denied: " + denied_text(r) : "; nothing denied";
  std::fprintf(stderr, "%s\n", line.c_str());
  if (!r.passed && !r.stderr_tail.empty()) {
    std::size_t pos = 0;
    while (pos <= r.stderr_tail.size()) {
      std::size_t nl = r.stderr_tail.find('\n', pos);
      if (nl == std::string::npos)
        nl = r.stderr_tail.size();
      std::fprintf(stderr, "    | %s\n",
                   r.stderr_tail.substr(pos, nl - pos).c_str());
      pos = nl + 1;
    }
  }
  std::fflush(stderr);
}

struct TmpDir {
  std::string path;
  TmpDir() {
    char tmpl[] = "/tmp/capscope-verify.XXXXXX";
    if (!mkdtemp(tmpl))
      throw Fatal(std::string("verify: mkdtemp: ") + std::strerror(errno));
    path = tmpl;
  }
  ~TmpDir() {
    unlink((path + "/check.stderr").c_str());
    rmdir(path.c_str());
  }
};

} // namespace

int run_verify(const VerifyConfig &c) {
  const Format fmt = format_or_die("verify", c.format);
  if (c.caps_given && !c.caps_from.empty())
    throw Fatal("verify: give either --caps or --caps-from, not both");
  if (!c.caps_given && c.caps_from.empty())
    throw Fatal("verify: say which capabilities to verify: --caps LIST "
                "(e.g. --caps CHOWN,NET_BIND_SERVICE, or --caps '' for none) "
                "or --caps-from PROFILE.json");
  if (c.repeat < 1)
    throw Fatal("verify: --repeat must be at least 1");

  Plan plan;
  plan.command = c.command;
  CapMask given = 0;
  if (c.caps_given) {
    std::string err;
    auto m = parse_cap_list(c.caps, &err);
    if (!m)
      throw Fatal("verify: --caps: " + err);
    given = *m;
  } else {
    auto p = load_profile(c.caps_from);
    if (!p)
      throw Fatal("verify: --caps-from: " + p.error().message);
    FinalAdvice a = final_advice(p.value());
    given = a.add;
    std::fprintf(stderr, "capscope verify: the advice of %s: %s\n",
                 c.caps_from.c_str(), cap_flags_line(given).c_str());
    if (a.denied)
      std::fprintf(stderr,
                   "capscope verify: note: %s was recorded with denials "
                   "(%s); its advice may be a lower bound\n",
                   c.caps_from.c_str(), cap_list_text(a.denied).c_str());
    if (plan.command.empty()) {
      plan.command = p.value().workload.command;
      if (plan.command.empty())
        throw Fatal("verify: no command given and " + c.caps_from +
                    " records none (usage: capscope verify --caps-from "
                    "PROFILE -- CMD [ARGS...])");
      std::string cmd;
      for (const auto &a : plan.command)
        cmd += " " + a;
      std::fprintf(stderr, "capscope verify: the recorded command:%s\n",
                   cmd.c_str());
    }
  }
  if (plan.command.empty())
    throw Fatal("verify: no command given (usage: capscope verify --caps "
                "LIST [options] -- CMD [ARGS...])");

  // A set the host cannot grant would make a run pass or fail for the
  // wrong reason: refuse it.
  plan.host_bnd = host_bounding_set();
  plan.last_cap = last_cap();
  if (CapMask missing = given & ~plan.host_bnd)
    throw Fatal("verify: " + cap_list_text(missing) +
                " not in this host's bounding set (CapBnd " +
                [&] {
                  char b[32];
                  std::snprintf(b, sizeof b, "%016llx",
                                static_cast<unsigned long long>(plan.host_bnd));
                  return std::string(b);
                }() +
                "): capscope cannot grant " +
                (std::popcount(missing) == 1 ? "it" : "them") +
                ", so it cannot verify a set that contains " +
                (std::popcount(missing) == 1 ? "it" : "them"));

  if (!c.runtime.empty()) {
    if (c.runtime != "podman" && c.runtime != "docker")
      throw Fatal("verify: unknown --runtime '" + c.runtime +
                  "' (valid: podman, docker)");
    if (c.runtime == "docker" && (c.image.empty() || !c.rootfs.empty()))
      throw Fatal("verify: --runtime docker needs --image NAME (docker has "
                  "no --rootfs)");
    if (c.rootfs.empty() == c.image.empty())
      throw Fatal("verify: --runtime podman needs exactly one of --rootfs "
                  "DIR or --image NAME");
    plan.container = true;
    plan.engine = c.runtime;
    plan.rootfs = c.rootfs;
    plan.image = c.image;
    plan.runtime_opts = c.runtime_opts;
  } else if (!c.rootfs.empty() || !c.image.empty() || !c.runtime_opts.empty()) {
    throw Fatal("verify: --rootfs, --image and --runtime-opt need "
                "--runtime podman");
  }
  plan.user_spec = c.user;
  if (!c.user.empty() && !plan.container) {
    auto id = parse_identity(c.user);
    if (!id)
      throw Fatal(id.error().message);
    plan.user = id.value();
  }
  plan.check = c.check;
  if (!c.check_timeout.empty()) {
    auto d = parse_duration_ms(c.check_timeout);
    if (!d || *d <= 0)
      throw Fatal("verify: bad --check-timeout '" + c.check_timeout +
                  "' (examples: 10s, 500ms, 1m)");
    plan.check_timeout_ms = *d;
  }
  if (!parse_attach_mode(c.attach, &plan.attach))
    throw Fatal("verify: unknown --attach '" + c.attach +
                "' (valid: auto, tracepoint, fexit, kprobe)");
  plan.verbose = c.verbose;
  plan.no_new_privs = c.no_new_privs;
  TmpDir tmp;
  plan.tmpdir = tmp.path;

  VerifyResult res;
  res.command = plan.command;
  res.runtime = plan.container ? c.runtime : "";
  res.user = c.user;
  res.given = given;
  res.minimize = c.minimize;
  res.has_check = !c.check.empty();
  res.repeat = c.repeat;

  Minimizer m(given, c.minimize, !c.check.empty(), plan.host_bnd);
  int number = 0;
  while (auto t = m.next()) {
    ++number;
    TrialRecord rec;
    rec.trial = *t;
    for (int i = 1; i <= c.repeat; ++i) {
      int not_started = 0;
      TrialRun r = run_once(plan, t->caps, &not_started);
      if (not_started)
        return not_started; // CMD not found / not executable (said why)
      print_run(*t, r, number, i, c.repeat);
      rec.runs.push_back(std::move(r));
    }
    m.record(rec.runs);
    res.trials.push_back(std::move(rec));
  }
  res.baseline = m.baseline_outcome();
  res.passed = !m.baseline_failed();
  res.proven = m.result();
  res.decisions = m.decisions();

  std::string report = render_verify(res, Format::Report);
  bool report_elsewhere = fmt == Format::Report && !c.output.empty();
  if (!report_elsewhere) {
    std::fputs("\n", stderr);
    std::fputs(report.c_str(), stderr);
    std::fflush(stderr);
  }
  // Flags for a set that did not pass would be a lie; the report says why.
  if (!(fmt == Format::Report && c.output.empty()) &&
      (res.passed || fmt == Format::Json || fmt == Format::Report))
    emit_output(c.output, render_verify(res, fmt));
  return res.passed ? 0 : kFail;
}

} // namespace capscope
