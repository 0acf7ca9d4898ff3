/* cs_arch.h - per-architecture access to the syscall in flight, for the BPF
 * programs: its number and its arguments, read from the task's user
 * pt_regs (bpf_task_pt_regs), and the syscall numbers capscope.bpf.c
 * decides things by. x86-64 and arm64; any other target fails to build here
 * rather than reading the wrong register.
 *
 * Callers pass BTF pointers (bpf_task_pt_regs(), a tp_btf argument), so the
 * fields are plain loads the verifier checks.
 */
#ifndef CAPSCOPE_ARCH_H
#define CAPSCOPE_ARCH_H

/* A syscall this architecture does not have (arm64's open, access). */
#define CS_NR_NONE (-1)

#if defined(__TARGET_ARCH_x86)

#define CS_NR_read 0
#define CS_NR_write 1
#define CS_NR_open 2
#define CS_NR_pread64 17
#define CS_NR_pwrite64 18
#define CS_NR_readv 19
#define CS_NR_writev 20
#define CS_NR_access 21
#define CS_NR_setuid 105
#define CS_NR_setgid 106
#define CS_NR_capset 126
#define CS_NR_openat 257
#define CS_NR_faccessat 269
#define CS_NR_preadv 295
#define CS_NR_pwritev 296
#define CS_NR_preadv2 327
#define CS_NR_pwritev2 328
#define CS_NR_openat2 437
#define CS_NR_faccessat2 439

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

#define CS_NR_read 63
#define CS_NR_write 64
#define CS_NR_open CS_NR_NONE
#define CS_NR_pread64 67
#define CS_NR_pwrite64 68
#define CS_NR_readv 65
#define CS_NR_writev 66
#define CS_NR_access CS_NR_NONE
#define CS_NR_setuid 146
#define CS_NR_setgid 144
#define CS_NR_capset 91
#define CS_NR_openat 56
#define CS_NR_faccessat 48
#define CS_NR_preadv 69
#define CS_NR_pwritev 70
#define CS_NR_preadv2 286
#define CS_NR_pwritev2 287
#define CS_NR_openat2 437
#define CS_NR_faccessat2 439

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
