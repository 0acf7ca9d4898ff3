// workload.cpp - gated fork/exec, identity switch and subreaping.
#include "session/workload.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace capscope {

static bool all_digits(const std::string &s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// A numeric uid/gid: digits, at most 4294967294 ((uid_t)-1 means "none").
// Longer numbers are an error, not an exception (found by
// tests/fuzz/fuzz_args).
static bool numeric_id(const std::string &s, std::uint32_t *out) {
  if (!all_digits(s) || s.size() > 10)
    return false;
  unsigned long long v = std::stoull(s);
  if (v >= 0xffffffffULL)
    return false;
  *out = static_cast<std::uint32_t>(v);
  return true;
}

Result<Identity> parse_identity(const std::string &spec) {
  Identity id;
  id.spec = spec;
  std::string user = spec, grp;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    user = spec.substr(0, colon);
    grp = spec.substr(colon + 1);
    if (grp.empty())
      return Error{EINVAL, "--user " + spec + ": empty group after ':'"};
  }
  if (user.empty())
    return Error{EINVAL, "--user needs a user name or uid"};
  std::uint32_t num = 0;
  if (all_digits(user) && !numeric_id(user, &num))
    return Error{ERANGE, "--user " + spec + ": uid " + user + " out of range"};
  const passwd *pw = all_digits(user) ? getpwuid(num) : getpwnam(user.c_str());
  if (!pw && !all_digits(user))
    return Error{ENOENT, "--user " + spec + ": no such user '" + user + "'"};
  id.uid = pw ? pw->pw_uid : static_cast<uid_t>(num);
  id.gid = pw ? pw->pw_gid : id.uid;
  if (!grp.empty()) {
    std::uint32_t gnum = 0;
    if (all_digits(grp) && !numeric_id(grp, &gnum))
      return Error{ERANGE, "--user " + spec + ": gid " + grp + " out of range"};
    const struct group *gr =
        all_digits(grp) ? getgrgid(gnum) : getgrnam(grp.c_str());
    if (!gr && !all_digits(grp))
      return Error{ENOENT, "--user " + spec + ": no such group '" + grp + "'"};
    id.gid = gr ? gr->gr_gid : static_cast<gid_t>(gnum);
  }
  if (pw && grp.empty()) {
    int n = 64;
    std::vector<gid_t> groups(n);
    if (getgrouplist(pw->pw_name, id.gid, groups.data(), &n) >= 0) {
      groups.resize(n);
      id.groups = groups;
    }
  }
  if (id.groups.empty())
    id.groups = {id.gid};
  return id;
}

std::vector<std::string> path_candidates(const std::string &cmd,
                                         const char *path) {
  if (cmd.find('/') != std::string::npos)
    return {cmd};
  std::string list = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = list.find(':', pos);
    if (end == std::string::npos)
      end = list.size();
    std::string dir = list.substr(pos, end - pos);
    pos = end + 1;
    out.push_back((dir.empty() ? "." : dir) + "/" + cmd);
  }
  return out;
}

int exec_search(const std::vector<std::string> &candidates,
                const std::function<int(const std::string &)> &try_exec) {
  bool denied = false;
  for (const auto &c : candidates) {
    int e = try_exec(c);
    if (e == EACCES) {
      denied = true;
      continue;
    }
    if (e == ENOENT || e == ENOTDIR)
      continue;
    return e;
  }
  return denied ? EACCES : ENOENT;
}

Result<std::string> resolve_command(const std::string &cmd, int *status) {
  // What execve would say, without running anything.
  auto check = [](const std::string &p) -> int {
    struct stat st;
    if (stat(p.c_str(), &st) != 0)
      return errno == ENOTDIR ? ENOTDIR : errno == EACCES ? EACCES : ENOENT;
    if (S_ISDIR(st.st_mode) || access(p.c_str(), X_OK) != 0)
      return EACCES;
    return -1; // found: stop, as a successful exec would
  };
  bool slash = cmd.find('/') != std::string::npos;
  int err = exec_search(path_candidates(cmd, getenv("PATH")), check);
  if (err == -1)
    return cmd;
  *status = err == EACCES ? 126 : 127;
  if (slash)
    return Error{err, cmd + (err == EACCES ? ": permission denied (not an "
                                             "executable file)"
                                           : ": no such file or directory")};
  return Error{err, cmd + (err == EACCES ? ": permission denied"
                                         : ": command not found")};
}

