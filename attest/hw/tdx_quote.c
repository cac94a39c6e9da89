/* Validating reader for TDX quotes v4/v5: header, TD body, ECDSA signature data, QE report
 * certification data and the PCK chain; every length is checked against what remains. */
#include <errno.h>
#include <string.h>

#include "attest/hw/tdx_quote.h"
#include "common/util.h"

/* A cursor over the signature data: each read names the field and its offset when short. */
struct cursor {
	const uint8_t *base;
	size_t pos, end;
};

static int take(struct cursor *c, size_t n, const char *field, const uint8_t **out, struct cp_err *err)
{
	if (c->end - c->pos < n)
		return cp_err_set(err, EINVAL, "tdx quote: %s at offset 0x%zx needs %zu bytes, %zu remain", field, c->pos, n,
				  c->end - c->pos);
	*out = c->base + c->pos;
	c->pos += n;
	return 0;
}

/* Copy one fixed-size field. Out of line on purpose: GCC 12's -Warray-bounds misjudges these
 * copies under -fsanitize=address when they are inlined (a false positive). */
static __attribute__((noinline)) void field(uint8_t *dst, const uint8_t *src, size_t len)
{
	memcpy(dst, src, len);
}

/* The PCK chain is not covered by any signature in the quote (only each certificate is
 * signed), so it must be exactly a sequence of PEM CERTIFICATE blocks, each line ending in
 * "\n", with nothing before, between or after them (RFC 7468 strict form; the PEM reader in
 * OpenSSL would skip any text between blocks, letting unsigned bytes pass). */
static int pck_chain_check(const uint8_t *p, size_t len, size_t at, struct cp_err *err)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n", end[] = "-----END CERTIFICATE-----\n";
	size_t off = 0, blocks = 0;

	while (off < len) {
		size_t body_lines = 0;
		if (len - off < sizeof(begin) - 1 || memcmp(p + off, begin, sizeof(begin) - 1))
			return cp_err_set(err, EINVAL,
					  "tdx quote: PCK chain at offset 0x%zx: expected \"-----BEGIN CERTIFICATE-----\" "
					  "(only PEM certificates, nothing between them; a NUL is allowed only as the last byte)",
					  at + off);
		off += sizeof(begin) - 1;
		for (;;) {
			size_t n = 0;
			if (len - off >= sizeof(end) - 1 && !memcmp(p + off, end, sizeof(end) - 1))
				break;
			while (off + n < len && p[off + n] != '\n') {
				uint8_t c = p[off + n];
				if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
				      c == '/' || c == '='))
					return cp_err_set(err, EINVAL,
							  "tdx quote: PCK chain at offset 0x%zx: byte 0x%02x is not base64 "
							  "inside PEM block %zu",
							  at + off + n, c, blocks + 1);
				n++;
			}
			if (off + n == len || n == 0 || n > 64)
				return cp_err_set(err, EINVAL,
						  "tdx quote: PCK chain at offset 0x%zx: PEM block %zu has a %s line",
						  at + off, blocks + 1, off + n == len ? "unterminated" : n ? "too long" : "empty");
			off += n + 1;
			body_lines++;
		}
		if (!body_lines)
			return cp_err_set(err, EINVAL, "tdx quote: PCK chain at offset 0x%zx: PEM block %zu is empty",
					  at + off, blocks + 1);
		off += sizeof(end) - 1;
		blocks++;
	}
	if (!blocks)
		return cp_err_set(err, EINVAL, "tdx quote: the PCK chain at offset 0x%zx holds no PEM certificate", at);
	return 0;
}

