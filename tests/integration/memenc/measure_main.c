/* A stand-in for `carapace measure` (runner/ links the real binary later): argv goes to
 * memenc_cli_measure unchanged. Used by the CLI integration test and the benchmark. */
#include "common/cli.h"
#include "memenc/cli.h"

int main(int argc, char **argv)
{
	return memenc_cli_measure(argc, argv);
}
