/* carapace measure: placeholder until memenc lands (issue 3). */
#include "common/notyet.h"
int memenc_cli_measure(int argc, char **argv) { (void)argc; (void)argv; CP_NOT_YET("'carapace measure'", 3); }
