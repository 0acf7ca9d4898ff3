// fuzz_oci.cpp - the container runtimes' state files that the daemon reads
// to name containers: runc's state.json, an OCI bundle's config.json (CRI
// and CRI-O annotations) and docker's config.v2.json. These come from disk
// that a container's own runtime writes, so they are outside input.
// Invariants: a bundle found is a non-empty path; parsing never throws
// (an exception escaping here is a crash to libFuzzer).
#include "fuzz.h"

#include "core/oci_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::string_view text = capscope::fuzz::as_text(data, size);
  if (auto b = capscope::runc_state_bundle(text))
    FUZZ_CHECK(!b->empty());
  (void)capscope::oci_config_identity(text);
  (void)capscope::docker_config_identity(text);
  return 0;
}
