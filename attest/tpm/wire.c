/* Validating readers for TPMS_ATTEST, TPMT_SIGNATURE and TPM2B_PUBLIC (TPM 2.0 part 2 layouts,
 * big-endian). Every error names the structure, the field and its byte offset. */
#include "attest/tpm/wire.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

/* A bounded cursor: every read checks the remaining length first. */
struct rd {
	const uint8_t *buf;
	size_t len;
	size_t off;
	const char *what; /* structure name for messages */
	struct cp_err *err;
};

static int rd_short(struct rd *r, const char *field, size_t need)
{
	return cp_err_set(r->err, EBADMSG, "%s: truncated at offset %zu reading %s (need %zu bytes, %zu left)",
			  r->what, r->off, field, need, r->len - r->off);
}

static int rd_u8(struct rd *r, const char *field, uint8_t *v)
{
	if (r->len - r->off < 1)
		return rd_short(r, field, 1);
	*v = r->buf[r->off++];
	return 0;
}

static int rd_u16(struct rd *r, const char *field, uint16_t *v)
{
	if (r->len - r->off < 2)
		return rd_short(r, field, 2);
	*v = cp_be16(r->buf + r->off);
	r->off += 2;
	return 0;
}

static int rd_u32(struct rd *r, const char *field, uint32_t *v)
{
	if (r->len - r->off < 4)
		return rd_short(r, field, 4);
	*v = cp_be32(r->buf + r->off);
	r->off += 4;
	return 0;
}

static int rd_u64(struct rd *r, const char *field, uint64_t *v)
{
	if (r->len - r->off < 8)
		return rd_short(r, field, 8);
	*v = cp_be64(r->buf + r->off);
	r->off += 8;
	return 0;
}

/* A TPM2B: u16 size then size bytes, size within [min, max]. */
static int rd_2b(struct rd *r, const char *field, uint8_t *out, size_t min, size_t max, size_t *out_len)
{
	uint16_t n = 0;
	size_t at = r->off;
	int ret = rd_u16(r, field, &n);
	if (ret < 0)
		return ret;
	if (n < min || n > max)
		return cp_err_set(r->err, EBADMSG, "%s: %s at offset %zu has size %u, allowed %zu..%zu", r->what,
				  field, at, n, min, max);
	if (r->len - r->off < n)
		return rd_short(r, field, n);
	memcpy(out, r->buf + r->off, n);
	r->off += n;
	*out_len = n;
	return 0;
}

static int rd_end(struct rd *r)
{
	if (r->off != r->len)
		return cp_err_set(r->err, EBADMSG, "%s: %zu trailing bytes after the structure at offset %zu", r->what,
				  r->len - r->off, r->off);
	return 0;
}

size_t attest_tpm_hash_size(uint16_t alg)
{
	switch (alg) {
	case ATTEST_TPM_ALG_SHA256:
		return 32;
	case ATTEST_TPM_ALG_SHA384:
		return 48;
	case ATTEST_TPM_ALG_SHA512:
		return 64;
	default:
		return 0;
	}
}

const char *attest_tpm_alg_name(uint16_t alg)
{
	static const struct {
		uint16_t alg;
		const char *name;
	} names[] = {
		{ ATTEST_TPM_ALG_RSA, "rsa" },         { ATTEST_TPM_ALG_SHA1, "sha1" },
		{ ATTEST_TPM_ALG_SHA256, "sha256" },   { ATTEST_TPM_ALG_SHA384, "sha384" },
		{ ATTEST_TPM_ALG_SHA512, "sha512" },   { ATTEST_TPM_ALG_NULL, "null" },
		{ ATTEST_TPM_ALG_RSASSA, "rsassa" },   { ATTEST_TPM_ALG_RSAPSS, "rsapss" },
		{ ATTEST_TPM_ALG_ECDSA, "ecdsa" },     { ATTEST_TPM_ALG_ECC, "ecc" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].alg == alg)
			return names[i].name;
	return "unknown";
}

/* TPM2B_NAME: empty, a 4-byte handle, or u16 hash alg + digest of that alg's size. */
static int rd_name(struct rd *r, uint8_t *out, size_t *out_len)
{
	size_t at = r->off;
	int ret = rd_2b(r, "qualifiedSigner", out, 0, ATTEST_TPM_MAX_NAME, out_len);
	if (ret < 0)
		return ret;
	if (*out_len == 0 || *out_len == 4)
		return 0;
	if (*out_len < 2 || attest_tpm_hash_size(cp_be16(out)) + 2 != *out_len)
		return cp_err_set(r->err, EBADMSG, "%s: qualifiedSigner at offset %zu: %zu bytes is not a valid name",
				  r->what, at, *out_len);
	return 0;
}

