// capgen.cpp - capability-check load generator for scripts/bench.sh.
//
// Makes an exact, known number of capability checks per thread with a cheap
// syscall at full speed, times its own check loop (so a tracer's start-up is
// never in the number) and prints one machine-readable line.
//
//   capgen --op ioprio|ioprio-rt|mmap|setgid|capset|procstat|alternate|
//               alternate-sites
//          --threads T --iters N
//   capgen --attach-empty          (the benchmark's floor, see below)
//
// Operations. Each is exactly ONE capability check per call, verified on
// kernel 6.18 (x86-64, root) by counting the capability:cap_capable
// tracepoint for the loop threads only (they are named "capgen-loop"):
//   bpftrace -c 'capgen --op OP --threads 2 --iters 50000' -e
//     'tracepoint:capability:cap_capable /comm == "capgen-loop"/
//      { @[args->cap, args->ret] = count(); }'
// which prints a single key with count 100000 for each op below.
// scripts/bench.sh re-runs this verification before every benchmark.
//
//   ioprio     ioprio_set(IOPRIO_WHO_PROCESS, helper, IOPRIO_PRIO_VALUE(BE, 4))
//              where `helper` is a child capgen made that runs as uid 65534
//              (one per thread, named "capgen-target"). set_task_ioprio()
//              finds the target owned by another uid and asks
//              capable(CAP_SYS_NICE); the BE class needs no capability and
//              cap_task_setioprio() asks nothing when the target's permitted
//              set is a subset of ours. => one CAP_SYS_NICE (23) check,
//              granted as root: bpftrace @[23, 0] = 100000. Its class is
//              never in doubt ("needed"), so capscope takes no stack for it.
//              This is the benchmark's main op.
//   ioprio-rt  ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(RT, 4)),
//              i.e. the real-time I/O class for oneself. NOT a CAP_SYS_NICE
//              check on this kernel: ioprio_check_cap() asks
//              capable(CAP_SYS_ADMIN) first and CAP_SYS_NICE only if that is
//              denied, so as root it is one CAP_SYS_ADMIN (21) check:
//              bpftrace @[21, 0] = 100000. SYS_ADMIN is a capability whose
//              class can be in doubt (the overcommit probe uses it), so a
//              stack-classifying tracer unwinds the stack on every call even
//              though the class turns out "needed".
//   mmap       mmap(4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
//              then munmap. A private writable mapping is accountable, so
//              mmap asks security_vm_enough_memory_mm(), whose commoncap hook
//              checks CAP_SYS_ADMIN with CAP_OPT_NOAUDIT; munmap asks
//              nothing. => one CAP_SYS_ADMIN (21) check per mmap+munmap:
//              bpftrace @[21, 0] = 100000. The overcommit probe: its class
//              ("overcommit") is only known from the kernel stack.
//
//   setgid     syscall(SYS_setgid, getgid()) as root, i.e. the gid one
//              already has (the raw syscall: glibc's setgid would signal
//              every thread). __sys_setgid asks ns_capable_setid(CAP_SETGID)
//              first, whatever the target; with gid == sgid == target the
//              call changes nothing either way. => one CAP_SETGID (6) check:
//              bpftrace @[6, 0] = 100000. SETGID is stack-classified (the
//              exec transition), and the check is moot (cs_moot.h), decided
//              per call from the syscall's argument.
//   capset     capget then capset of the very sets one has (version 3,
//              pid 0): cap_capset() -> cap_inh_is_capped() asks
//              CAP_SETPCAP on every capset(2); capget asks nothing. => one
//              CAP_SETPCAP (8) check: bpftrace @[8, 0] = 100000. Moot: the
//              new inheritable set is within the old permitted one.
//   procstat   pread of /proc/HELPER/stat (opened once), the helper a
//              uid-65534 child as for ioprio: do_task_stat() asks
//              ptrace_may_access(PTRACE_MODE_READ_FSCREDS | NOAUDIT), and
//              as the uids differ __ptrace_may_access asks
//              ns_capable_noaudit(CAP_SYS_PTRACE); cap_ptrace_access_check
//              asks nothing more (root's permitted set covers the
//              helper's). => one CAP_SYS_PTRACE (19) check per read:
//              bpftrace @[19, 0] = 100000. Advisory (NOAUDIT wrapper),
//              known only from the stack.
//
//   alternate  ioprio then mmap+munmap, in turn: TWO checks per call, one
//              CAP_SYS_NICE (needed) and one CAP_SYS_ADMIN (overcommit), so
//              a tracer sees a different key on every check. For tests of
//              exact counts when keys alternate (not timed by bench.sh).
//   alternate-sites  ioprio-rt then mmap+munmap, in turn: TWO CAP_SYS_ADMIN
//              checks per call from different call sites of different
//              classes (needed, overcommit), so a classifier that keeps
//              the last site's answer must tell them apart every time.
//
// Totals: checks = threads * iters * checks_per_op, made by the loop threads
// inside the timed loop. What capgen does outside the loop (loading, forking
// the helpers, creating and joining threads, killing the helpers) adds a few
// dozen overcommit SYS_ADMIN checks, two SETUID/SETGID checks and one KILL
// check per helper, but never a CAP_SYS_NICE one; so a tracer's SYS_NICE
// count must equal `checks` exactly for --op ioprio.
//
// Output (one line on stdout):
//   capgen op=ioprio threads=1 iters=200000 checks_per_op=1 checks=200000
//     loop_ns=... ns_per_check=... checks_per_s=... loop_cpu_ns=...
//     cpu_ns_per_check=... errors=0 cpu_ms=... maxrss_kb=...
// loop_ns is wall time from releasing all threads together until the last
// one finishes; ns_per_check = loop_ns / checks, checks_per_s its inverse.
// loop_cpu_ns is the loop threads' own CPU time (CLOCK_THREAD_CPUTIME_ID)
// summed; cpu_ns_per_check = loop_cpu_ns / checks is what one check costs
// the workload and, unlike wall time, does not grow when other work on the
// machine preempts the loop. A BPF program on the tracepoint runs in the
// checking thread, so both include its cost. cpu_ms and maxrss_kb are
// capgen's own totals (RUSAGE_SELF), so a wrapper's cost can be separated
// from capgen's.
//
// --attach-empty loads the smallest possible BPF program (r0 = 0; exit) as
// BPF_PROG_TYPE_RAW_TRACEPOINT on cap_capable, prints "attached" and waits
// for SIGINT/SIGTERM. raw_tp is the same kernel path as tp_btf (what
// capscope uses): the tracepoint calls bpf_trace_run5() directly, without
// the perf-buffer record that a classic `tracepoint:` program (bpftrace's)
// has filled for it first. It needs no libbpf: two bpf(2) calls.
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace {

// include/uapi/linux/ioprio.h, spelled out so older headers do not matter.
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassRt = 1;
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioClassBe = 2;
constexpr int kIoprioRt4 = (kIoprioClassRt << kIoprioClassShift) | 4;
constexpr int kIoprioBe4 = (kIoprioClassBe << kIoprioClassShift) | 4;
constexpr uid_t kNobody = 65534;
constexpr char kLoopComm[] = "capgen-loop";
constexpr char kTargetComm[] = "capgen-target";

enum class Op {
  Ioprio,
  IoprioRt,
  Mmap,
  Setgid,
  Capset,
  Procstat,
  Alternate,
  AlternateSites
};

struct Options {
  Op op = Op::Ioprio;
  unsigned threads = 1;
  std::uint64_t iters = 200000;
  bool attach_empty = false;
};

const char *op_name(Op op) {
  switch (op) {
  case Op::Ioprio:
    return "ioprio";
  case Op::IoprioRt:
    return "ioprio-rt";
  case Op::Mmap:
    return "mmap";
  case Op::Setgid:
    return "setgid";
  case Op::Capset:
    return "capset";
  case Op::Procstat:
    return "procstat";
  case Op::Alternate:
    return "alternate";
  case Op::AlternateSites:
    return "alternate-sites";
  }
  return "?";
}

[[noreturn]] void usage(const char *why) {
  if (why)
    std::fprintf(stderr, "capgen: %s\n", why);
  std::fprintf(
      stderr,
      "usage: capgen [--op ioprio|ioprio-rt|mmap|setgid|capset|procstat|"
      "alternate|alternate-sites] [--threads T] "
      "[--iters N]\n"
      "       capgen --attach-empty\n");
  std::exit(2);
}

std::uint64_t parse_u64(const char *s, const char *what) {
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || !end || *end || v == 0)
    usage((std::string("bad ") + what + ": " + s).c_str());
  return v;
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char * {
      if (i + 1 >= argc)
        usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--op") {
      std::string v = next();
      if (v == "ioprio")
        o.op = Op::Ioprio;
      else if (v == "ioprio-rt")
        o.op = Op::IoprioRt;
      else if (v == "mmap")
        o.op = Op::Mmap;
      else if (v == "setgid")
        o.op = Op::Setgid;
      else if (v == "capset")
        o.op = Op::Capset;
      else if (v == "procstat")
        o.op = Op::Procstat;
      else if (v == "alternate")
        o.op = Op::Alternate;
      else if (v == "alternate-sites")
        o.op = Op::AlternateSites;
      else
        usage(("unknown op " + v).c_str());
    } else if (a == "--threads") {
      o.threads = static_cast<unsigned>(parse_u64(next(), "--threads"));
    } else if (a == "--iters") {
      o.iters = parse_u64(next(), "--iters");
    } else if (a == "--attach-empty") {
      o.attach_empty = true;
    } else if (a == "-h" || a == "--help") {
      usage(nullptr);
    } else {
      usage(("unknown argument " + a).c_str());
    }
  }
  return o;
}

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// One CAP_SYS_NICE check: set the best-effort I/O priority of `target`, a
// helper process owned by another uid (set_task_ioprio's owner test fails,
// so it asks capable(CAP_SYS_NICE)).
inline int op_ioprio(pid_t target) {
  return static_cast<int>(
      syscall(SYS_ioprio_set, kIoprioWhoProcess, target, kIoprioBe4));
}

