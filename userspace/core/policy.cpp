// policy.cpp - Pod Security Standards levels, pod owners, and the advice
// as a Kyverno ClusterPolicy or a Gatekeeper K8sPSPCapabilities constraint.
#include "core/policy.h"

#include <algorithm>
#include <cctype>

namespace capscope {

namespace {

constexpr std::string_view kK8sAlphabet = "bcdfghjklmnpqrstvwxz2456789";

bool all_in_alphabet(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return kK8sAlphabet.find(c) != std::string_view::npos;
  });
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

std::vector<std::string> sorted(CapMask m) {
  std::vector<std::string> v = cap_names(m);
  std::sort(v.begin(), v.end());
  return v;
}

std::string comma(CapMask m) {
  std::string out;
  for (const auto &n : sorted(m))
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A YAML flow sequence of double-quoted scalars (always valid YAML).
std::string quoted_list(const std::vector<std::string> &items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += std::string(i ? ", " : "") + "\"" + items[i] + "\"";
  return out + "]";
}

// A double-quoted YAML scalar.
std::string yaml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n' || c == '\r')
      c = ' ';
    out += c;
  }
  return out + "\"";
}

std::string comment_line(std::string s) {
  for (char &c : s)
    if (c == '\n' || c == '\r')
      c = ' ';
  return s;
}

std::string policy_name(const Profile &p, const PolicyMatch &m) {
  std::string base =
      !m.name_glob.empty()
          ? m.name_glob.substr(0, m.name_glob.size() - 2)
          : (p.workload.name.empty() ? p.workload.id : p.workload.name);
  if (!m.ns.empty())
    base = m.ns + "-" + base;
  return k8s_name("capscope-" + base);
}

std::string header(const Profile &p, const PolicyMatch &m, CapMask add,
                   const char *what) {
  std::string out =
      std::string("# capscope: ") + what + " for " +
      comment_line(p.workload.name.empty() ? p.workload.id : p.workload.name) +
      "\n";
  out += "# matches: " + comment_line(m.description) + "\n";
  out += "# Pod Security Standards level of this advice (capabilities): " +
         pss_summary(add) + "\n";
  return out;
}

} // namespace

std::string_view pss_name(PssLevel l) {
  switch (l) {
  case PssLevel::Restricted:
    return "restricted";
  case PssLevel::Baseline:
    return "baseline";
  case PssLevel::Privileged:
    return "privileged";
  }
  return "privileged";
}

CapMask pss_restricted_mask() { return cap_bit(kNetBindService); }

CapMask pss_baseline_mask() {
  CapMask m = 0;
  for (int c :
       {kAuditWrite, kChown, kDacOverride, kFowner, kFsetid, kKill, kMknod,
        kNetBindService, kSetfcap, kSetgid, kSetpcap, kSetuid, kSysChroot})
    m |= cap_bit(c);
  return m;
}

PssVerdict pss_level(CapMask add) {
  PssVerdict v;
  v.beyond_restricted = add & ~pss_restricted_mask();
  v.beyond_baseline = add & ~pss_baseline_mask();
  v.level = v.beyond_baseline     ? PssLevel::Privileged
            : v.beyond_restricted ? PssLevel::Baseline
                                  : PssLevel::Restricted;
  return v;
}

std::string pss_summary(CapMask add) {
  PssVerdict v = pss_level(add);
  std::string out(pss_name(v.level));
  if (v.level == PssLevel::Baseline)
    out += " (restricted is prevented by " + comma(v.beyond_restricted) + ")";
  if (v.level == PssLevel::Privileged) {
    out += " (baseline is prevented by " + comma(v.beyond_baseline);
    CapMask rest = v.beyond_restricted & ~v.beyond_baseline;
    if (rest)
      out += "; restricted also by " + comma(rest);
    out += ")";
  }
  return out;
}

std::string pod_owner(std::string_view pod) {
  auto dash = pod.rfind('-');
  if (dash == std::string_view::npos || dash == 0)
    return std::string(pod);
  std::string_view head = pod.substr(0, dash), tail = pod.substr(dash + 1);
  if (all_digits(tail)) // StatefulSet ordinal
    return std::string(head);
  if (tail.size() != 5 || !all_in_alphabet(tail))
    return std::string(pod);
  // A ReplicaSet's pod: the ReplicaSet is DEPLOYMENT-<pod-template-hash>.
  auto dash2 = head.rfind('-');
  if (dash2 != std::string_view::npos && dash2 > 0) {
    std::string_view hash = head.substr(dash2 + 1);
    if (hash.size() >= 6 && hash.size() <= 10 && all_in_alphabet(hash))
      return std::string(head.substr(0, dash2));
  }
  return std::string(head); // DaemonSet, Job, bare ReplicaSet
}

std::string k8s_name(std::string_view s) {
  std::string out;
  for (char c : s) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // ASCII only (char is signed on x86-64, unsigned on arm64).
    bool ok = static_cast<unsigned char>(l) < 0x80 &&
              std::isalnum(static_cast<unsigned char>(l));
    out += ok ? l : '-';
  }
  out.erase(std::unique(out.begin(), out.end(),
                        [](char a, char b) { return a == '-' && b == '-'; }),
            out.end());
  if (out.size() > 63)
    out.resize(63);
  while (!out.empty() && out.front() == '-')
    out.erase(out.begin());
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  return out.empty() ? "capscope" : out;
}

