/* Writes the synthetic PE32+ image of tests/unit/memenc/peimg.h to argv[1]. */
#include <stdio.h>
#include <stdlib.h>

#include "../../unit/memenc/peimg.h"

int main(int argc, char **argv)
{
	size_t len;
	uint8_t *p = peimg_build(&len);
	FILE *f = argc == 2 ? fopen(argv[1], "we") : NULL;

	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "usage: %s OUT (write failed)\n", argv[0]);
		return 1;
	}
	free(p);
	return 0;
}
