// SPDX-License-Identifier: GPL-2.0
/* capscope.bpf.c - the kernel side: capability checks, task lineage, counts.
 *
 * Three attach modes see the same check and funnel into on_check():
 *   tp_btf/cap_capable          the capability:cap_capable tracepoint (6.14+)
 *   fexit/cap_capable           has `opts` (CAP_OPT_NOAUDIT) and the return
 *   kprobe+kretprobe/cap_capable the oldest kernels
 * User space enables exactly one of them with bpf_program__set_autoload().
 *
 * Hot path per check: one array lookup the verifier inlines, the task's
 * cache slot (is this task ours, past its exec gate, which scope?), and an
 * increment of the task's hot key in that same slot when this check has
 * the key of its last one (a task runs on one CPU at a time, so no atomics).
 * A check of another key moves the hot key's count into the per-CPU counts
 * (count_slots, a direct-mapped cache, then the `counts` hash); so does the
 * task's exit. The hash maps (`tasks`, `counts`) stay the truth for what
 * the caches cannot hold. Work that costs more (a kernel stack, a
 * ring-buffer event) happens only for keys seen for the first time, or for
 * capabilities whose class can be in doubt, and a stack only when neither
 * the call-site cache nor the stack-free classifier can decide.
 *
 * Split by concern: cs_classify.h (a check's class from its call site, with
 * and without a stack), cs_sitecache.h (that class once per call site,
 * from return addresses cached with their frame sizes), cs_moot.h (the
 * moot class, from the call's arguments), cs_arch.h (syscall numbers and
 * registers per architecture);
 * capscope.h is the ABI shared with user space.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "capscope.h"
#include "cs_compat.h"

char LICENSE[] SEC("license") = "GPL";

#define CAP_OPT_NOAUDIT 0x2 /* include/linux/security.h: BIT(1) */

/* include/uapi/asm-generic/errno-base.h (the same on x86-64 and arm64) */
#define CS_EPERM 1
#define CS_EACCES 13
#define CS_EEXIST 17

/* Configuration, written by user space between open and load. */
const volatile __u32 cfg_mode = CS_MODE_RECORD;
const volatile __u32 cfg_self_tgid = 0;	 /* capscope itself: never traced */
const volatile __u32 cfg_host_mntns = 0; /* host mount ns inode */
const volatile __u64 cfg_doubt_caps = 0; /* caps whose class needs a stack */
/* ... of which only exec-time sites are listed (core/noise.h) */
const volatile __u64 cfg_exec_only_caps = 0;
const volatile __u32 cfg_trace_tgid = 0;   /* trace: only this process */
const volatile __s32 cfg_trace_cap = -1;   /* trace: only this capability */
const volatile __u32 cfg_trace_denied = 0; /* trace: only denied checks */
const volatile __u32 cfg_trace_unique = 0; /* trace: only new keys */
const volatile __u32 cfg_diagnose = 0;	   /* follow syscall outcomes */
const volatile __u32 cfg_nranges = 0;
const volatile struct cs_range cfg_ranges[CS_MAX_NOISE_RANGES] = {};
/* Where cap_capable and security_capable lie (for the stack-free
 * classifier; start 0 = unknown, classifier off). */
const volatile struct cs_range cfg_fn_capable = {};
const volatile struct cs_range cfg_fn_security_capable = {};
/* The syscall dispatch functions: no listed call site lies above them, and
 * the kernel may move the stack by a random offset inside them on every
 * syscall (CONFIG_RANDOMIZE_KSTACK_OFFSET), so the call-site cache ends its
 * walks there. */
const volatile __u32 cfg_nstops = 0;
const volatile struct cs_range cfg_stops[CS_MAX_STOP_RANGES] = {};

