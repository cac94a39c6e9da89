/* Integration: the whole produce -> verify path against a real TPM 2.0 simulator (swtpm,
 * started here): launch events, persistent AK (ECC and RSA), quote, bundle, verifier, and
 * tampering with the TPM's own output. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "attest/tpm/evidence.h"
#include "attest/tpm/launch.h"
#include "attest/tpm/pubkey.h"
#include "attest/tpm/tpm.h"
#include "attest/tpm/verify.h"
#include "attest/tpm/wire.h"
#include "common/util.h"
#include "swtpm_fixture.h"

static struct swtpm sw;
static struct attest_tpm *tpm;
static char state_dir[300];

static int group_setup(void **state)
{
	struct cp_err err = { 0 };
	snprintf(state_dir, sizeof(state_dir), "%s/state", sw.dir);
	if (attest_tpm_open(sw.tcti, &tpm, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	attest_tpm_close(tpm);
	return 0;
}

static void test_unreachable_tcti(void **state)
{
	struct attest_tpm *t = NULL;
	struct cp_err err = { 0 };
	char bad[400];
	snprintf(bad, sizeof(bad), "swtpm:path=%s/nothing.sock", sw.dir);
	assert_int_equal(attest_tpm_open(bad, &t, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "nothing.sock"));
	assert_null(t);
}

/* Produce a bundle for VM vm_name: AK of alg, quote PCR 23 with nonce. */
static void produce(const char *vm_name, enum attest_ak_alg alg, const uint8_t *nonce, size_t nonce_len,
		    struct attest_evidence *ev, uint8_t pin[32])
{
	struct cp_err err = { 0 };
	struct attest_tpm_public pub;
	EVP_PKEY *k = NULL;
	uint32_t pcr = 23;
	uint8_t value[1][32];
	char dir[4096], path[4200];

