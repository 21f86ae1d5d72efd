/* Rule "Permissions or owner of a sensitive file changed": sets the mode
 * and the owner of /etc/shadow to what they already are, so nothing
 * changes but the system calls are made. */
#include "kt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	const char *path = "/etc/shadow";
	struct stat st;
	if (stat(path, &st) != 0)
		kt_die("stat %s", path);
	if (fchmodat(AT_FDCWD, path, st.st_mode & 07777, 0) != 0)
		kt_die("fchmodat %s", path);
	if (fchownat(AT_FDCWD, path, st.st_uid, st.st_gid, 0) != 0)
		kt_die("fchownat %s", path);
	return 0;
}
