// check_loop.h - verify's --check: a shell command retried beside the
// workload until it succeeds or a timeout expires. Each attempt runs in a
// small runner process that reports the status through a pipe, because the
// traced run reaps every child of capscope (it is a subreaper) and would
// take the status first.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace capscope {

class CheckLoop {
public:
  // err_file: where each attempt's stderr goes (its tail is reported).
  CheckLoop(std::string cmd, std::int64_t timeout_ms, std::string err_file);
  ~CheckLoop();
  CheckLoop(const CheckLoop &) = delete;
  CheckLoop &operator=(const CheckLoop &) = delete;

  // Ctrl-C: no more attempts.
  void cancel();

  bool decided() const { return decided_; }
  bool passed() const { return passed_; }
  int attempts() const { return attempts_; }

  // Called on every tick of the traced run. workload_gone: no task of the
  // workload is left, so the next attempt's answer is final.
  void tick(bool workload_gone);
  // After the traced run returned (the workload is gone): the pending
  // answer, else one last attempt within the time left.
  void finish();
  // The last lines the check wrote to stderr.
  std::string stderr_tail() const;

private:
  using Clock = std::chrono::steady_clock;
  void decide(bool ok);
  void start(bool final_answer);
  void collect(bool block);
  void abort_attempt();
  void reap_runner();

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

} // namespace capscope
