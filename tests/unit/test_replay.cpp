// test_replay.cpp - replays check streams recorded live on kernel 6.18
// (tests/unit/data/*.jsonl) through the same classification and aggregation
// as live tracing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/aggregate.h"
#include "core/caps.h"
#include "core/profile.h"
#include "core/replay.h"
#include "core/syscalls.h"
#include "support.h"

using namespace capscope;
using namespace capscope::test;

namespace {

// Replays a recorded file and builds the profile of its command scope.
Profile replay_file(const std::string &name, std::size_t *lines = nullptr) {
  Aggregator agg = replay_data(name, 0, lines);
  REQUIRE(agg.scopes() == std::vector<std::uint64_t>{1});
  Profile p;
  p.attach_mode = "replay";
  agg.fill(p, 1);
  return p;
}

std::uint64_t total(const Profile &p, int cap, CheckClass cls) {
  const CheckStats *s = p.find(cap, cls);
  return s ? s->granted + s->denied : 0;
}

Result<std::size_t> replay_text(const std::string &text) {
  std::istringstream in(text);
  Aggregator agg;
  return replay_stream(in, agg);
}
} // namespace

TEST_CASE("replay classifies every recorded check as the kernel did",
          "[replay]") {
  std::size_t files = 0, lines = 0;
  for (const auto &entry :
       std::filesystem::directory_iterator(CAPSCOPE_TEST_DATA)) {
    if (entry.path().extension() != ".jsonl")
      continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty() || line[0] == '#')
        continue;
      INFO(entry.path().filename().string() << " line " << lineno);
      auto r = parse_replay_line(line);
      REQUIRE(r.ok());
      REQUIRE_FALSE(r->kernel_class.empty());
      CHECK(class_name(static_cast<CheckClass>(r->key.cls)) == r->kernel_class);
      ++lines;
    }
  }
  CHECK(files >= 3);
  CHECK(lines >= 15);
}

TEST_CASE("the overcommit probe in a clone never reaches the advice but the "
          "namespace check does",
          "[replay][advice]") {
  std::size_t lines = 0;
  Profile p = replay_file("clone_newuts.jsonl", &lines);
  CHECK(lines == 6);
  Advice a = advise(p);
  CHECK(a.add == cap_bit(kSysAdmin));
  CHECK(a.denied == 0);

  const CheckStats *needed = p.find(kSysAdmin, CheckClass::Needed);
  REQUIRE(needed);
  CHECK(needed->granted == 2); // copy_namespaces + sethostname
  CHECK(needed->denied == 0);
  CHECK(needed->syscalls == std::set<std::string>{"clone", "sethostname"});
  CHECK(needed->call_sites ==
        std::set<std::string>{"copy_namespaces", "__x64_sys_sethostname"});
  CHECK(needed->executables ==
        std::set<std::string>{"/work/main/build/tests/helpers/clone_newuts"});

  // The same clone(2) also probed overcommit (dup_mmap): noise.
  const CheckStats *oc = p.find(kSysAdmin, CheckClass::Overcommit);
  REQUIRE(oc);
  CHECK(oc->granted == 6 + 1 + 12);
  CHECK(oc->syscalls == std::set<std::string>{"brk", "clone", "mmap"});
  CHECK(oc->call_sites ==
        std::set<std::string>{"security_vm_enough_memory_mm"});
  CHECK(total(p, kSysAdmin, CheckClass::Setup) == 4);
  CHECK(p.checks.size() == 3);
}

TEST_CASE("a workload that only maps memory needs no capability",
          "[replay][advice]") {
  Profile p = replay_file("mem_churn.jsonl");
  Advice a = advise(p);
  CHECK(a.add == 0);
  CHECK(a.denied == 0);
  CHECK(p.find(kSysAdmin, CheckClass::Needed) == nullptr);
  CHECK(total(p, kSysAdmin, CheckClass::Overcommit) == 25 + 2 + 220);
  CHECK(total(p, kSysAdmin, CheckClass::Setup) == 4);
}

