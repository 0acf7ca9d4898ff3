/* cs_compat.h - what capscope.bpf.c uses that older kernels lack, in two
 * flavours. The default object uses BPF atomic instructions (Linux 5.12+:
 * compare-and-exchange, fetch-or), bpf_get_current_task_btf() (5.11+) and
 * bpf_task_pt_regs() (5.15+), with plain loads through the BTF pointers
 * they return. The compat object (built with -DCS_COMPAT, loaded when a
 * kernel refuses the default one, e.g. Debian 11's 5.10) has none of them:
 *  - no task cache slot is ever claimed (cs_claim_tag() fails), so every
 *    task is found in the `tasks` hash and every count goes to the
 *    per-CPU `counts`: slower, still exact;
 *  - the current task is bpf_get_current_task()'s, its fields read with
 *    BPF_CORE_READ (CS_TASK());
 *  - the user registers are copied, with a probe read, from where
 *    task_pt_regs() finds them (the top of the task's kernel stack) into
 *    a per-CPU scratch, read there with plain loads;
 *  - the stack-free classifier's calibration bits are set with a plain
 *    read-modify-write. It runs in tracepoint mode only, which needs Linux
 *    6.14+, where the default object loads.
 */
#ifndef CAPSCOPE_COMPAT_H
#define CAPSCOPE_COMPAT_H

#ifdef CS_COMPAT

/* THREAD_SIZE of x86-64 and arm64 kernels built without KASAN: 16 KiB. */
#define CS_THREAD_SIZE 16384

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_regs);
} regs_scratch SEC(".maps");

static __always_inline struct task_struct *cs_current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}
#define CS_TASK(task, field) BPF_CORE_READ(task, field)
/* A field of an object reached from the current task through CS_TASK(). */
#define CS_BTF(ptr, field) BPF_CORE_READ(ptr, field)

/* task_pt_regs(task), copied. */
static __always_inline struct pt_regs *cs_task_regs(struct task_struct *task)
{
	__u32 zero = 0;
	struct pt_regs *r = bpf_map_lookup_elem(&regs_scratch, &zero);
	if (!r)
		return 0;
	void *stack = BPF_CORE_READ(task, stack);
	if (!stack ||
	    bpf_probe_read_kernel(r, sizeof(*r),
				  stack + CS_THREAD_SIZE -
				      bpf_core_type_size(struct pt_regs)))
		return 0;
	return r;
}

static __always_inline int cs_claim_tag(__u32 *tag, __u32 want)
{
	return 0;
}
static __always_inline void cs_release_tag(__u32 *tag, __u32 held)
{
	*tag = 0;
}
#define cs_atomic_or(p, v) (*(p) |= (v))

#else

static __always_inline struct task_struct *cs_current_task(void)
{
	return bpf_get_current_task_btf();
}
#define CS_TASK(task, field) ((task)->field)
/* A field of an object reached from the current task through CS_TASK():
 * plain loads through BTF pointers (no helper call). */
#define CS_BTF(ptr, field) ((ptr)->field)
static __always_inline struct pt_regs *cs_task_regs(struct task_struct *task)
{
	return (struct pt_regs *)bpf_task_pt_regs(task);
}

/* Takes a free tag (0) for `want`; false when another task holds it. */
static __always_inline int cs_claim_tag(__u32 *tag, __u32 want)
{
	return __sync_val_compare_and_swap(tag, 0, want) == 0;
}
/* Frees the tag if `held` still holds it. */
static __always_inline void cs_release_tag(__u32 *tag, __u32 held)
{
	__sync_val_compare_and_swap(tag, held, 0);
}
#define cs_atomic_or(p, v) __sync_fetch_and_or(p, v)

#endif

#endif
