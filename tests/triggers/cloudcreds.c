/* Rule "Cloud or Kubernetes credentials read by an unexpected program":
 * makes a fake DIR/.aws/credentials (DIR is argv[1]), reads it, and removes
 * it. */
#include "kt.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char dir[PATH_MAX], file[PATH_MAX];
	if (argc != 2) {
		fprintf(stderr, "usage: kt-cloudcreds DIR\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s/.aws", argv[1]);
	snprintf(file, sizeof file, "%s/.aws/credentials", argv[1]);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		kt_die("mkdir %s", dir);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		kt_die("create %s", file);
	close(fd);
	fd = open(file, O_RDONLY);
	if (fd < 0)
		kt_die("open %s", file);
	close(fd);
	unlink(file);
	rmdir(dir);
	return 0;
}
