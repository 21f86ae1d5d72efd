/* Rule "Symlink to a sensitive file created": links DIR/shadow-link (DIR is
 * argv[1]) to /etc/shadow, then removes the link. */
#include "kt.h"
#include <limits.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char link[PATH_MAX];
	if (argc != 2) {
		fprintf(stderr, "usage: kt-symlink DIR\n");
		return 2;
	}
	snprintf(link, sizeof link, "%s/shadow-link", argv[1]);
	if (symlink("/etc/shadow", link) != 0)
		kt_die("symlink %s", link);
	unlink(link);
	return 0;
}
