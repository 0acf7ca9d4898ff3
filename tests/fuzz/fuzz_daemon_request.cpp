// fuzz_daemon_request.cpp - one request line on the daemon's socket, as
// Daemon::serve_socket() handles it: parsed, answered by DaemonCore over a
// store holding two containers' profiles, and the reply written out.
// Invariants: the reply is a JSON object with a boolean "ok" that dumps to
// one line; an error reply says why in "error".
#include "fuzz.h"

#include <filesystem>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/json_safe.h"
#include "core/store.h"
#include "daemon/daemon_core.h"
#include "session/container_info.h"
#include "session/event_source.h"
#include "session/trace_session.h"

namespace {

using namespace capscope;

// Two replayed containers, flushed once, so list/get have answers.
struct Rig {
  std::string dir;
  ReplaySource *src = nullptr;
  std::unique_ptr<TraceSession> session;
  std::unique_ptr<ProfileStore> store;
  std::unique_ptr<DaemonCore> core;

  Rig() {
    char tmpl[] = "/tmp/capscope-fuzz-daemon-XXXXXX";
    if (!mkdtemp(tmpl))
      fuzz::broken("mkdtemp");
    dir = tmpl;
    auto s = std::make_unique<ReplaySource>();
    src = s.get();
    session = std::make_unique<TraceSession>(std::move(s));
    session->resolver().set_lookup(
        std::make_shared<IdentityLookup>([](ContainerIdentity &ci) {
          ci.name = ci.ref.id.rfind("aaa", 0) == 0 ? "web" : "db";
          ci.image = "debian:12";
        }));
    store = std::make_unique<ProfileStore>(dir);
    if (!store->open().ok())
      fuzz::broken("store open");
    core = std::make_unique<DaemonCore>(*session, *store,
                                        std::map<std::string, Profile>{});
    start(4026532001ULL, 90000001, std::string(64, 'a'));
    start(4026532002ULL, 90000002, std::string(64, 'b'));
    session->poll(0);
    session->settle_identities(2000);
    core->flush(false);
  }
  ~Rig() { std::filesystem::remove_all(dir); }

  void start(std::uint64_t scope, std::uint32_t pid, const std::string &cid) {
    src->add_scope_event(scope, pid, "/usr/sbin/nginx", "machine.slice",
                         "libpod-" + cid + ".scope");
    if (!src->track(pid, scope, CS_PHASE_ACTIVE, CS_SCOPE_CONTAINER).ok())
      fuzz::broken("track");
    std::istringstream in(
        R"({"cap":"NET_BIND_SERVICE","syscall":"bind","pid":)" +
        std::to_string(pid) + R"(,"count":3})" + "\n");
    if (!src->add_stream(in, scope).ok())
      fuzz::broken("add_stream");
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  static Rig rig;
  std::string line(capscope::fuzz::as_text(data, size));
  nlohmann::json reply;
  try {
    reply = rig.core->answer(nlohmann::json::parse(line));
  } catch (const std::exception &) {
    reply = {{"ok", false}, {"error", "malformed request"}};
  }
  FUZZ_CHECK(reply.is_object() && reply.contains("ok") &&
             reply["ok"].is_boolean());
  if (!reply["ok"].get<bool>())
    FUZZ_CHECK(reply.contains("error") && reply["error"].is_string());
  std::string out = capscope::json_text(reply);
  FUZZ_CHECK(out.find('\n') == std::string::npos);
  return 0;
}
