// test_noise.cpp - unit tests for check classes, the noise call-site table
// and the classification that replay shares with the BPF side.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/caps.h"
#include "core/noise.h"
#include "core/replay.h"

using namespace capscope;

namespace {

// Stacks as recorded on kernel 6.18, innermost first.
const std::vector<std::string> kOvercommitMmap = {
    "",
    "bpf_trace_run5",
    "cap_capable",
    "security_vm_enough_memory_mm",
    "__mmap_region",
    "do_mmap",
    "vm_mmap_pgoff",
    "do_syscall_64"};
const std::vector<std::string> kOvercommitClone = {
    "",
    "bpf_trace_run5",
    "cap_capable",
    "security_vm_enough_memory_mm",
    "dup_mmap",
    "copy_process",
    "kernel_clone",
    "__do_sys_clone"};
const std::vector<std::string> kSethostname = {
    "",           "bpf_trace_run5",        "cap_capable",  "security_capable",
    "ns_capable", "__x64_sys_sethostname", "do_syscall_64"};
const std::vector<std::string> kNoaudit = {"",
                                           "bpf_trace_run5",
                                           "cap_capable",
                                           "security_capable",
                                           "ns_capable_noaudit",
                                           "mnt_may_suid",
                                           "do_new_mount"};
// Root reading another user's /proc/PID/stat (do_task_stat ->
// ptrace_may_access with PTRACE_MODE_NOAUDIT).
const std::vector<std::string> kProcStat = {"",
                                            "bpf_trace_run5",
                                            "cap_capable",
                                            "security_capable",
                                            "ns_capable_noaudit",
                                            "__ptrace_may_access",
                                            "ptrace_may_access",
                                            "do_task_stat",
                                            "proc_single_show"};
// prctl(PR_SET_SECCOMP) without no_new_privs: seccomp_prepare_filter,
// inlined into do_seccomp, refuses the filter unless ns_capable_noaudit.
const std::vector<std::string> kSeccompNoNnp = {
    "",
    "bpf_trace_run5",
    "cap_capable",
    "security_capable",
    "ns_capable_noaudit",
    "do_seccomp",
    "do_syscall_64",
    "entry_SYSCALL_64_after_hwframe"};
const std::vector<std::string> kExecTransition = {
    "",
    "bpf_trace_run5",
    "cap_capable",
    "security_capable",
    "ns_capable",
    "cap_bprm_creds_from_file",
    "security_bprm_creds_from_file",
    "bprm_execve"};

const CheckClass kAllClasses[] = {CheckClass::Needed,     CheckClass::Setup,
                                  CheckClass::Overcommit, CheckClass::Exec,
                                  CheckClass::Advisory,   CheckClass::Borrowed,
                                  CheckClass::Moot};
} // namespace

TEST_CASE("the overcommit probe on mmap and clone is classed overcommit",
          "[noise]") {
  CHECK(class_of_frames(kOvercommitMmap) == CheckClass::Overcommit);
  CHECK(class_of_frames(kOvercommitClone) == CheckClass::Overcommit);
  // Through cap_vm_enough_memory when the LSM hook is not inlined.
  CHECK(class_of_frames({"", "bpf_trace_run5", "cap_capable",
                         "cap_vm_enough_memory", "do_brk_flags"}) ==
        CheckClass::Overcommit);
}

TEST_CASE("sethostname in a new UTS namespace is a needed check", "[noise]") {
  CHECK(class_of_frames(kSethostname) == CheckClass::Needed);
  CHECK(class_of_frames({"", "bpf_trace_run5", "cap_capable",
                         "security_capable", "ns_capable", "copy_namespaces",
                         "copy_process"}) == CheckClass::Needed);
  CHECK(class_of_frames({}) == CheckClass::Needed);
}

TEST_CASE("a NOAUDIT wrapper in the stack makes the check advisory",
          "[noise]") {
  CHECK(class_of_frames(kNoaudit) == CheckClass::Advisory);
  CHECK(class_of_frames({"cap_capable", "has_ns_capability_noaudit",
                         "ptrace_has_cap"}) == CheckClass::Advisory);
  CHECK(class_of_frames({"cap_capable", "has_capability_noaudit",
                         "proc_pid_permission"}) == CheckClass::Advisory);
  // Compiler-made clones keep their class ("foo.part.0", "foo.cold").
  CHECK(class_of_frames({"cap_capable", "ns_capable_noaudit.part.0",
                         "mnt_may_suid"}) == CheckClass::Advisory);
}

TEST_CASE("root reading another user's /proc/PID/stat asks SYS_PTRACE "
          "advisorily",
          "[noise]") {
  CHECK(class_of_frames(kProcStat) == CheckClass::Advisory);
  CHECK(classify_check(kSysPtrace, true, kProcStat, false) ==
        CheckClass::Advisory);
}

