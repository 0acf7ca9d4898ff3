// cmd_record.cpp - `capscope record -- CMD`: run CMD traced from its first
// instruction, follow its whole process tree, report when the last of it
// has exited (or --duration / Ctrl-C), exit with CMD's status.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/traced_run.h"
#include "core/diffing.h"
#include "core/either_or.h"
#include "core/format.h"
#include "core/replay.h"
#include "session/engines.h"

namespace capscope {

int run_record(const RecordConfig &c) {
  if (c.command.empty())
    throw Fatal("record: no command given (usage: capscope record [options] "
                "-- CMD [ARGS...])");
  const Format fmt = format_or_die("record", c.format);
  CapMask expected = 0;
  if (c.expect_given) {
    std::string err;
    auto m = parse_cap_list(c.expect, &err);
    if (!m)
      throw Fatal("record: --expect: " + err);
    expected = *m;
  }
  RunSpec spec;
  spec.command = c.command;
  spec.user = c.user;
  spec.verbose = c.verbose;
  if (!c.duration.empty()) {
    spec.duration_ms = duration_or_die("record", "--duration", c.duration);
  }
  spec.attach = attach_mode_or_die("record", c.attach);

  RunResult run = run_traced(spec);
  if (!run.started)
    return run.exit_status;
  if (!run.engine.empty() && run.containers.empty()) {
    // Never advice from a scope that missed the container (issue 12).
    std::fputs(empty_engine_scope_message(run.engine).c_str(), stderr);
    return 125;
  }

  if (!c.events.empty()) {
    std::string lines;
    run.aggregator.for_each_context(
        [&](const cs_key &k, const CheckContext &ctx, std::uint64_t n) {
          lines += replay_line(k, ctx, n) + "\n";
        });
    if (auto r = save_text_atomic(c.events, lines); !r)
      std::fprintf(stderr, "capscope: %s\n", r.error().message.c_str());
  }
  RenderOptions ro;
  ro.verbose = c.verbose;
  // The report carries them; other formats get them on stderr.
  if (fmt != Format::Report)
    for (const auto &w : loss_warnings(run.profile))
      std::fprintf(stderr, "capscope: %s\n", w.c_str());
  if (run.containers.empty()) {
    emit_output(c.output, render(run.profile, fmt, ro));
  } else {
    // `record -- podman run ...`: the advice is per container; the
    // runtime's own checks are reported apart and advise nothing.
    std::string out = render_many(run.containers, fmt, ro);
    if (fmt == Format::Report) {
      Profile runtime = run.profile;
      runtime.workload.kind = "runtime";
      out += "\nRuntime section (" + run.profile.workload.name +
             " and its helpers, outside any container; not part of any "
             "container's advice):\n" +
             render(runtime, fmt, ro);
    }
    emit_output(c.output, out);
  }
  if (c.expect_given && run.exit_status == 0 && !run.interrupted) {
    // record --expect: anything beyond LIST fails the run (CI gate).
    std::string why;
    CapMask beyond = 0;
    const std::vector<Profile> &ps = run.containers.empty()
                                         ? std::vector<Profile>{run.profile}
                                         : run.containers;
    for (const auto &p : ps) {
      CapMask extra = final_advice(p).add & ~expected;
      beyond |= extra;
      why += needed_by_lines(p, extra);
    }
    if (beyond) {
      std::string names;
      for (const auto &n : cap_names(beyond))
        names += (names.empty() ? "" : ", ") + n;
      std::fprintf(stderr,
                   "capscope: record --expect: needs %s beyond the expected "
                   "set (%s):\n%s",
                   names.c_str(),
                   c.expect.empty() ? "nothing" : c.expect.c_str(),
                   why.c_str());
      return 1;
    }
  }
  if (!c.verify)
    return run.exit_status;

  // record --verify: re-run CMD with exactly the advice (cmd_verify.cpp).
  // Exit status: CMD's when the recording itself failed, else verify's.
  if (run.exit_status != 0 || run.interrupted) {
    std::fprintf(stderr,
                 "capscope: record --verify: not verifying: the workload "
                 "exited %d during the recording\n",
                 run.exit_status);
    return run.exit_status;
  }
  VerifyConfig v;
  v.command = c.command;
  v.caps_given = true;
  for (const auto &n : cap_names(final_advice(run.profile).add))
    v.caps += (v.caps.empty() ? "" : ",") + n;
  v.user = c.user;
  v.attach = c.attach;
  v.verbose = c.verbose;
  std::fprintf(stderr, "\ncapscope: record --verify: re-running with exactly "
                       "the advice\n");
  return run_verify(v);
}

} // namespace capscope
