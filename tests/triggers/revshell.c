/* Rules "Reverse shell" and "Network socket duplicated onto standard input
 * or output": connects a TCP socket to a listener of its own on 127.0.0.1,
 * copies it onto stdin and stdout with dup2, and executes /bin/sh, which
 * exits at once ("-c true"). Nothing leaves the machine. */
#include "kt.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof addr;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lsock = socket(AF_INET, SOCK_STREAM, 0);
	if (lsock < 0)
		kt_die("socket");
	if (bind(lsock, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lsock, 1) != 0)
		kt_die("listen on 127.0.0.1");
	if (getsockname(lsock, (struct sockaddr *)&addr, &len) != 0)
		kt_die("getsockname");
	int sock = socket(AF_INET, SOCK_STREAM, 0);
	if (sock < 0)
		kt_die("socket");
	if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0)
		kt_die("connect to 127.0.0.1:%d", ntohs(addr.sin_port));
	if (dup2(sock, 0) < 0 || dup2(sock, 1) < 0)
		kt_die("dup2");
	execl("/bin/sh", "sh", "-c", "true", (char *)NULL);
	kt_die("exec /bin/sh");
}
