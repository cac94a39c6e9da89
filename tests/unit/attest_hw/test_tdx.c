/* Unit tests for the TDX quote reader and verifier against Intel-signed material (go-tdx-guest's
 * production SPR E4 quote with its PCK chain, Intel's CRLs and PCS collateral). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/x509.h>

#include "attest/hw/crypto.h"
#include "attest/hw/verify_policy.h"
#include "attest/hw/tdx_collateral.h"
#include "attest/hw/tdx_quote.h"
#include "attest/hw/verify.h"
#include "vectors.h"

#define AT_2023 ((time_t)1687219200) /* 2023-06-20T00:00:00Z: CRLs and collateral are current */
#define SIG_END 4935                 /* the vector's signature data ends here; 39 bytes follow */

static uint8_t *quote, *pckcrl, *rootcrl, *tcbinfo, *qeid;
static size_t quote_len, pckcrl_len, rootcrl_len, tcbinfo_len, qeid_len;

static struct attest_hw_tdx_input base_input(void)
{
	struct attest_hw_tdx_input in = {
		.quote = { quote, quote_len },
		.pck_crl = { pckcrl, pckcrl_len },
		.root_crl = { rootcrl, rootcrl_len },
		.at = AT_2023,
	};
	return in;
}

static void test_vector_verifies(void **state)
{
	struct attest_hw_tdx_input in = base_input();
	struct attest_hw_result r;

	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	if (!attest_hw_result_ok(&r))
		dump(&r);
	assert_true(attest_hw_result_ok(&r));
	static const char *const must_pass[] = { "quote-signature", "qe-report-signature", "qe-report-data", "pck-chain",
						 "pck-crl", "root-crl", "debug", "qe-vendor" };
	for (size_t i = 0; i < sizeof(must_pass) / sizeof(must_pass[0]); i++)
		assert_int_equal(verdict_of(&r, must_pass[i]), ATTEST_HW_PASS);
	assert_non_null(strstr(detail_of(&r, "trailing-bytes"), "39 unsigned bytes"));
}

static void test_parse_fields(void **state)
{
	struct attest_hw_tdx_quote q;
	struct cp_err err = { 0 };

	assert_int_equal(attest_hw_tdx_quote_parse(quote, quote_len, &q, &err), 0);
	assert_int_equal(q.version, 4);
	assert_int_equal(q.signed_len, 0x278);
	assert_int_equal(q.qe_auth_len, 32);
	assert_int_equal(q.trailing, quote_len - SIG_END);
	assert_false(q.trailing_zero);
	assert_int_equal(q.body.mrtd[0], 0x63); /* MRTD at 0xB8 */
	assert_int_equal(q.qe.isvprodid, 2);
}

/* The check a flipped bit must fail, not only the verdict, by where it lands in this v4 quote
 * (Intel TDX DCAP Quoting Library API, quote format): the header's version/key/TEE type and every
 * length or type field are refused by the reader; the header and TD report body (to 0x277), the
 * ECDSA signature and attestation key are covered by the quote signature; the QE report and its
 * signature by the QE report signature; the QE authentication data by the QE report's REPORTDATA
 * (a hash over key and auth data); the PEM chain by the PCK chain check. */
