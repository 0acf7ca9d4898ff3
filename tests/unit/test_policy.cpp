// test_policy.cpp - Pod Security Standards levels, pod owners, the Kyverno
// and Gatekeeper renderings, cgroup-parent matching, and the cluster-wide
// advice built from Prometheus answers.
#include "support.h"

#include <bit>

#include "core/cluster.h"
#include "core/container.h"
#include "core/either_or.h"
#include "core/format.h"
#include "core/policy.h"

using namespace capscope;
using capscope::test::contains;

namespace {

Profile pod_profile(CapMask add,
                    const std::string &pod = "web-7d4b9c8f6d-x2kqz",
                    const std::string &ns = "shop") {
  Profile p;
  p.workload.kind = "container";
  p.workload.name = "web";
  p.workload.pod = pod;
  p.workload.ns = ns;
  for (int cap : caps_in(add)) {
    CheckStats &e = p.entry(cap, CheckClass::Needed);
    e.granted = 3;
    e.call_sites.insert("some_site");
  }
  return p;
}

PromSample sample(std::map<std::string, std::string> labels, double v) {
  return PromSample{std::move(labels), v};
}

} // namespace

TEST_CASE("PSS: restricted allows only NET_BIND_SERVICE", "[policy]") {
  CHECK(pss_level(0).level == PssLevel::Restricted);
  CHECK(pss_level(cap_bit(kNetBindService)).level == PssLevel::Restricted);
  CHECK(pss_summary(cap_bit(kNetBindService)) == "restricted");
  PssVerdict v = pss_level(cap_bit(kChown) | cap_bit(kNetBindService));
  CHECK(v.level == PssLevel::Baseline);
  CHECK(v.beyond_restricted == cap_bit(kChown));
  CHECK(pss_summary(cap_bit(kChown)) ==
        "baseline (restricted is prevented by CHOWN)");
}

TEST_CASE("PSS: baseline is exactly the documented thirteen", "[policy]") {
  const int allowed[] = {kAuditWrite, kChown,  kDacOverride, kFowner,
                         kFsetid,     kKill,   kMknod,       kNetBindService,
                         kSetfcap,    kSetgid, kSetpcap,     kSetuid,
                         kSysChroot};
  CapMask m = 0;
  for (int c : allowed) {
    m |= cap_bit(c);
    CHECK(pss_level(cap_bit(c)).level != PssLevel::Privileged);
  }
  CHECK(m == pss_baseline_mask());
  CHECK(std::popcount(pss_baseline_mask()) == 13);
  // Docker's default set minus NET_RAW.
  CHECK((docker_default_mask() & ~m) == cap_bit(kNetRaw));
  for (int c = 0; c < kCapCount; ++c)
    if (!(m & cap_bit(c)))
      CHECK(pss_level(cap_bit(c)).level == PssLevel::Privileged);
}

TEST_CASE("PSS: privileged names what prevents baseline and restricted",
          "[policy]") {
  CapMask add = cap_bit(kSysAdmin) | cap_bit(kNetRaw) | cap_bit(kChown) |
                cap_bit(kNetBindService);
  PssVerdict v = pss_level(add);
  CHECK(v.level == PssLevel::Privileged);
  CHECK(v.beyond_baseline == (cap_bit(kSysAdmin) | cap_bit(kNetRaw)));
  CHECK(pss_summary(add) == "privileged (baseline is prevented by NET_RAW, "
                            "SYS_ADMIN; restricted also by CHOWN)");
  CHECK(pss_summary(cap_bit(kBpf)) ==
        "privileged (baseline is prevented by BPF)");
}

TEST_CASE("the report and the k8s format state the PSS level", "[policy]") {
  Profile p = pod_profile(cap_bit(kChown));
  CHECK(contains(render(p, Format::Report),
                 "Pod Security Standards (capabilities): baseline (restricted "
                 "is prevented by CHOWN)"));
  CHECK(contains(render(p, Format::K8s),
                 "# Pod Security Standards level (capabilities): baseline "
                 "(restricted is prevented by CHOWN)"));
  CHECK(contains(render(pod_profile(0), Format::K8s),
                 "(capabilities): restricted\n"));
}

