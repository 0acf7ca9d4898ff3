// test_top_view.cpp - `capscope top`'s model: rows from the daemon's list
// answers, rates between samples, sorting, which rows show, the table.
#include <catch2/catch.hpp>

#include <string>

#include "core/top_view.h"

using namespace capscope;

namespace {

nlohmann::json entry(const std::string &key, const std::string &name,
                     std::uint64_t checks, std::uint64_t denied,
                     nlohmann::json caps, bool running = true) {
  return {{"key", key},
          {"id", key},
          {"name", name},
          {"kind", "container"},
          {"caps_used", caps},
          {"held_unused", nlohmann::json::array({"NET_RAW", "MKNOD"})},
          {"held_known", true},
          {"privileged", false},
          {"running", running},
          {"checks", checks},
          {"denied", denied}};
}

nlohmann::json answer(std::int64_t at, nlohmann::json profiles) {
  return {{"ok", true}, {"profiles", profiles}, {"sampled_mono_ns", at}};
}

const TopRow *row(const TopSample &s, const std::string &key) {
  for (const auto &r : s.rows)
    if (r.key == key)
      return &r;
  return nullptr;
}

} // namespace

TEST_CASE("top: checks per second come from two flushes' totals over the "
          "daemon's time between them",
          "[top]") {
  TopSample a = top_sample(
      answer(1'000'000'000, {entry("aaa", "web", 100, 0, {"CHOWN"})}), 5);
  CHECK(a.daemon_time);
  CHECK(a.mono_ns == 1'000'000'000);
  REQUIRE(row(a, "aaa"));
  CHECK_FALSE(row(a, "aaa")->rate); // one sample: no rate yet
  // 2.5 s later (by the daemon's clock, not the client's) 350 more.
  TopSample b =
      top_sample(answer(3'500'000'000, {entry("aaa", "web", 450, 2, {"CHOWN"}),
                                        entry("bbb", "db", 9, 0, {})}),
                 999);
  top_rates(b, a);
  REQUIRE(row(b, "aaa")->rate);
  CHECK(*row(b, "aaa")->rate == Approx(140.0));
  CHECK_FALSE(row(b, "bbb")->rate); // new: nothing to compare with
  // The daemon did not flush again: the rate shown stays.
  TopSample c = top_sample(
      answer(3'500'000'000, {entry("aaa", "web", 450, 2, {"CHOWN"})}), 0);
  top_rates(c, b);
  REQUIRE(row(c, "aaa")->rate);
  CHECK(*row(c, "aaa")->rate == Approx(140.0));
  // Counts that went backwards (a daemon that lost its state): no rate.
  TopSample d = top_sample(
      answer(4'500'000'000, {entry("aaa", "web", 10, 0, {"CHOWN"})}), 0);
  top_rates(d, c);
  CHECK_FALSE(row(d, "aaa")->rate);
}

TEST_CASE("top: an older daemon without totals or flush time is shown with "
          "'?' and the client's clock",
          "[top]") {
  nlohmann::json old = {{"ok", true},
                        {"profiles",
                         {{{"key", "ccc"},
                           {"id", "ccc"},
                           {"kind", "container"},
                           {"caps_used", {"SYS_ADMIN"}},
                           {"held_known", false},
                           {"running", true}}}}};
  TopSample s = top_sample(old, 42);
  CHECK_FALSE(s.daemon_time);
  CHECK(s.mono_ns == 42);
  REQUIRE(s.rows.size() == 1);
  CHECK_FALSE(s.rows[0].checks);
  std::string t = top_table(s.rows, {});
  INFO(t);
  // NAME (the short id, no name) ID CHECKS/S DENIED UNUSED CAPS
  CHECK(t.find("ccc                      ccc                  ?       ?"
               "        ?  SYS_ADMIN\n") != std::string::npos);
  // Garbage in an answer is skipped, never thrown.
  CHECK(top_sample(nlohmann::json::array(), 1).rows.empty());
  CHECK(top_sample({{"profiles", {1, "x", {{"key", 5}}}}}, 1).rows.empty());
}

TEST_CASE("top: sorting by each key, unknown values last, ties by name",
          "[top]") {
  TopSample a =
      top_sample(answer(1'000'000'000, {entry("k1", "zeta", 0, 5, {"CHOWN"}),
                                        entry("k2", "alpha", 0, 0, {"A", "B"}),
                                        entry("k3", "mid", 0, 1, {})}),
                 0);
  TopSample b =
      top_sample(answer(2'000'000'000, {entry("k1", "zeta", 10, 5, {"CHOWN"}),
                                        entry("k2", "alpha", 30, 0, {"A", "B"}),
                                        entry("k3", "mid", 0, 1, {})}),
                 0);
  top_rates(b, a);
  auto order = [&](TopSort s) {
    std::vector<TopRow> rows = b.rows;
    top_sort(rows, s);
    std::string out;
    for (const auto &r : rows)
      out += r.name + " ";
    return out;
  };
  CHECK(order(TopSort::Rate) == "alpha zeta mid ");
  CHECK(order(TopSort::Denied) == "zeta mid alpha ");
  CHECK(order(TopSort::Caps) == "alpha zeta mid ");
  CHECK(order(TopSort::Name) == "alpha mid zeta ");
  CHECK(order(TopSort::Unused) == "alpha mid zeta "); // all 2: by name
  CHECK(top_sort_for_key('d') == TopSort::Denied);
  CHECK_FALSE(top_sort_for_key('x'));
  CHECK(parse_top_sort("unused") == TopSort::Unused);
  CHECK_FALSE(parse_top_sort("RATE"));
}

TEST_CASE("top: running containers and those active while watching show; "
          "--all shows every profile",
          "[top]") {
  TopSample s = top_sample(answer(1, {entry("run", "web", 1, 0, {}),
                                      entry("old", "gone", 1, 0, {}, false),
                                      entry("brief", "blip", 1, 0, {}, false)}),
                           0);
  nlohmann::json ns = entry("ns-x", "x", 1, 0, {});
  ns["kind"] = "namespace";
  s.rows.push_back(top_sample(answer(1, {ns}), 0).rows[0]);
  auto names = [](const std::vector<TopRow> &rows) {
    std::string out;
    for (const auto &r : rows)
      out += r.name + " ";
    return out;
  };
  CHECK(names(top_visible(s.rows, {}, false)) == "web ");
  CHECK(names(top_visible(s.rows, {{"brief", true}}, false)) == "web blip ");
  CHECK(names(top_visible(s.rows, {}, true)) == "web gone blip x ");
}

TEST_CASE("top: the table fits the width and highlights the selected row "
          "only with ANSI",
          "[top]") {
  nlohmann::json priv = entry("p1", "a-very-long-container-name-indeed", 5, 0,
                              {"CHOWN", "NET_ADMIN", "SYS_ADMIN"});
  priv["privileged"] = true;
  TopSample s = top_sample(answer(1, {priv}), 0);
  TopTableOptions o;
  o.width = 66;
  std::string plain = top_table(s.rows, o);
  INFO(plain);
  CHECK(plain.find('\033') == std::string::npos);
  CHECK(plain.find("a-very-long-container-n~ p1") != std::string::npos);
  CHECK(plain.find("2 PRIV") != std::string::npos);
  for (std::size_t pos = 0, nl;
       (nl = plain.find('\n', pos)) != std::string::npos; pos = nl + 1)
    CHECK(nl - pos <= 66);
  o.ansi = true;
  o.selected = 0;
  std::string ansi = top_table(s.rows, o);
  CHECK(ansi.find("\033[7ma-very-long") != std::string::npos);
}
