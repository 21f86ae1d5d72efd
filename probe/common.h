/* Shared by every probe file: the maps, the syscall tracepoint contexts, and
 * the record writer that lays parameters out as src/layout.rs describes.
 *
 * Not here: how any particular syscall's parameters are found (the family
 * files) or how kernel objects are turned into paths and addresses
 * (paths.h, sock.h). */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "kinds.h"
#include "layout.h"

/* The per-syscall tracepoint contexts. Declared here rather than taken from
 * vmlinux.h, whose syscall_trace_enter does not relocate under aya. */
struct sys_enter_ctx {
	__u64 common;
	int nr;
	int pad;
	unsigned long args[6];
};

struct sys_exit_ctx {
	__u64 common;
	int nr;
	int pad;
	long ret;
};

/* The record header, as src/layout.rs lays it out. */
struct rec_hdr {
	__u64 ts;
	__s64 ret;
	__u32 tid;
	__u32 pid;
	__u16 kind;
	__u16 nparams;
	__u16 flags;
	__u16 cpu;
};

_Static_assert(sizeof(struct rec_hdr) == REC_HDR_BYTES, "record header size");
_Static_assert(__builtin_offsetof(struct rec_hdr, ts) == OFF_TS, "ts");
_Static_assert(__builtin_offsetof(struct rec_hdr, ret) == OFF_RET, "ret");
_Static_assert(__builtin_offsetof(struct rec_hdr, tid) == OFF_TID, "tid");
_Static_assert(__builtin_offsetof(struct rec_hdr, pid) == OFF_PID, "pid");
_Static_assert(__builtin_offsetof(struct rec_hdr, kind) == OFF_KIND, "kind");
_Static_assert(__builtin_offsetof(struct rec_hdr, nparams) == OFF_NPARAMS, "nparams");
_Static_assert(__builtin_offsetof(struct rec_hdr, flags) == OFF_FLAGS, "flags");
_Static_assert(__builtin_offsetof(struct rec_hdr, cpu) == OFF_CPU, "cpu");
_Static_assert((MAX_RECORD_BYTES & (MAX_RECORD_BYTES - 1)) == 0, "offsets are masked");
_Static_assert((MAX_PARAMS & (MAX_PARAMS - 1)) == 0, "indexes are masked");
_Static_assert((MAX_PATH_DEPTH & (MAX_PATH_DEPTH - 1)) == 0, "depths are masked");

#define OFF_MASK (MAX_RECORD_BYTES - 1)

/* `off & OFF_MASK`, done where the verifier sees it: clang drops a plain
 * mask it can prove redundant, and the verifier, tracking another register,
 * then cannot bound the access. */
static __always_inline __u32 masked(__u32 off)
{
	asm volatile("%0 &= %1" : "+r"(off) : "i"(OFF_MASK));
	return off;
}

/* The same for a parameter index. */
static __always_inline __u32 masked_idx(__u32 i)
{
	asm volatile("%0 &= %1" : "+r"(i) : "i"(MAX_PARAMS - 1));
	return i;
}
/* Longest single write at a masked offset; the scratch buffer is that much
 * larger than a record so the verifier can prove every write in bounds. */
#define MAX_CHUNK MAX_STR_BYTES

/* Set by the loader before the programs are verified. */
const volatile __u32 own_tgid = 0;
/* Bytes a CPU submits between two wake-ups of the reader (the loader
 * divides its ring-wide figure by the number of CPUs); in between, the
 * reader finds the data on its next timed poll. */
const volatile __u64 wakeup_bytes = 256 * 1024;

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* Replaced by --buffer-size before loading. */
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* Set to 1 by capture when it stops: the programs then write nothing, so
 * capture can drain the ring buffer to the end without waiting for the
 * programs to be detached (several seconds for all of them). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} control SEC(".maps");

/* The selection: 1 at a kind's ordinal (schema::Kind) when its events are
 * emitted. capture fills it before attaching; with --control it attaches
 * every program and `setSyscalls` rewrites this map while they run, so a
 * program of an unselected kind returns before it builds anything. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	/* Replaced by the number of kinds before loading. */
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} selected SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_REASON_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Per-CPU working memory: the record being built, and the dentries of a
 * path being rebuilt (too big for the 512-byte stack). A plain array indexed
 * by CPU rather than a per-CPU array, whose values are limited to 32 KiB;
 * the loader sets max_entries to the number of possible CPUs. Programs run
 * with migration disabled, so a CPU's slot has one user at a time. */
struct scratch {
	__u8 b[MAX_RECORD_BYTES + MAX_CHUNK];
	void *parts[MAX_PATH_DEPTH];
	/* The writer's cursor lives here rather than on the stack: a value
	 * loaded from a map is unknown to the verifier, so the branches of a
	 * loop that advance it by different amounts reach the next iteration in
	 * the same state and are pruned, instead of multiplying. */
	__u32 off;   /* next free byte of b */
	__u32 idx;   /* next parameter */
	__u32 nparts; /* entries of parts in use */
	__u16 flags;
	/* Bytes this CPU submitted since it last woke the reader. */
	__u64 unwoken;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline struct scratch *get_scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&scratch_map, &cpu);
}

