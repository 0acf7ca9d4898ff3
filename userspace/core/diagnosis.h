// diagnosis.h - `capscope diagnose`: which denied capability made which
// syscall fail. The kernel side reports, per traced syscall that failed with
// EPERM/EACCES or had a capability denied in it, the syscall, its return
// value and the capabilities denied and granted inside it; this turns those
// into explanations and the flags that fix the failures.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/caps.h"

namespace capscope {

struct SyscallOutcome {
  unsigned nr = 0;
  int ret = 0; // the syscall's return value (-errno on failure)
  CapMask denied = 0;
  CapMask granted = 0;
  bool no_enter = false; // it exited without entering: seccomp said no
  int seccomp_mode = -1; // the task's Seccomp: field, -1 unknown
  std::string exe;
};

enum class SyscallVerdict {
  CapFailure,    // failed, and a capability was denied inside it
  Survived,      // a capability was denied, yet the syscall succeeded
  NotCapability, // failed with EPERM/EACCES, no capability denied
};

struct DiagnosisRow {
  SyscallVerdict verdict;
  std::string syscall;
  int err = 0; // errno (positive) when it failed
  CapMask denied = 0;
  CapMask granted = 0;
  CapMask fix = 0;   // capabilities that would have made it succeed
  std::string cause; // NotCapability: likelier cause
  std::set<std::string> executables;
  std::uint64_t count = 0;
};

struct Diagnosis {
  std::vector<DiagnosisRow> rows; // failures first
  CapMask fix = 0;                // union of the rows' fixes
};

// The narrowest capability set that would have let a failed syscall pass:
// when the kernel asked DAC_READ_SEARCH it was a read or search, which
// DAC_READ_SEARCH alone allows; otherwise every denied capability.
CapMask fix_for(CapMask denied);

Diagnosis diagnose(const std::vector<SyscallOutcome> &outcomes);

// The human explanation; `granted_needed` are the capabilities the
// workload used successfully (kept in the final flags).
std::string render_diagnosis(const Diagnosis &d, CapMask granted_needed);

} // namespace capscope