static const char *flip_expected_check(size_t off)
{
	static const struct { size_t from, to; const char *check; } regions[] = {
		{ 0x000, 0x008, "quote-format" },        /* version, attestation key type, TEE type, reserved */
		{ 0x008, 0x278, "quote-signature" },     /* rest of the header, TD report body */
		{ 0x278, 0x27C, "quote-format" },        /* signature data length */
		{ 0x27C, 0x2FC, "quote-signature" },     /* ECDSA signature, attestation public key */
		{ 0x2FC, 0x302, "quote-format" },        /* certification data type and size */
		{ 0x302, 0x4C2, "qe-report-signature" }, /* QE report, its signature */
		{ 0x4C2, 0x4C4, "quote-format" },        /* QE authentication data length */
		{ 0x4C4, 0x4E4, "qe-report-data" },      /* QE authentication data (32 bytes here) */
		{ 0x4E4, 0x4EA, "quote-format" },        /* PCK chain type and size */
		{ 0x4EA, SIG_END, "pck-chain" },         /* the PEM chain's base64 (framing: below) */
	};
	/* Inside the PEM chain, the framing (a "-----BEGIN/END CERTIFICATE-----" line, line ends, the
	 * closing NUL, padding, any byte that is not base64) is the reader's: only PEM blocks may stand
	 * there. A flip that leaves valid base64 changes a certificate: the chain check's. */
	if (off >= 0x4EA && off < SIG_END) {
		size_t line = off;
		while (line > 0x4EA && quote[line - 1] != '\n')
			line--;
		uint8_t flipped = quote[off] ^ 0x01;
		bool b64 = (flipped >= 'A' && flipped <= 'Z') || (flipped >= 'a' && flipped <= 'z') ||
			   (flipped >= '0' && flipped <= '9') || flipped == '+' || flipped == '/';
		if (!b64 || quote[off] == '=' || (SIG_END - line >= 5 && !memcmp(quote + line, "-----", 5)))
			return "quote-format";
	}
	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		if (off >= regions[i].from && off < regions[i].to)
			return regions[i].check;
	fail_msg("offset 0x%zx is outside the signature data", off);
	return NULL;
}

static void expect_fail(const uint8_t *buf, size_t len, size_t off)
{
	uint8_t *copy = malloc(len);
	struct attest_hw_tdx_input in = base_input();
	struct attest_hw_result r;
	const char *want = flip_expected_check(off);
	const struct attest_hw_check *c;

	memcpy(copy, buf, len);
	copy[off] ^= 0x01;
	in.quote = (struct attest_hw_blob){ copy, len };
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	c = attest_hw_result_find(&r, want);
	if (attest_hw_result_ok(&r) || !c || c->verdict != ATTEST_HW_FAIL) {
		fprintf(stderr, "flip of quote byte 0x%zx: %s, expected check %s to fail\n", off,
			attest_hw_result_ok(&r) ? "accepted" : "refused by other checks", want);
		dump(&r);
		fail();
	}
	free(copy);
}

static void test_tamper(void **state)
{
	/* Header and body fields, the signature data's fields, QE report fields, then every 37th
	 * byte up to the end of the signature data (PCK chain included). */
	static const size_t fields[] = { 0x000, 0x002, 0x004, 0x008, 0x00C, 0x01C, 0x030, 0x040, 0x070, 0x0A0, 0x0A8,
					 0x0B0, 0x0B8, 0x0E8, 0x118, 0x148, 0x178, 0x1A8, 0x1D8, 0x208, 0x238, 0x277,
					 0x278, 0x27C, 0x29C, 0x2BC, 0x2FC, 0x2FE, 0x302, 0x312, 0x332, 0x342, 0x382,
					 0x402, 0x404, 0x442, 0x482, 0x4C2, 0x4C4, 0x4E4, 0x4E6, 0x4EA };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		expect_fail(quote, quote_len, fields[i]);
	for (size_t off = 0; off < SIG_END; off += 37)
		expect_fail(quote, quote_len, off);
}

static void test_trailing_is_unsigned(void **state)
{
	uint8_t *copy = malloc(quote_len + 64);
	struct attest_hw_tdx_input in = base_input();
	struct attest_hw_result r;

	/* Trailing bytes are outside every signature and never read: changing them changes nothing. */
	memcpy(copy, quote, quote_len);
	copy[quote_len - 1] ^= 0xFF;
	in.quote = (struct attest_hw_blob){ copy, quote_len };
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_true(attest_hw_result_ok(&r));
	/* Zero padding, as quote generators leave it. */
	memset(copy + SIG_END, 0, quote_len + 64 - SIG_END);
	in.quote = (struct attest_hw_blob){ copy, quote_len + 64 };
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_true(attest_hw_result_ok(&r));
	assert_non_null(strstr(detail_of(&r, "trailing-bytes"), "zero padding"));
	free(copy);
}