/* tid -> scope and phase of every tracked task. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_TASKS_MAX);
	__type(key, __u32);
	__type(value, struct cs_task);
} tasks SEC(".maps");

/* A direct-mapped cache of `tasks` (slot: see task_slot()): a tracked
 * task's checks find it without hashing. Only BPF programs fill slots, from
 * `tasks`; a slot held by another tid leaves a task on the hash. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_TASK_SLOTS);
	__type(key, __u32);
	__type(value, struct cs_task_slot);
} task_slots SEC(".maps");

/* Exact per-key counts, per CPU so the hot path needs no atomics. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CS_COUNTS_MAX);
	__type(key, struct cs_key);
	__type(value, struct cs_count);
} counts SEC(".maps");

/* A per-CPU direct-mapped cache of `counts`: a new key takes its slot on a
 * CPU if free, else it is counted in `counts`. User space adds both up. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_COUNT_SLOTS);
	__type(key, __u32);
	__type(value, struct cs_count_slot);
} count_slots SEC(".maps");

/* Scopes user space has read for the last time and forgotten: their slots
 * in count_slots may be taken by new keys. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_DEAD_SCOPES_MAX);
	__type(key, __u64);
	__type(value, __u8);
} dead_scopes SEC(".maps");

/* Keys already announced to user space: one first-seen event per key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_COUNTS_MAX);
	__type(key, struct cs_key);
	__type(value, __u8);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CS_RINGBUF_BYTES);
} events SEC(".maps");

/* Executables user space has named (it adds them): an exec of one needs
 * no prompt wake-up of user space, which reads /proc/PID/exe only for a
 * file it has not seen. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CS_EXE_KNOWN_MAX);
	__type(key, struct cs_exe_id);
	__type(value, __u8);
} exe_known SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_STATS_LEN);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* diagnose: the syscall each tracked task is in, and what was denied or
 * granted within it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_TASKS_MAX);
	__type(key, __u32);
	__type(value, struct cs_inflight);
} inflight SEC(".maps");

/* kprobe mode: arguments saved at entry, keyed by tid. */
struct kprobe_args {
	const struct cred *cred;
	struct user_namespace *targ_ns;
	__s32 cap;
	__u32 opts;
	__u32 cls; /* class_of_stack() at entry, CS_STACK_NONE if not taken */
#ifdef CS_COMPAT
	/* The stack at entry, for the check's event: on the kernels the
	 * compat object serves (5.10) a stack taken in the kretprobe holds
	 * only the kretprobe trampoline. Taken on every check, which makes
	 * kprobe mode there slower; fexit, which 5.10 x86-64 has, is tried
	 * first. */
	__u32 stack_n;
	__u64 stack[CS_STACK_DEPTH];
#endif
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_KPROBE_PENDING_MAX);
	__type(key, __u32);
	__type(value, struct kprobe_args);
} kprobe_pending SEC(".maps");

/* Scratch for the short stack that classifies a doubtful check. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[CS_CLASSIFY_DEPTH]);
} stack_scratch SEC(".maps");

#include "cs_moot.h"

/* Counts one more of a stat on this CPU; returns the new count. */
static __always_inline __u64 stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (!v)
		return 0;
	*v += 1;
	return *v;
}

/* Counts a failed insertion into a map (enum cs_map_fail). */
static __always_inline void fail_inc(__u32 which)
{
	stat_inc(CS_STAT__COUNT + which);
}

static __always_inline __u32 mntns_of(struct task_struct *t)
{
	return BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
}

/* Mount namespace inode numbers are reused as soon as a namespace dies, so
 * two containers run one after the other can share one. Scopes are keyed by
 * an id the kernel never reuses: ns_common.ns_id (6.18+), else
 * mnt_namespace.seq (older kernels), else the inode as a last resort. */
struct ns_common___id {
	__u64 ns_id;
} __attribute__((preserve_access_index));
struct mnt_namespace___id {
	struct ns_common___id ns;
} __attribute__((preserve_access_index));
struct mnt_namespace___seq {
	__u64 seq;
} __attribute__((preserve_access_index));

static __always_inline __u64 mntns_scope_of(struct task_struct *t)
{
	struct mnt_namespace *mnt = BPF_CORE_READ(t, nsproxy, mnt_ns);
	__u64 id = 0;
	if (bpf_core_field_exists(((struct mnt_namespace___id *)0)->ns.ns_id))
		id = BPF_CORE_READ((struct mnt_namespace___id *)mnt, ns.ns_id);
	else if (bpf_core_field_exists(((struct mnt_namespace___seq *)0)->seq))
		id = BPF_CORE_READ((struct mnt_namespace___seq *)mnt, seq);
	if (!id)
		id = BPF_CORE_READ(mnt, ns.inum);
	return id;
}

/* ---- the task cache ---------------------------------------------------- */

static __always_inline struct cs_task_slot *task_slot(__u32 tid)
{
	/* An odd multiplier permutes the low bits, so live tids collide no
	 * more than with tid % CS_TASK_SLOTS, but threads with neighbouring
	 * tids land far apart: their hot counters, written on every check
	 * from different CPUs, never share a cache line. */
	__u32 i = (tid * 40503u) & (CS_TASK_SLOTS - 1);
	return bpf_map_lookup_elem(&task_slots, &i);
}

/* Copy tasks[tid] into its slot, taking the slot if it is free. Called in
 * the task's own context, or for a child that has not run yet, so nobody
 * reads the slot for this tid while it is written; the tag is claimed
 * atomically because another tid of the same slot may claim it at once. */
static __always_inline void slot_put(__u32 tid, const struct cs_task *t)
{
	struct cs_task_slot *s = task_slot(tid);
	if (!s)
		return;
	if (s->tag != tid + 1) {
		if (!cs_claim_tag(&s->tag, tid + 1)) {
			fail_inc(CS_FAIL_TASK_SLOTS);
			return;
		}
		s->hot.count = 0;
	}
	s->scope = t->scope;
	s->phase = t->phase;
	s->kind = t->kind;
}

