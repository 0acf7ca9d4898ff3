// format.h - rendering a profile: the human report, the JSON profile, and
// the exact syntax each ecosystem takes (runtime flags, compose, a
// Kubernetes securityContext, a systemd unit, an OCI config, setpriv).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/profile.h"
#include "core/result.h"

namespace capscope {

enum class Format {
  Report,
  Json,
  Docker,
  Podman,
  Nerdctl,
  Compose,
  K8s,
  Systemd,
  Oci,
  Capsh,
  Kyverno,   // core/policy.h
  Gatekeeper // core/policy.h
};

std::optional<Format> parse_format(std::string_view name);
std::string format_names(); // "report, json, docker, ..."

struct RenderOptions {
  bool verbose = false; // list noise classes in the report too
};

// `--cap-drop=ALL --cap-add=A --cap-add=B` (sorted, no CAP_ prefix).
std::string cap_flags_line(CapMask add);

std::string render(const Profile &p, Format f, const RenderOptions &o = {});
std::string render_report(const Profile &p, const RenderOptions &o);
// The report's warnings about the recording's losses (lost events, kernel
// maps that overflowed), one line each; none when nothing was lost.
std::vector<std::string> loss_warnings(const Profile &p);

// Several profiles (e.g. one per container started by a command). Flag
// formats: one `# NAME` line before each; compose: one file with a service
// each; k8s: one YAML document each; json and oci: one array.
std::string render_many(const std::vector<Profile> &ps, Format f,
                        const RenderOptions &o = {});

// The `process.capabilities` object of an OCI runtime config.json:
// bounding/effective/permitted = add (CAP_ names); inheritable and ambient
// the same when the process runs as a non-root user (the only way such a
// process keeps capabilities across exec), else empty.
nlohmann::json oci_capabilities(CapMask add, bool non_root);

// Writes the advice of `p` into the text of an existing OCI config.json
// (process.capabilities). The config's own process.user.uid also decides
// whether ambient capabilities are needed. Errors are one line.
Result<std::string> patch_oci_config(const std::string &config_text,
                                     const Profile &p);

// POSIX shell quoting of one word ('...' when needed).
std::string shell_quote(const std::string &word);

} // namespace capscope
