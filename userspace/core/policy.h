// policy.h - the advice as admission policy: the Pod Security Standards
// level a capability set meets (and what keeps it from a stricter one), a
// Kyverno ClusterPolicy and a Gatekeeper K8sPSPCapabilities constraint that
// allow exactly the advised capabilities, and the Kubernetes owner a pod
// name was generated from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/caps.h"
#include "core/profile.h"

namespace capscope {

// Pod Security Standards (kubernetes.io/docs/concepts/security/
// pod-security-standards), capabilities controls only:
//  - restricted: drop ALL; add nothing but NET_BIND_SERVICE;
//  - baseline: add only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID,
//    KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID,
//    SYS_CHROOT;
//  - privileged: anything else.
enum class PssLevel { Restricted, Baseline, Privileged };

std::string_view pss_name(PssLevel l);
CapMask pss_restricted_mask(); // what restricted allows to add
CapMask pss_baseline_mask();   // what baseline allows to add

struct PssVerdict {
  PssLevel level = PssLevel::Restricted;
  CapMask beyond_restricted = 0; // the capabilities that prevent restricted
  CapMask beyond_baseline = 0;   // ... that prevent baseline
};

// The level of a container that drops ALL and adds `add`.
PssVerdict pss_level(CapMask add);

// One line: "restricted", "baseline (restricted is prevented by CHOWN)",
// "privileged (baseline is prevented by SYS_ADMIN; restricted also by
// CHOWN)".
std::string pss_summary(CapMask add);

// The controller that made a pod, from the pod's name as Kubernetes
// generates it: a Deployment's pod "web-7d4b9c8f6d-x2kqz" -> "web", a
// DaemonSet's or Job's "agent-x2kqz" -> "agent", a StatefulSet's "db-0" ->
// "db". A name not of those shapes is its own owner (a bare pod). The
// random parts use Kubernetes' alphabet (bcdfghjklmnpqrstvwxz2456789).
std::string pod_owner(std::string_view pod);

// What a generated policy matches: the Kubernetes namespace and the pods'
// name prefix, from the profile (which carries no pod labels).
struct PolicyMatch {
  std::string ns;          // "" = any namespace
  std::string name_glob;   // "web-*", "" = any pod
  std::string description; // for the comment on top of the policy
  bool specific = false;   // both known: safe to enforce
};
PolicyMatch policy_match(const Workload &w);

// A Kubernetes object name (RFC 1123 label): lower case, [a-z0-9-],
// at most 63 characters, never empty.
std::string k8s_name(std::string_view s);

// The advice as a Kyverno ClusterPolicy (kyverno.io/v1, validate rules
// with deny conditions over every container of the matched pods): added
// capabilities limited to `add`, drop must contain ALL. Enforce when the
// match is specific, Audit otherwise.
std::string render_kyverno(const Profile &p, CapMask add);
// The advice as a Gatekeeper constraint of the gatekeeper-library's
// K8sPSPCapabilities template: allowedCapabilities = add,
// requiredDropCapabilities = [ALL].
std::string render_gatekeeper(const Profile &p, CapMask add);

} // namespace capscope
