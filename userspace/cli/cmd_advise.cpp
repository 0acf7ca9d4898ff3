// cmd_advise.cpp - `capscope advise PROFILE|ID --format F`: the advice of a
// saved profile (offline) or of a workload the daemon knows, in any format;
// `--format oci --patch config.json` writes it into an OCI bundle config.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/either_or.h"
#include "core/format.h"
#include "daemon/protocol.h"

namespace capscope {

namespace {

// The profile named by `what`: a file when one exists, else the daemon's.
Profile load_or_fetch(const std::string &what, const std::string &socket) {
  struct stat st {};
  if (stat(what.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      throw Fatal("advise: " + what + " is a directory, not a profile");
    auto p = load_profile(what);
    if (!p)
      throw Fatal("advise: " + p.error().message);
    return p.value();
  }
  auto p = fetch_daemon_profile(what, socket);
  if (!p)
    throw Fatal("advise: " + p.error().message);
  return p.value();
}

void patch_config(const std::string &path, const Profile &p) {
  std::ifstream in(path);
  if (!in)
    throw Fatal("advise: cannot read OCI config " + path + ": " +
                std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  auto patched = patch_oci_config(text.str(), p);
  if (!patched)
    throw Fatal("advise: " + path + ": " + patched.error().message);
  struct stat st {};
  bool had_mode = stat(path.c_str(), &st) == 0;
  if (auto r = save_text_atomic(path, patched.value()); !r)
    throw Fatal("advise: " + r.error().message);
  if (had_mode)
    chmod(path.c_str(), st.st_mode & 07777); // keep the bundle's mode
  std::string caps;
  for (const auto &n : cap_names(final_advice(p).add))
    caps += (caps.empty() ? "CAP_" : ", CAP_") + n;
  std::fprintf(stderr,
               "capscope: advise: wrote process.capabilities (%s) "
               "to %s\n",
               caps.empty() ? "none" : caps.c_str(), path.c_str());
}

} // namespace

int run_advise(const AdviseConfig &c) {
  if (!c.prometheus.empty() || !c.workload.empty())
    return run_advise_cluster(c); // cmd_advise_cluster.cpp
  if (c.profile.empty())
    throw Fatal("advise: give a PROFILE (file, or a workload the daemon "
                "knows), or --prometheus URL --workload NAMESPACE/NAME");
  Format fmt = format_or_die("advise", c.format);
  if (!c.patch.empty()) {
    if (c.format_given && fmt != Format::Oci)
      throw Fatal("advise: --patch writes an OCI config.json; use it with "
                  "--format oci");
    fmt = Format::Oci;
  }
  Profile p = load_or_fetch(c.profile, c.socket);
  if (!c.patch.empty()) {
    patch_config(c.patch, p);
    return 0;
  }
  RenderOptions ro;
  ro.verbose = c.verbose;
  emit_output(c.output.empty() ? "-" : c.output, render(p, fmt, ro));
  return 0;
}

} // namespace capscope