// One CAP_SYS_ADMIN check: the real-time I/O class for oneself.
inline int op_ioprio_rt() {
  return static_cast<int>(
      syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioRt4));
}

// One CAP_SYS_ADMIN check with NOAUDIT: the overcommit probe.
inline int op_mmap() {
  void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return -1;
  return munmap(p, 4096);
}

// One CAP_SETGID check (moot): setgid to the gid one has, this thread only.
inline int op_setgid(gid_t gid) {
  return static_cast<int>(syscall(SYS_setgid, gid));
}

// include/uapi/linux/capability.h, spelled out (no libcap headers needed).
struct CapHeader {
  std::uint32_t version;
  int pid;
};
struct CapData {
  std::uint32_t effective, permitted, inheritable;
};
constexpr std::uint32_t kCapVersion3 = 0x20080522;

// One CAP_SETPCAP check (moot): capset of the sets `data` already holds
// (capget asks nothing).
inline int op_capset(CapData *data) {
  CapHeader h{kCapVersion3, 0};
  return static_cast<int>(syscall(SYS_capset, &h, data));
}

// One CAP_SYS_PTRACE check (NOAUDIT): read another user's /proc/PID/stat.
inline int op_procstat(int fd) {
  char buf[512];
  return pread(fd, buf, sizeof(buf), 0) > 0 ? 0 : -1;
}

