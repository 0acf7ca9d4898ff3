// cmd_verify.cpp - `capscope verify --caps LIST -- CMD`: run CMD with exactly
// LIST (bounding = permitted = effective, nothing inheritable or ambient,
// no_new_privs), traced, and judge it by its exit status or a --check;
// with --minimize, prove each capability necessary by ablation. The
// decisions are core/capset.h's; this file runs the trials.
#include <bit>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/traced_run.h"
#include "core/capset.h"
#include "core/duration.h"
#include "core/either_or.h"
#include "core/format.h"
#include "core/syscalls.h"
#include "session/capset_entry.h"
#include "session/check_loop.h"
#include "session/engines.h"
#include "session/podman_command.h"
#include "session/stderr_tee.h"
#include "session/trace_session.h"
#include "session/workload.h"

namespace capscope {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kFail = 1;

// What every trial shares.
struct Plan {
  std::vector<std::string> command;
  std::optional<Identity> user;
  std::string user_spec;
  bool container = false; // --runtime podman|docker
  std::string engine;     // podman or docker
  std::vector<std::string> runtime_opts;
  std::string rootfs, image;
  std::string check;
  std::int64_t check_timeout_ms = 10000;
  AttachMode attach = AttachMode::Auto;
  bool verbose = false;
  bool no_new_privs = false;
  CapMask host_bnd = 0;
  int last_cap = kCapCount - 1;
  std::string tmpdir;
};

PodmanRun podman_run_of(const Plan &plan, CapMask caps) {
  PodmanRun r;
  r.caps = caps;
  r.no_new_privs = plan.no_new_privs;
  r.user = plan.user_spec;
  r.runtime_opts = plan.runtime_opts;
  r.rootfs = plan.rootfs;
  r.image = plan.image;
  r.command = plan.command;
  return r;
}

// The container run of one trial: docker's or podman's command line.
std::vector<std::string> container_command(const Plan &plan, CapMask caps) {
  if (plan.engine == "docker") // session/engines.cpp
    return docker_run_command(cap_names(caps), plan.no_new_privs,
                              plan.user_spec, plan.runtime_opts, plan.image,
                              plan.command);
  return podman_run_command(podman_run_of(plan, caps));
}

// One run under `caps`, traced.
TrialRun run_once(const Plan &plan, CapMask caps, int *not_started) {
  TrialRun r;
  StderrTee tee;
  std::optional<CapsetEntry> entry;
  RunSpec spec;
  spec.attach = plan.attach;
  spec.verbose = plan.verbose;
  if (plan.container) {
    spec.command = container_command(plan, caps);
    if (plan.verbose) {
      std::string line;
      for (const auto &a : spec.command)
        line += " " + a;
      std::fprintf(stderr, "capscope verify: running:%s\n", line.c_str());
    }
    int wr = tee.writer();
    spec.before_exec = [wr]() -> int {
      return dup2(wr, STDERR_FILENO) < 0 ? errno : 0;
    };
  } else {
    spec.command = plan.command;
    entry.emplace(caps, plan.user, tee.writer(), plan.last_cap,
                  plan.no_new_privs);
    const CapsetEntry *e = &*entry;
    spec.before_exec = [e]() -> int { return e->enter(); };
  }
  // The syscall outcomes, so an ambiguous verdict can say what failed.
  struct SyscallSeen {
    std::uint64_t scope;
    std::string syscall;
    int ret;
    CapMask denied;
  };
  std::vector<SyscallSeen> outcomes;
  spec.diagnose = true;
  spec.on_event = [&](const cs_event &e) {
    if (e.type == CS_EV_SYSCALL && e.denied_mask)
      outcomes.push_back(
          {e.key.scope, syscall_name(e.key.syscall), e.ret, e.denied_mask});
  };

  std::optional<CheckLoop> check;
  if (!plan.check.empty())
    check.emplace(plan.check, plan.check_timeout_ms,
                  plan.tmpdir + "/check.stderr");
  // The check decided: stop the workload (SIGTERM, then SIGKILL).
  std::vector<unsigned> live;
  Terminator terminator([&] { return live; });
  spec.on_tick = [&](const Tracer &t) {
    tee.drain();
    if (!check)
      return;
    if (g_stop_signal && !check->decided())
      check->cancel(); // the traced run stops the workload itself
    auto tgids = t.tracked_tgids();
    check->tick(tgids.empty());
    if (check->decided() && !tgids.empty()) {
      live.assign(tgids.begin(), tgids.end());
      terminator.stop();
      terminator.tick();
    }
  };

  auto t0 = Clock::now();
  RunResult run = run_traced(spec);
  tee.finish();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!run.started) {
    *not_started = run.exit_status;
    return r;
  }
  if (run.interrupted)
    throw Fatal("verify: interrupted", 130);
  r.exit_status = run.exit_status;
  if (plan.container && !run.containers.empty()) {
    // The containers' own checks: the runtime's set-up is kept apart.
    for (const auto &cp : run.containers)
      fill_from_profile(r, cp);
  } else {
    // In a container the runtime acts with the host's capabilities; what
    // it is denied is only what the host lacks, not the workload's.
    fill_from_profile(r, run.profile,
                      plan.container ? plan.host_bnd : ~CapMask{0});
  }
  for (const auto &o : outcomes)
    if (!plan.container || run.containers.empty() ||
        run.container_scopes.count(o.scope))
      add_syscall_outcome(r, o.syscall, o.ret, o.denied);
  if (check) {
    check->finish();
    r.has_check = true;
    r.check_passed = check->passed();
    r.check_attempts = check->attempts();
    r.passed = r.check_passed;
    if (!r.passed) {
      std::string ct = check->stderr_tail();
      r.stderr_tail = tee.tail();
      if (!ct.empty())
        r.stderr_tail +=
            (r.stderr_tail.empty() ? "" : "\n") + std::string("check: ") + ct;
    }
  } else {
    r.passed = run.exit_status == 0;
    if (!r.passed)
      r.stderr_tail = tee.tail();
  }
  return r;
}

