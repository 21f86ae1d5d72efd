/*
 * Sits at the end of `capture | framecount` in the benchmark: reads a kestrel
 * frame stream (standard Cap'n Proto stream framing), counts the event frames
 * and drops them, and copies every other frame (header, stats) to stdout, so
 * that `output --raw` can decode capture's counters afterwards without having
 * to render millions of events.
 *
 *   framecount READY_FILE   creates READY_FILE once the header has arrived
 *                           (the probe is attached by then); on SIGUSR1
 *                           prints "events N" on stderr; at EOF prints the
 *                           totals there.
 *
 * It reads only what it must to tell events apart: the root pointer of the
 * first segment and the first 16 bits of the Frame struct's data section,
 * where the union's discriminant lives (header 0, event 1, ...). A frame it
 * cannot classify is copied, never dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read buffer; also the largest frame accepted (schema's MAX_FRAME_BYTES). */
#define BUF_BYTES (4u << 20)
/* Most segments a frame may claim (schema's MAX_SEGMENTS). */
#define MAX_SEGMENTS 512u
/* Frame union discriminant of an event. */
#define FRAME_EVENT 1

static volatile sig_atomic_t report_asked;
static uint64_t events, others, bytes;

static void on_usr1(int sig)
{
	(void)sig;
	report_asked = 1;
}

static void write_all(const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("framecount: write");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Size in bytes of the frame at p (avail bytes there), 0 if incomplete, or
 * exits on a frame over the limits. */
static size_t frame_size(const uint8_t *p, size_t avail, size_t *table_bytes)
{
	if (avail < 4)
		return 0;
	uint32_t segs = le32(p) + 1;
	if (segs > MAX_SEGMENTS) {
		fprintf(stderr, "framecount: frame claims %u segments\n", segs);
		exit(1);
	}
	size_t table = ((segs / 2) + 1) * 8;
	if (avail < table)
		return 0;
	uint64_t words = 0;
	for (uint32_t i = 0; i < segs; i++)
		words += le32(p + 4 + 4 * i);
	uint64_t total = table + words * 8;
	if (total > BUF_BYTES) {
		fprintf(stderr, "framecount: frame of %llu bytes\n", (unsigned long long)total);
		exit(1);
	}
	*table_bytes = table;
	return total <= avail ? (size_t)total : 0;
}

/* The Frame union discriminant, or -1 when the root is not a plain struct
 * pointer into the first segment. */
static int frame_kind(const uint8_t *p, size_t table, size_t total)
{
	const uint8_t *seg = p + table;
	size_t seg_bytes = (size_t)le32(p + 4) * 8;
	if (seg_bytes < 8 || table + seg_bytes > total)
		return -1;
	uint64_t ptr = (uint64_t)le32(seg) | (uint64_t)le32(seg + 4) << 32;
	if ((ptr & 3) != 0)
		return -1;
	int32_t off = (int32_t)(uint32_t)ptr >> 2;
	uint16_t data_words = (uint16_t)(ptr >> 32);
	if (data_words == 0)
		return 0;
	int64_t at = 8 + (int64_t)off * 8;
	if (at < 8 || (size_t)at + 2 > seg_bytes)
		return -1;
	return seg[at] | seg[at + 1] << 8;
}

int main(int argc, char **argv)
{
	const char *ready = argc > 1 ? argv[1] : NULL;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART: read() returns to report */
	sigaction(SIGUSR1, &sa, NULL);

	uint8_t *buf = malloc(BUF_BYTES);
	if (!buf) {
		perror("framecount: malloc");
		return 1;
	}
	size_t have = 0;
	for (;;) {
		if (report_asked) {
			report_asked = 0;
			fprintf(stderr, "events %llu\n", (unsigned long long)events);
		}
		ssize_t n = read(0, buf + have, BUF_BYTES - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("framecount: read");
			return 1;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		bytes += (uint64_t)n;
		size_t at = 0, table = 0, size;
		while ((size = frame_size(buf + at, have - at, &table)) > 0) {
			if (frame_kind(buf + at, table, size) == FRAME_EVENT) {
				events++;
			} else {
				write_all(buf + at, size);
				if (others++ == 0 && ready)
					close(open(ready, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
			}
			at += size;
		}
		memmove(buf, buf + at, have - at);
		have -= at;
	}
	fprintf(stderr, "events %llu\nother_frames %llu\nbytes %llu\n",
		(unsigned long long)events, (unsigned long long)others, (unsigned long long)bytes);
	return have == 0 ? 0 : 1;
}
