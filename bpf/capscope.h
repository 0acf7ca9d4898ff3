/* capscope.h - the one ABI header shared by the BPF programs and user space.
 *
 * Fixed-width types only, no pointers, no includes beyond the basic types, so
 * both clang -target bpf and g++ see the same layout. The layout is locked
 * by the asserts at the end of this file, which both compilers check. Bump
 * CS_ABI_VERSION on any change.
 */
#ifndef CAPSCOPE_ABI_H
#define CAPSCOPE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CS_ABI_VERSION 7

/* Kernel stack frames carried by a first-seen event and examined to classify
 * checks whose class can be in doubt. */
#define CS_STACK_DEPTH 12
/* Frames taken for doubtful capabilities when the stack-free path cannot
 * decide. Below the tracepoint sit the BPF program, bpf_trace_run5 and
 * cap_capable (plus __traceiter_cap_capable while another tracer is on the
 * tracepoint); the listed call sites come right after, at most a wrapper
 * or three deeper (do_seccomp: frame 6, or 7 with another tracer). */
#define CS_CLASSIFY_DEPTH 8
/* Words above the tracepoint's ctx searched for cap_capable's return
 * addresses when the stack-free classifier learns where they sit. */
#define CS_SCAN_WORDS 64
/* Address ranges of noise call sites handed to the BPF side. */
#define CS_MAX_NOISE_RANGES 16
/* Address ranges of the syscall dispatch functions (do_syscall_64, arm64's
 * invoke_syscall, ...): a call-site walk ends at them (cs_sitecache.h). */
#define CS_MAX_STOP_RANGES 8

/* Sizes of the maps (entries). Overflow of any of them is counted in
 * cs_stats and reported by user space. */
#define CS_TASKS_MAX 65536 /* tracked tasks (threads) at one time */
/* Direct-mapped cache of `tasks`, one slot a tid (see task_slot()): a
 * power of two. */
#define CS_TASK_SLOTS 65536
#define CS_COUNTS_MAX                                                          \
	16384 /* distinct (scope, cap, verdict, syscall, class)                \
	       */
#define CS_RINGBUF_BYTES (4u << 20)
/* Per-CPU direct-mapped cache of `counts` (a power of two), and the scopes
 * user space has retired, whose cache slots may be taken over. */
#define CS_COUNT_SLOT_BITS 8
#define CS_COUNT_SLOTS (1u << CS_COUNT_SLOT_BITS)
#define CS_DEAD_SCOPES_MAX 4096
/* kprobe mode: tasks between cap_capable's entry and return (it does not
 * sleep, so about one a CPU; an entry whose return probe was missed stays
 * until its tid checks again). */
#define CS_KPROBE_PENDING_MAX 4096

#define CS_NO_SYSCALL 0xffffffffu

enum cs_mode {
	CS_MODE_RECORD =
	    0, /* tasks registered by user space and their lineage */
	CS_MODE_DAEMON = 1, /* every task that execs in a non-host mount ns */
	CS_MODE_TRACE = 2,  /* every check on the host, streamed */
};

/* Where a task stands relative to its scope's exec gate. */
enum cs_phase {
	CS_PHASE_SETUP =
	    0, /* registered, has not exec'd yet: checks are setup */
	CS_PHASE_ACTIVE = 1, /* past the exec gate: checks are the workload's */
};

enum cs_scope_kind {
	CS_SCOPE_COMMAND = 0, /* the command under record */
	CS_SCOPE_CONTAINER =
	    1, /* keyed by the mount ns inode of its exec gate */
};

/* The class of a check. Anything but CS_CLASS_NEEDED stays out of advice. */
enum cs_class {
	CS_CLASS_NEEDED = 0,	 /* the workload's own check */
	CS_CLASS_SETUP = 1,	 /* before the task's exec gate */
	CS_CLASS_OVERCOMMIT = 2, /* security_vm_enough_memory_mm probe */
	CS_CLASS_EXEC = 3,	 /* credential transition inside execve */
	CS_CLASS_ADVISORY = 4,	 /* other NOAUDIT call sites */
	CS_CLASS_BORROWED = 5,	 /* checked cred borrowed from someone else */
	CS_CLASS_MOOT = 6, /* this call's outcome does not depend on the cap */
	CS_CLASS__COUNT = 7,
};