TEST_CASE("pod owners from generated pod names", "[policy]") {
  CHECK(pod_owner("web-7d4b9c8f6d-x2kqz") == "web");      // Deployment
  CHECK(pod_owner("my-app-5c9f8b7d4-zx2lw") == "my-app"); // 9-char hash
  CHECK(pod_owner("node-agent-x2kqz") == "node-agent");   // DaemonSet
  CHECK(pod_owner("db-0") == "db");                       // StatefulSet
  CHECK(pod_owner("db-12") == "db");
  CHECK(pod_owner("standalone") == "standalone"); // bare pod
  CHECK(pod_owner("my-pod-abc") == "my-pod-abc"); // not generated
  CHECK(pod_owner("web-aeiou") == "web-aeiou");   // vowels: not k8s' alphabet
  CHECK(pod_owner("") == "");
}

TEST_CASE("policy match: namespace and owner prefix, else said plainly",
          "[policy]") {
  PolicyMatch m = policy_match(pod_profile(0).workload);
  CHECK(m.ns == "shop");
  CHECK(m.name_glob == "web-*");
  CHECK(m.specific);
  Workload docker;
  docker.kind = "container";
  docker.name = "files";
  m = policy_match(docker);
  CHECK_FALSE(m.specific);
  CHECK(m.name_glob.empty());
  CHECK(contains(m.description, "every Pod"));
  CHECK(k8s_name("capscope-Shop_Web..x") == "capscope-shop-web-x");
  CHECK(k8s_name(std::string(100, 'a')).size() == 63);
}

TEST_CASE("kyverno: allowed list, drop ALL, match, Enforce when specific",
          "[policy]") {
  std::string y = render(
      pod_profile(cap_bit(kNetBindService) | cap_bit(kChown)), Format::Kyverno);
  CHECK(contains(y, "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\n"));
  CHECK(contains(y, "name: capscope-shop-web\n"));
  CHECK(contains(y, "namespaces: [\"shop\"]"));
  CHECK(contains(y, "names: [\"web-*\"]"));
  CHECK(contains(y, "value: [\"CHOWN\", \"NET_BIND_SERVICE\", \"\"]"));
  CHECK(contains(y, "failureAction: Enforce"));
  CHECK(contains(y, "- key: ALL\n"));
  CHECK_FALSE(contains(y, "CAP_"));
  CHECK(contains(y, "# Pod Security Standards level of this advice "
                    "(capabilities): baseline"));
  Profile docker = pod_profile(0, "", "");
  y = render(docker, Format::Kyverno);
  CHECK(contains(y, "failureAction: Audit"));
  CHECK_FALSE(contains(y, "namespaces:"));
  CHECK(contains(y, "value: [\"\"]"));
}

TEST_CASE("gatekeeper: K8sPSPCapabilities parameters", "[policy]") {
  std::string y = render(pod_profile(cap_bit(kChown)), Format::Gatekeeper);
  CHECK(contains(y, "apiVersion: constraints.gatekeeper.sh/v1beta1\n"
                    "kind: K8sPSPCapabilities\n"));
  CHECK(contains(y, "allowedCapabilities: [\"CHOWN\"]\n"));
  CHECK(contains(y, "requiredDropCapabilities: [\"ALL\"]\n"));
  CHECK(contains(y, "name: \"web-*\""));
  CHECK_FALSE(contains(y, "enforcementAction"));
  y = render(pod_profile(0, "", ""), Format::Gatekeeper);
  CHECK(contains(y, "enforcementAction: dryrun"));
  CHECK(contains(y, "allowedCapabilities: []\n"));
}

