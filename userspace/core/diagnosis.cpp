// diagnosis.cpp - grouping syscall outcomes and explaining them.
#include "core/diagnosis.h"
#include "core/caps.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <tuple>

#include "core/format.h"
#include "core/syscalls.h"

namespace capscope {

namespace {

std::string errno_name(int e) {
  switch (e) {
  case 1:
    return "EPERM";
  case 13:
    return "EACCES";
  default:
    return "errno " + std::to_string(e);
  }
}

std::string list(CapMask m, const char *sep = ", ") {
  std::string out;
  for (const auto &n : cap_names(m))
    out += (out.empty() ? "" : sep) + ("CAP_" + n);
  return out;
}
} // namespace

CapMask fix_for(CapMask denied) {
  if (denied & cap_bit(kDacReadSearch))
    return (denied & ~(cap_bit(kDacOverride) | cap_bit(kDacReadSearch))) |
           cap_bit(kDacReadSearch);
  return denied;
}

Diagnosis diagnose(const std::vector<SyscallOutcome> &outcomes) {
  std::map<std::tuple<int, std::string, int, CapMask, CapMask, std::string>,
           DiagnosisRow>
      groups;
  for (const auto &o : outcomes) {
    SyscallVerdict v;
    if (o.ret < 0 && o.denied)
      v = SyscallVerdict::CapFailure;
    else if (o.denied)
      v = SyscallVerdict::Survived;
    else if (o.ret == -1 || o.ret == -13)
      v = SyscallVerdict::NotCapability;
    else
      continue;
    std::string cause;
    if (v == SyscallVerdict::NotCapability) {
      if (o.no_enter || o.seccomp_mode == 2)
        cause = o.no_enter ? "stopped before the syscall ran: a seccomp "
                             "filter (the task is in seccomp filter mode)"
                           : "the task runs under a seccomp filter, which "
                             "may have refused it";
      else
        cause = "file permissions, an LSM (AppArmor/SELinux) or a user "
                "namespace";
    }
    std::string sc = syscall_name(o.nr);
    auto key =
        std::make_tuple(static_cast<int>(v), sc, o.ret, o.denied,
                        v == SyscallVerdict::Survived ? o.granted : 0, cause);
    DiagnosisRow &r = groups[key];
    r.verdict = v;
    r.syscall = sc;
    r.err = o.ret < 0 ? -o.ret : 0;
    r.denied = o.denied;
    r.granted |= o.granted;
    r.cause = cause;
    if (v == SyscallVerdict::CapFailure)
      r.fix = fix_for(o.denied);
    if (!o.exe.empty())
      r.executables.insert(o.exe);
    r.count++;
  }
  Diagnosis d;
  for (auto &[k, r] : groups) {
    d.fix |= r.fix;
    d.rows.push_back(std::move(r));
  }
  std::stable_sort(d.rows.begin(), d.rows.end(),
                   [](const DiagnosisRow &a, const DiagnosisRow &b) {
                     return static_cast<int>(a.verdict) <
                            static_cast<int>(b.verdict);
                   });
  return d;
}

std::string render_diagnosis(const Diagnosis &d, CapMask granted_needed) {
  std::string out = "capscope diagnose:\n";
  if (d.rows.empty())
    out += "  no syscall failed with EPERM/EACCES and no capability was "
           "denied.\n";
  for (const auto &r : d.rows) {
    std::string times =
        r.count > 1 ? " (x" + std::to_string(r.count) + ")" : "";
    std::string by;
    for (const auto &e : r.executables)
      by += (by.empty() ? " by " : ", ") + e;
    switch (r.verdict) {
    case SyscallVerdict::CapFailure:
      out += "  FAILED   " + r.syscall + "() failed with " + errno_name(r.err) +
             " after " + list(r.denied) +
             (std::popcount(r.denied) > 1 ? " were" : " was") +
             " denied -> add " + list(r.fix, " ") + times + by + "\n";
      break;
    case SyscallVerdict::Survived:
      out += "  SURVIVED " + r.syscall + "() succeeded although " +
             list(r.denied) + (std::popcount(r.denied) > 1 ? " were" : " was") +
             " denied" +
             (r.granted ? " (" + list(r.granted) +
                              " granted in the same "
                              "call)"
                        : "") +
             ": not needed for it to work" + times + by + "\n";
      break;
    case SyscallVerdict::NotCapability:
      out += "  NOT CAPS " + r.syscall + "() failed with " + errno_name(r.err) +
             " but no capability was denied in it: not a capability "
             "problem; likelier " +
             r.cause + times + by + "\n";
      break;
    }
  }
  CapMask flags = granted_needed | d.fix;
  if (d.fix)
    out += "\nFix: " + cap_flags_line(flags) + "\n  (adds " + list(d.fix) +
           " to what the workload already used)\n";
  else
    out += "\nNo capability failure to fix; the flags for what it used: " +
           cap_flags_line(flags) + "\n";
  return out;
}

} // namespace capscope
