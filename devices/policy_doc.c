/* Prints the seccomp tables of every helper as markdown (docs/devices.md embeds this output;
 * a test fails when they differ). */
#include <stdio.h>

#include "devices/jail/seccomp.h"

int main(void)
{
	jail_seccomp_doc(stdout);
	return 0;
}
