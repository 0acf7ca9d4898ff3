/* cs_sysnr.h - the syscall numbers the BPF programs decide things by, per
 * architecture (__TARGET_ARCH_x86 / __TARGET_ARCH_arm64). Plain defines, no
 * BPF types: tests/unit/test_syscalls.cpp includes this header for each
 * architecture and checks every number against the tables generated from
 * the kernel's UAPI headers (userspace/core/syscall_table.cmake).
 */
#ifndef CAPSCOPE_SYSNR_H
#define CAPSCOPE_SYSNR_H

/* A syscall this architecture does not have (arm64's open, access). */
#define CS_NR_NONE (-1)

/* X(name) for every CS_NR_name below, in the kernel's spelling. */
/* One name a line: clang-format reflows X-macro lists differently on
 * each run. */
/* clang-format off */
#define CS_SYSNR_LIST(X) \
	X(read) \
	X(write) \
	X(open) \
	X(pread64) \
	X(pwrite64) \
	X(readv) \
	X(writev) \
	X(access) \
	X(setuid) \
	X(setgid) \
	X(capset) \
	X(execve) \
	X(execveat) \
	X(openat) \
	X(faccessat) \
	X(preadv) \
	X(pwritev) \
	X(preadv2) \
	X(pwritev2) \
	X(openat2) \
	X(faccessat2)
/* clang-format on */

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
#define CS_NR_execve 59
#define CS_NR_execveat 322
#define CS_NR_openat 257
#define CS_NR_faccessat 269
#define CS_NR_preadv 295
#define CS_NR_pwritev 296
#define CS_NR_preadv2 327
#define CS_NR_pwritev2 328
#define CS_NR_openat2 437
#define CS_NR_faccessat2 439

#elif defined(__TARGET_ARCH_arm64)

/* The generic table (asm-generic/unistd.h). */
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
#define CS_NR_execve 221
#define CS_NR_execveat 281
#define CS_NR_openat 56
#define CS_NR_faccessat 48
#define CS_NR_preadv 69
#define CS_NR_pwritev 70
#define CS_NR_preadv2 286
#define CS_NR_pwritev2 287
#define CS_NR_openat2 437
#define CS_NR_faccessat2 439

#else
#error "capscope's BPF side knows x86-64 and arm64 only (bpf/cs_sysnr.h)"
#endif

#endif
