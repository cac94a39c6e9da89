/* Unit tests for the evidence verifier on bundles made with a software AK: a valid bundle
 * passes only with a trust anchor; every single-byte flip in the quote or signature fails;
 * wrong nonce, PCR and log edits, wrong keys, schemes, reference values and platform
 * evidence fail. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/sha.h>

#include "attest/tpm/eventlog.h"
#include "attest/tpm/evidence.h"
#include "attest/tpm/hostlog.h"
#include "attest/tpm/pubkey.h"
#include "attest/tpm/verify.h"
#include "common/util.h"
#include "fixture.h"

struct ctx {
	struct fx f;
	struct attest_verify_opts o;
	struct attest_verify_result r;
	uint8_t pins[1][32];
};

static void setup_ctx(struct ctx *c, enum fx_alg alg)
{
	memset(c, 0, sizeof(*c));
	fx_make(&c->f, alg, 0);
	memcpy(c->pins[0], c->f.ak_name, 32);
	c->o.nonce = c->f.nonce;
	c->o.nonce_len = sizeof(c->f.nonce);
	c->o.ak_pins = (const uint8_t(*)[32])c->pins;
	c->o.n_ak_pins = 1;
}

static void run(struct ctx *c)
{
	assert_int_equal(attest_verify_evidence(&c->f.ev, &c->o, &c->r), 0);
}

static void want_check(struct ctx *c, enum attest_check_id id, enum attest_check_status st, const char *msg)
{
	run(c);
	if (c->r.checks[id].status != st || (msg && !strstr(c->r.checks[id].detail, msg)))
		fail_msg("%s: expected %s \"%s\", got %s \"%s\"", attest_check_name(id), attest_check_status_name(st),
			 msg ? msg : "", attest_check_status_name(c->r.checks[id].status), c->r.checks[id].detail);
	if (st == ATTEST_CHECK_FAIL)
		assert_false(c->r.passed);
}

static void test_valid_all_algs(void **state)
{
	static const enum fx_alg algs[] = { FX_ECDSA, FX_RSASSA, FX_RSAPSS };
	for (size_t i = 0; i < 3; i++) {
		struct ctx c;
		setup_ctx(&c, algs[i]);
		run(&c);
		for (int k = 0; k < ATTEST_CHECK_COUNT; k++)
			if (c.r.checks[k].status == ATTEST_CHECK_FAIL)
				fail_msg("alg %zu: %s failed: %s", i, attest_check_name(k), c.r.checks[k].detail);
		assert_true(c.r.passed);
		assert_int_equal(c.r.checks[ATTEST_CHECK_SIGNATURE].status, ATTEST_CHECK_PASS);
		assert_int_equal(c.r.checks[ATTEST_CHECK_VM_IDENTITY].status, ATTEST_CHECK_PASS);
		assert_int_equal(c.r.checks[ATTEST_CHECK_LAUNCH_MEASUREMENT].status, ATTEST_CHECK_SKIP);
		fx_free(&c.f);
	}
}

static void test_no_pin_fails(void **state)
{
	struct ctx c;
	setup_ctx(&c, FX_ECDSA);
	c.o.n_ak_pins = 0;
	want_check(&c, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_FAIL, "no trust anchor");
	c.o.n_ak_pins = 1;
	c.pins[0][5] ^= 1;
	want_check(&c, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_FAIL, "matches none");
	fx_free(&c.f);
}

/* Flip every byte (each bit position in turn) of the quote and signature: never passes. */
static void test_flip_every_byte(void **state)
{
	struct ctx c;
	setup_ctx(&c, FX_ECDSA);
	for (int which = 0; which < 2; which++) {
		struct attest_blob *b = which ? &c.f.ev.signature : &c.f.ev.quote;
		for (size_t off = 0; off < b->len; off++) {
			uint8_t bit = (uint8_t)(1u << (off % 8));
			b->data[off] ^= bit;
			run(&c);
			if (c.r.passed)
				fail_msg("%s byte %zu flipped: still passes", which ? "signature" : "quote", off);
			/* refused for the right reason: the AK's signature (or the quote no longer parses) */
			if (c.r.checks[ATTEST_CHECK_SIGNATURE].status != ATTEST_CHECK_FAIL &&
			    c.r.checks[ATTEST_CHECK_QUOTE_STRUCTURE].status != ATTEST_CHECK_FAIL)
				fail_msg("%s byte %zu flipped: refused, but neither signature nor quote-structure failed",
					 which ? "signature" : "quote", off);
			b->data[off] ^= bit;
		}
	}
	run(&c);
	assert_true(c.r.passed);
	fx_free(&c.f);
}

