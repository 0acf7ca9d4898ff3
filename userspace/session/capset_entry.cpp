// capset_entry.cpp - entering a capability set before exec (see
// capset_entry.h).
#include "session/capset_entry.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <grp.h>
#include <string>
#include <sys/prctl.h>
#include <unistd.h>
#include <vector>

#include "core/result.h"

namespace capscope {

CapMask host_bounding_set() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("CapBnd:", 0) == 0)
      return std::stoull(line.substr(7), nullptr, 16);
  throw Fatal("verify: cannot read CapBnd from /proc/self/status");
}

int last_cap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int n = -1;
  if (in >> n && n >= 0 && n < 64)
    return n;
  return kCapCount - 1;
}

CapsetEntry::CapsetEntry(CapMask caps, std::optional<Identity> user, int err_fd,
                         int top, bool no_new_privs)
    : caps_(caps), user_(std::move(user)), err_fd_(err_fd), top_(top),
      no_new_privs_(no_new_privs) {
  prepared_ = cap_init();
  if (!prepared_)
    throw Fatal(std::string("verify: cap_init: ") + std::strerror(errno));
  std::vector<cap_value_t> vals;
  for (int c : caps_in(caps))
    vals.push_back(static_cast<cap_value_t>(c));
  if (vals.empty())
    return;
  cap_set_flag(prepared_, CAP_PERMITTED, vals.size(), vals.data(), CAP_SET);
  cap_set_flag(prepared_, CAP_EFFECTIVE, vals.size(), vals.data(), CAP_SET);
  if (user_)
    cap_set_flag(prepared_, CAP_INHERITABLE, vals.size(), vals.data(), CAP_SET);
}

CapsetEntry::~CapsetEntry() {
  if (prepared_)
    cap_free(prepared_);
}

int CapsetEntry::enter() const {
  auto failed = [](const char *step) {
    int e = errno ? errno : EPERM;
    char msg[160];
    int n = std::snprintf(msg, sizeof msg,
                          "capscope: verify: cannot enter the capability "
                          "set: %s: %s\n",
                          step, std::strerror(e));
    ssize_t w = write(STDERR_FILENO, msg, n);
    (void)w;
    return e;
  };
  if (err_fd_ >= 0 && dup2(err_fd_, STDERR_FILENO) < 0)
    return failed("dup2");
  for (int c = 0; c <= top_; ++c)
    if (!(caps_ & cap_bit(c)) && prctl(PR_CAPBSET_READ, c) == 1 &&
        prctl(PR_CAPBSET_DROP, c) != 0)
      return failed("PR_CAPBSET_DROP");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    return failed("PR_CAP_AMBIENT_CLEAR_ALL");
  if (user_) {
    if (prctl(PR_SET_KEEPCAPS, 1) != 0)
      return failed("PR_SET_KEEPCAPS");
    if (setgroups(user_->groups.size(), user_->groups.data()) != 0)
      return failed("setgroups");
    if (setgid(user_->gid) != 0)
      return failed("setgid");
    if (setuid(user_->uid) != 0)
      return failed("setuid");
  }
  if (cap_set_proc(prepared_) != 0)
    return failed("capset");
  if (user_)
    for (int c : caps_in(caps_))
      if (cap_set_ambient(static_cast<cap_value_t>(c), CAP_SET) != 0)
        return failed("PR_CAP_AMBIENT_RAISE");
  if (no_new_privs_ && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return failed("PR_SET_NO_NEW_PRIVS");
  return 0;
}

} // namespace capscope
