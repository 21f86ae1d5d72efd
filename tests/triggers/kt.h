/* Shared helpers for kestrel's rule trigger programs.
 *
 * Each trigger is a small static program named kt-<what>, so that the alert
 * it causes can be told apart by proc.name from everything else the machine
 * does. Triggers do the suspicious thing and undo it: they leave no file,
 * module, BPF program or changed permission behind. They are not exploits.
 */
#ifndef KT_H
#define KT_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reports a step that failed and exits non-zero: the test harness shows
 * the message. */
#define kt_die(...)                                                        \
	do {                                                               \
		fprintf(stderr, "%s: ", __FILE__);                         \
		fprintf(stderr, __VA_ARGS__);                              \
		fprintf(stderr, ": %s\n", strerror(errno));                \
		exit(1);                                                   \
	} while (0)

/* Reports a step whose failure is expected in some settings (an
 * unprivileged container refusing a mount): the system call was made, which
 * is what the rule watches. */
#define kt_note(...)                                                       \
	do {                                                               \
		fprintf(stderr, "%s: note: ", __FILE__);                   \
		fprintf(stderr, __VA_ARGS__);                              \
		fprintf(stderr, ": %s\n", strerror(errno));                \
	} while (0)

#endif