TEST_CASE("kyverno and gatekeeper are listed formats, several profiles are "
          "YAML documents",
          "[policy]") {
  CHECK(parse_format("kyverno") == Format::Kyverno);
  CHECK(parse_format("gatekeeper") == Format::Gatekeeper);
  CHECK(contains(format_names(), "kyverno, gatekeeper"));
  std::string y =
      render_many({pod_profile(0), pod_profile(cap_bit(kKill), "api-0")},
                  Format::Gatekeeper);
  CHECK(capscope::test::count_of(y, "---\n") == 2);
}

TEST_CASE("cgroup parent matching", "[policy]") {
  CHECK(cgroup_under("/capscope-a/abc", "/capscope-a"));
  CHECK(cgroup_under("/capscope-a/abc", "/capscope-a/"));
  CHECK(cgroup_under("/capscope-a", "/capscope-a"));
  CHECK_FALSE(cgroup_under("/capscope-ab/x", "/capscope-a"));
  CHECK_FALSE(cgroup_under("/other/x", "/capscope-a"));
  CHECK(cgroup_under("/anything", "/"));
  CHECK(cgroup_under("/capscope-a/x", "/deep/capscope-a", true));
  CHECK_FALSE(cgroup_under("/capscope-a/x", "/deep/capscope-a", false));
  CHECK_FALSE(cgroup_under("", "/capscope-a", true));
  // Hybrid hierarchies: the unified path first, the root left out.
  auto paths = cgroup_paths("4:memory:/cs-a/c1\n1:name=systemd:/cs-a/c1\n"
                            "2:cpu:/\n0::/cs-u/c1\n");
  REQUIRE(paths.size() == 2);
  CHECK(paths[0] == "/cs-u/c1");
  CHECK(paths[1] == "/cs-a/c1");
  CHECK(cgroup_paths("0::/\n").empty());
}

TEST_CASE("workload references", "[cluster]") {
  auto r = parse_workload_ref("shop/web");
  REQUIRE(r);
  CHECK(r.value().first == "shop");
  CHECK(r.value().second == "web");
  for (const char *bad : {"web", "/web", "shop/", "a/b/c", ""})
    CHECK_FALSE(parse_workload_ref(bad));
  CHECK(prom_checks_query("shop", "web.v2", "3600s") ==
        "max_over_time(capscope_checks_total{kind=\"container\","
        "namespace=\"shop\",pod=~\"web\\\\.v2(-.+)?\"}[3600s])");
}

TEST_CASE("Prometheus answers: vectors and one-line errors", "[cluster]") {
  auto ok = parse_prom_vector(
      R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"cap":"CHOWN"},"value":[1700000000.1,"7"]}]}})");
  REQUIRE(ok);
  REQUIRE(ok.value().size() == 1);
  CHECK(ok.value()[0].labels.at("cap") == "CHOWN");
  CHECK(ok.value()[0].value == 7);
  auto err = parse_prom_vector(
      R"({"status":"error","errorType":"bad_data","error":"parse error"})");
  REQUIRE_FALSE(err);
  CHECK(err.error().message == "Prometheus: bad_data: parse error");
  CHECK_FALSE(parse_prom_vector("<html>"));
  CHECK_FALSE(parse_prom_vector(
      R"({"status":"success","data":{"resultType":"matrix","result":[]}})"));
}

