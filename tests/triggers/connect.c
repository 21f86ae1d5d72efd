/* Rule "Unexpected outbound connection from a container": listens on a TCP
 * port of this machine's first non-loopback IPv4 address and connects to
 * it, so a real, completed connection to a non-loopback address is made
 * without any traffic leaving the machine. Run in a container sharing the
 * host's network. */
#include "kt.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct ifaddrs *ifs, *i;
	struct sockaddr_in addr = { 0 };
	socklen_t len = sizeof addr;
	if (getifaddrs(&ifs) != 0)
		kt_die("getifaddrs");
	for (i = ifs; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !(i->ifa_flags & IFF_LOOPBACK)
		    && (i->ifa_flags & IFF_UP)) {
			memcpy(&addr, i->ifa_addr, sizeof addr);
			break;
		}
	}
	freeifaddrs(ifs);
	if (addr.sin_family != AF_INET) {
		errno = ENETUNREACH;
		kt_die("no non-loopback IPv4 address");
	}
	addr.sin_port = 0;
	int lsock = socket(AF_INET, SOCK_STREAM, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lsock, 1) != 0)
		kt_die("listen");
	if (getsockname(lsock, (struct sockaddr *)&addr, &len) != 0)
		kt_die("getsockname");
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		kt_die("socket");
	if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0)
		kt_die("connect");
	printf("%s:%d\n", inet_ntoa(addr.sin_addr), ntohs(addr.sin_port));
	close(s);
	close(lsock);
	return 0;
}
