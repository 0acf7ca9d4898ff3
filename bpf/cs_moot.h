/* cs_moot.h - the moot class (CS_CLASS_MOOT), decided per check in the BPF
 * program: a check whose outcome for *this call* does not depend on the
 * capability, because the kernel asks for it first and then falls back to
 * an unprivileged rule that ends the same way. Decided from the call's own
 * arguments (the syscall's registers, the user memory they point to, the
 * sysctl entry being opened) and the checked credentials; never from a
 * (capability, syscall) table alone. When anything cannot be read or
 * mapped, the check is not moot.
 *
 * Sites (kernel function, condition; read in Debian's 6.1 sources and
 * checked on 6.18):
 *  1. __sys_setuid: ns_capable_setid(CAP_SETUID) first. With it uid, suid,
 *     euid and fsuid become the target; without it euid and fsuid do, when
 *     the target is uid or suid. Moot when the target, mapped through the
 *     caller's user ns (make_kuid), equals both cred->uid and cred->suid.
 *  2. __sys_setgid: the same with CAP_SETGID, gid and sgid.
 *  3. cap_capset -> cap_inh_is_capped(): CAP_SETPCAP asked on every
 *     capset(2); it only lifts the rule that the new inheritable set stay
 *     within old inheritable | old permitted. Moot when the new
 *     inheritable set (read from the user's data, arg 2, for the header's
 *     version) already does.
 *  4. net_ctl_permissions (any access under /proc/sys/net):
 *     ns_capable_noaudit(net->user_ns, CAP_NET_ADMIN) gives the caller the
 *     entry's owner bits (replicated); without it 6.1 returns the mode as
 *     is, and newer kernels (6.18) also give owner bits to the netns root
 *     uid and group bits to its root gid. proc_sys's test_perm() then uses
 *     owner bits for euid 0, group bits for members of group 0, else other
 *     bits. Neither the entry nor the access asked (MAY_*) reaches
 *     cap_capable, so both are found from the syscall:
 *       - the inode: the path walk in flight (current->nameidata->inode:
 *         may_lookup() on each directory and may_open() on the last
 *         component both check nd->inode), else for the read family the
 *         inode of its fd (proc_sys_call_handler asks again); it must be
 *         a procfs inode with a sysctl entry (whose mode is the entry's),
 *         which also shows the check is this one;
 *       - the access: open/openat/openat2 without O_CREAT/O_TRUNC/
 *         __O_TMPFILE (its O_ACCMODE), the read family MAY_READ.
 *     Moot when such an inode is found and
 *       - euid is 0 and the netns belongs to the initial user ns (both
 *         kernels pick the owner bits either way), or
 *       - group and other bits both equal the owner bits (directories,
 *         0555, whatever the walk asks), or
 *       - the entry is a file and the access asked is granted or refused
 *         alike by owner, group and other bits (a read of a 0644 entry).
 *     Not moot otherwise. Approximations, all on the needed side: the
 *     final check of access(2)/faccessat (its path is no longer in
 *     nameidata), the write family (a proc_handler such as
 *     devinet_sysctl_forward asks CAP_NET_ADMIN itself within write(2),
 *     which cannot be told from this check there) and any syscall not
 *     listed stay needed; so does euid equal to a non-zero netns root uid
 *     (moot on 6.18, not on 6.1).
 * Sites looked at and left needed, because the capability is asked last
 * (only when the unprivileged rule already failed), so a granted check
 * there is a real use: __sys_setreuid/setresuid/setfsuid (and gid),
 * chown_ok/chgrp_ok, check_sticky, can_nice, can_do_mlock, pipe sizes,
 * do_prlimit, kill_ok_by_cred, __ptrace_may_access, ipcperms,
 * fcntl_setlease, netlink_allowed, inet_bind, __sched_setscheduler
 * (user_check_sched_setscheduler asks CAP_SYS_NICE only on its req_priv
 * path), sched_setaffinity, set_one_prio, do_prlimit, copy_process's
 * RLIMIT_NPROC test, new_idmap_permitted, oom_score_adj. Asked with the
 * NOAUDIT wrappers (so already kept out as advisory): the trusted.* filter
 * of simple_xattr_list. Cap-first sites found but not decided here (their
 * fallback needs state not reachable from the check):
 * do_tcp_setsockopt(TCP_CONGESTION) and mptcp's copy of it
 * (sockopt_ns_capable(CAP_NET_ADMIN) is evaluated before
 * tcp_set_congestion_control knows whether the algorithm is restricted;
 * deciding it needs a walk of tcp_cong_list by name), fuse's
 * process_init_reply (CAP_SYS_ADMIN taken once for later limits) and
 * shmctl(SHM_LOCK) (CAP_IPC_LOCK first, then the owner and
 * RLIMIT_MEMLOCK rule). A found-but-undecided site stays needed, and
 * `verify --minimize` settles it by a re-run.
 */