static __always_inline void slot_drop(__u32 tid)
{
	struct cs_task_slot *s = task_slot(tid);
	if (s && s->tag == tid + 1)
		cs_release_tag(&s->tag, tid + 1);
}

/* The tracked state of a task (scope, phase, kind): its cache slot, else
 * its `tasks` entry (copied into the slot if free); NULL if untracked. A
 * slot has the layout of a cs_task up to kind (asserted below and in
 * capscope.h), so either is read as one, in place; through a slot, the
 * cs_task's tgid is the slot's tag: callers read scope, phase and kind
 * only. */
_Static_assert(__builtin_offsetof(struct cs_task_slot, scope) ==
		       __builtin_offsetof(struct cs_task, scope) &&
		   __builtin_offsetof(struct cs_task_slot, phase) ==
		       __builtin_offsetof(struct cs_task, phase) &&
		   __builtin_offsetof(struct cs_task_slot, kind) ==
		       __builtin_offsetof(struct cs_task, kind),
	       "task_find reads a cs_task_slot as a cs_task");
static __always_inline const struct cs_task *
task_find(__u32 tid, struct cs_task_slot **own)
{
	struct cs_task_slot *s = task_slot(tid);
	*own = 0;
	if (s && s->tag == tid + 1) {
		*own = s;
		return (const struct cs_task *)s;
	}
	struct cs_task *t = bpf_map_lookup_elem(&tasks, &tid);
	if (t && s && s->tag == 0)
		slot_put(tid, t);
	return t;
}

/* ---- the counts cache --------------------------------------------------- */

/* A key as two words, built in registers: field-by-field stores read
 * back as words stall the CPU's store forwarding on this hot path. */
union cs_key_words {
	struct cs_key k;
	__u64 w[2];
};

static __always_inline __u64 key_word1(__u32 syscall, __u32 cap, __u32 denied,
				       __u32 cls, __u32 kind)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u64)syscall | (__u64)cap << 32 | (__u64)denied << 40 |
	       (__u64)cls << 48 | (__u64)kind << 56;
#else
	return (__u64)syscall << 32 | (__u64)cap << 24 | (__u64)denied << 16 |
	       (__u64)cls << 8 | (__u64)kind;
#endif
}

static __always_inline __u32 count_slot_of(__u64 w0, __u64 w1)
{
	__u64 h = (w0 ^ (w1 * 0x9e3779b97f4a7c15ULL)) * 0xc2b2ae3d27d4eb4fULL;
	return (__u32)(h >> (64 - CS_COUNT_SLOT_BITS));
}

/* One more check of a known key. A clock read costs ~38 ns: hot keys
 * refresh last_ns once every 64 checks, rare ones on each. */
static __always_inline void bump(struct cs_count *c)
{
	c->count++;
	if (c->count < 64 || !(c->count & 63)) {
		__u64 t = bpf_ktime_get_ns();
		c->last_ns = t;
		/* The key's first check on this CPU: a per-CPU hash element
		 * starts zeroed on every CPU but the one that inserted it. */
		if (c->count == 1)
			c->first_ns = t;
	}
}

/* Adds counts v of key k (a hot key leaving its task slot) to the per-CPU
 * counts: its count_slots slot, else `counts`. */
static __always_inline void merge(struct cs_count *dst,
				  const struct cs_count *v)
{
	if (!dst->count || v->first_ns < dst->first_ns)
		dst->first_ns = v->first_ns;
	if (v->last_ns > dst->last_ns)
		dst->last_ns = v->last_ns;
	dst->count += v->count;
}

/* Counts v of a key not yet counted on this CPU: into its cache slot `cs`
 * if that is free or held by a scope user space has retired, else into
 * `counts`. */
static __always_inline void count_new(struct cs_count_slot *cs,
				      const struct cs_key *k,
				      const struct cs_count *v)
{
	if (cs && (!cs->c.count ||
		   bpf_map_lookup_elem(&dead_scopes, &cs->key.scope))) {
		cs->key = *k;
		cs->c = *v;
		return;
	}
	if (cs)
		fail_inc(CS_FAIL_COUNT_SLOTS);
	long err = bpf_map_update_elem(&counts, k, v, BPF_NOEXIST);
	if (err == -CS_EEXIST) {
		/* Another program instance inserted it meanwhile. */
		struct cs_count *c = bpf_map_lookup_elem(&counts, k);
		if (c)
			merge(c, v);
		else
			fail_inc(CS_FAIL_COUNTS_RACE);
	} else if (err) {
		stat_inc(CS_STAT_COUNTS_FULL);
	}
}

static __always_inline void count_add(const struct cs_key *k,
				      const struct cs_count *v)
{
	const __u64 *w = (const __u64 *)k;
	__u32 si = count_slot_of(w[0], w[1]);
	struct cs_count_slot *cs = bpf_map_lookup_elem(&count_slots, &si);
	const __u64 *held = (const __u64 *)cs;
	if (cs && cs->c.count && held[0] == w[0] && held[1] == w[1]) {
		merge(&cs->c, v);
		return;
	}
	struct cs_count *c = bpf_map_lookup_elem(&counts, k);
	if (c) {
		merge(c, v);
		return;
	}
	count_new(cs, k, v);
}

