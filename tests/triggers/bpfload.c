/* Rule "BPF program loaded by an unexpected program": loads the smallest
 * eBPF program there is (a socket filter returning 0), attaches it
 * nowhere, and closes it, so the kernel frees it at once. */
#include "kt.h"
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (unsigned long)prog;
	attr.insn_cnt = sizeof prog / sizeof prog[0];
	attr.license = (unsigned long)"GPL";
	int fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	if (fd < 0)
		kt_die("bpf(BPF_PROG_LOAD)");
	close(fd);
	return 0;
}
