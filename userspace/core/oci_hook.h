// oci_hook.h - what an OCI hook is told and asked, as pure parsing: the
// container state a runtime writes on a hook's stdin (runtime-spec
// "state": id, status, pid, bundle, annotations) and the io.capscope.*
// annotations that ask `capscope hook` to record a container. Text in,
// fields out: no files, no /proc (cli/cmd_hook.cpp does the rest).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace capscope {

// The annotations `capscope hook` reads.
inline constexpr const char *kAnnProfile = "io.capscope.profile";
inline constexpr const char *kAnnFormat = "io.capscope.format";
inline constexpr const char *kAnnVerbose = "io.capscope.verbose";
inline constexpr const char *kAnnRequired = "io.capscope.required";
inline constexpr const char *kAnnAttach = "io.capscope.attach";
inline constexpr const char *kAnnCheckpoint = "io.capscope.checkpoint";
inline constexpr const char *kAnnPrefix = "io.capscope.";

// The runtime-spec state a hook reads on stdin. runc sends status
// "creating" to prestart/createRuntime hooks (pid = the container's init,
// still runc's, before it execs the container's command) and "stopped"
// (no pid) to poststop hooks.
struct OciHookState {
  std::string oci_version;
  std::string id;
  std::string status;
  int pid = 0;
  std::string bundle;
  std::map<std::string, std::string> annotations;
};

// Errors are one line ("not JSON", "no container id", ...).
Result<OciHookState> parse_oci_hook_state(std::string_view json_text);

// What the annotations ask for.
struct HookRequest {
  std::string profile;              // absolute path of the JSON profile
  std::vector<std::string> formats; // more formats, written next to it
                                    // (listed with commas or spaces)
  bool verbose = false;             // verbose reports; tracer log file
  bool required = false;            // a failure stops the container
  std::string attach = "auto";      // attach mode (as record --attach)
  // While the container runs, the profile so far is written this often, so
  // a tracer killed without warning (SIGKILL, OOM) loses at most this much;
  // 0: only at the end.
  std::int64_t checkpoint_ms = 30000;
};

// io.capscope.required alone (true only for a valid true value), so that
// a request whose other annotations are wrong still knows whether its
// failure must be fatal.
bool hook_required(const std::map<std::string, std::string> &annotations);

// Validates every io.capscope.* annotation: the profile path is absolute
// and names a file (not a directory), formats are capscope's
// (--format names; "json" is the profile itself, so not accepted), booleans
// are true/false/1/0/yes/no, the checkpoint interval a duration ("30s",
// "0" for none) of at least 1 s, no unknown io.capscope.* key (a typo would
// otherwise be ignored silently). One-line errors naming the annotation.
Result<HookRequest>
hook_request(const std::map<std::string, std::string> &annotations);

// Where an extra format goes: the profile's path without a trailing
// ".json", then "." and the format name (/out/web.json, docker ->
// /out/web.docker).
std::string hook_format_path(const std::string &profile,
                             const std::string &format);
// Where errors are written for the user: PROFILE.err (and the tracer's
// log with io.capscope.verbose: PROFILE.log).
std::string hook_err_path(const std::string &profile);
std::string hook_log_path(const std::string &profile);

// A container id safe to use as a file name (runtime ids are hex; names
// in other runtimes are [A-Za-z0-9_.-]); false for "", ".", "..", "/".
bool hook_safe_id(std::string_view id);

} // namespace capscope
