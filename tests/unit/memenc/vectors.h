/* Test helper: locate $CARAPACE_TEST_VECTORS (exit 77, a visible skip, when absent) and read
 * files from it. */
#ifndef CARAPACE_TEST_MEMENC_VECTORS_H
#define CARAPACE_TEST_MEMENC_VECTORS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/util.h"

static inline const char *vectors_dir_or_skip(const char *sub)
{
	const char *dir = getenv("CARAPACE_TEST_VECTORS");
	static char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "", sub);
	if (!dir || stat(path, &st) < 0) {
		printf("SKIP: test vectors not found at '%s' (set CARAPACE_TEST_VECTORS)\n", path);
		exit(77);
	}
	return dir;
}

static inline uint8_t *vector_read(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	uint8_t *data = NULL;
	struct cp_err err = { 0 };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (cp_file_read(path, 64u << 20, &data, len, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	return data;
}

#endif