static void test_nonce(void **state)
{
	struct ctx c;
	uint8_t other[16];
	setup_ctx(&c, FX_ECDSA);
	memcpy(other, c.f.nonce, 16);
	other[15] ^= 1;
	c.o.nonce = other;
	want_check(&c, ATTEST_CHECK_NONCE, ATTEST_CHECK_FAIL, "replayed");
	c.o.nonce_len = 15;
	c.o.nonce = c.f.nonce;
	want_check(&c, ATTEST_CHECK_NONCE, ATTEST_CHECK_FAIL, "not the expected 15-byte nonce");
	/* no nonce at all is not "any nonce", even for a quote with empty extraData */
	c.f.attest.extraData.size = 0;
	fx_requote(&c.f);
	c.o.nonce = NULL;
	c.o.nonce_len = 0;
	want_check(&c, ATTEST_CHECK_NONCE, ATTEST_CHECK_FAIL, "no nonce given");
	fx_free(&c.f);
}

static void test_pcr_edits(void **state)
{
	struct ctx c;
	setup_ctx(&c, FX_ECDSA);
	c.f.ev.pcrs[0].value[0] ^= 1;
	want_check(&c, ATTEST_CHECK_PCR_DIGEST, ATTEST_CHECK_FAIL, "does not match");
	assert_int_equal(c.r.checks[ATTEST_CHECK_EVENT_LOG].status, ATTEST_CHECK_FAIL);
	c.f.ev.pcrs[0].value[0] ^= 1;
	c.f.ev.pcrs[0].index = 12;
	want_check(&c, ATTEST_CHECK_PCR_DIGEST, ATTEST_CHECK_FAIL, "PCR 12 is not in the quote's selection");
	c.f.ev.pcrs[0].index = FX_PCR;
	/* a second bank in the signed selection */
	c.f.attest.attested.quote.pcrSelect.count = 2;
	c.f.attest.attested.quote.pcrSelect.pcrSelections[1] = c.f.attest.attested.quote.pcrSelect.pcrSelections[0];
	c.f.attest.attested.quote.pcrSelect.pcrSelections[1].hash = TPM2_ALG_SHA384;
	fx_requote(&c.f);
	want_check(&c, ATTEST_CHECK_PCR_DIGEST, ATTEST_CHECK_FAIL, "2 bank(s)");
	fx_free(&c.f);
}

static void test_event_log_edits(void **state)
{
	struct ctx c;
	struct attest_eventlog log;
	uint8_t *saved;
	size_t len;

	setup_ctx(&c, FX_ECDSA);
	len = c.f.ev.event_log.len;
	saved = malloc(len);
	memcpy(saved, c.f.ev.event_log.data, len);
	/* any byte changed in the log: parse error or replay mismatch, never a pass */
	for (size_t off = 0; off < len; off++) {
		c.f.ev.event_log.data[off] ^= 0x01;
		run(&c);
		if (c.r.passed || c.r.checks[ATTEST_CHECK_EVENT_LOG].status != ATTEST_CHECK_FAIL)
			fail_msg("event log byte %zu flipped: %s", off, c.r.checks[ATTEST_CHECK_EVENT_LOG].detail);
		c.f.ev.event_log.data[off] ^= 0x01;
	}
	/* a consistent record that is not the one the host log holds: missing */
	assert_int_equal(attest_eventlog_parse(saved, len, &log, NULL), 0);
	attest_eventlog_drop_last(&log);
	free(c.f.ev.event_log.data);
	assert_int_equal(attest_eventlog_serialize(&log, &c.f.ev.event_log.data, &c.f.ev.event_log.len, NULL), 0);
	free(saved);
	want_check(&c, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "missing from the host launch log");
	/* a record naming another PCR than the host log's */
	attest_eventlog_append(&log, 16, ATTEST_EVENT_LAUNCH_POLICY, c.f.policy_digest, 32, NULL);
	fx_set_log(&c.f, &log);
	want_check(&c, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "names PCR 16");
	/* an empty record: no launch */
	attest_eventlog_free(&log);
	fx_set_log(&c.f, &log);
	want_check(&c, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "exactly one vm-start and one launch-id");
	assert_int_equal(c.r.checks[ATTEST_CHECK_VM_IDENTITY].status, ATTEST_CHECK_FAIL);
	fx_free(&c.f);
}

