/* cs_classify.h - the class of a check from its call site, for
 * capscope.bpf.c: from a real kernel stack (class_of_stack()), and without
 * one in tracepoint mode (fast_class(), calibrated by calibrate()). Uses the
 * configuration globals cfg_ranges/cfg_nranges and cfg_fn_capable/
 * cfg_fn_security_capable, defined by the including file before it.
 */
#ifndef CAPSCOPE_CLASSIFY_H
#define CAPSCOPE_CLASSIFY_H

/* Sentinels, kept apart from the class values (enum cs_class, below
 * CS_CLASS__COUNT) and from each other: */
#define CS_SITE_NONE 0xfeu  /* no listed call site on the frames looked at */
#define CS_STACK_NONE 0xffu /* no stack class taken (yet): see on_check() */
_Static_assert(CS_CLASS__COUNT < CS_SITE_NONE &&
		   CS_CLASS__COUNT < CS_STACK_NONE,
	       "class sentinels must not be class values");

/* Scratch for the words above ctx that calibrate the stack-free
 * classifier. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[CS_SCAN_WORDS]);
} scan_scratch SEC(".maps");

/* The class of the listed call site that contains ip, CS_SITE_NONE if
 * none does. */
static __always_inline __u32 class_of_ip(__u64 ip)
{
	for (int r = 0; r < CS_MAX_NOISE_RANGES; r++) {
		if (r >= cfg_nranges)
			break;
		if (ip >= cfg_ranges[r].start && ip < cfg_ranges[r].end)
			return cfg_ranges[r].cls;
	}
	return CS_SITE_NONE;
}

/* The class of a stack: the first frame that lies in a listed call site
 * decides (overcommit probe, NOAUDIT wrappers, exec transition), except
 * that an advisory wrapper (ns_capable_noaudit, ...) called directly from a
 * CS_CLASS_NEEDED site makes the check needed: that caller's operation
 * depends on it (seccomp without no_new_privs). Only the next frame is
 * looked at, so other NOAUDIT checks made further inside such a caller
 * (the BPF JIT's, under do_seccomp) stay advisory.
 * CS_SITE_NONE when no frame is in a listed site (the check is then
 * needed for want of noise, unless `opts` says NOAUDIT).
 * As class_of_frames() in userspace/core/noise.cpp. */
static __always_inline __u32 class_of_stack(const __u64 *stack, int frames)
{
	for (int i = 0; i < CS_CLASSIFY_DEPTH; i++) {
		if (i >= frames)
			break;
		__u32 c = class_of_ip(stack[i]);
		if (c == CS_SITE_NONE)
			continue;
		if (c == CS_CLASS_ADVISORY && i + 1 < frames &&
		    i + 1 < CS_CLASSIFY_DEPTH &&
		    class_of_ip(stack[i + 1]) == CS_CLASS_NEEDED)
			return CS_CLASS_NEEDED;
		return c;
	}
	return CS_SITE_NONE;
}

/* ---- stack-free classification (tracepoint mode) ------------------------
 * bpf_get_stack costs ~1 us (an unwind). But below a tp_btf program the
 * frames are always the same: bpf_trace_run5 (whose args array is ctx),
 * then cap_capable, then its caller X, and when X is security_capable, its
 * caller Y. Their return addresses sit at fixed offsets above ctx, so they
 * can be read directly once those offsets are known. They are learnt from
 * the first real stack (calibrate()), and every use checks a marker first:
 * the word at off1 must be the very return address into cap_capable seen
 * then (the same tracepoint call site, so the same frame layout), and for
 * Y the word at off2 the very return address into security_capable.
 * Only a noise class is decided this way, where the first frames already
 * decide it exactly as class_of_stack() would; anything else (including
 * "needed", which needs every frame looked at) takes the real stack.
 *
 * Invariants of `calib` (one copy in .bss, shared by every CPU, written
 * without a lock):
 *  - Every CPU learns the same values. The offsets and return addresses
 *    depend only on the code between the tracepoint and the program (the
 *    same kernel text and frame layout on every CPU), so two CPUs that
 *    calibrate at once write identical words: a lost or repeated write
 *    changes nothing.
 *  - The data is written before the state bit that publishes it: r1, off1,
 *    off2 (or off3, r2sec) are plain stores, then CS_CAL_L1 (CS_CAL_L2) is
 *    set with an atomic OR. On x86 (TSO) stores are seen in program order
 *    and loads are not reordered with older loads, and the locked OR is a
 *    full barrier, so a reader that sees the bit (fast_class() loads state
 *    first, through a volatile read) sees the data. On weaker orders
 *    (arm64) a reader could see the bit before the data; the marker check
 *    (the word at off1 must equal r1) then fails for the zeros it reads,
 *    and the sampled comparison with the real stack (on_check()) turns
 *    the stack-free path off (CS_CAL_OFF) should anything still disagree.
 *  - CS_CAL_OFF is only ever set, never cleared: once a stack-free answer
 *    disagreed with a real stack, every later check takes the real stack.
 */
struct cs_calib calib = {};

static __always_inline bool in_fn(__u64 ip, const volatile struct cs_range *r)
{
	return r->start && ip >= r->start && ip < r->end;
}

