/* Prints launch_binding() for $CARAPACE_TCTI and an optional policy file (the value a confidential
 * launch with --attest puts into HOST_DATA / MRCONFIGID). */
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"
#include "runner/launch_record.h"

int main(int argc, char **argv)
{
	uint8_t out[32], *pol = NULL;
	size_t len = 0;
	char hex[65];
	struct cp_err err = { 0 };

	if (argc > 1 && cp_file_read(argv[1], 1u << 20, &pol, &len, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (launch_binding(NULL, pol, len, out, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	cp_hex_encode(out, 32, hex);
	printf("%s\n", hex);
	free(pol);
	return 0;
}
