// cmd_diff.cpp - `capscope diff OLD.json NEW.json`: for CI, exit 0 when the
// new profile's advice needs nothing beyond the old one's, else 1, listing
// each new capability and what needed it.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/diffing.h"

namespace capscope {

int run_diff(const DiffConfig &c) {
  Profile before = load_profile_or_die("diff", c.old_file);
  Profile now = load_profile_or_die("diff", c.new_file);
  AdviceDiff d = diff_advice(before, now);
  std::fputs(render_diff(before, now, d).c_str(), stdout);
  std::fflush(stdout);
  return d.added ? 1 : 0;
}

} // namespace capscope
