// format.h - rendering a profile: the human report, the JSON profile, and
// the flags each runtime takes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/profile.h"

namespace capscope {

enum class Format { Report, Json, Docker, Podman, Nerdctl };

std::optional<Format> parse_format(std::string_view name);
std::string format_names(); // "report, json, docker, ..."

struct RenderOptions {
  bool verbose = false; // list noise classes in the report too
};

// `--cap-drop=ALL --cap-add=A --cap-add=B` (sorted, no CAP_ prefix).
std::string cap_flags_line(CapMask add);

std::string render(const Profile &p, Format f, const RenderOptions &o = {});
std::string render_report(const Profile &p, const RenderOptions &o);

// Several profiles (e.g. one per container started by a command). For the
// flag formats: one `# NAME` line before each flags line when more than one.
std::string render_many(const std::vector<Profile> &ps, Format f,
                        const RenderOptions &o = {});

} // namespace capscope
