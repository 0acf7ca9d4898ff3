// test_formats_ecosystems.cpp - the advice in each ecosystem's syntax:
// compose, Kubernetes, systemd, OCI, setpriv. Every YAML/JSON output is also
// parsed back with a real parser (Debian's /usr/bin/python3 with PyYAML).
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/caps.h"
#include "core/format.h"
#include "support.h"

using namespace capscope;
using namespace capscope::test;

namespace {

Profile needing(CapMask add, const std::string &user = "") {
  Profile p = profile_needing(add, 2, "bind", "inet_bind_sk");
  p.workload.name = "web";
  p.workload.user = user;
  p.workload.command = {"/srv/web", "--port", "80"};
  return p;
}

// Runs /usr/bin/python3 SCRIPT on `doc` (in a temp file). Returns false
// (with *why) when Python or PyYAML is not installed.
struct PyResult {
  int status = -1;
  std::string output;
};
bool have_python_yaml(std::string *why) {
  if (access("/usr/bin/python3", X_OK) != 0) {
    *why = "/usr/bin/python3 missing (apt-get install python3 python3-yaml)";
    return false;
  }
  if (std::system("/usr/bin/python3 -c 'import yaml, json' 2>/dev/null") != 0) {
    *why = "python3-yaml not installed (apt-get install python3-yaml)";
    return false;
  }
  return true;
}

PyResult run_python(const std::string &doc, const std::string &script) {
  char docpath[] = "/tmp/capscope-fmt-doc.XXXXXX";
  char pypath[] = "/tmp/capscope-fmt-py.XXXXXX";
  int fd1 = mkstemp(docpath), fd2 = mkstemp(pypath);
  REQUIRE(fd1 >= 0);
  REQUIRE(fd2 >= 0);
  REQUIRE(write(fd1, doc.data(), doc.size()) ==
          static_cast<ssize_t>(doc.size()));
  REQUIRE(write(fd2, script.data(), script.size()) ==
          static_cast<ssize_t>(script.size()));
  close(fd1);
  close(fd2);
  std::string cmd =
      std::string("/usr/bin/python3 ") + pypath + " " + docpath + " 2>&1";
  PyResult r;
  FILE *f = popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), f))
    r.output += buf.data();
  int st = pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  unlink(docpath);
  unlink(pypath);
  return r;
}

#define REQUIRE_PYTHON_YAML()                                                  \
  do {                                                                         \
    std::string why_;                                                          \
    if (!have_python_yaml(&why_)) {                                            \
      WARN("SKIPPED: " << why_);                                               \
      return;                                                                  \
    }                                                                          \
  } while (0)

} // namespace

TEST_CASE("every format name parses, with kubernetes and setpriv as aliases",
          "[format]") {
  CHECK(parse_format("compose") == Format::Compose);
  CHECK(parse_format("k8s") == Format::K8s);
  CHECK(parse_format("kubernetes") == Format::K8s);
  CHECK(parse_format("systemd") == Format::Systemd);
  CHECK(parse_format("oci") == Format::Oci);
  CHECK(parse_format("capsh") == Format::Capsh);
  CHECK(parse_format("setpriv") == Format::Capsh);
  CHECK_FALSE(parse_format("yaml"));
}

TEST_CASE("compose: a service that drops ALL and adds the advice, sorted",
          "[format][compose]") {
  std::string out = render(needing(cap_bit(kNetBindService) | cap_bit(kChown)),
                           Format::Compose);
  INFO(out);
  CHECK(contains(out, "services:\n  web:\n    cap_drop: [ALL]\n    cap_add: "
                      "[CHOWN, NET_BIND_SERVICE]\n"));
  std::string none = render(needing(0), Format::Compose);
  CHECK(contains(none, "cap_drop: [ALL]\n"));
  CHECK_FALSE(contains(none, "cap_add"));
}

TEST_CASE("compose: several workloads are services of one file",
          "[format][compose]") {
  Profile web = needing(cap_bit(kNetBindService));
  Profile db = needing(cap_bit(kChown));
  db.workload.name = "db/primary"; // not a valid service name as is
  std::string out = render_many({web, db}, Format::Compose);
  INFO(out);
  CHECK(contains(out, "services:\n  web:\n"));
  CHECK(contains(out, "  db-primary:\n    cap_drop: [ALL]\n    cap_add: "
                      "[CHOWN]\n"));
  CHECK(out.find("services:") == out.rfind("services:"));
}

