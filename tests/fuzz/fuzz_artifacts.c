/* Every fuzz target links this file: its LLVMFuzzerInitialize gives libFuzzer a default
 * -artifact_prefix beside the executable, so reproducers never land in the source tree
 * (a crash-<sha1> file was once committed at the repository root by a run from there).
 * libFuzzer calls LLVMFuzzerInitialize before it parses its flags and then reads *argv
 * (compiler-rt lib/fuzzer/FuzzerDriver.cpp: FuzzerDriver). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_artifacts.h"

static const char ARTIFACT_FLAG[] = "-artifact_prefix=";
static const char EXACT_FLAG[] = "-exact_artifact_path=";

int fuzz_artifact_argv(int argc, char **argv, const char *exe_path, char **out, char *buf,
		       size_t bufsize)
{
	int i, n;

	for (i = 0; i < argc; i++)
		out[i] = argv[i];
	out[argc] = NULL;
	for (i = 1; i < argc; i++)
		if (!strncmp(argv[i], ARTIFACT_FLAG, sizeof(ARTIFACT_FLAG) - 1) ||
		    !strncmp(argv[i], EXACT_FLAG, sizeof(EXACT_FLAG) - 1))
			return argc;
	if (!exe_path || !*exe_path)
		return -EINVAL;
	n = snprintf(buf, bufsize, "%s%s-", ARTIFACT_FLAG, exe_path);
	if (n < 0 || (size_t)n >= bufsize)
		return -ENAMETOOLONG;
	out[argc] = buf;
	out[argc + 1] = NULL;
	return argc + 1;
}

#ifdef CARAPACE_FUZZ_TARGET
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* libFuzzer keeps using argv after this returns: static storage. */
	static char exe[PATH_MAX], flag[PATH_MAX + sizeof(ARTIFACT_FLAG) + 1];
	static char *args[256];
	ssize_t len;
	int n;

	if (*argc < 1 || *argc > (int)(sizeof(args) / sizeof(args[0])) - 2) {
		fprintf(stderr, "fuzz: %d arguments, at most %zu\n", *argc,
			sizeof(args) / sizeof(args[0]) - 2);
		exit(1);
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0) {
		/* Refuse rather than write reproducers into the current directory. */
		fprintf(stderr, "fuzz: cannot read /proc/self/exe (%s): pass -artifact_prefix=DIR/\n",
			strerror(errno));
		exit(1);
	}
	exe[len] = '\0';
	n = fuzz_artifact_argv(*argc, *argv, exe, args, flag, sizeof(flag));
	if (n < 0) {
		fprintf(stderr, "fuzz: no default -artifact_prefix (%s): pass -artifact_prefix=DIR/\n",
			strerror(-n));
		exit(1);
	}
	*argc = n;
	*argv = args;
	return 0;
}
#endif
