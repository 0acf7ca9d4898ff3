/* cs_arch.h - per-architecture access to the syscall in flight, for the BPF
 * programs: its number and its arguments, read from the task's user
 * pt_regs (bpf_task_pt_regs); the syscall numbers capscope.bpf.c decides
 * things by are in cs_sysnr.h. x86-64 and arm64; any other target fails to
 * build here rather than reading the wrong register.
 *
 * Callers pass BTF pointers (bpf_task_pt_regs(), a tp_btf argument), so the
 * fields are plain loads the verifier checks.
 */
#ifndef CAPSCOPE_ARCH_H
#define CAPSCOPE_ARCH_H

#include "cs_sysnr.h"

#if defined(__TARGET_ARCH_x86)

/* The number of the syscall the regs entered with; negative outside one. */
static __always_inline long cs_regs_syscall_nr(const struct pt_regs *r)
{
	return r->orig_ax;
}

/* Argument i (0-5) of the syscall the regs entered with. */
static __always_inline unsigned long cs_regs_arg(const struct pt_regs *r, int i)
{
	switch (i) {
	case 0:
		return r->di;
	case 1:
		return r->si;
	case 2:
		return r->dx;
	case 3:
		return r->r10;
	case 4:
		return r->r8;
	default:
		return r->r9;
	}
}

/* True when the task is in a 32-bit (ia32) syscall: its numbers are not
 * the ones above. thread_info.status & TS_COMPAT, as in_ia32_syscall(). */
#define CS_TS_COMPAT 0x0002
static __always_inline bool cs_task_compat_syscall(struct task_struct *t)
{
	if (!bpf_core_field_exists(t->thread_info.status))
		return true; /* cannot tell: treat as foreign */
	return BPF_CORE_READ(t, thread_info.status) & CS_TS_COMPAT;
}

#elif defined(__TARGET_ARCH_arm64)

static __always_inline long cs_regs_syscall_nr(const struct pt_regs *r)
{
	return r->syscallno;
}

/* regs[0] is overwritten by the return value only at exit; orig_x0 keeps
 * the first argument for the whole syscall. */
static __always_inline unsigned long cs_regs_arg(const struct pt_regs *r, int i)
{
	switch (i) {
	case 0:
		return r->orig_x0;
	case 1:
		return r->regs[1];
	case 2:
		return r->regs[2];
	case 3:
		return r->regs[3];
	case 4:
		return r->regs[4];
	default:
		return r->regs[5];
	}
}

/* A 32-bit (AArch32) task: its syscall numbers are not the ones above.
 * thread_info.flags & _TIF_32BIT (bit 22), as is_compat_task(). */
#define CS_TIF_32BIT (1UL << 22)
static __always_inline bool cs_task_compat_syscall(struct task_struct *t)
{
	return BPF_CORE_READ(t, thread_info.flags) & CS_TIF_32BIT;
}

#else
#error "capscope's BPF side knows x86-64 and arm64 only (bpf/cs_arch.h)"
#endif

#endif
