/* Where a libFuzzer target writes crash, leak, timeout and OOM reproducers when the caller names
 * no place: beside the executable (in the build directory), never in the current directory, which
 * is the source tree when a target is run by hand from the checkout. */
#ifndef CARAPACE_TESTS_FUZZ_ARTIFACTS_H
#define CARAPACE_TESTS_FUZZ_ARTIFACTS_H

#include <stddef.h>

/* Builds argv for libFuzzer: argv[0..argc) unchanged, plus "-artifact_prefix=<exe_path>-" unless
 * an -artifact_prefix= or -exact_artifact_path= argument is already there. out has room for
 * argc + 2 pointers; the added string is written to buf (bufsize bytes) and out[] ends with NULL.
 * Returns the new argc, or -ENAMETOOLONG / -EINVAL (nothing added: exe_path empty or too long). */
int fuzz_artifact_argv(int argc, char **argv, const char *exe_path, char **out, char *buf,
		       size_t bufsize);

#endif
