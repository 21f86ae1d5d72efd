/* Rule "Program run from memory": copies its own executable into a memfd
 * named kt-payload and, in a child, executes it from there (execveat with
 * AT_EMPTY_PATH, as fexecve does). The child sees argv[1] = "payload" and
 * exits at once. */
#include "kt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "payload") == 0)
		return 0;
	int src = open("/proc/self/exe", O_RDONLY);
	if (src < 0)
		kt_die("open /proc/self/exe");
	int mfd = memfd_create("kt-payload", 0);
	if (mfd < 0)
		kt_die("memfd_create");
	char buf[65536];
	ssize_t n;
	while ((n = read(src, buf, sizeof buf)) > 0)
		if (write(mfd, buf, n) != n)
			kt_die("write memfd");
	close(src);
	pid_t pid = fork();
	if (pid < 0)
		kt_die("fork");
	if (pid == 0) {
		char *args[] = { "kt-payload", "payload", NULL };
		char *env[] = { NULL };
		syscall(SYS_execveat, mfd, "", args, env, AT_EMPTY_PATH);
		kt_die("execveat memfd");
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
