/* libFuzzer target: the TPM2B_PUBLIC reader and the conversion to an OpenSSL key never crash. */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "attest/tpm/pubkey.h"
#include "attest/tpm/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_tpm_public p;
	struct cp_err err = { 0 };
	EVP_PKEY *k = NULL;
	if (attest_tpm_public_parse(data, size, &p, &err) == 0 && attest_pubkey_from_tpm(&p, &k, &err) == 0)
		EVP_PKEY_free(k);
	return 0;
}