enum cs_event_type {
	CS_EV_CHECK =
	    1,		/* first check of a new key (or every check in trace) */
	CS_EV_EXEC = 2, /* a tracked task exec'd */
	CS_EV_SCOPE = 3,   /* a tracked task opened a container scope */
	CS_EV_FORK = 4,	   /* a tracked process forked a new process */
	CS_EV_SYSCALL = 5, /* diagnose: a syscall that failed with EPERM/EACCES
			    * or had a capability denied in it */
};

/* Event flags */
#define CS_F_OTHER_USERNS 0x1 /* checked against a user ns not the task's */
#define CS_F_OVERRIDE 0x2     /* cred differs from the task's real_cred */
#define CS_F_NO_ENTER 0x4     /* syscall exit without its enter (seccomp) */

/* Indexes into the per-CPU stats array. */
enum cs_stat {
	CS_STAT_LOST_EVENTS = 0,   /* ring buffer full */
	CS_STAT_TASKS_FULL = 1,	   /* tasks map full: a task went untracked */
	CS_STAT_COUNTS_FULL = 2,   /* counts map full: a key went uncounted */
	CS_STAT_CHECKS = 3,	   /* checks attributed to a scope */
	CS_STAT_STACK_FAIL = 4,	   /* bpf_get_stack failed */
	CS_STAT_FAST_CLASS = 5,	   /* classified without a stack */
	CS_STAT_FAST_MISMATCH = 6, /* ... and the real stack disagreed */
	/* The call-site cache (bpf/cs_sitecache.h): */
	CS_STAT_SITE_HIT = 7,	    /* classified by the site cache */
	CS_STAT_SITE_MISS = 8,	    /* an unknown frame: took the real stack */
	CS_STAT_SITE_EVICT = 9,	    /* an entry replaced another (cache full) */
	CS_STAT_SITE_MISMATCH = 10, /* a sampled real stack disagreed */
	CS_STAT__COUNT = 11,
};

/* Loss accounting: map insertions (and ring-buffer reserves) that failed,
 * one counter per map, kept in the stats array after the counters above
 * (index CS_STAT__COUNT + enum cs_map_fail), summed over CPUs by user
 * space. The ring buffer, `tasks` and `counts` keep their counters above
 * (CS_STAT_LOST_EVENTS, CS_STAT_TASKS_FULL, CS_STAT_COUNTS_FULL). For the
 * two caches a failure is no loss: the entry stays in its hash map. */
enum cs_map_fail {
	CS_FAIL_SEEN = 0,	    /* seen full: a new key was not announced */
	CS_FAIL_KPROBE_PENDING = 1, /* kprobe_pending full: a check was lost */
	CS_FAIL_INFLIGHT = 2,	    /* inflight full: a syscall not followed */
	CS_FAIL_TASK_SLOTS = 3,	    /* task cache slot held: task on the hash */
	CS_FAIL_COUNT_SLOTS = 4,    /* count cache slot held: key on the hash */
	CS_FAIL_COUNTS_RACE = 5,    /* a key's `counts` entry vanished between a
				     * failed insert and the lookup (a scope
				     * forgotten meanwhile): its checks lost */
	CS_FAIL__COUNT = 6,
};
#define CS_STATS_LEN (CS_STAT__COUNT + CS_FAIL__COUNT)

/* Aggregation key: 16 bytes. */
struct cs_key {
	__u64 scope;   /* 1: the command; else the mount ns's unique id */
	__u32 syscall; /* syscall number in flight, CS_NO_SYSCALL outside one */
	__u8 cap;
	__u8 denied; /* 0 granted, 1 denied */
	__u8 cls;    /* enum cs_class */
	__u8 kind;   /* enum cs_scope_kind */
};

struct cs_count {
	__u64 count;
	__u64 first_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 last_ns;
};

