// test_kallsyms.cpp - unit tests for /proc/kallsyms parsing, address
// resolution and the call site of a capability check.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/kallsyms.h"

using namespace capscope;

namespace {
// A slice of a real x86-64 /proc/kallsyms, out of order on purpose, with
// data symbols, aliases at one address, end-of-text markers and a module.
const char *kKallsyms = "ffffffff81a80a40 T cap_settime\n"
                        "ffffffff81000000 T _stext\n"
                        "ffffffff81000000 T _text\n"
                        "ffffffff81a80900 T cap_capable\n"
                        "ffffffff81a80980 D cap_capable_data\n"
                        "ffffffff81a81000 t security_capable\n"
                        "ffffffff81a81100 b some_bss\n"
                        "ffffffff81a81200 W weak_thing\n"
                        "ffffffff81e00000 T _etext\n"
                        "ffffffff83400000 T _sinittext\n"
                        "ffffffff83500000 T _einittext\n"
                        "ffffffffc0a01000 t ext4_fill_super\t[ext4]\n"
                        "ffffffffc0a02000 t ext4_setattr [ext4]\n"
                        "0000000000000000 A fixed_percpu_data\n"
                        "garbage line\n"
                        "\n"
                        "ffffffff81b00000 T setattr_prepare";

// The stacks recorded on kernel 6.18 (tests/unit/data/*.jsonl).
const std::vector<std::string> kChownStack = {"",
                                              "bpf_trace_run5",
                                              "cap_capable",
                                              "security_capable",
                                              "capable_wrt_inode_uidgid",
                                              "setattr_prepare",
                                              "ext4_setattr",
                                              "notify_change",
                                              "chown_common",
                                              "do_fchownat",
                                              "__x64_sys_fchownat",
                                              "do_syscall_64"};
const std::vector<std::string> kSethostnameStack = {
    "",
    "bpf_trace_run5",
    "cap_capable",
    "security_capable",
    "ns_capable",
    "__x64_sys_sethostname",
    "do_syscall_64",
    "entry_SYSCALL_64_after_hwframe"};
const std::vector<std::string> kCloneStack = {"",
                                              "bpf_trace_run5",
                                              "cap_capable",
                                              "security_capable",
                                              "ns_capable",
                                              "copy_namespaces",
                                              "copy_process",
                                              "kernel_clone",
                                              "__do_sys_clone",
                                              "do_syscall_64"};
} // namespace

TEST_CASE("an address inside a function resolves to it with its offset",
          "[kallsyms]") {
  Kallsyms k = Kallsyms::parse(kKallsyms);
  REQUIRE_FALSE(k.empty());
  std::uint64_t off = 999;
  CHECK(k.resolve(0xffffffff81a80900, &off) == "cap_capable");
  CHECK(off == 0);
  CHECK(k.resolve(0xffffffff81a80917, &off) == "cap_capable");
  CHECK(off == 0x17);
  CHECK(k.resolve(0xffffffff81a81042, &off) == "security_capable");
  CHECK(off == 0x42);
  // The last byte before the next symbol still belongs to the function.
  CHECK(k.resolve(0xffffffff81a80a3f, &off) == "cap_capable");
  CHECK(off == 0x13f);
  CHECK(k.resolve(0xffffffff81a80a40, &off) == "cap_settime");
  CHECK(off == 0);
  // The offset pointer is optional.
  CHECK(k.resolve(0xffffffff81b00010, nullptr) == "setattr_prepare");
}

TEST_CASE("only text symbols are kept from kallsyms", "[kallsyms]") {
  Kallsyms k = Kallsyms::parse(kKallsyms);
  std::uint64_t off = 0, start = 0, end = 0;
  // A data symbol between two functions does not split the function.
  CHECK(k.resolve(0xffffffff81a80990, &off) == "cap_capable");
  CHECK(off == 0x90);
  CHECK(k.resolve(0xffffffff81a81150, &off) == "security_capable");
  CHECK(off == 0x150);
  CHECK(k.resolve(0xffffffff81a81210, &off) == "security_capable");
  CHECK_FALSE(k.range("cap_capable_data", &start, &end));
  CHECK_FALSE(k.range("some_bss", &start, &end));
  CHECK_FALSE(k.range("weak_thing", &start, &end));
  CHECK_FALSE(k.range("fixed_percpu_data", &start, &end));

  CHECK(Kallsyms::parse("").empty());
  CHECK(Kallsyms::parse("ffffffff82000000 D jiffies\n"
                        "ffffffff82000100 r rodata\n")
            .empty());
}

