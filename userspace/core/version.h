// version.h - which capscope this is: the release version and the git
// commit it was built from (--version, and every profile records it).
#pragma once

#include <string>

namespace capscope {

// "0.1.0"
const char *capscope_version();
// "3f2a9c1b2d4e", "3f2a9c1b2d4e+dirty" or "unknown" (not built from git).
const char *capscope_commit();
// "0.1.0 (commit 3f2a9c1b2d4e)"
std::string capscope_version_line();

} // namespace capscope