PolicyMatch policy_match(const Workload &w) {
  PolicyMatch m;
  m.ns = w.ns;
  if (!w.pod.empty())
    m.name_glob = pod_owner(w.pod) + "-*";
  m.specific = !m.ns.empty() && !m.name_glob.empty();
  if (m.specific)
    m.description = "Pods named " + m.name_glob + " in namespace " + m.ns +
                    " (the profile has no pod labels: the name prefix of "
                    "pod " +
                    w.pod + " stands for its owner)";
  else if (!m.name_glob.empty())
    m.description = "Pods named " + m.name_glob +
                    " in every namespace (the profile names no namespace)";
  else
    m.description = "every Pod: the profile names no Kubernetes pod or "
                    "namespace; narrow the match before enforcing";
  return m;
}

std::string render_kyverno(const Profile &p, CapMask add) {
  PolicyMatch m = policy_match(p.workload);
  std::vector<std::string> allowed = sorted(add);
  std::string out = header(p, m, add, "Kyverno ClusterPolicy");
  out += "apiVersion: kyverno.io/v1\n"
         "kind: ClusterPolicy\n"
         "metadata:\n"
         "  name: " +
         policy_name(p, m) +
         "\n"
         "  annotations:\n"
         "    policies.kyverno.io/title: " +
         yaml_string("Capabilities measured by capscope") +
         "\n"
         "    policies.kyverno.io/category: " +
         yaml_string("Pod Security") +
         "\n"
         "    policies.kyverno.io/subject: Pod\n"
         // The match names pods ("web-*"); rules Kyverno would generate
         // for Deployments etc. would match controllers by that name.
         "    pod-policies.kyverno.io/autogen-controllers: none\n"
         "spec:\n"
         "  background: true\n"
         "  rules:\n";
  std::string match = "      match:\n"
                      "        any:\n"
                      "          - resources:\n"
                      "              kinds: [Pod]\n";
  if (!m.ns.empty())
    match += "              namespaces: " + quoted_list({m.ns}) + "\n";
  if (!m.name_glob.empty())
    match += "              names: " + quoted_list({m.name_glob}) + "\n";
  const char *action = m.specific ? "Enforce" : "Audit";
  const std::string list =
      "request.object.spec.[ephemeralContainers, initContainers, "
      "containers][]";
  // The empty string keeps a container that adds nothing from failing
  // AnyNotIn on an empty list (Kyverno's own PSS policies do the same).
  std::vector<std::string> allowed_or_empty = allowed;
  allowed_or_empty.push_back("");
  // One validate rule: every container of the pod, denied when `key`
  // has an element outside `value` (both already YAML).
  auto rule = [&](const char *name, const std::string &message,
                  const std::string &key, const std::string &value) {
    return std::string("    - name: ") + name + "\n" + match +
           "      validate:\n"
           "        failureAction: " +
           action + "\n        message: " + yaml_string(message) +
           "\n"
           "        foreach:\n"
           "          - list: " +
           yaml_string(list) +
           "\n"
           "            deny:\n"
           "              conditions:\n"
           "                all:\n"
           "                  - key: " +
           key +
           "\n"
           "                    operator: AnyNotIn\n"
           "                    value: " +
           value + "\n";
  };
  out += rule("allowed-capabilities",
              allowed.empty()
                  ? "capscope measured no capability this workload needs: "
                    "adding any is disallowed."
                  : "capscope measured that this workload needs only " +
                        comma(add) +
                        ": adding any other capability is disallowed.",
              yaml_string("{{ element.securityContext.capabilities.add[] || "
                          "`[]` }}"),
              quoted_list(allowed_or_empty));
  out += rule("require-drop-all",
              "Containers must drop ALL capabilities "
              "(securityContext.capabilities.drop: [ALL]).",
              "ALL",
              yaml_string("{{ element.securityContext.capabilities.drop[]."
                          "to_upper(@) || `[]` }}"));
  return out;
}

std::string render_gatekeeper(const Profile &p, CapMask add) {
  PolicyMatch m = policy_match(p.workload);
  std::string out = header(p, m, add, "Gatekeeper constraint");
  out += "# needs the gatekeeper-library template k8spspcapabilities "
         "(kind K8sPSPCapabilities)\n";
  if (!m.specific)
    out += "# enforcementAction dryrun: the match is not specific to one "
           "workload\n";
  out += "apiVersion: constraints.gatekeeper.sh/v1beta1\n"
         "kind: K8sPSPCapabilities\n"
         "metadata:\n"
         "  name: " +
         policy_name(p, m) +
         "\n"
         "spec:\n";
  if (!m.specific)
    out += "  enforcementAction: dryrun\n";
  out += "  match:\n"
         "    kinds:\n"
         "      - apiGroups: [\"\"]\n"
         "        kinds: [Pod]\n";
  if (!m.ns.empty())
    out += "    namespaces: " + quoted_list({m.ns}) + "\n";
  if (!m.name_glob.empty())
    out += "    name: " + yaml_string(m.name_glob) + "\n";
  out += "  parameters:\n"
         "    allowedCapabilities: " +
         quoted_list(sorted(add)) +
         "\n"
         "    requiredDropCapabilities: [\"ALL\"]\n";
  return out;
}

} // namespace capscope
