/* Rule "Listening socket opened in a container": listens on a TCP port of
 * 127.0.0.1 chosen by the kernel, then closes the socket. */
#include "kt.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		kt_die("socket");
	if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0)
		kt_die("bind 127.0.0.1");
	if (listen(s, 1) != 0)
		kt_die("listen");
	close(s);
	return 0;
}
