/* Rule "Shell history deleted or truncated": makes DIR/.bash_history (DIR
 * is argv[1]), deletes it, and replaces it with a symlink to /dev/null, as
 * attackers do to stop their commands being recorded. The link is removed
 * at the end. */
#include "kt.h"
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	if (argc != 2) {
		fprintf(stderr, "usage: kt-history DIR\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/.bash_history", argv[1]);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0)
		kt_die("create %s", path);
	close(fd);
	if (unlink(path) != 0)
		kt_die("unlink %s", path);
	if (symlink("/dev/null", path) != 0)
		kt_die("symlink %s", path);
	unlink(path);
	return 0;
}
