/* Rule "Ptrace attach to another process": starts a child that sleeps,
 * attaches to it with PTRACE_ATTACH, detaches, and ends it. */
#include "kt.h"
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t child = fork();
	if (child < 0)
		kt_die("fork");
	if (child == 0) {
		pause();
		_exit(0);
	}
	if (ptrace(PTRACE_ATTACH, child, NULL, NULL) != 0)
		kt_die("ptrace(PTRACE_ATTACH, %d)", child);
	waitpid(child, NULL, 0);
	ptrace(PTRACE_DETACH, child, NULL, NULL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
