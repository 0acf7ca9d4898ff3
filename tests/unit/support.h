// support.h - helpers shared by the unit tests: text searches, the recorded
// streams in tests/unit/data, profile builders and a scratch directory.
// Capabilities are core/caps.h's names (kChown, cap_bit(kChown)); no test
// declares its own numbers.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/aggregate.h"
#include "core/caps.h"
#include "core/noise.h"
#include "core/profile.h"
#include "core/replay.h"

namespace capscope::test {

// `what` occurs in `s`.
inline bool contains(const std::string &s, const std::string &what) {
  return s.find(what) != std::string::npos;
}

// How often `what` occurs in `s` (not overlapping).
inline std::size_t count_of(const std::string &s, const std::string &what) {
  std::size_t n = 0;
  for (auto pos = s.find(what); pos != std::string::npos;
       pos = s.find(what, pos + what.size()))
    ++n;
  return n;
}

// tests/unit/data/NAME.
inline std::string data_path(const std::string &name) {
  return std::string(CAPSCOPE_TEST_DATA) + "/" + name;
}

// Replays the recorded stream tests/unit/data/NAME into an aggregator
// (wall_offset_ns as Aggregator's); *lines gets the events replayed.
inline Aggregator replay_data(const std::string &name,
                              std::int64_t wall_offset_ns = 0,
                              std::size_t *lines = nullptr) {
  std::ifstream in(data_path(name));
  REQUIRE(in.good());
  Aggregator agg(wall_offset_ns);
  auto n = replay_stream(in, agg);
  INFO(name << ": " << (n ? "" : n.error().message));
  REQUIRE(n.ok());
  if (lines)
    *lines = n.value();
  return agg;
}

// Adds counts and names to the (cap, cls) entry of `p`; returns it.
inline CheckStats &add_check(Profile &p, int cap, CheckClass cls,
                             std::uint64_t granted, std::uint64_t denied,
                             const std::set<std::string> &syscalls = {},
                             const std::set<std::string> &sites = {},
                             const std::set<std::string> &exes = {}) {
  CheckStats &s = p.entry(cap, cls);
  s.granted += granted;
  s.denied += denied;
  s.syscalls.insert(syscalls.begin(), syscalls.end());
  s.call_sites.insert(sites.begin(), sites.end());
  s.executables.insert(exes.begin(), exes.end());
  return s;
}

// A profile whose advice is exactly `caps`: one Needed entry each, granted
// `granted` times, in `syscall` at `site` when given.
inline Profile profile_needing(CapMask caps, std::uint64_t granted = 1,
                               const std::string &syscall = "",
                               const std::string &site = "") {
  Profile p;
  for (int cap : caps_in(caps))
    add_check(p, cap, CheckClass::Needed, granted, 0,
              syscall.empty() ? std::set<std::string>{}
                              : std::set<std::string>{syscall},
              site.empty() ? std::set<std::string>{}
                           : std::set<std::string>{site});
  return p;
}

// A fresh directory, removed with everything in it at scope exit.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const char *prefix = "capscope_unit") {
    std::string tmpl = std::string("/tmp/") + prefix + "_XXXXXX";
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  // The names in it, sorted.
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto &e : std::filesystem::directory_iterator(path))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

} // namespace capscope::test
