// fuzz.h - shared bits of the libFuzzer targets in tests/fuzz/: the entry
// point's signature and an invariant check that aborts (so libFuzzer, or the
// replay driver in the unit tier, reports the input that broke it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size);

namespace capscope::fuzz {

inline std::string_view as_text(const std::uint8_t *data, std::size_t size) {
  return {reinterpret_cast<const char *>(data), size};
}

[[noreturn]] inline void broken(const char *what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond))                                                               \
      ::capscope::fuzz::broken(#cond);                                         \
  } while (0)

} // namespace capscope::fuzz
