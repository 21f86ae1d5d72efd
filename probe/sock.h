/* Sockets as parameters: socket addresses copied from user memory, and the
 * (local, remote) tuple read from the kernel's socket behind a descriptor.
 *
 * Both are written as raw `struct sockaddr_*` bytes (family first) and
 * decoded by capture's Rust side; a tuple is one byte giving the length of
 * the local address, the local address, then the remote address. */
#pragma once

#include <bpf/bpf_endian.h>
#include "paths.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
/* sizeof(struct sockaddr_un) */
#define SOCKADDR_UN_BYTES 110

/* The socket behind descriptor `fd` of task `t` (the current one), or
 * NULL if it is not one. */
static __always_inline struct sock *fd_sock(struct task_struct *t, long fd)
{
	struct file *f = fd_file(t, fd);
	if (!f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/* Appends an AF_INET address, returns its length. */
static __always_inline __u32 raw_sin(struct w *w, __u16 port_be, __u32 addr_be)
{
	__u32 off = LOAD(w->s->off);
	if (off > MAX_RECORD_BYTES - 8)
		return 0;
	__u8 *p = &w->s->b[masked(off)];
	*(__u16 *)p = AF_INET;
	*(__u16 *)(p + 2) = port_be;
	*(__u32 *)(p + 4) = addr_be;
	w->s->off = off + 8;
	return 8;
}

/* Appends an AF_INET6 address, returns its length. */
static __always_inline __u32 raw_sin6(struct w *w, __u16 port_be, struct in6_addr *addr)
{
	__u32 off = LOAD(w->s->off);
	if (off > MAX_RECORD_BYTES - 28)
		return 0;
	__u8 *p = &w->s->b[masked(off)];
	*(__u16 *)p = AF_INET6;
	*(__u16 *)(p + 2) = port_be;
	*(__u32 *)(p + 4) = 0;
	bpf_probe_read_kernel(p + 8, 16, addr);
	*(__u32 *)(p + 24) = 0;
	w->s->off = off + 28;
	return 28;
}

/* Appends the bound address of a unix socket (just the family if it has
 * none), returns its length. */
static __always_inline __u32 raw_sun(struct w *w, struct sock *sk)
{
	__u32 off = LOAD(w->s->off);
	if (off > MAX_RECORD_BYTES - SOCKADDR_UN_BYTES)
		return 0;
	__u8 *p = &w->s->b[masked(off)];
	struct unix_sock *us = container_of(sk, struct unix_sock, sk);
	struct unix_address *ua = sk ? BPF_CORE_READ(us, addr) : NULL;
	int len = ua ? BPF_CORE_READ(ua, len) : 0;
	if (len < 2 || len > SOCKADDR_UN_BYTES ||
	    bpf_probe_read_kernel(p, len & 0x7f, (void *)ua + bpf_core_field_offset(struct unix_address, name)) != 0) {
		*(__u16 *)p = AF_UNIX;
		len = 2;
	}
	w->s->off = off + len;
	return len;
}

/* The (local, remote) tuple of the socket behind `fd`. */
static __always_inline void w_sock_tuple(struct w *w, struct task_struct *t, long fd)
{
	struct sock *sk = fd_sock(t, fd);
	if (!sk || !w_room(w, 1 + 2 * SOCKADDR_UN_BYTES))
		goto none;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u32 start = LOAD(w->s->off);
	__u8 *lenp = &w->s->b[masked(start)];
	w->s->off = start + 1;
	__u32 local;
	if (family == AF_INET) {
		local = raw_sin(w, bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num)),
				BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
		raw_sin(w, BPF_CORE_READ(sk, __sk_common.skc_dport), BPF_CORE_READ(sk, __sk_common.skc_daddr));
	} else if (family == AF_INET6) {
		struct in6_addr a;
		a = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		local = raw_sin6(w, bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num)), &a);
		a = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
		raw_sin6(w, BPF_CORE_READ(sk, __sk_common.skc_dport), &a);
	} else if (family == AF_UNIX) {
		local = raw_sun(w, sk);
		struct unix_sock *us = container_of(sk, struct unix_sock, sk);
		raw_sun(w, BPF_CORE_READ(us, peer));
	} else {
		w->s->off = start;
		goto none;
	}
	*lenp = local;
	w_close(w, start);
	return;
none:
	w_none(w);
}

/* A socket address from user memory, `len` bytes long. */
static __always_inline void w_usockaddr(struct w *w, const void *p, __u64 len)
{
	(void)w_ubytes(w, p, len, MAX_SOCKADDR_BYTES);
}

/* A socket address from user memory whose length is at user address
 * `lenp` (accept, recvfrom: filled in by the kernel). */
static __always_inline void w_usockaddr_lenp(struct w *w, const void *p, const void *lenp)
{
	int len = 0;
	if (!p || !lenp || bpf_probe_read_user(&len, sizeof(len), lenp) != 0 || len <= 0) {
		w_none(w);
		return;
	}
	w_usockaddr(w, p, len);
}

#define MAX_IOVS 8 /* iovecs summed for a sendmsg/recvmsg size */

/* Address and total size of a user msghdr (two parameters: size, addr). */
static __always_inline void w_msghdr(struct w *w, const void *p)
{
	struct user_msghdr m = {};
	if (!p || bpf_probe_read_user(&m, sizeof(m), p) != 0) {
		w_none(w);
		w_none(w);
		return;
	}
	__u64 size = 0;
	for (int i = 0; i < MAX_IOVS; i++) {
		if (i >= m.msg_iovlen)
			break;
		struct iovec v = {};
		if (bpf_probe_read_user(&v, sizeof(v), &m.msg_iov[i]) != 0)
			break;
		size += v.iov_len;
	}
	w_u64(w, size);
	if (m.msg_name && m.msg_namelen > 0)
		w_usockaddr(w, m.msg_name, m.msg_namelen);
	else
		w_none(w);
}
