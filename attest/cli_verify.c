/* carapace verify: runs carapace-verify, the verifier's own program, with the same arguments, so
 * the runner carries no verification code and the verifier none of the runner's libraries. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cli.h"
#include "attest/cli.h"

#ifndef CARAPACE_VERIFY_BUILD_PATH
#define CARAPACE_VERIFY_BUILD_PATH ""
#endif

#define VERIFY_PROGRAM "carapace-verify"

/* Where carapace-verify is: $CARAPACE_VERIFY if set (and then only there), else beside this
 * executable (an installation), else in the build tree carapace was built in. */
static int verify_program_path(char *out, size_t len)
{
	const char *env = getenv("CARAPACE_VERIFY");
	char self[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (env && *env) {
		if ((size_t)snprintf(out, len, "%s", env) >= len)
			return -ENAMETOOLONG;
		return stat(out, &st) == 0 ? 0 : -errno;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash && (size_t)snprintf(out, len, "%.*s/%s", (int)(slash - self), self, VERIFY_PROGRAM) < len &&
		    stat(out, &st) == 0)
			return 0;
	}
	if (CARAPACE_VERIFY_BUILD_PATH[0] && (size_t)snprintf(out, len, "%s", CARAPACE_VERIFY_BUILD_PATH) < len &&
	    stat(out, &st) == 0)
		return 0;
	return -ENOENT;
}

int attest_cli_verify(int argc, char **argv)
{
	char path[PATH_MAX];
	char **args;
	int r = verify_program_path(path, sizeof(path));

	if (r < 0) {
		fprintf(stderr, "carapace verify: %s not found (%s)%s%s: install it beside carapace, or set "
			"CARAPACE_VERIFY to its path\n", VERIFY_PROGRAM, strerror(-r),
			getenv("CARAPACE_VERIFY") ? " at $CARAPACE_VERIFY=" : "",
			getenv("CARAPACE_VERIFY") ? getenv("CARAPACE_VERIFY") : "");
		return CP_EXIT_FAILURE;
	}
	/* argv[0] is "verify"; the verifier sees its own name and the rest unchanged. */
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		fprintf(stderr, "carapace verify: out of memory\n");
		return CP_EXIT_FAILURE;
	}
	args[0] = (char *)VERIFY_PROGRAM;
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	execv(path, args);
	fprintf(stderr, "carapace verify: cannot run %s: %s\n", path, strerror(errno));
	free(args);
	return CP_EXIT_FAILURE;
}
