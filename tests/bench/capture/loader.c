/*
 * A minimal loader for machinery.sh: loads chosen programs of a BPF object
 * with libbpf, attaches them (or puts them in the object's `jmp` tail-call
 * table), drains the `events` ring buffer until SIGTERM, then prints what it
 * read and the probe's drop count on stderr.
 *
 *   loader OBJ READY PROG[@SLOT]...
 *
 * PROG@SLOT is not attached but stored at SLOT of the `jmp` map. Once
 * everything is attached, READY is created holding the program ids, one a
 * line. When the object has them, the `selected` map is filled with 1 (every
 * kind selected) and `scratch_map` gets one slot per CPU, as capture does.
 *
 * It exists to measure the probe's cost apart from capture's reader, and
 * to try other attachment schemes; it is not a second capture.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Most programs one command line can name. */
#define MAX_PROGS 16
/* Longest wait for ring buffer data before looking at the stop flag, ms. */
#define POLL_MS 10
/* Most CPUs whose per-CPU drop counters are summed. */
#define MAX_CPUS 1024

static volatile sig_atomic_t stop;
static long records;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	records++;
	return 0;
}

static int die(const char *what, const char *name)
{
	fprintf(stderr, "loader: %s %s\n", what, name ? name : "");
	return 1;
}

static long sum_drops(struct bpf_object *obj)
{
	static __u64 per_cpu[MAX_CPUS];
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "drops");
	int cpus = libbpf_num_possible_cpus();
	long total = 0;
	if (!map || cpus <= 0 || cpus > MAX_CPUS)
		return 0;
	for (__u32 k = 0; k < bpf_map__max_entries(map); k++) {
		if (bpf_map__lookup_elem(map, &k, sizeof(k), per_cpu, sizeof(__u64) * cpus, 0))
			continue;
		for (int c = 0; c < cpus; c++)
			total += per_cpu[c];
	}
	return total;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc - 3 > MAX_PROGS)
		return die("usage: loader OBJ READY PROG[@SLOT]... (at most 16)", NULL);
	struct bpf_program *progs[MAX_PROGS];
	int slots[MAX_PROGS];
	int n = argc - 3;

	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return die("cannot open", argv[1]);
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, false);
	for (int i = 0; i < n; i++) {
		char *at = strchr(argv[i + 3], '@');
		slots[i] = at ? atoi(at + 1) : -1;
		if (at)
			*at = 0;
		progs[i] = bpf_object__find_program_by_name(obj, argv[i + 3]);
		if (!progs[i])
			return die("no program", argv[i + 3]);
		bpf_program__set_autoload(progs[i], true);
	}
	struct bpf_map *scratch = bpf_object__find_map_by_name(obj, "scratch_map");
	if (scratch)
		bpf_map__set_max_entries(scratch, libbpf_num_possible_cpus());
	if (bpf_object__load(obj))
		return die("load failed", argv[1]);

	struct bpf_map *jmp = bpf_object__find_map_by_name(obj, "jmp");
	for (int i = 0; i < n; i++) {
		if (slots[i] < 0) {
			if (!bpf_program__attach(progs[i]))
				return die("cannot attach", argv[i + 3]);
			continue;
		}
		__u32 key = slots[i];
		int fd = bpf_program__fd(progs[i]);
		if (!jmp || bpf_map__update_elem(jmp, &key, sizeof(key), &fd, sizeof(fd), 0))
			return die("cannot store in jmp:", argv[i + 3]);
	}
	struct bpf_map *selected = bpf_object__find_map_by_name(obj, "selected");
	for (__u32 k = 0; selected && k < bpf_map__max_entries(selected); k++) {
		__u32 on = 1;
		bpf_map__update_elem(selected, &k, sizeof(k), &on, sizeof(on), 0);
	}
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");
	struct ring_buffer *ring = events ? ring_buffer__new(bpf_map__fd(events), on_record, NULL, NULL) : NULL;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* Written aside and renamed, so the script never reads half of it. */
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
	FILE *ready = fopen(tmp, "w");
	if (!ready)
		return die("cannot write", tmp);
	for (int i = 0; i < n; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &info, &len);
		fprintf(ready, "%u\n", info.id);
	}
	fclose(ready);
	rename(tmp, argv[2]);

	/* The probe rarely wakes a reader: poll with a timeout, then read
	 * whatever is there (poll only reports rings that were woken). */
	while (!stop) {
		if (ring) {
			ring_buffer__poll(ring, POLL_MS);
			ring_buffer__consume(ring);
		} else {
			pause();
		}
	}
	if (ring)
		ring_buffer__consume(ring);
	fprintf(stderr, "loader: read %ld records, drops %ld\n", records, sum_drops(obj));
	return 0;
}
