// common.cpp - option checks and output for the commands.
#include "cli/common.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/duration.h"
#include "core/noise.h"
#include "core/profile.h"

namespace capscope {

Format format_or_die(const char *cmd, const std::string &name) {
  auto f = parse_format(name);
  if (!f)
    throw Fatal(std::string(cmd) + ": unknown format '" + name +
                "' (valid: " + format_names() + ")");
  return *f;
}

std::int64_t duration_or_die(const char *cmd, const char *option,
                             const std::string &text) {
  auto d = parse_duration_ms(text);
  if (!d)
    throw Fatal(std::string(cmd) + ": bad " + option + " '" + text +
                "' (examples: 30s, 5m, 1h, 500ms)");
  return *d;
}

Profile load_profile_or_die(const char *cmd, const std::string &path) {
  auto p = load_profile(path);
  if (!p)
    throw Fatal(std::string(cmd) + ": " + p.error().message);
  return p.value();
}

void emit_output(const std::string &path, const std::string &text) {
  if (path.empty()) {
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
  } else if (path == "-") {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  } else if (auto r = save_text_atomic(path, text); !r) {
    // Never lose the result: fall back to stderr, then fail.
    std::fputs(text.c_str(), stderr);
    throw Fatal(r.error().message);
  }
}

} // namespace capscope
