/* carapace-trust-table: prints the trust table of every carapace process (devices/devkinds.c)
 * as markdown; docs/ARCHITECTURE.md embeds this output and devices-trust-table compares them. */
#include <stdio.h>

#include "devices/devkinds.h"

int main(void)
{
	trust_table_print(stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