/* A task leaves its slot (exit): its hot key's checks go to the counts. */
static __always_inline void hot_flush(struct cs_task_slot *s)
{
	if (s->hot.count) {
		struct cs_key k = s->hot_key;
		struct cs_count v = s->hot;
		s->hot.count = 0;
		count_add(&k, &v);
	}
}

#include "cs_classify.h"
#include "cs_sitecache.h"

static __always_inline __u32 current_syscall(struct task_struct *task)
{
	/* Direct loads through BTF pointers: cheaper than BPF_CORE_READ's
	 * probe reads on this hot path (measured ~11 ns). */
	struct pt_regs *regs = cs_task_regs(task);
	if (!regs)
		return CS_NO_SYSCALL;
	long nr = cs_regs_syscall_nr(regs);
	return nr < 0 ? CS_NO_SYSCALL : (__u32)nr;
}

/* Borrowed credentials: the checked cred is not the task's own, and it
 * grants what the task's real credentials lack (overlayfs acting with its
 * mounter's creds), or it is someone else's cred altogether. A narrowing
 * override, such as access(2) makes, is a copy of the task's own cred
 * (prepare_creds keeps the group_info pointer), so it is still the task's
 * own check; a container holding every capability itself would otherwise
 * make the overlay's checks look like its own. */
static __always_inline bool borrowed(struct task_struct *task,
				     const struct cred *cred, int cap, int ret,
				     __u32 *flags)
{
	const struct cred *real = CS_TASK(task, real_cred);
	if (real == cred)
		return false;
	*flags |= CS_F_OVERRIDE;
	if (ret != 0)
		return false;
	if (BPF_CORE_READ(cred, group_info) != BPF_CORE_READ(real, group_info))
		return true;
	__u64 own = 0;
	bpf_core_read(&own, sizeof(own), &real->cap_effective);
	return cap >= 0 && cap < 64 && !(own & (1ULL << cap));
}

static __always_inline void emit(void *ctx, const struct cs_key *key,
				 const struct cred *cred,
				 struct user_namespace *targ_ns, int ret,
				 __u32 flags, const __u64 *saved, __u32 saved_n)
{
	/* A check event: the cs_event up to its stack (the exec, cgroup and
	 * syscall fields after it are other events'). */
	struct cs_event *e =
	    bpf_ringbuf_reserve(&events, CS_CHECK_EVENT_SIZE, 0);
	if (!e) {
		stat_inc(CS_STAT_LOST_EVENTS);
		return;
	}
	__builtin_memset(e, 0, CS_CHECK_EVENT_SIZE);
	struct task_struct *task = cs_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();

	e->type = CS_EV_CHECK;
	e->key = *key;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)ug;
	e->euid = BPF_CORE_READ(cred, euid.val);
	e->mntns = mntns_of(task);
	e->pidns = BPF_CORE_READ(task, nsproxy, pid_ns_for_children, ns.inum);
	e->ret = ret;
	e->cgroup = bpf_get_current_cgroup_id();
	struct user_namespace *own_ns = BPF_CORE_READ(cred, user_ns);
	if (targ_ns && own_ns != targ_ns)
		flags |= CS_F_OTHER_USERNS;
	e->flags = flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (saved) {
		__builtin_memcpy(e->stack, saved, sizeof(e->stack));
		e->stack_len = saved_n <= CS_STACK_DEPTH ? saved_n : 0;
	} else {
		long n = bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0);
		e->stack_len = n > 0 ? n / sizeof(__u64) : 0;
	}
	/* Outside trace mode a first-seen event is rare and may follow task
	 * events submitted without a wake-up (see emit_task_event), which
	 * turn the ring buffer's own wake-up logic off until read. */
	bpf_ringbuf_submit(e,
			   cfg_mode == CS_MODE_TRACE ? 0 : BPF_RB_FORCE_WAKEUP);
}

/* Where a check comes from, for on_check(). */
enum cs_source {
	CS_SRC_TP = 0,	   /* tp_btf: ctx is the tracepoint's; no opts */
	CS_SRC_FEXIT = 1,  /* fexit: opts known */
	CS_SRC_KPROBE = 2, /* kretprobe: opts and maybe stack_cls known */
};

/* One capability check, as every attach mode hands it to on_check(). */
struct cs_check {
	void *ctx;
	const struct cred *cred;
	struct user_namespace *targ_ns;
	int cap;
	int ret;	    /* cap_capable's: 0 granted */
	__u32 opts;	    /* CAP_OPT_*; 0 unless src passes them */
	const __u64 *stack; /* the check's stack taken at kprobe entry (for
			     * its event), else null: the event takes its own */
	__u32 stack_n;
	__u32 stack_cls; /* class_of_stack() of a stack taken at kprobe entry,
			  * else CS_STACK_NONE */
	enum cs_source src;
};

