/* carapace run: placeholder (issue 2). */
#include "common/notyet.h"
int runner_cli_run(int argc, char **argv) { (void)argc; (void)argv; CP_NOT_YET("'carapace run'", 2); }