TEST_CASE("a module suffix is not part of the symbol name", "[kallsyms]") {
  Kallsyms k = Kallsyms::parse(kKallsyms);
  std::uint64_t off = 0, start = 0, end = 0;
  CHECK(k.resolve(0xffffffffc0a01010, &off) == "ext4_fill_super");
  CHECK(off == 0x10);
  CHECK(k.resolve(0xffffffffc0a02000, &off) == "ext4_setattr");
  REQUIRE(k.range("ext4_fill_super", &start, &end));
  CHECK(start == 0xffffffffc0a01000);
  CHECK(end == 0xffffffffc0a02000);
  CHECK_FALSE(k.range("ext4_setattr [ext4]", &start, &end));
  CHECK_FALSE(k.range("[ext4]", &start, &end));
}

TEST_CASE("addresses past the end of kernel text resolve to nothing",
          "[kallsyms]") {
  Kallsyms k = Kallsyms::parse(kKallsyms);
  std::uint64_t off = 0;
  // Past _etext: BPF programs and trampolines that kallsyms does not list.
  CHECK(k.resolve(0xffffffff81e00000, &off) == "");
  CHECK(k.resolve(0xffffffff82345678, &off) == "");
  // Init text is real text again, until _einittext.
  CHECK(k.resolve(0xffffffff83400010, &off) == "_sinittext");
  CHECK(k.resolve(0xffffffff83500000, &off) == "");
  CHECK(k.resolve(0xffffffffa0001234, &off) == "");
  // Below the first symbol.
  CHECK(k.resolve(0xffffffff80000000, &off) == "");
  CHECK(k.resolve(0, &off) == "");
}

TEST_CASE("a function's range ends where the next symbol starts",
          "[kallsyms]") {
  Kallsyms k = Kallsyms::parse(kKallsyms);
  std::uint64_t start = 0, end = 0;
  REQUIRE(k.range("cap_capable", &start, &end));
  CHECK(start == 0xffffffff81a80900);
  CHECK(end == 0xffffffff81a80a40); // cap_settime, not the data symbol
  REQUIRE(k.range("cap_settime", &start, &end));
  CHECK(start == 0xffffffff81a80a40);
  CHECK(end == 0xffffffff81a81000);
  // Aliases at one address end at the next distinct address.
  REQUIRE(k.range("_stext", &start, &end));
  CHECK(start == 0xffffffff81000000);
  CHECK(end == 0xffffffff81a80900);
  // The last symbol has a one-byte range rather than none.
  REQUIRE(k.range("ext4_setattr", &start, &end));
  CHECK(start == 0xffffffffc0a02000);
  CHECK(end == start + 1);
  CHECK_FALSE(k.range("security_vm_enough_memory_mm", &start, &end));
  CHECK_FALSE(k.range("cap_capabl", &start, &end));
}

TEST_CASE("kallsyms loads from a file and an unreadable file is empty",
          "[kallsyms]") {
  char path[] = "/tmp/capscope_kallsyms_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path);
    out << kKallsyms;
  }
  Kallsyms k = Kallsyms::load(path);
  std::uint64_t off = 0;
  CHECK(k.resolve(0xffffffff81a80904, &off) == "cap_capable");
  CHECK(off == 4);
  std::remove(path);
  CHECK(Kallsyms::load("/nonexistent/capscope/kallsyms").empty());
}

TEST_CASE("capability wrappers and tracing frames are wrapper frames",
          "[kallsyms][callsite]") {
  for (const char *fn :
       {"cap_capable", "security_capable", "ns_capable", "ns_capable.cold",
        "ns_capable_noaudit", "ns_capable_setid", "capable",
        "capable_wrt_inode_uidgid", "has_ns_capability",
        "has_capability_noaudit", "file_ns_capable", "bpf_trace_run5",
        "bpf_trace_run2", "__bpf_trace_run", "__traceiter_cap_capable", ""}) {
    INFO(fn);
    CHECK(is_wrapper_frame(fn));
  }
}

TEST_CASE("the functions that ask for a capability are not wrapper frames",
          "[kallsyms][callsite]") {
  for (const char *fn :
       {"setattr_prepare", "__x64_sys_sethostname", "copy_namespaces",
        "generic_permission", "path_mount", "unshare_nsproxy_namespaces",
        "security_vm_enough_memory_mm", "cap_bprm_creds_from_file",
        "capable_foo", "do_syscall_64", "inet_bind_sk", "notify_change"}) {
    INFO(fn);
    CHECK_FALSE(is_wrapper_frame(fn));
  }
}

TEST_CASE("the call site is the first frame past the wrappers",
          "[kallsyms][callsite]") {
  CHECK(call_site_of(kChownStack) == "setattr_prepare");
  CHECK(call_site_of(kSethostnameStack) == "__x64_sys_sethostname");
  CHECK(call_site_of(kCloneStack) == "copy_namespaces");
  CHECK(call_site_of({"", "bpf_trace_run5", "cap_capable",
                      "security_vm_enough_memory_mm", "__mmap_region",
                      "do_mmap"}) == "security_vm_enough_memory_mm");
  // A .cold part of a wrapper is skipped like the wrapper itself.
  CHECK(call_site_of({"cap_capable", "ns_capable.cold", "mnt_may_suid"}) ==
        "mnt_may_suid");
  // Not a suffix match: a caller named like a wrapper is kept as is.
  CHECK(call_site_of({"cap_capable", "do_fchownat.isra.0"}) ==
        "do_fchownat.isra.0");
}

