// check_loop.cpp - the runner processes of verify's --check (see
// check_loop.h).
#include "session/check_loop.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/result.h"
#include "session/stderr_tee.h"

namespace capscope {

namespace {
constexpr int kCheckPauseMs = 200; // between two check attempts
constexpr int kCheckTailLines = 6;
} // namespace

CheckLoop::CheckLoop(std::string cmd, std::int64_t timeout_ms,
                     std::string err_file)
    : cmd_(std::move(cmd)), err_file_(std::move(err_file)),
      deadline_(Clock::now() + std::chrono::milliseconds(timeout_ms)),
      next_try_(Clock::now()) {}

CheckLoop::~CheckLoop() { abort_attempt(); }

void CheckLoop::cancel() {
  abort_attempt();
  decide(false);
}

void CheckLoop::tick(bool workload_gone) {
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

void CheckLoop::finish() {
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

std::string CheckLoop::stderr_tail() const {
  std::ifstream in(err_file_);
  std::string s((std::istreambuf_iterator<char>(in)),
                std::istreambuf_iterator<char>());
  return last_lines(s, kCheckTailLines);
}

void CheckLoop::decide(bool ok) {
  decided_ = true;
  passed_ = ok;
}

void CheckLoop::start(bool final_answer) {
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
      execl("/bin/sh", "sh", "-c", cmd_.c_str(), static_cast<char *>(nullptr));
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
void CheckLoop::collect(bool block) {
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

void CheckLoop::abort_attempt() {
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
void CheckLoop::reap_runner() {
  for (int i = 0; runner_ > 0 && i < 40; ++i) {
    pid_t r = waitpid(runner_, nullptr, WNOHANG);
    if (r == runner_ || (r < 0 && errno != EINTR))
      break;
    usleep(5000);
  }
  runner_ = -1;
}

} // namespace capscope
