/* Network syscalls whose programs do more than copy their arguments:
 * socketpair's descriptors, connect and accept (with the full local and
 * remote tuple read from the kernel's socket), bind, and the addresses
 * (never the payload) of sends and receives. socket and listen are
 * generated from schema::table (exits.gen.h).
 *
 * Included by kestrel.bpf.c. */
#pragma once

#include "sock.h"

EXIT_PROG(socketpair)
{
	EXIT_BEGIN(ctx, SOCKETPAIR, w, a);
	int fds[2] = {-1, -1};
	bool ok = ctx->ret == 0 && bpf_probe_read_user(fds, sizeof(fds), (void *)a.a[3]) == 0;
	w_u64(&w, a.a[0]);
	w_u64(&w, a.a[1]);
	w_u64(&w, a.a[2]);
	if (ok) {
		w_int(&w, fds[0]);
		w_int(&w, fds[1]);
	} else {
		w_none(&w);
		w_none(&w);
	}
	return w_submit(&w);
}

EXIT_PROG(connect)
{
	EXIT_BEGIN(ctx, CONNECT, w, a);
	w_int(&w, a.a[0]);
	w_usockaddr(&w, (void *)a.a[1], a.a[2]);
	w_sock_tuple(&w, a.task, a.a[0]);
	return w_submit(&w);
}

EXIT_PROG(accept)
{
	EXIT_BEGIN(ctx, ACCEPT, w, a);
	w_int(&w, a.a[0]);
	w_sock_tuple(&w, a.task, ctx->ret);
	return w_submit(&w);
}

EXIT_PROG(accept4)
{
	EXIT_BEGIN(ctx, ACCEPT4, w, a);
	w_int(&w, a.a[0]);
	w_sock_tuple(&w, a.task, ctx->ret);
	w_u64(&w, a.a[3]);
	return w_submit(&w);
}

EXIT_PROG(bind)
{
	EXIT_BEGIN(ctx, BIND, w, a);
	w_int(&w, a.a[0]);
	w_usockaddr(&w, (void *)a.a[1], a.a[2]);
	return w_submit(&w);
}

EXIT_PROG(sendto)
{
	EXIT_BEGIN(ctx, SENDTO, w, a);
	w_int(&w, a.a[0]);
	w_u64(&w, a.a[2]);
	w_usockaddr(&w, (void *)a.a[4], a.a[5]);
	return w_submit(&w);
}

EXIT_PROG(sendmsg)
{
	EXIT_BEGIN(ctx, SENDMSG, w, a);
	w_int(&w, a.a[0]);
	w_msghdr(&w, (void *)a.a[1]);
	return w_submit(&w);
}

EXIT_PROG(recvfrom)
{
	EXIT_BEGIN(ctx, RECVFROM, w, a);
	w_int(&w, a.a[0]);
	w_u64(&w, a.a[2]);
	w_usockaddr_lenp(&w, (void *)a.a[4], (void *)a.a[5]);
	return w_submit(&w);
}

EXIT_PROG(recvmsg)
{
	EXIT_BEGIN(ctx, RECVMSG, w, a);
	w_int(&w, a.a[0]);
	w_msghdr(&w, (void *)a.a[1]);
	return w_submit(&w);
}
