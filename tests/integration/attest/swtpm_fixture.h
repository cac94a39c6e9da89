/* Starts a private swtpm on a UNIX socket in a scratch directory for one test program, and
 * stops it (by its pid) at the end. */
#ifndef CARAPACE_TEST_SWTPM_FIXTURE_H
#define CARAPACE_TEST_SWTPM_FIXTURE_H

#include <sys/types.h>

struct swtpm {
	pid_t pid;
	char dir[256];
	char tcti[320];
};

/* 0 on success; 77 (skip) when swtpm is not installed, with the reason printed; -1 on error. */
int swtpm_start(struct swtpm *s);
void swtpm_stop(struct swtpm *s);

#endif
