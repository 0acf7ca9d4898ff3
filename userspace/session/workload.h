// workload.h - starting a command blocked at a gate (so it can be
// registered with the tracer before it runs a single instruction of its
// own), switching identity, and reaping its whole process tree.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "core/result.h"

namespace capscope {

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string spec; // as given
};

// "USER", "UID", "USER:GROUP", "UID:GID". Errors are one line.
Result<Identity> parse_identity(const std::string &spec);

// Where execvp would look for `cmd`, in order: `cmd` itself when it holds
// a '/', else each PATH entry (`path`, nullptr = the default) joined with
// it; an empty entry is the current directory.
std::vector<std::string> path_candidates(const std::string &cmd,
                                         const char *path);

// Tries each candidate with `try_exec` (which returns the exec's errno) as
// execvp does: EACCES is remembered and the search goes on; ENOENT and
// ENOTDIR skip the entry; any other error ends it. Returns the errno to
// report: EACCES when an entry refused and none later worked, else ENOENT
// (or the error that ended it). try_exec returns only on failure.
int exec_search(const std::vector<std::string> &candidates,
                const std::function<int(const std::string &)> &try_exec);

// Capscope's early check that `cmd` can be found (before attaching), as
// execvp's search. Returns the name to hand to ChildTree::spawn: `cmd`
// itself, since the child repeats the search under its own identity (an
// entry root may enter, such as a directory under /root, can refuse the
// workload's user). Sets *status to 127 (not found) or 126 (not
// executable) on failure.
Result<std::string> resolve_command(const std::string &cmd, int *status);

class ChildTree {
public:
  ~ChildTree();
  // Forks the child, stopped before exec. A `path` without '/' is searched
  // for in PATH by the child after its identity switch (exec_search). Capscope
  // becomes a child subreaper, so daemonizing descendants stay ours to reap.
  static Result<std::unique_ptr<ChildTree>>
  spawn(const std::string &path, const std::vector<std::string> &argv,
        const std::optional<Identity> &user,
        const std::function<int()> &before_exec = {});

  pid_t pid() const { return pid_; }
  // Lets the child exec. Returns the exec's errno (0 when it succeeded).
  int release();
  // Reaps every exited descendant. Returns false once none is left.
  bool reap();
  bool main_exited() const { return main_exited_; }
  // The main child's exit status as a shell reports it (128+sig).
  int exit_status() const { return status_; }

private:
  ChildTree() = default;
  pid_t pid_ = -1;
  int gate_ = -1;  // write end: closing it lets the child go
  int errfd_ = -1; // read end: the child's exec errno, EOF on success
  bool main_exited_ = false;
  int status_ = 0;
};

// Sends sig to every pid in tgids (the tracked tasks), ignoring errors.
void signal_all(const std::vector<unsigned> &tgids, int sig);

// Stopping a workload: SIGTERM to everyone once, then SIGKILL every grace
// period until the caller sees them gone. `targets` is asked each time, so
// processes started meanwhile are stopped too.
class Terminator {
public:
  static constexpr int kGraceMs = 3000;
  explicit Terminator(std::function<std::vector<unsigned>()> targets,
                      int grace_ms = kGraceMs)
      : targets_(std::move(targets)), grace_ms_(grace_ms) {}
  // Sends SIGTERM (the first time only). Returns false when already
  // stopping.
  bool stop();
  // Call regularly: sends SIGKILL once the grace period is over.
  void tick();
  bool stopping() const { return stopping_; }

private:
  std::function<std::vector<unsigned>()> targets_;
  int grace_ms_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point kill_at_ =
      std::chrono::steady_clock::time_point::max();
};

} // namespace capscope
