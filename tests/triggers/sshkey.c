/* Rule "SSH private key read by an unexpected program": makes a fake key
 * under DIR/.ssh/id_ed25519 (DIR is argv[1]), reads it, and removes it. */
#include "kt.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char dir[PATH_MAX], key[PATH_MAX];
	if (argc != 2) {
		fprintf(stderr, "usage: kt-sshkey DIR\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s/.ssh", argv[1]);
	snprintf(key, sizeof key, "%s/.ssh/id_ed25519", argv[1]);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		kt_die("mkdir %s", dir);
	int fd = open(key, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		kt_die("create %s", key);
	close(fd);
	fd = open(key, O_RDONLY);
	if (fd < 0)
		kt_die("open %s", key);
	close(fd);
	unlink(key);
	rmdir(dir);
	return 0;
}
