/* Rule "Filesystem mounted in a container": mounts a tmpfs on a fresh
 * directory and unmounts it. An unprivileged container is refused; the
 * attempt is what the rule watches. */
#include "kt.h"
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	const char *dir = "/tmp/kt-mnt";
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		kt_die("mkdir %s", dir);
	if (mount("kt-probe", dir, "tmpfs", 0, "size=64k") == 0)
		umount2(dir, 0);
	else
		kt_note("mount tmpfs on %s", dir);
	rmdir(dir);
	return 0;
}
