// top_view.h - the model and text of `capscope top`: rows from the
// daemon's `list` answers, checks per second from two successive answers,
// sorting, which rows a live view shows, and the table as plain text (the
// CLI adds the terminal: keys, refreshing in place, highlighting).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace capscope {

struct TopRow {
  std::string key;  // what `show` takes (the container id, else the key)
  std::string name; // the container's name ("" when the runtime gave none)
  std::string id;   // container id, or the namespace's key
  std::string kind; // container | namespace
  std::vector<std::string> caps_used;   // the advice: needed so far
  std::vector<std::string> held_unused; // effective, never needed
  bool held_known = false;
  bool privileged = false;
  bool running = false;
  std::optional<std::uint64_t> checks; // all classes; none: older daemon
  std::optional<std::uint64_t> denied; // Needed class
  std::optional<double> rate;          // checks/s; none before two samples
};

struct TopSample {
  std::int64_t mono_ns = 0; // when the daemon flushed (else when asked)
  bool daemon_time = false; // mono_ns is the daemon's flush time
  std::vector<TopRow> rows;
};

// Rows from a `{"op":"list"}` answer. asked_mono_ns: the client's
// CLOCK_MONOTONIC when it asked, used when the daemon gives no flush time.
// Malformed entries are skipped (a daemon's answer, not the user's input).
TopSample top_sample(const nlohmann::json &list_reply,
                     std::int64_t asked_mono_ns);

// Fills each row's rate from the previous sample: the checks made between
// the two flushes over the time between them. No rate for a row that is
// new, lacks counts, or went backwards (a daemon that lost its state);
// when the daemon has not flushed since `prev`, the previous rates stand.
void top_rates(TopSample &now, const TopSample &prev);

enum class TopSort { Rate, Caps, Denied, Unused, Name };
// The key that selects a sort ('r', 'c', 'd', 'u', 'n'); nullopt otherwise.
std::optional<TopSort> top_sort_for_key(char key);
std::optional<TopSort> parse_top_sort(std::string_view name);
std::string_view top_sort_name(TopSort s); // "rate", "caps", ...
// Descending for the numbers (unknown last), ascending for the name;
// ties by name, then id, so a refresh does not reorder equal rows.
void top_sort(std::vector<TopRow> &rows, TopSort s);

// Which rows a view shows: running containers, and containers whose count
// changed while watching (`active`, keys, kept by the caller) so that a
// container shorter than the interval still appears; with `all`, every
// profile the daemon holds, namespaces that are no container included.
std::vector<TopRow> top_visible(const std::vector<TopRow> &rows,
                                const std::map<std::string, bool> &active,
                                bool all);

struct TopTableOptions {
  int width = 120;   // the terminal's columns (lines are cut to it)
  int selected = -1; // index of the highlighted row, -1 none
  bool ansi = false; // reverse video on the selected row, bold header
};
// The header line and one line per row, each ending in '\n'.
std::string top_table(const std::vector<TopRow> &rows,
                      const TopTableOptions &o);

} // namespace capscope
