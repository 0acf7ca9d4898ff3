// daemon.h - `capscope daemon`: trace every container on the host, keep a
// profile per container on disk, serve the CLI on a Unix socket and
// Prometheus on HTTP.
#pragma once

#include <cstdint>
#include <string>

#include "loader/tracer.h"

namespace capscope {

struct DaemonConfig {
  std::string state_dir;
  std::string socket;
  std::string metrics; // "HOST:PORT" or "" for none
  std::int64_t flush_ms = 5000;
  AttachMode attach = AttachMode::Auto;
  bool verbose = false;
};

// Runs until SIGTERM/SIGINT; returns the exit status.
int run_daemon(const DaemonConfig &cfg);

} // namespace capscope