/* The one place every attach mode ends up. */
static __always_inline int on_check(const struct cs_check *ck)
{
	void *ctx = ck->ctx;
	const struct cred *cred = ck->cred;
	struct user_namespace *targ_ns = ck->targ_ns;
	int cap = ck->cap;
	int ret = ck->ret;
	bool tp_ctx = ck->src == CS_SRC_TP;
	/* One helper call for the task; its ids, syscall and real cred are
	 * plain BTF loads from it. */
	struct task_struct *task = cs_current_task();
	__u32 tid = CS_TASK(task, pid);
	union cs_key_words key;
	struct cs_task_slot *own = 0; /* the task's own cache slot */
	__u64 scope;
	__u32 kind = 0;
	__u32 cls = CS_CLASS_NEEDED;
	bool trace = cfg_mode == CS_MODE_TRACE;

	if (cap < 0 || cap > 63)
		return 0;
	if (trace) {
		__u32 tgid = CS_TASK(task, tgid);
		if (tgid == cfg_self_tgid)
			return 0;
		if (cfg_trace_tgid && tgid != cfg_trace_tgid)
			return 0;
		if (cfg_trace_cap >= 0 && cap != cfg_trace_cap)
			return 0;
		if (cfg_trace_denied && ret == 0)
			return 0;
		scope = tgid;
	} else {
		const struct cs_task *t = task_find(tid, &own);
		if (!t)
			return 0;
		scope = t->scope;
		kind = t->kind;
		if (t->phase != CS_PHASE_ACTIVE)
			cls = CS_CLASS_SETUP;
	}
	stat_inc(CS_STAT_CHECKS);
	__u32 syscall = current_syscall(task);

	__u32 flags = 0;
	if (cls == CS_CLASS_NEEDED) {
		/* NOAUDIT is advisory unless a listed call site says more:
		 * overcommit, exec, or needed (seccomp's NOAUDIT gate). */
		if (ck->src != CS_SRC_TP && (ck->opts & CAP_OPT_NOAUDIT))
			cls = CS_CLASS_ADVISORY;
		__u32 sc = ck->stack_cls;
		/* A capability only exec-time sites list, outside exec: no
		 * listed site can be on the stack (cs_classify.h). */
		if (sc == CS_STACK_NONE && tp_ctx &&
		    exec_rule(task, cap, syscall) == CS_SITE_NONE) {
			sc = CS_SITE_NONE;
			stat_inc(CS_STAT_FAST_CLASS);
		}
		if (sc == CS_STACK_NONE && (cfg_doubt_caps & (1ULL << cap))) {
			/* Stack-free when the tracepoint's frames allow it; the
			 * first such answer on a CPU and one in 1024 after it
			 * are checked against the real stack, and a
			 * disagreement turns the stack-free path off for good.
			 * The sample is picked by a multiplicative hash of the
			 * answer's number, not every 1024th: a workload that
			 * alternates between call sites would otherwise have
			 * the same one of them sampled every time. */
			__u32 fast = CS_STACK_NONE;
			/* The call-site cache first (cs_sitecache.h: a miss
			 * takes the real stack, which teaches it), else the
			 * fast classifier while the cache is not usable; a
			 * disagreement turns off only the path that answered.
			 */
			bool site = false, site_miss = false;
			if (tp_ctx) {
				fast = site_class(ctx, &site_miss);
				site = fast != CS_STACK_NONE;
				if (!site && !site_miss)
					fast = fast_class(ctx);
			}
			bool verify = false;
			if (fast != CS_STACK_NONE) {
				__u32 nth = (__u32)stat_inc(CS_STAT_FAST_CLASS);
				verify = nth == 1 ||
					 (__u32)(nth * 2654435769u) >> 22 == 0;
			}
			if (fast != CS_STACK_NONE && !verify) {
				sc = fast;
				if (site)
					stat_inc(CS_STAT_SITE_HIT);
			} else {
				__u32 zero = 0;
				__u64 *stack =
				    bpf_map_lookup_elem(&stack_scratch, &zero);
				long n = stack ? bpf_get_stack(
						     ctx, stack,
						     CS_CLASSIFY_DEPTH * 8, 0)
					       : 0;
				if (n > 0) {
					sc = class_of_stack(stack, n / 8);
					if (verify && sc != fast && site) {
						cs_atomic_or(&sitec.state,
							     CS_SITE_OFF);
						stat_inc(CS_STAT_SITE_MISMATCH);
					} else if (verify && sc != fast) {
						cs_atomic_or(&calib.state,
							     CS_CAL_OFF);
						stat_inc(CS_STAT_FAST_MISMATCH);
					}
					if (tp_ctx && !verify)
						calibrate(ctx, stack, n / 8);
					if (site_miss &&
					    ((stat_inc(CS_STAT_SITE_MISS) - 1) &
					     CS_SITE_LEARN_EVERY) == 0)
						site_learn(ctx, stack, n / 8);
				} else {
					sc = fast;
					stat_inc(CS_STAT_STACK_FAIL);
				}
			}
		}
		if (sc < CS_CLASS__COUNT) /* not CS_SITE_NONE/CS_STACK_NONE */
			cls = sc;
		if (cls == CS_CLASS_NEEDED &&
		    borrowed(task, cred, cap, ret, &flags))
			cls = CS_CLASS_BORROWED;
		/* A check the call's outcome does not depend on (cs_moot.h):
		 * more exact than "needed" and than a NOAUDIT "advisory". */
		if ((cls == CS_CLASS_NEEDED || cls == CS_CLASS_ADVISORY) &&
		    check_is_moot(task, cred, targ_ns, cap, syscall))
			cls = CS_CLASS_MOOT;
	}
	key.w[0] = scope;
	key.w[1] = key_word1(syscall, cap, ret != 0, cls, kind);

	if (cfg_diagnose && cls == CS_CLASS_NEEDED) {
		struct cs_inflight *in = bpf_map_lookup_elem(&inflight, &tid);
		if (in) {
			if (ret != 0)
				in->denied_mask |= 1ULL << cap;
			else
				in->granted_mask |= 1ULL << cap;
		}
	}

	/* The task's hot key: counted in its own slot, no map lookup. */
	if (own) {
		const __u64 *hk = (const __u64 *)&own->hot_key;
		if (own->hot.count && hk[0] == key.w[0] && hk[1] == key.w[1]) {
			bump(&own->hot);
			return 0;
		}
		/* Another key: the old one goes to the counts, this one
		 * becomes hot; announced below if new. A key already in this
		 * CPU's count cache is not new (tasks that alternate between
		 * a few keys skip the `seen` lookup). */
		__u64 now = bpf_ktime_get_ns();
		hot_flush(own);
		own->hot_key = key.k;
		own->hot.first_ns = now;
		own->hot.last_ns = now;
		own->hot.count = 1;
		__u32 hsi = count_slot_of(key.w[0], key.w[1]);
		const __u64 *known = bpf_map_lookup_elem(&count_slots, &hsi);
		if (known && known[0] == key.w[0] && known[1] == key.w[1] &&
		    ((const struct cs_count_slot *)known)->c.count)
			return 0;
		goto announce;
	}
	__u32 si = count_slot_of(key.w[0], key.w[1]);
	struct cs_count_slot *cs = bpf_map_lookup_elem(&count_slots, &si);
	const __u64 *held = (const __u64 *)cs;
	if (cs && cs->c.count && held[0] == key.w[0] && held[1] == key.w[1]) {
		bump(&cs->c);
		if (trace && !cfg_trace_unique)
			emit(ctx, &key.k, cred, targ_ns, ret, flags, ck->stack,
			     ck->stack_n);
		return 0;
	}
	struct cs_count *c = bpf_map_lookup_elem(&counts, &key);
	if (c) {
		bump(c);
		if (trace && !cfg_trace_unique)
			emit(ctx, &key.k, cred, targ_ns, ret, flags, ck->stack,
			     ck->stack_n);
		return 0;
	}
	/* New on this CPU. */
	__u64 now = bpf_ktime_get_ns();
	struct cs_count first = {.count = 1, .first_ns = now, .last_ns = now};
	count_new(cs, &key.k, &first);
announce:;
	__u8 one = 1;
	long serr = bpf_map_update_elem(&seen, &key, &one, BPF_NOEXIST);
	if (serr && serr != -CS_EEXIST) {
		/* seen is full: whether the key is new cannot be told, and
		 * announcing it at every new CPU would flood the ring; its
		 * counts stay exact. */
		fail_inc(CS_FAIL_SEEN);
	}
	if (serr == 0 || (trace && !cfg_trace_unique))
		emit(ctx, &key.k, cred, targ_ns, ret, flags, ck->stack,
		     ck->stack_n);
	return 0;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(cap_tp, const struct cred *cred, struct user_namespace *targ_ns,
	     const struct user_namespace *capable_ns, int cap, int ret)
{
	struct cs_check ck = {.ctx = ctx,
			      .cred = cred,
			      .targ_ns = targ_ns,
			      .cap = cap,
			      .ret = ret,
			      .stack_cls = CS_STACK_NONE,
			      .src = CS_SRC_TP};
	return on_check(&ck);
}

SEC("fexit/cap_capable")
int BPF_PROG(cap_fexit, const struct cred *cred, struct user_namespace *targ_ns,
	     int cap, unsigned int opts, int ret)
{
	struct cs_check ck = {.ctx = ctx,
			      .cred = cred,
			      .targ_ns = targ_ns,
			      .cap = cap,
			      .ret = ret,
			      .opts = opts,
			      .stack_cls = CS_STACK_NONE,
			      .src = CS_SRC_FEXIT};
	return on_check(&ck);
}

SEC("kprobe/cap_capable")
int BPF_KPROBE(cap_kprobe, const struct cred *cred,
	       struct user_namespace *targ_ns, int cap, unsigned int opts)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kprobe_args a = {.cred = cred,
				.targ_ns = targ_ns,
				.cap = cap,
				.opts = opts,
				.cls = CS_STACK_NONE};
#ifdef CS_COMPAT
	long n = bpf_get_stack(ctx, a.stack, sizeof(a.stack), 0);
	a.stack_n = n > 0 ? (__u32)n / 8 : 0;
	if (a.stack_n && cap >= 0 && cap < 64 &&
	    (cfg_doubt_caps & (1ULL << cap)))
		a.cls = class_of_stack(a.stack, a.stack_n);
#else
	if (cap >= 0 && cap < 64 && (cfg_doubt_caps & (1ULL << cap))) {
		__u32 zero = 0;
		__u64 *stack = bpf_map_lookup_elem(&stack_scratch, &zero);
		if (stack) {
			long n =
			    bpf_get_stack(ctx, stack, CS_CLASSIFY_DEPTH * 8, 0);
			if (n > 0)
				a.cls = class_of_stack(stack, n / 8);
		}
	}
#endif
	if (bpf_map_update_elem(&kprobe_pending, &tid, &a, BPF_ANY))
		fail_inc(CS_FAIL_KPROBE_PENDING);
	return 0;
}

