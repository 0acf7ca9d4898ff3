// cmd_merge.cpp - `capscope merge A.json B.json ... [-o OUT] [--force]`:
// one profile from several runs or replicas of one workload.
#include "cli/commands.h"
#include "cli/common.h"
#include "core/diffing.h"
#include "core/format.h"

namespace capscope {

int run_merge(const MergeConfig &c) {
  if (c.files.empty())
    throw Fatal("merge: no profiles given (usage: capscope merge A.json "
                "B.json ... [-o OUT])");
  const Format fmt = format_or_die("merge", c.format);
  std::vector<Profile> ps;
  for (const auto &f : c.files)
    ps.push_back(load_profile_or_die("merge", f));
  auto merged = merge_profiles(ps, c.force);
  if (!merged)
    throw Fatal("merge: " + merged.error().message);
  emit_output(c.output.empty() ? "-" : c.output, render(merged.value(), fmt));
  return 0;
}

} // namespace capscope
