// fuzz_kallsyms.cpp - the /proc/kallsyms and /proc/modules parsers. The
// input is split at the first NUL byte: kallsyms text, then modules text.
// Invariant: an address resolves to a symbol at or below it.
#include "fuzz.h"

#include <cstring>

#include "core/kallsyms.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::string_view all = capscope::fuzz::as_text(data, size);
  std::string_view syms = all, modules;
  if (auto nul = all.find('\0'); nul != std::string_view::npos) {
    syms = all.substr(0, nul);
    modules = all.substr(nul + 1);
  }
  capscope::Kallsyms k = capscope::Kallsyms::parse(syms);
  k.set_modules(modules);
  // Probe addresses taken from the input itself, and the edges.
  for (std::uint64_t addr : {std::uint64_t{0}, ~std::uint64_t{0},
                             std::uint64_t{0xffffffff81000000}}) {
    std::uint64_t off = 0;
    std::string_view fn = k.resolve(addr, &off);
    if (!fn.empty()) {
      FUZZ_CHECK(off <= addr);
      std::uint64_t start = 0, end = 0;
      if (k.range(fn, &start, &end))
        FUZZ_CHECK(start <= end);
    }
  }
  std::vector<std::string> frames;
  std::size_t pos = 0;
  while (pos < syms.size() && frames.size() < 64) {
    std::size_t nl = syms.find('\n', pos);
    if (nl == std::string_view::npos)
      nl = syms.size();
    frames.emplace_back(syms.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::string site = capscope::call_site_of(frames);
  FUZZ_CHECK(site.empty() || !capscope::is_wrapper_frame(site));
  return 0;
}
