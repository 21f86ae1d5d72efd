/* Rule "Program run from a temporary directory": does nothing. The test
 * harness copies it into /tmp and /dev/shm and runs it from there; the
 * execution is what the rule watches. */
int main(void)
{
	return 0;
}