struct cs_task {
	__u64 scope;
	__u32 tgid;
	__u8 phase; /* enum cs_phase */
	__u8 kind;  /* enum cs_scope_kind */
	__u8 pad[2];
};

/* One slot of the task cache: a copy of tasks[tid] for the tid whose
 * tag (tid + 1; 0 = free) it holds, and that task's hot key: the checks of
 * the key it made last, counted here (only the task itself writes them)
 * until it makes another key's check or exits; then they are added to the
 * per-CPU counts. User space adds the hot counts of live slots. */
struct cs_task_slot {
	__u64 scope;
	__u32 tag;
	__u8 phase;
	__u8 kind;
	__u8 pad[2];
	struct cs_key hot_key;
	struct cs_count hot; /* hot.count 0: no hot key */
	__u64 pad2;
};

/* One slot of the per-CPU counts cache; free while c.count is 0. A key's
 * count on a CPU is the sum of its slot there and its `counts` entry. */
struct cs_count_slot {
	struct cs_key key;
	struct cs_count c;
};

/* Where the stack-free classifier found cap_capable's return addresses
 * above a tracepoint program's ctx (see fast_class() in capscope.bpf.c). */
#define CS_CAL_L1 1  /* off1, off2, r1 known */
#define CS_CAL_L2 2  /* off3, r2sec known */
#define CS_CAL_OFF 4 /* disagreed with a real stack once: not used */

struct cs_calib {
	__u64 r1;    /* return address into cap_capable */
	__u64 r2sec; /* return address into security_capable */
	__u32 off1;  /* bytes from ctx to the return address into cap_capable */
	__u32 off2;  /* ... into its caller X */
	__u32 off3;  /* ... into X's caller Y, when X is security_capable */
	__u32 state; /* CS_CAL_* */
};

struct cs_range {
	__u64 start;
	__u64 end; /* exclusive */
	__u32 cls;
	__u32 pad;
};

/* An executable file: inode number, its generation (a reused inode
 * number gets a new one) and the device. Key of the `exe_known` map. */
struct cs_exe_id {
	__u64 ino;
	__u32 gen;
	__u32 dev;
};

/* Executables whose path user space has resolved (tells the BPF side that
 * an exec of one needs no prompt wake-up); least recently used evicted. */
#define CS_EXE_KNOWN_MAX 4096

struct cs_event {
	__u32 type; /* enum cs_event_type */
	__u32 flags;
	struct cs_key key;
	__u64 ts_ns;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 euid;
	__u32 mntns;
	__u32 pidns;
	__s32 ret;
	__u64 cgroup;
	char comm[16];
	__u32 stack_len; /* valid frames in stack[] */
	__u32 pad;
	__u64 stack[CS_STACK_DEPTH];
	/* A check event ends here (CS_CHECK_EVENT_SIZE bytes): the fields
	 * below belong to the other event types. */
	char filename[128]; /* CS_EV_EXEC/SCOPE: the exec'd path */
	/* CS_EV_EXEC/SCOPE: the task's cgroup (default hierarchy) leaf name
	 * and its parent's, so user space can name the container even when
	 * the process is gone before the event is read. */
	char cg_leaf[96];
	char cg_parent[96];
	/* CS_EV_SYSCALL: capabilities denied / granted within the syscall;
	 * ret holds its return value, key.syscall its number. flags has
	 * CS_F_NO_ENTER when the syscall never entered (seccomp). */
	__u64 denied_mask;
	__u64 granted_mask;
	/* CS_EV_EXEC/SCOPE: the executable file (0 if unknown), so that user
	 * space resolves a file's path once, not on every exec of it. */
	struct cs_exe_id exe;
};

/* The bytes a CS_EV_CHECK event takes in the ring buffer; other events
 * take sizeof(struct cs_event). */
#define CS_CHECK_EVENT_SIZE __builtin_offsetof(struct cs_event, filename)

/* Diagnose: per-task state of the syscall in flight. */
struct cs_inflight {
	__u32 nr;
	__u32 pad;
	__u64 denied_mask;
	__u64 granted_mask;
};