/* Issue 14: the host launch log is replayed whole, this launch found once, its stop reported;
 * other tenants are digests. */
static void test_host_launch_log(void **state)
{
	struct ctx c;
	struct attest_hostlog hl;
	uint8_t *hlb, stop[32], zero[32] = { 0 };
	size_t at;

	setup_ctx(&c, FX_ECDSA);
	want_check(&c, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_PASS, "3 entries replay to PCR 13");
	want_check(&c, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_PASS, "is entry 1");
	want_check(&c, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_PASS, "running: launched at entry 1 of 3");
	/* every byte of the host log matters (header and entries) */
	for (at = 0; at < c.f.ev.launch_log.len; at++) {
		c.f.ev.launch_log.data[at] ^= 0x02;
		run(&c);
		if (c.r.passed)
			fail_msg("host log byte %zu flipped: still passes", at);
		c.f.ev.launch_log.data[at] ^= 0x02;
	}
	/* a torn tail is a crash artefact for the recorder, never valid evidence */
	c.f.ev.launch_log.len--;
	want_check(&c, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "after the last whole entry");
	c.f.ev.launch_log.len++;
	/* the log must belong to the quote's TPM boot */
	c.f.attest.clockInfo.resetCount = 2;
	fx_requote(&c.f);
	want_check(&c, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "TPM boot (resetCount) 1, the quote to 2");
	c.f.attest.clockInfo.resetCount = 1;
	fx_requote(&c.f);
	/* this VM's stop, appended and quoted: reported, and a second stop fails */
	assert_int_equal(attest_hostlog_stop_digest(c.f.launch_id, stop), 0);
	{
		size_t n = c.f.ev.launch_log.len;
		uint8_t pcr[32];
		for (int k = 0; k < 2; k++) {
			hlb = realloc(c.f.ev.launch_log.data, n + ATTEST_HOSTLOG_ENTRY_LEN);
			attest_hostlog_entry_bytes(ATTEST_HOSTLOG_STOP, stop, hlb + n);
			n += ATTEST_HOSTLOG_ENTRY_LEN;
			c.f.ev.launch_log.data = hlb;
			c.f.ev.launch_log.len = n;
			assert_int_equal(attest_hostlog_parse(hlb, n, &hl, NULL, NULL), 0);
			attest_hostlog_replay(&hl, hl.count, pcr);
			attest_hostlog_free(&hl);
			memcpy(c.f.ev.pcrs[0].value, pcr, 32);
			SHA256(pcr, 32, c.f.attest.attested.quote.pcrDigest.buffer);
			fx_requote(&c.f);
			if (k == 0) {
				want_check(&c, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_PASS, "STOPPED: launched at entry 1, stopped at entry 3 of 4");
				assert_true(c.r.passed);
			} else {
				want_check(&c, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_FAIL, "stopped 2 times");
			}
		}
	}
	fx_free(&c.f);
	/* a base the bundle does not explain (no boot log): refused */
	setup_ctx(&c, FX_ECDSA);
	c.f.ev.launch_log.data[16] = 1;
	want_check(&c, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "no boot log in the bundle explains (non-zero)");
	(void)zero;
	fx_free(&c.f);
}

static void test_vm_identity(void **state)
{
	struct ctx c;
	setup_ctx(&c, FX_ECDSA);
	c.f.ev.vm_config.data[0] ^= 1;
	want_check(&c, ATTEST_CHECK_VM_IDENTITY, ATTEST_CHECK_FAIL, "vm.config");
	c.f.ev.vm_config.data[0] ^= 1;
	free(c.f.ev.vm_name);
	c.f.ev.vm_name = strdup("vm2");
	want_check(&c, ATTEST_CHECK_VM_IDENTITY, ATTEST_CHECK_FAIL, "vm.name \"vm2\"");
	fx_free(&c.f);
}

