// profile.cpp - profile aggregation helpers, advice, JSON (de)serialization,
// merging and atomic writes.
#include "core/profile.h"
#include "core/version.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "core/either_or.h"
#include "core/json_safe.h"
#include "core/syscalls.h"

namespace capscope {

using nlohmann::json;

CheckStats &Profile::entry(int cap, CheckClass cls) {
  auto it =
      std::lower_bound(checks.begin(), checks.end(), std::make_pair(cap, cls),
                       [](const CheckStats &c, const auto &k) {
                         return std::make_pair(c.cap, c.cls) < k;
                       });
  if (it != checks.end() && it->cap == cap && it->cls == cls)
    return *it;
  CheckStats s;
  s.cap = cap;
  s.cls = cls;
  return *checks.insert(it, std::move(s));
}

const CheckStats *Profile::find(int cap, CheckClass cls) const {
  for (const auto &c : checks)
    if (c.cap == cap && c.cls == cls)
      return &c;
  return nullptr;
}

Advice advise(const Profile &p) {
  Advice a;
  for (const auto &c : p.checks) {
    if (c.cls != CheckClass::Needed || c.cap < 0 || c.cap >= 64)
      continue;
    if (c.granted > 0)
      a.add |= CapMask{1} << c.cap;
    if (c.denied > 0)
      a.denied |= CapMask{1} << c.cap;
  }
  return a;
}

CapMask held_unused(const Profile &p) {
  if (!p.held_known)
    return 0;
  return p.held & ~final_advice(p).add;
}

std::string iso8601(std::int64_t wall_ns) {
  if (wall_ns <= 0)
    return "";
  std::time_t secs = wall_ns / 1000000000;
  long micros = (wall_ns % 1000000000) / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, micros);
  return buf;
}

static bool parse_iso8601(const std::string &s, std::int64_t *out) {
  if (s.empty()) {
    *out = 0;
    return true;
  }
  std::tm tm{};
  long micros = 0;
  int n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
                  &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                  &n) != 6)
    return false;
  if (static_cast<std::size_t>(n) < s.size() && s[n] == '.') {
    std::string frac;
    for (std::size_t i = n + 1; i < s.size() && std::isdigit(s[i]); ++i)
      frac += s[i];
    frac.resize(6, '0');
    micros = std::stol(frac);
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t t = timegm(&tm);
  // Outside 1970..2262 the nanoseconds do not fit an int64 (found by
  // tests/fuzz/fuzz_profile: year 9999 overflowed).
  constexpr std::time_t kMaxSecs = INT64_MAX / 1000000000 - 1;
  if (t < 0 || t > kMaxSecs)
    return false;
  *out = static_cast<std::int64_t>(t) * 1000000000 + micros * 1000;
  return true;
}

static json names_of(CapMask m) { return json(cap_names(m)); }

