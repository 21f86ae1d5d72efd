/* Rule "Write below /etc by an unexpected program": creates a file in /etc
 * and removes it again. */
#include "kt.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	const char *path = "/etc/kt-probe.conf";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		kt_die("open %s", path);
	close(fd);
	if (unlink(path) != 0)
		kt_die("unlink %s", path);
	return 0;
}