#ifndef CAPSCOPE_MOOT_H
#define CAPSCOPE_MOOT_H

#include "cs_arch.h"

#define CS_CAP_SETGID 6
#define CS_CAP_SETUID 7
#define CS_CAP_SETPCAP 8
#define CS_CAP_NET_ADMIN 12

/* include/uapi/linux/capability.h */
#define CS_CAP_V1 0x19980330
#define CS_CAP_V2 0x20071026
#define CS_CAP_V3 0x20080522

/* include/linux/fs.h: MAY_* as test_perm() compares them, and access(2)'s
 * R_OK/W_OK/X_OK have the same values. */
#define CS_MAY_EXEC 1
#define CS_MAY_WRITE 2
#define CS_MAY_READ 4
#define CS_MAY_RWX 7
#define CS_OP_UNKNOWN 0xffffffffu

/* include/uapi/asm-generic/fcntl.h (x86-64 and arm64 agree) */
#define CS_O_ACCMODE 00000003
#define CS_O_CREAT 00000100
#define CS_O_TRUNC 00001000
#define CS_O_TMPFILE_BIT 020000000 /* __O_TMPFILE */
#define CS_S_IFMT 0170000
#define CS_S_IFDIR 0040000

/* The struct uid_gid_map extents kept inline (UID_GID_MAP_MAX_BASE_EXTENTS);
 * a map with more keeps them elsewhere, and is not followed. */
#define CS_MAP_INLINE_EXTENTS 5

/* magic.h */
#define CS_PROC_SUPER_MAGIC 0x9fa0
/* No sysctl entry found for this check. */
#define CS_NETCTL_NONE 0xffffffffu

/* make_kuid()/make_kgid(): id in ns -> global id, through the inline
 * extents of map. False when it cannot be mapped (or the map is long). */
static __always_inline bool map_id_down(const struct uid_gid_map *map, __u32 id,
					__u32 *out)
{
	__u32 n = BPF_CORE_READ(map, nr_extents);
	if (n > CS_MAP_INLINE_EXTENTS)
		return false;
	struct uid_gid_extent ext[CS_MAP_INLINE_EXTENTS] = {};
	if (bpf_core_read(&ext, sizeof(ext), &map->extent))
		return false;
	for (int i = 0; i < CS_MAP_INLINE_EXTENTS; i++) {
		if (i >= n)
			break;
		if (id >= ext[i].first && id - ext[i].first < ext[i].count) {
			*out = ext[i].lower_first + (id - ext[i].first);
			return true;
		}
	}
	return false;
}

/* map_id_down() for a map reached from the current task (CS_BTF(): plain
 * loads in the default object, no helper call). */
static __always_inline bool map_id_down_own(const struct uid_gid_map *map,
					    __u32 id, __u32 *out)
{
	__u32 n = CS_BTF(map, nr_extents);
	if (n > CS_MAP_INLINE_EXTENTS)
		return false;
	for (int i = 0; i < CS_MAP_INLINE_EXTENTS; i++) {
		if (i >= n)
			break;
		__u32 first = CS_BTF(map, extent[i].first);
		if (id >= first && id - first < CS_BTF(map, extent[i].count)) {
			*out =
			    CS_BTF(map, extent[i].lower_first) + (id - first);
			return true;
		}
	}
	return false;
}