json to_json(const Profile &p) {
  json j;
  j["schema"] = kProfileSchema;
  // Who wrote this file: the capscope that serialises it.
  j["capscope_version"] = capscope_version_line();
  const Workload &w = p.workload;
  j["workload"] = {{"kind", w.kind},       {"id", w.id},
                   {"name", w.name},       {"runtime", w.runtime},
                   {"image", w.image},     {"pod", w.pod},
                   {"namespace", w.ns},    {"key", w.key},
                   {"command", w.command}, {"user", w.user}};
  j["window"] = {{"start", iso8601(p.start_ns)},
                 {"end", iso8601(p.end_ns)},
                 {"duration_s",
                  p.end_ns > p.start_ns ? (p.end_ns - p.start_ns) / 1e9 : 0.0}};
  j["kernel"] = p.kernel;
  j["arch"] = p.arch;
  j["attach_mode"] = p.attach_mode;
  j["runs"] = p.runs;
  if (p.exit_status >= 0)
    j["exit_status"] = p.exit_status;
  auto check_json = [](const CheckStats &c) {
    return json{{"cap", cap_name(c.cap)},
                {"number", c.cap},
                {"class", class_name(c.cls)},
                {"granted", c.granted},
                {"denied", c.denied},
                {"syscalls", c.syscalls},
                {"call_sites", c.call_sites},
                {"executables", c.executables},
                {"first_seen", iso8601(c.first_ns)},
                {"last_seen", iso8601(c.last_ns)},
                {"other_userns", c.other_userns}};
  };
  json checks = json::array();
  for (const auto &c : p.checks)
    checks.push_back(check_json(c));
  j["checks"] = checks;
  if (!p.runtime_checks.empty()) {
    json rt = json::array();
    for (const auto &c : p.runtime_checks)
      rt.push_back(check_json(c));
    j["runtime_checks"] = rt;
  }
  // The advice as users get it: refined by the either/or call sites.
  FinalAdvice a = final_advice(p);
  j["advice"] = {{"drop", json::array({"ALL"})},
                 {"add", names_of(a.add)},
                 {"denied", names_of(a.denied)}};
  if (p.held_known) {
    j["held"] = names_of(p.held);
    j["held_unused"] = names_of(held_unused(p));
  }
  j["lost_events"] = p.lost_events;
  json overflows = json::object();
  for (const auto &[map, n] : map_overflow_list(p))
    overflows[map] = n;
  j["map_overflows"] = overflows;
  if (p.checks_total)
    j["checks_total"] = p.checks_total;
  return j;
}

namespace {
// Field access that turns a missing or mistyped field into a clear error.
struct Reader {
  std::string err;
  template <typename T>
  T get(const json &j, const char *field, T dflt, bool required = false) {
    if (!j.is_object() || !j.contains(field)) {
      if (required && err.empty())
        err = std::string("missing field '") + field + "'";
      return dflt;
    }
    try {
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        return json_integer_field<T>(j, field, dflt);
      else
        return j.at(field).get<T>();
    } catch (const std::exception &) {
      if (err.empty())
        err = std::string("field '") + field + "' has the wrong type";
      return dflt;
    }
  }
};
} // namespace

