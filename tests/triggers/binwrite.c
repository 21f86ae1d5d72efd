/* Rule "Write below a system binary or boot directory": creates a file in
 * /usr/local/bin and removes it again. */
#include "kt.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	const char *path = "/usr/local/bin/kt-probe-binary";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0)
		kt_die("open %s", path);
	close(fd);
	if (unlink(path) != 0)
		kt_die("unlink %s", path);
	return 0;
}