// A process that does nothing, owned by uid/gid 65534 with no capabilities,
// whose I/O priority --op ioprio sets. One per thread, so the threads do
// not contend on one task's lock. Dies with capgen (PDEATHSIG).
pid_t spawn_target() {
  int ready[2];
  if (pipe(ready) != 0) {
    std::perror("capgen: pipe");
    std::exit(1);
  }
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("capgen: fork");
    std::exit(1);
  }
  if (pid == 0) {
    close(ready[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, kTargetComm);
    char ok = 1;
    if (setresgid(kNobody, kNobody, kNobody) != 0 ||
        setresuid(kNobody, kNobody, kNobody) != 0)
      ok = 0;
    // Changing uids made it non-dumpable, which would make
    // __ptrace_may_access ask CAP_SYS_PTRACE a second time (--op procstat).
    prctl(PR_SET_DUMPABLE, 1);
    if (write(ready[1], &ok, 1) != 1)
      _exit(1);
    close(ready[1]);
    if (!ok)
      _exit(1);
    for (;;)
      pause();
  }
  close(ready[1]);
  char ok = 0;
  if (read(ready[0], &ok, 1) != 1 || !ok) {
    std::fprintf(stderr,
                 "capgen: the helper could not become uid %u "
                 "(--op ioprio must run as root)\n",
                 kNobody);
    std::exit(1);
  }
  close(ready[0]);
  return pid;
}