SEC("kretprobe/cap_capable")
int BPF_KRETPROBE(cap_kretprobe, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kprobe_args *a = bpf_map_lookup_elem(&kprobe_pending, &tid);
	if (!a)
		return 0;
	struct cs_check ck = {.ctx = ctx,
			      .cred = a->cred,
			      .targ_ns = a->targ_ns,
			      .cap = a->cap,
			      .ret = ret,
			      .opts = a->opts,
			      .stack_cls = a->cls,
			      .src = CS_SRC_KPROBE};
#ifdef CS_COMPAT
	ck.stack = a->stack;
	ck.stack_n = a->stack_n;
#endif
	/* Deleted after use: ck.stack points into the entry. */
	int r = on_check(&ck);
	bpf_map_delete_elem(&kprobe_pending, &tid);
	return r;
}

/* ---- task lineage ---------------------------------------------------- */

static __always_inline void emit_task_event(__u32 type,
					    struct task_struct *task,
					    const struct cs_task *st,
					    struct linux_binprm *bprm);

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	if (cfg_mode == CS_MODE_TRACE)
		return 0;
	struct cs_task_slot *own;
	const struct cs_task *pt = task_find(parent->pid, &own);
	if (!pt)
		return 0;
	struct cs_task ct = {.scope = pt->scope,
			     .tgid = child->tgid,
			     .phase = pt->phase,
			     .kind = pt->kind};
	__u32 ctid = child->pid;
	if (bpf_map_update_elem(&tasks, &ctid, &ct, BPF_ANY)) {
		stat_inc(CS_STAT_TASKS_FULL);
		return 0;
	}
	slot_put(ctid, &ct);
	/* New processes (not threads) are announced so user space can name
	 * the executable of a child that never execs. */
	if (child->pid == child->tgid)
		emit_task_event(CS_EV_FORK, child, &ct, 0);
	return 0;
}