static void test_truncation_precise(void **state)
{
	static const struct {
		size_t len;
		const char *msg;
	} cases[] = {
		{ 0, "shorter than the 48-byte header" },
		{ 47, "shorter than the 48-byte header" },
		{ 100, "TD report body at offset 0x30" },
		{ 0x279, "signature data length at offset 0x278" },
		{ 0x300, "signature data length 4299 at offset 0x278 exceeds" },
		{ SIG_END - 1, "exceeds" },
	};
	struct attest_hw_tdx_quote q;
	struct cp_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cp_err_clear(&err);
		assert_int_equal(attest_hw_tdx_quote_parse(quote, cases[i].len, &q, &err), -EINVAL);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("len %zu: '%s' lacks '%s'", cases[i].len, err.msg, cases[i].msg);
	}
	assert_int_equal(attest_hw_tdx_quote_parse(quote, SIG_END, &q, NULL), 0);
}

static void test_header_and_lengths(void **state)
{
	uint8_t *copy = malloc(quote_len);
	struct attest_hw_tdx_quote q;
	struct cp_err err = { 0 };

	memcpy(copy, quote, quote_len);
	cp_put_le16(copy, 3);
	assert_int_equal(attest_hw_tdx_quote_parse(copy, quote_len, &q, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "version 3 at offset 0x00"));
	memcpy(copy, quote, quote_len);
	cp_put_le32(copy + 4, 0);
	cp_err_clear(&err);
	assert_int_equal(attest_hw_tdx_quote_parse(copy, quote_len, &q, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "TEE type 0x0 at offset 0x04"));
	memcpy(copy, quote, quote_len);
	cp_put_le16(copy + 0x2FC, 5); /* outer certification data type */
	cp_err_clear(&err);
	assert_int_equal(attest_hw_tdx_quote_parse(copy, quote_len, &q, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "certification data type 5 at offset 0x2fc"));
	memcpy(copy, quote, quote_len);
	cp_put_le16(copy + 0x4C2, 0xFFFF); /* QE auth data longer than what remains */
	cp_err_clear(&err);
	assert_int_equal(attest_hw_tdx_quote_parse(copy, quote_len, &q, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "QE auth data at offset 0x4c4"));
	free(copy);
}

/* A v5 quote built from the v4 one: header, {u16 type, u32 size}, body, then the same signature
 * data. The signature no longer covers it (it was signed as v4), so verification must fail while
 * the reader accepts the layout. A TDX 1.5 body (648 bytes) is read too. */
static uint8_t *make_v5(uint16_t type, size_t *len)
{
	uint32_t body = type == 3 ? ATTEST_HW_TDX_BODY15_SIZE : ATTEST_HW_TDX_BODY10_SIZE;
	size_t extra = 6 + body - ATTEST_HW_TDX_BODY10_SIZE;
	uint8_t *v5 = calloc(1, quote_len + extra);

	memcpy(v5, quote, 48);
	cp_put_le16(v5, 5);
	cp_put_le16(v5 + 48, type);
	cp_put_le32(v5 + 50, body);
	memcpy(v5 + 54, quote + 48, ATTEST_HW_TDX_BODY10_SIZE);
	memcpy(v5 + 54 + body, quote + 48 + ATTEST_HW_TDX_BODY10_SIZE, quote_len - 48 - ATTEST_HW_TDX_BODY10_SIZE);
	*len = quote_len + extra;
	return v5;
}

