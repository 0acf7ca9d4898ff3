#!/usr/bin/python3
"""check_policy_yaml.py CAPSCOPE: `advise` and `merge` with --format kyverno
and --format gatekeeper, parsed back with PyYAML (Debian's python3-yaml)
and checked against the shape their projects publish:

Kyverno ClusterPolicy, kyverno.io/v1 (kyverno.io/docs/crds, "Validate
Rules", "Policy Settings"): spec.{background, rules[]}; a rule has name,
match.{any|all}[].resources.{kinds, names, namespaces, selector, ...} and
validate.{failureAction (Enforce|Audit, the per-rule field that replaced
spec.validationFailureAction in 1.13), message, foreach[].{list,
deny.conditions.{all|any}[].{key, operator, value}}}.

Gatekeeper constraint of the gatekeeper-library's k8spspcapabilities
template: apiVersion constraints.gatekeeper.sh/v1beta1, kind
K8sPSPCapabilities, spec.{enforcementAction (deny|dryrun|warn), match.{kinds
[{apiGroups, kinds}], namespaces, name, labelSelector, ...}, parameters.
{allowedCapabilities, requiredDropCapabilities, exemptImages}}.

Capability names must be upper case with no CAP_ prefix (Pod Security
Admission compares them literally)."""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

CAPSCOPE = sys.argv[1]
errors = []


def err(msg):
    errors.append(msg)
    print("check_policy_yaml: " + msg, file=sys.stderr)


def expect(cond, msg):
    if not cond:
        err(msg)


def subset(d, allowed, where):
    expect(isinstance(d, dict), f"{where} is not a mapping")
    if isinstance(d, dict):
        extra = set(d) - set(allowed)
        expect(not extra, f"{where} has fields the schema lacks: {sorted(extra)}")


CAP_RE = re.compile(r"^[A-Z][A-Z_]*$")
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
KYVERNO_OPERATORS = {"Equals", "NotEquals", "In", "AnyIn", "AllIn", "NotIn",
                     "AnyNotIn", "AllNotIn", "GreaterThan", "LessThan",
                     "GreaterThanOrEquals", "LessThanOrEquals",
                     "DurationGreaterThan", "DurationLessThan"}


def check_caps(names, where):
    for n in names:
        expect(isinstance(n, str) and CAP_RE.match(n) and not n.startswith("CAP_"),
               f"{where}: capability {n!r} is not upper case without CAP_")


def check_kyverno(doc, want_add, want_ns, want_names, enforce):
    expect(doc.get("apiVersion") == "kyverno.io/v1", "kyverno apiVersion")
    expect(doc.get("kind") == "ClusterPolicy", "kyverno kind")
    subset(doc, ["apiVersion", "kind", "metadata", "spec"], "ClusterPolicy")
    md = doc.get("metadata", {})
    expect(DNS1123.match(md.get("name", "")) and len(md["name"]) <= 63,
           f"kyverno metadata.name {md.get('name')!r}")
    expect("namespace" not in md, "a ClusterPolicy has no namespace")
    spec = doc.get("spec", {})
    subset(spec, ["admission", "applyRules", "background", "failurePolicy",
                  "rules", "schemaValidation", "validationFailureAction",
                  "validationFailureActionOverrides", "webhookTimeoutSeconds",
                  "emitWarning", "webhookConfiguration"], "spec")
    rules = spec.get("rules", [])
    expect(isinstance(rules, list) and len(rules) == 2, "two rules")
    allowed_seen = drop_seen = False
    for rule in rules:
        subset(rule, ["name", "match", "exclude", "context", "preconditions",
                      "validate"], "rule")
        expect(isinstance(rule.get("name"), str) and len(rule["name"]) <= 63,
               "rule name")
        match = rule.get("match", {})
        subset(match, ["any", "all"], "match")
        filters = match.get("any", []) + match.get("all", [])
        expect(len(filters) == 1, "one resource filter")
        res = filters[0].get("resources", {}) if filters else {}
        subset(res, ["kinds", "names", "name", "namespaces", "annotations",
                     "selector", "namespaceSelector", "operations"], "resources")
        expect(res.get("kinds") == ["Pod"], "match kinds [Pod]")
        expect(res.get("namespaces") == want_ns, f"match namespaces {res.get('namespaces')}")
        expect(res.get("names") == want_names, f"match names {res.get('names')}")
        v = rule.get("validate", {})
        subset(v, ["failureAction", "failureActionOverrides",
                   "allowExistingViolations", "message", "manifests",
                   "foreach", "pattern", "anyPattern", "deny", "podSecurity",
                   "cel", "assert"], "validate")
        expect(v.get("failureAction") == ("Enforce" if enforce else "Audit"),
               f"failureAction {v.get('failureAction')}")
        expect(isinstance(v.get("message"), str), "validate.message")
        fe = v.get("foreach", [])
        expect(isinstance(fe, list) and len(fe) == 1, "one foreach")
        for f in fe:
            subset(f, ["list", "deny", "pattern", "anyPattern", "preconditions",
                       "context", "elementScope", "foreach"], "foreach")
            expect("containers" in f.get("list", "") and
                   "initContainers" in f["list"] and
                   "ephemeralContainers" in f["list"],
                   "foreach covers every container kind")
            conds = f.get("deny", {}).get("conditions", {})
            subset(conds, ["any", "all"], "conditions")
            for c in conds.get("all", []) + conds.get("any", []):
                subset(c, ["key", "operator", "value", "message"], "condition")
                expect(c.get("operator") in KYVERNO_OPERATORS,
                       f"operator {c.get('operator')}")
                if "capabilities.add" in str(c.get("key")):
                    allowed_seen = True
                    vals = [x for x in c.get("value", []) if x != ""]
                    check_caps(vals, "kyverno allowed")
                    expect(sorted(vals) == sorted(want_add),
                           f"kyverno allows {vals}, advice is {want_add}")
                if c.get("key") == "ALL":
                    drop_seen = "capabilities.drop" in str(c.get("value"))
    expect(allowed_seen, "a rule limits capabilities.add")
    expect(drop_seen, "a rule requires drop ALL")


