// sysnr_x86.cpp - bpf/cs_sysnr.h's numbers as the BPF side compiled for
// x86_64 sees them, for test_syscalls.cpp to check against the generated table.
#include <string_view>
#include <utility>
#include <vector>

#define __TARGET_ARCH_x86
#include "cs_sysnr.h"

namespace capscope_test {

std::vector<std::pair<std::string_view, long>> bpf_sysnr_x86() {
#define CS_SYSNR_ENTRY(n) {#n, CS_NR_##n},
  return {CS_SYSNR_LIST(CS_SYSNR_ENTRY)};
#undef CS_SYSNR_ENTRY
}

} // namespace capscope_test