TEST_CASE("chown needs exactly CHOWN", "[replay][advice]") {
  Profile p = replay_file("chown.jsonl");
  Advice a = advise(p);
  CHECK(a.add == cap_bit(kChown));
  CHECK(a.denied == 0);
  const CheckStats *c = p.find(kChown, CheckClass::Needed);
  REQUIRE(c);
  CHECK(c->granted == 2);
  CHECK(c->syscalls == std::set<std::string>{"fchownat"});
  CHECK(c->call_sites == std::set<std::string>{"setattr_prepare"});
  CHECK(c->executables == std::set<std::string>{"/usr/bin/chown"});
  CHECK(total(p, kSysAdmin, CheckClass::Overcommit) == 18 + 3 + 8);
  CHECK(total(p, kSysAdmin, CheckClass::Setup) == 5);
  CHECK(p.find(kSysAdmin, CheckClass::Needed) == nullptr);
}

TEST_CASE("root reading another user's /proc/PID/stat needs no capability",
          "[replay][advice]") {
  Profile p = replay_file("read_other_stat.jsonl");
  Advice a = advise(p);
  CHECK(a.add == 0);
  CHECK(a.denied == 0);
  CHECK(p.find(kSysPtrace, CheckClass::Needed) == nullptr);
  const CheckStats *adv = p.find(kSysPtrace, CheckClass::Advisory);
  REQUIRE(adv);
  CHECK(adv->granted == 2);
  CHECK(adv->syscalls == std::set<std::string>{"read"});
}

TEST_CASE("a seccomp filter without no_new_privs needs SYS_ADMIN, the BPF "
          "JIT's NOAUDIT check under it does not",
          "[replay][advice]") {
  Profile p = replay_file("seccomp_install.jsonl");
  Advice a = advise(p);
  CHECK(a.add == cap_bit(kSysAdmin));
  CHECK(a.denied == 0);
  const CheckStats *needed = p.find(kSysAdmin, CheckClass::Needed);
  REQUIRE(needed);
  CHECK(needed->granted == 1);
  CHECK(needed->syscalls == std::set<std::string>{"prctl"});
  CHECK(total(p, kSysAdmin, CheckClass::Advisory) == 3); // do_jit
}

TEST_CASE("a live advisory check from a needed call site is counted needed",
          "[replay][advice]") {
  // fexit/kprobe: the kernel side calls every CAP_OPT_NOAUDIT check
  // advisory; its stack shows seccomp's gate. As recorded on Debian 12's
  // 6.1 (the first frames are the BPF program and its trampoline).
  cs_key key{};
  key.scope = 1;
  key.kind = CS_SCOPE_COMMAND;
  key.cap = kSysAdmin;
  key.syscall = syscall_number("prctl").value();
  key.cls = CS_CLASS_ADVISORY;
  CheckContext gate;
  gate.frames = {"mpls_gso_exit",    "mpls_gso_exit",      "cap_capable",
                 "security_capable", "ns_capable_noaudit", "do_seccomp",
                 "__do_sys_prctl",   "do_syscall_64"};
  Aggregator agg;
  agg.add_count({key, 4, 1, 2});
  agg.on_context(key, gate);
  // The same NOAUDIT check without a needed caller stays advisory.
  cs_key other = key;
  other.cap = kSysPtrace;
  other.syscall = syscall_number("read").value();
  CheckContext stat;
  stat.frames = {"mpls_gso_exit",      "mpls_gso_exit",
                 "cap_capable",        "security_capable",
                 "ns_capable_noaudit", "__ptrace_may_access",
                 "ptrace_may_access",  "do_task_stat"};
  agg.add_count({other, 2, 1, 2});
  agg.on_context(other, stat);
  Profile p;
  agg.fill(p, 1);
  CHECK(total(p, kSysAdmin, CheckClass::Needed) == 4);
  CHECK(total(p, kSysAdmin, CheckClass::Advisory) == 0);
  CHECK(total(p, kSysPtrace, CheckClass::Advisory) == 2);
  CHECK(advise(p).add == cap_bit(kSysAdmin));

  // record --events keeps the kernel side's class and the counted one.
  auto line = nlohmann::json::parse(replay_line(key, gate, 4));
  CHECK(line["kernel_class"] == "advisory");
  CHECK(line["class"] == "needed");
  line = nlohmann::json::parse(replay_line(other, stat, 2));
  CHECK(line["kernel_class"] == "advisory");
  CHECK(line["class"] == "advisory");
}