static void test_reference_values(void **state)
{
	struct ctx c;
	struct attest_evidence_policy pol = { 0 };
	setup_ctx(&c, FX_ECDSA);
	c.o.policy = &pol;
	pol.n_measurements = 2;
	pol.measurement_len[0] = 32;
	pol.measurement_len[1] = 48;
	memcpy(pol.measurements[1], c.f.measurement, 48);
	want_check(&c, ATTEST_CHECK_LAUNCH_MEASUREMENT, ATTEST_CHECK_PASS, "equals reference value 2");
	assert_true(c.r.passed);
	pol.measurements[1][47] ^= 1;
	want_check(&c, ATTEST_CHECK_LAUNCH_MEASUREMENT, ATTEST_CHECK_FAIL, "matches none of the 2");
	pol.n_measurements = 0;
	pol.n_policy_digests = 1;
	memcpy(pol.policy_digests[0], c.f.policy_digest, 32);
	want_check(&c, ATTEST_CHECK_LAUNCH_POLICY, ATTEST_CHECK_PASS, NULL);
	pol.policy_digests[0][0] ^= 1;
	want_check(&c, ATTEST_CHECK_LAUNCH_POLICY, ATTEST_CHECK_FAIL, NULL);
	/* AK pinned by the policy instead of --ak-pin */
	pol.n_policy_digests = 0;
	c.o.n_ak_pins = 0;
	pol.n_ak_pins = 1;
	memcpy(pol.ak_pins[0], c.f.ak_name, 32);
	want_check(&c, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_PASS, "policy ak_names[0]");
	fx_free(&c.f);
}

static void test_key_problems(void **state)
{
	struct ctx c;
	/* a signing key that is not restricted could sign a forged TPMS_ATTEST */
	memset(&c, 0, sizeof(c));
	fx_make(&c.f, FX_ECDSA, TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
					TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT);
	c.o.nonce = c.f.nonce;
	c.o.nonce_len = 16;
	want_check(&c, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "not a restricted");
	assert_int_equal(c.r.checks[ATTEST_CHECK_SIGNATURE].status, ATTEST_CHECK_FAIL);
	fx_free(&c.f);

	/* PEM and TPM2B_PUBLIC disagree */
	{
		struct ctx other;
		setup_ctx(&c, FX_ECDSA);
		setup_ctx(&other, FX_ECDSA);
		free(c.f.ev.ak_pem);
		c.f.ev.ak_pem = strdup(other.f.ev.ak_pem);
		want_check(&c, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "tpm.ak.pem is not the key");
		/* quote signed by another key than the one shipped */
		free(c.f.ev.ak_pem);
		c.f.ev.ak_pem = strdup(other.f.ev.ak_pem);
		free(c.f.ev.ak_public.data);
		c.f.ev.ak_public.data = malloc(other.f.ev.ak_public.len);
		memcpy(c.f.ev.ak_public.data, other.f.ev.ak_public.data, other.f.ev.ak_public.len);
		c.f.ev.ak_public.len = other.f.ev.ak_public.len;
		memcpy(c.pins[0], other.f.ak_name, 32);
		want_check(&c, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_FAIL, "does not verify");
		fx_free(&other.f);
		fx_free(&c.f);
	}
	/* garbage PEM */
	setup_ctx(&c, FX_ECDSA);
	c.f.ev.ak_pem[30] = '!';
	want_check(&c, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "tpm.ak.pem");
	fx_free(&c.f);
	/* an ECC point that is not on the curve */
	setup_ctx(&c, FX_ECDSA);
	c.f.ev.ak_public.data[c.f.ev.ak_public.len - 1] ^= 1;
	want_check(&c, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "OpenSSL rejects");
	fx_free(&c.f);
	/* key's fixed scheme differs from the signature's */
	setup_ctx(&c, FX_RSASSA);
	c.f.ev.signature.data[1] = 0x16; /* claim RSAPSS */
	want_check(&c, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_FAIL, "differs from the key's scheme");
	c.f.ev.signature.data[1] = 0x18; /* ECDSA on an RSA key */
	want_check(&c, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_FAIL, NULL);
	fx_free(&c.f);
}

static void put_platform(struct attest_blob *b, size_t len, size_t at, const uint8_t *field, size_t flen, uint16_t ver)
{
	free(b->data);
	b->data = calloc(1, len);
	b->len = len;
	cp_put_le16(b->data, ver);
	memcpy(b->data + at, field, flen);
}

