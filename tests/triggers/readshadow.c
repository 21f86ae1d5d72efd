/* Rule "Credential file read by an unexpected program": opens /etc/shadow
 * for reading and reads nothing. The test harness also uses it as a marker:
 * its alert shows that the pipeline is live and has caught up. */
#include "kt.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/etc/shadow", O_RDONLY);
	if (fd < 0)
		kt_die("open /etc/shadow");
	close(fd);
	return 0;
}
