/* Strict base64: one canonical encoding per byte string, so a signed blob cannot be smuggled
 * through alternative spellings. */
#include "attest/tpm/b64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *attest_b64_encode(const uint8_t *in, size_t len)
{
	size_t olen = (len + 2) / 3 * 4;
	char *out = malloc(olen + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

int attest_b64_decode(const char *in, size_t max, uint8_t **out, size_t *out_len, const char *field,
		      struct cp_err *err)
{
	size_t n = strlen(in), olen, pad = 0;
	uint8_t *buf;

	if (n % 4)
		return cp_err_set(err, EBADMSG, "%s: base64 length %zu is not a multiple of 4", field, n);
	if (n >= 1 && in[n - 1] == '=')
		pad++;
	if (n >= 2 && in[n - 2] == '=')
		pad++;
	olen = n / 4 * 3 - pad;
	if (olen > max)
		return cp_err_set(err, EFBIG, "%s: %zu bytes decoded, at most %zu allowed", field, olen, max);
	buf = malloc(olen ? olen : 1);
	if (!buf)
		return cp_err_set(err, ENOMEM, "%s: out of memory", field);
	for (size_t i = 0, o = 0; i < n; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++) {
			v[k] = b64_val(in[i + k]);
			if (v[k] < 0 && !(in[i + k] == '=' && i + 4 == n && k >= 4 - (int)pad)) {
				free(buf);
				return cp_err_set(err, EBADMSG, "%s: invalid base64 character at position %zu", field, i + k);
			}
			if (v[k] < 0)
				v[k] = 0;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		size_t take = i + 4 == n ? 3 - pad : 3;
		/* Canonical form: the bits below the last encoded byte must be zero. */
		if ((take == 1 && (w & 0xFFFF)) || (take == 2 && (w & 0xFF))) {
			free(buf);
			return cp_err_set(err, EBADMSG, "%s: non-canonical base64 padding bits at position %zu", field, i);
		}
		for (size_t k = 0; k < take; k++)
			buf[o++] = (uint8_t)(w >> (16 - 8 * k));
	}
	*out = buf;
	*out_len = olen;
	return 0;
}