/* setuid(2)/setgid(2) to an id that is already the real and saved one. */
static __always_inline bool moot_setid(struct task_struct *task,
				       const struct cred *cred, bool gid,
				       __u32 target)
{
	__u32 k;
	if (target == (__u32)-1)
		return false;
	/* __sys_setuid/__sys_setgid check current_cred(): the task's own,
	 * read without helper calls. Any other cred through CO-RE reads. */
	const struct cred *own = CS_TASK(task, cred);
	/* Compared through an opaque copy: had the compiler seen own == cred
	 * it could read through cred instead, a plain number in kprobe mode
	 * (the verifier refuses loads through it). */
	__u64 own_addr = (__u64)own;
	barrier_var(own_addr);
	if (own_addr == (__u64)cred) {
		struct user_namespace *ns = CS_BTF(own, user_ns);
		if (!ns)
			return false;
		if (gid)
			return map_id_down_own(&ns->gid_map, target, &k) &&
			       k == CS_BTF(own, gid.val) &&
			       k == CS_BTF(own, sgid.val);
		return map_id_down_own(&ns->uid_map, target, &k) &&
		       k == CS_BTF(own, uid.val) && k == CS_BTF(own, suid.val);
	}
	struct user_namespace *ns = BPF_CORE_READ(cred, user_ns);
	if (!ns)
		return false;
	if (gid) {
		if (!map_id_down(&ns->gid_map, target, &k))
			return false;
		return k == BPF_CORE_READ(cred, gid.val) &&
		       k == BPF_CORE_READ(cred, sgid.val);
	}
	if (!map_id_down(&ns->uid_map, target, &k))
		return false;
	return k == BPF_CORE_READ(cred, uid.val) &&
	       k == BPF_CORE_READ(cred, suid.val);
}

/* capset(2) whose new inheritable set stays within old inheritable |
 * old permitted. kernel_cap_t is two u32 words (6.1) or one u64 (6.3+):
 * both read as one little-endian u64. Bits the kernel masks off
 * (CAP_LAST_U32_VALID_MASK) are kept: that can only make it not moot. */
struct cs_cap_data {
	__u32 effective;
	__u32 permitted;
	__u32 inheritable;
};

static __always_inline bool
moot_capset(const struct cred *cred, unsigned long header, unsigned long data)
{
	__u32 version = 0;
	if (bpf_probe_read_user(&version, sizeof(version), (void *)header))
		return false;
	struct cs_cap_data d[2] = {};
	if (version == CS_CAP_V1) {
		if (bpf_probe_read_user(&d[0], sizeof(d[0]), (void *)data))
			return false;
	} else if (version == CS_CAP_V2 || version == CS_CAP_V3) {
		if (bpf_probe_read_user(&d, sizeof(d), (void *)data))
			return false;
	} else {
		return false;
	}
	__u64 inh = (__u64)d[0].inheritable | (__u64)d[1].inheritable << 32;
	__u64 old_inh = 0, old_perm = 0;
	if (bpf_core_read(&old_inh, sizeof(old_inh), &cred->cap_inheritable) ||
	    bpf_core_read(&old_perm, sizeof(old_perm), &cred->cap_permitted))
		return false;
	return (inh & ~(old_inh | old_perm)) == 0;
}

/* The access (MAY_*) the syscall in flight asks of a sysctl file, or
 * CS_OP_UNKNOWN. */
static __always_inline __u32 sysctl_file_op(const struct pt_regs *regs, long nr)
{
	unsigned long flags;
	if (nr == CS_NR_read || nr == CS_NR_pread64 || nr == CS_NR_readv ||
	    nr == CS_NR_preadv || nr == CS_NR_preadv2)
		return CS_MAY_READ;
	if (nr == CS_NR_open) {
		flags = cs_regs_arg(regs, 1);
	} else if (nr == CS_NR_openat) {
		flags = cs_regs_arg(regs, 2);
	} else if (nr == CS_NR_openat2) {
		__u64 f = 0; /* struct open_how starts with its u64 flags */
		if (bpf_probe_read_user(&f, sizeof(f),
					(void *)cs_regs_arg(regs, 2)))
			return CS_OP_UNKNOWN;
		flags = f;
	} else {
		return CS_OP_UNKNOWN;
	}
	if (flags & (CS_O_CREAT | CS_O_TRUNC | CS_O_TMPFILE_BIT))
		return CS_OP_UNKNOWN;
	switch (flags & CS_O_ACCMODE) {
	case 0:
		return CS_MAY_READ;
	case 1:
		return CS_MAY_WRITE;
	default:
		return CS_MAY_READ | CS_MAY_WRITE;
	}
}

/* test_perm(): op is allowed by these three mode bits. */
static __always_inline bool perm_ok(__u32 bits, __u32 op)
{
	return (op & ~bits & CS_MAY_RWX) == 0;
}

