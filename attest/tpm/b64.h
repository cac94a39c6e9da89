/* Strict base64 (RFC 4648, standard alphabet, padded) for evidence fields. Pure. */
#ifndef CARAPACE_ATTEST_TPM_B64_H
#define CARAPACE_ATTEST_TPM_B64_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* malloc'd, NUL-terminated encoding. NULL on allocation failure. */
char *attest_b64_encode(const uint8_t *in, size_t len);
/* Decode canonical base64 (no whitespace, correct padding, zero pad bits) into a malloc'd
 * buffer of at most max bytes. `field` names the input in error messages. */
int attest_b64_decode(const char *in, size_t max, uint8_t **out, size_t *out_len, const char *field,
		      struct cp_err *err);

#endif
