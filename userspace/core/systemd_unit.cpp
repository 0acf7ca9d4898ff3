// systemd_unit.cpp - unit names and unit cgroups (see systemd_unit.h).
#include "core/systemd_unit.h"

#include <cerrno>

namespace capscope {

Result<std::string> unit_name(std::string_view given) {
  if (given.empty())
    return Error{EINVAL, "empty unit name"};
  if (given.size() > 255)
    return Error{EINVAL, "unit name longer than 255 characters"};
  for (char c : given)
    if (c == '/' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return Error{EINVAL, "'" + std::string(given) +
                               "' is no unit name (no '/', spaces or "
                               "control characters)"};
  for (std::string_view s : {".service", ".scope"})
    if (given.size() > s.size() && given.ends_with(s))
      return std::string(given);
  // Units whose own cgroup holds no workload of their own.
  for (std::string_view s : {".target", ".path", ".timer", ".socket", ".slice",
                             ".mount", ".automount", ".swap", ".device"})
    if (given.ends_with(s))
      return Error{EINVAL, "'" + std::string(given) + "' is a " +
                               std::string(s.substr(1)) +
                               " unit; record the .service it starts"};
  return std::string(given) + ".service";
}

std::optional<std::string> unit_cgroup_in(std::string_view text,
                                          std::string_view unit) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text =
        nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    // "ID:CONTROLLERS:PATH"; the path may itself hold ':'.
    auto c1 = line.find(':');
    if (c1 == std::string_view::npos)
      continue;
    auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos)
      continue;
    std::string_view path = line.substr(c2 + 1);
    std::size_t pos = 0;
    while (pos < path.size()) {
      if (path[pos] != '/')
        break;
      auto end = path.find('/', pos + 1);
      std::string_view comp = path.substr(
          pos + 1,
          (end == std::string_view::npos ? path.size() : end) - pos - 1);
      if (comp == unit)
        return std::string(path.substr(0, pos + 1 + comp.size()));
      if (end == std::string_view::npos)
        break;
      pos = end;
    }
  }
  return std::nullopt;
}

} // namespace capscope
