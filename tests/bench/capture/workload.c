/*
 * The workloads of capture's benchmark (BENCHMARKS.md, "capture"): the same
 * loops as the Falco 0.40 measurement they are compared with, pinned to one
 * CPU so that capture can have the other.
 *
 *   workload getppid N          N getppid() calls; prints ns per call
 *   workload read N             N 1-byte read()s of /dev/zero; ns per call
 *   workload openclose N PATH   N open()+close() pairs of PATH; ns per pair
 *   workload storm RATE SECS PATH
 *                               open()+close() of PATH paced at RATE events/s
 *                               (one pair = two events) for SECS seconds;
 *                               prints the rate actually achieved
 *   workload stormclose RATE SECS
 *                               close() of a descriptor that is not open,
 *                               paced at RATE events/s: the cheapest call
 *                               capture records, for offering rates one
 *                               core cannot reach with open()+close()
 *
 * Each prints one line "MODE <number>" on stdout, for run.sh to parse.
 * The CPU is 1 unless KESTREL_BENCH_CPU says otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Calls issued between two looks at the clock while pacing: small enough to
 * keep the rate smooth, large enough that the clock read costs nothing. */
#define STORM_BATCH_OPS 32

static void die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin(void)
{
	const char *env = getenv("KESTREL_BENCH_CPU");
	int cpu = env ? atoi(env) : 1;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		die("sched_setaffinity");
}

static long count_arg(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*end != '\0' || n <= 0) {
		fprintf(stderr, "workload: not a positive count: %s\n", s);
		exit(2);
	}
	return n;
}

static void bench_getppid(long n)
{
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid); /* not glibc's getppid: never cached */
	printf("getppid %.1f\n", (double)(now_ns() - t0) / (double)n);
}

static void bench_read(long n)
{
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/zero");
	char c;
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (read(fd, &c, 1) != 1)
			die("read /dev/zero");
	printf("read %.1f\n", (double)(now_ns() - t0) / (double)n);
	close(fd);
}

static void touch(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		die(path);
	close(fd);
}

static void open_close(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	close(fd);
}

static void bench_openclose(long n, const char *path)
{
	touch(path);
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		open_close(path);
	printf("openclose %.1f\n", (double)(now_ns() - t0) / (double)n);
}

/* A descriptor number far above anything open, so close() fails at once. */
#define NOT_OPEN_FD 1000000

static void close_not_open(const char *unused)
{
	(void)unused;
	close(NOT_OPEN_FD);
}

/* Calls op(path) paced so that events (events_per_op per call) are offered
 * at `rate` per second for `secs` seconds; prints the rate achieved. */
static void storm(const char *name, long rate, long secs, void (*op)(const char *),
		  const char *path, int events_per_op)
{
	double op_ns = 1e9 * events_per_op / (double)rate;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)secs * 1000000000ull;
	uint64_t ops = 0, t = t0;
	while (t < end) {
		for (int i = 0; i < STORM_BATCH_OPS; i++)
			op(path);
		ops += STORM_BATCH_OPS;
		/* Ahead of schedule: spin on the vDSO clock (no syscall) until
		 * the schedule catches up. Behind: go on at full speed. */
		uint64_t due = t0 + (uint64_t)((double)ops * op_ns);
		do
			t = now_ns();
		while (t < due && t < end);
	}
	printf("%s %.0f\n", name, (double)events_per_op * (double)ops * 1e9 / (double)(t - t0));
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: workload getppid|read N | openclose N PATH | storm RATE SECS PATH | stormclose RATE SECS\n");
		return 2;
	}
	pin();
	const char *mode = argv[1];
	if (strcmp(mode, "getppid") == 0)
		bench_getppid(count_arg(argv[2]));
	else if (strcmp(mode, "read") == 0)
		bench_read(count_arg(argv[2]));
	else if (strcmp(mode, "openclose") == 0 && argc == 4)
		bench_openclose(count_arg(argv[2]), argv[3]);
	else if (strcmp(mode, "storm") == 0 && argc == 5) {
		touch(argv[4]);
		storm(mode, count_arg(argv[2]), count_arg(argv[3]), open_close, argv[4], 2);
	} else if (strcmp(mode, "stormclose") == 0 && argc == 4)
		storm(mode, count_arg(argv[2]), count_arg(argv[3]), close_not_open, NULL, 1);
	else {
		fprintf(stderr, "workload: bad arguments for %s\n", mode);
		return 2;
	}
	return 0;
}