static void test_v5(void **state)
{
	struct attest_hw_tdx_quote q;
	struct attest_hw_tdx_input in = base_input();
	struct attest_hw_result r;
	struct cp_err err = { 0 };
	size_t len;
	uint8_t *v5 = make_v5(2, &len);

	assert_int_equal(attest_hw_tdx_quote_parse(v5, len, &q, &err), 0);
	assert_int_equal(q.signed_len, 54 + ATTEST_HW_TDX_BODY10_SIZE);
	assert_false(q.body.is_tdx15);
	assert_memory_equal(q.body.mrtd, quote + 0xB8, 48);
	in.quote = (struct attest_hw_blob){ v5, len };
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "quote-signature"), ATTEST_HW_FAIL);
	assert_int_equal(verdict_of(&r, "qe-report-signature"), ATTEST_HW_PASS);
	free(v5);

	v5 = make_v5(3, &len);
	assert_int_equal(attest_hw_tdx_quote_parse(v5, len, &q, &err), 0);
	assert_true(q.body.is_tdx15);
	assert_int_equal(q.signed_len, 54 + ATTEST_HW_TDX_BODY15_SIZE);
	cp_put_le32(v5 + 50, 600);
	assert_int_equal(attest_hw_tdx_quote_parse(v5, len, &q, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "body type 3 (TDX 1.5) at offset 0x30 with size 600"));
	cp_put_le16(v5 + 48, 1);
	cp_err_clear(&err);
	assert_int_equal(attest_hw_tdx_quote_parse(v5, len, &q, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "body type 1"));
	free(v5);
}

static void test_debug_td(void **state)
{
	static const char *const expect[] = { "quote-signature", "debug", NULL };
	uint8_t *copy = malloc(quote_len);
	struct attest_hw_tdx_input in = base_input();
	struct attest_hw_result r;

	memcpy(copy, quote, quote_len);
	copy[0xA8] |= 1; /* TDATTRIBUTES.DEBUG */
	in.quote = (struct attest_hw_blob){ copy, quote_len };
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_true(only_failures(&r, expect));
	in.allow_debug = true;
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "debug"), ATTEST_HW_PASS);
	assert_int_equal(verdict_of(&r, "quote-signature"), ATTEST_HW_FAIL);
	free(copy);
}

static void test_dates_and_crls(void **state)
{
	struct attest_hw_tdx_input in = base_input();
	struct attest_hw_result r;
	static const char *const expect_crl[] = { "pck-crl", "root-crl", NULL };

	in.at = (time_t)1893456000; /* 2030: the PCK certificate has expired */
	in.pck_crl.data = in.root_crl.data = NULL;
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "pck-chain"), ATTEST_HW_FAIL);
	assert_non_null(strstr(detail_of(&r, "pck-chain"), "expired"));
	/* Now (2026): chain fine, but the CRLs are long past their nextUpdate. */
	in = base_input();
	in.at = time(NULL);
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_true(only_failures(&r, expect_crl));
	/* CRLs swapped: each names the wrong issuer. */
	in = base_input();
	in.pck_crl = (struct attest_hw_blob){ rootcrl, rootcrl_len };
	in.root_crl = (struct attest_hw_blob){ pckcrl, pckcrl_len };
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_true(only_failures(&r, expect_crl));
	/* A CRL byte flipped: its signature fails (or it no longer parses). */
	uint8_t *c = malloc(pckcrl_len);
	memcpy(c, pckcrl, pckcrl_len);
	c[pckcrl_len / 2] ^= 1;
	in = base_input();
	in.pck_crl = (struct attest_hw_blob){ c, pckcrl_len };
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "pck-crl"), ATTEST_HW_FAIL);
	free(c);
}

/* Collateral cannot be verified with what the vector set holds (no TCB signing chain): it must
 * fail as "not verifiable", never pass; a wrong chain fails too. Its content is then evaluated
 * directly, to show the evaluation itself works on Intel's real documents. */
