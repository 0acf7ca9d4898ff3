// top_view.cpp - rows, rates, sorting and the table of `capscope top`.
#include "core/top_view.h"

#include <algorithm>
#include <cstdio>

namespace capscope {

namespace {

std::string str_field(const nlohmann::json &j, const char *name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>()
                                          : std::string();
}

bool bool_field(const nlohmann::json &j, const char *name) {
  auto it = j.find(name);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::optional<std::uint64_t> count_field(const nlohmann::json &j,
                                         const char *name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_unsigned())
    return std::nullopt;
  return it->get<std::uint64_t>();
}

std::vector<std::string> names_field(const nlohmann::json &j,
                                     const char *name) {
  std::vector<std::string> out;
  auto it = j.find(name);
  if (it == j.end() || !it->is_array())
    return out;
  for (const auto &v : *it)
    if (v.is_string())
      out.push_back(v.get<std::string>());
  return out;
}

std::string joined(const std::vector<std::string> &v) {
  std::string out;
  for (const auto &s : v)
    out += (out.empty() ? "" : ",") + s;
  return out;
}

// Left-aligned in w columns, cut with '~' when longer.
std::string left(std::string s, std::size_t w) {
  if (s.size() > w)
    s = s.substr(0, w - 1) + "~";
  s.resize(w, ' ');
  return s;
}

std::string right(const std::string &s, std::size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}

std::string rate_text(const TopRow &r) {
  if (!r.checks)
    return "?";
  if (!r.rate)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, *r.rate < 10 ? "%.1f" : "%.0f", *r.rate);
  return buf;
}

std::string unused_text(const TopRow &r) {
  std::string s =
      r.held_known ? std::to_string(r.held_unused.size()) : std::string("?");
  return r.privileged ? s + " PRIV" : s;
}

std::string shown_name(const TopRow &r) {
  return r.name.empty() ? r.id.substr(0, 12) : r.name;
}

} // namespace

TopSample top_sample(const nlohmann::json &reply, std::int64_t asked_mono_ns) {
  TopSample s;
  s.mono_ns = asked_mono_ns;
  if (!reply.is_object())
    return s;
  if (auto it = reply.find("sampled_mono_ns"); it != reply.end() &&
                                               it->is_number_integer() &&
                                               it->get<std::int64_t>() > 0) {
    s.mono_ns = it->get<std::int64_t>();
    s.daemon_time = true;
  }
  auto profiles = reply.find("profiles");
  if (profiles == reply.end() || !profiles->is_array())
    return s;
  for (const auto &p : *profiles) {
    if (!p.is_object())
      continue;
    TopRow r;
    r.key = str_field(p, "key");
    if (r.key.empty())
      continue;
    r.id = str_field(p, "id");
    if (r.id.empty())
      r.id = r.key;
    r.name = str_field(p, "name");
    r.kind = str_field(p, "kind");
    r.caps_used = names_field(p, "caps_used");
    r.held_unused = names_field(p, "held_unused");
    r.held_known = bool_field(p, "held_known");
    r.privileged = bool_field(p, "privileged");
    r.running = bool_field(p, "running");
    r.checks = count_field(p, "checks");
    r.denied = count_field(p, "denied");
    s.rows.push_back(std::move(r));
  }
  return s;
}

void top_rates(TopSample &now, const TopSample &prev) {
  std::map<std::string, const TopRow *> before;
  for (const auto &r : prev.rows)
    before[r.key] = &r;
  const bool same_flush =
      now.daemon_time && prev.daemon_time && now.mono_ns == prev.mono_ns;
  const double secs = (now.mono_ns - prev.mono_ns) / 1e9;
  for (auto &r : now.rows) {
    auto it = before.find(r.key);
    if (it == before.end())
      continue;
    const TopRow &b = *it->second;
    if (same_flush) { // nothing new counted: keep what was shown
      r.rate = b.rate;
      continue;
    }
    if (!r.checks || !b.checks || *r.checks < *b.checks || secs <= 0)
      continue;
    r.rate = static_cast<double>(*r.checks - *b.checks) / secs;
  }
}

