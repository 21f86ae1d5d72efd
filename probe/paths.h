/* Kernel objects as parameters: a descriptor's file, a file's device and
 * inode, and paths rebuilt from dentries (cwd, executable) and from kernfs
 * nodes (cgroups). Every walk is bounded by MAX_PATH_DEPTH and MAX_PATH_BYTES;
 * a path cut short flags the record truncated.
 *
 * Not here: anything about sockets (sock.h). */
#pragma once

#include "common.h"

/* The open file behind descriptor `fd` of task `t` (the current one), or
 * NULL. Direct loads through the task's BTF pointer (fault-safe, no helper
 * call) where the offset is fixed; the fd array is indexed by a variable,
 * which only a helper read allows. */
static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	if (fd < 0)
		return NULL;
	struct files_struct *files = t->files;
	if (!files)
		return NULL;
	struct fdtable *fdt = files->fdt;
	if (!fdt)
		return NULL;
	if ((unsigned long)fd >= fdt->max_fds)
		return NULL;
	struct file **fds = fdt->fd;
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* Bytes read at once from an inode to get both i_sb and i_ino. */
#define INODE_SPAN_BYTES 64

/* Device and inode of the file open as `fd` (two parameters). Every helper
 * read costs tens of ns here, so the inode's superblock pointer and number
 * come in one read when they lie within INODE_SPAN_BYTES of each other (as
 * they have for years); otherwise in two. */
static __always_inline void w_fd_dev_ino(struct w *w, struct task_struct *t, long fd)
{
	struct file *f = fd_file(t, fd);
	struct inode *ino = NULL;
	if (f)
		bpf_core_read(&ino, sizeof(ino), &f->f_inode);
	if (!ino) {
		w_none(w);
		w_none(w);
		return;
	}
	__u32 sb_off = bpf_core_field_offset(struct inode, i_sb);
	__u32 ino_off = bpf_core_field_offset(struct inode, i_ino);
	struct super_block *sb = NULL;
	unsigned long i_ino = 0;
	if (ino_off > sb_off && ino_off - sb_off <= INODE_SPAN_BYTES - sizeof(i_ino) &&
	    (ino_off - sb_off) % sizeof(i_ino) == 0) {
		__u64 span[INODE_SPAN_BYTES / 8] = {};
		bpf_probe_read_kernel(span, sizeof(span), (char *)ino + sb_off);
		sb = (struct super_block *)span[0];
		i_ino = span[((ino_off - sb_off) / 8) & (INODE_SPAN_BYTES / 8 - 1)];
	} else {
		sb = BPF_CORE_READ(ino, i_sb);
		i_ino = BPF_CORE_READ(ino, i_ino);
	}
	if (sb)
		w_u64(w, BPF_CORE_READ(sb, s_dev));
	else
		w_none(w);
	w_u64(w, i_ino);
}

/* Appends `c` without recording a parameter length. */
static __always_inline void w_raw_byte(struct w *w, char c)
{
	__u32 off = LOAD(w->s->off);
	if (off >= MAX_RECORD_BYTES)
		return;
	w->s->b[masked(off)] = c;
	w->s->off = off + 1;
}

/* Appends a kernel string of at most `max` bytes (a constant ≤ MAX_CHUNK)
 * without its NUL and without recording a length; returns bytes appended. */
static __always_inline long w_raw_kstr(struct w *w, const void *p, __u32 max)
{
	__u32 off = LOAD(w->s->off);
	if (off > MAX_RECORD_BYTES - max)
		return -1;
	long n = bpf_probe_read_kernel_str(&w->s->b[masked(off)], max, p);
	if (n <= 1)
		return 0;
	w->s->off = off + (n - 1);
	return n - 1;
}

/* Closes a parameter that started at `start` with raw appends. */
static __always_inline void w_close(struct w *w, __u32 start)
{
	__u32 len = w->s->off - start;
	if (len > MAX_RECORD_BYTES)
		len = 0;
	w_len(w, len);
}

#define NAME_BYTES 256 /* NAME_MAX + NUL */

/* The absolute path of dentry `dentry` on mount `vfsmnt`, rebuilt by walking
 * dentries up to the root and crossing mount points.
 *
 * A global function: the verifier checks it once, on its own, and its caller
 * continues from one state. Inlined, each of its many exit states would run
 * through the rest of the exec program and exhaust the verifier's budget. So
 * it takes kernel pointers as plain numbers and finds the record itself. */
__noinline int w_path_global(__u64 dentry, __u64 vfsmnt)
{
	struct w wr;
	struct w *w = &wr;
	w->s = get_scratch();
	if (!w->s)
		return 0;
	struct dentry *d = (struct dentry *)dentry;
	if (!d || !vfsmnt) {
		w_none(w);
		return 0;
	}
	if (!w_room(w, MAX_PATH_BYTES))
		return 0;
	struct mount *mnt = container_of((struct vfsmount *)vfsmnt, struct mount, mnt);
	w->s->nparts = 0;
	bool complete = false;
	for (int i = 0; i < MAX_PATH_DEPTH * 2; i++) {
		struct dentry *mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
		if (d == mnt_root) {
			struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
			if (parent == mnt) {
				complete = true;
				break;
			}
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = parent;
			continue;
		}
		struct dentry *up = BPF_CORE_READ(d, d_parent);
		__u32 n = LOAD(w->s->nparts);
		if (up == d) {
			/* A root that is not its mount's: a pseudo file (memfd,
			 * pipe) or a disconnected dentry. Its own name is the
			 * path, as d_path shows it. */
			if (n < MAX_PATH_DEPTH) {
				w->s->parts[n & (MAX_PATH_DEPTH - 1)] = d;
				w->s->nparts = n + 1;
			}
			complete = true;
			break;
		}
		if (n >= MAX_PATH_DEPTH)
			break;
		w->s->parts[n & (MAX_PATH_DEPTH - 1)] = d;
		w->s->nparts = n + 1;
		d = up;
	}
	if (!complete)
		w->s->flags |= FLAG_TRUNCATED;
	__u32 start = LOAD(w->s->off);
	__u32 n = LOAD(w->s->nparts);
	if (n == 0)
		w_raw_byte(w, '/');
	for (int j = 0; j < MAX_PATH_DEPTH; j++) {
		if (j >= n)
			break;
		if (w->s->off - start > MAX_PATH_BYTES - NAME_BYTES - 1) {
			w->s->flags |= FLAG_TRUNCATED;
			break;
		}
		struct dentry *part = w->s->parts[(n - 1 - j) & (MAX_PATH_DEPTH - 1)];
		w_raw_byte(w, '/');
		w_raw_kstr(w, BPF_CORE_READ(part, d_name.name), NAME_BYTES);
	}
	w_close(w, start);
	return 0;
}

/* The absolute path of `path` (one parameter). */
static __always_inline void w_path(struct w *w, const struct path *path)
{
	w_path_global((__u64)BPF_CORE_READ(path, dentry), (__u64)BPF_CORE_READ(path, mnt));
}