static void test_collateral(void **state)
{
	struct attest_hw_tdx_input in = base_input();
	struct attest_hw_result r;
	struct attest_hw_tdx_quote q;
	struct attest_hw_pck_info pck;
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct cp_err err = { 0 };
	char *text = NULL, status[48];
	uint8_t sig[64];

	in.tcb_info = (struct attest_hw_blob){ tcbinfo, tcbinfo_len };
	in.qe_identity = (struct attest_hw_blob){ qeid, qeid_len };
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_false(attest_hw_result_ok(&r));
	assert_int_equal(verdict_of(&r, "tcb-info"), ATTEST_HW_FAIL);
	assert_int_equal(verdict_of(&r, "qe-identity"), ATTEST_HW_FAIL);
	assert_non_null(strstr(detail_of(&r, "tcb-info"), "not verifiable"));

	assert_int_equal(attest_hw_tdx_quote_parse(quote, quote_len, &q, NULL), 0);
	in.tcb_chain = (struct attest_hw_blob){ q.pck_chain, q.pck_chain_len }; /* a PCK chain is not a TCB chain */
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "tcb-info"), ATTEST_HW_FAIL);
	assert_non_null(strstr(detail_of(&r, "tcb-info"), "TCB signing chain: expected 2 certificates"));

	assert_int_equal(attest_hw_certs_load(q.pck_chain, q.pck_chain_len, chain, NULL), 0);
	assert_int_equal(attest_hw_pck_info_read(sk_X509_value(chain, 0), &pck, &err), 0);
	assert_int_equal(attest_hw_collateral_split(tcbinfo, tcbinfo_len, "tcbInfo", &text, sig, &err), 0);
	/* json-c's compact re-serialisation is the text Intel signed, byte for byte. */
	assert_non_null(memmem(tcbinfo, tcbinfo_len, text, strlen(text)));
	/* The sample TCB info (June 2023) is newer than this platform: its levels need SGX
	 * components {5,5,2,2,3,1,0,3} (the PCK says {3,3,2,2,2,1,0,2}) and TDX module SVN 5 (the quote
	 * has 4). The platform meets no level: reported as a failure, never passed. */
	static const uint8_t newer[16] = { 5, 5, 2, 2, 3, 1, 0, 3 };
	assert_int_equal(pck.comp_svn[0], 3);
	assert_int_equal(pck.pcesvn, 11);
	assert_int_equal(q.body.tee_tcb_svn[2], 4);
	assert_int_equal(attest_hw_tcbinfo_eval(text, &q, &pck, AT_2023, status, sizeof(status), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "meets no TCB level"));
	memcpy(pck.comp_svn, newer, 16); /* as if microcode and the module were updated */
	cp_err_clear(&err);
	assert_int_equal(attest_hw_tcbinfo_eval(text, &q, &pck, AT_2023, status, sizeof(status), &err), -EINVAL);
	q.body.tee_tcb_svn[2] = 5;
	cp_err_clear(&err);
	int rc = attest_hw_tcbinfo_eval(text, &q, &pck, AT_2023, status, sizeof(status), &err);
	if (rc < 0)
		fail_msg("tcb info eval: %s", err.msg);
	assert_string_equal(status, "UpToDate");
	pck.pcesvn = 7; /* below level 0's PCESVN 11, at or above level 1's 5 */
	assert_int_equal(attest_hw_tcbinfo_eval(text, &q, &pck, AT_2023, status, sizeof(status), &err), 0);
	assert_string_equal(status, "OutOfDate");
	pck.fmspc[0] ^= 1;
	cp_err_clear(&err);
	assert_int_equal(attest_hw_tcbinfo_eval(text, &q, &pck, AT_2023, status, sizeof(status), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "FMSPC"));
	pck.fmspc[0] ^= 1;
	q.body.tee_tcb_svn[1] = 1; /* a TDX module 1.x: needs tdxModuleIdentities, refused */
	cp_err_clear(&err);
	assert_int_equal(attest_hw_tcbinfo_eval(text, &q, &pck, AT_2023, status, sizeof(status), &err), -ENOTSUP);
	q.body.tee_tcb_svn[1] = 0;
	cp_err_clear(&err);
	assert_int_equal(attest_hw_tcbinfo_eval(text, &q, &pck, time(NULL), status, sizeof(status), &err), -EKEYEXPIRED);
	free(text);
	assert_int_equal(attest_hw_collateral_split(qeid, qeid_len, "enclaveIdentity", &text, sig, &err), 0);
	assert_non_null(memmem(qeid, qeid_len, text, strlen(text)));
	rc = attest_hw_qeid_eval(text, &q, AT_2023, status, sizeof(status), &err);
	if (rc < 0)
		fail_msg("qe identity eval: %s", err.msg);
	assert_string_equal(status, "UpToDate");
	q.qe.mrsigner[0] ^= 1;
	assert_int_equal(attest_hw_qeid_eval(text, &q, AT_2023, status, sizeof(status), &err), -EINVAL);
	free(text);
	sk_X509_pop_free(chain, X509_free);
}

