// daemon_client.cpp - the daemon lookup behind `advise ID|NAME`: a request
// over the daemon's socket (daemon/protocol.h).
#include "cli/daemon_client.h"

#include "daemon/protocol.h"

namespace capscope {

Result<Profile> fetch_daemon_profile(const std::string &id_or_name,
                                     const std::string &socket) {
  auto p = daemon_get_profile(socket, id_or_name);
  if (!p && p.error().err == ENOENT)
    return Error{ENOENT, "no such profile file '" + id_or_name + "', and " +
                             p.error().message};
  return p;
}

} // namespace capscope
