/* Test helper for the Authenticode check: `pe_tool write OUT` writes the synthetic PE32+ image
 * of tests/unit/memenc/peimg.h; `pe_tool digest FILE` prints memenc's Authenticode SHA-384. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "memenc/hash.h"
#include "memenc/pe.h"
#include "../../unit/memenc/peimg.h"

int main(int argc, char **argv)
{
	struct cp_err err = { 0 };
	uint8_t *p, d[48];
	size_t len;
	char hex[97];

	if (argc == 3 && strcmp(argv[1], "write") == 0) {
		FILE *f = fopen(argv[2], "we");
		p = peimg_build(&len);
		if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
			fprintf(stderr, "%s: cannot write\n", argv[2]);
			return 1;
		}
		free(p);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "digest") == 0) {
		if (cp_file_read(argv[2], 1u << 30, &p, &len, &err) < 0 ||
		    memenc_pe_authenticode(p, len, memenc_md_sha384(), d, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		cp_hex_encode(d, 48, hex);
		printf("%s\n", hex);
		free(p);
		return 0;
	}
	fprintf(stderr, "usage: %s write OUT | digest FILE\n", argv[0]);
	return 2;
}