static __always_inline void emit_task_event(__u32 type,
					    struct task_struct *task,
					    const struct cs_task *st,
					    struct linux_binprm *bprm)
{
	struct cs_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(CS_STAT_LOST_EVENTS);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->key.scope = st->scope;
	e->key.kind = st->kind;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = task->tgid;
	e->tid = task->pid;
	e->ppid = bpf_get_current_pid_tgid() >> 32;
	if (type != CS_EV_FORK)
		e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	__u64 ug = bpf_get_current_uid_gid();
	e->uid = (__u32)ug;
	e->euid = BPF_CORE_READ(task, cred, euid.val);
	e->mntns = mntns_of(task);
	e->pidns = BPF_CORE_READ(task, nsproxy, pid_ns_for_children, ns.inum);
	e->cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* Task events are batched: user space is woken only for what it must
	 * see while the process lives (a new scope, to name it from /proc; an
	 * exec of a file it has not named yet, to read /proc/PID/exe). The
	 * rest waits for the next wake-up or poll timeout. */
	__u64 wake =
	    type == CS_EV_FORK ? BPF_RB_NO_WAKEUP : BPF_RB_FORCE_WAKEUP;
	if (bprm) {
		struct inode *ino = BPF_CORE_READ(bprm, file, f_inode);
		e->exe.ino = BPF_CORE_READ(ino, i_ino);
		e->exe.gen = BPF_CORE_READ(ino, i_generation);
		e->exe.dev = BPF_CORE_READ(ino, i_sb, s_dev);
		/* The key from the stack: kernels before 6.x refuse ring
		 * buffer memory as a map key. */
		struct cs_exe_id exe = e->exe;
		if (type == CS_EV_EXEC && exe.ino &&
		    bpf_map_lookup_elem(&exe_known, &exe))
			wake = BPF_RB_NO_WAKEUP;
		const char *fn = BPF_CORE_READ(bprm, filename);
		bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fn);
		/* struct cgroup starts with its css, so a css pointer is the
		 * cgroup pointer. */
		struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
		const char *name = BPF_CORE_READ(cg, kn, name);
		bpf_probe_read_kernel_str(e->cg_leaf, sizeof(e->cg_leaf), name);
		struct cgroup *parent =
		    (struct cgroup *)BPF_CORE_READ(cg, self.parent);
		if (parent) {
			name = BPF_CORE_READ(parent, kn, name);
			bpf_probe_read_kernel_str(e->cg_parent,
						  sizeof(e->cg_parent), name);
		}
	}
	bpf_ringbuf_submit(e, wake);
}

