// daemon_client.h - the CLI's way to a profile the daemon holds, for
// `capscope advise ID|NAME` when the argument is not a profile file.
#pragma once

#include <string>

#include "core/profile.h"
#include "core/result.h"

namespace capscope {

// The profile the capscope daemon listening on `socket` keeps for the
// workload `id_or_name` (container id, id prefix or name). Errors are one
// line, fit to print after "capscope: advise: ".
Result<Profile> fetch_daemon_profile(const std::string &id_or_name,
                                     const std::string &socket);

} // namespace capscope