void print_run(const Trial &t, const TrialRun &r, int number, int rep,
               int repeat) {
  std::string line =
      "capscope verify: [" + std::to_string(number) + "] " + trial_label(t);
  if (t.kind != TrialKind::Baseline)
    line += " (" + cap_list_text(t.caps) + ")";
  if (repeat > 1)
    line += ", run " + std::to_string(rep) + "/" + std::to_string(repeat);
  line += ": ";
  line += r.passed ? "PASS" : "FAIL";
  char buf[64];
  std::snprintf(buf, sizeof buf, " in %.1f s", r.seconds);
  if (r.has_check)
    line += " (check " + std::string(r.check_passed ? "passed" : "failed") +
            " after " + std::to_string(r.check_attempts) + " attempt" +
            (r.check_attempts == 1 ? "" : "s") + "; workload exit " +
            std::to_string(r.exit_status) + ")";
  else
    line += " (exit " + std::to_string(r.exit_status) + ")";
  line += buf;
  line += r.denied ? "; denied: " + denied_text(r) : "; nothing denied";
  std::fprintf(stderr, "%s\n", line.c_str());
  if (!r.passed && !r.stderr_tail.empty()) {
    std::size_t pos = 0;
    while (pos <= r.stderr_tail.size()) {
      std::size_t nl = r.stderr_tail.find('\n', pos);
      if (nl == std::string::npos)
        nl = r.stderr_tail.size();
      std::fprintf(stderr, "    | %s\n",
                   r.stderr_tail.substr(pos, nl - pos).c_str());
      pos = nl + 1;
    }
  }
  std::fflush(stderr);
}

struct TmpDir {
  std::string path;
  TmpDir() {
    char tmpl[] = "/tmp/capscope-verify.XXXXXX";
    if (!mkdtemp(tmpl))
      throw Fatal(std::string("verify: mkdtemp: ") + std::strerror(errno));
    path = tmpl;
  }
  ~TmpDir() {
    unlink((path + "/check.stderr").c_str());
    rmdir(path.c_str());
  }
};

} // namespace

