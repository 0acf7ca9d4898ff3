// main.cpp - thin: CLI11 -> a config struct -> run_*(config) -> exit code.
// Capscope's own errors are one line on stderr and exit 125.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/result.h"
#include "core/version.h"

using namespace capscope;

namespace {

constexpr int kOwnError = 125;

const char *kRecordHelp =
    R"(Run CMD traced from its first instruction and report the capabilities
its whole process tree used, with the tightest flags that still work.
The report goes to stderr after CMD ends (CMD's own output is untouched);
the exit status is CMD's.

Examples:
  capscope record -- ./server --port 80
  capscope record --format docker -o - -- chown 1000 /tmp/x
  capscope record --user 1000 --duration 30s -- ./daemon
  capscope record --format json -o profile.json -- make install
  capscope record --container web --duration 5m
  capscope record --unit nginx.service --duration 10m --format systemd -o -)";

const char *kVerifyHelp =
    R"(Run CMD with exactly the capabilities in LIST (bounding, permitted and
effective; nothing inheritable or ambient; no_new_privs only with
--no-new-privs, as Docker leaves it off), still as uid 0 unless --user,
traced, and judge it: exit status 0 passes, or with
--check the check command succeeding within --check-timeout (CMD is then
stopped). Each run's report says what was denied in it.
--minimize removes each capability in turn (and tries known narrower
substitutes): kept, unnecessary, or ambiguous when the workload passes
although the capability was denied (it may have degraded silently; the
report names the syscall, call site and errno, and what to check). Denials
whose outcome did not depend on the capability (class moot), and a broad
capability refused where the kernel then granted a narrower one (either/or
sites), do not count. --runtime podman uses your podman configuration;
--runtime-opt passes machine-specific `podman run` options.
Exit status: 0 pass, 1 fail, 125 capscope's own error, 127 CMD not found.

Examples:
  capscope verify --caps CHOWN -- chown 1000 /tmp/x
  capscope verify --caps CHOWN,NET_RAW --minimize -- chown 1000 /tmp/x
  capscope verify --caps-from profile.json --minimize --format docker -o -
  capscope verify --caps NET_BIND_SERVICE --check 'wget -q -O- http://127.0.0.1/' -- ./server
  capscope verify --caps CHOWN --runtime podman --rootfs ./rootfs -- chown 1000 /etc/passwd
  capscope verify --caps CHOWN --runtime podman --runtime-opt=--runtime=runc --image alpine -- chown 1000 /etc/passwd)";

const char *kTraceHelp =
    R"(Print every capability check as it happens, one line each, until
Ctrl-C. This is the one mode that streams every check.

Examples:
  capscope trace --denied
  capscope trace --pid 1234 --cap SYS_ADMIN
  capscope trace --unique --duration 10s)";

const char *kAdviseHelp =
    R"(Render the advice of a saved profile, offline, on stdout. When PROFILE
is not a file, the workload is looked up in the capscope daemon.

Examples:
  capscope advise web.json --format k8s
  capscope advise web.json --format compose > compose.override.yaml
  capscope advise web.json --format oci --patch bundle/config.json
  capscope advise my-container --format docker
  capscope advise web.json --format kyverno > web-policy.yaml
  capscope advise --prometheus http://prometheus:9090 --workload shop/web)";

const char *kHookHelp =
    R"(Run by podman or CRI-O (hooks.d, prestart and poststop stages), never by
hand: reads the OCI state on stdin. A container started with the annotation
io.capscope.profile=/ABS/PATH.json is traced from its first instruction by
a detached tracer; when its init exits (or the tracer gets SIGTERM), the
profile is written there atomically, as record --format json writes it.
Annotations:
  io.capscope.profile=PATH    the profile (a path on the host)
  io.capscope.format='F [F]'  also write PATH-without-.json.F (docker, k8s...)
  io.capscope.verbose=true    verbose reports; the tracer's log in PATH.log
  io.capscope.attach=MODE     auto (default), tracepoint, fexit, kprobe
  io.capscope.checkpoint=DUR  while it runs, write the profile so far this
                              often (default 30s; 0: only at the end)
  io.capscope.required=true   a failure stops the container (default: the
                              container runs, the error goes to PATH.err)
The package installs /usr/share/containers/oci/hooks.d/capscope.json.

