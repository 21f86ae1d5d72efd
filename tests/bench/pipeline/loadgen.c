/*
 * The load of the whole-pipeline benchmark (BENCHMARKS.md, "Whole
 * pipeline"): open()+close() of one file, pinned to one CPU, paced at a
 * given number of events per second (one pair = two events), or unthrottled.
 *
 *   loadgen RATE SECS PATH      RATE events/s for SECS seconds; RATE 0 is
 *                               as fast as the calls go
 *
 * Prints one line on stdout:
 *
 *   offered RATE achieved EVENTS_PER_S ns_per_pair NS cpu_ns_per_pair CPU
 *
 * where NS is the mean wall time of one open()+close() pair measured around
 * the calls only, pacing excluded: what a traced program pays per pair,
 * including the time other processes (the stages) hold its CPU; and CPU is
 * the thread's own CPU time per pair over the same spans (user + system,
 * probe included), which other processes on a shared machine do not skew.
 *
 * Unlike tests/bench/capture/workload.c, which spins on the clock between
 * batches to keep one CPU to itself, this generator sleeps when ahead of
 * schedule: the pipeline's stages share the machine with it, and the CPU it
 * does not need is theirs. The CPU is 1 unless KESTREL_BENCH_CPU says
 * otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* open()+close() pairs between two looks at the clock: small enough to keep
 * the pace smooth (16 pairs = 80 us at 400k events/s), large enough that
 * reading the clock costs nothing next to the calls. */
#define BATCH_PAIRS 16

/* Timer slack for the pacing sleeps, in ns; the default 50 us would be most
 * of a batch period at the higher rates. */
#define TIMER_SLACK_NS 1000

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void sleep_until(uint64_t due)
{
	struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull),
			      .tv_nsec = (long)(due % 1000000000ull)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
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

static long count_arg(const char *s, int zero_ok)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*end != '\0' || n < 0 || (n == 0 && !zero_ok)) {
		fprintf(stderr, "loadgen: not a valid count: %s\n", s);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: loadgen RATE SECS PATH (RATE 0: unthrottled)\n");
		return 2;
	}
	long rate = count_arg(argv[1], 1), secs = count_arg(argv[2], 0);
	const char *path = argv[3];
	pin();
	prctl(PR_SET_TIMERSLACK, TIMER_SLACK_NS, 0, 0, 0);

	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		die(path);
	close(fd);

	/* Two events per pair. */
	double pair_ns = rate ? 2e9 / (double)rate : 0;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)secs * 1000000000ull;
	uint64_t pairs = 0, busy_ns = 0, cpu_ns = 0, t = t0;
	while (t < end) {
		/* The thread CPU clock is a real syscall (no vDSO), once per
		 * batch: not one the pipeline captures. */
		uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		uint64_t b0 = now_ns();
		for (int i = 0; i < BATCH_PAIRS; i++) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				die(path);
			close(fd);
		}
		t = now_ns();
		busy_ns += t - b0;
		cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		pairs += BATCH_PAIRS;
		if (rate) {
			uint64_t due = t0 + (uint64_t)((double)pairs * pair_ns);
			if (due > t && due < end) {
				sleep_until(due);
				t = now_ns();
			} else if (due >= end) {
				sleep_until(end);
				t = now_ns();
			}
		}
	}
	printf("offered %ld achieved %.0f ns_per_pair %.1f cpu_ns_per_pair %.1f\n", rate,
	       2.0 * (double)pairs * 1e9 / (double)(t - t0), (double)busy_ns / (double)pairs,
	       (double)cpu_ns / (double)pairs);
	return 0;
}
