/* Rule "Log file truncated or deleted": creates /var/log/kt-probe.log,
 * truncates it with O_TRUNC, and deletes it. Only kestrel's own file is
 * touched. */
#include "kt.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	const char *path = "/var/log/kt-probe.log";
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0640);
	if (fd < 0)
		kt_die("create %s", path);
	close(fd);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		kt_die("truncate %s", path);
	close(fd);
	if (unlink(path) != 0)
		kt_die("unlink %s", path);
	return 0;
}
