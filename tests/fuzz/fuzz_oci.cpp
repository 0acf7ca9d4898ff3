// fuzz_oci.cpp - the container runtimes' state files that the daemon reads
// to name containers: runc's state.json, an OCI bundle's config.json (CRI
// and CRI-O annotations) and docker's config.v2.json. These come from disk
// that a container's own runtime writes, so they are outside input. Also
// the OCI state a runtime writes on `capscope hook`'s stdin, and the
// io.capscope.* annotations in it (set by whoever starts a container).
// Invariants: a bundle found is a non-empty path; a hook state has an id
// and no negative pid; an accepted hook request names an absolute path;
// parsing never throws
// (an exception escaping here is a crash to libFuzzer).
#include "fuzz.h"

#include "core/oci_hook.h"
#include "core/oci_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::string_view text = capscope::fuzz::as_text(data, size);
  if (auto b = capscope::runc_state_bundle(text))
    FUZZ_CHECK(!b->empty());
  (void)capscope::oci_config_identity(text);
  (void)capscope::docker_config_identity(text);
  if (auto st = capscope::parse_oci_hook_state(text)) {
    FUZZ_CHECK(!st->id.empty() && st->pid >= 0);
    (void)capscope::hook_required(st->annotations);
    if (auto r = capscope::hook_request(st->annotations))
      FUZZ_CHECK(!r->profile.empty() && r->profile.front() == '/');
    (void)capscope::hook_safe_id(st->id);
  }
  return 0;
}
