// protocol.h - the daemon's Unix-socket protocol, shared by daemon and CLI.
// One JSON request line per connection, one JSON response, then close:
//   {"op":"list"}                 -> {"ok":true,"profiles":[summary...]}
//   {"op":"get","id":"ID|NAME"}   ->
//   {"ok":true,"profile":{capscope.profile/v1}} any failure ->
//   {"ok":false,"error":"one line"}
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/profile.h"
#include "core/result.h"

namespace capscope {

inline constexpr const char *kDefaultSocket = "/run/capscope.sock";
inline constexpr const char *kDefaultStateDir = "/var/lib/capscope";

// Client side: one request, one response. Errors are one line and say how
// to start the daemon when none is listening.
Result<nlohmann::json> daemon_request(const std::string &socket,
                                      const nlohmann::json &request);
Result<Profile> daemon_get_profile(const std::string &socket,
                                   const std::string &id_or_name);
Result<nlohmann::json> daemon_list(const std::string &socket);

} // namespace capscope