static void test_policy(void **state)
{
	struct attest_hw_tdx_quote q;
	struct cp_refvals pol;
	struct attest_hw_tdx_input in = base_input();
	struct attest_hw_result r;
	char json[1024], mrtd[97], rtmr0[97];
	static const char *const expect[] = { "policy-mrtd", NULL };

	assert_int_equal(attest_hw_tdx_quote_parse(quote, quote_len, &q, NULL), 0);
	cp_hex_encode(q.body.mrtd, 48, mrtd);
	cp_hex_encode(q.body.rtmr[0], 48, rtmr0);
	snprintf(json, sizeof(json), "{\"tdx\": {\"mrtd\": \"%s\", \"rtmr0\": \"%s\", \"xfam\": \"e71a060000000000\"}}", mrtd,
		 rtmr0);
	assert_int_equal(attest_hw_policy_parse(json, strlen(json), &pol, NULL), 0);
	in.policy = &pol.tdx;
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_true(attest_hw_result_ok(&r));
	assert_int_equal(verdict_of(&r, "policy-mrtd"), ATTEST_HW_PASS);
	assert_int_equal(verdict_of(&r, "policy-rtmr0"), ATTEST_HW_PASS);
	assert_int_equal(verdict_of(&r, "policy-xfam"), ATTEST_HW_PASS);
	pol.tdx.mrtd.d[0][0] ^= 1;
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	assert_true(only_failures(&r, expect));
}

/* The vector's PCK chain: where it starts in the quote, its length, and the three length fields
 * that enclose it (signature data, QE certification data, PCK certification data). */
#define CHAIN_AT 1258
#define CHAIN_LEN 3677
#define SIG_LEN_AT 0x278
#define OUTER_SIZE_AT (0x278 + 4 + 128 + 2)
#define INNER_SIZE_AT (CHAIN_AT - 4)

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The vector with `n` bytes inserted at chain offset `at`, every enclosing length adjusted (as a
 * forger would), and the unsigned trailing bytes dropped. */
static uint8_t *chain_insert(size_t at, const void *bytes, size_t n, size_t *out_len)
{
	uint8_t *q = malloc(SIG_END + n);
	memcpy(q, quote, CHAIN_AT + at);
	memcpy(q + CHAIN_AT + at, bytes, n);
	memcpy(q + CHAIN_AT + at + n, quote + CHAIN_AT + at, SIG_END - CHAIN_AT - at);
	put_le32(q + SIG_LEN_AT, get_le32(q + SIG_LEN_AT) + (uint32_t)n);
	put_le32(q + OUTER_SIZE_AT, get_le32(q + OUTER_SIZE_AT) + (uint32_t)n);
	put_le32(q + INNER_SIZE_AT, get_le32(q + INNER_SIZE_AT) + (uint32_t)n);
	*out_len = SIG_END + n;
	return q;
}

