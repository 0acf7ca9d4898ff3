// format.cpp - report, JSON and runtime-flag rendering.
#include "core/format.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <map>
#include <sstream>

namespace capscope {

std::optional<Format> parse_format(std::string_view name) {
  if (name == "report")
    return Format::Report;
  if (name == "json")
    return Format::Json;
  if (name == "docker")
    return Format::Docker;
  if (name == "podman")
    return Format::Podman;
  if (name == "nerdctl")
    return Format::Nerdctl;
  return std::nullopt;
}

std::string format_names() { return "report, json, docker, podman, nerdctl"; }

std::string cap_flags_line(CapMask add) {
  std::vector<std::string> names = cap_names(add);
  std::sort(names.begin(), names.end());
  std::string out = "--cap-drop=ALL";
  for (const auto &n : names)
    out += " --cap-add=" + n;
  return out;
}

static std::string join(const std::set<std::string> &s, std::size_t max = 4) {
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

static std::string human_duration(double s) {
  char buf[32];
  if (s < 1)
    std::snprintf(buf, sizeof buf, "%.0f ms", s * 1000);
  else
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

static void check_rows(std::ostringstream &out, const Profile &p, bool noise) {
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
                  join(c.syscalls, 3).c_str(), join(c.call_sites, 3).c_str());
    out << line;
    if (!noise && !c.executables.empty())
      out << "  " << std::string(30, ' ') << "by " << join(c.executables, 3)
          << "\n";
  }
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
    for (const auto &a : w.command)
      out << " " << a;
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
  if (w.kind == "container" && (!w.runtime.empty() || !w.image.empty()))
    out << "  runtime  " << (w.runtime.empty() ? "-" : w.runtime)
        << (w.image.empty() ? "" : ", image " + w.image) << "\n";

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

  Advice a = advise(p);
  if (a.denied) {
    out << "\nWARNING: denied during the recording: ";
    bool first = true;
    for (const auto &n : cap_names(a.denied)) {
      out << (first ? "" : ", ") << n;
      first = false;
    }
    out << ".\n  The workload ran with fewer capabilities than it asked for, "
           "so this advice is a lower bound.\n  Re-record with all "
           "capabilities (as root, no --user, no dropped caps) or run "
           "`capscope diagnose` to see what failed.\n";
  }
  if (p.lost_events)
    out << "\nWARNING: " << p.lost_events
        << " events lost (ring buffer full): counts are exact, some call "
           "sites may be missing.\n";
  if (p.tasks_overflow || p.counts_overflow)
    out << "\nWARNING: kernel maps overflowed (tasks " << p.tasks_overflow
        << ", keys " << p.counts_overflow
        << "): some checks were not counted.\n";

  out << "\nAdvice:\n  " << cap_flags_line(a.add) << "\n";
  CapMask dflt = docker_default_mask();
  int dropped = std::popcount(dflt & ~a.add);
  int beyond = std::popcount(a.add & ~dflt);
  out << "  drops " << dropped << " of Docker's " << std::popcount(dflt)
      << " default capabilities";
  if (beyond)
    out << "; adds " << beyond << " beyond them";
  out << ".\n";
  if (p.held_known) {
    CapMask unused = held_unused(p);
    if (unused)
      out << "  held but never used: " << std::popcount(unused)
          << " capabilities.\n";
  }
  return out.str();
}

std::string render(const Profile &p, Format f, const RenderOptions &o) {
  switch (f) {
  case Format::Report:
    return render_report(p, o);
  case Format::Json:
    return to_json(p).dump(2) + "\n";
  case Format::Docker:
  case Format::Podman:
  case Format::Nerdctl:
    return cap_flags_line(advise(p).add) + "\n";
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
      arr.push_back(to_json(p));
    return arr.dump(2) + "\n";
  }
  std::string out;
  for (const auto &p : ps) {
    if (f == Format::Report) {
      if (!out.empty())
        out += "\n";
      out += render_report(p, o);
      continue;
    }
    const Workload &w = p.workload;
    out += "# " + (w.name.empty() ? w.id : w.name) + "\n";
    out += render(p, f, o);
  }
  return out;
}

} // namespace capscope