static __always_inline __u64 word_above(void *ctx, __u32 off)
{
	__u64 w = 0;
	bpf_probe_read_kernel(&w, sizeof(w), (char *)ctx + (off & 0x3f8));
	return w;
}

/* What class_of_stack() would say, read from the words above ctx, or
 * CS_STACK_NONE when only the real stack can tell: a frame in no listed
 * site leads one frame up, and an advisory wrapper's class depends on its
 * caller (class_of_stack()), so both end here at the second level. */
static __always_inline __u32 fast_class(void *ctx)
{
	__u32 st = *(volatile __u32 *)&calib.state;
	if ((st & (CS_CAL_L1 | CS_CAL_OFF)) != CS_CAL_L1 ||
	    word_above(ctx, calib.off1) != calib.r1)
		return CS_STACK_NONE;
	__u64 x = word_above(ctx, calib.off2);
	__u32 c = class_of_ip(x);
	if (c != CS_SITE_NONE)
		return c == CS_CLASS_ADVISORY ? CS_STACK_NONE : c;
	if (!(st & CS_CAL_L2) || x != calib.r2sec)
		return CS_STACK_NONE;
	c = class_of_ip(word_above(ctx, calib.off3));
	return c == CS_SITE_NONE || c == CS_CLASS_ADVISORY ? CS_STACK_NONE : c;
}

/* The class of a check of an exec-only doubtful capability (core/noise.h:
 * every listed site of it runs only inside exec) made in a native syscall
 * that is no exec: no listed site can be on its stack, so CS_SITE_NONE, as
 * class_of_stack() would say; else CS_STACK_NONE. No stack is read, so no
 * sampled comparison either: tests/privileged/test_sitecache.sh compares
 * these checks with real stacks, in and out of exec. */
static __always_inline __u32 exec_rule(struct task_struct *task, int cap,
				       __u32 nr)
{
	if (!(cfg_exec_only_caps & (1ULL << cap)) || nr == CS_NO_SYSCALL ||
	    nr == CS_NR_execve || nr == CS_NR_execveat ||
	    cs_task_compat_syscall(task))
		return CS_STACK_NONE;
	return CS_SITE_NONE;
}

/* calibrate()'s search, one word per bpf_loop step (a callback is
 * verified once, an unrolled search would be verified 64 times over): the
 * first word equal to v[0], then after it v[1], then v[2]. */
struct scan_state {
	__u64 v[3];
	__u32 idx[3];
	__u32 stage;
};

static long scan_step(__u64 i, struct scan_state *c)
{
	__u32 zero = 0;
	__u64 *w = bpf_map_lookup_elem(&scan_scratch, &zero);
	if (!w || i >= CS_SCAN_WORDS)
		return 1;
	if (i == 0)
		return 0;
	__u64 x = w[i];
	if (c->stage == 0 && x == c->v[0]) {
		c->idx[0] = i;
		c->stage = 1;
	} else if (c->stage == 1 && x == c->v[1]) {
		c->idx[1] = i;
		c->stage = 2;
	} else if (c->stage == 2 && x == c->v[2]) {
		c->idx[2] = i;
		c->stage = 3;
		return 1;
	}
	return 0;
}

/* Learn the offsets from a real stack of this very check. */
static __always_inline void calibrate(void *ctx, const __u64 *stack, int n)
{
	__u32 st = *(volatile __u32 *)&calib.state;
	if (!cfg_fn_capable.start || (st & CS_CAL_OFF) ||
	    st == (CS_CAL_L1 | CS_CAL_L2))
		return;
	int k = -1;
	for (int i = 0; i < CS_CLASSIFY_DEPTH - 2; i++) {
		if (i >= n)
			break;
		if (in_fn(stack[i], &cfg_fn_capable)) {
			k = i;
			break;
		}
	}
	if (k < 0 || k + 1 >= n || k + 2 >= CS_CLASSIFY_DEPTH)
		return;
	struct scan_state sc = {};
	sc.v[0] = stack[k];
	sc.v[1] = stack[k + 1];
	sc.v[2] = k + 2 < n ? stack[k + 2] : 0;
	__u32 zero = 0;
	__u64 *w = bpf_map_lookup_elem(&scan_scratch, &zero);
	if (!w || bpf_probe_read_kernel(w, CS_SCAN_WORDS * 8, ctx))
		return;
	bpf_loop(CS_SCAN_WORDS, scan_step, &sc, 0);
	if (sc.stage < 2)
		return;
	if (!(calib.state & CS_CAL_L1)) {
		calib.off1 = sc.idx[0] * 8;
		calib.off2 = sc.idx[1] * 8;
		calib.r1 = sc.v[0];
		cs_atomic_or(&calib.state, CS_CAL_L1);
	}
	if (sc.stage < 3 || !sc.v[2] || calib.r1 != sc.v[0] ||
	    calib.off2 != sc.idx[1] * 8 ||
	    !in_fn(sc.v[1], &cfg_fn_security_capable) ||
	    (calib.state & CS_CAL_L2))
		return;
	calib.off3 = sc.idx[2] * 8;
	calib.r2sec = sc.v[1];
	cs_atomic_or(&calib.state, CS_CAL_L2);
}

#endif
