/* Rule "Kernel module load attempted": calls init_module with a buffer that
 * is not an ELF file and finit_module with /dev/null. The kernel rejects
 * both before loading anything; the attempts are what the rule watches. */
#include "kt.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	static const char not_a_module[64] = "kestrel trigger: not a kernel module";
	if (syscall(SYS_init_module, not_a_module, sizeof not_a_module, "") == 0) {
		errno = 0;
		kt_die("init_module accepted a non-module");
	}
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		kt_die("open /dev/null");
	if (syscall(SYS_finit_module, fd, "", 0) == 0) {
		errno = 0;
		kt_die("finit_module accepted /dev/null");
	}
	close(fd);
	return 0;
}
