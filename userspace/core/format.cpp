// format.cpp - report, JSON and the advice in each ecosystem's syntax.
#include "core/format.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdio>
#include <map>
#include <pwd.h>
#include <sstream>

#include "core/either_or.h"
#include "core/explain.h"
#include "core/json_safe.h"
#include "core/policy.h"

namespace capscope {

namespace {

struct FormatName {
  std::string_view name;
  Format format;
};

// Listed names first (format_names), then aliases.
constexpr FormatName kFormats[] = {
    {"report", Format::Report},   {"json", Format::Json},
    {"docker", Format::Docker},   {"podman", Format::Podman},
    {"nerdctl", Format::Nerdctl}, {"compose", Format::Compose},
    {"k8s", Format::K8s},         {"systemd", Format::Systemd},
    {"oci", Format::Oci},         {"capsh", Format::Capsh},
    {"kyverno", Format::Kyverno}, {"gatekeeper", Format::Gatekeeper},
};
constexpr FormatName kAliases[] = {
    {"kubernetes", Format::K8s},
    {"setpriv", Format::Capsh},
};

std::vector<std::string> sorted_names(CapMask m) {
  std::vector<std::string> names = cap_names(m);
  std::sort(names.begin(), names.end());
  return names;
}

std::string comma_names(CapMask m) {
  std::string out;
  for (const auto &n : sorted_names(m))
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string display_name(const Workload &w) {
  if (!w.name.empty())
    return w.name;
  if (!w.id.empty())
    return w.id;
  return "workload";
}

// A compose service name: [a-zA-Z0-9._-], never empty.
std::string service_name(const Workload &w) {
  std::string out;
  for (char c : w.service.empty() ? display_name(w) : w.service)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                   c == '_' || c == '-'
               ? c
               : '-';
  return out.empty() ? "app" : out;
}

// `[A, B]` as a YAML flow sequence of plain scalars (capability names
// never need quoting).
std::string yaml_list(const std::vector<std::string> &items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + items[i];
  return out + "]";
}

std::string comment_safe(std::string s) {
  for (char &c : s)
    if (c == '\n' || c == '\r')
      c = ' ';
  return s;
}

std::string format_list(const std::set<std::string> &s, std::size_t max = 4) {
  std::string out;
  std::size_t i = 0;
  for (const auto &x : s) {
    if (i == max) {
      out += ", +" + std::to_string(s.size() - max);
      break;
    }
    if (i++)
      out += ", ";
    out += x;
  }
  return out.empty() ? "-" : out;
}

std::string human_duration(double s) {
  char buf[32];
  if (s < 1)
    std::snprintf(buf, sizeof buf, "%.0f ms", s * 1000);
  else
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

void check_rows(std::ostringstream &out, const Profile &p, bool noise) {
  char line[512];
  std::snprintf(line, sizeof line, "  %-18s %-10s %8s %7s  %-22s %s\n",
                "CAPABILITY", "CLASS", "GRANTED", "DENIED", "SYSCALLS",
                "CALL SITES");
  out << line;
  for (const auto &c : p.checks) {
    if ((c.cls != CheckClass::Needed) != noise)
      continue;
    std::snprintf(line, sizeof line, "  %-18s %-10s %8llu %7llu  %-22s %s\n",
                  cap_name(c.cap).c_str(),
                  std::string(class_name(c.cls)).c_str(),
                  static_cast<unsigned long long>(c.granted),
                  static_cast<unsigned long long>(c.denied),
                  format_list(c.syscalls, 3).c_str(),
                  format_list(c.call_sites, 3).c_str());
    out << line;
    if (!noise && !c.executables.empty())
      out << "  " << std::string(30, ' ') << "by "
          << format_list(c.executables, 3) << "\n";
  }
}

std::string plural(std::uint64_t n, const char *word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// "Why each capability": what needed it, how often, since when, what it
// means.
void explain_caps(std::ostringstream &out, const Profile &p,
                  const FinalAdvice &a) {
  if (!a.add && !a.recovered && !a.covered)
    return;
  out << "\nWhy each capability:\n";
  for (int cap : caps_in(a.add)) {
    CapEvidence e = evidence_for(p, a, cap);
    const CapInfo *info = cap_info(cap);
    out << "  " << cap_name(cap);
    if (info)
      out << ": " << info->meaning;
    out << "\n";
    if (e.instead_of >= 0) {
      out << "    instead of " << cap_name(e.instead_of) << ": at "
          << format_list(e.call_sites) << " the kernel accepts either, ";
      out << (e.broader_first
                  ? "asking for " + cap_name(e.instead_of) +
                        " first, so only it was seen"
                  : "and fell back to " + cap_name(e.instead_of) + " because " +
                        cap_name(cap) + " was missing");
      out << "\n";
      for (const auto &site : e.call_sites)
        for (const EitherOrSite *s : either_or_at(site, e.instead_of))
          if (s->narrower == cap)
            out << "    (" << site << ": " << s->action << ")\n";
    }
    out << "    needed by " << format_list(e.syscalls) << " at "
        << format_list(e.call_sites);
    if (!e.executables.empty())
      out << ", run by " << format_list(e.executables, 3);
    out << "\n    " << plural(e.granted, "check") << " granted";
    if (e.denied)
      out << ", " << e.denied << " denied";
    if (e.first_ns)
      out << ", first seen " << iso8601(e.first_ns);
    out << "\n";
  }
  for (int cap : caps_in(a.covered)) {
    const CheckStats *s = p.find(cap, CheckClass::Needed);
    std::set<std::string> by;
    for (int b : caps_in(a.add))
      for (const auto &site : s ? s->call_sites : std::set<std::string>{})
        for (const EitherOrSite *e : either_or_at(site, b))
          if (e->narrower == cap)
            by.insert(cap_name(b));
    out << "  " << cap_name(cap) << " is not added: it was used only at "
        << (s ? format_list(s->call_sites) : "-")
        << ", where the kernel also accepts " << format_list(by)
        << ", which is advised anyway.\n";
  }
  for (int cap : caps_in(a.recovered & ~a.add)) {
    const CheckStats *s = p.find(cap, CheckClass::Needed);
    out << "  " << cap_name(cap) << " was denied "
        << plural(s ? s->denied : 0, "time") << " at "
        << (s ? format_list(s->call_sites) : "-")
        << ", and the kernel accepted a broader capability there instead: "
           "the workload survived it.\n";
  }
}

// Kubernetes/systemd/setpriv user fields: the numeric ids when the
// profile has them, the name otherwise.
std::string group_of(const RunAs &r) {
  if (!r.group_part.empty())
    return r.group_part;
  if (r.uid)
    return std::to_string(*r.uid);
  if (const struct passwd *pw = getpwnam(r.user_part.c_str()))
    return std::to_string(pw->pw_gid);
  return r.user_part;
}

std::string render_compose_service(const Profile &p, const FinalAdvice &a) {
  std::string out = "  " + service_name(p.workload) + ":\n";
  out += "    cap_drop: [ALL]\n";
  if (a.add)
    out += "    cap_add: " + yaml_list(sorted_names(a.add)) + "\n";
  return out;
}

std::string render_compose(const std::vector<Profile> &ps) {
  std::string out = "# capscope: compose override (docker compose -f "
                    "compose.yaml -f THIS up)\nservices:\n";
  for (const auto &p : ps)
    out += render_compose_service(p, final_advice(p));
  return out;
}

std::string render_k8s(const Profile &p) {
  FinalAdvice a = final_advice(p);
  RunAs who = run_as(p.workload);
  std::string out = "# capscope: securityContext for the container of " +
                    comment_safe(display_name(p.workload)) + "\n";
  out +=
      "# Pod Security Standards level (capabilities): " + pss_summary(a.add) +
      "\n";
  out += "securityContext:\n";
  if (!who.root) {
    out += "  runAsNonRoot: true\n";
    if (who.uid)
      out += "  runAsUser: " + std::to_string(*who.uid) + "\n";
    else
      out += "  # runAsUser: the uid of '" + comment_safe(who.user_part) +
             "' in the image\n";
    if (who.gid)
      out += "  runAsGroup: " + std::to_string(*who.gid) + "\n";
  }
  // no_new_privs also blocks file capabilities, the only way a non-root
  // container process gets effective capabilities in Kubernetes.
  bool needs_filecaps = !who.root && a.add;
  if (no_privilege_escalation_seen(p, a.add) && !needs_filecaps)
    out += "  allowPrivilegeEscalation: false\n";
  out += "  capabilities:\n    drop: [ALL]\n";
  if (a.add)
    out += "    add: " + yaml_list(sorted_names(a.add)) + "\n";
  return out;
}

std::string systemd_caps(CapMask m) {
  std::string out;
  for (const auto &n : sorted_names(m))
    out += (out.empty() ? "CAP_" : " CAP_") + n;
  return out;
}

std::string render_systemd(const Profile &p) {
  FinalAdvice a = final_advice(p);
  RunAs who = run_as(p.workload);
  std::string out;
  if (p.workload.kind == "unit") {
    // Recorded with `record --unit`: the drop-in for that very unit.
    const std::string unit = comment_safe(p.workload.id);
    out = "# capscope: measured drop-in for " + unit + "\n# save as " +
          "/etc/systemd/system/" + unit + ".d/capscope.conf, then: " +
          "systemctl daemon-reload && systemctl restart " + unit + "\n";
  } else {
    out = "# capscope: systemd settings for " +
          comment_safe(display_name(p.workload)) +
          " (a drop-in: systemctl edit UNIT)\n";
  }
  out += "[Service]\n";
  if (!who.root) {
    out += "User=" + who.user_part + "\n";
    if (!who.group_part.empty())
      out += "Group=" + who.group_part + "\n";
  }
  // An empty assignment means the empty set, not the default.
  out += "CapabilityBoundingSet=" + systemd_caps(a.add) + "\n";
  if (!who.root && a.add)
    out += "AmbientCapabilities=" + systemd_caps(a.add) + "\n";
  if (no_privilege_escalation_seen(p, a.add))
    out += "NoNewPrivileges=yes\n";
  return out;
}

std::string render_capsh(const Profile &p) {
  FinalAdvice a = final_advice(p);
  RunAs who = run_as(p.workload);
  std::string keep;
  for (const auto &n : sorted_names(a.add)) {
    std::string l = n;
    for (char &c : l)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    keep += ",+" + l;
  }
  // Root: the bounding set alone decides what exec leaves in permitted and
  // effective. Non-root: the capabilities must be inheritable and ambient
  // to survive the uid change and exec (setpriv keeps them across it).
  std::string out = "setpriv";
  if (!who.root) {
    out += " --reuid=" + shell_quote(who.user_part) +
           " --regid=" + shell_quote(group_of(who));
    out += who.uid ? " --clear-groups" : " --init-groups";
    out += " --inh-caps=-all" + keep;
    if (a.add)
      out += " --ambient-caps=-all" + keep;
  } else {
    out += " --inh-caps=-all";
  }
  out += " --bounding-set=-all" + keep + " --";
  if (p.workload.command.empty())
    out += " COMMAND";
  for (const auto &arg : p.workload.command)
    out += " " + shell_quote(arg);
  return out + "\n";
}

nlohmann::json profile_json(const Profile &p) {
  // The advice in the profile is the refined one (either/or call sites).
  nlohmann::json j = to_json(p);
  FinalAdvice a = final_advice(p);
  j["advice"]["add"] = cap_names(a.add);
  j["advice"]["denied"] = cap_names(a.denied);
  if (p.held_known)
    j["held_unused"] = cap_names(p.held & ~a.add);
  return j;
}

} // namespace

std::optional<Format> parse_format(std::string_view name) {
  for (const auto &f : kFormats)
    if (f.name == name)
      return f.format;
  for (const auto &f : kAliases)
    if (f.name == name)
      return f.format;
  return std::nullopt;
}

std::string format_names() {
  std::string out;
  for (const auto &f : kFormats)
    out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

std::string cap_flags_line(CapMask add) {
  std::string out = "--cap-drop=ALL";
  for (const auto &n : sorted_names(add))
    out += " --cap-add=" + n;
  return out;
}

std::string shell_quote(const std::string &word) {
  if (!word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
      }))
    return word;
  std::string out = "'";
  for (char c : word)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

nlohmann::json oci_capabilities(CapMask add, bool non_root) {
  nlohmann::json names = nlohmann::json::array();
  for (const auto &n : sorted_names(add))
    names.push_back("CAP_" + n);
  nlohmann::json empty = nlohmann::json::array();
  return {{"bounding", names},
          {"effective", names},
          {"permitted", names},
          {"inheritable", non_root ? names : empty},
          {"ambient", non_root ? names : empty}};
}

Result<std::string> patch_oci_config(const std::string &config_text,
                                     const Profile &p) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(config_text);
  } catch (const nlohmann::json::exception &e) {
    return Error{EINVAL, "not an OCI runtime config: invalid JSON (" +
                             std::string(e.what()).substr(0, 120) + ")"};
  }
  if (!j.is_object() || !j.contains("process") || !j["process"].is_object())
    return Error{EINVAL, "not an OCI runtime config: no 'process' object"};
  bool non_root = !run_as(p.workload).root;
  const auto &proc = j["process"];
  if (proc.contains("user") && proc["user"].is_object() &&
      proc["user"].contains("uid") &&
      json_integer<long long>(proc["user"]["uid"]).value_or(0) != 0)
    non_root = true;
  j["process"]["capabilities"] =
      oci_capabilities(final_advice(p).add, non_root);
  return json_text(j, 4) + "\n";
}

std::vector<std::string> loss_warnings(const Profile &p) {
  std::vector<std::string> out;
  if (p.lost_events)
    out.push_back("WARNING: " + std::to_string(p.lost_events) +
                  " events lost (ring buffer full): counts are exact, some "
                  "call sites may be missing.");
  if (any_map_overflow(p)) {
    std::string w = "WARNING: kernel maps overflowed (tasks " +
                    std::to_string(p.tasks_overflow) + ", keys " +
                    std::to_string(p.counts_overflow);
    for (const auto &[map, n] : map_overflow_list(p))
      if (n && map != "tasks" && map != "counts")
        w += ", " + map + " " + std::to_string(n);
    w += "): ";
    w += p.tasks_overflow || p.counts_overflow || p.kprobe_overflow
             ? "some checks were not counted."
             : "counts are exact, some context may be missing.";
    out.push_back(w);
  }
  return out;
}

std::string render_report(const Profile &p, const RenderOptions &o) {
  std::ostringstream out;
  const Workload &w = p.workload;
  std::string what = w.kind == "container"
                         ? "container " + (w.name.empty() ? w.id : w.name)
                         : "command";
  out << "capscope: " << what;
  if (!w.command.empty()) {
    out << ":";
    for (const auto &arg : w.command)
      out << " " << arg;
  }
  out << "\n";
  double dur = p.end_ns > p.start_ns ? (p.end_ns - p.start_ns) / 1e9 : 0;
  out << "  window   " << iso8601(p.start_ns) << " .. " << iso8601(p.end_ns)
      << " (" << human_duration(dur) << ")\n";
  out << "  attach   " << p.attach_mode << " on " << p.kernel << " (" << p.arch
      << ")";
  if (p.exit_status >= 0)
    out << ", exit status " << p.exit_status;
  out << "\n";
  if (!run_as(w).root)
    out << "  user     " << w.user << "\n";
  if (w.kind == "container" && (!w.runtime.empty() || !w.image.empty()))
    out << "  runtime  " << (w.runtime.empty() ? "-" : w.runtime)
        << (w.image.empty() ? "" : ", image " + w.image) << "\n";
  if (p.runs > 1)
    out << "  runs     " << p.runs << " merged\n";

  std::uint64_t needed = 0, noise = 0;
  std::map<std::string, std::uint64_t> by_class;
  for (const auto &c : p.checks) {
    if (c.cls == CheckClass::Needed)
      needed += c.granted + c.denied;
    else {
      noise += c.granted + c.denied;
      by_class[std::string(class_name(c.cls))] += c.granted + c.denied;
    }
  }
  out << "\n";
  if (needed) {
    out << "Capability checks made by the workload:\n";
    check_rows(out, p, false);
  } else {
    out << "The workload made no capability check of its own.\n";
  }
  if (noise) {
    out << "\nKept out of the advice: " << noise << " check"
        << (noise == 1 ? "" : "s") << " (";
    bool first = true;
    for (const auto &[cls, n] : by_class) {
      out << (first ? "" : ", ") << cls << " " << n;
      first = false;
    }
    out << ")";
    if (o.verbose) {
      out << ":\n";
      check_rows(out, p, true);
      for (const auto &[cls, n] : by_class) {
        CheckClass cc;
        if (parse_class(cls, &cc))
          out << "    " << cls << ": " << class_reason(cc) << "\n";
      }
    } else {
      out << "; -v lists them.\n";
    }
  }

  // The runtime section of `record -- podman run ...`: podman's, conmon's
  // and runc's own checks, shown for completeness, advise nothing.
  if (p.workload.kind == "runtime") {
    out << "\nThese are the runtime's checks: no container needs them.\n";
    return out.str();
  }

  FinalAdvice a = final_advice(p);
  std::vector<std::string> warnings = advice_warnings(p, a);
  // Warnings about the recording itself come before the advice; those
  // about the advice come after its explanation.
  std::size_t first_advice_warning = 0;
  if (!warnings.empty() && warnings[0].starts_with("WARNING: denied during")) {
    out << "\n" << warnings[0] << "\n";
    first_advice_warning = 1;
  }
  for (const auto &w : loss_warnings(p))
    out << "\n" << w << "\n";

  out << "\nAdvice:\n  " << cap_flags_line(a.add) << "\n";
  CapMask dflt = docker_default_mask();
  int dropped = std::popcount(dflt & ~a.add);
  int beyond = std::popcount(a.add & ~dflt);
  out << "  drops " << dropped << " of Docker's " << std::popcount(dflt)
      << " default capabilities";
  if (beyond)
    out << "; adds " << beyond << " beyond them";
  out << ".\n";
  if (dropped)
    out << "    dropped from Docker's defaults: " << comma_names(dflt & ~a.add)
        << "\n";
  if (beyond)
    out << "    added beyond Docker's defaults: " << comma_names(a.add & ~dflt)
        << "\n";
  out << "  Pod Security Standards (capabilities): " << pss_summary(a.add)
      << "\n";
  if (p.held_known) {
    CapMask unused = p.held & ~a.add;
    if (unused) {
      out << "  held but never used: " << std::popcount(unused)
          << " capabilities.\n";
      if (std::popcount(unused) <= 16)
        out << "    " << comma_names(unused) << "\n";
    }
  }
  explain_caps(out, p, a);
  for (std::size_t i = first_advice_warning; i < warnings.size(); ++i)
    out << "\n" << warnings[i] << "\n";
  return out.str();
}

std::string render(const Profile &p, Format f, const RenderOptions &o) {
  switch (f) {
  case Format::Report:
    return render_report(p, o);
  case Format::Json:
    return json_text(profile_json(p), 2) + "\n";
  case Format::Docker:
  case Format::Podman:
  case Format::Nerdctl:
    return cap_flags_line(final_advice(p).add) + "\n";
  case Format::Compose:
    return render_compose({p});
  case Format::K8s:
    return render_k8s(p);
  case Format::Systemd:
    return render_systemd(p);
  case Format::Oci:
    return json_text(
               oci_capabilities(final_advice(p).add, !run_as(p.workload).root),
               2) +
           "\n";
  case Format::Capsh:
    return render_capsh(p);
  case Format::Kyverno:
    return render_kyverno(p, final_advice(p).add);
  case Format::Gatekeeper:
    return render_gatekeeper(p, final_advice(p).add);
  }
  return {};
}

std::string render_many(const std::vector<Profile> &ps, Format f,
                        const RenderOptions &o) {
  if (ps.size() == 1)
    return render(ps[0], f, o);
  if (f == Format::Json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto &p : ps)
      arr.push_back(profile_json(p));
    return json_text(arr, 2) + "\n";
  }
  if (f == Format::Oci) {
    nlohmann::json obj = nlohmann::json::object();
    for (const auto &p : ps)
      obj[display_name(p.workload)] =
          oci_capabilities(final_advice(p).add, !run_as(p.workload).root);
    return json_text(obj, 2) + "\n";
  }
  if (f == Format::Compose)
    return render_compose(ps);
  std::string out;
  for (const auto &p : ps) {
    if (f == Format::Report) {
      if (!out.empty())
        out += "\n";
      out += render_report(p, o);
      continue;
    }
    if (f == Format::K8s || f == Format::Kyverno || f == Format::Gatekeeper)
      out += "---\n";
    out += "# " + comment_safe(display_name(p.workload)) + "\n";
    out += render(p, f, o);
  }
  return out;
}

} // namespace capscope
