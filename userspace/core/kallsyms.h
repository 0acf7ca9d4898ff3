// kallsyms.h - kernel addresses to function names (from /proc/kallsyms),
// and the call site of a capability check: the first stack frame past the
// capability wrappers, which names what needed the capability.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capscope {

// 16 bytes a symbol, names in one arena: the daemon keeps ~120k of them.
struct Symbol {
  std::uint64_t addr;
  std::uint32_t name_off; // into Kallsyms::names_
  std::uint32_t name_len;
};

class Kallsyms {
public:
  // Parses text in /proc/kallsyms format. Only text symbols (t/T) are kept.
  static Kallsyms parse(std::string_view text);
  // Reads a kallsyms file and a modules file ("": none). The host's are
  // read by host_kallsyms() in session/trace_session.h.
  static Kallsyms load(const std::string &path,
                       const std::string &modules = {});
  // Where modules lie, from text in /proc/modules format ("name size refs
  // deps state 0xADDR"): an address past a module's end is not that
  // module's last function (BPF programs and trampolines live there too).
  void set_modules(std::string_view proc_modules);

  bool empty() const { return syms_.empty(); }
  // The function containing addr ("" if none) and the offset into it.
  std::string_view resolve(std::uint64_t addr, std::uint64_t *offset) const;
  // [start, end) of a function; false when unknown. End is the next symbol.
  bool range(std::string_view name, std::uint64_t *start,
             std::uint64_t *end) const;

private:
  std::string_view name_of(const Symbol &s) const {
    return std::string_view(names_).substr(s.name_off, s.name_len);
  }
  std::vector<Symbol> syms_; // sorted by addr
  std::string names_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> modules_; // [lo, hi)
  std::uint64_t image_end_ = 0; // vmlinux's _end, 0 if unknown
  bool module_syms_ = false;    // kallsyms lists module functions
};

// True for the capability wrappers and the BPF/tracing frames that sit
// between the tracepoint and the code that asked for the capability.
bool is_wrapper_frame(std::string_view fn);

// The call site of a stack of function names (innermost first): the first
// frame that is not a wrapper. "" when none.
std::string call_site_of(const std::vector<std::string> &frames);

} // namespace capscope
