// oci_state.h - pure parsers of the container runtimes' own state files:
// runc's state.json (which bundle a container runs from), an OCI bundle's
// config.json (the annotations containerd's CRI plugin and CRI-O write:
// pod, namespace, container name) and docker's config.v2.json (name,
// image, labels). Text in, fields out: no file or /proc access here, so
// the daemon can name containers without running any runtime's CLI.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace capscope {

// What a runtime's state says about one container. Empty fields: unknown.
struct OciIdentity {
  std::string name;       // container name (docker: without the '/')
  std::string image;      // image reference
  std::string pod;        // Kubernetes pod name
  std::string namespace_; // Kubernetes namespace
  std::string container;  // Kubernetes container name (CRI)
  std::string sandbox_id; // CRI sandbox (pod) id
  std::string service;    // docker compose service
  std::map<std::string, std::string> labels; // docker labels
};

// runc's state.json: the bundle directory ("bundle=DIR" in
// config.labels). nullopt when the text is not a runc state.
std::optional<std::string> runc_state_bundle(std::string_view state_json);

// An OCI bundle's config.json: the CRI (containerd) and CRI-O annotations.
// nullopt when the text is not JSON with an annotations object.
std::optional<OciIdentity> oci_config_identity(std::string_view config_json);

// docker's <data-root>/containers/<id>/config.v2.json.
std::optional<OciIdentity> docker_config_identity(std::string_view config_json);

} // namespace capscope
