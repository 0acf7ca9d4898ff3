// test_oci_state.cpp - the runtime state parsers (core/oci_state): runc's
// state.json -> bundle, an OCI config.json's CRI and CRI-O annotations,
// docker's config.v2.json; real files from docker.io 20.10 / containerd 1.6
// (trimmed, pod names added) in tests/unit/data, and malformed inputs.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "core/oci_state.h"

using namespace capscope;

namespace {
std::string data(const std::string &name) {
  std::ifstream in(std::string(CAPSCOPE_TEST_DATA) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  REQUIRE(!ss.str().empty());
  return ss.str();
}
} // namespace

TEST_CASE("runc state names the bundle", "[oci]") {
  auto b = runc_state_bundle(data("runc_state.json"));
  REQUIRE(b);
  CHECK(*b == "/tmp/csdk.lOuv/exec/containerd/daemon/"
              "io.containerd.runtime.v2.task/capscope/ctrtest");
  CHECK_FALSE(runc_state_bundle("{}"));
  CHECK_FALSE(runc_state_bundle("not json"));
  CHECK_FALSE(runc_state_bundle(R"({"config":{"labels":["x=y"]}})"));
  CHECK_FALSE(runc_state_bundle(R"({"config":{"labels":"bundle=/x"}})"));
}

TEST_CASE("containerd CRI annotations name pod, namespace, container",
          "[oci]") {
  auto id = oci_config_identity(data("oci_config_cri.json"));
  REQUIRE(id);
  CHECK(id->pod == "web-7d4b9-xk2p");
  CHECK(id->namespace_ == "shop");
  CHECK(id->container == "nginx");
  CHECK(id->name == "nginx");
  CHECK(id->image == "docker.io/library/nginx:1.25");
  CHECK(id->sandbox_id.size() == 64);
}

TEST_CASE("CRI-O annotations name pod, namespace, container", "[oci]") {
  auto id = oci_config_identity(data("oci_config_crio.json"));
  REQUIRE(id);
  CHECK(id->pod == "web-7d4b9-xk2p");
  CHECK(id->namespace_ == "shop");
  CHECK(id->container == "nginx");
  CHECK(id->name == "k8s_nginx_web-7d4b9-xk2p_shop_0");
  CHECK(id->image == "docker.io/library/nginx:1.25");
}

TEST_CASE("an OCI config without annotations names nothing", "[oci]") {
  auto id = oci_config_identity(R"({"ociVersion":"1.0.2","annotations":{}})");
  REQUIRE(id);
  CHECK(id->pod.empty());
  CHECK(id->name.empty());
  CHECK_FALSE(oci_config_identity(R"({"ociVersion":"1.0.2"})"));
  CHECK_FALSE(oci_config_identity("[1,2]"));
  CHECK_FALSE(oci_config_identity(R"({"annotations":)"));
  // Non-string values are ignored, not thrown on.
  auto odd = oci_config_identity(
      R"({"annotations":{"io.kubernetes.cri.sandbox-name":7}})");
  REQUIRE(odd);
  CHECK(odd->pod.empty());
}

TEST_CASE("docker's config.v2.json names the container", "[oci]") {
  auto id = docker_config_identity(data("docker_config.v2.json"));
  REQUIRE(id);
  CHECK(id->name == "dk-chown");
  CHECK(id->image == "capscope-busybox");
  CHECK(id->pod == "web-7d4b9");
  CHECK(id->namespace_ == "shop");
  CHECK(id->container == "nginx");
  CHECK(id->labels.at("com.example.team") == "payments");
  CHECK(id->service.empty());
  CHECK_FALSE(docker_config_identity("{}"));
  CHECK_FALSE(docker_config_identity(""));
  auto bare = docker_config_identity(R"({"Name":"/x","Config":null})");
  REQUIRE(bare);
  CHECK(bare->name == "x");
  CHECK(bare->labels.empty());
}

TEST_CASE("a compose container names its service", "[oci]") {
  auto id = docker_config_identity(
      R"({"Name":"/proj_web_1","Config":{"Image":"busybox","Labels":{)"
      R"("com.docker.compose.project":"proj",)"
      R"("com.docker.compose.service":"web"}}})");
  REQUIRE(id);
  CHECK(id->name == "proj_web_1");
  CHECK(id->service == "web");
  CHECK(id->pod.empty());
}