	memset(ev, 0, sizeof(*ev));
	assert_int_equal(attest_launch_vm_dir(state_dir, vm_name, dir, sizeof(dir), &err), 0);
	snprintf(path, sizeof(path), "%s/eventlog.bin", dir);
	assert_int_equal(cp_file_read(path, 1 << 20, &ev->event_log.data, &ev->event_log.len, &err), 0);
	if (attest_tpm_ak_ensure(tpm, alg, 0, &ev->ak_public.data, &ev->ak_public.len, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(attest_tpm_public_parse(ev->ak_public.data, ev->ak_public.len, &pub, &err), 0);
	assert_int_equal(attest_pubkey_from_tpm(&pub, &k, &err), 0);
	assert_int_equal(attest_pubkey_to_pem(k, &ev->ak_pem, &err), 0);
	{
		uint8_t name[66];
		size_t name_len;
		assert_int_equal(attest_tpm_public_name(&pub, name, &name_len, &err), 0);
		assert_int_equal(name_len, 34); /* the pin: the AK's SHA-256 TPM name */
		memcpy(pin, name + 2, 32);
	}
	EVP_PKEY_free(k);
	if (attest_tpm_quote(tpm, alg == ATTEST_AK_RSA_2048 ? ATTEST_AK_HANDLE_RSA : ATTEST_AK_HANDLE_ECC, nonce,
			     nonce_len, &pcr, 1, value, &ev->quote.data, &ev->quote.len, &ev->signature.data,
			     &ev->signature.len, &err) < 0)
		fail_msg("%s", err.msg);
	ev->pcr_count = 1;
	ev->pcrs[0].index = 23;
	memcpy(ev->pcrs[0].value, value[0], 32);
	assert_int_equal(attest_tpm_ek_cert(tpm, &ev->ek_cert.data, &ev->ek_cert.len, &err), 0);
	assert_null(ev->ek_cert.data); /* a bare swtpm has no EK certificate */
	ev->vm_name = strdup(vm_name);
}

static void launch(const char *vm_name)
{
	struct attest_launch l;
	struct cp_err err = { 0 };
	uint8_t meas[48], pol[32], dev[32 + 3];
	static const char config[] = "{\"vm\":\"it\"}";

	memset(meas, 0x4D, sizeof(meas));
	memset(pol, 0x50, sizeof(pol));
	memset(dev, 0x44, 32);
	memcpy(dev + 32, "rng", 3);
	if (attest_launch_begin(&l, tpm, state_dir, vm_name, 23, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(attest_launch_record(&l, ATTEST_EVENT_LAUNCH_MEASUREMENT, meas, 48, &err), 0);
	assert_int_equal(attest_launch_record_config(&l, config, strlen(config), &err), 0);
	assert_int_equal(attest_launch_record(&l, ATTEST_EVENT_LAUNCH_POLICY, pol, 32, &err), 0);
	assert_int_equal(attest_launch_record(&l, ATTEST_EVENT_DEVICE_HELPER, dev, sizeof(dev), &err), 0);
	/* invalid data is refused before the TPM is touched */
	assert_int_equal(attest_launch_record(&l, ATTEST_EVENT_VM_CONFIG, pol, 31, &err), -EINVAL);
	assert_int_equal(l.log.count, 5);
	attest_launch_end(&l);
}

static void verify(const struct attest_evidence *ev, const uint8_t *nonce, size_t nonce_len, const uint8_t pin[32],
		   struct attest_verify_result *r)
{
	struct attest_verify_opts o = { .nonce = nonce, .nonce_len = nonce_len, .ak_pins = (const uint8_t(*)[32])pin,
					.n_ak_pins = 1 };
	assert_int_equal(attest_verify_evidence(ev, &o, r), 0);
}

static void assert_all_pass(const struct attest_verify_result *r)
{
	for (int k = 0; k < ATTEST_CHECK_COUNT; k++)
		if (r->checks[k].status == ATTEST_CHECK_FAIL)
			fail_msg("%s failed: %s", attest_check_name(k), r->checks[k].detail);
	assert_true(r->passed);
}

static void test_produce_verify_ecc(void **state)
{
	static const uint8_t nonce[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
	struct attest_evidence ev, ev2;
	struct attest_verify_result r;
	uint8_t pin[32], pin2[32], other[20];

	launch("it-ecc");
	produce("it-ecc", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_all_pass(&r);
	assert_int_equal(r.checks[ATTEST_CHECK_EVENT_LOG].status, ATTEST_CHECK_PASS);
	assert_non_null(strstr(r.checks[ATTEST_CHECK_EVENT_LOG].detail, "5 event(s)"));

	/* the AK is created once and kept: a second run finds the same key */
	produce("it-ecc", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev2, pin2);
	assert_memory_equal(pin, pin2, 32);
	attest_evidence_free(&ev2);

	/* a replayed quote does not answer a new nonce */
	memcpy(other, nonce, sizeof(other));
	other[0] ^= 0xFF;
	verify(&ev, other, sizeof(other), pin, &r);
	assert_false(r.passed);
	assert_int_equal(r.checks[ATTEST_CHECK_NONCE].status, ATTEST_CHECK_FAIL);

	/* single-byte flips across the TPM's quote and signature */
	for (int which = 0; which < 2; which++) {
		struct attest_blob *b = which ? &ev.signature : &ev.quote;
		for (size_t off = 0; off < b->len; off++) {
			b->data[off] ^= 0x80;
			verify(&ev, nonce, sizeof(nonce), pin, &r);
			if (r.passed)
				fail_msg("%s byte %zu flipped: still verifies", which ? "signature" : "quote", off);
			b->data[off] ^= 0x80;
		}
	}
	/* a PCR value edit */
	ev.pcrs[0].value[31] ^= 1;
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_int_equal(r.checks[ATTEST_CHECK_PCR_DIGEST].status, ATTEST_CHECK_FAIL);
	ev.pcrs[0].value[31] ^= 1;
	/* an event-log edit (the launch measurement's data) */
	ev.event_log.data[ev.event_log.len / 3] ^= 1;
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_int_equal(r.checks[ATTEST_CHECK_EVENT_LOG].status, ATTEST_CHECK_FAIL);
	ev.event_log.data[ev.event_log.len / 3] ^= 1;
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_true(r.passed);
	attest_evidence_free(&ev);
}

static void test_other_launch_breaks_old_log(void **state)
{
	static const uint8_t nonce[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	struct attest_evidence ev;
	struct attest_verify_result r;
	struct attest_launch l;
	struct cp_err err = { 0 };
	uint8_t pin[32];

	launch("it-first");
	/* a later launch on the same PCR resets it: the first VM's log no longer replays */
	assert_int_equal(attest_launch_begin(&l, tpm, state_dir, "it-second", 23, &err), 0);
	attest_launch_end(&l);
	produce("it-first", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_false(r.passed);
	assert_int_equal(r.checks[ATTEST_CHECK_EVENT_LOG].status, ATTEST_CHECK_FAIL);
	attest_evidence_free(&ev);
}

static void test_produce_verify_rsa(void **state)
{
	static const uint8_t nonce[32] = { 0x42 };
	struct attest_evidence ev;
	struct attest_verify_result r;
	uint8_t pin[32];

	launch("it-rsa");
	produce("it-rsa", ATTEST_AK_RSA_2048, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_all_pass(&r);
	assert_non_null(strstr(r.checks[ATTEST_CHECK_SIGNATURE].detail, "rsassa-sha256"));
	for (size_t off = 0; off < ev.signature.len; off += 7) {
		ev.signature.data[off] ^= 1;
		verify(&ev, nonce, sizeof(nonce), pin, &r);
		assert_false(r.passed);
		ev.signature.data[off] ^= 1;
	}
	attest_evidence_free(&ev);
}

static void test_tpm_errors(void **state)
{
	struct cp_err err = { 0 };
	uint8_t *pub = NULL;
	size_t len;
	uint32_t pcr = 23;
	uint8_t v[1][32], *q, *s;
	size_t ql, sl;

	/* the ECC AK's handle does not hold an RSA key */
	assert_int_equal(attest_tpm_ak_ensure(tpm, ATTEST_AK_RSA_2048, ATTEST_AK_HANDLE_ECC, &pub, &len, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "not a RSA restricted signing key"));
	assert_null(pub);
	cp_err_clear(&err);
	assert_int_equal(attest_tpm_ak_ensure(tpm, ATTEST_AK_ECC_P256, 0x01000000, &pub, &len, &err), -EINVAL);
	cp_err_clear(&err);
	/* PCR 0 cannot be reset from locality 0 */
	assert_int_equal(attest_tpm_pcr_reset(tpm, 0, &err), -EPERM);
	assert_non_null(strstr(err.msg, "PCR 0"));
	cp_err_clear(&err);
	assert_int_equal(attest_tpm_quote(tpm, ATTEST_AK_HANDLE_ECC, v[0], 0, &pcr, 1, v, &q, &ql, &s, &sl, &err), -EINVAL);
	cp_err_clear(&err);
	assert_int_equal(attest_launch_vm_dir(state_dir, "../etc", (char[64]){ 0 }, 64, &err), -EINVAL);
	cp_err_clear(&err);
	/* an unusable state directory is reported before the PCR is touched */
	{
		struct attest_launch l;
		assert_true(attest_launch_begin(&l, tpm, "/dev/null/state", "vm", 23, &err) < 0);
		assert_non_null(strstr(err.msg, "/dev/null"));
		attest_launch_end(&l);
		cp_err_clear(&err);
		assert_int_equal(attest_launch_begin(&l, tpm, state_dir, "vm", 24, &err), -EINVAL);
		attest_launch_end(&l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreachable_tcti),
		cmocka_unit_test(test_produce_verify_ecc),
		cmocka_unit_test(test_other_launch_breaks_old_log),
		cmocka_unit_test(test_produce_verify_rsa),
		cmocka_unit_test(test_tpm_errors),
	};
	int r = swtpm_start(&sw);
	if (r)
		return r == 77 ? 77 : 1;
	setenv("TSS2_LOG", "all+NONE", 1);
	r = cmocka_run_group_tests(tests, group_setup, group_teardown);
	swtpm_stop(&sw);
	return r;
}