Result<Profile> profile_from_json(const json &j) {
  if (!j.is_object())
    return Error{EINVAL, "not a capscope profile (expected a JSON object)"};
  Reader r;
  std::string schema = r.get<std::string>(j, "schema", "", true);
  if (!r.err.empty() || schema != kProfileSchema)
    return Error{EINVAL, "not a capscope profile (schema is '" + schema +
                             "', expected '" + kProfileSchema + "')"};
  Profile p;
  const json &w = j.contains("workload") ? j["workload"] : json::object();
  p.workload.kind = r.get<std::string>(w, "kind", "command");
  p.workload.id = r.get<std::string>(w, "id", "");
  p.workload.name = r.get<std::string>(w, "name", "");
  p.workload.runtime = r.get<std::string>(w, "runtime", "");
  p.workload.image = r.get<std::string>(w, "image", "");
  p.workload.pod = r.get<std::string>(w, "pod", "");
  p.workload.ns = r.get<std::string>(w, "namespace", "");
  p.workload.key = r.get<std::string>(w, "key", "");
  p.workload.user = r.get<std::string>(w, "user", "");
  p.workload.command =
      r.get<std::vector<std::string>>(w, "command", std::vector<std::string>{});
  const json &win = j.contains("window") ? j["window"] : json::object();
  if (!parse_iso8601(r.get<std::string>(win, "start", ""), &p.start_ns) ||
      !parse_iso8601(r.get<std::string>(win, "end", ""), &p.end_ns))
    return Error{EINVAL, "malformed time in 'window'"};
  p.kernel = r.get<std::string>(j, "kernel", "");
  p.arch = r.get<std::string>(j, "arch", "");
  p.attach_mode = r.get<std::string>(j, "attach_mode", "");
  p.runs = r.get<int>(j, "runs", 1);
  p.exit_status = r.get<int>(j, "exit_status", -1);
  p.lost_events = r.get<std::uint64_t>(j, "lost_events", 0);
  if (j.contains("map_overflows")) {
    p.tasks_overflow = r.get<std::uint64_t>(j["map_overflows"], "tasks", 0);
    const json &mo = j["map_overflows"];
    p.counts_overflow = r.get<std::uint64_t>(mo, "counts", 0);
    // Absent from profiles written before per-map loss accounting.
    p.seen_overflow = r.get<std::uint64_t>(mo, "seen", 0);
    p.kprobe_overflow = r.get<std::uint64_t>(mo, "kprobe_pending", 0);
    p.inflight_overflow = r.get<std::uint64_t>(mo, "inflight", 0);
    p.dead_scopes_overflow = r.get<std::uint64_t>(mo, "dead_scopes", 0);
  }
  p.checks_total = r.get<std::uint64_t>(j, "checks_total", 0);
  if (!j.contains("checks") || !j["checks"].is_array())
    return Error{EINVAL, "missing field 'checks'"};
  for (const auto &c : j["checks"]) {
    std::string capname = r.get<std::string>(c, "cap", "", true);
    auto cap = parse_cap(capname);
    if (!cap)
      return Error{EINVAL, "unknown capability '" + capname + "' in checks"};
    CheckClass cls;
    std::string clsname = r.get<std::string>(c, "class", "needed");
    if (!parse_class(clsname, &cls))
      return Error{EINVAL, "unknown check class '" + clsname + "'"};
    CheckStats &s = p.entry(*cap, cls);
    s.granted += r.get<std::uint64_t>(c, "granted", 0);
    s.denied += r.get<std::uint64_t>(c, "denied", 0);
    for (const char *f : {"syscalls", "call_sites", "executables"}) {
      auto v = r.get<std::vector<std::string>>(c, f, {});
      auto &dst = f[0] == 's'   ? s.syscalls
                  : f[0] == 'c' ? s.call_sites
                                : s.executables;
      dst.insert(v.begin(), v.end());
    }
    if (!parse_iso8601(r.get<std::string>(c, "first_seen", ""), &s.first_ns) ||
        !parse_iso8601(r.get<std::string>(c, "last_seen", ""), &s.last_ns))
      return Error{EINVAL, "malformed time in checks of " + capname};
    s.other_userns = r.get<bool>(c, "other_userns", false);
  }
  if (j.contains("runtime_checks") && j["runtime_checks"].is_array()) {
    for (const auto &c : j["runtime_checks"]) {
      CheckStats s;
      auto cap = parse_cap(r.get<std::string>(c, "cap", "", true));
      if (!cap ||
          !parse_class(r.get<std::string>(c, "class", "needed"), &s.cls))
        return Error{EINVAL, "bad entry in runtime_checks"};
      s.cap = *cap;
      s.granted = r.get<std::uint64_t>(c, "granted", 0);
      s.denied = r.get<std::uint64_t>(c, "denied", 0);
      auto sc = r.get<std::vector<std::string>>(c, "syscalls", {});
      auto cs = r.get<std::vector<std::string>>(c, "call_sites", {});
      auto ex = r.get<std::vector<std::string>>(c, "executables", {});
      s.syscalls.insert(sc.begin(), sc.end());
      s.call_sites.insert(cs.begin(), cs.end());
      s.executables.insert(ex.begin(), ex.end());
      parse_iso8601(r.get<std::string>(c, "first_seen", ""), &s.first_ns);
      parse_iso8601(r.get<std::string>(c, "last_seen", ""), &s.last_ns);
      p.runtime_checks.push_back(std::move(s));
    }
  }
  if (j.contains("held")) {
    std::string err;
    CapMask m = 0;
    for (const auto &n : r.get<std::vector<std::string>>(j, "held", {})) {
      auto cap = parse_cap(n);
      if (!cap)
        return Error{EINVAL, "unknown capability '" + n + "' in held"};
      m |= CapMask{1} << *cap;
    }
    p.held = m;
    p.held_known = true;
  }
  if (!r.err.empty())
    return Error{EINVAL, r.err};
  return p;
}

