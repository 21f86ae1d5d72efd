/* Rule "Hard link to a sensitive file created": hard-links /etc/shadow to
 * /etc/.kt-shadow-link (same filesystem, so the kernel allows it for root)
 * and removes the link at once. */
#include "kt.h"
#include <unistd.h>

int main(void)
{
	const char *link_path = "/etc/.kt-shadow-link";
	if (link("/etc/shadow", link_path) != 0)
		kt_die("link %s", link_path);
	if (unlink(link_path) != 0)
		kt_die("unlink %s", link_path);
	return 0;
}
