/* libFuzzer target: the TDX quote reader, and the whole verifier behind it (signatures, PEM
 * chain loading, X.509 verification) on whatever the reader accepts. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/hw/tdx_quote.h"
#include "attest/hw/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct attest_hw_result res;
	struct attest_hw_tdx_quote q;
	struct cp_err err = { 0 };
	struct attest_hw_tdx_input in = { .quote = { data, size }, .at = 1687219200 };

	if (attest_hw_tdx_quote_parse(data, size, &q, &err) == 0) {
		if (q.signed_len > size || q.pck_chain + q.pck_chain_len > data + size)
			abort();
		(void)attest_hw_tdx_verify(&in, &res);
	}
	return 0;
}
