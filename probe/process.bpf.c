/* Process syscalls whose programs do more than copy their arguments: exec
 * (whose exit describes the new process image), clone3 (flags from its
 * struct), capset (the sets in force), prctl, init_module, umount2; and
 * process exit. clone and fork (both sides: the parent's exit returns the
 * child's tid, the child's returns 0), the credential and namespace
 * changes and the other process-level calls are generated from
 * schema::table (exits.gen.h).
 *
 * Included by kestrel.bpf.c. */
#pragma once

#include "task.h"

#define PR_SET_NAME 15
/* Threads in execve at once, per host. */
#define MAX_EXECS_IN_FLIGHT 4096

/* execve replaces the registers and the memory its arguments were in, so
 * its entry parameters are kept here until its exit, keyed by thread group
 * (an exec from a non-leader thread exits under the leader's tid). */
struct exec_entry {
	__u16 kind; /* KIND_EXECVE or KIND_EXECVEAT */
	__s64 dirfd;
	__u64 flags;
	__u32 len;
	char filename[MAX_STR_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* Allocated on use: execs are rare, and preallocating 4096 entries of
	 * 4 KiB would pin 16 MiB for nothing. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_EXECS_IN_FLIGHT);
	__type(key, __u32);
	__type(value, struct exec_entry);
} exec_entries SEC(".maps");

_Static_assert(sizeof(struct exec_entry) <= MAX_RECORD_BYTES, "staged in the scratch buffer");

/* Which of execve (bit 0) and execveat (bit 1) are selected; set by the
 * loader. Needed because a successful execveat leaves through execve's exit
 * tracepoint, which is then attached for execveat's sake too. */
const volatile __u32 exec_kinds = 3;

static __always_inline int exec_enter(__u16 kind, long dirfd, const char *filename, __u64 flags)
{
	if (is_self())
		return 0;
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	struct exec_entry *e = (struct exec_entry *)s->b;
	e->kind = kind;
	e->dirfd = dirfd;
	e->flags = flags;
	long n = bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename);
	e->len = n > 0 ? n - 1 : 0;
	__u32 key = bpf_get_current_pid_tgid() >> 32;
	if (bpf_map_update_elem(&exec_entries, &key, e, BPF_ANY) != 0)
		count_drop(DROP_EXEC_ENTRY_LOST);
	return 0;
}

/* The filename stored at entry. */
static __always_inline void w_exec_filename(struct w *w, struct exec_entry *e)
{
	if (!e || !w_room(w, MAX_STR_BYTES)) {
		if (!e)
			w_none(w);
		return;
	}
	/* The entry stored at most MAX_STR_BYTES - 1 bytes (the string's NUL
	 * took the last), so this mask keeps every length. */
	__u32 len = e->len & (MAX_STR_BYTES - 1);
	__u32 off = LOAD(w->s->off);
	if (len && bpf_probe_read_kernel(&w->s->b[masked(off)], len, e->filename) != 0) {
		w_none(w);
		return;
	}
	w->s->off = off + len;
	w_len(w, len);
}

/* The exec tail of schema::table: after a successful exec, the new process;
 * after a failed one, absent (nothing changed). Global, so the verifier
 * checks it once on its own rather than once per state of its caller. */
