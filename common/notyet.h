/* A subcommand that is not built yet must say so loudly and fail, never pretend. */
#ifndef CARAPACE_COMMON_NOTYET_H
#define CARAPACE_COMMON_NOTYET_H
#include <stdio.h>
#include "common/cli.h"
#define CP_NOT_YET(what, issue)                                                          \
	do {                                                                             \
		fprintf(stderr, "carapace: %s is not implemented yet (tracked in issue %d)\n", \
			what, issue);                                                    \
		return CP_EXIT_FAILURE;                                                  \
	} while (0)
#endif