TEST_CASE("k8s: root workload gets capabilities and no runAsNonRoot",
          "[format][k8s]") {
  std::string out = render(needing(cap_bit(kChown)), Format::K8s);
  INFO(out);
  CHECK(contains(out, "securityContext:\n"));
  CHECK(contains(out, "  capabilities:\n    drop: [ALL]\n    add: [CHOWN]\n"));
  CHECK_FALSE(contains(out, "runAsNonRoot"));
  // CHOWN needs no privilege escalation through exec.
  CHECK(contains(out, "  allowPrivilegeEscalation: false\n"));
}

TEST_CASE("k8s: allowPrivilegeEscalation false only when nothing escalates",
          "[format][k8s]") {
  // SETUID needed: the workload changes identity itself.
  CHECK_FALSE(contains(render(needing(cap_bit(kSetuid)), Format::K8s),
                       "allowPrivilegeEscalation"));
  // Kubernetes refuses it together with SYS_ADMIN.
  CHECK_FALSE(contains(render(needing(cap_bit(kSysAdmin)), Format::K8s),
                       "allowPrivilegeEscalation"));
  // An exec that changed identity (a setuid program) was seen.
  Profile p = needing(0);
  p.entry(kSetuid, CheckClass::Exec).granted = 1;
  CHECK_FALSE(contains(render(p, Format::K8s), "allowPrivilegeEscalation"));
}

TEST_CASE("k8s: a non-root workload gets runAsNonRoot and its uid",
          "[format][k8s]") {
  std::string out = render(needing(0, "1000:1000"), Format::K8s);
  INFO(out);
  CHECK(contains(out, "  runAsNonRoot: true\n  runAsUser: 1000\n  "
                      "runAsGroup: 1000\n"));
  CHECK(contains(out, "  allowPrivilegeEscalation: false\n"));
  CHECK_FALSE(contains(out, "add:"));
  // A name cannot go into runAsUser: say so in a comment.
  std::string named = render(needing(0, "app"), Format::K8s);
  CHECK(contains(named, "  runAsNonRoot: true\n  # runAsUser: the uid of "
                        "'app' in the image\n"));
  // Non-root and needing a capability: it needs file capabilities, which
  // no_new_privs would block.
  std::string caps =
      render(needing(cap_bit(kNetBindService), "1000"), Format::K8s);
  CHECK_FALSE(contains(caps, "allowPrivilegeEscalation"));
  CHECK(contains(caps, "add: [NET_BIND_SERVICE]"));
}

TEST_CASE("systemd: bounding set, ambient for non-root, empty means none",
          "[format][systemd]") {
  std::string root = render(needing(cap_bit(kNetBindService) | cap_bit(kChown)),
                            Format::Systemd);
  INFO(root);
  CHECK(contains(root, "[Service]\nCapabilityBoundingSet=CAP_CHOWN "
                       "CAP_NET_BIND_SERVICE\n"));
  CHECK_FALSE(contains(root, "AmbientCapabilities"));
  CHECK_FALSE(contains(root, "User="));

  std::string user =
      render(needing(cap_bit(kNetBindService), "app:web"), Format::Systemd);
  INFO(user);
  CHECK(contains(user, "User=app\nGroup=web\n"));
  CHECK(contains(user, "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"
                       "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"));

  std::string none = render(needing(0), Format::Systemd);
  CHECK(contains(none, "\nCapabilityBoundingSet=\n"));
  CHECK(contains(none, "NoNewPrivileges=yes\n"));
  CHECK_FALSE(contains(render(needing(0, "1000"), Format::Systemd),
                       "AmbientCapabilities"));
}