TEST_CASE("a NOAUDIT check that decides the operation stays needed",
          "[noise]") {
  // seccomp without no_new_privs: -EACCES unless the NOAUDIT check passes.
  CHECK(class_of_frames(kSeccompNoNnp) == CheckClass::Needed);
  CHECK(classify_check(kSysAdmin, true, kSeccompNoNnp, false) ==
        CheckClass::Needed);
  // Whichever of its call sites the build keeps out of line.
  for (const char *site :
       {"seccomp_prepare_filter", "seccomp_set_mode_filter", "do_seccomp"}) {
    INFO(site);
    CHECK(class_of_frames({"cap_capable", "security_capable",
                           "ns_capable_noaudit", site}) == CheckClass::Needed);
    CHECK(class_of_frames(
              {"cap_capable", "security_capable", "ns_capable_noaudit.part.0",
               std::string(site) + ".isra.0"}) == CheckClass::Needed);
  }
  // Beyond the depth limit the wrapper alone decides, as in the kernel.
  CHECK(class_of_frames(kSeccompNoNnp, 5) == CheckClass::Advisory);
  CHECK(class_of_frames(kSeccompNoNnp, 6) == CheckClass::Needed);
  // Only the wrapper's own caller counts: the JIT's NOAUDIT check made
  // further inside do_seccomp (6.18) stays advisory.
  CHECK(class_of_frames({"", "bpf_trace_run5", "cap_capable",
                         "security_capable", "ns_capable_noaudit", "do_jit",
                         "do_seccomp"}) == CheckClass::Advisory);
  // A needed site only matters after an advisory wrapper: the overcommit
  // probe and the exec transition are decided at their own frame.
  CHECK(class_of_frames({"cap_capable", "security_vm_enough_memory_mm",
                         "do_seccomp"}) == CheckClass::Overcommit);
  CHECK(class_of_frames({"cap_capable", "cap_bprm_creds_from_file",
                         "do_seccomp"}) == CheckClass::Exec);
  CHECK(class_of_frames({"cap_capable", "do_seccomp", "ns_capable_noaudit"}) ==
        CheckClass::Needed);
}

TEST_CASE("a live advisory class gives way only to a needed call site",
          "[noise]") {
  // fexit/kprobe: advisory from CAP_OPT_NOAUDIT, whatever the stack shows.
  CHECK(live_class(CheckClass::Advisory, kSeccompNoNnp) == CheckClass::Needed);
  CHECK(live_class(CheckClass::Advisory, kProcStat) == CheckClass::Advisory);
  CHECK(live_class(CheckClass::Advisory, kNoaudit) == CheckClass::Advisory);
  // NOAUDIT at a call site the table does not list: still advisory.
  CHECK(live_class(CheckClass::Advisory, kSethostname) == CheckClass::Advisory);
  CHECK(live_class(CheckClass::Advisory, {}) == CheckClass::Advisory);
  // Other classes are the kernel side's to give.
  CHECK(live_class(CheckClass::Needed, kNoaudit) == CheckClass::Needed);
  CHECK(live_class(CheckClass::Setup, kSeccompNoNnp) == CheckClass::Setup);
  CHECK(live_class(CheckClass::Overcommit, kSeccompNoNnp) ==
        CheckClass::Overcommit);
  REQUIRE(deciding_site(kSeccompNoNnp));
  CHECK(deciding_site(kSeccompNoNnp)->function == "do_seccomp");
  REQUIRE(deciding_site(kProcStat));
  CHECK(deciding_site(kProcStat)->function == "ns_capable_noaudit");
  CHECK(deciding_site(kSethostname) == nullptr);
}

TEST_CASE("checks inside execve's credential transition are classed exec",
          "[noise]") {
  CHECK(class_of_frames(kExecTransition) == CheckClass::Exec);
}

TEST_CASE("the innermost noise frame decides the class", "[noise]") {
  // An advisory check made while mapping memory is advisory, not overcommit.
  CHECK(class_of_frames({"cap_capable", "ns_capable_noaudit",
                         "security_vm_enough_memory_mm", "do_mmap"}) ==
        CheckClass::Advisory);
  CHECK(class_of_frames({"cap_capable", "security_vm_enough_memory_mm",
                         "ns_capable_noaudit", "do_mmap"}) ==
        CheckClass::Overcommit);
}

TEST_CASE("a noise frame deeper than the depth limit leaves a check needed",
          "[noise]") {
  // The BPF side only looks at CS_CLASSIFY_DEPTH frames; so does replay.
  std::vector<std::string> frames(CS_CLASSIFY_DEPTH, "some_function");
  frames.push_back("security_vm_enough_memory_mm");
  CHECK(class_of_frames(frames) == CheckClass::Needed);
  CHECK(class_of_frames(frames, CS_CLASSIFY_DEPTH + 1) ==
        CheckClass::Overcommit);
  // The last frame inside the limit still counts.
  frames[CS_CLASSIFY_DEPTH - 1] = "cap_bprm_creds_from_file";
  CHECK(class_of_frames(frames) == CheckClass::Exec);
  CHECK(class_of_frames(kOvercommitMmap, 3) == CheckClass::Needed);
  CHECK(class_of_frames(kOvercommitMmap, 4) == CheckClass::Overcommit);
}