TEST_CASE("a malformed replay line is an error naming its line number",
          "[replay]") {
  const std::string good =
      R"({"cap":"CHOWN","syscall":"fchownat","frames":["cap_capable"]})";
  auto r = replay_text(good + "\n" + good + "\n{\"cap\": \n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("line 3") != std::string::npos);

  // Comments and blank lines are skipped but still counted.
  r = replay_text("# recorded by hand\n\n" + good + "\n[1,2]\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("line 4") != std::string::npos);
  CHECK(r.error().message.find("not a JSON object") != std::string::npos);

  r = replay_text("# only a comment\n" + good + "\n\n");
  REQUIRE(r.ok());
  CHECK(r.value() == 1);
}

TEST_CASE("an unknown capability name in a replay stream is an error",
          "[replay]") {
  auto r = replay_text(R"({"cap":"CHOWN"})"
                       "\n"
                       R"({"cap":"CAP_FLY","syscall":"mmap"})"
                       "\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("line 2") != std::string::npos);
  CHECK(r.error().message.find("CAP_FLY") != std::string::npos);

  auto single = parse_replay_line(R"({"syscall":"mmap"})");
  CHECK_FALSE(single.ok()); // "cap" is required
  auto typed = parse_replay_line(R"({"cap":21})");
  CHECK_FALSE(typed.ok());
}

TEST_CASE("a replay line carries key, context and count", "[replay]") {
  auto r = parse_replay_line(
      R"({"cap":"cap_sys_admin","denied":true,"syscall":"mount",)"
      R"("phase":"active","frames":["cap_capable","path_mount"],)"
      R"("exe":"/bin/mount","comm":"mount","pid":42,"count":3,"scope":7})");
  REQUIRE(r.ok());
  CHECK(r->key.cap == kSysAdmin);
  CHECK(r->key.denied == 1);
  CHECK(r->key.syscall == syscall_number("mount").value());
  CHECK(r->key.scope == 7);
  CHECK(r->key.kind == CS_SCOPE_CONTAINER);
  CHECK(r->key.cls == CS_CLASS_NEEDED);
  CHECK(r->ctx.frames == std::vector<std::string>{"cap_capable", "path_mount"});
  CHECK(r->ctx.exe == "/bin/mount");
  CHECK(r->ctx.comm == "mount");
  CHECK(r->ctx.pid == 42);
  CHECK(r->count == 3);
  CHECK(r->kernel_class == "");

  // Defaults: granted, once, command scope, outside any syscall.
  auto d = parse_replay_line(R"({"cap":"KILL"})");
  REQUIRE(d.ok());
  CHECK(d->key.denied == 0);
  CHECK(d->count == 1);
  CHECK(d->key.scope == 1);
  CHECK(d->key.kind == CS_SCOPE_COMMAND);
  CHECK(d->key.syscall == CS_NO_SYSCALL);
}

TEST_CASE("a live check written as a replay line reads back the same",
          "[replay]") {
  for (CheckClass cls :
       {CheckClass::Needed, CheckClass::Setup, CheckClass::Overcommit,
        CheckClass::Borrowed, CheckClass::Moot}) {
    cs_key key{};
    key.scope = 1;
    key.kind = CS_SCOPE_COMMAND;
    key.cap = kSysAdmin;
    key.denied = 0;
    key.syscall = syscall_number("clone").value();
    key.cls = static_cast<std::uint8_t>(cls);
    CheckContext ctx;
    ctx.frames = cls == CheckClass::Overcommit
                     ? std::vector<std::string>{"", "cap_capable",
                                                "security_vm_enough_memory_mm",
                                                "dup_mmap"}
                     : std::vector<std::string>{"", "cap_capable", "ns_capable",
                                                "copy_namespaces"};
    ctx.exe = "/usr/bin/unshare";
    ctx.comm = "unshare";
    ctx.pid = 1234;
    std::string line = replay_line(key, ctx, 9);
    INFO(line);
    auto r = parse_replay_line(line);
    REQUIRE(r.ok());
    CHECK(r->key.cls == key.cls);
    CHECK(r->kernel_class == class_name(cls));
    CHECK(r->key.cap == key.cap);
    CHECK(r->key.syscall == key.syscall);
    CHECK(r->key.scope == key.scope);
    CHECK(r->count == 9);
    CHECK(r->ctx.frames == ctx.frames);
    CHECK(r->ctx.exe == ctx.exe);
    CHECK(r->ctx.pid == ctx.pid);
  }
}

TEST_CASE("a moot check keeps its class through replay, only when active",
          "[replay]") {
  // Moot comes from the call's arguments (setgid(getgid()) as a user): the
  // frames alone would make it needed.
  const std::string active =
      R"({"cap":"SETGID","denied":true,"syscall":"setgid",)"
      R"("frames":["cap_capable","ns_capable_setid","__sys_setgid"],)"
      R"("kernel_class":"moot"})";
  auto r = parse_replay_line(active);
  REQUIRE(r.ok());
  CHECK(r->key.cls == CS_CLASS_MOOT);

  auto setup = parse_replay_line(
      R"({"cap":"SETGID","phase":"setup","kernel_class":"moot"})");
  REQUIRE(setup.ok());
  CHECK(setup->key.cls == CS_CLASS_SETUP);

  auto plain = parse_replay_line(
      R"({"cap":"SETGID","syscall":"setgid","frames":["__sys_setgid"]})");
  REQUIRE(plain.ok());
  CHECK(plain->key.cls == CS_CLASS_NEEDED);

  // Counted as moot: out of the advice, kept in the profile.
  Aggregator agg;
  std::istringstream in(active + "\n");
  REQUIRE(replay_stream(in, agg).ok());
  Profile p;
  agg.fill(p, 1);
  REQUIRE(p.checks.size() == 1);
  CHECK(p.checks[0].cls == CheckClass::Moot);
  CHECK(p.checks[0].denied == 1);
  CHECK(p.find(kSetgid, CheckClass::Needed) == nullptr);
}

TEST_CASE("a stream recorded on another architecture keeps its syscall names",
          "[replay][syscalls]") {
  // record --events writes names and the recording machine's arch.
  cs_key key{};
  key.scope = 1;
  key.cap = kSysAdmin;
  key.syscall = syscall_number("openat").value();
  auto line = nlohmann::json::parse(replay_line(key, CheckContext{}, 1));
  CHECK(line.at("arch") == std::string(syscall_arch()));
  CHECK(line.at("syscall") == "openat");

  // An arm64 line (openat is 56 there, 257 on x86-64) and an x86-64 one
  // with open(2), which arm64 lacks: the names survive on either build.
  for (const char *l :
       {R"({"cap":"SYS_ADMIN","syscall":"openat","arch":"aarch64"})",
        R"({"cap":"SYS_ADMIN","syscall":"open","arch":"x86_64"})",
        R"({"cap":"SYS_ADMIN","syscall":"capset","arch":"sparc"})"}) {
    INFO(l);
    auto r = parse_replay_line(l);
    REQUIRE(r.ok());
    std::string want = nlohmann::json::parse(l).at("syscall");
    auto have = syscall_arches();
    bool known = syscall_number(want) ||
                 std::find(have.begin(), have.end(), "x86_64") != have.end();
    if (known)
      CHECK(syscall_name(r->key.syscall) == want);
  }
}
