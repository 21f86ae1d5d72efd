/* The current task as parameters: ids in the host and the task's own pid
 * namespace, credentials, capabilities, controlling tty, cgroup paths, and
 * what its executable is. Used by the exec exit, which describes the
 * process after the exec.
 *
 * Not here: syscall arguments (the family files). */
#pragma once

#include "paths.h"

#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define TTY_MINOR_BITS 20 /* the kernel's dev_t: major << 20 | minor */
/* The ns of an inode time; the bits above it are flags (multigrain ctime
 * keeps "queried" in bit 31). */
#define NSEC_MASK ((1U << 30) - 1)

/* Before 6.15 the field was `parent`. */
struct kernfs_node___old {
	struct kernfs_node *parent;
};

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* The id of `p` in the namespace at level `level` (0: the host's). */
static __always_inline int pid_nr_at(struct pid *p, unsigned int level)
{
	if (!p)
		return 0;
	/* Pid namespaces nest at most 32 deep. */
	return BPF_CORE_READ(p, numbers[level & 31].nr);
}

static __always_inline int pid_vnr(struct pid *p)
{
	return p ? pid_nr_at(p, BPF_CORE_READ(p, level)) : 0;
}

/* The cgroup path of kernfs node `kn`, appended without a length. */
static __always_inline void raw_kn_path(struct w *w, struct kernfs_node *kn)
{
	w->s->nparts = 0;
	for (int i = 0; i < MAX_PATH_DEPTH; i++) {
		struct kernfs_node *up = kn ? kn_parent(kn) : NULL;
		if (!up)
			break;
		__u32 n = LOAD(w->s->nparts);
		w->s->parts[n & (MAX_PATH_DEPTH - 1)] = kn;
		w->s->nparts = n + 1;
		kn = up;
	}
	__u32 n = LOAD(w->s->nparts);
	if (n == 0)
		w_raw_byte(w, '/');
	for (int j = 0; j < MAX_PATH_DEPTH; j++) {
		if (j >= n)
			break;
		struct kernfs_node *part = w->s->parts[(n - 1 - j) & (MAX_PATH_DEPTH - 1)];
		w_raw_byte(w, '/');
		w_raw_kstr(w, BPF_CORE_READ(part, name), NAME_BYTES);
	}
}

/* The cgroup v1 hierarchies whose paths are reported: the ones container
 * runtimes always create a cgroup in. A controller on the unified (v2)
 * hierarchy is covered by the v2 entry instead. */
static __always_inline void raw_cgroup_v1(struct w *w, struct css_set *cs, int id, __u32 start)
{
	struct cgroup_subsys_state *css = BPF_CORE_READ(cs, subsys[id & 15]);
	if (!css)
		return;
	struct cgroup *cg = BPF_CORE_READ(css, cgroup);
	if (!cg || BPF_CORE_READ(cg, root, hierarchy_id) == 0)
		return;
	if (w->s->off - start > MAX_CGROUPS_BYTES - MAX_PATH_DEPTH * NAME_BYTES)
		return;
	w_raw_kstr(w, BPF_CORE_READ(css, ss, name), 32);
	w_raw_byte(w, ':');
	raw_kn_path(w, BPF_CORE_READ(cg, kn));
	w_raw_byte(w, 0);
}

/* The cgroups of the current task as NUL-separated `controller:path`
 * entries, the v2 one as `:path`, as /proc/PID/cgroup lists them without
 * hierarchy ids. Global for the reason w_path_global is. */
__noinline int w_cgroups_global(void)
{
	struct w wr;
	struct w *w = &wr;
	w->s = get_scratch();
	if (!w->s)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	struct css_set *cs = BPF_CORE_READ(t, cgroups);
	if (!cs || !w_room(w, MAX_CGROUPS_BYTES)) {
		if (!cs)
			w_none(w);
		return 0;
	}
	__u32 start = LOAD(w->s->off);
	raw_cgroup_v1(w, cs, bpf_core_enum_value(enum cgroup_subsys_id, cpuset_cgrp_id), start);
	raw_cgroup_v1(w, cs, bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id), start);
	raw_cgroup_v1(w, cs, bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id), start);
	raw_cgroup_v1(w, cs, bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id), start);
	struct cgroup *dfl = BPF_CORE_READ(cs, dfl_cgrp);
	if (dfl) {
		w_raw_byte(w, ':');
		raw_kn_path(w, BPF_CORE_READ(dfl, kn));
		w_raw_byte(w, 0);
	}
	w_close(w, start);
	return 0;
}