static __always_inline bool moot_netctl(const struct cred *cred,
					struct user_namespace *targ_ns,
					__u32 mode, const struct pt_regs *regs,
					long nr)
{
	__u32 owner = (mode >> 6) & 7, group = (mode >> 3) & 7,
	      other = mode & 7;
	if (BPF_CORE_READ(cred, euid.val) == 0)
		return targ_ns && BPF_CORE_READ(targ_ns, level) == 0;
	if (group == owner && other == owner)
		return true;
	if ((mode & CS_S_IFMT) == CS_S_IFDIR)
		return false; /* lookup, readdir or create: not known here */
	__u32 op = sysctl_file_op(regs, nr);
	if (op == CS_OP_UNKNOWN)
		return false;
	bool as_owner = perm_ok(owner, op);
	return perm_ok(group, op) == as_owner && perm_ok(other, op) == as_owner;
}

static __always_inline bool is_read_family(long nr)
{
	return nr == CS_NR_read || nr == CS_NR_pread64 || nr == CS_NR_readv ||
	       nr == CS_NR_preadv || nr == CS_NR_preadv2;
}

/* The mode of the sysctl entry behind inode (PROC_I(inode)->sysctl_entry),
 * CS_NETCTL_NONE when it is not a sysctl inode. */
static __always_inline __u32 sysctl_mode_of(struct inode *inode)
{
	if (!inode ||
	    BPF_CORE_READ(inode, i_sb, s_magic) != CS_PROC_SUPER_MAGIC)
		return CS_NETCTL_NONE;
	struct proc_inode *pi =
	    (struct proc_inode *)((char *)inode -
				  bpf_core_field_offset(struct proc_inode,
							vfs_inode));
	const struct ctl_table *t = BPF_CORE_READ(pi, sysctl_entry);
	if (!t)
		return CS_NETCTL_NONE;
	return BPF_CORE_READ(t, mode);
}

/* The sysctl entry a CAP_NET_ADMIN check in syscall nr is about: the
 * inode of the path walk in flight, else that of a read's fd. Not for the
 * write family: there a proc_handler may ask CAP_NET_ADMIN itself
 * (devinet_sysctl_forward for ip_forward), a needed check this could not
 * tell from net_ctl_permissions'. */
static __always_inline __u32 netctl_mode_of(struct task_struct *task,
					    const struct pt_regs *regs, long nr)
{
	struct nameidata *nd = BPF_CORE_READ(task, nameidata);
	if (nd)
		return sysctl_mode_of(BPF_CORE_READ(nd, inode));
	if (!is_read_family(nr))
		return CS_NETCTL_NONE;
	__u32 fd = (__u32)cs_regs_arg(regs, 0);
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return CS_NETCTL_NONE;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return CS_NETCTL_NONE;
	return sysctl_mode_of(BPF_CORE_READ(f, f_inode));
}

/* Is this check moot? task is current, cred the checked (current) cred,
 * nr the syscall in flight (CS_NO_SYSCALL outside one). Cheap for every
 * capability but the four above. */
static __always_inline bool check_is_moot(struct task_struct *task,
					  const struct cred *cred,
					  struct user_namespace *targ_ns,
					  int cap, __u32 nr)
{
	if (cap != CS_CAP_SETUID && cap != CS_CAP_SETGID &&
	    cap != CS_CAP_SETPCAP && cap != CS_CAP_NET_ADMIN)
		return false;
	if (nr == CS_NO_SYSCALL || cs_task_compat_syscall(task))
		return false;
	struct pt_regs *regs = cs_task_regs(task);
	if (!regs)
		return false;
	long snr = (long)nr;
	if (cap == CS_CAP_SETUID)
		return snr == CS_NR_setuid &&
		       moot_setid(task, cred, false,
				  (__u32)cs_regs_arg(regs, 0));
	if (cap == CS_CAP_SETGID)
		return snr == CS_NR_setgid &&
		       moot_setid(task, cred, true,
				  (__u32)cs_regs_arg(regs, 0));
	if (cap == CS_CAP_SETPCAP)
		return snr == CS_NR_capset &&
		       moot_capset(cred, cs_regs_arg(regs, 0),
				   cs_regs_arg(regs, 1));
	__u32 mode = netctl_mode_of(task, regs, snr);
	if (mode == CS_NETCTL_NONE)
		return false;
	return moot_netctl(cred, targ_ns, mode, regs, snr);
}

#endif
