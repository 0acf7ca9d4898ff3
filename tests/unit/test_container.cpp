// test_container.cpp - container identity from cgroup paths: one real path
// shape per runtime and cgroup layout (v1, v2, hybrid), and paths that must
// not be taken for containers.
#include <catch2/catch.hpp>

#include "core/container.h"

using namespace capscope;

namespace {
const std::string kId =
    "3a7a99f55cc3cf5260719a764c307698de722ec478c5999c54e825e288351f69";
const std::string kPod = "8f2c7c3e-55aa-4b7d-9d11-0c3b1f4c2a77";
const std::string kPodUnderscore = "8f2c7c3e_55aa_4b7d_9d11_0c3b1f4c2a77";
} // namespace

TEST_CASE("each runtime's cgroup path names its container", "[container]") {
  struct Row {
    std::string path, runtime, id, pod;
  };
  const std::vector<Row> rows = {
      // podman, cgroupfs manager (these machines) and systemd manager
      {"/libpod_parent/libpod-" + kId, "podman", kId, ""},
      {"/machine.slice/libpod-" + kId + ".scope", "podman", kId, ""},
      {"/machine.slice/libpod-" + kId + ".scope/container", "podman", kId, ""},
      // docker, cgroupfs and systemd drivers
      {"/docker/" + kId, "docker", kId, ""},
      {"/system.slice/docker-" + kId + ".scope", "docker", kId, ""},
      // containerd CRI under Kubernetes, systemd and cgroupfs drivers
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
           kPodUnderscore + ".slice/cri-containerd-" + kId + ".scope",
       "containerd", kId, kPod},
      {"/kubepods/besteffort/pod" + kPod + "/" + kId, "containerd", kId, kPod},
      // cri-o
      {"/kubepods.slice/kubepods-pod" + kPodUnderscore + ".slice/crio-" + kId +
           ".scope",
       "cri-o", kId, kPod},
      // LXC (old and new layouts), systemd-nspawn
      {"/lxc/web1", "lxc", "web1", ""},
      {"/lxc.payload.web1", "lxc", "web1", ""},
      {"/machine.slice/systemd-nspawn@box.service", "nspawn", "box", ""},
      {"/machine.slice/machine-box.scope", "nspawn", "box", ""},
  };
  for (const auto &r : rows) {
    INFO(r.path);
    auto ref = container_from_cgroup_path(r.path);
    REQUIRE(ref.has_value());
    CHECK(ref->runtime == r.runtime);
    CHECK(ref->id == r.id);
    CHECK(ref->pod_uid == r.pod);
  }
}

TEST_CASE("host cgroups and runtime monitors are not containers",
          "[container]") {
  for (const std::string &path : std::vector<std::string>{
           "/", "/user.slice/user-1000.slice/session-3.scope",
           "/system.slice/sshd.service", "/init.scope",
           "/machine.slice/libpod-conmon-" + kId + ".scope",
           "/kubepods.slice/crio-conmon-" + kId + ".scope",
           // a bare hex name is no proof (this machine's own sandbox)
           "/process_api/153f0aad70479ae9479950179eead8a3", "/" + kId}) {
    INFO(path);
    CHECK_FALSE(container_from_cgroup_path(path).has_value());
  }
}

TEST_CASE("/proc/PID/cgroup in v1, v2 and hybrid layouts", "[container]") {
  const std::string v2 = "0::/system.slice/docker-" + kId + ".scope\n";
  const std::string v1 = "12:pids:/docker/" + kId + "\n11:memory:/docker/" +
                         kId + "\n1:name=systemd:/docker/" + kId + "\n";
  // Hybrid, as on these machines: v1 controllers and a unified line.
  const std::string hybrid = "9:name=systemd:/libpod_parent/libpod-" + kId +
                             "\n8:pids:/libpod_parent/libpod-" + kId +
                             "\n0::/libpod_parent/libpod-" + kId + "\n";
  for (const auto &text : {v2, v1, hybrid}) {
    INFO(text);
    auto ref = container_from_proc_cgroup(text);
    REQUIRE(ref.has_value());
    CHECK(ref->id == kId);
  }
  CHECK(container_from_proc_cgroup(hybrid)->runtime == "podman");
  CHECK(container_from_proc_cgroup(v1)->runtime == "docker");
  CHECK_FALSE(container_from_proc_cgroup("0::/user.slice\n1:name=systemd:/\n")
                  .has_value());
}

TEST_CASE("the workload key prefers Kubernetes owner, then image, then name",
          "[container]") {
  CHECK(workload_key("prod", "web", "nginx", "nginx:1.25", "c1", kId) ==
        "k8s:prod/web/nginx");
  CHECK(workload_key("", "", "", "nginx:1.25", "c1", kId) ==
        "image:nginx:1.25");
  CHECK(workload_key("", "", "", "", "c1", kId) == "name:c1");
  CHECK(workload_key("", "", "", "", "", kId) == "id:" + kId);
}