static int rd_pcr_selection(struct rd *r, struct attest_tpm_quote *q)
{
	size_t at = r->off;
	int ret = rd_u32(r, "pcrSelect.count", &q->bank_count);
	if (ret < 0)
		return ret;
	if (q->bank_count == 0 || q->bank_count > ATTEST_TPM_MAX_BANKS)
		return cp_err_set(r->err, EBADMSG, "%s: pcrSelect.count at offset %zu is %u, allowed 1..%d", r->what,
				  at, q->bank_count, ATTEST_TPM_MAX_BANKS);
	for (uint32_t i = 0; i < q->bank_count; i++) {
		struct attest_tpm_pcr_bank *b = &q->banks[i];
		at = r->off;
		if ((ret = rd_u16(r, "pcrSelect.hash", &b->hash)) < 0)
			return ret;
		if (!attest_tpm_hash_size(b->hash))
			return cp_err_set(r->err, EBADMSG, "%s: pcrSelect[%u].hash at offset %zu is 0x%04x (%s), not an accepted bank",
					  r->what, i, at, b->hash, attest_tpm_alg_name(b->hash));
		for (uint32_t j = 0; j < i; j++)
			if (q->banks[j].hash == b->hash)
				return cp_err_set(r->err, EBADMSG, "%s: pcrSelect[%u] at offset %zu repeats bank %s", r->what,
						  i, at, attest_tpm_alg_name(b->hash));
		at = r->off;
		if ((ret = rd_u8(r, "pcrSelect.sizeofSelect", &b->size_of_select)) < 0)
			return ret;
		/* PCR_SELECT_MIN is 3 (24 PCRs); we accept up to 32 PCRs. */
		if (b->size_of_select < 3 || b->size_of_select > ATTEST_TPM_MAX_SELECT)
			return cp_err_set(r->err, EBADMSG, "%s: pcrSelect[%u].sizeofSelect at offset %zu is %u, allowed 3..%d",
					  r->what, i, at, b->size_of_select, ATTEST_TPM_MAX_SELECT);
		memset(b->select, 0, sizeof(b->select));
		if (r->len - r->off < b->size_of_select)
			return rd_short(r, "pcrSelect.pcrSelect", b->size_of_select);
		memcpy(b->select, r->buf + r->off, b->size_of_select);
		r->off += b->size_of_select;
	}
	return 0;
}

int attest_tpm_quote_parse(const uint8_t *buf, size_t len, struct attest_tpm_quote *q, struct cp_err *err)
{
	struct rd r = { .buf = buf, .len = len, .what = "TPMS_ATTEST", .err = err };
	int ret;

	memset(q, 0, sizeof(*q));
	if ((ret = rd_u32(&r, "magic", &q->magic)) < 0)
		return ret;
	if (q->magic != ATTEST_TPM_GENERATED_VALUE)
		return cp_err_set(err, EBADMSG, "TPMS_ATTEST: magic at offset 0 is 0x%08x, expected 0x%08x (TPM_GENERATED_VALUE)",
				  q->magic, ATTEST_TPM_GENERATED_VALUE);
	if ((ret = rd_u16(&r, "type", &q->type)) < 0)
		return ret;
	if (q->type != ATTEST_TPM_ST_ATTEST_QUOTE)
		return cp_err_set(err, EBADMSG, "TPMS_ATTEST: type at offset 4 is 0x%04x, expected 0x%04x (TPM_ST_ATTEST_QUOTE)",
				  q->type, ATTEST_TPM_ST_ATTEST_QUOTE);
	if ((ret = rd_name(&r, q->signer, &q->signer_len)) < 0)
		return ret;
	if ((ret = rd_2b(&r, "extraData", q->extra, 0, ATTEST_TPM_MAX_DIGEST, &q->extra_len)) < 0)
		return ret;
	if ((ret = rd_u64(&r, "clockInfo.clock", &q->clock)) < 0 ||
	    (ret = rd_u32(&r, "clockInfo.resetCount", &q->reset_count)) < 0 ||
	    (ret = rd_u32(&r, "clockInfo.restartCount", &q->restart_count)) < 0)
		return ret;
	size_t at = r.off;
	if ((ret = rd_u8(&r, "clockInfo.safe", &q->safe)) < 0)
		return ret;
	if (q->safe > 1)
		return cp_err_set(err, EBADMSG, "TPMS_ATTEST: clockInfo.safe at offset %zu is %u, not a TPMI_YES_NO", at,
				  q->safe);
	if ((ret = rd_u64(&r, "firmwareVersion", &q->firmware_version)) < 0)
		return ret;
	if ((ret = rd_pcr_selection(&r, q)) < 0)
		return ret;
	at = r.off;
	if ((ret = rd_2b(&r, "pcrDigest", q->pcr_digest, 0, ATTEST_TPM_MAX_DIGEST, &q->pcr_digest_len)) < 0)
		return ret;
	if (q->pcr_digest_len != 32 && q->pcr_digest_len != 48 && q->pcr_digest_len != 64)
		return cp_err_set(err, EBADMSG, "TPMS_ATTEST: pcrDigest at offset %zu has %zu bytes, not a digest size",
				  at, q->pcr_digest_len);
	return rd_end(&r);
}