/* The controlling tty as a device number, 0 for none. */
static __always_inline __u64 task_tty(struct task_struct *t)
{
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (!tty)
		return 0;
	int major = BPF_CORE_READ(tty, driver, major);
	int minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	return ((__u64)major << TTY_MINOR_BITS) | (__u32)minor;
}

/* Whether `ino` is an overlayfs inode whose file lives on the upper
 * (container-writable) layer. */
static __always_inline bool on_upper_layer(struct inode *ino)
{
	/* overlayfs built as a module has no type in vmlinux's BTF. */
	if (!bpf_core_type_exists(struct ovl_inode))
		return false;
	if (BPF_CORE_READ(ino, i_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return false;
	struct ovl_inode *oi = container_of(ino, struct ovl_inode, vfs_inode);
	return BPF_CORE_READ(oi, __upperdentry) != NULL;
}

/* Whether `f` is a memfd: its dentry is named "memfd:...". */
static __always_inline bool is_memfd(struct file *f)
{
	char name[6] = {};
	bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	return name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' &&
	       name[5] == ':';
}

/* argv of the current process (two parameters: the NUL-separated list and
 * whether it was cut at MAX_ARGS_BYTES). */
static __always_inline void w_argv(struct w *w, struct mm_struct *mm)
{
	unsigned long start = BPF_CORE_READ(mm, arg_start);
	unsigned long end = BPF_CORE_READ(mm, arg_end);
	bool cut = w_ubytes(w, (void *)start, end > start ? end - start : 0, MAX_ARGS_BYTES);
	w_u64(w, cut);
}

/* The exec tail of schema::table: the process after a successful exec. */
static __always_inline void w_exec_tail(struct w *w)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	struct file *exe = mm ? BPF_CORE_READ(mm, exe_file) : NULL;
	if (exe)
		w_path(w, &exe->f_path);
	else
		w_none(w);
	if (mm) {
		w_argv(w, mm);
	} else {
		w_none(w);
		w_none(w);
	}
	struct fs_struct *fs = BPF_CORE_READ(t, fs);
	if (fs)
		w_path(w, &fs->pwd);
	else
		w_none(w);
	const struct cred *c = BPF_CORE_READ(t, cred);
	w_u64(w, BPF_CORE_READ(c, uid.val));
	w_u64(w, BPF_CORE_READ(c, gid.val));
	w_u64(w, BPF_CORE_READ(c, euid.val));
	w_u64(w, BPF_CORE_READ(c, egid.val));
	if (bpf_core_field_exists(t->loginuid))
		w_u64(w, BPF_CORE_READ(t, loginuid.val));
	else
		w_none(w);
	w_u64(w, task_tty(t));
	struct signal_struct *sig = BPF_CORE_READ(t, signal);
	w_int(w, pid_nr_at(BPF_CORE_READ(sig, pids[PIDTYPE_SID]), 0));
	w_int(w, pid_vnr(BPF_CORE_READ(t, group_leader, thread_pid)));
	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	w_int(w, pid_vnr(tp));
	w_int(w, pid_nr_at(BPF_CORE_READ(sig, pids[PIDTYPE_PGID]), 0));
	w_int(w, BPF_CORE_READ(t, real_parent, tgid));
	/* comm */
	if (w_room(w, 16)) {
		__u32 start = LOAD(w->s->off);
		w_raw_kstr(w, &t->comm, 16);
		w_close(w, start);
	}
	w_cgroups_global();
	w_u64(w, BPF_CORE_READ(c, cap_effective.val));
	w_u64(w, BPF_CORE_READ(c, cap_permitted.val));
	w_u64(w, BPF_CORE_READ(c, cap_inheritable.val));
	struct inode *ino = exe ? BPF_CORE_READ(exe, f_inode) : NULL;
	if (ino) {
		w_u64(w, on_upper_layer(ino));
		w_u64(w, is_memfd(exe));
		w_u64(w, BPF_CORE_READ(ino, i_ino));
		/* Split seconds and ns fields since 6.11; absent before. */
		if (bpf_core_field_exists(ino->i_ctime_sec)) {
			w_u64(w, BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ULL +
					 (BPF_CORE_READ(ino, i_ctime_nsec) & NSEC_MASK));
			w_u64(w, BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ULL +
					 (BPF_CORE_READ(ino, i_mtime_nsec) & NSEC_MASK));
		} else {
			w_none(w);
			w_none(w);
		}
	} else {
		for (int i = 0; i < 5; i++)
			w_none(w);
	}
	unsigned int level = tp ? BPF_CORE_READ(tp, level) : 0;
	w_u64(w, tp ? BPF_CORE_READ(tp, numbers[level & 31].ns, ns.inum) : 0);
}
