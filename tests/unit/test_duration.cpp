// test_duration.cpp - unit tests for --duration values.
#include <catch2/catch.hpp>

#include "core/duration.h"

using namespace capscope;

TEST_CASE("durations with a unit convert to milliseconds", "[duration]") {
  CHECK(parse_duration_ms("30s") == 30000);
  CHECK(parse_duration_ms("5m") == 300000);
  CHECK(parse_duration_ms("1h") == 3600000);
  CHECK(parse_duration_ms("250ms") == 250);
  CHECK(parse_duration_ms("1.5s") == 1500);
  CHECK(parse_duration_ms("90m") == 5400000);
  CHECK(parse_duration_ms("24h") == 86400000);
}

TEST_CASE("a bare number is seconds", "[duration]") {
  CHECK(parse_duration_ms("2") == 2000);
  CHECK(parse_duration_ms("1") == 1000);
  CHECK(parse_duration_ms("0.25") == 250);
}

TEST_CASE("malformed, negative and zero durations are rejected", "[duration]") {
  for (const char *bad :
       {"", "abc", "5x", "-1s", "0", "0s", "0ms", "s", "ms", "5 s", " 5s",
        "5s ", "5sec", "1.2.3s", ".", "+5s", "1e3s"}) {
    INFO('"' << bad << '"');
    CHECK_FALSE(parse_duration_ms(bad).has_value());
  }
}

TEST_CASE("a duration under a millisecond is rejected, not zero",
          "[duration]") {
  CHECK_FALSE(parse_duration_ms("0.5ms").has_value());
  CHECK_FALSE(parse_duration_ms("0.0001").has_value());
}