Result<std::unique_ptr<ChildTree>>
ChildTree::spawn(const std::string &path, const std::vector<std::string> &argv,
                 const std::optional<Identity> &user,
                 const std::function<int()> &before_exec) {
  int gate[2], err[2];
  if (pipe2(gate, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    return Error{errno, std::string("pipe: ") + std::strerror(errno)};
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  std::vector<char *> cargv;
  for (const auto &a : argv)
    cargv.push_back(const_cast<char *>(a.c_str()));
  cargv.push_back(nullptr);
  // Built before the fork: the child only calls execv.
  const std::vector<std::string> candidates =
      path_candidates(path, getenv("PATH"));

  pid_t pid = fork();
  if (pid < 0)
    return Error{errno, std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    close(gate[1]);
    close(err[0]);
    char go = 0;
    ssize_t n;
    do
      n = read(gate[0], &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1 || go != 'g')
      _exit(125); // capscope went away before releasing us
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int e = 0;
    if (user) {
      // The switch happens before the exec gate, so its SETUID/SETGID
      // checks are set-up, not the workload's.
      if (setgroups(user->groups.size(), user->groups.data()) != 0 ||
          setgid(user->gid) != 0 || setuid(user->uid) != 0)
        e = errno ? errno : EPERM;
    }
    if (!e && before_exec)
      e = before_exec();
    if (!e)
      e = exec_search(candidates, [&](const std::string &p) {
        execv(p.c_str(), cargv.data());
        return errno;
      });
    ssize_t w = write(err[1], &e, sizeof e);
    (void)w;
    _exit(e == ENOENT ? 127 : 126);
  }
  close(gate[0]);
  close(err[1]);
  std::unique_ptr<ChildTree> w(new ChildTree());
  w->pid_ = pid;
  w->gate_ = gate[1];
  w->errfd_ = err[0];
  return w;
}

ChildTree::~ChildTree() {
  if (gate_ >= 0)
    close(gate_); // an unreleased child sees EOF and exits 125
  if (errfd_ >= 0)
    close(errfd_);
}

int ChildTree::release() {
  char go = 'g';
  ssize_t n = write(gate_, &go, 1);
  close(gate_);
  gate_ = -1;
  if (n != 1)
    return EPIPE;
  int e = 0;
  ssize_t r;
  do
    r = read(errfd_, &e, sizeof e);
  while (r < 0 && errno == EINTR);
  close(errfd_);
  errfd_ = -1;
  return r == sizeof e ? e : 0;
}

bool ChildTree::reap() {
  for (;;) {
    int st = 0;
    pid_t p = waitpid(-1, &st, WNOHANG | __WALL);
    if (p == 0)
      return true;
    if (p < 0)
      return errno != ECHILD;
    if (p == pid_) {
      main_exited_ = true;
      status_ = WIFEXITED(st)     ? WEXITSTATUS(st)
                : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
                                  : 1;
    }
  }
}

void signal_all(const std::vector<unsigned> &tgids, int sig) {
  pid_t self = getpid();
  for (unsigned t : tgids)
    if (t > 1 && static_cast<pid_t>(t) != self)
      kill(static_cast<pid_t>(t), sig);
}

bool Terminator::stop() {
  if (stopping_)
    return false;
  stopping_ = true;
  signal_all(targets_(), SIGTERM);
  kill_at_ =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms_);
  return true;
}

void Terminator::tick() {
  auto now = std::chrono::steady_clock::now();
  if (now < kill_at_)
    return;
  signal_all(targets_(), SIGKILL);
  kill_at_ = now + std::chrono::milliseconds(grace_ms_);
}

} // namespace capscope