int run_verify(const VerifyConfig &c) {
  const Format fmt = format_or_die("verify", c.format);
  if (c.caps_given && !c.caps_from.empty())
    throw Fatal("verify: give either --caps or --caps-from, not both");
  if (!c.caps_given && c.caps_from.empty())
    throw Fatal("verify: say which capabilities to verify: --caps LIST "
                "(e.g. --caps CHOWN,NET_BIND_SERVICE, or --caps '' for none) "
                "or --caps-from PROFILE.json");
  if (c.repeat < 1)
    throw Fatal("verify: --repeat must be at least 1");

  Plan plan;
  plan.command = c.command;
  CapMask given = 0;
  if (c.caps_given) {
    std::string err;
    auto m = parse_cap_list(c.caps, &err);
    if (!m)
      throw Fatal("verify: --caps: " + err);
    given = *m;
  } else {
    auto p = load_profile(c.caps_from);
    if (!p)
      throw Fatal("verify: --caps-from: " + p.error().message);
    FinalAdvice a = final_advice(p.value());
    given = a.add;
    std::fprintf(stderr, "capscope verify: the advice of %s: %s\n",
                 c.caps_from.c_str(), cap_flags_line(given).c_str());
    if (a.denied)
      std::fprintf(stderr,
                   "capscope verify: note: %s was recorded with denials "
                   "(%s); its advice may be a lower bound\n",
                   c.caps_from.c_str(), cap_list_text(a.denied).c_str());
    if (plan.command.empty()) {
      plan.command = p.value().workload.command;
      if (plan.command.empty())
        throw Fatal("verify: no command given and " + c.caps_from +
                    " records none (usage: capscope verify --caps-from "
                    "PROFILE -- CMD [ARGS...])");
      std::string cmd;
      for (const auto &a : plan.command)
        cmd += " " + a;
      std::fprintf(stderr, "capscope verify: the recorded command:%s\n",
                   cmd.c_str());
    }
  }
  if (plan.command.empty())
    throw Fatal("verify: no command given (usage: capscope verify --caps "
                "LIST [options] -- CMD [ARGS...])");

  // A set the host cannot grant would make a run pass or fail for the
  // wrong reason: refuse it.
  plan.host_bnd = host_bounding_set();
  plan.last_cap = last_cap();
  if (CapMask missing = given & ~plan.host_bnd)
    throw Fatal("verify: " + cap_list_text(missing) +
                " not in this host's bounding set (CapBnd " +
                [&] {
                  char b[32];
                  std::snprintf(b, sizeof b, "%016llx",
                                static_cast<unsigned long long>(plan.host_bnd));
                  return std::string(b);
                }() +
                "): capscope cannot grant " +
                (std::popcount(missing) == 1 ? "it" : "them") +
                ", so it cannot verify a set that contains " +
                (std::popcount(missing) == 1 ? "it" : "them"));

  if (!c.runtime.empty()) {
    if (c.runtime != "podman" && c.runtime != "docker")
      throw Fatal("verify: unknown --runtime '" + c.runtime +
                  "' (valid: podman, docker)");
    if (c.runtime == "docker" && (c.image.empty() || !c.rootfs.empty()))
      throw Fatal("verify: --runtime docker needs --image NAME (docker has "
                  "no --rootfs)");
    if (c.rootfs.empty() == c.image.empty())
      throw Fatal("verify: --runtime podman needs exactly one of --rootfs "
                  "DIR or --image NAME");
    plan.container = true;
    plan.engine = c.runtime;
    plan.rootfs = c.rootfs;
    plan.image = c.image;
    plan.runtime_opts = c.runtime_opts;
  } else if (!c.rootfs.empty() || !c.image.empty() || !c.runtime_opts.empty()) {
    throw Fatal("verify: --rootfs, --image and --runtime-opt need "
                "--runtime podman");
  }
  plan.user_spec = c.user;
  if (!c.user.empty() && !plan.container) {
    auto id = parse_identity(c.user);
    if (!id)
      throw Fatal(id.error().message);
    plan.user = id.value();
  }
  plan.check = c.check;
  if (!c.check_timeout.empty()) {
    auto d = parse_duration_ms(c.check_timeout);
    if (!d || *d <= 0)
      throw Fatal("verify: bad --check-timeout '" + c.check_timeout +
                  "' (examples: 10s, 500ms, 1m)");
    plan.check_timeout_ms = *d;
  }
  plan.attach = attach_mode_or_die("verify", c.attach);
  plan.verbose = c.verbose;
  plan.no_new_privs = c.no_new_privs;
  TmpDir tmp;
  plan.tmpdir = tmp.path;

  VerifyResult res;
  res.command = plan.command;
  res.runtime = plan.container ? c.runtime : "";
  res.user = c.user;
  res.given = given;
  res.minimize = c.minimize;
  res.has_check = !c.check.empty();
  res.repeat = c.repeat;

  Minimizer m(given, c.minimize, !c.check.empty(), plan.host_bnd);
  int number = 0;
  while (auto t = m.next()) {
    ++number;
    TrialRecord rec;
    rec.trial = *t;
    for (int i = 1; i <= c.repeat; ++i) {
      int not_started = 0;
      TrialRun r = run_once(plan, t->caps, &not_started);
      if (not_started)
        return not_started; // CMD not found / not executable (said why)
      print_run(*t, r, number, i, c.repeat);
      rec.runs.push_back(std::move(r));
    }
    m.record(rec.runs);
    res.trials.push_back(std::move(rec));
  }
  res.baseline = m.baseline_outcome();
  res.passed = !m.baseline_failed();
  res.proven = m.result();
  res.decisions = m.decisions();

  std::string report = render_verify(res, Format::Report);
  bool report_elsewhere = fmt == Format::Report && !c.output.empty();
  if (!report_elsewhere) {
    std::fputs("\n", stderr);
    std::fputs(report.c_str(), stderr);
    std::fflush(stderr);
  }
  // Flags for a set that did not pass would be a lie; the report says why.
  if (!(fmt == Format::Report && c.output.empty()) &&
      (res.passed || fmt == Format::Json || fmt == Format::Report))
    emit_output(c.output, render_verify(res, fmt));
  return res.passed ? 0 : kFail;
}

} // namespace capscope