TEST_CASE("cluster advice: replicas on two nodes add up", "[cluster]") {
  auto lab = [](const char *inst, const char *pod, const char *id,
                const char *cap, const char *cls, const char *verdict) {
    return std::map<std::string, std::string>{
        {"instance", inst},   {"namespace", "shop"},
        {"pod", pod},         {"container", "web"},
        {"id", id},           {"cap", cap},
        {"class", cls},       {"verdict", verdict},
        {"kind", "container"}};
  };
  std::vector<PromSample> checks = {
      sample(lab("n1:9464", "web-7d4b9c8f6d-x2kqz", "id1", "CHOWN", "needed",
                 "granted"),
             2),
      sample(lab("n2:9464", "web-7d4b9c8f6d-b5rtz", "id2", "CHOWN", "needed",
                 "granted"),
             3),
      sample(lab("n2:9464", "web-7d4b9c8f6d-b5rtz", "id2", "KILL", "needed",
                 "granted"),
             1),
      sample(lab("n2:9464", "web-7d4b9c8f6d-b5rtz", "id2", "SYS_ADMIN",
                 "overcommit", "granted"),
             9),
      // Another workload whose name starts the same: not ours.
      sample(lab("n1:9464", "web-admin-7d4b9c8f6d-c7rtz", "id3", "NET_RAW",
                 "needed", "granted"),
             1),
  };
  auto c = cluster_advice(checks, {}, "shop", "web", 1'700'000'000'000'000'000,
                          3600);
  REQUIRE(c);
  CHECK(c.value().nodes.size() == 2);
  CHECK(c.value().containers.size() == 2);
  REQUIRE(c.value().profiles.size() == 1);
  const Profile &p = c.value().profiles[0];
  CHECK(p.runs == 2);
  CHECK(p.find(kChown, CheckClass::Needed)->granted == 5);
  CHECK(advise(p).add == (cap_bit(kChown) | cap_bit(kKill)));
  CHECK(contains(render(p, Format::Docker),
                 "--cap-drop=ALL --cap-add=CHOWN --cap-add=KILL"));
  CHECK(contains(cluster_summary(c.value()),
                 "2 nodes (n1:9464, n2:9464), 2 containers"));
  auto none = cluster_advice(checks, {}, "shop", "api", 0, 60);
  REQUIRE_FALSE(none);
  CHECK(contains(none.error().message, "no capscope_checks_total series for "
                                       "workload shop/api"));
}

TEST_CASE("cluster advice: call sites from capscope_check_sites refine it",
          "[cluster]") {
  std::map<std::string, std::string> l{
      {"instance", "n1:9464"}, {"namespace", "shop"}, {"pod", "io-0"},
      {"container", "io"},     {"id", "id1"},         {"cap", "SYS_ADMIN"},
      {"class", "needed"},     {"verdict", "granted"}};
  std::vector<PromSample> checks = {sample(l, 4)};
  // Without the sites the broad capability stays.
  auto plain = cluster_advice(checks, {}, "shop", "io", 0, 60);
  REQUIRE(plain);
  CHECK(final_advice(plain.value().profiles[0]).add == cap_bit(kSysAdmin));
  // ioprio_check_cap asks SYS_ADMIN first and also accepts SYS_NICE.
  auto site = l;
  site.erase("verdict");
  site["call_site"] = "ioprio_check_cap";
  auto refined = cluster_advice(checks, {sample(site, 1)}, "shop", "io", 0, 60);
  REQUIRE(refined);
  CHECK(final_advice(refined.value().profiles[0]).add == cap_bit(kSysNice));
}

TEST_CASE("cluster workloads: namespace and pod owner of each series",
          "[cluster]") {
  std::vector<PromSample> s = {
      sample({{"namespace", "shop"}, {"pod", "web-7d4b9c8f6d-x2kqz"}}, 1),
      sample({{"namespace", "shop"}, {"pod", "web-7d4b9c8f6d-b5rtz"}}, 1),
      sample({{"namespace", "shop"}, {"pod", "db-0"}}, 1),
      sample({{"namespace", ""}, {"pod", ""}}, 1)};
  auto w = cluster_workloads(s);
  REQUIRE(w.size() == 2);
  CHECK(w[0] == std::make_pair(std::string("shop"), std::string("db")));
  CHECK(w[1] == std::make_pair(std::string("shop"), std::string("web")));
  CHECK(prom_all_query("capscope_check_sites", "60s") ==
        "max_over_time(capscope_check_sites{kind=\"container\"}[60s])");
}
