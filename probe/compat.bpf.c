/* 32-bit (ia32 compat) syscalls: int 0x80, sysenter, and syscall from a
 * 32-bit process. The per-syscall tracepoints never fire for these, so
 * without this program an `open` through int 0x80 would go unseen.
 *
 * Every 32-bit entry path (do_int80_emulation, do_fast_syscall_32) ends in
 * ia32_sys_call(regs, nr), and only they call it: an fentry program there
 * runs for 32-bit syscalls alone, so a 64-bit syscall pays nothing. (The
 * entry functions themselves are noinstr, so they take no fentry or kprobe.)
 * A kernel may refuse fentry programs altogether (this project's machines
 * answer EPERM to every trampoline program, and have no kprobes): then the
 * raw syscall tracepoint below is the only hook left, at a cost to every
 * syscall.
 * The record is made at entry, before the syscall runs, so its return value
 * is unknown (0) but user memory still holds the path it was given.
 *
 * Included by kestrel.bpf.c. */
#pragma once

#include <bpf/bpf_tracing.h>

/* AT_FDCWD as a 32-bit process passes it. */
#define IA32_AT_FDCWD 0xffffff9cUL

/* ia32 syscalls whose first argument is a path (syscall_32.tbl): open 5,
 * creat 8, link 9, unlink 10, execve 11, chdir 12, chmod 15, lchown 16,
 * rename 38, mkdir 39, rmdir 40, chroot 61. A bit per number below 64. */
#define IA32_PATH_IN_A0_LOW                                                                        \
	((1ULL << 5) | (1ULL << 8) | (1ULL << 9) | (1ULL << 10) | (1ULL << 11) | (1ULL << 12) |    \
	 (1ULL << 15) | (1ULL << 16) | (1ULL << 38) | (1ULL << 39) | (1ULL << 40) | (1ULL << 61))

/* Where the path of ia32 syscall `nr` is: 0 or 1 (the argument), or -1
 * (none). The *at calls count only with AT_FDCWD: a path relative to
 * another directory would be read by enrich as relative to the cwd. */
static __always_inline int ia32_path_arg(__u32 nr, __u32 a0)
{
	if (nr < 64)
		return (IA32_PATH_IN_A0_LOW >> nr) & 1 ? 0 : -1;
	switch (nr) {
	case 182: /* chown */
	case 198: /* lchown32 */
	case 212: /* chown32 */
		return 0;
	case 295: /* openat */
	case 296: /* mkdirat */
	case 298: /* fchownat */
	case 301: /* unlinkat */
	case 302: /* renameat */
	case 303: /* linkat */
	case 306: /* fchmodat */
	case 353: /* renameat2 */
	case 358: /* execveat */
	case 437: /* openat2 */
	case 452: /* fchmodat2 */
		return a0 == IA32_AT_FDCWD ? 1 : -1;
	default:
		return -1;
	}
}

/* One record of ia32 syscall `nr` made with the registers `regs`. The
 * caller has checked that the kind is selected. */
static __always_inline int compat_record(const struct pt_regs *regs, __u32 nr)
{
	struct w w;
	__u64 id = bpf_get_current_pid_tgid();
	if (is_self_id(id))
		return 0;
	if (!w_begin(&w, KIND_COMPAT_SYSCALL, NPARAMS_COMPAT_SYSCALL, 0, id))
		return 0;
	/* The 32-bit caller's registers, in the ia32 argument order. */
	__u32 a[6] = {regs->bx, regs->cx, regs->dx, regs->si, regs->di, regs->bp};
	w_u64(&w, nr);
	for (int i = 0; i < 6; i++)
		w_u64(&w, a[i]);
	int at = ia32_path_arg(nr, a[0]);
	if (at == 0)
		w_ustr(&w, (const void *)(unsigned long)a[0]);
	else if (at == 1)
		w_ustr(&w, (const void *)(unsigned long)a[1]);
	else
		w_none(&w);
	return w_submit(&w);
}

SEC("fentry/ia32_sys_call")
int BPF_PROG(compat_syscall, const struct pt_regs *regs, unsigned int nr)
{
	if (!is_selected(KIND_COMPAT_SYSCALL))
		return 0;
	return compat_record(regs, nr);
}

/* thread_info.status bit of a thread inside a 32-bit syscall. */
#define TS_COMPAT 0x0002

/* The fallback for kernels that refuse fentry programs: the raw syscall
 * entry tracepoint, which every syscall of the machine passes, so it costs
 * each 64-bit syscall a program run (measured in BENCHMARKS.md); capture
 * attaches it only when compat_syscall is named in --syscalls. */
SEC("tp_btf/sys_enter")
int BPF_PROG(compat_syscall_raw, struct pt_regs *regs, long nr)
{
	/* First the map lookup the verifier inlines, then the helper call. */
	if (!is_selected(KIND_COMPAT_SYSCALL))
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	if (!(t->thread_info.status & TS_COMPAT))
		return 0;
	return compat_record(regs, nr);
}
