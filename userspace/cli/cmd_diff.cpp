// cmd_diff.cpp - `capscope diff OLD.json NEW.json`: for CI, exit 0 when the
// new profile's advice needs nothing beyond the old one's, else 1, listing
// each new capability and what needed it.
#include <cstdio>

#include "cli/commands.h"
#include "core/diffing.h"

namespace capscope {

namespace {

Profile load_or_die(const char *cmd, const std::string &path) {
  auto p = load_profile(path);
  if (!p)
    throw Fatal(std::string(cmd) + ": " + p.error().message);
  return p.value();
}

} // namespace

int run_diff(const DiffConfig &c) {
  Profile before = load_or_die("diff", c.old_file);
  Profile now = load_or_die("diff", c.new_file);
  AdviceDiff d = diff_advice(before, now);
  std::fputs(render_diff(before, now, d).c_str(), stdout);
  std::fflush(stdout);
  return d.added ? 1 : 0;
}

} // namespace capscope
