// syscalls.cpp - syscall number <-> name lookup from the generated
// per-architecture tables.
#include "core/syscalls.h"

#include <cstddef>
#include <span>
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

// Generated at configure time from the kernel's UAPI headers; a table is
// empty when its architecture's headers were not installed.
constexpr SyscallEntry kX86_64[] = {
#include "syscall_table_x86_64.inc"
    {0xffffffffu, nullptr}, // keeps the array non-empty; skipped
};
constexpr SyscallEntry kAarch64[] = {
#include "syscall_table_aarch64.inc"
    {0xffffffffu, nullptr},
};

constexpr unsigned kNoSyscall = 0xffffffffu;
// foreign_syscall(): kForeign | arch index << 16 | that arch's number.
// No kernel numbers a syscall this high (x32's bit is 0x40000000).
constexpr unsigned kForeign = 0x7e000000u;
constexpr unsigned kForeignTag = 0xff000000u;
constexpr unsigned kForeignArchShift = 16;
constexpr unsigned kForeignNrMask = 0xffffu;

struct Table {
  std::string_view arch;
  std::vector<std::string_view> by_number; // empty view for holes
  std::unordered_map<std::string_view, unsigned> by_name;
};

Table make_table(std::string_view arch, std::span<const SyscallEntry> src) {
  Table t;
  t.arch = arch;
  for (const SyscallEntry &e : src) {
    if (!e.name)
      continue;
    if (e.nr >= t.by_number.size())
      t.by_number.resize(static_cast<std::size_t>(e.nr) + 1);
    t.by_number[e.nr] = e.name;
    t.by_name.emplace(e.name, e.nr);
  }
  return t;
}

// All tables with entries, the target's first.
const std::vector<Table> &tables() {
  static const std::vector<Table> all = [] {
    std::vector<Table> v;
    Table x = make_table("x86_64", kX86_64);
    Table a = make_table("aarch64", kAarch64);
    for (Table *t : {&x, &a})
      if (t->arch == CAPSCOPE_SYSCALL_ARCH)
        v.push_back(std::move(*t));
    for (Table *t : {&x, &a})
      if (!t->by_name.empty() && t->arch != CAPSCOPE_SYSCALL_ARCH)
        v.push_back(std::move(*t));
    return v;
  }();
  return all;
}

const Table *table_for(std::string_view arch) {
  for (const Table &t : tables())
    if (t.arch == arch)
      return &t;
  return nullptr;
}

std::string name_in(const Table *t, unsigned nr) {
  if (t && nr < t->by_number.size() && !t->by_number[nr].empty())
    return std::string(t->by_number[nr]);
  return "syscall_" + std::to_string(nr);
}

} // namespace

std::string_view syscall_arch() { return CAPSCOPE_SYSCALL_ARCH; }

std::vector<std::string_view> syscall_arches() {
  std::vector<std::string_view> v;
  for (const Table &t : tables())
    v.push_back(t.arch);
  return v;
}

std::string syscall_name(unsigned nr) {
  if (nr == kNoSyscall)
    return "none";
  if ((nr & kForeignTag) == kForeign) {
    std::size_t i = (nr >> kForeignArchShift) & 0xffu;
    if (i > 0 && i < tables().size())
      return name_in(&tables()[i], nr & kForeignNrMask);
  }
  return name_in(&tables().front(), nr);
}

std::optional<unsigned> syscall_number(std::string_view name) {
  return syscall_number(syscall_arch(), name);
}

std::string syscall_name(std::string_view arch, unsigned nr) {
  if (nr == kNoSyscall)
    return "none";
  return name_in(table_for(arch), nr);
}

std::optional<unsigned> syscall_number(std::string_view arch,
                                       std::string_view name) {
  const Table *t = table_for(arch);
  if (!t)
    return std::nullopt;
  if (auto it = t->by_name.find(name); it != t->by_name.end())
    return it->second;
  return std::nullopt;
}

std::optional<unsigned> foreign_syscall(std::string_view arch,
                                        std::string_view name) {
  if (auto nr = syscall_number(name))
    return nr;
  const auto &all = tables();
  auto encode = [&](std::size_t i) -> std::optional<unsigned> {
    auto it = all[i].by_name.find(name);
    if (it == all[i].by_name.end() || it->second > kForeignNrMask)
      return std::nullopt;
    return kForeign | static_cast<unsigned>(i) << kForeignArchShift |
           it->second;
  };
  for (std::size_t i = 1; i < all.size(); ++i)
    if (all[i].arch == arch)
      if (auto nr = encode(i))
        return nr;
  for (std::size_t i = 1; i < all.size(); ++i)
    if (auto nr = encode(i))
      return nr;
  return std::nullopt;
}

} // namespace capscope
