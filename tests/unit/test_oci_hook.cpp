// test_oci_hook.cpp - the OCI hook's pure parts (core/oci_hook): the state
// runc writes on a hook's stdin (a real one, from podman 4.3 + runc 1.1.5
// at prestart) and the io.capscope.* annotations.
#include <catch2/catch.hpp>

#include "core/oci_hook.h"

using namespace capscope;

namespace {
// Captured from podman 4.3.1 + runc 1.1.5 (prestart), trimmed.
const char *kPrestart =
    R"({"ociVersion":"1.0.2-dev","id":"ec331145efd0b114570e6aaa98bb2a5d1293edd1b329d5478270be286ff88b98","status":"creating","pid":21825,"bundle":"/var/lib/containers/storage/overlay-containers/ec33/userdata","annotations":{"io.capscope.profile":"/tmp/hookexp/o.json","io.container.manager":"libpod","io.podman.annotations.autoremove":"TRUE"}})";
const char *kPoststop =
    R"({"ociVersion":"1.0.2-dev","id":"ec331145efd0","status":"stopped","bundle":"/b","annotations":{"io.capscope.profile":"/tmp/hookexp/o.json"}})";

std::map<std::string, std::string>
ann(std::initializer_list<std::pair<const std::string, std::string>> l) {
  return {l};
}
} // namespace

TEST_CASE("the prestart state names the container, its init and its "
          "annotations",
          "[hook]") {
  auto s = parse_oci_hook_state(kPrestart);
  REQUIRE(s);
  CHECK(s->id.size() == 64);
  CHECK(s->status == "creating");
  CHECK(s->pid == 21825);
  CHECK(s->bundle.ends_with("/userdata"));
  CHECK(s->annotations.at("io.capscope.profile") == "/tmp/hookexp/o.json");
  CHECK(s->annotations.at("io.container.manager") == "libpod");

  auto p = parse_oci_hook_state(kPoststop);
  REQUIRE(p);
  CHECK(p->status == "stopped");
  CHECK(p->pid == 0);
}

TEST_CASE("a malformed state is a one-line error", "[hook]") {
  CHECK_FALSE(parse_oci_hook_state("not json"));
  CHECK_FALSE(parse_oci_hook_state("[1]"));
  CHECK(parse_oci_hook_state("{}").error().message ==
        "the OCI state on stdin has no container id");
  CHECK_FALSE(parse_oci_hook_state(R"({"id":"a","pid":"12"})"));
  CHECK_FALSE(parse_oci_hook_state(R"({"id":"a","pid":-1})"));
  CHECK(parse_oci_hook_state(R"({"id":"a","pid":null})"));
}

TEST_CASE("the annotations ask for a profile and its options", "[hook]") {
  auto r = hook_request(ann({{"io.capscope.profile", "/out/web.json"},
                             {"io.capscope.format", "docker k8s,docker"},
                             {"io.capscope.verbose", "TRUE"},
                             {"io.capscope.attach", "tracepoint"},
                             {"io.container.manager", "libpod"}}));
  REQUIRE(r);
  CHECK(r->profile == "/out/web.json");
  CHECK(r->formats == std::vector<std::string>{"docker", "k8s"});
  CHECK(r->verbose);
  CHECK_FALSE(r->required);
  CHECK(r->attach == "tracepoint");
  CHECK(r->checkpoint_ms == 30000); // the default
  CHECK(hook_format_path(r->profile, "docker") == "/out/web.docker");
  CHECK(hook_format_path("/out/web", "k8s") == "/out/web.k8s");
  // Never the profile itself.
  CHECK(hook_format_path("/out/web.docker", "docker") ==
        "/out/web.docker.docker");
  CHECK(hook_err_path("/out/web.json") == "/out/web.json.err");
}

TEST_CASE("bad annotations are refused with the annotation named", "[hook]") {
  auto msg = [](std::map<std::string, std::string> a) {
    auto r = hook_request(a);
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK(msg(ann({})) == "no io.capscope.profile annotation: nothing to record");
  CHECK(msg(ann({{"io.capscope.profile", "out.json"}})) ==
        "annotation io.capscope.profile=out.json: not an absolute path");
  CHECK(msg(ann({{"io.capscope.profile", "/out/"}})).find("directory") !=
        std::string::npos);
  CHECK(msg(ann({{"io.capscope.profile", "/o.json"},
                 {"io.capscope.format", "bogus"}}))
            .starts_with("annotation io.capscope.format=bogus: unknown "
                         "format 'bogus' (valid: report, json"));
  CHECK(msg(ann({{"io.capscope.profile", "/o.json"},
                 {"io.capscope.format", "json"}}))
            .find("the profile itself") != std::string::npos);
  CHECK(msg(ann({{"io.capscope.profile", "/o.json"},
                 {"io.capscope.verbose", "maybe"}})) ==
        "annotation io.capscope.verbose=maybe: not a boolean (true or "
        "false)");
  CHECK(msg(ann({{"io.capscope.profile", "/o.json"},
                 {"io.capscope.attach", "lsm"}}))
            .find("unknown attach mode") != std::string::npos);
  // The checkpoint interval: a duration, 0 for none, never below 1 s.
  auto cp = [&](const char *v) {
    return hook_request(ann(
        {{"io.capscope.profile", "/o.json"}, {"io.capscope.checkpoint", v}}));
  };
  REQUIRE(cp("5m"));
  CHECK(cp("5m")->checkpoint_ms == 300000);
  REQUIRE(cp(" 0 "));
  CHECK(cp(" 0 ")->checkpoint_ms == 0);
  CHECK(msg(ann({{"io.capscope.profile", "/o.json"},
                 {"io.capscope.checkpoint", "soon"}}))
            .starts_with(
                "annotation io.capscope.checkpoint=soon: not a duration"));
  CHECK(msg(ann({{"io.capscope.profile", "/o.json"},
                 {"io.capscope.checkpoint", "200ms"}}))
            .find("shorter than 1s") != std::string::npos);
  // A typo is not ignored.
  CHECK(msg(ann({{"io.capscope.profile", "/o.json"},
                 {"io.capscope.fromat", "docker"}}))
            .starts_with("unknown annotation io.capscope.fromat"));
}

TEST_CASE("io.capscope.required is read even when the request is bad",
          "[hook]") {
  CHECK(hook_required(ann(
      {{"io.capscope.required", "true"}, {"io.capscope.format", "bogus"}})));
  CHECK(hook_required(ann({{"io.capscope.required", " yes "}})));
  CHECK_FALSE(hook_required(ann({{"io.capscope.required", "false"}})));
  CHECK_FALSE(hook_required(ann({{"io.capscope.required", "garbage"}})));
  CHECK_FALSE(hook_required(ann({})));
}

TEST_CASE("only plain container ids become file names", "[hook]") {
  CHECK(hook_safe_id("ec331145efd0b114570e"));
  CHECK(hook_safe_id("k8s_web-1.abc"));
  CHECK_FALSE(hook_safe_id(""));
  CHECK_FALSE(hook_safe_id(".."));
  CHECK_FALSE(hook_safe_id("../etc/passwd"));
  CHECK_FALSE(hook_safe_id("a/b"));
}