Examples:
  podman run --annotation io.capscope.profile=/tmp/web.json IMAGE
  podman run --annotation io.capscope.profile=/tmp/web.json \
      --annotation 'io.capscope.format=docker k8s' IMAGE
  capscope advise /tmp/web.json --format docker
  podman --hooks-dir ./hooks.d run --annotation io.capscope.profile=/tmp/x.json IMAGE)";

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"capscope - which Linux capabilities does a workload really "
               "use?\nTraces the kernel's capability checks with eBPF and "
               "emits the tightest grant that still works."};
  app.set_version_flag("--version", "capscope " + capscope_version_line());
  app.require_subcommand(1);
  app.footer("Run 'capscope COMMAND --help' for a command's options.");

  RecordConfig rec;
  auto *record = app.add_subcommand("record", "run a command traced and "
                                              "report the capabilities it "
                                              "used");
  record->footer(kRecordHelp);
  record->add_option("-f,--format", rec.format,
                     "report (default), json, docker, podman, nerdctl, "
                     "compose, k8s, systemd, oci, capsh, kyverno, "
                     "gatekeeper");
  record->add_option("-o,--output", rec.output,
                     "write the result to FILE ('-' for stdout)");
  record->add_option("-u,--user", rec.user,
                     "run CMD as USER[:GROUP] (name or number)");
  record->add_option("-d,--duration", rec.duration,
                     "stop the workload after D (30s, 5m, 1h)");
  record->add_option("--attach", rec.attach,
                     "auto (default), tracepoint, fexit, kprobe");
  record->add_option("--container", rec.container,
                     "attach to a running container (ID, prefix or name) "
                     "instead of running CMD");
  record->add_option("--unit", rec.unit,
                     "attach to a running systemd service (NAME.service) "
                     "instead of running CMD");
  record->add_option("--events", rec.events,
                     "also write each new check with its kernel stack as "
                     "JSON lines (replayable)");
  record->add_flag("-v,--verbose", rec.verbose,
                   "list noise checks too; say which attach mode runs");
  record->add_option("--expect", rec.expect,
                     "for CI: exit 1 (after CMD succeeded) when the advice "
                     "needs anything beyond LIST (comma-separated, '' = "
                     "nothing), naming what needed it");
  record->add_flag("--verify", rec.verify,
                   "then verify the advice: re-run CMD with exactly the "
                   "advised capabilities (see capscope verify)");
  record->prefix_command();

  VerifyConfig ver;
  auto *verify = app.add_subcommand(
      "verify", "re-run a command with exactly a set of capabilities; "
                "prove each one necessary");
  verify->footer(kVerifyHelp);
  verify->add_option("--caps", ver.caps,
                     "comma-separated capabilities ('' for none)");
  verify->add_option("--caps-from", ver.caps_from,
                     "verify the advice of a saved profile (JSON)");
  verify->add_flag("--minimize", ver.minimize,
                   "remove each capability in turn; report the proven "
                   "minimal set");
  verify->add_option("--check", ver.check,
                     "shell command that proves CMD works (retried until it "
                     "succeeds or --check-timeout; then CMD is stopped)");
  verify->add_option("--check-timeout", ver.check_timeout,
                     "how long to retry --check (default 10s)");
  verify->add_option("--repeat", ver.repeat,
                     "run each set N times; unnecessary only if all pass");
  verify->add_option("-u,--user", ver.user,
                     "run CMD as USER[:GROUP] with the set as ambient caps");
  verify->add_option("--runtime", ver.runtime,
                     "run CMD in a container instead: podman or docker");
  verify->add_option("--rootfs", ver.rootfs,
                     "the container's root filesystem (podman --rootfs)");
  verify->add_option("--image", ver.image, "or the container image");
  verify->add_option("--runtime-opt", ver.runtime_opts,
                     "more `podman run` options (repeatable), e.g. "
                     "--runtime-opt=--network=host");
  verify->add_option("-f,--format", ver.format,
                     "the result: report (default), json (capscope.verify/v1) "
                     "or any flags format of record (docker, k8s, ...)");
  verify->add_option("-o,--output", ver.output,
                     "write the result to FILE ('-' for stdout)");
  verify->add_option("--attach", ver.attach,
                     "auto (default), tracepoint, fexit, kprobe");
  verify->add_flag("--no-new-privs", ver.no_new_privs,
                   "also set no_new_privs, as --security-opt "
                   "no-new-privileges or allowPrivilegeEscalation: false");
  verify->add_flag("-v,--verbose", ver.verbose, "say which attach mode runs");
  verify->prefix_command();

  DiagnoseConfig dia;
  auto *diag = app.add_subcommand(
      "diagnose", "explain which denied capability made which syscall fail");
  diag->footer(
      R"(Runs CMD traced and follows every syscall its processes make. For each
one that failed with EPERM/EACCES or had a capability denied in it, says
whether a denied capability made it fail (and the flag that fixes it), the
workload survived the denial, or capabilities were not the problem.

Examples:
  capscope diagnose -- podman run --rm --cap-drop=ALL --rootfs ./rootfs nc -l -p 80
  capscope diagnose --user 1000 -- ./server)");
  diag->add_option("-u,--user", dia.user, "run CMD as USER[:GROUP]");
  diag->add_option("-d,--duration", dia.duration, "stop the workload after D");
  diag->add_option("-o,--output", dia.output,
                   "write the explanation to FILE ('-' for stdout)");
  diag->add_flag("-v,--verbose", dia.verbose, "say more");
  diag->prefix_command();

  HookConfig hk;
  auto *hook = app.add_subcommand(
      "hook", "OCI hook: record a container started with the "
              "io.capscope.profile annotation");
  hook->footer(kHookHelp);
  hook->add_option("--ready-timeout", hk.ready_timeout,
                   "prestart: how long to wait for the tracer to attach "
                   "(default 30s)");
  hook->add_option("--stop-timeout", hk.stop_timeout,
                   "poststop: how long to wait for the profile to be "
                   "written (default 10s)");
  hook->add_option("--dir", hk.dir,
                   "accept profile paths only under DIR (where whoever "
                   "sets annotations is not root: CRI-O pods)");

  TraceConfig tr;
  auto *trace = app.add_subcommand("trace", "live stream of capability "
                                            "checks");
  trace->footer(kTraceHelp);
  trace->add_option("-p,--pid", tr.pid, "only this process (tgid)");
  trace->add_option("-c,--cap", tr.cap, "only this capability");
  trace->add_flag("--denied", tr.denied, "only denied checks");
  trace->add_flag("--unique", tr.unique,
                  "only the first check of each (pid, cap, verdict, "
                  "syscall, class)");
  trace->add_option("-d,--duration", tr.duration, "stop after D");
  trace->add_option("--attach", tr.attach,
                    "auto (default), tracepoint, fexit, kprobe");
  trace->add_flag("-v,--verbose", tr.verbose, "show libbpf's log");

  DoctorConfig doc;
  auto *doctor = app.add_subcommand(
      "doctor", "what this kernel supports and which attach mode will run");
  doctor->add_flag("-v,--verbose", doc.verbose, "show libbpf's log");

  DaemonCmdConfig dmn;
  auto *daemon = app.add_subcommand(
      "daemon", "trace every container on the host and keep its profile");
  daemon->footer(
      R"(Traces every process that execs inside a container (a private mount
namespace), keeps one profile per container in the state directory and
answers `capscope profiles`, `show` and `advise` on a root-only socket.

