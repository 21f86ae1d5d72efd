/* Rule "Setuid program gave root to a container process": the test
 * harness installs this program owned by root with mode 04755 and runs it
 * in a container as an unprivileged user, so the kernel makes it root on
 * execution. It prints its real and effective user ids and exits. */
#include "kt.h"
#include <unistd.h>

int main(void)
{
	printf("uid=%d euid=%d\n", (int)getuid(), (int)geteuid());
	return 0;
}