static void test_platform_and_binding(void **state)
{
	struct ctx c;
	uint8_t binding[32], mrcfg[48] = { 0 };

	setup_ctx(&c, FX_ECDSA);
	assert_int_equal(attest_binding_digest(c.f.ev.ak_public.data, c.f.ev.ak_public.len, c.f.policy_digest, binding), 0);
	put_platform(&c.f.ev.snp_report, 0x4A0, 0xC0, binding, 32, 2);
	want_check(&c, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL, "its certificate table is missing");
	assert_int_equal(c.r.checks[ATTEST_CHECK_BINDING].status, ATTEST_CHECK_PASS);
	c.o.allow_unverified_platform = true;
	want_check(&c, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_SKIP, "NOT verified here");
	assert_true(c.r.passed);
	c.f.ev.snp_report.data[0xC0 + 31] ^= 1;
	want_check(&c, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, "HOST_DATA is not the binding digest");
	c.f.ev.snp_report.len = 0x49F;
	want_check(&c, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, "expected 1184");
	free(c.f.ev.snp_report.data);
	c.f.ev.snp_report.data = NULL;
	c.f.ev.snp_report.len = 0;

	memcpy(mrcfg, binding, 32);
	put_platform(&c.f.ev.tdx_quote, 0x300, 0xE8, mrcfg, 48, 4);
	want_check(&c, ATTEST_CHECK_BINDING, ATTEST_CHECK_PASS, "TDX MRCONFIGID");
	c.f.ev.tdx_quote.data[0xE8 + 40] = 1; /* the 16 bytes after the digest must be zero */
	want_check(&c, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, NULL);
	put_platform(&c.f.ev.tdx_quote, 0x300, 0xEE, mrcfg, 48, 5);
	want_check(&c, ATTEST_CHECK_BINDING, ATTEST_CHECK_PASS, NULL);
	put_platform(&c.f.ev.tdx_quote, 0x300, 0xE8, mrcfg, 48, 5);
	want_check(&c, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, NULL);
	put_platform(&c.f.ev.tdx_quote, 0x300, 0xE8, mrcfg, 48, 3);
	want_check(&c, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, "version 3");
	put_platform(&c.f.ev.tdx_quote, 0x100, 0, mrcfg, 0, 4);
	want_check(&c, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, "too short");
	free(c.f.ev.tdx_quote.data);
	c.f.ev.tdx_quote.data = NULL;
	/* a certificate table alone is not evidence */
	put_platform(&c.f.ev.snp_cert_table, 64, 0, mrcfg, 0, 0);
	want_check(&c, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL, "without a report");
	fx_free(&c.f);
}

/* Platform reference values (the evidence policy's "platform", common/refvals.h) demand the
 * platform's evidence, verified: anything less fails closed and says why. */
static void test_platform_reference_values(void **state)
{
	struct ctx c;
	struct attest_evidence_policy pol = { 0 };
	uint8_t binding[32];

	setup_ctx(&c, FX_ECDSA);
	cp_refvals_init(&pol.platform);
	c.o.policy = &pol;
	c.o.allow_unverified_platform = true;
	pol.platform.has_snp = true;
	want_check(&c, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL, "are for SNP, the bundle has no SNP report or TDX quote");
	assert_false(c.r.passed);
	assert_int_equal(attest_binding_digest(c.f.ev.ak_public.data, c.f.ev.ak_public.len, c.f.policy_digest, binding), 0);
	put_platform(&c.f.ev.snp_report, 0x4A0, 0xC0, binding, 32, 2);
	want_check(&c, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL, "reference values are not met");
	assert_false(c.r.passed);
	pol.platform.has_snp = false;
	pol.platform.has_tdx = true;
	want_check(&c, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL, "are for TDX, the bundle has an SNP report");
	pol.platform.has_tdx = false; /* no platform values: the caller's --allow-unverified-platform decides */
	want_check(&c, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_SKIP, "NOT verified here");
	assert_true(c.r.passed);
	fx_free(&c.f);
}