TEST_CASE("oci: process.capabilities with CAP_ names, ambient for non-root",
          "[format][oci]") {
  auto root = nlohmann::json::parse(
      render(needing(cap_bit(kNetBindService) | cap_bit(kChown)), Format::Oci));
  nlohmann::json both = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"};
  CHECK(root["bounding"] == both);
  CHECK(root["effective"] == both);
  CHECK(root["permitted"] == both);
  CHECK(root["inheritable"] == nlohmann::json::array());
  CHECK(root["ambient"] == nlohmann::json::array());

  auto user = nlohmann::json::parse(
      render(needing(cap_bit(kNetBindService), "1000"), Format::Oci));
  CHECK(user["ambient"] == nlohmann::json({"CAP_NET_BIND_SERVICE"}));
  CHECK(user["inheritable"] == nlohmann::json({"CAP_NET_BIND_SERVICE"}));
}

TEST_CASE("oci --patch replaces process.capabilities and keeps the rest",
          "[format][oci]") {
  std::string config = R"({"ociVersion": "1.0.2",
    "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"],
      "capabilities": {"bounding": ["CAP_SYS_ADMIN"],
                       "effective": ["CAP_SYS_ADMIN"]}},
    "root": {"path": "rootfs"}})";
  auto patched = patch_oci_config(config, needing(cap_bit(kChown)));
  REQUIRE(patched.ok());
  auto j = nlohmann::json::parse(patched.value());
  CHECK(j["process"]["capabilities"]["bounding"] ==
        nlohmann::json({"CAP_CHOWN"}));
  CHECK(j["process"]["capabilities"]["ambient"] == nlohmann::json::array());
  CHECK(j["process"]["args"] == nlohmann::json({"sh"}));
  CHECK(j["root"]["path"] == "rootfs");

  // The bundle runs as uid 1000: ambient is needed even though the
  // profile was recorded as root.
  std::string user_config =
      R"({"process": {"user": {"uid": 1000, "gid": 1000}, "args": ["x"]}})";
  auto u = patch_oci_config(user_config, needing(cap_bit(kNetBindService)));
  REQUIRE(u.ok());
  CHECK(
      nlohmann::json::parse(u.value())["process"]["capabilities"]["ambient"] ==
      nlohmann::json({"CAP_NET_BIND_SERVICE"}));

  auto bad = patch_oci_config("{\"process\": 3}", needing(0));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message ==
        "not an OCI runtime config: no 'process' object");
  auto junk = patch_oci_config("not json", needing(0));
  REQUIRE_FALSE(junk.ok());
  CHECK(contains(junk.error().message, "invalid JSON"));
}

TEST_CASE("capsh: a setpriv line with exactly the advised set",
          "[format][capsh]") {
  CHECK(render(needing(cap_bit(kNetBindService) | cap_bit(kChown)),
               Format::Capsh) ==
        "setpriv --inh-caps=-all --bounding-set=-all,+chown,+net_bind_service "
        "-- /srv/web --port 80\n");
  CHECK(render(needing(0), Format::Capsh) ==
        "setpriv --inh-caps=-all --bounding-set=-all -- /srv/web --port 80\n");
  CHECK(render(needing(cap_bit(kNetBindService), "1000:1000"), Format::Capsh) ==
        "setpriv --reuid=1000 --regid=1000 --clear-groups "
        "--inh-caps=-all,+net_bind_service "
        "--ambient-caps=-all,+net_bind_service "
        "--bounding-set=-all,+net_bind_service -- /srv/web --port 80\n");
  Profile q = needing(0);
  q.workload.command = {"sh", "-c", "echo 'hi there'; id"};
  CHECK(render(q, Format::Capsh) ==
        "setpriv --inh-caps=-all --bounding-set=-all -- sh -c "
        "'echo '\\''hi there'\\''; id'\n");
}

TEST_CASE("shell quoting leaves plain words alone", "[format][capsh]") {
  CHECK(shell_quote("/usr/bin/x") == "/usr/bin/x");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("$HOME") == "'$HOME'");
}

