// syscalls.cpp - syscall number <-> name lookup from the generated table.
#include "core/syscalls.h"

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#ifndef CAPSCOPE_SYSCALL_ARCH
#error "CAPSCOPE_SYSCALL_ARCH must be defined by syscall_table.cmake"
#endif

namespace capscope {
namespace {

struct SyscallEntry {
  unsigned nr;
  const char *name;
};

// Generated at configure time from the system's asm/unistd_*.h.
constexpr SyscallEntry kSyscalls[] = {
#include "syscall_table.inc"
};

constexpr unsigned kNoSyscall = 0xffffffffu;

// Names indexed by number (empty string_view for holes in the table).
const std::vector<std::string_view> &by_number() {
  static const std::vector<std::string_view> table = [] {
    std::vector<std::string_view> t;
    for (const SyscallEntry &e : kSyscalls) {
      if (e.nr >= t.size())
        t.resize(static_cast<std::size_t>(e.nr) + 1);
      t[e.nr] = e.name;
    }
    return t;
  }();
  return table;
}

const std::unordered_map<std::string_view, unsigned> &by_name() {
  static const std::unordered_map<std::string_view, unsigned> table = [] {
    std::unordered_map<std::string_view, unsigned> t;
    for (const SyscallEntry &e : kSyscalls)
      t.emplace(e.name, e.nr);
    return t;
  }();
  return table;
}

} // namespace

std::string_view syscall_arch() { return CAPSCOPE_SYSCALL_ARCH; }

std::string syscall_name(unsigned nr) {
  if (nr == kNoSyscall)
    return "none";
  const auto &table = by_number();
  if (nr < table.size() && !table[nr].empty())
    return std::string(table[nr]);
  return "syscall_" + std::to_string(nr);
}

std::optional<unsigned> syscall_number(std::string_view name) {
  const auto &table = by_name();
  if (auto it = table.find(name); it != table.end())
    return it->second;
  return std::nullopt;
}

} // namespace capscope
