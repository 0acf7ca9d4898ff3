// explain.h - why the advice is what it is: per capability, what needed it;
// and the warnings a reader must see (SYS_ADMIN, root only for a low port,
// --privileged, non-root workloads, foreign user namespaces). The hints
// are data (explain.cpp), the rendering is in format.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/either_or.h"
#include "core/profile.h"

namespace capscope {

// The identity a workload ran as, from Workload::user ("" = root).
struct RunAs {
  bool root = true;
  std::string user;                 // as given, "" for root
  std::string user_part;            // before ':'
  std::string group_part;           // after ':', "" when not given
  std::optional<std::uint32_t> uid; // when numeric
  std::optional<std::uint32_t> gid; // when numeric
};
RunAs run_as(const Workload &w);

// What needed one capability of the advice. For a capability that
// replaced a broader one (either/or call site), the broader one's checks
// at those sites, and `instead_of` names it.
struct CapEvidence {
  int cap = -1;
  int instead_of = -1;
  bool broader_first = false;
  std::uint64_t granted = 0;
  std::uint64_t denied = 0; // refusals survived or suffered
  std::set<std::string> syscalls;
  std::set<std::string> call_sites;
  std::set<std::string> executables;
  std::int64_t first_ns = 0;
};
CapEvidence evidence_for(const Profile &p, const FinalAdvice &a, int cap);

// Warnings, each a paragraph: first line "WARNING: ...", then lines
// indented by two spaces. Empty when there is nothing to warn about.
std::vector<std::string> advice_warnings(const Profile &p,
                                         const FinalAdvice &a);

// A narrower approach for a call site of SYS_ADMIN, "" when none known.
std::string_view sys_admin_hint(std::string_view call_site);

// Whether the profile shows the workload never escalated privilege
// through exec (no setuid-style transition, no SETUID/SETGID/SYS_ADMIN
// need): then no_new_privs (allowPrivilegeEscalation: false,
// NoNewPrivileges=yes) cannot break it.
bool no_privilege_escalation_seen(const Profile &p, CapMask add);

} // namespace capscope