int attest_tpm_signature_parse(const uint8_t *buf, size_t len, struct attest_tpm_signature *s, struct cp_err *err)
{
	struct rd r = { .buf = buf, .len = len, .what = "TPMT_SIGNATURE", .err = err };
	int ret;

	memset(s, 0, sizeof(*s));
	if ((ret = rd_u16(&r, "sigAlg", &s->sig_alg)) < 0)
		return ret;
	if ((ret = rd_u16(&r, "hash", &s->hash)) < 0)
		return ret;
	if (!attest_tpm_hash_size(s->hash))
		return cp_err_set(err, EBADMSG, "TPMT_SIGNATURE: hash at offset 2 is 0x%04x (%s), not an accepted hash",
				  s->hash, attest_tpm_alg_name(s->hash));
	switch (s->sig_alg) {
	case ATTEST_TPM_ALG_RSASSA:
	case ATTEST_TPM_ALG_RSAPSS:
		ret = rd_2b(&r, "signature.sig", s->a, 128, ATTEST_TPM_MAX_RSA_BYTES, &s->a_len);
		break;
	case ATTEST_TPM_ALG_ECDSA:
		ret = rd_2b(&r, "signature.signatureR", s->a, 1, ATTEST_TPM_MAX_ECC_BYTES, &s->a_len);
		if (ret == 0)
			ret = rd_2b(&r, "signature.signatureS", s->b, 1, ATTEST_TPM_MAX_ECC_BYTES, &s->b_len);
		break;
	default:
		return cp_err_set(err, EBADMSG,
				  "TPMT_SIGNATURE: sigAlg at offset 0 is 0x%04x (%s), expected RSASSA, RSAPSS or ECDSA",
				  s->sig_alg, attest_tpm_alg_name(s->sig_alg));
	}
	if (ret < 0)
		return ret;
	return rd_end(&r);
}

/* TPMT_SYM_DEF_OBJECT: NULL, or alg + keyBits + mode. */
static int rd_symdef(struct rd *r, uint16_t *alg)
{
	uint16_t bits, mode;
	int ret = rd_u16(r, "parameters.symmetric.algorithm", alg);
	if (ret < 0 || *alg == ATTEST_TPM_ALG_NULL)
		return ret;
	if ((ret = rd_u16(r, "parameters.symmetric.keyBits", &bits)) < 0)
		return ret;
	return rd_u16(r, "parameters.symmetric.mode", &mode);
}

/* A scheme with a hash detail (every signing/KDF scheme we accept), or NULL. */
static int rd_scheme(struct rd *r, const char *field, uint16_t *alg, uint16_t *hash)
{
	int ret = rd_u16(r, field, alg);
	*hash = ATTEST_TPM_ALG_NULL;
	if (ret < 0 || *alg == ATTEST_TPM_ALG_NULL)
		return ret;
	return rd_u16(r, "scheme hash", hash);
}

