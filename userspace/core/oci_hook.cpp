// oci_hook.cpp - parsing an OCI hook's state and the io.capscope.*
// annotations (see oci_hook.h).
#include "core/oci_hook.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/duration.h"
#include "core/format.h"

namespace capscope {

namespace {

using nlohmann::json;

std::optional<bool> parse_bool(std::string v) {
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "1" || v == "yes")
    return true;
  if (v == "false" || v == "0" || v == "no" || v.empty())
    return false;
  return std::nullopt;
}

std::string trim(const std::string &s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos)
    return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

Error bad(const std::string &key, const std::string &value,
          const std::string &why) {
  return Error{0, "annotation " + key + "=" + value + ": " + why};
}

} // namespace

Result<OciHookState> parse_oci_hook_state(std::string_view json_text) {
  auto j = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error{0, "the OCI state on stdin is not a JSON object"};
  OciHookState s;
  auto str = [&](const char *key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>()
                                            : std::string();
  };
  s.oci_version = str("ociVersion");
  s.id = str("id");
  s.status = str("status");
  s.bundle = str("bundle");
  if (s.id.empty())
    return Error{0, "the OCI state on stdin has no container id"};
  if (auto it = j.find("pid"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 0 ||
        it->get<long long>() > 0x3fffffff)
      return Error{0, "the OCI state on stdin has a bad pid"};
    s.pid = it->get<int>();
  }
  if (auto it = j.find("annotations"); it != j.end() && it->is_object())
    for (const auto &[k, v] : it->items())
      if (v.is_string())
        s.annotations[k] = v.get<std::string>();
  return s;
}

bool hook_required(const std::map<std::string, std::string> &annotations) {
  auto it = annotations.find(kAnnRequired);
  if (it == annotations.end())
    return false;
  auto b = parse_bool(trim(it->second));
  return b && *b;
}

Result<HookRequest>
hook_request(const std::map<std::string, std::string> &annotations) {
  HookRequest r;
  bool have_profile = false;
  for (const auto &[key, value] : annotations) {
    if (!key.starts_with(kAnnPrefix))
      continue;
    if (key == kAnnProfile) {
      have_profile = true;
      r.profile = value;
      if (value.empty() || value.front() != '/')
        return bad(key, value, "not an absolute path");
      if (value.back() == '/' || value.ends_with("/.") ||
          value.ends_with("/.."))
        return bad(key, value, "names a directory, not a file");
      if (value.find('\n') != std::string::npos)
        return bad(key, "...", "contains a newline");
    } else if (key == kAnnFormat) {
      std::size_t at = 0;
      while (at <= value.size()) {
        // Commas or spaces: podman's --annotation splits its value at
        // commas, so "docker k8s" is the way to ask for two there.
        std::size_t end = value.find_first_of(", ", at);
        if (end == std::string::npos)
          end = value.size();
        std::string f = trim(value.substr(at, end - at));
        at = end + 1;
        if (f.empty())
          continue;
        if (f == "json")
          return bad(key, value,
                     "json is the profile itself (" + std::string(kAnnProfile) +
                         "); name other formats");
        if (!parse_format(f))
          return bad(key, value,
                     "unknown format '" + f + "' (valid: " + format_names() +
                         ")");
        if (std::find(r.formats.begin(), r.formats.end(), f) == r.formats.end())
          r.formats.push_back(f);
      }
    } else if (key == kAnnVerbose || key == kAnnRequired) {
      auto b = parse_bool(trim(value));
      if (!b)
        return bad(key, value, "not a boolean (true or false)");
      (key == kAnnVerbose ? r.verbose : r.required) = *b;
    } else if (key == kAnnAttach) {
      static const char *modes[] = {"auto", "tracepoint", "fexit", "kprobe"};
      std::string v = trim(value);
      if (std::none_of(std::begin(modes), std::end(modes),
                       [&](const char *m) { return v == m; }))
        return bad(key, value,
                   "unknown attach mode (valid: auto, tracepoint, fexit, "
                   "kprobe)");
      r.attach = v;
    } else if (key == kAnnCheckpoint) {
      std::string v = trim(value);
      auto ms =
          v == "0" ? std::optional<std::int64_t>(0) : parse_duration_ms(v);
      if (!ms)
        return bad(key, value,
                   "not a duration (e.g. 30s, 5m; 0: only at the end)");
      if (*ms != 0 && *ms < 1000)
        return bad(key, value, "shorter than 1s (0: only at the end)");
      r.checkpoint_ms = *ms;
    } else {
      return Error{0, "unknown annotation " + key + " (capscope hook reads " +
                          kAnnProfile + ", " + kAnnFormat + ", " + kAnnVerbose +
                          ", " + kAnnRequired + ", " + kAnnAttach + ", " +
                          kAnnCheckpoint + ")"};
    }
  }
  if (!have_profile)
    return Error{0, std::string("no ") + kAnnProfile +
                        " annotation: nothing to record"};
  return r;
}

std::string hook_format_path(const std::string &profile,
                             const std::string &format) {
  std::string base = profile;
  if (base.ends_with(".json"))
    base.resize(base.size() - 5);
  return base + "." + format;
}

std::string hook_err_path(const std::string &profile) {
  return profile + ".err";
}

std::string hook_log_path(const std::string &profile) {
  return profile + ".log";
}

bool hook_safe_id(std::string_view id) {
  if (id.empty() || id == "." || id == ".." || id.size() > 255)
    return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

} // namespace capscope
