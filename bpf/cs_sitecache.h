/* cs_sitecache.h - classification once per call site, for capscope.bpf.c
 * (tracepoint mode): the class that class_of_stack() would give a check,
 * found without bpf_get_stack() from what earlier real stacks taught.
 *
 * Kernel code has no frame pointers here (ORC), but the distance on the
 * stack between the slot holding a return address ip and the slot holding
 * the next return address (into ip's caller) is the frame size of ip's
 * function at that call instruction: a constant of ip alone (what ORC
 * itself records per address). So the cache maps each return address seen
 * in a classifying stack to
 *   - its class_of_ip() (a listed call site or none),
 *   - that frame size (0: not known yet),
 *   - whether the stack ended right after it (the unwinder stopped), or
 *     the walk must end at it (a syscall dispatch function: is_stop()).
 * From cap_capable's return address (found above ctx by calibrate(), the
 * same marker fast_class() checks), site_class() reads X, then each
 * caller's return address one frame size further, and applies exactly the
 * rules of class_of_stack() to those frames: the first listed site decides,
 * an advisory wrapper called directly from a needed site is needed, no
 * listed site among the first CS_CLASSIFY_DEPTH frames is "needed". So the
 * key of a decision is every frame that decides it, read from the check's
 * own stack; a frame the cache does not know yet (or whose frame size it
 * has not learnt) is a miss: that check takes the real stack, which
 * teaches the cache (site_learn()). Moot is decided per call elsewhere.
 *
 * The cache is 2-way set-associative (a BPF array: lookups are inlined, a hash
 * map lookup would cost more than the walk). Entries are two words written
 * without a lock by any CPU; the second word repeats the low half of the
 * first, so a reader that sees one CPU's address with another's data
 * rejects it (a miss). An entry that must take the slot of another address
 * replaces it, counted as CS_STAT_SITE_EVICT: the cache's loss (both then
 * fall back to real stacks as they alternate).
 *
 * The walk's answer is kept per CPU (the memo, below): a frame layout
 * walked before is recognised by one read of the words above ctx and a
 * comparison with the return addresses that decided it, without the
 * walk's per-frame lookups.
 *
 * Self-check: on_check() compares the first stack-free answer on a CPU,
 * and one in 1024 after it, with the real stack; a disagreement with a
 * site-cache answer is counted (CS_STAT_SITE_MISMATCH) and turns the cache
 * off for good (CS_SITE_OFF); the fast classifier then still applies.
 */
#ifndef CAPSCOPE_SITECACHE_H
#define CAPSCOPE_SITECACHE_H

/* 2048 sets of 2 entries (two addresses that share a set both stay). */
#define CS_SITE_SET_BITS 11
#define CS_SITE_SETS (1u << CS_SITE_SET_BITS)
/* Words above ctx searched for the frames of a real stack when learning
 * (2 KiB: the frames up to CS_CLASSIFY_DEPTH sit well within). */
#define CS_SITE_LEARN_WORDS 256
/* A miss teaches the cache when ((misses on its CPU - 1) & this) == 0: 0
 * is every miss; 7 (every 8th) would make a frame that cannot be learnt
 * cost the search less often, at the price of a slower warm-up. */
#define CS_SITE_LEARN_EVERY 0

/* info word: [63:32] low half of ip, [31:24] flags, [23:16] class of ip
 * (enum cs_class or CS_SITE_NONE), [15:0] frame size in bytes (0 unknown) */
#define CS_SI_VALID 0x80u
#define CS_SI_END 0x01u /* the stack ends after this frame */

struct cs_site_ent {
	__u64 ip;
	__u64 info;
};
struct cs_site_set {
	struct cs_site_ent e[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_SITE_SETS);
	__type(key, __u32);
	__type(value, struct cs_site_set);
} site_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[CS_SITE_LEARN_WORDS]);
} site_scratch SEC(".maps");

/* Set by user space (tests, benchmarks): the cache is never used. */
const volatile __u32 cfg_no_site_cache = 0;