TEST_CASE("the capabilities only exec-time sites list need no stack "
          "outside exec",
          "[noise]") {
  CHECK(exec_only_caps() ==
        (cap_bit(kSetpcap) | cap_bit(kSetuid) | cap_bit(kSetgid)));
  // Each is in doubt, and every site listing it is an exec-time one.
  for (const auto &site : noise_sites()) {
    INFO(site.function);
    if (site.caps & exec_only_caps())
      CHECK(site.cls == CheckClass::Exec);
  }
  CHECK((exec_only_caps() & ~doubt_caps()) == 0);
}

TEST_CASE("only capabilities a noise site checks are in doubt", "[noise]") {
  CapMask doubt = doubt_caps();
  CHECK((doubt & cap_bit(kSysAdmin)) != 0);
  CHECK((doubt & cap_bit(kSetpcap)) != 0);   // exec transition
  CHECK((doubt & cap_bit(kSetuid)) != 0);    // exec transition
  CHECK((doubt & cap_bit(kSetgid)) != 0);    // exec transition
  CHECK((doubt & cap_bit(kSysPtrace)) != 0); // has_ns_capability_noaudit
  CHECK((doubt & cap_bit(kChown)) == 0);
  CHECK((doubt & cap_bit(kNetBindService)) == 0);
  CHECK((doubt & cap_bit(kSysNice)) == 0);
  CapMask advisory = 0;
  for (const auto &site : noise_sites())
    if (site.cls == CheckClass::Advisory)
      advisory |= site.caps;
  for (const auto &site : noise_sites()) {
    INFO(site.function);
    // A needed site only matters where it overrides an advisory wrapper.
    if (site.cls == CheckClass::Needed)
      CHECK((site.caps & ~advisory) == 0);
    CHECK(site.caps != 0);
    CHECK((site.caps & ~doubt) == 0);
    CHECK_FALSE(site.reason.empty());
  }
}

TEST_CASE("class names round-trip for all seven classes", "[noise]") {
  const char *names[] = {"needed",   "setup",    "overcommit", "exec",
                         "advisory", "borrowed", "moot"};
  REQUIRE(CS_CLASS__COUNT == 7);
  for (int i = 0; i < 7; ++i) {
    CheckClass c = kAllClasses[i];
    CHECK(static_cast<int>(c) == i);
    CHECK(class_name(c) == names[i]);
    CheckClass back = CheckClass::Needed;
    if (c == CheckClass::Needed)
      back = CheckClass::Borrowed;
    REQUIRE(parse_class(names[i], &back));
    CHECK(back == c);
    CHECK_FALSE(class_reason(c).empty());
  }
  CheckClass out = CheckClass::Exec;
  CHECK_FALSE(parse_class("Needed", &out));
  CHECK_FALSE(parse_class("noise", &out));
  CHECK_FALSE(parse_class("", &out));
  CHECK(out == CheckClass::Exec); // untouched on failure
}

TEST_CASE("checks before the exec gate are setup whatever their stack",
          "[noise][classify]") {
  CHECK(classify_check(kSysAdmin, false, kSethostname, false) ==
        CheckClass::Setup);
  CHECK(classify_check(kSysAdmin, false, kOvercommitMmap, false) ==
        CheckClass::Setup);
  CHECK(classify_check(kChown, false, {}, false) == CheckClass::Setup);
  CHECK(classify_check(kChown, false, {}, true) == CheckClass::Setup);
}

TEST_CASE("after the exec gate doubtful capabilities are classed by stack",
          "[noise][classify]") {
  CHECK(classify_check(kSysAdmin, true, kOvercommitMmap, false) ==
        CheckClass::Overcommit);
  CHECK(classify_check(kSysAdmin, true, kNoaudit, false) ==
        CheckClass::Advisory);
  CHECK(classify_check(kSetuid, true, kExecTransition, false) ==
        CheckClass::Exec);
  CHECK(classify_check(kSysAdmin, true, kSethostname, false) ==
        CheckClass::Needed);
  // The BPF side takes no stack for capabilities not in doubt, so a noise
  // frame cannot reclassify them; replay must agree.
  CHECK(classify_check(kChown, true, kOvercommitMmap, false) ==
        CheckClass::Needed);
}

TEST_CASE("borrowed credentials make an otherwise needed check borrowed",
          "[noise][classify]") {
  CHECK(classify_check(kChown, true, {"cap_capable", "setattr_prepare"},
                       true) == CheckClass::Borrowed);
  CHECK(classify_check(kSysAdmin, true, kSethostname, true) ==
        CheckClass::Borrowed);
  // A noise class wins over the borrowed flag, as in the kernel program.
  CHECK(classify_check(kSysAdmin, true, kOvercommitMmap, true) ==
        CheckClass::Overcommit);
}
