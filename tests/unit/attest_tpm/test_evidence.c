/* Unit tests for the evidence bundle JSON reader/writer, the reference-value policy reader and
 * the binding digest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "attest/tpm/evidence.h"
#include "common/util.h"
#include "fixture.h"

static char *fixture_json(struct fx *f)
{
	char *json;
	fx_make(f, FX_ECDSA, 0);
	assert_int_equal(attest_evidence_to_json(&f->ev, &json, NULL), 0);
	return json;
}

static void test_roundtrip(void **state)
{
	struct fx f;
	struct attest_evidence back;
	struct cp_err err = { 0 };
	char *json = fixture_json(&f);

	assert_int_equal(attest_evidence_parse(json, strlen(json), &back, &err), 0);
	assert_int_equal(back.quote.len, f.ev.quote.len);
	assert_memory_equal(back.quote.data, f.ev.quote.data, f.ev.quote.len);
	assert_memory_equal(back.signature.data, f.ev.signature.data, f.ev.signature.len);
	assert_int_equal(back.pcr_count, 1);
	assert_int_equal(back.pcrs[0].index, 13);
	assert_int_equal(back.launch_log.len, f.ev.launch_log.len);
	assert_memory_equal(back.launch_log.data, f.ev.launch_log.data, f.ev.launch_log.len);
	assert_memory_equal(back.pcrs[0].value, f.ev.pcrs[0].value, 32);
	assert_string_equal(back.ak_pem, f.ev.ak_pem);
	assert_string_equal(back.vm_name, "vm1");
	assert_int_equal(back.vm_config.len, f.ev.vm_config.len);
	assert_null(back.ek_cert.data);
	assert_null(back.snp_report.data);
	attest_evidence_free(&back);
	attest_evidence_free(NULL);
	free(json);
	fx_free(&f);
}

/* Replace the first occurrence of `from` in json with `to` and expect a parse error. */
static void expect_edit_err(const char *json, const char *from, const char *to, const char *msg)
{
	struct attest_evidence ev;
	struct cp_err err = { 0 };
	const char *at = strstr(json, from);
	size_t n = strlen(json) + strlen(to) + 1;
	char *t = malloc(n);

	assert_non_null(t);
	assert_non_null(at);
	snprintf(t, n, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
	assert_int_equal(attest_evidence_parse(t, strlen(t), &ev, &err) < 0, 1);
	if (!strstr(err.msg, msg))
		fail_msg("edit %s -> %s: expected \"%s\" in \"%s\"", from, to, msg, err.msg);
	assert_null(ev.quote.data);
	free(t);
}

static void test_parse_errors(void **state)
{
	struct fx f;
	struct attest_evidence ev;
	struct cp_err err = { 0 };
	char *json = fixture_json(&f), *t;

	expect_edit_err(json, "\"format\":\"carapace-evidence\"", "\"format\":\"other\"", "\"format\" must be");
	expect_edit_err(json, "\"version\":2", "\"version\":3", "version 3 is not supported");
	expect_edit_err(json, "\"version\":2", "\"version\":1", "per-VM, resettable PCR and is no longer accepted");
	expect_edit_err(json, "\"version\":2", "\"version\":\"2\"", "evidence.version: wrong JSON type");
	expect_edit_err(json, "\"version\":2", "\"version\":2,\"extra\":true", "unknown key \"extra\"");
	expect_edit_err(json, "\"launch_log\":", "\"launch_logs\":", "unknown key \"launch_logs\"");
	expect_edit_err(json, "\"launch_log\":\"", "\"launch_log\":\"*", "evidence.launch_log: base64");
	expect_edit_err(json, "\"quote\":", "\"quotes\":", "tpm: unknown key \"quotes\"");
	expect_edit_err(json, "\"bank\":\"sha256\"", "\"bank\":\"sha1\"", "only \"sha256\"");
	expect_edit_err(json, "\"index\":13", "\"index\":24", "out of range");
	expect_edit_err(json, "\"index\":13", "\"index\":-1", "out of range");
	expect_edit_err(json, "\"index\":13", "\"index\":13.0", "wrong JSON type");
	expect_edit_err(json, "\"values\":[", "\"values\":[{\"index\":13,\"value\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},",
			"unique and ascending");
	expect_edit_err(json, "\"value\":\"", "\"value\":\"AAAA", "at most 32 allowed");
	expect_edit_err(json, "\"signature\":\"A", "\"signature\":\"*", "invalid base64 character at position 0");
	expect_edit_err(json, "\"pem\":", "\"pem\":1,\"x\":", "tpm.ak.pem: wrong JSON type");
	expect_edit_err(json, "\"name\":\"vm1\"", "\"name\":\"v/1\"", "vm.name");
	expect_edit_err(json, "\"name\":\"vm1\"", "\"name\":\"vm\\u00001\"", "NUL");
	expect_edit_err(json, "\"vm\":{", "\"platform\":{\"sgx\":\"\"},\"vm\":{", "platform: unknown key \"sgx\"");
	expect_edit_err(json, "\"event_log\":", "\"event_log\":\"AAAA\",\"x_log\":", "unknown key");
	expect_edit_err(json, "\"values\":[", "\"values\":[1,", "not an object");

	/* structural problems */
	assert_true(attest_evidence_parse("[1]", 3, &ev, &err) < 0);
	assert_non_null(strstr(err.msg, "not a JSON object"));
	cp_err_clear(&err);
	assert_true(attest_evidence_parse("{\"a\":", 5, &ev, &err) < 0);
	assert_non_null(strstr(err.msg, "unexpected end"));
	cp_err_clear(&err);
	t = malloc(strlen(json) + 3);
	assert_non_null(t);
	snprintf(t, strlen(json) + 3, "%s {", json);
	assert_true(attest_evidence_parse(t, strlen(t), &ev, &err) < 0);
	if (!strstr(err.msg, "trailing data") && !strstr(err.msg, "unexpected character"))
		fail_msg("%s", err.msg);
	cp_err_clear(&err);
	assert_true(attest_evidence_parse("{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}", 31, &ev, &err) < 0);
	cp_err_clear(&err);
	assert_true(attest_evidence_parse("{\"a\0\":1}", 8, &ev, &err) < 0);
	assert_non_null(strstr(err.msg, "NUL byte"));
	cp_err_clear(&err);
	/* missing required keys */
	assert_true(attest_evidence_parse("{\"format\":\"carapace-evidence\",\"version\":1}", 42, &ev, &err) < 0);
	assert_non_null(strstr(err.msg, "missing key \"tpm\""));
	free(t);
	free(json);
	fx_free(&f);
}

static void expect_policy(const char *json, int ok, const char *msg)
{
	struct attest_evidence_policy pol;
	struct cp_err err = { 0 };
	int r = attest_evidence_policy_parse(json, strlen(json), &pol, &err);
	if (ok) {
		assert_int_equal(r, 0);
		return;
	}
	assert_true(r < 0);
	if (!strstr(err.msg, msg))
		fail_msg("expected \"%s\" in \"%s\"", msg, err.msg);
}

static void test_policy(void **state)
{
	struct attest_evidence_policy pol;
	const char *ok = "{\"format\":\"carapace-evidence-policy\",\"version\":1,"
			 "\"launch_measurements\":[\"" "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
			 "202122232425262728292a2b2c2d2e2f\"],"
			 "\"launch_policy_digests\":[\"5050505050505050505050505050505050505050505050505050505050505050\"],"
			 "\"ak_names\":[\"000b0000000000000000000000000000000000000000000000000000000000000001\"]}";

	assert_int_equal(attest_evidence_policy_parse(ok, strlen(ok), &pol, NULL), 0);
	assert_int_equal(pol.n_measurements, 1);
	assert_int_equal(pol.measurement_len[0], 48);
	assert_int_equal(pol.measurements[0][47], 0x2f);
	assert_int_equal(pol.n_policy_digests, 1);
	assert_int_equal(pol.n_ak_pins, 1);
	assert_int_equal(pol.ak_pins[0][31], 1);
	/* Public-key pins no longer exist; names must be SHA-256 names (issue 18 item 7). */
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"ak_sha256\":[\"00\"]}", 0,
		      "public-key pins are no longer accepted");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"ak_names\":[\"000c"
		      "0000000000000000000000000000000000000000000000000000000000000000\"]}", 0, "expected 000b");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1}", 1, NULL);
	expect_policy("{\"format\":\"carapace-evidence\",\"version\":1}", 0, "must be \"carapace-evidence-policy\"");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"pcrs\":[]}", 0, "unknown key \"pcrs\"");
	/* "platform": the reference-values schema (common/refvals.c), errors named by path */
	{
		const char *pj = "{\"format\":\"carapace-evidence-policy\",\"version\":1,\"platform\":{\"snp\":{\"vmpl\":0,"
				 "\"measurements\":[\"2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f\"]}}}";
		struct attest_evidence_policy pp;

		assert_int_equal(attest_evidence_policy_parse(pj, strlen(pj), &pp, NULL), 0);
		assert_true(pp.platform.has_snp && !pp.platform.has_tdx);
		assert_true(pp.platform.snp.has_vmpl);
		assert_int_equal(pp.platform.snp.measurements.n, 1);
		assert_true(pp.platform.snp.allow_smt);
	}
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"platform\":{\"snp\":{\"vmpl\":\"0\"}}}", 0,
		      "policy: platform.snp.vmpl: expected an integer");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"platform\":{\"sgx\":{}}}", 0,
		      "platform.sgx: unknown key 'sgx'");
	/* the one strict reader: a key given twice is refused, however it is spelled */
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"vers\\u0069on\":1}", 0,
		      "duplicate key \"version\"");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"ak_names\":[]}", 0, "0 entries");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"ak_names\":[\"00\"]}", 0,
		      "1 bytes is not an accepted digest size");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"ak_names\":[7]}", 0, "not a string");
	/* boot PCR reference values: the sha256 bank, PCRs 0..7, 32-byte hex */
	{
		const char *bp = "{\"format\":\"carapace-evidence-policy\",\"version\":1,\"boot_pcrs\":{\"sha256\":"
				 "{\"0\":\"0101010101010101010101010101010101010101010101010101010101010101\","
				 "\"7\":\"0707070707070707070707070707070707070707070707070707070707070707\"}}}";
		assert_int_equal(attest_evidence_policy_parse(bp, strlen(bp), &pol, NULL), 0);
		assert_int_equal(pol.boot_pcr_mask, 0x81);
		assert_int_equal(pol.boot_pcrs[7][31], 7);
	}
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"boot_pcrs\":{\"sha1\":{}}}", 0,
		      "expected exactly {\"sha256\"");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"boot_pcrs\":{\"sha256\":{\"8\":\"00\"}}}", 0,
		      "not a boot PCR 0..7");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"boot_pcrs\":{\"sha256\":{\"1\":\"00\"}}}", 0,
		      "boot_pcrs.sha256.1");
	expect_policy("{\"format\":\"carapace-evidence-policy\",\"version\":1,\"launch_measurements\":[\"zz\"]}", 0,
		      "invalid hex digit");
}

static void test_binding_digest(void **state)
{
	uint8_t pub[4 + 2] = { 0x00, 0x04, 1, 2, 3, 4 }, pol[32], got[32], want[32], msg[20 + 6 + 32];

	memset(pol, 0x50, 32);
	memcpy(msg, "carapace.binding.v1", 20);
	memcpy(msg + 20, pub, 6);
	memcpy(msg + 26, pol, 32);
	SHA256(msg, sizeof(msg), want);
	assert_int_equal(attest_binding_digest(pub, 6, pol, got), 0);
	assert_memory_equal(got, want, 32);
	/* a buffer that is not exactly one TPM2B_PUBLIC is refused */
	assert_int_equal(attest_binding_digest(pub, 5, pol, got), -EINVAL);
	assert_int_equal(attest_binding_digest(pub, 1, pol, got), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_binding_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
