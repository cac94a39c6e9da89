/* libFuzzer target: the credential-file reader (the host reads a relying party's challenge)
 * never crashes; what it accepts is two TPM2B contents that exactly fill the file. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/tpm/credential.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *id, *enc;
	size_t id_len, enc_len;

	if (attest_credential_parse(data, size, &id, &id_len, &enc, &enc_len, NULL) < 0)
		return 0;
	if (id != data + 10 || 12 + id_len + enc_len != size || enc != data + 12 + id_len || id_len < 36 || !enc_len)
		abort();
	return 0;
}
