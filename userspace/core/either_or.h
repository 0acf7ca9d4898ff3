// either_or.h - kernel call sites that accept either of two capabilities,
// kept as data, and the advice they lead to.
//
// Some kernel paths take a broad capability or a narrower one split off it
// (`!capable(CAP_SYS_ADMIN) && !capable(CAP_SYS_NICE)`). Two shapes:
//  - broader first: the kernel asks for the broad capability first, so a
//    run with every capability only ever shows the broad one granted there
//    (ioprio_check_cap: SYS_ADMIN, then SYS_NICE). Seeing it granted at
//    such a site means the narrower one would do.
//  - narrower first: the kernel asks for the narrow one first and falls
//    back to the broad one (bpf: BPF, then SYS_ADMIN). A run without the
//    narrow capability shows it denied and the broad one granted at the
//    same call site; the narrow one would do, and its denial was survived.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/caps.h"
#include "core/profile.h"

namespace capscope {

struct EitherOrSite {
  std::string_view call_site; // as capscope reports it (first non-wrapper)
  int broader;                // e.g. SYS_ADMIN
  int narrower;               // the capability the kernel also accepts
  bool broader_first;         // the kernel asks for `broader` first
  // The site also asks for the broad one on its own (a write after a
  // read-only DAC check, another socket option): only counts can tell a
  // fallback from such a use.
  bool broader_alone;
  std::string_view action;  // what the workload did there
  std::string_view source;  // where in the kernel source
  std::string_view kernels; // where it was read or measured
};

// Every known either/or call site.
const std::vector<EitherOrSite> &either_or_sites();

// The entries for one call site and broader capability (possibly several
// narrower alternatives, e.g. bpf_prog_load: BPF, PERFMON, NET_ADMIN).
std::vector<const EitherOrSite *> either_or_at(std::string_view call_site,
                                               int broader);

// One capability of the advice replaced by narrower ones.
struct Narrowing {
  int broader = -1;
  CapMask narrower = 0;
  std::vector<std::string> sites; // the call sites that allowed it
  bool broader_first = false;     // how the kernel asks (for the report)
};

// The advice from the checks, refined by the either/or data:
//  - a broad capability whose every Needed call site is an either/or site
//    for it is replaced by the narrower capabilities those sites accept
//    (for narrower-first sites only when the narrower one was seen denied
//    there, and the broad one was asked no more often than that);
//  - a narrower capability denied only at either/or sites where its broad
//    partner was granted is not a denial the workload suffered ("recovered").
struct FinalAdvice {
  CapMask add = 0;
  CapMask denied = 0;    // denied and not recovered: advice is a lower bound
  CapMask recovered = 0; // denied, but the broad partner was granted
  // Seen needed, but every use was at either/or sites where a broader
  // capability, advised for other reasons, is accepted too (DAC_READ_SEARCH
  // at generic_permission beside DAC_OVERRIDE): left out of `add`.
  CapMask covered = 0;
  std::vector<Narrowing> narrowed;
};

// Applies the refinement to `base` (normally advise(p)). Idempotent, so it
// is safe to apply to an advice that was already refined.
FinalAdvice refine_advice(const Profile &p, const Advice &base);
// refine_advice(p, advise(p)).
FinalAdvice final_advice(const Profile &p);

} // namespace capscope