__noinline int w_exec_tail_global(long ret)
{
	struct w wr;
	struct w *w = &wr;
	w->s = get_scratch();
	if (!w->s)
		return 0;
	if (ret == 0) {
		w_exec_tail(w);
		return 0;
	}
	for (int i = 0; i < 26; i++)
		w_none(w);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int enter_execve(struct sys_enter_ctx *ctx)
{
	return exec_enter(KIND_EXECVE, -100 /* AT_FDCWD */, (const char *)ctx->args[0], 0);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int enter_execveat(struct sys_enter_ctx *ctx)
{
	return exec_enter(KIND_EXECVEAT, ctx->args[0], (const char *)ctx->args[1], ctx->args[4]);
}

/* The exit of either exec. The kind comes from the entry when there is one:
 * a successful execveat exits through execve's tracepoint. */
static __always_inline int exec_exit(struct sys_exit_ctx *ctx, __u16 prog_kind)
{
	struct w w;
	__u64 id = bpf_get_current_pid_tgid();
	if (is_self_id(id))
		return 0;
	__u32 key = id >> 32;
	struct exec_entry *e = bpf_map_lookup_elem(&exec_entries, &key);
	__u16 kind = e ? e->kind : prog_kind;
	if (!(exec_kinds & (kind == KIND_EXECVEAT ? 2 : 1)))
		goto out;
	if (!is_selected(kind))
		goto out;
	if (kind == KIND_EXECVEAT) {
		if (!w_begin(&w, KIND_EXECVEAT, NPARAMS_EXECVEAT, ctx->ret, id))
			goto out;
		if (e) {
			w_int(&w, e->dirfd);
			w_exec_filename(&w, e);
			w_u64(&w, e->flags);
		} else {
			w_none(&w);
			w_none(&w);
			w_none(&w);
		}
	} else {
		if (!w_begin(&w, KIND_EXECVE, NPARAMS_EXECVE, ctx->ret, id))
			goto out;
		w_exec_filename(&w, e);
	}
	w_exec_tail_global(ctx->ret);
	w_submit(&w);
out:
	if (e)
		bpf_map_delete_elem(&exec_entries, &key);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exit_execve(struct sys_exit_ctx *ctx)
{
	return exec_exit(ctx, KIND_EXECVE);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int exit_execveat(struct sys_exit_ctx *ctx)
{
	return exec_exit(ctx, KIND_EXECVEAT);
}

EXIT_PROG(clone3)
{
	EXIT_BEGIN(ctx, CLONE3, w, a);
	__u64 flags = 0;
	if (bpf_probe_read_user(&flags, sizeof(flags), (void *)a.a[0]) == 0)
		w_u64(&w, flags);
	else
		w_none(&w);
	return w_submit(&w);
}

/* The sets in force after the call, from the task's credentials. */
EXIT_PROG(capset)
{
	EXIT_BEGIN(ctx, CAPSET, w, a);
	const struct cred *c = BPF_CORE_READ((struct task_struct *)bpf_get_current_task_btf(), cred);
	w_u64(&w, BPF_CORE_READ(c, cap_inheritable.val));
	w_u64(&w, BPF_CORE_READ(c, cap_permitted.val));
	w_u64(&w, BPF_CORE_READ(c, cap_effective.val));
	return w_submit(&w);
}

EXIT_PROG(prctl)
{
	EXIT_BEGIN(ctx, PRCTL, w, a);
	w_u64(&w, a.a[0]);
	if (a.a[0] == PR_SET_NAME)
		w_ustr(&w, (void *)a.a[1]);
	else
		w_none(&w);
	w_u64(&w, a.a[1]);
	return w_submit(&w);
}

EXIT_PROG(init_module)
{
	EXIT_BEGIN(ctx, INIT_MODULE, w, a);
	w_u64(&w, a.a[1]);
	w_ustr(&w, (void *)a.a[2]);
	return w_submit(&w);
}

/* umount2's kernel name is umount, and so is its tracepoint's. */
SEC("tracepoint/syscalls/sys_exit_umount")
int exit_umount2(struct sys_exit_ctx *ctx)
{
	EXIT_BEGIN(ctx, UMOUNT2, w, a);
	w_ustr(&w, (void *)a.a[0]);
	w_u64(&w, a.a[1]);
	return w_submit(&w);
}

/* Every thread's exit. The status and the terminating signal come from the
 * exit code the kernel recorded for it. */
SEC("tracepoint/sched/sched_process_exit")
int proc_exit(void *ctx)
{
	struct w w;
	__u64 id = bpf_get_current_pid_tgid();
	if (is_self_id(id) || !is_selected(KIND_PROCEXIT))
		return 0;
	if (!w_begin(&w, KIND_PROCEXIT, NPARAMS_PROCEXIT, 0, id))
		return 0;
	int code = BPF_CORE_READ((struct task_struct *)bpf_get_current_task_btf(), exit_code);
	w_int(&w, (code >> 8) & 0xff);
	w_u64(&w, code & 0x7f);
	return w_submit(&w);
}
