// noise.h - the classes of capability checks and the call sites that make a
// check noise. The same table feeds the BPF side (as address ranges) and
// the classification of replayed events, so both agree by construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capscope.h"
#include "core/caps.h"

namespace capscope {

enum class CheckClass : std::uint8_t {
  Needed = CS_CLASS_NEEDED,
  Setup = CS_CLASS_SETUP,
  Overcommit = CS_CLASS_OVERCOMMIT,
  Exec = CS_CLASS_EXEC,
  Advisory = CS_CLASS_ADVISORY,
  Borrowed = CS_CLASS_BORROWED,
  // The kernel asks first and falls back to an unprivileged rule that
  // already allows this call (setuid to one's own id, a capset that does not
  // grow the inheritable set, a read-only open of a world-readable
  // /proc/sys/net file): decided per call in the kernel program.
  Moot = CS_CLASS_MOOT,
};

std::string_view class_name(CheckClass c); // "needed", "overcommit", ...
bool parse_class(std::string_view name, CheckClass *out);
// One line: why checks of this class never reach the advice.
std::string_view class_reason(CheckClass c);

struct NoiseSite {
  std::string_view function; // kernel function in the stack
  CheckClass cls;
  CapMask caps;            // capabilities checked there
  std::string_view reason; // why it is noise
};

// Call sites whose presence in a check's stack makes it noise, and (class
// Needed) call sites whose NOAUDIT check decides the operation, which
// keep a check needed although it goes through an advisory wrapper.
const std::vector<NoiseSite> &noise_sites();

// Capabilities whose class can be in doubt: only for these does the BPF
// side take a kernel stack on every check (tracepoint mode).
CapMask doubt_caps();

// Doubtful capabilities that only exec-time call sites list
// (cap_bprm_creds_from_file, CheckClass::Exec): a check of one of them
// made in any syscall but execve/execveat has no listed site on its stack
// (those functions run only inside exec), so the BPF side classifies it
// without a stack there (sampled against real stacks like its other
// stack-free answers).
CapMask exec_only_caps();

// The kernel's syscall dispatch functions (x86-64 and arm64; those absent
// from a kernel are skipped): no listed site lies above them in a stack, so
// the BPF side's call-site cache ends its walks there. They must: they
// move the stack below them by a random offset on every syscall when the
// kernel randomizes it (CONFIG_RANDOMIZE_KSTACK_OFFSET), so no frame above
// them sits at a fixed place.
const std::vector<std::string_view> &syscall_dispatch_functions();

// Class of a stack of function names, innermost first: the first frame
// that is a listed site decides, except that an advisory wrapper whose
// caller (the next frame) is a Needed site is needed (seccomp without
// no_new_privs); otherwise Needed. `depth` limits how many frames are
// examined, as the BPF side does.
CheckClass class_of_frames(const std::vector<std::string> &frames,
                           std::size_t depth = CS_CLASSIFY_DEPTH);

// The listed site that decides class_of_frames(frames, depth): a Needed
// site when an advisory wrapper's caller is one; nullptr when no listed
// site is in the stack (the check is then needed for want of any noise).
const NoiseSite *deciding_site(const std::vector<std::string> &frames,
                               std::size_t depth = CS_CLASSIFY_DEPTH);

// The class of a live check, from the class the kernel side gave it and
// the stack it reported. In fexit and kprobe modes the kernel side calls
// every CAP_OPT_NOAUDIT check advisory, and its stack walk can only make
// a check noise, never needed again; so a wrapper called from a Needed
// site (seccomp without no_new_privs) comes back advisory. It is needed,
// as the tracepoint (stack only) and replay say.
CheckClass live_class(CheckClass kernel,
                      const std::vector<std::string> &frames);

} // namespace capscope
