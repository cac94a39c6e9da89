/* libFuzzer target: the extended-report certificate table reader; every slice it returns must
 * lie inside the input. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/hw/snp_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_hw_snp_certs c;
	struct cp_err err = { 0 };
	const struct attest_hw_snp_cert_slice *s[4] = { &c.vcek, &c.vlek, &c.ask, &c.ark };

	if (attest_hw_snp_certtable_parse(data, size, &c, &err) == 0)
		for (int i = 0; i < 4; i++)
			if (s[i]->der && (s[i]->der < data || s[i]->der + s[i]->len > data + size))
				abort();
	return 0;
}
