/*
 * Other ways of attaching the probe's openat and close programs, measured
 * against the real ones by machinery.sh (BENCHMARKS.md, "capture"):
 *
 * - empty_openat, empty_close: empty programs on the same per-syscall
 *   tracepoints, the cost of the tracepoint machinery alone;
 * - dispatch + btf_openat, btf_close: one tp_btf program on the raw
 *   sys_exit tracepoint that tail-calls, by syscall number, handlers that
 *   build the same records with the probe's own writer, reading the
 *   arguments straight from the traced pt_regs.
 *
 * Not part of capture; built from the probe's headers so that the records
 * cost what the probe's do.
 */
#include "common.h"
#include "paths.h"

/* Syscall numbers a dispatch slot can have (x86-64 has fewer). */
#define SYSCALL_SLOTS 512

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SYSCALL_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} jmp SEC(".maps");

SEC("tracepoint/syscalls/sys_exit_openat")
int empty_openat(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_close")
int empty_close(void *ctx)
{
	return 0;
}

/* Every syscall's exit: on to the handler of its number, if there is one. */
SEC("tp_btf/sys_exit")
int dispatch(__u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	bpf_tail_call(ctx, &jmp, (__u32)regs->orig_ax);
	return 0;
}

SEC("tp_btf/sys_exit")
int btf_close(__u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	if (!is_selected(KIND_CLOSE))
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	if (is_self_id(task_id(t)))
		return 0;
	struct w w;
	if (!w_begin(&w, KIND_CLOSE, NPARAMS_CLOSE, (long)ctx[1], task_id(t)))
		return 0;
	w_int(&w, regs->di);
	return w_submit(&w);
}

SEC("tp_btf/sys_exit")
int btf_openat(__u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	long ret = (long)ctx[1];
	if (!is_selected(KIND_OPENAT))
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	if (is_self_id(task_id(t)))
		return 0;
	struct w w;
	if (!w_begin(&w, KIND_OPENAT, NPARAMS_OPENAT, ret, task_id(t)))
		return 0;
	w_int(&w, regs->di);
	w_ustr(&w, (void *)regs->si);
	w_u64(&w, regs->dx);
	w_u64(&w, regs->r10);
	w_fd_dev_ino(&w, t, ret);
	return w_submit(&w);
}
