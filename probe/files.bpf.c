/* File syscalls whose programs do more than copy their arguments: opens
 * (with the device and inode of what was opened) and fcntl (only the
 * commands that duplicate a descriptor). Close, dup, and the calls that
 * create, remove, rename, link and change the mode or owner of paths are
 * generated from schema::table (exits.gen.h). Paths are reported as given;
 * a relative one keeps its dirfd for enrich to resolve.
 *
 * Included by kestrel.bpf.c. */
#pragma once

#include "paths.h"

#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030

EXIT_PROG(open)
{
	EXIT_BEGIN(ctx, OPEN, w, a);
	w_ustr(&w, (void *)a.a[0]);
	w_u64(&w, a.a[1]);
	w_u64(&w, a.a[2]);
	w_fd_dev_ino(&w, a.task, ctx->ret);
	return w_submit(&w);
}

EXIT_PROG(openat)
{
	EXIT_BEGIN(ctx, OPENAT, w, a);
	w_int(&w, a.a[0]);
	w_ustr(&w, (void *)a.a[1]);
	w_u64(&w, a.a[2]);
	w_u64(&w, a.a[3]);
	w_fd_dev_ino(&w, a.task, ctx->ret);
	return w_submit(&w);
}

EXIT_PROG(openat2)
{
	EXIT_BEGIN(ctx, OPENAT2, w, a);
	struct open_how how = {};
	bool have_how = bpf_probe_read_user(&how, sizeof(how), (void *)a.a[2]) == 0;
	w_int(&w, a.a[0]);
	w_ustr(&w, (void *)a.a[1]);
	if (have_how) {
		w_u64(&w, how.flags);
		w_u64(&w, how.mode);
		w_u64(&w, how.resolve);
	} else {
		w_none(&w);
		w_none(&w);
		w_none(&w);
	}
	w_fd_dev_ino(&w, a.task, ctx->ret);
	return w_submit(&w);
}

EXIT_PROG(creat)
{
	EXIT_BEGIN(ctx, CREAT, w, a);
	w_ustr(&w, (void *)a.a[0]);
	w_u64(&w, a.a[1]);
	w_fd_dev_ino(&w, a.task, ctx->ret);
	return w_submit(&w);
}

/* Only the fcntl commands that duplicate a descriptor matter to the fd
 * table; the others return before anything is reserved. */
SEC("tracepoint/syscalls/sys_exit_fcntl")
int exit_fcntl(struct sys_exit_ctx *ctx)
{
	struct args a;
	if (!is_selected(KIND_FCNTL))
		return 0;
	read_args(&a);
	__u64 id = task_id(a.task);
	if (is_self_id(id))
		return 0;
	if (a.a[1] != F_DUPFD && a.a[1] != F_DUPFD_CLOEXEC)
		return 0;
	struct w w;
	if (!w_begin(&w, KIND_FCNTL, NPARAMS_FCNTL, ctx->ret, id))
		return 0;
	w_int(&w, a.a[0]);
	w_u64(&w, a.a[1]);
	return w_submit(&w);
}