TEST_CASE("every YAML and JSON format parses back with a real parser",
          "[format][roundtrip]") {
  REQUIRE_PYTHON_YAML();
  Profile root = needing(cap_bit(kNetBindService) | cap_bit(kChown));
  Profile user = needing(cap_bit(kNetBindService), "1000:1000");
  Profile none = needing(0);
  Profile sysnice = needing(0);
  // Only the broad capability seen at an either/or site: the narrow one is
  // advised in every format.
  CheckStats &s = sysnice.entry(kSysAdmin, CheckClass::Needed);
  s.granted = 1;
  s.call_sites = {"ioprio_check_cap"};

  const std::string compose_py = R"(import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
svcs = d["services"]
assert isinstance(svcs, dict) and len(svcs) >= 1, svcs
for name, svc in svcs.items():
    assert svc["cap_drop"] == ["ALL"], svc
    print(name, ",".join(svc.get("cap_add", [])))
)";
  const std::string k8s_py = R"(import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
sc = d["securityContext"]
caps = sc["capabilities"]
assert caps["drop"] == ["ALL"], caps
print(",".join(caps.get("add", [])), sc.get("runAsNonRoot"), sc.get("runAsUser"), sc.get("allowPrivilegeEscalation"))
)";
  const std::string json_py = R"(import sys, json
d = json.load(open(sys.argv[1]))
print(",".join(d["bounding"]), ",".join(d["ambient"]))
)";
  const std::string profile_py = R"(import sys, json
d = json.load(open(sys.argv[1]))
assert d["schema"] == "capscope.profile/v1"
print(",".join(d["advice"]["add"]))
)";
  const std::string systemd_py = R"(import sys, configparser
c = configparser.ConfigParser(interpolation=None, strict=True)
c.optionxform = str
c.read(sys.argv[1])
s = c["Service"]
print(repr(s["CapabilityBoundingSet"]), repr(s.get("AmbientCapabilities")))
)";
  struct Case {
    const Profile *p;
    Format f;
    const std::string *py;
    std::string expected;
  };
  std::vector<Case> cases = {
      {&root, Format::Compose, &compose_py, "web CHOWN,NET_BIND_SERVICE\n"},
      {&none, Format::Compose, &compose_py, "web \n"},
      {&sysnice, Format::Compose, &compose_py, "web SYS_NICE\n"},
      {&root, Format::K8s, &k8s_py, "CHOWN,NET_BIND_SERVICE None None False\n"},
      {&user, Format::K8s, &k8s_py, "NET_BIND_SERVICE True 1000 None\n"},
      {&none, Format::K8s, &k8s_py, " None None False\n"},
      {&sysnice, Format::K8s, &k8s_py, "SYS_NICE None None False\n"},
      {&root, Format::Oci, &json_py, "CAP_CHOWN,CAP_NET_BIND_SERVICE \n"},
      {&user, Format::Oci, &json_py,
       "CAP_NET_BIND_SERVICE CAP_NET_BIND_SERVICE\n"},
      {&none, Format::Oci, &json_py, " \n"},
      {&root, Format::Json, &profile_py, "CHOWN,NET_BIND_SERVICE\n"},
      {&sysnice, Format::Json, &profile_py, "SYS_NICE\n"},
      {&root, Format::Systemd, &systemd_py,
       "'CAP_CHOWN CAP_NET_BIND_SERVICE' None\n"},
      {&user, Format::Systemd, &systemd_py,
       "'CAP_NET_BIND_SERVICE' 'CAP_NET_BIND_SERVICE'\n"},
      {&none, Format::Systemd, &systemd_py, "'' None\n"},
  };
  for (const auto &c : cases) {
    std::string doc = render(*c.p, c.f);
    INFO("format " << static_cast<int>(c.f) << ":\n" << doc);
    PyResult r = run_python(doc, *c.py);
    INFO("python: " << r.output);
    CHECK(r.status == 0);
    CHECK(r.output == c.expected);
  }
  // Several workloads: one compose file, k8s documents, one OCI object.
  Profile db = needing(cap_bit(kChown));
  db.workload.name = "db";
  PyResult many =
      run_python(render_many({root, db}, Format::Compose), compose_py);
  CHECK(many.status == 0);
  CHECK(many.output == "web CHOWN,NET_BIND_SERVICE\ndb CHOWN\n");
  PyResult docs = run_python(render_many({root, db}, Format::K8s),
                             R"(import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    print(",".join(d["securityContext"]["capabilities"]["add"]))
)");
  CHECK(docs.status == 0);
  CHECK(docs.output == "CHOWN,NET_BIND_SERVICE\nCHOWN\n");
  (void)kSysNice;
}
