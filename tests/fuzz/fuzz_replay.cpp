// fuzz_replay.cpp - the `--events` stream reader (JSON lines of checks) and
// the aggregation it feeds. Invariant: the reader either accepts a stream
// or names the line it rejected; aggregation never throws.
#include "fuzz.h"

#include <sstream>

#include "core/aggregate.h"
#include "core/profile.h"
#include "core/replay.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::istringstream in{std::string(capscope::fuzz::as_text(data, size))};
  capscope::Aggregator agg;
  auto n = capscope::replay_stream(in, agg);
  if (!n) {
    FUZZ_CHECK(n.error().message.find("line") != std::string::npos);
    return 0;
  }
  capscope::Profile p;
  for (std::uint64_t s : agg.scopes())
    agg.fill(p, s);
  (void)capscope::advise(p);
  (void)capscope::to_json(p);
  return 0;
}