static __always_inline void count_drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &reason);
	if (n)
		*n += 1;
}

/* Reads a cursor field from memory every time: if clang forwarded the last
 * store instead, the verifier would track the exact value again. */
#define LOAD(x) (*(volatile __typeof__(x) *)&(x))

/* The record under construction (its cursor is in the scratch buffer). */
struct w {
	struct scratch *s;
};

/* True for a thread of capture itself (`id` as bpf_get_current_pid_tgid
 * returns it), whose activity is never reported, and for everyone once
 * capture has stopped. */
static __always_inline bool is_self_id(__u64 id)
{
	if ((id >> 32) == own_tgid)
		return true;
	__u32 zero = 0;
	__u32 *stopped = bpf_map_lookup_elem(&control, &zero);
	return stopped && *stopped;
}

static __always_inline bool is_self(void)
{
	return is_self_id(bpf_get_current_pid_tgid());
}

/* bpf_get_current_pid_tgid's value for task `t`, from two loads: every
 * helper call costs tens of ns here (return thunks), and the exit programs
 * already hold the task. */
static __always_inline __u64 task_id(struct task_struct *t)
{
	return (__u64)(__u32)t->tgid << 32 | (__u32)t->pid;
}

/* Whether `kind`'s events are emitted (the `selected` map). */
static __always_inline bool is_selected(__u16 kind)
{
	__u32 k = kind;
	__u32 *on = bpf_map_lookup_elem(&selected, &k);
	return on && *on;
}

/* Starts a record of `kind` with `nparams` parameters for thread `id`
 * (bpf_get_current_pid_tgid's value). The caller has checked that `kind` is
 * selected. */
static __always_inline bool w_begin(struct w *w, __u16 kind, __u16 nparams, __s64 ret, __u64 id)
{
	struct scratch *s = get_scratch();
	if (!s) {
		count_drop(DROP_NO_SCRATCH);
		return false;
	}
	struct rec_hdr *h = (struct rec_hdr *)s->b;
	h->ts = bpf_ktime_get_boot_ns();
	h->ret = ret;
	h->tid = (__u32)id;
	h->pid = id >> 32;
	h->kind = kind;
	h->nparams = nparams;
	h->flags = 0;
	h->cpu = bpf_get_smp_processor_id();
	w->s = s;
	s->idx = 0;
	s->flags = 0;
	s->off = REC_HDR_BYTES + 2 * (nparams & (MAX_PARAMS - 1));
	return true;
}

static __always_inline void w_len(struct w *w, __u16 len)
{
	__u32 i = LOAD(w->s->idx);
	if (i >= MAX_PARAMS)
		return;
	*(__u16 *)&w->s->b[REC_HDR_BYTES + 2 * masked_idx(i)] = len;
	w->s->idx = i + 1;
}

static __always_inline void w_none(struct w *w)
{
	w_len(w, PARAM_NONE);
}

static __always_inline void w_u64(struct w *w, __u64 v)
{
	__u32 off = LOAD(w->s->off);
	if (off > MAX_RECORD_BYTES - 8) {
		w->s->flags |= FLAG_TRUNCATED;
		w_none(w);
		return;
	}
	*(__u64 *)&w->s->b[masked(off)] = v;
	w->s->off = off + 8;
	w_len(w, 8);
}

/* A file descriptor or other C int, sign-extended. */
static __always_inline void w_int(struct w *w, long v)
{
	w_u64(w, (__u64)(__s64)(int)v);
}

/* A uid or gid: the 32-bit value, so that -1 reads as 4294967295. */
static __always_inline void w_u32(struct w *w, unsigned long v)
{
	w_u64(w, (__u32)v);
}

/* Room for `need` more bytes, or the parameter is dropped as truncated. */
static __always_inline bool w_room(struct w *w, __u32 need)
{
	if (w->s->off > MAX_RECORD_BYTES - need) {
		w->s->flags |= FLAG_TRUNCATED;
		w_none(w);
		return false;
	}
	return true;
}

/* A NUL-terminated string read from user memory, without its NUL. */
static __always_inline void w_ustr(struct w *w, const void *p)
{
	if (!p) {
		w_none(w);
		return;
	}
	if (!w_room(w, MAX_STR_BYTES))
		return;
	__u32 off = LOAD(w->s->off);
	long n = bpf_probe_read_user_str(&w->s->b[masked(off)], MAX_STR_BYTES, p);
	if (n <= 0) {
		w_none(w);
		return;
	}
	if (n >= MAX_STR_BYTES)
		w->s->flags |= FLAG_TRUNCATED;
	w->s->off = off + (n - 1);
	w_len(w, n - 1);
}

