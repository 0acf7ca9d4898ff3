// common.h - what every command needs: option checks and output; and,
// through the session layer, privilege checks, the host, clocks and the
// tracer set-up (session/system.h, session/trace_session.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/format.h"
#include "core/kallsyms.h"
#include "core/profile.h"
#include "core/result.h"
#include "loader/tracer.h"
#include "session/system.h"
#include "session/trace_session.h"

namespace capscope {

// --format NAME, or Fatal("CMD: unknown format ... (valid: ...)").
Format format_or_die(const char *cmd, const std::string &name);
// A duration option ("30s", "5m"): milliseconds, or Fatal("CMD: bad OPT").
std::int64_t duration_or_die(const char *cmd, const char *option,
                             const std::string &text);

// A saved profile, or Fatal("CMD: <why>") - for commands that take files.
Profile load_profile_or_die(const char *cmd, const std::string &path);

// Writes text to "-" (stdout), a file (atomically), or stderr when path is
// empty.
void emit_output(const std::string &path, const std::string &text);

} // namespace capscope
