/* carapace policy: placeholder until launch policy lands (issue 7). */
#include "common/notyet.h"
int policy_cli(int argc, char **argv) { (void)argc; (void)argv; CP_NOT_YET("'carapace policy'", 7); }