static void body_read(const uint8_t *p, bool tdx15, struct attest_hw_tdx_body *b)
{
	memset(b, 0, sizeof(*b));
	b->is_tdx15 = tdx15;
	field(b->tee_tcb_svn, p + 0x00, 16);
	field(b->mrseam, p + 0x10, 48);
	field(b->mrsignerseam, p + 0x40, 48);
	field(b->seam_attributes, p + 0x70, 8);
	field(b->td_attributes, p + 0x78, 8);
	field(b->xfam, p + 0x80, 8);
	field(b->mrtd, p + 0x88, 48);
	field(b->mrconfigid, p + 0xB8, 48);
	field(b->mrowner, p + 0xE8, 48);
	field(b->mrownerconfig, p + 0x118, 48);
	for (int i = 0; i < 4; i++)
		field(b->rtmr[i], p + 0x148 + 48 * i, 48);
	field(b->report_data, p + 0x208, 64);
	if (tdx15) {
		field(b->tee_tcb_svn2, p + 0x248, 16);
		field(b->mrservicetd, p + 0x258, 48);
	}
}

static void qe_report_read(const uint8_t *p, struct attest_hw_tdx_qe_report *q)
{
	memcpy(q->cpusvn, p, 16);
	q->miscselect = cp_le32(p + 0x10);
	field(q->attributes, p + 0x30, 16);
	field(q->mrenclave, p + 0x40, 32);
	field(q->mrsigner, p + 0x80, 32);
	q->isvprodid = cp_le16(p + 0x100);
	q->isvsvn = cp_le16(p + 0x102);
	field(q->report_data, p + 0x140, 64);
}

