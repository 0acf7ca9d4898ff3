// daemon_client.cpp - stub: the daemon lookup for `advise ID|NAME`.
// Replace the body with a request over the daemon's socket
// (daemon/protocol.h daemon_get_profile); `advise` already routes every
// argument that is not an existing file here.
#include "cli/daemon_client.h"

#include <cerrno>

namespace capscope {

Result<Profile> fetch_daemon_profile(const std::string &id_or_name,
                                     const std::string &socket) {
  return Error{ENOENT, "no such profile file '" + id_or_name +
                           "' and no capscope daemon at " + socket +
                           " (start one with: capscope daemon)"};
}

} // namespace capscope
