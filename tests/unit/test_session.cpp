// test_session.cpp - unit tests for the pure parts of the session layer:
// the PATH search with execvp's semantics and verify's podman command line.
#include <catch2/catch.hpp>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "core/caps.h"
#include "core/kallsyms.h"
#include "core/noise.h"
#include "session/podman_command.h"
#include "session/trace_session.h"
#include "session/workload.h"

using namespace capscope;

namespace {

// exec_search against a table of what each path's exec would say; records
// the paths tried.
int search(const std::vector<std::string> &cands,
           const std::map<std::string, int> &errs,
           std::vector<std::string> *tried, std::string *ran = nullptr) {
  return exec_search(cands, [&](const std::string &p) {
    tried->push_back(p);
    auto it = errs.find(p);
    int e = it == errs.end() ? ENOENT : it->second;
    if (e == 0 && ran) // a real exec would not return
      *ran = p;
    return e == 0 ? -1 : e;
  });
}

} // namespace

TEST_CASE("PATH candidates in order, empty entry = current directory",
          "[session][path]") {
  CHECK(path_candidates("ls", "/a:/b") ==
        std::vector<std::string>{"/a/ls", "/b/ls"});
  CHECK(path_candidates("ls", "/a::/b") ==
        std::vector<std::string>{"/a/ls", "./ls", "/b/ls"});
  CHECK(path_candidates("./x", "/a") == std::vector<std::string>{"./x"});
  CHECK(path_candidates("sh", nullptr).size() == 3);
}

TEST_CASE("the PATH search goes on past an entry that refuses (EACCES)",
          "[session][path]") {
  // PATH=/root/bin:/usr/bin for a non-root user: /root/bin is 0700.
  std::vector<std::string> tried;
  std::string ran;
  int e = search({"/root/bin/python3", "/usr/bin/python3"},
                 {{"/root/bin/python3", EACCES}, {"/usr/bin/python3", 0}},
                 &tried, &ran);
  CHECK(ran == "/usr/bin/python3");
  CHECK(e == -1);
  CHECK(tried.size() == 2);
}

TEST_CASE("EACCES is reported only when nothing later is found",
          "[session][path]") {
  std::vector<std::string> tried;
  CHECK(search({"/a/x", "/b/x", "/c/x"}, {{"/a/x", EACCES}}, &tried) == EACCES);
  CHECK(tried.size() == 3);
  tried.clear();
  CHECK(search({"/a/x", "/b/x"}, {{"/b/x", ENOTDIR}}, &tried) == ENOENT);
  CHECK(tried.size() == 2);
}

TEST_CASE("another exec error ends the search", "[session][path]") {
  std::vector<std::string> tried;
  CHECK(search({"/a/x", "/b/x"}, {{"/a/x", ENOEXEC}, {"/b/x", 0}}, &tried) ==
        ENOEXEC);
  CHECK(tried.size() == 1);
}

TEST_CASE("resolve_command: not found is 127", "[session][path]") {
  int status = 0;
  auto r = resolve_command("capscope-no-such-command-xyz", &status);
  CHECK_FALSE(r);
  CHECK(status == 127);
  auto sh = resolve_command("sh", &status);
  REQUIRE(sh);
  CHECK(sh.value() == "sh"); // the child searches again as its user
}

TEST_CASE("verify's podman command uses the user's configuration and "
          "options",
          "[session][podman]") {
  PodmanRun r;
  r.caps = cap_bit(kNetRaw) | cap_bit(kChown);
  r.rootfs = "/srv/rootfs";
  r.user = "1000";
  r.runtime_opts = {"--runtime", "runc", "--ulimit=nofile=1024:1024"};
  r.command = {"ping", "-c1", "127.0.0.1"};
  std::vector<std::string> want = {"podman",
                                   "run",
                                   "--rm",
                                   "--cap-drop=ALL",
                                   "--cap-add=CHOWN",
                                   "--cap-add=NET_RAW",
                                   "--tmpfs",
                                   "/tmp:notmpcopyup",
                                   "--user",
                                   "1000",
                                   "--runtime",
                                   "runc",
                                   "--ulimit=nofile=1024:1024",
                                   "--rootfs",
                                   "/srv/rootfs:O",
                                   "ping",
                                   "-c1",
                                   "127.0.0.1"};
  CHECK(podman_run_command(r) == want);

  SECTION("nothing machine-specific unless the user asks") {
    PodmanRun plain;
    plain.image = "alpine";
    plain.no_new_privs = true;
    plain.command = {"true"};
    auto cmd = podman_run_command(plain);
    for (const auto &a : cmd) {
      CHECK(a.find("runc") == std::string::npos);
      CHECK(a.find("ulimit") == std::string::npos);
    }
    CHECK(cmd == std::vector<std::string>{
                     "podman", "run", "--rm", "--cap-drop=ALL",
                     "--security-opt", "no-new-privileges", "--tmpfs",
                     "/tmp:notmpcopyup", "alpine", "true"});
  }
}

TEST_CASE("CAPSCOPE_MAP_ENTRIES: map sizes for the loss tests", "[session]") {
  using Entries = std::vector<std::pair<std::string, std::uint32_t>>;
  CHECK(parse_map_entries("") == Entries{});
  CHECK(parse_map_entries("seen=16") == Entries{{"seen", 16}});
  CHECK(parse_map_entries("tasks=8,events=4096") ==
        Entries{{"tasks", 8}, {"events", 4096}});
  for (const char *bad : {"seen", "=4", "seen=", "seen=0", "seen=-1", "seen=x",
                          "seen=1234567890", "seen=4,,tasks=2"})
    CHECK_THROWS_AS(parse_map_entries(bad), Fatal);
}

TEST_CASE("the call-site cache's walks end at the syscall dispatch functions "
          "kallsyms has",
          "[session][noise]") {
  // Every name fits the BPF side's table.
  REQUIRE(syscall_dispatch_functions().size() <= CS_MAX_STOP_RANGES);
  // An x86-64 kernel: the 64-bit dispatch and the fast 32-bit one; no
  // arm64 names. A data symbol does not count; the range ends at the next
  // text symbol.
  Kallsyms k = Kallsyms::parse("ffffffff81000100 T cap_capable\n"
                               "ffffffff81000200 T security_capable\n"
                               "ffffffff81000300 T do_syscall_64\n"
                               "ffffffff81000400 t __do_fast_syscall_32\n"
                               "ffffffff81000480 T do_fast_syscall_32\n"
                               "ffffffff81000500 D invoke_syscall\n"
                               "ffffffff81000600 T entry_SYSCALL_64\n");
  TracerConfig cfg;
  cfg.stops.push_back(cs_range{1, 2, 0, 0}); // replaced, not appended to
  configure_noise(cfg, k);
  REQUIRE(cfg.stops.size() == 3);
  CHECK(cfg.stops[0].start == 0xffffffff81000300);
  CHECK(cfg.stops[0].end == 0xffffffff81000400);
  CHECK(cfg.stops[1].start == 0xffffffff81000400);
  CHECK(cfg.stops[1].end == 0xffffffff81000480);
  CHECK(cfg.stops[2].start == 0xffffffff81000480);
  CHECK(cfg.stops[2].end == 0xffffffff81000600);
  CHECK(cfg.fn_capable.start == 0xffffffff81000100);

  // No dispatch function at all: no stops (walks then end where the
  // stack ends).
  configure_noise(cfg, Kallsyms::parse("ffffffff81000100 T cap_capable\n"
                                       "ffffffff81000200 T other\n"));
  CHECK(cfg.stops.empty());
}
