// stderr_tee.h - a workload's stderr passed through a pipe: copied to ours as
// it comes, with its tail kept for a report when the run fails.
#pragma once

#include <cstddef>
#include <string>

namespace capscope {

// The last `n` non-empty-terminated lines of `text`, joined by '\n'.
std::string last_lines(const std::string &text, int n);

class StderrTee {
public:
  StderrTee(); // throws Fatal when the pipe cannot be made
  ~StderrTee();
  StderrTee(const StderrTee &) = delete;
  StderrTee &operator=(const StderrTee &) = delete;

  // The write end, for the child's fd 2.
  int writer() const { return wr_; }
  void close_writer();
  // Copies what is buffered; false at EOF.
  bool drain();
  // After the run: reads to EOF, or gives up after a moment when a process
  // that escaped the session still holds the pipe.
  void finish();
  // The last lines the workload wrote.
  std::string tail() const;

private:
  int rd_ = -1, wr_ = -1;
  std::string tail_;
};

} // namespace capscope
