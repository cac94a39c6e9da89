/* libFuzzer target: the SEV-SNP certificate table loader (runner/cc/runtime.c
 * cc_snp_certs_read: the --snp-certs file, read from a memfd as from the real file, then the
 * verifier's table reader). An accepted table is returned whole, byte for byte, and holds a
 * VCEK or VLEK; a refused one returns nothing and says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "attest/hw/snp_report.h"
#include "runner/cc/cc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_hw_snp_certs certs;
	struct cp_err err = { 0 };
	uint8_t *table = (uint8_t *)1;
	size_t len = 1;
	int fd = memfd_create("fuzz-snp-certs", MFD_CLOEXEC), r;

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	r = cc_snp_certs_read(fd, &table, &len, &err);
	if (r > 0)
		abort();
	if (r < 0 && (table || len || !err.msg[0]))
		abort();
	if (r == 0) {
		if (len != size || memcmp(table, data, size))
			abort();
		if (attest_hw_snp_certtable_parse(table, len, &certs, &err) < 0 || (!certs.vcek.der && !certs.vlek.der))
			abort();
		free(table);
	}
	close(fd);
	return 0;
}