#define CS_SITE_ON 1  /* k known: site_class() may answer */
#define CS_SITE_OFF 2 /* disagreed with a real stack once: never again */
/* .bss, shared by every CPU: k is the index of cap_capable's return
 * address in a classifying stack (the frames below it are the BPF program
 * and the tracepoint's, never a listed site); like calib, every CPU learns
 * the same value, and k is stored before the ON bit is set. */
struct {
	__u32 state;
	__u32 k;
} sitec = {};

/* ---- the memo: the last walk's answer, per CPU -------------------------
 * A walk reads frame i's return address at pos_i (pos_0 = calib.off2,
 * pos_i+1 = pos_i + frame size of ip_i, a constant of ip_i) and decides
 * from the ips it read. So when the words at pos_0..pos_m of another check
 * equal ip_0..ip_m, its walk would read the same ips at the same places and
 * decide the same: the memo keeps those positions and ips and the class.
 * Positions are in words from calib.off1, so that one read of
 * [off1, off1 + span) also checks the calibration marker (the word at
 * off1 must be calib.r1). Entries are per CPU: no races. A site cache
 * turned off (CS_SITE_OFF) turns the memo off too; the sampled comparison
 * with real stacks in on_check() covers its answers as the cache's. */
#define CS_MEMO_WORDS 64 /* the span read: 512 bytes at most */
struct cs_site_memo {
	__u32 n;    /* frames compared; 0: empty */
	__u32 cls;  /* the walk's answer */
	__u32 span; /* bytes read from off1, a multiple of 8 */
	__u32 pad;
	__u32 at[CS_CLASSIFY_DEPTH]; /* word index of frame i from off1 */
	__u64 ip[CS_CLASSIFY_DEPTH];
	__u64 buf[CS_MEMO_WORDS]; /* scratch for the read */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_site_memo);
} site_memo SEC(".maps");

static __always_inline __u64 site_word(void *ctx, __u32 off)
{
	__u64 w = 0;
	bpf_probe_read_kernel(&w, sizeof(w), (char *)ctx + (off & 0x3ff8));
	return w;
}

static __always_inline struct cs_site_set *site_set(__u64 ip)
{
	__u32 i =
	    (__u32)((ip * 0x9e3779b97f4a7c15ULL) >> (64 - CS_SITE_SET_BITS));
	return bpf_map_lookup_elem(&site_cache, &i);
}

static __always_inline bool ent_is(const struct cs_site_ent *e, __u64 ip,
				   __u64 *info)
{
	*info = *(volatile __u64 *)&e->info;
	return *(volatile __u64 *)&e->ip == ip &&
	       (__u32)(*info >> 32) == (__u32)ip;
}

/* The low 32 bits of ip's info word (CS_SI_VALID set), 0 if unknown. */
static __always_inline __u32 site_info(__u64 ip)
{
	struct cs_site_set *set = site_set(ip);
	__u64 info;
	if (!set)
		return 0;
	if (ent_is(&set->e[0], ip, &info) || ent_is(&set->e[1], ip, &info))
		return (__u32)info;
	return 0;
}

/* site_class()'s walk, one frame per bpf_loop step (a callback is
 * verified once; an unrolled walk over inlined lookups is too much for the
 * verifier). */
struct site_walk {
	__u64 ctx;  /* the tracepoint's ctx, as an address to read above */
	__u64 ip;   /* return address of frame i */
	__u32 pos;  /* its offset above ctx */
	__u32 i;    /* its index in the stack */
	__u32 cls;  /* the answer; CS_STACK_NONE while walking or on a miss */
	__u32 nrec; /* frames recorded below, for the memo */
	__u64 rip[CS_CLASSIFY_DEPTH];
	__u32 rpos[CS_CLASSIFY_DEPTH];
};

/* Note a frame the walk's decision reads (for the memo). */
static __always_inline void walk_rec(struct site_walk *w, __u64 ip, __u32 pos)
{
	__u32 r = w->nrec;
	if (r < CS_CLASSIFY_DEPTH) {
		w->rip[r] = ip;
		w->rpos[r] = pos;
		w->nrec = r + 1;
	}
}

static __always_inline __u64 walk_word(const struct site_walk *w, __u32 off)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), (void *)(w->ctx + (off & 0x3ff8)));
	return v;
}