/* The fixed-prefix SPKI encoding equals OpenSSL's encoder output, for both curves and RSA. */
static void test_spki_encoding(void **state)
{
	static const char *const curves[] = { "P-256", "P-384" };
	for (int i = 0; i < 3; i++) {
		struct attest_tpm_public pub = { 0 };
		EVP_PKEY *k = i < 2 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i]) : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		uint8_t *a, *b;
		size_t alen, blen, coord = i == 0 ? 32 : 48;
		BIGNUM *x = NULL, *y = NULL;

		assert_non_null(k);
		if (i < 2) {
			pub.type = ATTEST_TPM_ALG_ECC;
			pub.curve = i == 0 ? ATTEST_TPM_ECC_NIST_P256 : ATTEST_TPM_ECC_NIST_P384;
			assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x));
			assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y));
			assert_int_equal(BN_bn2binpad(x, pub.unique_a, (int)coord), (int)coord);
			assert_int_equal(BN_bn2binpad(y, pub.unique_b, (int)coord), (int)coord);
			pub.unique_a_len = pub.unique_b_len = coord;
		} else {
			pub.type = ATTEST_TPM_ALG_RSA;
		}
		assert_int_equal(attest_pubkey_der_from_tpm(&pub, k, &a, &alen, NULL), 0);
		assert_int_equal(attest_pubkey_der(k, &b, &blen, NULL), 0);
		assert_int_equal(alen, blen);
		assert_memory_equal(a, b, alen);
		OPENSSL_free(a);
		OPENSSL_free(b);
		BN_free(x);
		BN_free(y);
		EVP_PKEY_free(k);
	}
}

static void test_json_entry(void **state)
{
	struct ctx c;
	char *json;
	setup_ctx(&c, FX_ECDSA);
	assert_int_equal(attest_evidence_to_json(&c.f.ev, &json, NULL), 0);
	assert_int_equal(attest_verify_json(json, strlen(json), &c.o, &c.r), 0);
	assert_true(c.r.passed);
	json[2] = 'X';
	assert_int_equal(attest_verify_json(json, strlen(json), &c.o, &c.r), 0);
	assert_false(c.r.passed);
	assert_int_equal(c.r.checks[ATTEST_CHECK_EVIDENCE_FORMAT].status, ATTEST_CHECK_FAIL);
	assert_int_equal(c.r.checks[ATTEST_CHECK_AK_TRUST].status, ATTEST_CHECK_FAIL);
	assert_int_equal(attest_verify_json(NULL, 0, &c.o, &c.r), -EINVAL);
	assert_string_equal(attest_check_name(ATTEST_CHECK_COUNT), "unknown");
	free(json);
	fx_free(&c.f);
}

/* Issue 18 item 7: the pin is the TPM object's name, so it covers the attributes. */
static void test_pin_covers_attributes(void **state)
{
	struct ctx c;
	uint8_t *tpmt;

	/* A reserved objectAttributes bit flipped in tpm.ak.public: same key, same PEM. */
	setup_ctx(&c, FX_ECDSA);
	tpmt = c.f.ev.ak_public.data + 2;
	tpmt[4 + 3] |= 0x08; /* objectAttributes (after type and nameAlg), bit 3 is reserved */
	want_check(&c, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "reserved or x509sign bits 0x00000008");
	fx_free(&c.f);
	/* stClear (not reserved) added: a well-formed key, but not the pinned object. */
	setup_ctx(&c, FX_ECDSA);
	tpmt = c.f.ev.ak_public.data + 2;
	tpmt[4 + 3] |= 0x04;
	want_check(&c, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_PASS, "claiming a restricted signing key");
	want_check(&c, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_FAIL, "matches none of the 1 pin(s)");
	fx_free(&c.f);
	/* The same key made by software and labelled restricted: its name is what was pinned; the
	 * verifier says the trust rests on that pin. */
	setup_ctx(&c, FX_ECDSA);
	want_check(&c, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_PASS, "weaker than EK enrolment");
	fx_free(&c.f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_all_algs),
		cmocka_unit_test(test_no_pin_fails),
		cmocka_unit_test(test_flip_every_byte),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_pcr_edits),
		cmocka_unit_test(test_event_log_edits),
		cmocka_unit_test(test_host_launch_log),
		cmocka_unit_test(test_vm_identity),
		cmocka_unit_test(test_reference_values),
		cmocka_unit_test(test_key_problems),
		cmocka_unit_test(test_pin_covers_attributes),
		cmocka_unit_test(test_platform_and_binding),
		cmocka_unit_test(test_platform_reference_values),
		cmocka_unit_test(test_spki_encoding),
		cmocka_unit_test(test_json_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
