// syscalls.h - syscall numbers to names and back, per architecture. Every
// table is generated from the kernel's UAPI headers (syscall_table.cmake);
// the build target's is the default. Profiles and --events streams store
// names (with the architecture), not numbers, so they move between machines.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace capscope {

// "x86_64" or "aarch64": the architecture this build traces (its table is
// the default below).
std::string_view syscall_arch();

// The architectures whose tables this build holds (the target's first; the
// other one when its headers were installed at build time).
std::vector<std::string_view> syscall_arches();

// "chown" for a known number; "syscall_N" for an unknown one; "none" for
// a check made outside any syscall (nr == 0xffffffff). A number from
// foreign_syscall() is named from its own architecture's table.
std::string syscall_name(unsigned nr);
std::optional<unsigned> syscall_number(std::string_view name);

// The same in ARCH's table ("syscall_N" / nullopt for an architecture this
// build has no table for).
std::string syscall_name(std::string_view arch, unsigned nr);
std::optional<unsigned> syscall_number(std::string_view arch,
                                       std::string_view name);

// A key for a syscall of another architecture that the target does not
// have (arm64 has no open(2)): replay keeps its name. nullopt when no
// table of this build knows NAME. The target's own syscalls keep their
// numbers; ARCH ("" for any) says which table to try first.
std::optional<unsigned> foreign_syscall(std::string_view arch,
                                        std::string_view name);

} // namespace capscope
