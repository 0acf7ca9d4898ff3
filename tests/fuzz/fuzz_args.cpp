// fuzz_args.cpp - the small parsers of command-line values: capability
// names and lists, hex masks (capscope decode), durations (--duration) and
// --user specs. Invariants: a parsed list prints back to the same mask; a
// parsed duration is not negative.
#include "fuzz.h"

#include "core/caps.h"
#include "core/duration.h"
#include "session/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::string_view text = capscope::fuzz::as_text(data, size);
  if (auto c = capscope::parse_cap(text))
    FUZZ_CHECK(capscope::parse_cap(capscope::cap_name(*c)) == c);
  std::string error;
  if (auto m = capscope::parse_cap_list(text, &error)) {
    std::string back;
    for (const auto &n : capscope::cap_names(*m))
      back += (back.empty() ? "" : ",") + n;
    std::string error2;
    FUZZ_CHECK(capscope::parse_cap_list(back, &error2) == m);
  } else {
    FUZZ_CHECK(!error.empty() && error.find('\n') == std::string::npos);
  }
  (void)capscope::parse_hex_mask(text);
  if (auto d = capscope::parse_duration_ms(text))
    FUZZ_CHECK(*d >= 0);
  // --user NAME|UID[:GROUP|GID]: names are looked up in /etc/passwd.
  if (size < 256)
    (void)capscope::parse_identity(std::string(text));
  return 0;
}
