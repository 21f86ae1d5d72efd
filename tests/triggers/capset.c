/* Rule "Dangerous capability enabled in a container": sets its effective
 * capabilities to include CAP_SYS_ADMIN. Run in a privileged container,
 * where CAP_SYS_ADMIN is in the permitted set, so the kernel grants it;
 * elsewhere the kernel refuses and nothing changes. */
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
