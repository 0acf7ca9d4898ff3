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

// Call sites whose presence in a check's stack makes it noise.
const std::vector<NoiseSite> &noise_sites();

// Capabilities whose class can be in doubt: only for these does the BPF
// side take a kernel stack on every check (tracepoint mode).
CapMask doubt_caps();

// Class of a stack of function names, innermost first: the first frame
// that is a noise site decides; otherwise Needed. `depth` limits how many
// frames are examined, as the BPF side does.
CheckClass class_of_frames(const std::vector<std::string> &frames,
                           std::size_t depth = CS_CLASSIFY_DEPTH);

} // namespace capscope