Result<Profile> load_profile(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    return Error{errno,
                 "cannot read profile " + path + ": " + std::strerror(errno)};
  json j;
  try {
    in >> j;
  } catch (const json::exception &e) { // parse_error, out_of_range (1e999)
    return Error{EINVAL, "malformed profile " + path + ": invalid JSON (" +
                             std::string(e.what()).substr(0, 120) + ")"};
  }
  auto p = profile_from_json(j);
  if (!p)
    return Error{EINVAL,
                 "malformed profile " + path + ": " + p.error().message};
  return p;
}

Result<void> save_text_atomic(const std::string &path,
                              const std::string &text) {
  // A device, FIFO or anything else that is not a regular file (-o
  // /dev/null, -o /dev/stderr) is written in place: renaming over it would
  // replace the device with a file.
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    FILE *f = std::fopen(path.c_str(), "w");
    if (!f)
      return Error{errno, "cannot write " + path + ": " + std::strerror(errno)};
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    ok = std::fclose(f) == 0 && ok;
    if (!ok)
      return Error{errno, "cannot write " + path + ": " + std::strerror(errno)};
    return {};
  }
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE *f = std::fopen(tmp.c_str(), "w");
  if (!f)
    return Error{errno, "cannot write " + path + ": " + std::strerror(errno)};
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fflush(f) == 0) && ok;
  ok = (fsync(fileno(f)) == 0) && ok;
  int saved = errno;
  std::fclose(f);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok)
      saved = errno;
    std::remove(tmp.c_str());
    return Error{saved, "cannot write " + path + ": " + std::strerror(saved)};
  }
  return {};
}

void merge_into(Profile &into, const Profile &from) {
  if (from.start_ns && (!into.start_ns || from.start_ns < into.start_ns))
    into.start_ns = from.start_ns;
  into.end_ns = std::max(into.end_ns, from.end_ns);
  for (const auto &c : from.checks) {
    CheckStats &s = into.entry(c.cap, c.cls);
    s.granted += c.granted;
    s.denied += c.denied;
    s.syscalls.insert(c.syscalls.begin(), c.syscalls.end());
    s.call_sites.insert(c.call_sites.begin(), c.call_sites.end());
    s.executables.insert(c.executables.begin(), c.executables.end());
    if (c.first_ns && (!s.first_ns || c.first_ns < s.first_ns))
      s.first_ns = c.first_ns;
    s.last_ns = std::max(s.last_ns, c.last_ns);
    s.other_userns = s.other_userns || c.other_userns;
  }
  into.lost_events += from.lost_events;
  into.tasks_overflow += from.tasks_overflow;
  into.counts_overflow += from.counts_overflow;
  into.seen_overflow += from.seen_overflow;
  into.kprobe_overflow += from.kprobe_overflow;
  into.inflight_overflow += from.inflight_overflow;
  into.dead_scopes_overflow += from.dead_scopes_overflow;
  into.checks_total += from.checks_total;
  if (from.held_known) {
    into.held = into.held_known ? (into.held | from.held) : from.held;
    into.held_known = true;
  }
  into.runs += from.runs;
}

std::vector<std::pair<std::string, std::uint64_t>>
map_overflow_list(const Profile &p) {
  return {{"tasks", p.tasks_overflow},
          {"counts", p.counts_overflow},
          {"seen", p.seen_overflow},
          {"kprobe_pending", p.kprobe_overflow},
          {"inflight", p.inflight_overflow},
          {"dead_scopes", p.dead_scopes_overflow}};
}

bool any_map_overflow(const Profile &p) {
  for (const auto &[map, n] : map_overflow_list(p))
    if (n)
      return true;
  return false;
}

} // namespace capscope
