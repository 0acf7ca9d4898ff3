// diffing.cpp - merge and diff of profiles.
#include "core/diffing.h"

#include <algorithm>
#include <bit>

#include "core/either_or.h"
#include "core/explain.h"

namespace capscope {

namespace {

std::string diff_list(const std::set<std::string> &s, std::size_t max = 5) {
  std::string out;
  std::size_t i = 0;
  for (const auto &x : s) {
    if (i == max) {
      out += ", +" + std::to_string(s.size() - max) + " more";
      break;
    }
    out += (i++ ? ", " : "") + x;
  }
  return out.empty() ? "-" : out;
}

std::string names(CapMask m) {
  std::vector<std::string> n = cap_names(m);
  std::sort(n.begin(), n.end());
  std::string out;
  for (const auto &x : n)
    out += (out.empty() ? "" : ", ") + x;
  return out;
}

} // namespace

std::string merge_key(const Profile &p) {
  const Workload &w = p.workload;
  if (!w.key.empty())
    return w.key;
  return w.kind + ":" + (w.name.empty() ? w.id : w.name);
}

Result<Profile> merge_profiles(const std::vector<Profile> &ps, bool force) {
  if (ps.empty())
    return Error{EINVAL, "nothing to merge"};
  Profile out = ps[0];
  std::string key = merge_key(ps[0]);
  for (std::size_t i = 1; i < ps.size(); ++i) {
    std::string k = merge_key(ps[i]);
    if (k != key && !force)
      return Error{EINVAL, "profiles of different workloads ('" + key +
                               "' and '" + k +
                               "'); --force merges them anyway"};
    merge_into(out, ps[i]);
  }
  return out;
}

AdviceDiff diff_advice(const Profile &before, const Profile &now) {
  AdviceDiff d;
  d.old_add = final_advice(before).add;
  d.new_add = final_advice(now).add;
  d.added = d.new_add & ~d.old_add;
  d.removed = d.old_add & ~d.new_add;
  return d;
}

std::string needed_by_lines(const Profile &p, CapMask caps) {
  FinalAdvice a = final_advice(p);
  std::string out;
  for (int cap : caps_in(caps)) {
    CapEvidence e = evidence_for(p, a, cap);
    out += "  " + cap_name(cap) + ": needed by " + diff_list(e.syscalls) +
           " at " + diff_list(e.call_sites);
    if (!e.executables.empty())
      out += ", run by " + diff_list(e.executables, 3);
    if (e.instead_of >= 0)
      out += " (instead of " + cap_name(e.instead_of) + ")";
    out += "\n";
  }
  return out;
}

std::string render_diff(const Profile &before, const Profile &now,
                        const AdviceDiff &d) {
  std::string out =
      "old advice: " + (d.old_add ? names(d.old_add) : "(none)") + "\n";
  out += "new advice: " + (d.new_add ? names(d.new_add) : "(none)") + "\n";
  if (d.added) {
    out += "\nNew capabilities:\n" + needed_by_lines(now, d.added);
  }
  if (d.removed) {
    out += "\nNo longer needed: " + names(d.removed) + "\n";
    for (int cap : caps_in(d.removed))
      if (const CheckStats *s = before.find(cap, CheckClass::Needed))
        out += "  " + cap_name(cap) + ": was needed by " +
               diff_list(s->syscalls) + " at " + diff_list(s->call_sites) +
               "\n";
  }
  out += d.added
             ? "\nFAIL: " + std::to_string(std::popcount(d.added)) +
                   " capabilit" + (std::popcount(d.added) == 1 ? "y" : "ies") +
                   " beyond the old advice\n"
             : "\nOK: nothing beyond the old advice\n";
  return out;
}

} // namespace capscope
