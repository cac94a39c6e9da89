/* carapace host-info: placeholder until host capability reporting lands (issue 6). */
#include "common/notyet.h"
int runner_cli_host_info(int argc, char **argv) { (void)argc; (void)argv; CP_NOT_YET("'carapace host-info'", 6); }
