/* Rule "32-bit syscall ABI used": this 64-bit program opens /etc/hostname
 * for reading through the 32-bit entry (int 0x80, ia32 open = 5) and closes
 * it the same way (ia32 close = 6), which no 64-bit syscall tracepoint
 * sees. */
#include "kt.h"
#include <sys/mman.h>

#define IA32_OPEN 5
#define IA32_CLOSE 6

/* A 32-bit syscall with two arguments. The ia32 entry restores every
 * register but eax; r8-r11 are listed because older kernels zeroed them. */
static long int80(long nr, unsigned int a0, unsigned int a1)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a0), "c"(a1)
			 : "r8", "r9", "r10", "r11", "memory");
	return ret;
}

int main(void)
{
	static const char path[] = "/etc/hostname";
	/* The 32-bit ABI takes 32-bit pointers: the path goes below 4 GiB. */
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		kt_die("mmap MAP_32BIT");
	memcpy(low, path, sizeof(path));
	long fd = int80(IA32_OPEN, (unsigned int)(unsigned long)low, 0 /* O_RDONLY */);
	if (fd < 0) {
		errno = (int)-fd;
		kt_die("int 0x80 open %s", path);
	}
	int80(IA32_CLOSE, (unsigned int)fd, 0);
	munmap(low, 4096);
	return 0;
}
