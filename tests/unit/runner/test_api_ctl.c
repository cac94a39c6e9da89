/* The VM process's metrics record as the API's controller reads it (runner/api/api_ctl.c): only
 * an exact, current, in-range record of the VM's own devices is taken, and a refused one leaves
 * the last record as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "runner/api/api_ctl.h"

/* The VM of these tests: a drive and an entropy device. */
static const enum devkind_id kinds[] = { DEVKIND_BLK, DEVKIND_RNG };
#define NK 2u
#define LEN (API_VM_METRICS_HEAD + NK * API_VM_DEV_SIZE)

static struct api_vm_metrics good(void)
{
	struct api_vm_metrics m = { .nvcpus = 2, .c = { 10, 20, 30, 40, 1 }, .ndevs = NK };
	m.dev[0].kind = DEVKIND_BLK;
	m.dev[0].c[DS_BLK_READ_BYTES] = 4096;
	m.dev[0].c[DS_BLK_READ_COUNT] = 1;
	m.dev[1].kind = DEVKIND_RNG;
	m.dev[1].c[DS_RNG_BYTES] = 64;
	return m;
}

/* A refused record: the message names the reason, *out keeps what it held. */
static void refused(const uint8_t *buf, size_t len, const struct api_vm_metrics *prev, const char *why)
{
	struct api_vm_metrics out = { .nvcpus = 77, .c = { 7, 7, 7, 7, 7 } }, before = out;
	struct cp_err err = { 0 };

	assert_int_equal(api_vm_metrics_read(buf, len, 4, kinds, NK, prev, &out, &err), -EPROTO);
	if (!strstr(err.msg, why))
		fail_msg("'%s' does not say '%s'", err.msg, why);
	assert_memory_equal(&out, &before, sizeof(out));
}

static size_t enc(const struct api_vm_metrics *m, uint8_t rec[API_VM_METRICS_MAX])
{
	size_t n = api_vm_metrics_encode(m, rec);
	assert_int_equal(n, API_VM_METRICS_HEAD + m->ndevs * API_VM_DEV_SIZE);
	return n;
}

static void test_good(void **state)
{
	uint8_t rec[API_VM_METRICS_MAX];
	const struct api_vm_metrics g = good();
	struct api_vm_metrics out, last = g;
	struct cp_err err = { 0 };
	size_t n = enc(&g, rec);

	assert_int_equal(n, LEN);
	assert_int_equal(rec[0], 'M');
	assert_int_equal(rec[1], API_VM_METRICS_VERSION);
	assert_int_equal(rec[3], NK);
	assert_int_equal(api_vm_metrics_read(rec, n, 2, kinds, NK, NULL, &out, &err), 0);
	assert_int_equal(out.nvcpus, 2);
	assert_false(out.final);
	assert_memory_equal(out.c, g.c, sizeof(g.c));
	assert_int_equal(out.ndevs, NK);
	assert_int_equal(out.dev[0].kind, DEVKIND_BLK);
	assert_int_equal(out.dev[0].c[DS_BLK_READ_BYTES], 4096);
	assert_int_equal(out.dev[1].kind, DEVKIND_RNG);
	assert_int_equal(out.dev[1].c[DS_RNG_BYTES], 64);
	/* the last one, after it: counters that grew or stayed */
	last.final = true;
	last.c[API_VCPU_EXIT_MMIO_WRITE] = 41;
	last.dev[0].c[DS_BLK_WRITE_COUNT] = 3;
	n = enc(&last, rec);
	assert_int_equal(api_vm_metrics_read(rec, n, 2, kinds, NK, &g, &out, &err), 0);
	assert_true(out.final);
	assert_int_equal(out.c[API_VCPU_EXIT_MMIO_WRITE], 41);
	assert_int_equal(out.dev[0].c[DS_BLK_WRITE_COUNT], 3);
	/* the largest counter a JSON integer holds */
	last.c[API_VCPU_EXIT_IO_IN] = INT64_MAX;
	last.dev[1].c[DS_RNG_EVENT_COUNT] = INT64_MAX;
	n = enc(&last, rec);
	assert_int_equal(api_vm_metrics_read(rec, n, 2, kinds, NK, &g, &out, &err), 0);
	assert_int_equal(out.c[API_VCPU_EXIT_IO_IN], INT64_MAX);
	assert_int_equal(out.dev[1].c[DS_RNG_EVENT_COUNT], INT64_MAX);
}

/* A VM without devices: the record is the 48-byte head alone. */
static void test_no_devices(void **state)
{
	uint8_t rec[API_VM_METRICS_MAX];
	const struct api_vm_metrics m = { .nvcpus = 1, .c = { 1, 2, 3, 4, 0 } };
	struct api_vm_metrics out;
	struct cp_err err = { 0 };
	size_t n = enc(&m, rec);

	assert_int_equal(n, API_VM_METRICS_HEAD);
	assert_int_equal(api_vm_metrics_read(rec, n, 1, NULL, 0, NULL, &out, &err), 0);
	assert_int_equal(out.ndevs, 0);
	/* a record of the test VM's two devices is not this VM's */
	{
		const struct api_vm_metrics g = good();
		n = enc(&g, rec);
		assert_int_equal(api_vm_metrics_read(rec, n, 2, NULL, 0, NULL, &out, &err), -EPROTO);
		assert_non_null(strstr(err.msg, "2 devices, the VM has 0"));
	}
}