TEST_CASE("a stack of wrappers only has no call site", "[kallsyms][callsite]") {
  CHECK(call_site_of({}) == "");
  CHECK(call_site_of({"", "", ""}) == "");
  CHECK(call_site_of({"", "bpf_trace_run5", "cap_capable", "security_capable",
                      "ns_capable"}) == "");
}

TEST_CASE("the call site of a bpf(2) check is the bpf function that asked",
          "[kallsyms][callsite]") {
  CHECK(call_site_of({"", "bpf_trace_run5", "cap_capable", "security_capable",
                      "capable", "bpf_capable", "bpf_prog_load", "__sys_bpf",
                      "__x64_sys_bpf", "do_syscall_64"}) == "bpf_prog_load");
  CHECK_FALSE(is_wrapper_frame("bpf_prog_load"));
  CHECK_FALSE(is_wrapper_frame("bpf_map_alloc"));
}

TEST_CASE("an address past a module's end is not its last function",
          "[kallsyms]") {
  Kallsyms k = Kallsyms::parse(kKallsyms);
  // ext4 loaded at 0xffffffffc0a01000, 0x2000 bytes: ext4_setattr is its
  // last function and ends with the module. A BPF trampoline allocated
  // further up the module area lands after it in address order.
  k.set_modules("ext4 8192 1 - Live 0xffffffffc0a01000\n"
                "garbage line\n"
                "mbcache 4096 1 ext4, Live 0x0000000000000000\n");
  std::uint64_t off = 0;
  CHECK(k.resolve(0xffffffffc0a02ff0, &off) == "ext4_setattr");
  CHECK(off == 0xff0);
  CHECK(k.resolve(0xffffffffc0a03000, &off) == "");
  CHECK(k.resolve(0xffffffffc1234567, &off) == "");
  // Without module addresses (hidden from non-root), nothing changes.
  k.set_modules("ext4 8192 1 - Live 0x0000000000000000\n");
  CHECK(k.resolve(0xffffffffc1234567, &off) == "ext4_setattr");
}

TEST_CASE("past the kernel image only module text resolves", "[kallsyms]") {
  // Debian 12's 6.1 without modules loaded: the highest text symbol is a
  // built-in's exit function; BPF trampolines in the module area above
  // _end must not take its name.
  Kallsyms k = Kallsyms::parse("ffffffffb53c2820 T skb_mpls_push\n"
                               "ffffffffb6f0525c t mpls_gso_exit\n"
                               "ffffffffb7200000 B _end\n");
  std::uint64_t off = 0;
  CHECK(k.resolve(0xffffffffb6f05260, &off) == "mpls_gso_exit");
  CHECK(k.resolve(0xffffffffc0201234, &off) == "");
  CHECK_FALSE(k.range("_end", &off, &off));
  // With a module loaded there, its text resolves, and past it nothing.
  Kallsyms m = Kallsyms::parse("ffffffffb6f0525c t mpls_gso_exit\n"
                               "ffffffffb7200000 B _end\n"
                               "ffffffffc0a01000 t ext4_fill_super\t[ext4]\n");
  m.set_modules("ext4 8192 1 - Live 0xffffffffc0a01000\n");
  CHECK(m.resolve(0xffffffffc0a01010, &off) == "ext4_fill_super");
  CHECK(m.resolve(0xffffffffc0a04000, &off) == "");
  CHECK(m.resolve(0xffffffffc0201234, &off) == "");
  // Module addresses hidden by /proc/modules: module text still resolves.
  m.set_modules("ext4 8192 1 - Live 0x0000000000000000\n");
  CHECK(m.resolve(0xffffffffc0a01010, &off) == "ext4_fill_super");
}

TEST_CASE("BPF trampolines in kallsyms are not modules", "[kallsyms]") {
  // A trampoline listed as "[bpf]" does not switch the image-end bound off
  // as a module would; an address past _end, in no module, is unnamed.
  Kallsyms k = Kallsyms::parse(
      "ffffffffb6f0525c t mpls_gso_exit\n"
      "ffffffffb7200000 B _end\n"
      "ffffffffc0200000 t bpf_trampoline_6442482125\t[bpf]\n"
      "ffffffffc0300000 t ftrace_trampoline\t[__builtin__ftrace]\n");
  std::uint64_t off = 0;
  CHECK(k.resolve(0xffffffffc0201234, &off) == "");
  CHECK(k.resolve(0xffffffffc0401234, &off) == "");
}
