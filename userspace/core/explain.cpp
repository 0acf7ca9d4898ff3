// explain.cpp - evidence per advised capability and the advice warnings.
#include "core/explain.h"
#include "core/caps.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <map>

namespace capscope {

namespace {

// Narrower approaches for the common reasons a workload needs SYS_ADMIN,
// keyed by call site as capscope reports it (kernel 6.x).
struct SiteHint {
  std::string_view call_site;
  std::string_view hint;
};

const std::vector<SiteHint> kSysAdminHints = {
    {"path_mount", "mount(2): mount from outside instead (a volume, "
                   "--mount, --tmpfs; Kubernetes volumes), or mount inside "
                   "a user namespace the workload owns"},
    {"do_new_mount", "mount(2): mount from outside instead (a volume, "
                     "--mount, --tmpfs; Kubernetes volumes)"},
    {"path_umount", "umount(2): leave mounts to the runtime"},
    {"__x64_sys_umount", "umount(2): leave mounts to the runtime"},
    {"__x64_sys_fsopen", "fsopen(2): mount from outside instead (a volume)"},
    {"__x64_sys_fsmount", "fsmount(2): mount from outside instead (a volume)"},
    {"__x64_sys_sethostname",
     "sethostname(2): set the hostname from outside (--hostname; "
     "`hostname:` in a pod spec)"},
    {"__do_sys_sethostname",
     "sethostname(2): set the hostname from outside (--hostname; "
     "`hostname:` in a pod spec)"},
    {"__x64_sys_setdomainname",
     "setdomainname(2): set it from outside (--domainname)"},
    {"unshare_nsproxy_namespaces",
     "unshare(2) of namespaces: create a user namespace first (unshare -U, "
     "rootless or user-namespaced containers); inside it the other "
     "namespaces need no SYS_ADMIN on the host"},
    {"copy_namespaces",
     "clone(2) with new namespaces: add CLONE_NEWUSER, so no host "
     "SYS_ADMIN is needed"},
    {"create_new_namespaces",
     "new namespaces: create a user namespace first (CLONE_NEWUSER)"},
    {"__x64_sys_pivot_root", "pivot_root(2): leave it to the runtime"},
    {"__x64_sys_swapon", "swapon(2): configure swap on the host"},
    {"__x64_sys_quotactl", "quotactl(2): manage quotas on the host"},
    {"proc_dointvec_minmax_sysadmin",
     "writing an admin-only sysctl: set it from outside (--sysctl, "
     "securityContext.sysctls) or on the host"},
    {"bpf_obj_get_next_id",
     "listing BPF objects: only the loader that owns them needs to see "
     "them; CAP_BPF covers loading"},
    {"__sys_setfsuid", "setfsuid(2): SETUID covers it"},
};

std::string explain_list(const std::set<std::string> &s, std::size_t max = 6) {
  std::string out;
  std::size_t i = 0;
  for (const auto &x : s) {
    if (i == max) {
      out += ", +" + std::to_string(s.size() - max) + " more";
      break;
    }
    if (i++)
      out += ", ";
    out += x;
  }
  return out.empty() ? "-" : out;
}

std::string names_text(CapMask m) {
  std::string out;
  for (const auto &n : cap_names(m))
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string lower(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool all_digits(const std::string &s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

std::optional<std::uint32_t> number(const std::string &s) {
  if (!all_digits(s) || s.size() > 10)
    return std::nullopt;
  unsigned long long v = std::stoull(s);
  if (v > 0xffffffffULL)
    return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

} // namespace

RunAs run_as(const Workload &w) {
  RunAs r;
  r.user = w.user;
  auto colon = w.user.find(':');
  r.user_part = w.user.substr(0, colon);
  if (colon != std::string::npos)
    r.group_part = w.user.substr(colon + 1);
  r.uid = number(r.user_part);
  r.gid = number(r.group_part);
  r.root =
      r.user_part.empty() || r.user_part == "root" || (r.uid && *r.uid == 0);
  return r;
}

CapEvidence evidence_for(const Profile &p, const FinalAdvice &a, int cap) {
  CapEvidence e;
  e.cap = cap;
  auto add_stats = [&](const CheckStats &s, bool only_sites,
                       const std::vector<std::string> &sites) {
    if (only_sites) {
      bool any = false;
      for (const auto &site : sites)
        any = any || s.call_sites.count(site);
      if (!any)
        return;
    }
    e.granted += s.granted;
    e.denied += s.denied;
    e.syscalls.insert(s.syscalls.begin(), s.syscalls.end());
    e.call_sites.insert(s.call_sites.begin(), s.call_sites.end());
    e.executables.insert(s.executables.begin(), s.executables.end());
    if (s.first_ns && (!e.first_ns || s.first_ns < e.first_ns))
      e.first_ns = s.first_ns;
  };
  for (const auto &nw : a.narrowed) {
    if (!(nw.narrower & cap_bit(cap)))
      continue;
    e.instead_of = nw.broader;
    e.broader_first = nw.broader_first;
    if (const CheckStats *b = p.find(nw.broader, CheckClass::Needed))
      add_stats(*b, false, {});
    // Only the sites where this narrower capability is the alternative.
    std::set<std::string> mine;
    for (const auto &site : nw.sites)
      for (const EitherOrSite *s : either_or_at(site, nw.broader))
        if (s->narrower == cap)
          mine.insert(site);
    if (!mine.empty())
      e.call_sites = mine;
    break;
  }
  if (const CheckStats *s = p.find(cap, CheckClass::Needed)) {
    e.granted += s->granted;
    e.denied += s->denied;
    e.syscalls.insert(s->syscalls.begin(), s->syscalls.end());
    e.call_sites.insert(s->call_sites.begin(), s->call_sites.end());
    e.executables.insert(s->executables.begin(), s->executables.end());
    if (s->first_ns && (!e.first_ns || s->first_ns < e.first_ns))
      e.first_ns = s->first_ns;
  }
  return e;
}

std::string_view sys_admin_hint(std::string_view call_site) {
  for (const auto &h : kSysAdminHints)
    if (h.call_site == call_site)
      return h.hint;
  return {};
}

bool no_privilege_escalation_seen(const Profile &p, CapMask add) {
  // SETUID/SETGID needed: the workload changes identity itself (su,
  // gosu, a server dropping to its user). SYS_ADMIN: Kubernetes refuses
  // allowPrivilegeEscalation: false together with it. Exec-class checks
  // of SETUID/SETGID come from cap_bprm_creds_from_file: an exec that
  // changed identity (a setuid program) or gained file capabilities.
  if (add & (cap_bit(kSetuid) | cap_bit(kSetgid) | cap_bit(kSysAdmin)))
    return false;
  for (const auto &c : p.checks)
    if (c.cls == CheckClass::Exec && (c.cap == kSetuid || c.cap == kSetgid))
      return false;
  return true;
}

std::vector<std::string> advice_warnings(const Profile &p,
                                         const FinalAdvice &a) {
  std::vector<std::string> out;
  RunAs who = run_as(p.workload);

  // Denied checks: for root, the recording ran with less than it asked for;
  // for a non-root user, that is how Linux treats non-root processes.
  if (a.denied && who.root) {
    out.push_back(
        "WARNING: denied during the recording: " + names_text(a.denied) +
        ".\n  The workload ran with fewer capabilities than it asked for, "
        "so this advice is a lower bound.\n  Re-record with all "
        "capabilities (as root, no --user, no dropped caps) or run "
        "`capscope diagnose` to see what failed.");
  } else if (a.denied) {
    std::set<std::string> exes;
    for (int cap : caps_in(a.denied))
      if (const CheckStats *s = p.find(cap, CheckClass::Needed))
        exes.insert(s->executables.begin(), s->executables.end());
    std::string caps_lower;
    for (const auto &n : cap_names(a.denied))
      caps_lower += (caps_lower.empty() ? "cap_" : ",cap_") + lower(n);
    std::string w =
        "WARNING: denied during the recording: " + names_text(a.denied) +
        " (the workload ran as user " + who.user +
        ").\n  --cap-add does not give a non-root process effective "
        "capabilities (Docker, Kubernetes): they only reach the bounding "
        "set,\n  and the kernel clears a non-root process's effective set at "
        "exec. Give them to the program instead:\n";
    if (exes.empty())
      w += "    setcap " + caps_lower + "=+ep /path/to/program";
    for (const auto &x : exes)
      w += "    setcap " + caps_lower + "=+ep " + x + "\n";
    if (!exes.empty())
      w.pop_back();
    w += "\n  (file capabilities, set in the image; keep the --cap-add so the "
         "bounding set allows them), or as ambient\n  capabilities: systemd "
         "AmbientCapabilities= (--format systemd), setpriv --ambient-caps "
         "(--format capsh).\n  Until then this advice is a lower bound: the "
         "denied checks may have hidden further needs.";
    out.push_back(w);
  }

  // SYS_ADMIN in the advice.
  if (a.add & cap_bit(kSysAdmin)) {
    const CheckStats *s = p.find(kSysAdmin, CheckClass::Needed);
    std::string w = "WARNING: SYS_ADMIN is in the advice. It is close to "
                    "full root and the usual way out of a container.";
    if (s) {
      w += "\n  needed by syscalls " + explain_list(s->syscalls) + " at " +
           explain_list(s->call_sites);
      for (const auto &site : s->call_sites) {
        std::string_view hint = sys_admin_hint(site);
        if (!hint.empty())
          w += "\n  - " + site + ": " + std::string(hint);
        for (const EitherOrSite *e : either_or_at(site, kSysAdmin))
          w += "\n  - " + site + ": the kernel also accepts " +
               cap_name(e->narrower) + " here (" + std::string(e->action) +
               "); SYS_ADMIN stays because other call sites need it";
      }
    }
    out.push_back(w);
  }

  // Root used only to bind a low port.
  if (who.root && a.add == cap_bit(kNetBindService)) {
    out.push_back(
        "WARNING: the workload ran as root only to bind a port below 1024.\n"
        "  Run it as a non-root user instead, with NET_BIND_SERVICE given to "
        "its program (setcap cap_net_bind_service=+ep,\n  plus "
        "--cap-add=NET_BIND_SERVICE) or as an ambient capability (systemd "
        "AmbientCapabilities=CAP_NET_BIND_SERVICE);\n  or let it listen on a "
        "high port (8080) and publish that as the low one (-p 80:8080, a "
        "Service port);\n  or allow low ports without a capability "
        "(--sysctl net.ipv4.ip_unprivileged_port_start=80).");
  }

  // Every capability held.
  if (p.held_known && (p.held & all_caps_mask()) == all_caps_mask()) {
    std::string line = "--cap-drop=ALL";
    std::vector<std::string> names = cap_names(a.add);
    std::sort(names.begin(), names.end());
    for (const auto &n : names)
      line += " --cap-add=" + n;
    out.push_back(
        "WARNING: the workload held every capability (--privileged or "
        "equivalent) and used " +
        std::to_string(std::popcount(a.add)) +
        " of them.\n  This tight list "
        "replaces it: " +
        line +
        "\n  (--privileged also lifts device, seccomp and LSM confinement; "
        "dropping it restores those too.)");
  }

  // Checks against another user namespace.
  std::map<int, std::uint64_t> foreign;
  for (const auto &c : p.checks)
    if (c.cls == CheckClass::Needed && c.other_userns && c.denied)
      foreign[c.cap] += c.denied;
  if (!foreign.empty()) {
    std::string caps;
    for (const auto &[cap, n] : foreign)
      caps += (caps.empty() ? "" : ", ") + cap_name(cap) + " (" +
              std::to_string(n) + ")";
    out.push_back(
        "WARNING: denied checks against a user namespace other than the "
        "workload's own: " +
        caps +
        ".\n  A rootless or user-namespaced container acting on objects "
        "owned outside its namespace (a file of an\n  unmapped user, the "
        "host's network): capabilities never reach outside their user "
        "namespace, so no\n  --cap-add can satisfy these. Map the owner into "
        "the namespace (--userns=keep-id, idmapped mounts),\n  change the "
        "object's ownership, or run without a user namespace.");
  }
  return out;
}

} // namespace capscope