def check_gatekeeper(doc, want_add, want_ns, want_name, enforce):
    expect(doc.get("apiVersion") == "constraints.gatekeeper.sh/v1beta1",
           "gatekeeper apiVersion")
    expect(doc.get("kind") == "K8sPSPCapabilities", "gatekeeper kind")
    subset(doc, ["apiVersion", "kind", "metadata", "spec"], "constraint")
    expect(DNS1123.match(doc.get("metadata", {}).get("name", "")),
           "gatekeeper metadata.name")
    spec = doc.get("spec", {})
    subset(spec, ["match", "parameters", "enforcementAction"], "spec")
    expect(spec.get("enforcementAction", "deny") ==
           ("deny" if enforce else "dryrun"), "enforcementAction")
    m = spec.get("match", {})
    subset(m, ["kinds", "scope", "namespaces", "excludedNamespaces",
               "labelSelector", "namespaceSelector", "name", "source"], "match")
    expect(m.get("kinds") == [{"apiGroups": [""], "kinds": ["Pod"]}],
           f"match.kinds {m.get('kinds')}")
    expect(m.get("namespaces") == want_ns, "match.namespaces")
    expect(m.get("name") == want_name, "match.name")
    p = spec.get("parameters", {})
    subset(p, ["allowedCapabilities", "requiredDropCapabilities",
               "exemptImages"], "parameters")
    check_caps(p.get("allowedCapabilities", []), "allowedCapabilities")
    expect(sorted(p.get("allowedCapabilities", [])) == sorted(want_add),
           f"allowedCapabilities {p.get('allowedCapabilities')}")
    expect(p.get("requiredDropCapabilities") == ["ALL"],
           "requiredDropCapabilities [ALL]")


def profile(name, caps, pod="", ns=""):
    checks = [{"cap": c, "class": "needed", "granted": 2, "denied": 0,
               "call_sites": ["x"], "syscalls": ["y"]} for c in caps]
    return {"schema": "capscope.profile/v1",
            "workload": {"kind": "container", "name": name, "pod": pod,
                         "namespace": ns, "runtime": "containerd"},
            "window": {"start": "2026-01-01T00:00:00Z",
                       "end": "2026-01-01T00:01:00Z"},
            "checks": checks}


def run(*args):
    r = subprocess.run([CAPSCOPE, *args], capture_output=True, text=True)
    if r.returncode != 0:
        err(f"capscope {' '.join(args)} failed: {r.stderr.strip()}")
        return []
    try:
        return [d for d in yaml.safe_load_all(r.stdout) if d is not None]
    except yaml.YAMLError as e:
        err(f"capscope {' '.join(args)}: not YAML: {e}")
        return []


with tempfile.TemporaryDirectory() as tmp:
    def write(name, obj):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    k8s = write("k8s.json", profile("web", ["CHOWN", "NET_BIND_SERVICE"],
                                    "web-7d4b9c8f6d-x2kqz", "shop"))
    bare = write("docker.json", profile("files", []))
    k8s2 = write("k8s2.json", profile("web", ["KILL"], "web-7d4b9c8f6d-b2kqz",
                                      "shop"))
    for path, add, ns, glob, enforce in [
            (k8s, ["CHOWN", "NET_BIND_SERVICE"], ["shop"], "web-*", True),
            (bare, [], None, None, False)]:
        docs = run("advise", path, "--format", "kyverno")
        expect(len(docs) == 1, f"one kyverno document for {path}")
        for d in docs:
            check_kyverno(d, add, ns, [glob] if glob else None, enforce)
        docs = run("advise", path, "--format", "gatekeeper")
        expect(len(docs) == 1, f"one gatekeeper document for {path}")
        for d in docs:
            check_gatekeeper(d, add, ns, glob, enforce)
    # merge -f: two replicas' profiles, one policy with the union.
    docs = run("merge", k8s, k8s2, "--format", "kyverno")
    expect(len(docs) == 1, "merge: one kyverno document")
    for d in docs:
        check_kyverno(d, ["CHOWN", "KILL", "NET_BIND_SERVICE"], ["shop"],
                      ["web-*"], True)
    docs = run("merge", k8s, k8s2, "--format", "gatekeeper")
    for d in docs:
        check_gatekeeper(d, ["CHOWN", "KILL", "NET_BIND_SERVICE"], ["shop"],
                         "web-*", True)

if errors:
    sys.exit(1)
print("check_policy_yaml: kyverno and gatekeeper output parse and match "
      "their published shape")