static long site_walk_step(__u64 j, struct site_walk *w)
{
	__u32 info = site_info(w->ip);
	if (!info)
		return 1; /* miss */
	walk_rec(w, w->ip, w->pos);
	__u32 c = (info >> 16) & 0xff;
	bool end = (info >> 24) & CS_SI_END;
	__u32 size = info & 0xffff;
	__u32 i = w->i;
	if (c != CS_SITE_NONE) {
		if (c == CS_CLASS_ADVISORY && !end &&
		    i + 1 < CS_CLASSIFY_DEPTH) {
			if (!size)
				return 1;
			__u64 nip = walk_word(w, w->pos + size);
			__u32 ni = site_info(nip);
			if (!ni)
				return 1;
			walk_rec(w, nip, w->pos + size);
			if (((ni >> 16) & 0xff) == CS_CLASS_NEEDED)
				c = CS_CLASS_NEEDED;
		}
		w->cls = c;
		return 1;
	}
	if (end || i + 1 >= CS_CLASSIFY_DEPTH) {
		w->cls = CS_SITE_NONE;
		return 1;
	}
	if (!size)
		return 1;
	w->pos += size;
	w->ip = walk_word(w, w->pos);
	w->i = i + 1;
	return 0;
}

/* The memo's answer for this check, CS_STACK_NONE if it has none;
 * *marker says whether the calibration marker held (read with the span). */
static __always_inline __u32 memo_class(void *ctx, struct cs_site_memo *m,
					bool *marker)
{
	__u32 n = m->n, span = m->span;
	*marker = true;
	if (!n || span < 8 || span > CS_MEMO_WORDS * 8)
		return CS_STACK_NONE;
	if (bpf_probe_read_kernel(m->buf, span,
				  (char *)ctx + (calib.off1 & 0x3ff8))) {
		m->n = 0;
		return CS_STACK_NONE;
	}
	if (m->buf[0] != calib.r1) {
		*marker = false;
		return CS_STACK_NONE;
	}
	for (int i = 0; i < CS_CLASSIFY_DEPTH; i++) {
		if (i >= n)
			break;
		if (m->buf[m->at[i] & (CS_MEMO_WORDS - 1)] != m->ip[i])
			return CS_STACK_NONE;
	}
	return m->cls;
}

/* Keep a walk's answer in the memo (when every frame it read fits the
 * span). */
static __always_inline void memo_keep(struct cs_site_memo *m,
				      const struct site_walk *w)
{
	__u32 n = w->nrec, top = 0;
	if (!n || n > CS_CLASSIFY_DEPTH)
		return;
	m->n = 0;
	for (int i = 0; i < CS_CLASSIFY_DEPTH; i++) {
		if (i >= n)
			break;
		__u32 pos = w->rpos[i];
		if (pos < calib.off1 || pos - calib.off1 >= CS_MEMO_WORDS * 8)
			return;
		__u32 at = (pos - calib.off1) / 8;
		m->at[i] = at;
		m->ip[i] = w->rip[i];
		if (at > top)
			top = at;
	}
	m->span = (top + 1) * 8;
	m->cls = w->cls;
	m->n = n;
}

/* What class_of_stack() would say of this check's real stack, or
 * CS_STACK_NONE when the cache cannot tell (*miss then says whether a walk
 * was made and found an unknown frame). */
