/* Rule "Capability raise attempted in a container": asks for
 * CAP_SYS_ADMIN in the effective set. Outside a privileged container the
 * kernel refuses (it is not in the permitted set); the request is what the
 * rule watches. */
#include "kt.h"
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) != 0)
		kt_die("capget");
	data[CAP_SYS_ADMIN / 32].effective |= 1u << (CAP_SYS_ADMIN % 32);
	if (syscall(SYS_capset, &hdr, data) != 0)
		kt_note("capset(+CAP_SYS_ADMIN)");
	return 0;
}