/* The exec gate. A registered task's first exec makes its checks the
 * workload's. A task without a container scope that execs inside a
 * non-host mount namespace opens one keyed by that namespace (how runc
 * init's final exec and `podman exec` enter a container); a task that has
 * one keeps it, even after a later `unshare -m`. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	if (cfg_mode == CS_MODE_TRACE)
		return 0;
	__u32 tid = task->pid;
	struct cs_task *t = bpf_map_lookup_elem(&tasks, &tid);
	__u32 mntns = mntns_of(task);
	bool foreign_ns = cfg_host_mntns && mntns != cfg_host_mntns;

	if (!t) {
		if (cfg_mode != CS_MODE_DAEMON || !foreign_ns)
			return 0;
		struct cs_task nt = {.scope = mntns_scope_of(task),
				     .tgid = task->tgid,
				     .phase = CS_PHASE_ACTIVE,
				     .kind = CS_SCOPE_CONTAINER};
		if (bpf_map_update_elem(&tasks, &tid, &nt, BPF_ANY)) {
			stat_inc(CS_STAT_TASKS_FULL);
			return 0;
		}
		slot_put(tid, &nt);
		emit_task_event(CS_EV_SCOPE, task, &nt, bprm);
		return 0;
	}
	bool opened = false;
	if (t->kind != CS_SCOPE_CONTAINER && foreign_ns) {
		t->scope = mntns_scope_of(task);
		t->kind = CS_SCOPE_CONTAINER;
		opened = true;
	}
	t->phase = CS_PHASE_ACTIVE;
	slot_put(tid, t);
	emit_task_event(opened ? CS_EV_SCOPE : CS_EV_EXEC, task, t, bprm);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	if (cfg_mode == CS_MODE_TRACE)
		return 0;
	/* Its hot key's checks reach the counts before the task leaves
	 * `tasks`: a task user space no longer sees has nothing pending. */
	__u32 tid = task->pid;
	struct cs_task_slot *s = task_slot(tid);
	if (s && s->tag == tid + 1)
		hot_flush(s);
	slot_drop(tid);
	bpf_map_delete_elem(&tasks, &tid);
	if (cfg_diagnose)
		bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

/* ---- diagnose: syscall outcomes of tracked tasks ------------------------ */

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct cs_task_slot *own;
	const struct cs_task *t = task_find(tid, &own);
	if (!t || t->phase != CS_PHASE_ACTIVE)
		return 0;
	struct cs_inflight in = {.nr = (__u32)id};
	if (bpf_map_update_elem(&inflight, &tid, &in, BPF_ANY))
		fail_inc(CS_FAIL_INFLIGHT);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct cs_task_slot *own;
	const struct cs_task *t = task_find(tid, &own);
	if (!t || t->phase != CS_PHASE_ACTIVE)
		return 0;
	__u32 nr = (__u32)cs_regs_syscall_nr(regs);
	struct cs_inflight *in = bpf_map_lookup_elem(&inflight, &tid);
	__u64 denied = 0, granted = 0;
	__u32 flags = 0;
	if (in && in->nr == nr) {
		denied = in->denied_mask;
		granted = in->granted_mask;
	} else {
		flags |= CS_F_NO_ENTER; /* stopped before it entered: seccomp */
	}
	if (in) {
		in->denied_mask = 0;
		in->granted_mask = 0;
		in->nr = CS_NO_SYSCALL;
	}
	if (!denied && ret != -CS_EPERM && ret != -CS_EACCES)
		return 0;
	struct cs_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(CS_STAT_LOST_EVENTS);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	__u64 pidtgid = bpf_get_current_pid_tgid();
	e->type = CS_EV_SYSCALL;
	e->flags = flags;
	e->key.scope = t->scope;
	e->key.kind = t->kind;
	e->key.syscall = nr;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pidtgid >> 32;
	e->tid = (__u32)pidtgid;
	e->ret = (__s32)ret;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->denied_mask = denied;
	e->granted_mask = granted;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
