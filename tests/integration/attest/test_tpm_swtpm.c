/* Integration: the whole produce -> verify path against a real TPM 2.0 simulator (swtpm,
 * started here): launch records in one host launch log (three VMs, stop and relaunch, forged,
 * missing and duplicated entries, crash recovery), persistent AK (ECC and RSA), quote, bundle,
 * verifier, and tampering with the TPM's own output; the VM process's stop recorder
 * (runner/launch_record.c) under the VM main thread's seccomp filter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attest/tpm/evidence.h"
#include "attest/tpm/hostlog.h"
#include "attest/tpm/launch.h"
#include "attest/tpm/pubkey.h"
#include "attest/tpm/tpm.h"
#include "attest/tpm/verify.h"
#include "attest/tpm/wire.h"
#include "common/util.h"
#include "runner/launch_record.h"
#include "runner/sandbox.h"
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

/* Produce a bundle for VM vm_name: AK of alg, the host launch log locked from its read to the
 * quote of its PCR with nonce (what carapace attest does). */
static void produce(const char *vm_name, enum attest_ak_alg alg, const uint8_t *nonce, size_t nonce_len,
		    struct attest_evidence *ev, uint8_t pin[32])
{
	struct cp_err err = { 0 };
	struct attest_tpm_public pub;
	struct attest_hostlog_handle h;
	EVP_PKEY *k = NULL;
	uint8_t value[1][32], name[66];
	size_t name_len;
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
	assert_int_equal(attest_tpm_public_name(&pub, name, &name_len, &err), 0);
	assert_int_equal(name_len, 34); /* the pin: the AK's SHA-256 TPM name */
	memcpy(pin, name + 2, 32);
	EVP_PKEY_free(k);
	if (attest_hostlog_open(tpm, state_dir, 0, false, &h, &err) < 0)
		fail_msg("%s", err.msg);
	ev->launch_log.data = malloc(h.len);
	memcpy(ev->launch_log.data, h.bytes, ev->launch_log.len = h.len);
	if (attest_tpm_quote(tpm, alg == ATTEST_AK_RSA_2048 ? ATTEST_AK_HANDLE_RSA : ATTEST_AK_HANDLE_ECC, nonce,
			     nonce_len, &h.log.pcr, 1, value, &ev->quote.data, &ev->quote.len, &ev->signature.data,
			     &ev->signature.len, &err) < 0)
		fail_msg("%s", err.msg);
	ev->pcr_count = 1;
	ev->pcrs[0].index = h.log.pcr;
	memcpy(ev->pcrs[0].value, value[0], 32);
	attest_hostlog_close(&h);
	assert_int_equal(attest_tpm_ek_cert(tpm, &ev->ek_cert.data, &ev->ek_cert.len, &err), 0);
	assert_null(ev->ek_cert.data); /* a bare swtpm has no EK certificate */
	ev->vm_name = strdup(vm_name);
}

