// version.cpp - the version strings; the commit comes from the header that
// version.cmake regenerates at every build.
#include "core/version.h"

#include "capscope_version.h"

namespace capscope {

const char *capscope_version() { return CAPSCOPE_VERSION; }

const char *capscope_commit() { return CAPSCOPE_COMMIT; }

std::string capscope_version_line() {
  return std::string(CAPSCOPE_VERSION) + " (commit " + CAPSCOPE_COMMIT + ")";
}

} // namespace capscope
