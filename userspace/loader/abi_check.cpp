// abi_check.cpp - compiles the ABI header shared with the BPF side in C++:
// its layout asserts (CS_ABI_ASSERT, end of bpf/capscope.h) are checked here
// by g++ and in the BPF object by clang, so a change on one side without the
// other fails the build.
#include <cstddef>

#include "capscope.h"

static_assert(CS_ABI_VERSION == 7, "update the layout asserts in capscope.h");