int attest_hw_tdx_quote_parse(const uint8_t *buf, size_t len, struct attest_hw_tdx_quote *q, struct cp_err *err)
{
	struct cursor c = { .base = buf, .pos = 0, .end = len };
	const uint8_t *p = NULL;
	uint32_t sig_len, outer_size, inner_size;
	uint16_t outer_type, inner_type, auth_len;
	size_t sig_end, outer_end;
	int rc;

	memset(q, 0, sizeof(*q));
	if (!buf || len < ATTEST_HW_TDX_HEADER_SIZE)
		return cp_err_set(err, EINVAL, "tdx quote: %zu bytes, shorter than the 48-byte header", len);
	if (len > ATTEST_HW_TDX_MAX_QUOTE)
		return cp_err_set(err, EINVAL, "tdx quote: %zu bytes, larger than %u", len, ATTEST_HW_TDX_MAX_QUOTE);
	q->version = cp_le16(buf);
	q->att_key_type = cp_le16(buf + 2);
	q->tee_type = cp_le32(buf + 4);
	memcpy(q->qe_vendor_id, buf + 0x0C, 16);
	memcpy(q->user_data, buf + 0x1C, 20);
	if (q->version != 4 && q->version != 5)
		return cp_err_set(err, EINVAL, "tdx quote: version %u at offset 0x00, expected 4 or 5", q->version);
	if (q->att_key_type != ATTEST_HW_TDX_KEY_ECDSA_P256)
		return cp_err_set(err, EINVAL, "tdx quote: attestation key type %u at offset 0x02, expected 2 (ECDSA P-256)",
				  q->att_key_type);
	if (q->tee_type != ATTEST_HW_TDX_TEE_TYPE)
		return cp_err_set(err, EINVAL, "tdx quote: TEE type 0x%x at offset 0x04, expected 0x81 (TDX)", q->tee_type);
	c.pos = ATTEST_HW_TDX_HEADER_SIZE;
	if (q->version == 4) {
		q->body_type = 2;
		q->body_size = ATTEST_HW_TDX_BODY10_SIZE;
	} else {
		if ((rc = take(&c, 6, "v5 body descriptor", &p, err)) < 0)
			return rc;
		q->body_type = cp_le16(p);
		q->body_size = cp_le32(p + 2);
		if (q->body_type == 2 && q->body_size != ATTEST_HW_TDX_BODY10_SIZE)
			return cp_err_set(err, EINVAL, "tdx quote: body type 2 (TDX 1.0) at offset 0x30 with size %u, expected 584",
					  q->body_size);
		if (q->body_type == 3 && q->body_size != ATTEST_HW_TDX_BODY15_SIZE)
			return cp_err_set(err, EINVAL, "tdx quote: body type 3 (TDX 1.5) at offset 0x30 with size %u, expected 648",
					  q->body_size);
		if (q->body_type != 2 && q->body_type != 3)
			return cp_err_set(err, EINVAL, "tdx quote: body type %u at offset 0x30, expected 2 (TDX 1.0) or 3 (TDX 1.5)",
					  q->body_type);
	}
	if (c.end - c.pos < q->body_size)
		return cp_err_set(err, EINVAL, "tdx quote: TD report body at offset 0x%zx needs %u bytes, %zu remain", c.pos,
				  q->body_size, c.end - c.pos);
	body_read(buf + c.pos, q->body_type == 3, &q->body);
	c.pos += q->body_size;
	q->signed_data = buf;
	q->signed_len = c.pos;

	if ((rc = take(&c, 4, "signature data length", &p, err)) < 0)
		return rc;
	sig_len = cp_le32(p);
	if (sig_len > c.end - c.pos)
		return cp_err_set(err, EINVAL, "tdx quote: signature data length %u at offset 0x%zx exceeds the %zu bytes left",
				  sig_len, c.pos - 4, c.end - c.pos);
	sig_end = c.pos + sig_len;
	c.end = sig_end;
	if ((rc = take(&c, 64, "quote signature", &q->signature, err)) < 0 ||
	    (rc = take(&c, 64, "attestation key", &q->att_key, err)) < 0 ||
	    (rc = take(&c, 6, "certification data header", &p, err)) < 0)
		return rc;
	outer_type = cp_le16(p);
	outer_size = cp_le32(p + 2);
	if (outer_type != ATTEST_HW_TDX_CERT_QE_REPORT)
		return cp_err_set(err, EINVAL, "tdx quote: certification data type %u at offset 0x%zx, expected 6 (QE report)",
				  outer_type, c.pos - 6);
	if (outer_size != c.end - c.pos)
		return cp_err_set(err, EINVAL, "tdx quote: certification data size %u at offset 0x%zx, %zu bytes remain in the "
				  "signature data", outer_size, c.pos - 4, c.end - c.pos);
	outer_end = c.end;
	if ((rc = take(&c, ATTEST_HW_TDX_QE_REPORT_SIZE, "QE report", &q->qe_report, err)) < 0 ||
	    (rc = take(&c, 64, "QE report signature", &q->qe_report_sig, err)) < 0 ||
	    (rc = take(&c, 2, "QE auth data length", &p, err)) < 0)
		return rc;
	qe_report_read(q->qe_report, &q->qe);
	auth_len = cp_le16(p);
	if ((rc = take(&c, auth_len, "QE auth data", &q->qe_auth, err)) < 0 ||
	    (rc = take(&c, 6, "PCK certification data header", &p, err)) < 0)
		return rc;
	q->qe_auth_len = auth_len;
	inner_type = cp_le16(p);
	inner_size = cp_le32(p + 2);
	if (inner_type != ATTEST_HW_TDX_CERT_PCK_CHAIN)
		return cp_err_set(err, EINVAL, "tdx quote: QE certification data type %u at offset 0x%zx, expected 5 (PCK chain)",
				  inner_type, c.pos - 6);
	if (inner_size != outer_end - c.pos)
		return cp_err_set(err, EINVAL, "tdx quote: PCK chain size %u at offset 0x%zx, %zu bytes remain", inner_size,
				  c.pos - 4, outer_end - c.pos);
	if (inner_size == 0)
		return cp_err_set(err, EINVAL, "tdx quote: empty PCK chain at offset 0x%zx", c.pos);
	if ((rc = take(&c, inner_size, "PCK chain", &q->pck_chain, err)) < 0)
		return rc;
	q->pck_chain_len = inner_size;
	/* Intel's quoting library ends the chain with one NUL (a C string); that byte alone is
	 * accepted, and it is not part of the PEM text handed to the certificate loader. */
	if (q->pck_chain[q->pck_chain_len - 1] == 0) {
		q->pck_chain_len--;
		q->pck_chain_nul = true;
	}
	if ((rc = pck_chain_check(q->pck_chain, q->pck_chain_len, (size_t)(q->pck_chain - buf), err)) < 0)
		return rc;
	q->trailing = len - sig_end;
	q->trailing_zero = true;
	for (size_t i = sig_end; i < len; i++)
		if (buf[i]) {
			q->trailing_zero = false;
			break;
		}
	return 0;
}