/* Build and commit a launch record whose launch measurement is 48 bytes of `m`. */
static void launch_m(const char *vm_name, uint8_t m, bool commit)
{
	struct attest_launch l;
	struct cp_err err = { 0 };
	uint8_t meas[48], pol[32], dev[32 + 3];
	static const char config[] = "{\"vm\":\"it\"}";

	memset(meas, m, sizeof(meas));
	memset(pol, 0x50, sizeof(pol));
	memset(dev, 0x44, 32);
	memcpy(dev + 32, "rng", 3);
	if (attest_launch_begin(&l, tpm, state_dir, vm_name, ATTEST_HOSTLOG_PCR_DEFAULT, false, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(attest_launch_record(&l, ATTEST_EVENT_LAUNCH_MEASUREMENT, meas, 48, &err), 0);
	assert_int_equal(attest_launch_record_config(&l, config, strlen(config), &err), 0);
	assert_int_equal(attest_launch_record(&l, ATTEST_EVENT_LAUNCH_POLICY, pol, 32, &err), 0);
	assert_int_equal(attest_launch_record(&l, ATTEST_EVENT_DEVICE_HELPER, dev, sizeof(dev), &err), 0);
	/* invalid data is refused */
	assert_int_equal(attest_launch_record(&l, ATTEST_EVENT_VM_CONFIG, pol, 31, &err), -EINVAL);
	assert_int_equal(l.log.count, 6);
	if (commit) {
		if (attest_launch_commit(&l, NULL, &err) < 0)
			fail_msg("%s", err.msg);
		/* a committed record takes no more events */
		assert_int_equal(attest_launch_record(&l, ATTEST_EVENT_LAUNCH_POLICY, pol, 32, &err), -EBUSY);
	}
	attest_launch_end(&l);
}

static void launch(const char *vm_name)
{
	launch_m(vm_name, 0x4D, true);
}

static void verify_opts(const struct attest_evidence *ev, const uint8_t *nonce, size_t nonce_len,
			const uint8_t pin[32], const struct attest_evidence_policy *pol, struct attest_verify_result *r)
{
	struct attest_verify_opts o = { .nonce = nonce, .nonce_len = nonce_len, .ak_pins = (const uint8_t(*)[32])pin,
					.n_ak_pins = 1, .policy = pol };
	assert_int_equal(attest_verify_evidence(ev, &o, r), 0);
}

static void verify(const struct attest_evidence *ev, const uint8_t *nonce, size_t nonce_len, const uint8_t pin[32],
		   struct attest_verify_result *r)
{
	verify_opts(ev, nonce, nonce_len, pin, NULL, r);
}

static void assert_all_pass(const struct attest_verify_result *r)
{
	for (int k = 0; k < ATTEST_CHECK_COUNT; k++)
		if (r->checks[k].status == ATTEST_CHECK_FAIL)
			fail_msg("%s failed: %s", attest_check_name(k), r->checks[k].detail);
	assert_true(r->passed);
}

static void want(const struct attest_verify_result *r, enum attest_check_id id, enum attest_check_status st,
		 const char *msg)
{
	if (r->checks[id].status != st || (msg && !strstr(r->checks[id].detail, msg)))
		fail_msg("%s: expected %s \"%s\", got %s \"%s\"", attest_check_name(id), attest_check_status_name(st),
			 msg ? msg : "", attest_check_status_name(r->checks[id].status), r->checks[id].detail);
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
	want(&r, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_PASS, "launch record (6 events)");
	want(&r, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_PASS, "running");

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
			/* refused for the right reason: the AK's signature (or the quote no longer parses) */
			if (r.checks[ATTEST_CHECK_SIGNATURE].status != ATTEST_CHECK_FAIL &&
			    r.checks[ATTEST_CHECK_QUOTE_STRUCTURE].status != ATTEST_CHECK_FAIL)
				fail_msg("%s byte %zu flipped: refused, but neither signature nor quote-structure failed",
					 which ? "signature" : "quote", off);
			b->data[off] ^= 0x80;
		}
	}
	/* a PCR value edit */
	ev.pcrs[0].value[31] ^= 1;
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_int_equal(r.checks[ATTEST_CHECK_PCR_DIGEST].status, ATTEST_CHECK_FAIL);
	ev.pcrs[0].value[31] ^= 1;
	/* a launch-record edit (the launch measurement's data) */
	ev.event_log.data[ev.event_log.len / 3] ^= 1;
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_int_equal(r.checks[ATTEST_CHECK_EVENT_LOG].status, ATTEST_CHECK_FAIL);
	ev.event_log.data[ev.event_log.len / 3] ^= 1;
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_true(r.passed);
	attest_evidence_free(&ev);
}

/* Issue 14: three VMs on one TPM and one log; each one's evidence passes against its own
 * reference measurement and fails against another's; the others appear as digests only. */