/* `len` clamped to [0, MAX], MAX a power of two, in a form the verifier
 * can bound: the mask keeps MAX itself (a mask of MAX - 1 would turn MAX
 * into 0, and a read of 0 bytes would record stale scratch memory), and the
 * asm keeps clang from dropping it as redundant after the clamp. */
#define CLAMP_LEN(len, MAX)                                                                        \
	({                                                                                         \
		_Static_assert(((MAX) & ((MAX) - 1)) == 0, "MAX is a power of two");               \
		_Static_assert((MAX) <= MAX_CHUNK, "MAX fits past the last offset");               \
		__u32 __n = (len) > (MAX) ? (MAX) : (__u32)(len);                                  \
		asm volatile("%0 &= %1" : "+r"(__n) : "i"(2 * (MAX) - 1));                          \
		__n;                                                                               \
	})

/* `len` bytes of user memory, at most `MAX` (a constant power of two
 * ≤ MAX_CHUNK), as one parameter. The length recorded is the number of
 * bytes read; a read that fails records the parameter absent. Returns
 * whether `len` was cut to `MAX`. */
#define w_ubytes(w, p, len, MAX)                                                                   \
	({                                                                                         \
		__u64 __len = (len);                                                               \
		w_ubytes_n((w), (p), CLAMP_LEN(__len, MAX), (MAX));                                \
		__len > (MAX);                                                                     \
	})

static __always_inline void w_ubytes_n(struct w *w, const void *p, __u32 n, __u32 max)
{
	if (!p || n == 0) {
		w_none(w);
		return;
	}
	if (!w_room(w, max))
		return;
	__u32 off = LOAD(w->s->off);
	if (bpf_probe_read_user(&w->s->b[masked(off)], n, p) != 0) {
		w_none(w);
		return;
	}
	w->s->off = off + n;
	w_len(w, n);
}

/* Ring buffer bytes of a record beyond its own: the ring's record header. */
#define RINGBUF_HDR_BYTES 8

/* Sends the record. A CPU wakes the reader once per `wakeup_bytes` it
 * submits: waking per event makes traced syscalls many times slower (each
 * wake-up is an IPI). The count is the CPU's own, in its scratch slot,
 * because asking the ring how much is unread (bpf_ringbuf_query) costs a
 * helper call and a cache line the reader writes, on every event. A reader
 * that finds the ring empty polls with a timeout, so a quiet trickle is not
 * held back for long. */
static __always_inline int w_submit(struct w *w)
{
	struct rec_hdr *h = (struct rec_hdr *)w->s->b;
	h->flags = w->s->flags;
	__u32 size = w->s->off;
	if (size > MAX_RECORD_BYTES)
		size = MAX_RECORD_BYTES;
	__u64 unwoken = w->s->unwoken + size + RINGBUF_HDR_BYTES;
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (unwoken >= wakeup_bytes) {
		flags = BPF_RB_FORCE_WAKEUP;
		unwoken = 0;
	}
	w->s->unwoken = unwoken;
	if (bpf_ringbuf_output(&events, w->s->b, size, flags) != 0)
		count_drop(DROP_RINGBUF_FULL);
	return 0;
}

/* The six syscall arguments, read at exit from the registers saved at entry.
 * On x86-64 the syscall leaves di, si, dx, r10, r8 and r9 as the caller set
 * them (execve excepted, which replaces the whole user context), so exit-only
 * programs see their arguments without an entry program and a per-thread map:
 * half the cost per captured syscall. */
struct args {
	unsigned long a[6];
	/* The current task, kept for the parameters read from it (an fd's
	 * file): fetching it again would be another helper call. */
	struct task_struct *task;
};

static __always_inline void read_args(struct args *out)
{
	struct task_struct *t = bpf_get_current_task_btf();
	out->task = t;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	/* Direct loads through the BTF pointer: the verifier turns them into
	 * fault-safe loads, without the cost of a helper call. */
	out->a[0] = regs->di;
	out->a[1] = regs->si;
	out->a[2] = regs->dx;
	out->a[3] = regs->r10;
	out->a[4] = regs->r8;
	out->a[5] = regs->r9;
}

/* The common opening of an exit program: the kind selected, arguments
 * read, not ourselves, a record started. */
#define EXIT_BEGIN(ctx, KIND, w, a)                                                                \
	struct w w;                                                                                \
	struct args a;                                                                             \
	if (!is_selected(KIND_##KIND))                                                             \
		return 0;                                                                          \
	read_args(&a);                                                                             \
	if (is_self_id(task_id(a.task)))                                                           \
		return 0;                                                                          \
	if (!w_begin(&w, KIND_##KIND, NPARAMS_##KIND, (ctx)->ret, task_id(a.task)))                \
		return 0

#define EXIT_PROG(name) SEC("tracepoint/syscalls/sys_exit_" #name) int exit_##name(struct sys_exit_ctx *ctx)