static bool chain_variant_verifies(size_t at, const void *bytes, size_t n, const char *want_err)
{
	struct attest_hw_tdx_input in = base_input();
	struct attest_hw_result r;
	struct attest_hw_tdx_quote q;
	struct cp_err err = { 0 };
	size_t len;
	uint8_t *buf = chain_insert(at, bytes, n, &len);
	int prc = attest_hw_tdx_quote_parse(buf, len, &q, &err);
	bool ok;

	if (want_err) {
		assert_int_not_equal(prc, 0);
		if (!strstr(err.msg, want_err))
			fail_msg("error \"%s\" lacks \"%s\"", err.msg, want_err);
	}
	in.quote = (struct attest_hw_blob){ buf, len };
	assert_int_equal(attest_hw_tdx_verify(&in, &r), 0);
	ok = attest_hw_result_ok(&r);
	free(buf);
	return ok;
}

/* Issue 14 / issue 18 item 8: exactly the PEM chain, plus the one NUL genuine quotes carry. */
static void test_pck_chain_exact(void **state)
{
	struct attest_hw_tdx_quote q;
	struct cp_err err = { 0 };
	size_t len;
	uint8_t *buf = chain_insert(CHAIN_LEN, "", 1, &len);

	/* Intel's quoting library: the chain ends with a NUL terminator. */
	assert_int_equal(attest_hw_tdx_quote_parse(buf, len, &q, &err), 0);
	assert_true(q.pck_chain_nul);
	assert_int_equal(q.pck_chain_len, CHAIN_LEN);
	free(buf);
	assert_true(chain_variant_verifies(CHAIN_LEN, "", 1, NULL));
	/* Nothing looser: two NULs, a NUL then text, a NUL inside the chain or between certificates. */
	assert_false(chain_variant_verifies(CHAIN_LEN, "\0\0", 2, "expected \"-----BEGIN CERTIFICATE-----\""));
	assert_false(chain_variant_verifies(CHAIN_LEN, "\0x", 2, "expected \"-----BEGIN"));
	assert_false(chain_variant_verifies(1747, "", 1, "not base64"));
	assert_false(chain_variant_verifies(1773, "", 1, "expected \"-----BEGIN"));
	/* Unsigned text between, before or after the certificates, lengths adjusted: refused. */
	assert_false(chain_variant_verifies(1773, "hello\n", 6, "expected \"-----BEGIN"));
	assert_false(chain_variant_verifies(0, "x\n", 2, "expected \"-----BEGIN"));
	assert_false(chain_variant_verifies(CHAIN_LEN, "\n", 1, "expected \"-----BEGIN"));
	assert_false(chain_variant_verifies(CHAIN_LEN, "AAAA\n", 5, "expected \"-----BEGIN"));
	/* Inside a block: a PEM header line, an over-long line. */
	assert_false(chain_variant_verifies(28, "Proc-Type: 4,ENCRYPTED\n", 23, "not base64"));
	assert_false(chain_variant_verifies(28, "A", 1, "too long"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_verifies),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_trailing_is_unsigned),
		cmocka_unit_test(test_truncation_precise),
		cmocka_unit_test(test_header_and_lengths),
		cmocka_unit_test(test_v5),
		cmocka_unit_test(test_debug_td),
		cmocka_unit_test(test_dates_and_crls),
		cmocka_unit_test(test_collateral),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_pck_chain_exact),
	};
	int rc;

	vec_require("tdx/tdx_prod_quote_SPR_E4.dat");
	quote = vec_read("tdx/tdx_prod_quote_SPR_E4.dat", &quote_len);
	pckcrl = vec_read("tdx/pckcrl", &pckcrl_len);
	rootcrl = vec_read("tdx/rootcrl.der", &rootcrl_len);
	tcbinfo = vec_read("tdx/sample_tcbInfo_response", &tcbinfo_len);
	qeid = vec_read("tdx/sample_qeIdentity_response", &qeid_len);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(quote);
	free(pckcrl);
	free(rootcrl);
	free(tcbinfo);
	free(qeid);
	return rc;
}