static void test_three_vms_one_log(void **state)
{
	static const uint8_t nonce[16] = { 0x33 };
	static const char *const names[3] = { "it-a", "it-b", "it-c" };
	struct attest_evidence ev[3];
	struct attest_verify_result r;
	uint8_t pin[32];

	for (int i = 0; i < 3; i++)
		launch_m(names[i], (uint8_t)(0xA0 + i), true);
	for (int i = 0; i < 3; i++)
		produce(names[i], ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev[i], pin);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			struct attest_evidence_policy pol = { .n_measurements = 1, .measurement_len = { 48 } };
			memset(pol.measurements[0], 0xA0 + j, 48);
			verify_opts(&ev[i], nonce, sizeof(nonce), pin, &pol, &r);
			if (i == j)
				assert_all_pass(&r);
			else
				want(&r, ATTEST_CHECK_LAUNCH_MEASUREMENT, ATTEST_CHECK_FAIL, "matches none");
		}
	/* the host log shipped holds no name or measurement of any VM: entries are digests */
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			uint8_t m[48];
			memset(m, 0xA0 + j, 48);
			assert_null(memmem(ev[i].launch_log.data, ev[i].launch_log.len, names[j], 4));
			assert_null(memmem(ev[i].launch_log.data, ev[i].launch_log.len, m, 8));
		}
	/* a record put into another VM's bundle is found in the log, but not under that name */
	free(ev[0].vm_name);
	ev[0].vm_name = strdup("it-b");
	verify(&ev[0], nonce, sizeof(nonce), pin, &r);
	want(&r, ATTEST_CHECK_VM_IDENTITY, ATTEST_CHECK_FAIL, "vm.name \"it-b\"");
	for (int i = 0; i < 3; i++)
		attest_evidence_free(&ev[i]);
}

