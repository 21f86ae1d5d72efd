/* Rule "Cgroup release_agent written": opens a cgroup v1 release_agent
 * file (argv[1], default the pids hierarchy's) for appending and writes
 * nothing, so the setting stays as it was. */
#include "kt.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/sys/fs/cgroup/pids/release_agent";
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		kt_die("open %s for writing", path);
	close(fd);
	return 0;
}
