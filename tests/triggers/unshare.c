/* Rules "Namespace change in a container" and "Namespace change by an
 * unexpected host program": makes a new UTS namespace (unshare) and goes
 * back to the one it started in (setns). Both only concern this process,
 * which exits at once. In an unprivileged container the kernel refuses
 * them; the attempt is what the rules watch. */
#include "kt.h"
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/proc/self/ns/uts", O_RDONLY);
	if (fd < 0)
		kt_die("open /proc/self/ns/uts");
	if (unshare(CLONE_NEWUTS) != 0)
		kt_note("unshare(CLONE_NEWUTS)");
	if (setns(fd, CLONE_NEWUTS) != 0)
		kt_note("setns(CLONE_NEWUTS)");
	close(fd);
	return 0;
}