static __always_inline __u32 site_class(void *ctx, bool *miss)
{
	*miss = false;
#ifdef CS_COMPAT
	/* The compat object (cs_compat.h) serves kernels without the
	 * tracepoint this cache needs: it has none. */
	return CS_STACK_NONE;
#endif
	__u32 st = *(volatile __u32 *)&sitec.state;
	__u32 cst = *(volatile __u32 *)&calib.state;
	if (cfg_no_site_cache || (st & CS_SITE_OFF) ||
	    (cst & (CS_CAL_L1 | CS_CAL_OFF)) != CS_CAL_L1)
		return CS_STACK_NONE;
	__u32 zero = 0;
	struct cs_site_memo *m = bpf_map_lookup_elem(&site_memo, &zero);
	if (m && (st & CS_SITE_ON)) {
		bool marker;
		__u32 c = memo_class(ctx, m, &marker);
		if (!marker)
			return CS_STACK_NONE;
		if (c != CS_STACK_NONE)
			return c;
	}
	if (site_word(ctx, calib.off1) != calib.r1)
		return CS_STACK_NONE;
	*miss = true; /* from here on, the real stack teaches the cache */
	if (!(st & CS_SITE_ON))
		return CS_STACK_NONE;
	struct site_walk w = {.ctx = (__u64)ctx,
			      .pos = calib.off2,
			      .i = sitec.k + 1,
			      .cls = CS_STACK_NONE};
	if (w.i >= CS_CLASSIFY_DEPTH)
		return CS_STACK_NONE;
	w.ip = site_word(ctx, w.pos);
	bpf_loop(CS_CLASSIFY_DEPTH, site_walk_step, &w, 0);
	if (w.cls != CS_STACK_NONE) {
		*miss = false;
		if (m)
			memo_keep(m, &w);
	}
	return w.cls;
}

/* site_learn()'s search, one word per bpf_loop step: v[0] at or after
 * `from`, then v[1] after it, and so on; then its insertion, one frame per
 * step. */
struct site_scan {
	__u64 v[CS_CLASSIFY_DEPTH];
	__u32 idx[CS_CLASSIFY_DEPTH];
	__u32 from;
	__u32 stage;
	__u32 nv;
	__u32 k; /* v[0] is frame k + 1 of n */
	__u32 n;
	__u32 nw; /* words read above ctx */
};

static long site_scan_step(__u64 i, struct site_scan *s)
{
	__u32 zero = 0;
	__u64 *w = bpf_map_lookup_elem(&site_scratch, &zero);
	if (!w || i >= CS_SITE_LEARN_WORDS || i >= s->nw)
		return 1;
	if (i < s->from)
		return 0;
	__u32 st = s->stage;
	if (st >= s->nv || st >= CS_CLASSIFY_DEPTH)
		return 1;
	if (w[i] == s->v[st]) {
		s->idx[st] = i;
		s->stage = st + 1;
		if (st + 1 >= s->nv)
			return 1;
	}
	return 0;
}

/* Whether ip lies in a syscall dispatch function (cfg_stops): a walk that
 * reaches one ends there with the answer of a stack that ends there. That
 * is the answer of the whole stack: nothing above the dispatch is a listed
 * call site. And it is needed for a walk to ever be repeated: with
 * CONFIG_RANDOMIZE_KSTACK_OFFSET the dispatch moves the stack of the
 * syscall below it by a random offset (up to 1 KiB on x86-64) on every
 * syscall, so its own frame, from that call to its return address, has no
 * fixed size: a walk past it would read a random word. */
static __always_inline bool is_stop(__u64 ip)
{
	for (int r = 0; r < CS_MAX_STOP_RANGES; r++) {
		if (r >= cfg_nstops)
			break;
		if (ip >= cfg_stops[r].start && ip < cfg_stops[r].end)
			return true;
	}
	return false;
}

static long site_insert_step(__u64 i, struct site_scan *s)
{
	if (i >= s->stage || i >= CS_CLASSIFY_DEPTH)
		return 1;
	__u32 f = s->k + 1 + i;
	__u64 ip = s->v[i & (CS_CLASSIFY_DEPTH - 1)];
	__u32 size = 0;
	if (i + 1 < s->stage && i + 1 < CS_CLASSIFY_DEPTH) {
		__u32 d = (s->idx[(i + 1) & (CS_CLASSIFY_DEPTH - 1)] -
			   s->idx[i & (CS_CLASSIFY_DEPTH - 1)]) *
			  8;
		size = d < 0x10000 ? d : 0;
	}
	__u32 flags = CS_SI_VALID;
	if (f + 1 == s->n && s->n < CS_CLASSIFY_DEPTH)
		flags |= CS_SI_END;
	if (is_stop(ip)) {
		/* The walk ends here; the frame's size varies (see is_stop()).
		 */
		flags |= CS_SI_END;
		size = 0;
	}
	__u32 info = size | class_of_ip(ip) << 16 | flags << 24;
	struct cs_site_set *set = site_set(ip);
	if (!set)
		return 0;
	/* Its own entry, else a free one, else the second (the first keeps
	 * what was learnt first: the stack's deeper frames come later). */
	struct cs_site_ent *e = &set->e[1];
	__u64 old;
	if (ent_is(&set->e[0], ip, &old) || !set->e[0].ip)
		e = &set->e[0];
	if (ent_is(e, ip, &old)) {
		/* Known: keep what it knew unless this says more. */
		if ((__u32)old == info || (!size && (old & 0xffff)))
			return 0;
	} else if (e->ip) {
		stat_inc(CS_STAT_SITE_EVICT);
	}
	e->ip = ip;
	e->info = (__u64)(__u32)ip << 32 | info;
	return 0;
}