std::atomic<bool> g_go{false};
std::atomic<unsigned> g_ready{0};

struct ThreadResult {
  std::uint64_t errors = 0;
  int first_errno = 0;
  std::int64_t cpu_ns = 0; // the thread's CPU time inside its loop
};

std::int64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

template <typename F>
void run_loop(std::uint64_t iters, ThreadResult *r, F op) {
  // The name lets a tracer count exactly the loop's checks (comm filter).
  prctl(PR_SET_NAME, kLoopComm);
  g_ready.fetch_add(1);
  while (!g_go.load(std::memory_order_acquire)) {
  }
  std::int64_t c0 = thread_cpu_ns();
  std::uint64_t errs = 0;
  for (std::uint64_t i = 0; i < iters; i++)
    if (op() != 0) {
      if (!errs)
        r->first_errno = errno;
      errs++;
    }
  r->cpu_ns = thread_cpu_ns() - c0;
  r->errors = errs;
}

void worker(Op op, std::uint64_t iters, pid_t target, ThreadResult *r) {
  switch (op) {
  case Op::Ioprio:
    run_loop(iters, r, [target] { return op_ioprio(target); });
    break;
  case Op::IoprioRt:
    run_loop(iters, r, [] { return op_ioprio_rt(); });
    break;
  case Op::Mmap:
    run_loop(iters, r, [] { return op_mmap(); });
    break;
  case Op::Setgid: {
    gid_t gid = getgid();
    run_loop(iters, r, [gid] { return op_setgid(gid); });
    break;
  }
  case Op::Capset: {
    CapHeader h{kCapVersion3, 0};
    CapData data[2] = {};
    if (syscall(SYS_capget, &h, data) != 0) {
      std::perror("capgen: capget");
      std::exit(1);
    }
    run_loop(iters, r, [&data] { return op_capset(data); });
    break;
  }
  case Op::Procstat: {
    std::string path = "/proc/" + std::to_string(target) + "/stat";
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::perror(("capgen: " + path).c_str());
      std::exit(1);
    }
    run_loop(iters, r, [fd] { return op_procstat(fd); });
    close(fd);
    break;
  }
  case Op::Alternate:
    run_loop(iters, r,
             [target] { return op_ioprio(target) != 0 ? -1 : op_mmap(); });
    break;
  case Op::AlternateSites:
    run_loop(iters, r, [] { return op_ioprio_rt() != 0 ? -1 : op_mmap(); });
    break;
  }
}

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int attach_empty() {
  // r0 = 0; exit
  struct bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[0].imm = 0;
  insns[1].code = BPF_JMP | BPF_EXIT;
  char license[] = "GPL";
  static char log[4096];

  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
  attr.insn_cnt = 2;
  attr.insns = reinterpret_cast<std::uint64_t>(insns);
  attr.license = reinterpret_cast<std::uint64_t>(license);
  attr.log_buf = reinterpret_cast<std::uint64_t>(log);
  attr.log_size = sizeof(log);
  attr.log_level = 1;
  std::strncpy(attr.prog_name, "capgen_empty", sizeof(attr.prog_name) - 1);
  int prog =
      static_cast<int>(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
  if (prog < 0) {
    std::fprintf(stderr, "capgen: BPF_PROG_LOAD: %s\n%s\n",
                 std::strerror(errno), log);
    return 1;
  }
  char tp[] = "cap_capable";
  std::memset(&attr, 0, sizeof(attr));
  attr.raw_tracepoint.name = reinterpret_cast<std::uint64_t>(tp);
  attr.raw_tracepoint.prog_fd = static_cast<std::uint32_t>(prog);
  int link = static_cast<int>(
      syscall(SYS_bpf, BPF_RAW_TRACEPOINT_OPEN, &attr, sizeof(attr)));
  if (link < 0) {
    std::fprintf(stderr, "capgen: BPF_RAW_TRACEPOINT_OPEN cap_capable: %s\n",
                 std::strerror(errno));
    return 1;
  }
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::printf("attached (raw_tp/cap_capable, empty program)\n");
  std::fflush(stdout);
  while (!g_stop)
    pause();
  close(link);
  close(prog);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options o = parse(argc, argv);
  if (o.attach_empty)
    return attach_empty();

  std::vector<pid_t> targets(o.threads, 0);
  if (o.op == Op::Ioprio || o.op == Op::Alternate || o.op == Op::Procstat)
    for (auto &t : targets)
      t = spawn_target();

  std::vector<ThreadResult> results(o.threads);
  std::vector<std::thread> ts;
  ts.reserve(o.threads);
  for (unsigned t = 0; t < o.threads; t++)
    ts.emplace_back(worker, o.op, o.iters, targets[t], &results[t]);
  while (g_ready.load() < o.threads) {
  }
  std::int64_t t0 = now_ns();
  g_go.store(true, std::memory_order_release);
  for (auto &t : ts)
    t.join();
  std::int64_t loop_ns = now_ns() - t0;

  for (pid_t t : targets)
    if (t > 0) {
      kill(t, SIGKILL);
      waitpid(t, nullptr, 0);
    }

  const std::uint64_t per_op =
      o.op == Op::Alternate || o.op == Op::AlternateSites ? 2 : 1;
  std::uint64_t checks = std::uint64_t(o.threads) * o.iters * per_op;
  std::uint64_t errs = 0;
  int err_no = 0;
  std::int64_t loop_cpu_ns = 0;
  for (const auto &r : results) {
    errs += r.errors;
    loop_cpu_ns += r.cpu_ns;
    if (!err_no)
      err_no = r.first_errno;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu_ms = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
                  ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
  std::printf(
      "capgen op=%s threads=%u iters=%llu checks_per_op=%llu "
      "checks=%llu loop_ns=%lld ns_per_check=%.1f checks_per_s=%.0f "
      "loop_cpu_ns=%lld cpu_ns_per_check=%.1f "
      "errors=%llu cpu_ms=%.1f maxrss_kb=%ld\n",
      op_name(o.op), o.threads, static_cast<unsigned long long>(o.iters),
      static_cast<unsigned long long>(per_op),
      static_cast<unsigned long long>(checks), static_cast<long long>(loop_ns),
      double(loop_ns) / double(checks), double(checks) * 1e9 / double(loop_ns),
      static_cast<long long>(loop_cpu_ns), double(loop_cpu_ns) / double(checks),
      static_cast<unsigned long long>(errs), cpu_ms, ru.ru_maxrss);
  std::fflush(stdout);
  if (errs) {
    std::fprintf(stderr,
                 "capgen: %llu of %llu calls failed (first: %s); "
                 "run as root\n",
                 static_cast<unsigned long long>(errs),
                 static_cast<unsigned long long>(checks),
                 std::strerror(err_no));
    return 1;
  }
  return 0;
}