static void test_stop_and_relaunch(void **state)
{
	static const uint8_t nonce[16] = { 0x51 };
	struct attest_evidence ev, old;
	struct attest_verify_result r;
	struct cp_err err = { 0 };
	bool recovered = true;
	uint8_t pin[32];

	launch("it-stop");
	produce("it-stop", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &old, pin);
	assert_int_equal(attest_launch_stop(tpm, state_dir, "it-stop", &recovered, &err), 0);
	assert_false(recovered);
	produce("it-stop", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_all_pass(&r);
	want(&r, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_PASS, "STOPPED");
	attest_evidence_free(&ev);
	/* relaunched: a new launch (new launch id), running; the first launch and its stop stay */
	launch("it-stop");
	produce("it-stop", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_all_pass(&r);
	want(&r, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_PASS, "running");
	/* the old record against today's log and quote: found, and reported stopped */
	free(old.launch_log.data);
	old.launch_log.data = malloc(ev.launch_log.len);
	memcpy(old.launch_log.data, ev.launch_log.data, old.launch_log.len = ev.launch_log.len);
	free(old.quote.data);
	old.quote.data = malloc(ev.quote.len);
	memcpy(old.quote.data, ev.quote.data, old.quote.len = ev.quote.len);
	free(old.signature.data);
	old.signature.data = malloc(ev.signature.len);
	memcpy(old.signature.data, ev.signature.data, old.signature.len = ev.signature.len);
	memcpy(old.pcrs, ev.pcrs, sizeof(ev.pcrs));
	verify(&old, nonce, sizeof(nonce), pin, &r);
	want(&r, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_PASS, "STOPPED");
	attest_evidence_free(&old);
	attest_evidence_free(&ev);
}

static void test_forged_missing_duplicated(void **state)
{
	static const uint8_t nonce[16] = { 0x77 };
	struct attest_evidence ev;
	struct attest_verify_result r;
	struct attest_hostlog_handle h;
	struct cp_err err = { 0 };
	uint8_t pin[32], launch_digest[32];
	size_t at;

	launch("it-forge");
	produce("it-forge", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_all_pass(&r);
	/* a forged entry: any byte of any entry, or one entry added or dropped */
	for (at = ATTEST_HOSTLOG_HEADER_LEN; at < ev.launch_log.len; at += 11) {
		ev.launch_log.data[at] ^= 0x01;
		verify(&ev, nonce, sizeof(nonce), pin, &r);
		if (r.passed)
			fail_msg("launch log byte %zu flipped: still verifies", at);
		ev.launch_log.data[at] ^= 0x01;
	}
	ev.launch_log.len -= ATTEST_HOSTLOG_ENTRY_LEN;
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	want(&r, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, NULL);
	ev.launch_log.len += ATTEST_HOSTLOG_ENTRY_LEN;
	attest_evidence_free(&ev);
	/* missing: a record built but never committed */
	launch_m("it-missing", 0x11, false);
	produce("it-missing", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	want(&r, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "missing from the host launch log");
	attest_evidence_free(&ev);
	/* duplicated: the same launch entry appended (and extended) twice */
	produce("it-forge", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	assert_int_equal(attest_hostlog_launch_digest(ev.event_log.data, ev.event_log.len, launch_digest), 0);
	attest_evidence_free(&ev);
	assert_int_equal(attest_hostlog_open(tpm, state_dir, 0, false, &h, &err), 0);
	assert_int_equal(attest_hostlog_append(tpm, &h, ATTEST_HOSTLOG_LAUNCH, launch_digest, &err), 0);
	attest_hostlog_close(&h);
	produce("it-forge", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	want(&r, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "appears 2 times");
	attest_evidence_free(&ev);
}

/* A crash of carapace between the log append and the PCR extend, and a torn append. */
static void test_crash_recovery(void **state)
{
	static const uint8_t nonce[16] = { 0x99 };
	struct attest_evidence ev;
	struct attest_verify_result r;
	struct attest_hostlog_handle h;
	struct cp_err err = { 0 };
	uint8_t pin[32];
	char path[4200];
	size_t before;
	int st;
	pid_t pid;
	FILE *f;

	assert_int_equal(attest_hostlog_open(tpm, state_dir, 0, false, &h, &err), 0);
	before = h.log.count;
	attest_hostlog_close(&h);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("CARAPACE_TEST_HOSTLOG_CRASH", "after-append", 1);
		launch("it-crash"); /* exits 99 right after the append */
		_exit(1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 99);
	/* now the log has one entry more than the PCR: the next opener extends it */
	assert_int_equal(attest_hostlog_open(tpm, state_dir, 0, false, &h, &err), 0);
	assert_true(h.recovered);
	assert_int_equal(h.log.count, before + 1);
	attest_hostlog_close(&h);
	produce("it-crash", ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_all_pass(&r);
	attest_evidence_free(&ev);
	/* a torn append (a crash inside the write): the partial entry is dropped */
	snprintf(path, sizeof(path), "%s/attest/.host/launch-log.bin", state_dir);
	assert_non_null(f = fopen(path, "ab"));
	fwrite("\0\1partial", 1, 9, f);
	fclose(f);
	assert_int_equal(attest_hostlog_open(tpm, state_dir, 0, false, &h, &err), 0);
	assert_true(h.recovered);
	assert_int_equal(h.log.count, before + 1);
	assert_int_equal(h.len, ATTEST_HOSTLOG_HEADER_LEN + (before + 1) * ATTEST_HOSTLOG_ENTRY_LEN);
	attest_hostlog_close(&h);
	/* an extend the log does not explain: refused, never papered over */
	{
		uint8_t d[32] = { 0xEE };
		assert_int_equal(attest_tpm_pcr_extend(tpm, ATTEST_HOSTLOG_PCR_DEFAULT, d, &err), 0);
		assert_int_equal(attest_hostlog_open(tpm, state_dir, 0, false, &h, &err), -EIO);
		assert_non_null(strstr(err.msg, "does not explain"));
	}
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
		assert_int_equal(r.checks[ATTEST_CHECK_SIGNATURE].status, ATTEST_CHECK_FAIL);
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
	{
		struct attest_launch l;
		/* an unusable state directory is reported before anything is recorded */
		assert_true(attest_launch_begin(&l, tpm, "/dev/null/state", "vm", 13, false, &err) < 0);
		assert_non_null(strstr(err.msg, "/dev/null"));
		attest_launch_end(&l);
		/* the PCR choice: resettable ones only when asked, firmware ones never */
		cp_err_clear(&err);
		assert_int_equal(attest_launch_begin(&l, tpm, state_dir, "vm", 23, false, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "can be reset after boot"));
		attest_launch_end(&l);
		cp_err_clear(&err);
		assert_int_equal(attest_launch_begin(&l, tpm, state_dir, "vm", 0, true, &err), -EINVAL);
		attest_launch_end(&l);
		cp_err_clear(&err);
		assert_int_equal(attest_launch_begin(&l, tpm, state_dir, "vm", 24, true, &err), -EINVAL);
		attest_launch_end(&l);
		/* one host, one log, one PCR: a launch naming another PCR is refused at commit */
		cp_err_clear(&err);
		assert_int_equal(attest_launch_begin(&l, tpm, state_dir, "vm", 16, true, &err), 0);
		assert_int_equal(attest_launch_commit(&l, NULL, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "extends PCR 13, not 16"));
		attest_launch_end(&l);
	}
}

/* ---- the stop recorder (runner/launch_record.h) ----
 * A child plays `carapace run --attest`: it forks the recorder, records a launch, arms the
 * recorder, loads the VM main thread's seccomp filter (kill mode in the plain build: it holds
 * neither openat nor connect, so recording the stop from the VM process itself dies by SIGSYS, as
 * it did on KVM) and then ends in one of four ways. The test process is the subreaper of the
 * orphaned recorder and collects it. swtpm serves one client at a time: the test's own TPM
 * connection is closed meanwhile. */
enum rec_end { REC_ASK, REC_KILLED, REC_BAD_BYTE, REC_NOT_ARMED };

static void recorder_run(const char *vm_name, enum rec_end how, int *child_status, int *rec_status)
{
	struct cp_err err = { 0 };
	int pfd[2];
	pid_t child, rec = 0;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	attest_tpm_close(tpm);
	tpm = NULL;
	assert_int_equal(pipe(pfd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct launch_stop_recorder r;

		close(pfd[0]);
		if (launch_stop_recorder_start(sw.tcti, state_dir, vm_name, &r, &err) < 0)
			_exit(10);
		if (write(pfd[1], &r.pid, sizeof(r.pid)) != sizeof(r.pid))
			_exit(11);
		if (how != REC_NOT_ARMED) {
			if (attest_tpm_open(sw.tcti, &tpm, &err) < 0)
				_exit(12);
			launch(vm_name);
			attest_tpm_close(tpm);
			if (launch_stop_recorder_arm(&r, &err) < 0)
				_exit(13);
		}
		if (sandbox_thread_apply(SANDBOX_MAIN, sandbox_mode_default(), &err) < 0)
			_exit(14);
		switch (how) {
		case REC_ASK:
			_exit(launch_stop_recorder_stop(&r, &err) == 0 ? 0 : 15);
		case REC_KILLED: { /* its filter refuses it SIGKILL to itself: the test kills it */
			char c;
			if (write(pfd[1], "k", 1) != 1)
				_exit(16);
			while (read(r.ans_fd, &c, 1) != 0) /* no answer comes: blocks until killed */
				;
			_exit(16);
		}
		case REC_BAD_BYTE:
			_exit(write(r.req_fd, "X", 1) == 1 ? 0 : 17);
		case REC_NOT_ARMED:
			_exit(0);
		}
		_exit(18);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &rec, sizeof(rec)), sizeof(rec));
	if (how == REC_KILLED) {
		char c;
		assert_int_equal(read(pfd[0], &c, 1), 1); /* armed and confined */
		assert_int_equal(kill(child, SIGKILL), 0);
	}
	close(pfd[0]);
	assert_int_equal(waitpid(child, child_status, 0), child);
	/* the child is gone: its recorder is ours now (subreaper) */
	assert_int_equal(waitpid(rec, rec_status, 0), rec);
	if (attest_tpm_open(sw.tcti, &tpm, &err) < 0)
		fail_msg("%s", err.msg);
}

static void assert_lifecycle(const char *vm_name, const char *want_state)
{
	static const uint8_t nonce[16] = { 0x52 };
	struct attest_evidence ev;
	struct attest_verify_result r;
	uint8_t pin[32];

	produce(vm_name, ATTEST_AK_ECC_P256, nonce, sizeof(nonce), &ev, pin);
	verify(&ev, nonce, sizeof(nonce), pin, &r);
	assert_all_pass(&r);
	want(&r, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_PASS, want_state);
	attest_evidence_free(&ev);
}

static void test_stop_recorder_asked(void **state)
{
	int cs = 0, rs = 0;

	recorder_run("it-rec-ask", REC_ASK, &cs, &rs);
	if (WIFSIGNALED(cs))
		fail_msg("the confined VM process died by signal %d%s", WTERMSIG(cs),
			 WTERMSIG(cs) == SIGSYS ? " (SIGSYS: a call outside the main thread's filter)" : "");
	assert_int_equal(WEXITSTATUS(cs), 0);
	assert_true(WIFEXITED(rs));
	assert_int_equal(WEXITSTATUS(rs), 0);
	assert_lifecycle("it-rec-ask", "STOPPED");
}

static void test_stop_recorder_killed(void **state)
{
	int cs = 0, rs = 0;

	recorder_run("it-rec-kill", REC_KILLED, &cs, &rs);
	assert_true(WIFSIGNALED(cs));
	assert_int_equal(WTERMSIG(cs), SIGKILL);
	assert_true(WIFEXITED(rs));
	assert_int_equal(WEXITSTATUS(rs), 0);
	assert_lifecycle("it-rec-kill", "STOPPED"); /* a killed VM has stopped all the same */
}

static void test_stop_recorder_bad_byte(void **state)
{
	int cs = 0, rs = 0;

	recorder_run("it-rec-bad", REC_BAD_BYTE, &cs, &rs);
	assert_true(WIFEXITED(cs));
	assert_int_equal(WEXITSTATUS(cs), 0);
	assert_true(WIFEXITED(rs));
	assert_int_equal(WEXITSTATUS(rs), 0);
	assert_lifecycle("it-rec-bad", "STOPPED"); /* recorded at the process's end, not at the byte */
}

static void test_stop_recorder_not_armed(void **state)
{
	struct attest_hostlog_handle h;
	struct cp_err err = { 0 };
	size_t before, after;
	int cs = 0, rs = 0;

	assert_int_equal(attest_hostlog_open(tpm, state_dir, 0, false, &h, &err), 0);
	before = h.len;
	attest_hostlog_close(&h);
	recorder_run("it-rec-none", REC_NOT_ARMED, &cs, &rs);
	assert_true(WIFEXITED(cs));
	assert_int_equal(WEXITSTATUS(cs), 0);
	assert_true(WIFEXITED(rs));
	assert_int_equal(WEXITSTATUS(rs), 0);
	assert_int_equal(attest_hostlog_open(tpm, state_dir, 0, false, &h, &err), 0);
	after = h.len;
	attest_hostlog_close(&h);
	assert_int_equal(after, before); /* no launch, no stop */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreachable_tcti),
		cmocka_unit_test(test_produce_verify_ecc),
		cmocka_unit_test(test_three_vms_one_log),
		cmocka_unit_test(test_stop_and_relaunch),
		cmocka_unit_test(test_forged_missing_duplicated),
		cmocka_unit_test(test_produce_verify_rsa),
		cmocka_unit_test(test_tpm_errors),
		cmocka_unit_test(test_stop_recorder_asked),
		cmocka_unit_test(test_stop_recorder_killed),
		cmocka_unit_test(test_stop_recorder_bad_byte),
		cmocka_unit_test(test_stop_recorder_not_armed),
		cmocka_unit_test(test_crash_recovery), /* last: it leaves PCR 13 unexplained */
	};
	int r = swtpm_start(&sw);
	if (r)
		return r == 77 ? 77 : 1;
	setenv("TSS2_LOG", "all+NONE", 1);
	r = cmocka_run_group_tests(tests, group_setup, group_teardown);
	swtpm_stop(&sw);
	return r;
}