/* Teach the cache the frames of a real stack of this very check (n frames
 * from bpf_get_stack). Needs the calibrated marker to hold for this check
 * (the same frame layout as calibrate() saw). */
static __always_inline void site_learn(void *ctx, const __u64 *stack, int n)
{
#ifdef CS_COMPAT
	return;
#endif
	__u32 st = *(volatile __u32 *)&sitec.state;
	__u32 cst = *(volatile __u32 *)&calib.state;
	if ((st & CS_SITE_OFF) ||
	    (cst & (CS_CAL_L1 | CS_CAL_OFF)) != CS_CAL_L1 ||
	    site_word(ctx, calib.off1) != calib.r1)
		return;
	int k = -1;
	for (int i = 0; i < CS_CLASSIFY_DEPTH - 1; i++) {
		if (i >= n)
			break;
		if (stack[i] == calib.r1) {
			k = i;
			break;
		}
	}
	if (k < 0 || k + 1 >= n || k + 1 >= CS_CLASSIFY_DEPTH ||
	    stack[k + 1] != site_word(ctx, calib.off2))
		return;
	if ((st & CS_SITE_ON) && sitec.k != (__u32)k)
		return; /* another layout than the one learnt */

	/* Where frames k+1.. sit above ctx. */
	struct site_scan sc = {.k = k, .n = n};
	for (int i = 0; i < CS_CLASSIFY_DEPTH; i++) {
		int f = k + 1 + i;
		if (f >= n || f >= CS_CLASSIFY_DEPTH)
			break;
		sc.v[i & (CS_CLASSIFY_DEPTH - 1)] = stack[f];
		sc.nv = i + 1;
	}
	sc.from = calib.off2 / 8;
	/* Read no further than the top of the task's stack (a shallow
	 * syscall's frames end well within the 2 KiB, and the page after the
	 * stack is a guard page). 16 KiB is x86-64's THREAD_SIZE, at most
	 * less than the real one; a check on another stack reads 512 B. */
	struct task_struct *task = cs_current_task();
	__u64 base = (__u64)CS_TASK(task, stack), at = (__u64)ctx;
	__u32 len = 512;
	if (at >= base && at < base + 16384) {
		__u64 room = base + 16384 - at;
		len = room < CS_SITE_LEARN_WORDS * 8 ? (__u32)room & ~7u
						     : CS_SITE_LEARN_WORDS * 8;
	}
	if (len < 16 || len > CS_SITE_LEARN_WORDS * 8)
		return;
	sc.nw = len / 8;
	__u32 zero = 0;
	__u64 *w = bpf_map_lookup_elem(&site_scratch, &zero);
	if (!w || bpf_probe_read_kernel(w, len, ctx))
		return;
	bpf_loop(CS_SITE_LEARN_WORDS, site_scan_step, &sc, 0);
	if (sc.stage < 1 || sc.idx[0] * 8 != calib.off2)
		return;
	bpf_loop(CS_CLASSIFY_DEPTH, site_insert_step, &sc, 0);
	if (!(st & CS_SITE_ON)) {
		sitec.k = k;
		cs_atomic_or(&sitec.state, CS_SITE_ON);
	}
}

#endif
