// fuzz_cgroup.cpp - cgroup paths and /proc/PID/cgroup text to a container
// (podman, docker, containerd, CRI-O, Kubernetes pods). Invariant: a
// container found has a non-empty id that appears in the input.
#include "fuzz.h"

#include "core/container.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::string_view text = capscope::fuzz::as_text(data, size);
  if (auto r = capscope::container_from_cgroup_path(text)) {
    FUZZ_CHECK(!r->id.empty());
    FUZZ_CHECK(text.find(r->id) != std::string_view::npos);
  }
  if (auto r = capscope::container_from_proc_cgroup(text)) {
    FUZZ_CHECK(!r->id.empty());
    FUZZ_CHECK(text.find(r->id) != std::string_view::npos);
  }
  return 0;
}
