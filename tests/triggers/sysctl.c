/* Rule "Kernel parameter written from a container": opens
 * /proc/sys/net/ipv4/ip_forward for writing and writes nothing. The
 * setting is per network namespace, so even a successful write would only
 * concern the container's own network. */
#include "kt.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	const char *path = "/proc/sys/net/ipv4/ip_forward";
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		kt_note("open %s for writing", path);
	else
		close(fd);
	return 0;
}