/* Layout locks, compiled into the BPF object (clang -target bpf) and into
 * every user-space file that includes this header: a change on one side
 * without the other fails both builds. Bump CS_ABI_VERSION with them. */
#ifdef __cplusplus
#define CS_ABI_ASSERT(c) static_assert(c, #c)
#else
#define CS_ABI_ASSERT(c) _Static_assert(c, #c)
#endif
#define CS_OFF(t, f) __builtin_offsetof(struct t, f)

CS_ABI_ASSERT(CS_ABI_VERSION == 7);
CS_ABI_ASSERT(sizeof(struct cs_key) == 16);
CS_ABI_ASSERT(CS_OFF(cs_key, syscall) == 8);
CS_ABI_ASSERT(CS_OFF(cs_key, cap) == 12);
CS_ABI_ASSERT(CS_OFF(cs_key, cls) == 14);
/* BPF builds a key's second word in a register (key_word1). */
CS_ABI_ASSERT(CS_OFF(cs_key, denied) == 13 && CS_OFF(cs_key, kind) == 15);
CS_ABI_ASSERT(sizeof(struct cs_count) == 24);
CS_ABI_ASSERT(sizeof(struct cs_task) == 16);
CS_ABI_ASSERT(sizeof(struct cs_task_slot) == 64);
CS_ABI_ASSERT(CS_OFF(cs_task_slot, tag) == 8);
CS_ABI_ASSERT(CS_OFF(cs_task_slot, hot_key) == 16);
CS_ABI_ASSERT(CS_OFF(cs_task_slot, hot) == 32);
/* BPF reads a task slot's scope, phase and kind through a cs_task pointer
 * (task_find in capscope.bpf.c); its tgid is the slot's tag there. */
CS_ABI_ASSERT(CS_OFF(cs_task_slot, scope) == CS_OFF(cs_task, scope));
CS_ABI_ASSERT(CS_OFF(cs_task_slot, phase) == CS_OFF(cs_task, phase));
CS_ABI_ASSERT(CS_OFF(cs_task_slot, kind) == CS_OFF(cs_task, kind));
CS_ABI_ASSERT(CS_OFF(cs_task_slot, tag) == CS_OFF(cs_task, tgid));
/* count_add/on_check compare a cached key as two words at the slot's
 * start. */
CS_ABI_ASSERT(sizeof(struct cs_count_slot) == 40);
CS_ABI_ASSERT(CS_OFF(cs_count_slot, key) == 0);
CS_ABI_ASSERT(sizeof(struct cs_calib) == 32);
CS_ABI_ASSERT((CS_TASK_SLOTS & (CS_TASK_SLOTS - 1)) == 0);
CS_ABI_ASSERT((CS_COUNT_SLOTS & (CS_COUNT_SLOTS - 1)) == 0);
CS_ABI_ASSERT(sizeof(struct cs_range) == 24);
CS_ABI_ASSERT(CS_OFF(cs_event, key) == 8);
CS_ABI_ASSERT(CS_OFF(cs_event, ts_ns) == 24);
CS_ABI_ASSERT(CS_OFF(cs_event, comm) == 72);
CS_ABI_ASSERT(CS_OFF(cs_event, stack) == 96);
CS_ABI_ASSERT(sizeof(struct cs_event) ==
	      96 + 8 * CS_STACK_DEPTH + 128 + 2 * 96 + 16 + 16);
CS_ABI_ASSERT(sizeof(struct cs_exe_id) == 16);
CS_ABI_ASSERT(CS_CHECK_EVENT_SIZE == 96 + 8 * CS_STACK_DEPTH);
CS_ABI_ASSERT(CS_CHECK_EVENT_SIZE % 8 == 0);
CS_ABI_ASSERT(sizeof(struct cs_inflight) == 24);
/* Class values fit the key's u8, with room for the BPF side's sentinels
 * (CS_SITE_NONE, CS_STACK_NONE in cs_classify.h). */
CS_ABI_ASSERT(CS_CLASS__COUNT < 0xfe);

#endif
