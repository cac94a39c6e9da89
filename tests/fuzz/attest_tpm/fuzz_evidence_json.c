/* libFuzzer target: the evidence JSON reader and the whole verifier behind it never crash,
 * and never pass a bundle without a trust anchor. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/tpm/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t nonce[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct attest_verify_opts o = { .nonce = nonce, .nonce_len = sizeof(nonce) };
	struct attest_verify_result r;

	if (attest_verify_json((const char *)data, size, &o, &r) != 0 || r.passed)
		abort();
	return 0;
}
