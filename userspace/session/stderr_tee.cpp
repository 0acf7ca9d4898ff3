// stderr_tee.cpp - the stderr pipe of a verify trial (see stderr_tee.h).
#include "session/stderr_tee.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <vector>

#include "core/result.h"
#include "core/text.h"

namespace capscope {

namespace {
constexpr std::size_t kTailBytes = 4096;
constexpr int kTailLines = 6;
} // namespace

std::string last_lines(const std::string &text, int n) {
  std::vector<std::string> lines;
  for_each_line(text, [&](std::string_view l) { lines.emplace_back(l); });
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

StderrTee::StderrTee() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw Fatal(std::string("verify: pipe: ") + std::strerror(errno));
  rd_ = fds[0];
  wr_ = fds[1];
  fcntl(rd_, F_SETFL, fcntl(rd_, F_GETFL) | O_NONBLOCK);
}

StderrTee::~StderrTee() {
  close_writer();
  if (rd_ >= 0)
    close(rd_);
}

void StderrTee::close_writer() {
  if (wr_ >= 0)
    close(wr_);
  wr_ = -1;
}

bool StderrTee::drain() {
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

void StderrTee::finish() {
  close_writer();
  auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (drain() && std::chrono::steady_clock::now() < until) {
    pollfd p{rd_, POLLIN, 0};
    poll(&p, 1, 50);
  }
}

std::string StderrTee::tail() const { return last_lines(tail_, kTailLines); }

} // namespace capscope