static void test_truncated(void **state)
{
	uint8_t rec[API_VM_METRICS_MAX];
	const struct api_vm_metrics g = good();
	size_t n = enc(&g, rec);
	char why[64];

	snprintf(why, sizeof(why), "%zu bytes, truncated", n - 1);
	refused(rec, n - 1, NULL, why);
	refused(rec, API_VM_METRICS_HEAD, NULL, "truncated (a record of 2 devices is");
	refused(rec, 47, NULL, "47 bytes, truncated");
	refused(rec, 1, NULL, "1 bytes, truncated");
	refused(rec, 0, NULL, "truncated");
}

static void test_oversized(void **state)
{
	uint8_t rec[API_VM_METRICS_MAX + 16] = { 0 };
	const struct api_vm_metrics g = good();
	size_t n = enc(&g, rec);
	char why[64];

	snprintf(why, sizeof(why), "%zu bytes, oversized", n + 1);
	refused(rec, n + 1, NULL, why);
	refused(rec, 4096, NULL, "oversized"); /* a longer message, as recv(MSG_TRUNC) reports it */
}

static void test_wrong_version(void **state)
{
	uint8_t rec[API_VM_METRICS_MAX];
	const struct api_vm_metrics g = good();
	size_t n = enc(&g, rec);

	rec[1] = API_VM_METRICS_VERSION + 1;
	refused(rec, n, NULL, "version 3, this controller reads version 2");
	rec[1] = 1; /* the earlier, 48-byte format */
	refused(rec, n, NULL, "version 1");
}

static void test_fields_out_of_range(void **state)
{
	uint8_t rec[API_VM_METRICS_MAX];
	const struct api_vm_metrics g = good();
	struct api_vm_metrics m = g;
	struct api_vm_metrics last = g;
	size_t n;

	last.final = true;
	n = enc(&g, rec);
	rec[0] = 'k';
	refused(rec, n, NULL, "type 0x6b");
	enc(&g, rec);
	rec[2] = 0x02;
	refused(rec, n, NULL, "unknown flags 0x02");
	enc(&g, rec);
	rec[3] = 3;
	refused(rec, n, NULL, "3 devices, the VM has 2");
	m.nvcpus = 0;
	enc(&m, rec);
	refused(rec, n, NULL, "0 vCPUs, the VM has 1 to 4");
	m.nvcpus = 5;
	enc(&m, rec);
	refused(rec, n, NULL, "5 vCPUs, the VM has 1 to 4");
	m.nvcpus = 3;
	enc(&m, rec);
	refused(rec, n, &g, "3 vCPUs, the earlier record counted 2");
	m = g;
	m.c[API_VCPU_FAILURES] = (uint64_t)INT64_MAX + 1;
	enc(&m, rec);
	refused(rec, n, NULL, "failures 9223372036854775808 is out of range");
	m = g;
	m.c[API_VCPU_EXIT_IO_OUT] = 19;
	enc(&m, rec);
	refused(rec, n, &g, "exit_io_out went back from 20 to 19");
	enc(&g, rec);
	refused(rec, n, &last, "after the VM process's last one");
}

/* A device entry is the VM's own device, of its kind, with its kind's counters only. */
static void test_device_entries(void **state)
{
	uint8_t rec[API_VM_METRICS_MAX];
	const struct api_vm_metrics g = good();
	struct api_vm_metrics m;
	uint8_t *d0 = rec + API_VM_METRICS_HEAD, *d1 = d0 + API_VM_DEV_SIZE;
	size_t n = enc(&g, rec);

	d0[0] = DEVKIND_NET;
	refused(rec, n, NULL, "device 0 is of kind 3, the VM's device 0 is blk");
	enc(&g, rec);
	d1[0] = 200;
	refused(rec, n, NULL, "device 1 is of kind 200");
	enc(&g, rec);
	d1[1] = DS_RNG__N + 1;
	refused(rec, n, NULL, "device 1 has 4 counters, a rng device has 3");
	enc(&g, rec);
	d0[5] = 1;
	refused(rec, n, NULL, "device 0: reserved byte 5");
	enc(&g, rec);
	d1[8 + 8 * DS_RNG__N] = 1; /* the first counter past entropy's three */
	refused(rec, n, NULL, "device 1: counter 3 is not a rng counter but holds 1");
	m = g;
	m.dev[0].c[DS_BLK_WRITE_BYTES] = (uint64_t)INT64_MAX + 1;
	enc(&m, rec);
	refused(rec, n, NULL, "device 0 (blk) write_bytes 9223372036854775808 is out of range");
	m = g;
	m.dev[0].c[DS_BLK_READ_BYTES] = 512;
	enc(&m, rec);
	refused(rec, n, &g, "device 0 (blk) read_bytes went back from 4096 to 512");
	m = g;
	m.dev[1].c[DS_RNG_BYTES] = 63;
	enc(&m, rec);
	refused(rec, n, &g, "device 1 (rng) entropy_bytes went back from 64 to 63");
}

static void test_names(void **state)
{
	static const char *const want[] = { "exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write", "failures" };
	for (unsigned i = 0; i < API_VCPU_COUNTERS; i++)
		assert_string_equal(api_vcpu_counter_name(i), want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good), cmocka_unit_test(test_no_devices), cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_oversized), cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_fields_out_of_range), cmocka_unit_test(test_device_entries),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