std::optional<TopSort> top_sort_for_key(char key) {
  switch (key) {
  case 'r':
    return TopSort::Rate;
  case 'c':
    return TopSort::Caps;
  case 'd':
    return TopSort::Denied;
  case 'u':
    return TopSort::Unused;
  case 'n':
    return TopSort::Name;
  default:
    return std::nullopt;
  }
}

std::optional<TopSort> parse_top_sort(std::string_view name) {
  for (TopSort s : {TopSort::Rate, TopSort::Caps, TopSort::Denied,
                    TopSort::Unused, TopSort::Name})
    if (name == top_sort_name(s))
      return s;
  return std::nullopt;
}

std::string_view top_sort_name(TopSort s) {
  switch (s) {
  case TopSort::Rate:
    return "rate";
  case TopSort::Caps:
    return "caps";
  case TopSort::Denied:
    return "denied";
  case TopSort::Unused:
    return "unused";
  case TopSort::Name:
    return "name";
  }
  return "rate";
}

void top_sort(std::vector<TopRow> &rows, TopSort s) {
  // A number to sort by, descending; -1 (unknown) after every known one.
  auto metric = [s](const TopRow &r) -> double {
    switch (s) {
    case TopSort::Rate:
      return r.rate ? *r.rate : -1;
    case TopSort::Caps:
      return static_cast<double>(r.caps_used.size());
    case TopSort::Denied:
      return r.denied ? static_cast<double>(*r.denied) : -1;
    case TopSort::Unused:
      return r.held_known ? static_cast<double>(r.held_unused.size()) : -1;
    case TopSort::Name:
      return 0;
    }
    return 0;
  };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const TopRow &a, const TopRow &b) {
                     double ma = metric(a), mb = metric(b);
                     if (ma != mb)
                       return ma > mb;
                     std::string na = shown_name(a), nb = shown_name(b);
                     if (na != nb)
                       return na < nb;
                     return a.id < b.id;
                   });
}

std::vector<TopRow> top_visible(const std::vector<TopRow> &rows,
                                const std::map<std::string, bool> &active,
                                bool all) {
  std::vector<TopRow> out;
  for (const auto &r : rows) {
    bool shown = all || (r.kind == "container" &&
                         (r.running || active.count(r.key) != 0));
    if (shown)
      out.push_back(r);
  }
  return out;
}

std::string top_table(const std::vector<TopRow> &rows,
                      const TopTableOptions &o) {
  const std::size_t width = o.width > 20 ? o.width : 20;
  auto line = [&](std::string text, bool highlight, bool bold) {
    if (text.size() > width)
      text.resize(width);
    if (o.ansi && highlight) {
      text.resize(width, ' '); // the bar spans the screen
      return "\033[7m" + text + "\033[0m\n";
    }
    if (o.ansi && bold)
      return "\033[1m" + text + "\033[0m\n";
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    return text + "\n";
  };
  std::string out = line(left("NAME", 24) + " " + left("ID", 12) + " " +
                             right("CHECKS/S", 9) + " " + right("DENIED", 7) +
                             " " + right("UNUSED", 8) + "  " + "CAPS USED",
                         false, true);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TopRow &r = rows[i];
    std::string caps = joined(r.caps_used);
    out += line(left(shown_name(r), 24) + " " + left(r.id.substr(0, 12), 12) +
                    " " + right(rate_text(r), 9) + " " +
                    right(r.denied ? std::to_string(*r.denied) : "?", 7) + " " +
                    right(unused_text(r), 8) + "  " +
                    (caps.empty() ? "none" : caps),
                static_cast<int>(i) == o.selected, false);
  }
  return out;
}

} // namespace capscope