int attest_tpm_public_parse(const uint8_t *buf, size_t len, struct attest_tpm_public *p, struct cp_err *err)
{
	struct rd r = { .buf = buf, .len = len, .what = "TPM2B_PUBLIC", .err = err };
	uint8_t policy[ATTEST_TPM_MAX_DIGEST];
	size_t policy_len;
	uint16_t size;
	int ret;

	memset(p, 0, sizeof(*p));
	if ((ret = rd_u16(&r, "size", &size)) < 0)
		return ret;
	if ((size_t)size != len - 2)
		return cp_err_set(err, EBADMSG, "TPM2B_PUBLIC: size field is %u but %zu bytes follow", size, len - 2);
	p->tpmt = buf + 2;
	p->tpmt_len = size;
	if ((ret = rd_u16(&r, "type", &p->type)) < 0)
		return ret;
	if (p->type != ATTEST_TPM_ALG_RSA && p->type != ATTEST_TPM_ALG_ECC)
		return cp_err_set(err, EBADMSG, "TPM2B_PUBLIC: type at offset 2 is 0x%04x (%s), expected RSA or ECC",
				  p->type, attest_tpm_alg_name(p->type));
	if ((ret = rd_u16(&r, "nameAlg", &p->name_alg)) < 0)
		return ret;
	if (!attest_tpm_hash_size(p->name_alg))
		return cp_err_set(err, EBADMSG, "TPM2B_PUBLIC: nameAlg at offset 4 is 0x%04x (%s), not an accepted hash",
				  p->name_alg, attest_tpm_alg_name(p->name_alg));
	if ((ret = rd_u32(&r, "objectAttributes", &p->attributes)) < 0)
		return ret;
	if ((ret = rd_2b(&r, "authPolicy", policy, 0, ATTEST_TPM_MAX_DIGEST, &policy_len)) < 0)
		return ret;
	if ((ret = rd_symdef(&r, &p->symmetric)) < 0)
		return ret;
	if ((ret = rd_scheme(&r, "parameters.scheme", &p->scheme, &p->scheme_hash)) < 0)
		return ret;
	if (p->type == ATTEST_TPM_ALG_RSA) {
		size_t at;
		if ((ret = rd_u16(&r, "parameters.keyBits", &p->rsa_bits)) < 0)
			return ret;
		at = r.off;
		if ((ret = rd_u32(&r, "parameters.exponent", &p->rsa_exponent)) < 0)
			return ret;
		if (p->rsa_bits < 2048 || p->rsa_bits > 4096 || p->rsa_bits % 8)
			return cp_err_set(err, EBADMSG, "TPM2B_PUBLIC: RSA keyBits %u not in 2048..4096", p->rsa_bits);
		at = r.off;
		if ((ret = rd_2b(&r, "unique.rsa", p->unique_a, 1, ATTEST_TPM_MAX_RSA_BYTES, &p->unique_a_len)) < 0)
			return ret;
		if (p->unique_a_len != p->rsa_bits / 8u)
			return cp_err_set(err, EBADMSG, "TPM2B_PUBLIC: unique.rsa at offset %zu has %zu bytes, keyBits says %u",
					  at, p->unique_a_len, p->rsa_bits / 8u);
	} else {
		uint16_t kdf, kdf_hash;
		size_t at = r.off, want;
		if ((ret = rd_u16(&r, "parameters.curveID", &p->curve)) < 0)
			return ret;
		if (p->curve == ATTEST_TPM_ECC_NIST_P256)
			want = 32;
		else if (p->curve == ATTEST_TPM_ECC_NIST_P384)
			want = 48;
		else
			return cp_err_set(err, EBADMSG, "TPM2B_PUBLIC: curveID at offset %zu is 0x%04x, expected NIST P-256 or P-384",
					  at, p->curve);
		if ((ret = rd_scheme(&r, "parameters.kdf", &kdf, &kdf_hash)) < 0)
			return ret;
		at = r.off;
		if ((ret = rd_2b(&r, "unique.ecc.x", p->unique_a, 1, ATTEST_TPM_MAX_ECC_BYTES, &p->unique_a_len)) < 0)
			return ret;
		if (p->unique_a_len != want)
			return cp_err_set(err, EBADMSG, "TPM2B_PUBLIC: unique.ecc.x at offset %zu has %zu bytes, curve needs %zu",
					  at, p->unique_a_len, want);
		at = r.off;
		if ((ret = rd_2b(&r, "unique.ecc.y", p->unique_b, 1, ATTEST_TPM_MAX_ECC_BYTES, &p->unique_b_len)) < 0)
			return ret;
		if (p->unique_b_len != want)
			return cp_err_set(err, EBADMSG, "TPM2B_PUBLIC: unique.ecc.y at offset %zu has %zu bytes, curve needs %zu",
					  at, p->unique_b_len, want);
	}
	return rd_end(&r);
}
