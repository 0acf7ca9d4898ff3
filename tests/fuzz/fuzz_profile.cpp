// fuzz_profile.cpp - the profile JSON loader (capscope advise/merge/diff read
// profiles written by anyone). Invariant: a profile that loads, saved and
// loaded again, saves to the same JSON.
#include "fuzz.h"

#include <nlohmann/json.hpp>

#include "core/format.h"
#include "core/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded())
    return 0;
  auto p = capscope::profile_from_json(j);
  if (!p)
    return 0;
  nlohmann::json once = capscope::to_json(p.value());
  auto again = capscope::profile_from_json(once);
  FUZZ_CHECK(static_cast<bool>(again));
  FUZZ_CHECK(capscope::to_json(again.value()) == once);
  // Every renderer must cope with whatever loaded.
  (void)capscope::advise(p.value());
  (void)capscope::held_unused(p.value());
  return 0;
}
