// oci_state.cpp - reading runc's state.json, an OCI config.json's CRI and
// CRI-O annotations, and docker's config.v2.json (see oci_state.h).
#include "core/oci_state.h"

#include <nlohmann/json.hpp>

namespace capscope {

namespace {

using nlohmann::json;

std::optional<json> parse(std::string_view text) {
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  return j;
}

std::string str(const json &o, const char *key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>()
                                          : std::string();
}

} // namespace

std::optional<std::string> runc_state_bundle(std::string_view state_json) {
  auto j = parse(state_json);
  if (!j)
    return std::nullopt;
  auto cfg = j->find("config");
  if (cfg == j->end() || !cfg->is_object())
    return std::nullopt;
  auto labels = cfg->find("labels");
  if (labels == cfg->end() || !labels->is_array())
    return std::nullopt;
  for (const auto &l : *labels) {
    if (!l.is_string())
      continue;
    const std::string &s = l.get_ref<const std::string &>();
    if (s.rfind("bundle=", 0) == 0 && s.size() > 7)
      return s.substr(7);
  }
  return std::nullopt;
}

std::optional<OciIdentity> oci_config_identity(std::string_view config_json) {
  auto j = parse(config_json);
  if (!j)
    return std::nullopt;
  auto a = j->find("annotations");
  if (a == j->end() || !a->is_object())
    return std::nullopt;
  OciIdentity id;
  // containerd's CRI plugin.
  id.pod = str(*a, "io.kubernetes.cri.sandbox-name");
  id.namespace_ = str(*a, "io.kubernetes.cri.sandbox-namespace");
  id.container = str(*a, "io.kubernetes.cri.container-name");
  id.sandbox_id = str(*a, "io.kubernetes.cri.sandbox-id");
  id.image = str(*a, "io.kubernetes.cri.image-name");
  // CRI-O.
  if (id.pod.empty())
    id.pod = str(*a, "io.kubernetes.pod.name");
  if (id.namespace_.empty())
    id.namespace_ = str(*a, "io.kubernetes.pod.namespace");
  if (id.container.empty())
    id.container = str(*a, "io.kubernetes.container.name");
  if (id.sandbox_id.empty())
    id.sandbox_id = str(*a, "io.kubernetes.cri-o.SandboxID");
  if (id.image.empty())
    id.image = str(*a, "io.kubernetes.cri-o.ImageName");
  id.name = str(*a, "io.kubernetes.cri-o.Name");
  if (id.name.empty())
    id.name = id.container;
  return id;
}

std::optional<OciIdentity>
docker_config_identity(std::string_view config_json) {
  auto j = parse(config_json);
  if (!j)
    return std::nullopt;
  OciIdentity id;
  id.name = str(*j, "Name");
  if (!id.name.empty() && id.name[0] == '/')
    id.name.erase(0, 1);
  auto cfg = j->find("Config");
  if (cfg != j->end() && cfg->is_object()) {
    id.image = str(*cfg, "Image");
    auto l = cfg->find("Labels");
    if (l != cfg->end() && l->is_object())
      for (const auto &[k, v] : l->items())
        if (v.is_string())
          id.labels[k] = v.get<std::string>();
  }
  if (id.name.empty() && id.image.empty())
    return std::nullopt;
  // A pod made by dockershim / cri-dockerd labels its containers.
  auto label = [&](const char *k) {
    auto it = id.labels.find(k);
    return it == id.labels.end() ? std::string() : it->second;
  };
  id.pod = label("io.kubernetes.pod.name");
  id.namespace_ = label("io.kubernetes.pod.namespace");
  id.container = label("io.kubernetes.container.name");
  id.service = label("com.docker.compose.service");
  return id;
}

} // namespace capscope
