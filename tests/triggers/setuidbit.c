/* Rule "Setuid or setgid bit set on a file": creates DIR/kt-suid-file (DIR
 * is argv[1]), gives it mode 04755, and removes it. */
#include "kt.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	if (argc != 2) {
		fprintf(stderr, "usage: kt-setuidbit DIR\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/kt-suid-file", argv[1]);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0)
		kt_die("create %s", path);
	close(fd);
	if (chmod(path, 04755) != 0)
		kt_die("chmod %s", path);
	unlink(path);
	return 0;
}
