// syscalls.h - syscall numbers to names and back for the architecture
// capscope was built for. Profiles store names (with the architecture), not
// numbers, so they move between machines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace capscope {

// "x86_64", "aarch64", ... : the architecture this build's table is for.
std::string_view syscall_arch();

// "chown" for a known number; "syscall_N" for an unknown one; "none" for
// a check made outside any syscall (nr == 0xffffffff).
std::string syscall_name(unsigned nr);

std::optional<unsigned> syscall_number(std::string_view name);

} // namespace capscope
