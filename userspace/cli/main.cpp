// main.cpp - thin: CLI11 -> a config struct -> run_*(config) -> exit code.
// Capscope's own errors are one line on stderr and exit 125.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/result.h"

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
  capscope record --format json -o profile.json -- make install)";

const char *kTraceHelp =
    R"(Print every capability check as it happens, one line each, until
Ctrl-C. This is the one mode that streams every check.

Examples:
  capscope trace --denied
  capscope trace --pid 1234 --cap SYS_ADMIN
  capscope trace --unique --duration 10s)";

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"capscope - which Linux capabilities does a workload really "
               "use?\nTraces the kernel's capability checks with eBPF and "
               "emits the tightest grant that still works."};
  app.set_version_flag("--version",
                       std::string("capscope ") + CAPSCOPE_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'capscope COMMAND --help' for a command's options.");

  RecordConfig rec;
  auto *record = app.add_subcommand("record", "run a command traced and "
                                              "report the capabilities it "
                                              "used");
  record->footer(kRecordHelp);
  record->add_option("-f,--format", rec.format,
                     "report (default), json, docker, podman, nerdctl");
  record->add_option("-o,--output", rec.output,
                     "write the result to FILE ('-' for stdout)");
  record->add_option("-u,--user", rec.user,
                     "run CMD as USER[:GROUP] (name or number)");
  record->add_option("-d,--duration", rec.duration,
                     "stop the workload after D (30s, 5m, 1h)");
  record->add_option("--attach", rec.attach,
                     "auto (default), tracepoint, fexit, kprobe");
  record->add_option("--events", rec.events,
                     "also write each new check with its kernel stack as "
                     "JSON lines (replayable)");
  record->add_flag("-v,--verbose", rec.verbose,
                   "list noise checks too; say which attach mode runs");
  record->prefix_command();

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
      return run_record(rec);
    }
    if (*trace)
      return run_trace(tr);
    if (*doctor)
      return run_doctor(doc);
    if (*decode)
      return run_decode(dec);
  } catch (const Fatal &f) {
    std::fprintf(stderr, "capscope: %s\n", f.what());
    return f.code();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "capscope: internal error: %s\n", e.what());
    return kOwnError;
  }
  return kOwnError;
}
