/* kestrel's eBPF probe: one program per syscall exit (and the few entries
 * and kernel hooks that need their own), each writing one variable-length
 * record into the `events` ring buffer. Only the programs of the selected
 * syscalls are attached, so an unselected syscall runs none; with
 * `capture --control` every program is attached and the `selected` map,
 * checked first in each, says which kinds emit (`setSyscalls`).
 *
 * Built by bins/capture/build.rs as one object from the family files and
 * the programs it generates from schema::table. */

#include "common.h"
#include "process.bpf.c"
#include "files.bpf.c"
#include "network.bpf.c"
#include "compat.bpf.c"
/* The exit programs that are table rows (bins/capture/build.rs). */
#include "exits.gen.h"
