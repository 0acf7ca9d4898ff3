// fuzz_top_answer.cpp - what `capscope top` makes of a daemon's answer
// (core/top_view): any bytes, parsed as JSON when they are, become rows,
// get rates against a fixed earlier sample, are sorted by every key and
// rendered. Also a systemd unit's cgroup found in the bytes as
// /proc/PID/cgroup text (core/systemd_unit). Invariants: no throw; every
// table line fits the width; a unit cgroup found ends with the unit and
// appears in the input.
#include "fuzz.h"

#include <nlohmann/json.hpp>

#include "core/systemd_unit.h"
#include "core/top_view.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  using namespace capscope;
  std::string_view text = fuzz::as_text(data, size);
  if (auto path = unit_cgroup_in(text, "web.service")) {
    FUZZ_CHECK(path->ends_with("/web.service"));
    FUZZ_CHECK(text.find(*path) != std::string_view::npos);
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    return 0;
  static const TopSample before = top_sample(
      nlohmann::json{{"ok", true},
                     {"sampled_mono_ns", 1},
                     {"profiles",
                      {{{"key", "a"}, {"checks", 5}, {"running", true}},
                       {{"key", "b"}, {"checks", 1u << 31}}}}},
      0);
  TopSample now = top_sample(j, 1'000'000'000);
  top_rates(now, before);
  for (TopSort s : {TopSort::Rate, TopSort::Caps, TopSort::Denied,
                    TopSort::Unused, TopSort::Name}) {
    std::vector<TopRow> rows = top_visible(now.rows, {{"a", true}}, true);
    top_sort(rows, s);
    TopTableOptions o;
    o.width = 40;
    o.selected = 0;
    std::string table = top_table(rows, o);
    for (std::size_t pos = 0, nl;
         (nl = table.find('\n', pos)) != std::string::npos; pos = nl + 1)
      FUZZ_CHECK(nl - pos <= 40);
  }
  return 0;
}