Examples:
  sudo capscope daemon
  sudo capscope daemon --state-dir /tmp/cs --socket /tmp/cs.sock --metrics 127.0.0.1:9464)");
  daemon->add_option("--state-dir", dmn.state_dir,
                     std::string("where profiles are kept (default ") +
                         kDefaultStateDir + ")");
  daemon->add_option("--socket", dmn.socket,
                     std::string("Unix socket for the CLI (default ") +
                         kDefaultSocket + ")");
  daemon->add_option("--metrics", dmn.metrics,
                     "serve Prometheus metrics on HOST:PORT");
  daemon->add_option("--flush-interval", dmn.flush_interval,
                     "how often profiles are written (default 5s)");
  daemon->add_option("--attach", dmn.attach,
                     "auto (default), tracepoint, fexit, kprobe");
  daemon->add_option("--cgroup-parent", dmn.cgroup_parent,
                     "profile only containers whose cgroup is under this "
                     "one (podman --cgroup-parent, ctr --cgroup)");
  daemon->add_flag("-v,--verbose", dmn.verbose, "say more");

  ProfilesConfig prof;
  auto *profiles = app.add_subcommand(
      "profiles", "list the containers the daemon has profiled");
  profiles->add_option("--socket", prof.socket, "the daemon's socket");
  profiles->add_flag("--all", prof.all,
                     "also list private namespaces that are no container");
  profiles->add_flag("--json", prof.json, "print the list as JSON");
  profiles->add_option("--by", prof.by,
                       "workload: one row per workload (replicas and "
                       "restarts combined)");
  profiles->add_option("--prometheus", prof.prometheus,
                       "with --by workload: every node's daemon, summed in "
                       "this Prometheus (http://HOST:PORT)");
  profiles->add_option("--window", prof.window,
                       "with --prometheus: how far back series count "
                       "(default 1h)");

  ShowConfig shw;
  auto *show = app.add_subcommand(
      "show", "show what the daemon learned about one container");
  show->add_option("id", shw.id, "container id (or prefix) or name")
      ->required();
  show->add_option("--socket", shw.socket, "the daemon's socket");
  show->add_option(
      "-f,--format", shw.format,
      "report (default), json, docker, podman, nerdctl, "
      "compose,\n                  k8s, systemd, oci, capsh, kyverno, "
      "gatekeeper");
  show->add_flag("-v,--verbose", shw.verbose, "list noise checks too");

  TopConfig tp;
  auto *top = app.add_subcommand(
      "top", "live view of the daemon's containers: capabilities used, "
             "checks/s, denied, held but unused");
  top->footer(
      R"(One row per container the daemon traces, refreshed in place: the
capabilities it needed so far, checks per second (between two samples),
checks denied that could have failed an operation, and how many
capabilities it holds but never used (PRIV: a privileged container).
Keys: c/r/d/u/n sort by caps, rate, denied, unused, name; j/k or arrows
select; Enter or s opens the container's `show` report (q returns); q quits.
Not on a terminal, or with --once, it prints plain tables instead.

Examples:
  sudo capscope top
  sudo capscope top --interval 5s --sort denied
  sudo capscope top --once --all > containers.txt
  sudo capscope top --socket /tmp/cs.sock)");
  top->add_option("--socket", tp.socket,
                  std::string("the daemon's socket (default ") +
                      kDefaultSocket + ")");
  top->add_option("-i,--interval", tp.interval,
                  "time between samples (default 2s)");
  top->add_option("--sort", tp.sort,
                  "rate (default), caps, denied, unused, name");
  top->add_flag("--once", tp.once,
                "print one table (after one interval, for the rates) and "
                "exit");
  top->add_flag("--all", tp.all,
                "every profile the daemon holds, exited containers and "
                "non-container namespaces too");

  AdviseConfig adv;
  auto *advise_cmd = app.add_subcommand(
      "advise", "the advice of a saved profile (or a daemon workload) in "
                "any format");
  advise_cmd->footer(kAdviseHelp);
  advise_cmd->add_option("profile", adv.profile,
                         "a profile file (record --format json), else a "
                         "workload ID or NAME the daemon knows");
  advise_cmd->add_option("--prometheus", adv.prometheus,
                         "cluster-wide: sum every node's daemon series in "
                         "this Prometheus (http://HOST:PORT)");
  advise_cmd->add_option("--workload", adv.workload,
                         "with --prometheus: the Kubernetes workload, "
                         "NAMESPACE/NAME (its pods' owner)");
  advise_cmd->add_option("--window", adv.window,
                         "with --prometheus: how far back series count "
                         "(PromQL duration, default 1h)");
  advise_cmd->add_option("-f,--format", adv.format,
                         "report (default), json, docker, podman, nerdctl, "
                         "compose, k8s, systemd, oci, capsh, kyverno, "
                         "gatekeeper");
  advise_cmd->add_option("--patch", adv.patch,
                         "write the advice into this OCI config.json "
                         "(process.capabilities), atomically");
  advise_cmd->add_option("--socket", adv.socket,
                         std::string("the daemon's socket (default ") +
                             kDefaultSocket + ")");
  advise_cmd->add_option("-o,--output", adv.output,
                         "write to FILE instead of stdout");
  advise_cmd->add_flag("-v,--verbose", adv.verbose, "list noise checks too");

  MergeConfig mrg;
  auto *merge = app.add_subcommand(
      "merge", "union of profiles from several runs or replicas");
  merge->add_option("profiles", mrg.files, "profile files (JSON)")->required();
  merge->add_option("-o,--output", mrg.output,
                    "write to FILE (atomically) instead of stdout");
  merge->add_option("-f,--format", mrg.format,
                    "json (default) or any advice format");
  merge->add_flag("--force", mrg.force,
                  "merge profiles of different workloads too");

  DiffConfig dif;
  auto *diff = app.add_subcommand(
      "diff", "capabilities the new profile needs beyond the old one "
              "(exit 1 when any)");
  diff->add_option("old", dif.old_file, "the old profile")->required();
  diff->add_option("new", dif.new_file, "the new profile")->required();

  CapsConfig cps;
  auto *caps = app.add_subcommand(
      "caps", "a process's capability sets by name, and its container");
  caps->add_option("pid", cps.pid, "process id (or 'self')")->required();

  DecodeConfig dec;
  auto *decode =
      app.add_subcommand("decode", "decode a capability mask to names");
  decode->add_option("mask", dec.hex, "hex mask, e.g. 00000000a80425fb")
      ->required();

  // Everything after the first "--" is the workload's command line, taken
  // verbatim: CLI11 would otherwise parse or reorder it.
  std::vector<std::string> tail;
  bool has_tail = false;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--") {
      tail.assign(argv + i + 1, argv + argc);
      has_tail = true;
      argc = i;
      break;
    }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    std::fprintf(stderr, "capscope: %s (see capscope --help)\n", e.what());
    return kOwnError;
  }

  try {
    if (*record) {
      // `record CMD -- X` keeps the "--" as part of CMD's arguments.
      rec.command = record->remaining();
      if (!rec.command.empty() && rec.command.front().starts_with("-")) {
        std::fprintf(stderr,
                     "capscope: record: unknown option '%s' (see capscope "
                     "record --help)\n",
                     rec.command.front().c_str());
        return kOwnError;
      }
      if (has_tail && !rec.command.empty())
        rec.command.push_back("--");
      rec.command.insert(rec.command.end(), tail.begin(), tail.end());
      if (!rec.unit.empty()) {
        if (!rec.command.empty() || !rec.container.empty())
          throw Fatal("record: give --unit alone, without a command or "
                      "--container");
        return run_record_unit(rec);
      }
      if (!rec.container.empty()) {
        if (!rec.command.empty())
          throw Fatal("record: give either --container or a command, not "
                      "both");
        return run_record_container(rec);
      }
      rec.expect_given = record->count("--expect") > 0;
      return run_record(rec);
    }
    if (*verify) {
      // As record: everything after the first "--" is CMD, verbatim.
      ver.command = verify->remaining();
      if (!ver.command.empty() && ver.command.front().starts_with("-")) {
        std::fprintf(stderr,
                     "capscope: verify: unknown option '%s' (see capscope "
                     "verify --help)\n",
                     ver.command.front().c_str());
        return kOwnError;
      }
      if (has_tail && !ver.command.empty())
        ver.command.push_back("--");
      ver.command.insert(ver.command.end(), tail.begin(), tail.end());
      ver.caps_given = verify->count("--caps") > 0;
      return run_verify(ver);
    }
    if (*diag) {
      dia.command = diag->remaining();
      if (!dia.command.empty() && dia.command.front().starts_with("-")) {
        std::fprintf(stderr,
                     "capscope: diagnose: unknown option '%s' (see capscope "
                     "diagnose --help)\n",
                     dia.command.front().c_str());
        return kOwnError;
      }
      if (has_tail && !dia.command.empty())
        dia.command.push_back("--");
      dia.command.insert(dia.command.end(), tail.begin(), tail.end());
      return run_diagnose(dia);
    }
    if (*hook)
      return run_hook(hk);
    if (*trace)
      return run_trace(tr);
    if (*doctor)
      return run_doctor(doc);
    if (*decode)
      return run_decode(dec);
    if (*advise_cmd) {
      adv.format_given = advise_cmd->count("--format") > 0;
      return run_advise(adv);
    }
    if (*merge)
      return run_merge(mrg);
    if (*diff)
      return run_diff(dif);
    if (*caps)
      return run_caps(cps);
    if (*daemon)
      return run_daemon_cmd(dmn);
    if (*profiles)
      return run_profiles(prof);
    if (*show)
      return run_show(shw);
    if (*top)
      return run_top(tp);
  } catch (const Fatal &f) {
    std::fprintf(stderr, "capscope: %s\n", f.what());
    return f.code();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "capscope: internal error: %s\n", e.what());
    return kOwnError;
  }
  return kOwnError;
}
