/* The VM process's metrics record as the API's controller reads it (runner/api/api_ctl.c): only
 * an exact, current, in-range record is taken, and a refused one leaves the last record as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "runner/api/api_ctl.h"

static const struct api_vm_metrics good = { .nvcpus = 2, .c = { 10, 20, 30, 40, 1 } };

/* A refused record: the message names the reason, *out keeps what it held. */
static void refused(const uint8_t *buf, size_t len, const struct api_vm_metrics *prev, const char *why)
{
	struct api_vm_metrics out = { .nvcpus = 77, .c = { 7, 7, 7, 7, 7 } }, before = out;
	struct cp_err err = { 0 };

	assert_int_equal(api_vm_metrics_read(buf, len, 4, prev, &out, &err), -EPROTO);
	if (!strstr(err.msg, why))
		fail_msg("'%s' does not say '%s'", err.msg, why);
	assert_memory_equal(&out, &before, sizeof(out));
}

static void test_good(void **state)
{
	uint8_t rec[API_VM_METRICS_SIZE];
	struct api_vm_metrics out, last = { .nvcpus = 2, .final = true, .c = { 11, 20, 30, 41, 1 } };
	struct cp_err err = { 0 };

	api_vm_metrics_encode(&good, rec);
	assert_int_equal(rec[0], 'M');
	assert_int_equal(rec[1], API_VM_METRICS_VERSION);
	assert_int_equal(api_vm_metrics_read(rec, sizeof(rec), 2, NULL, &out, &err), 0);
	assert_int_equal(out.nvcpus, 2);
	assert_false(out.final);
	assert_memory_equal(out.c, good.c, sizeof(good.c));
	/* the last one, after it: counters that grew or stayed */
	api_vm_metrics_encode(&last, rec);
	assert_int_equal(api_vm_metrics_read(rec, sizeof(rec), 2, &good, &out, &err), 0);
	assert_true(out.final);
	assert_int_equal(out.c[API_VCPU_EXIT_MMIO_WRITE], 41);
	/* the largest counter a JSON integer holds */
	last.c[API_VCPU_EXIT_IO_IN] = INT64_MAX;
	api_vm_metrics_encode(&last, rec);
	assert_int_equal(api_vm_metrics_read(rec, sizeof(rec), 2, &good, &out, &err), 0);
	assert_int_equal(out.c[API_VCPU_EXIT_IO_IN], INT64_MAX);
}

static void test_truncated(void **state)
{
	uint8_t rec[API_VM_METRICS_SIZE];

	api_vm_metrics_encode(&good, rec);
	refused(rec, sizeof(rec) - 1, NULL, "47 bytes, truncated");
	refused(rec, 1, NULL, "1 bytes, truncated");
	refused(rec, 0, NULL, "truncated");
}

static void test_oversized(void **state)
{
	uint8_t rec[API_VM_METRICS_SIZE + 16] = { 0 };

	api_vm_metrics_encode(&good, rec);
	refused(rec, API_VM_METRICS_SIZE + 1, NULL, "49 bytes, oversized");
	refused(rec, 4096, NULL, "oversized"); /* a longer message, as recv(MSG_TRUNC) reports it */
}

static void test_wrong_version(void **state)
{
	uint8_t rec[API_VM_METRICS_SIZE];

	api_vm_metrics_encode(&good, rec);
	rec[1] = API_VM_METRICS_VERSION + 1;
	refused(rec, sizeof(rec), NULL, "version 2");
	rec[1] = 0;
	refused(rec, sizeof(rec), NULL, "version 0");
}

static void test_fields_out_of_range(void **state)
{
	uint8_t rec[API_VM_METRICS_SIZE];
	struct api_vm_metrics m = good;
	const struct api_vm_metrics last = { .nvcpus = 2, .final = true };

	api_vm_metrics_encode(&good, rec);
	rec[0] = 'k';
	refused(rec, sizeof(rec), NULL, "type 0x6b");
	api_vm_metrics_encode(&good, rec);
	rec[2] = 0x02;
	refused(rec, sizeof(rec), NULL, "unknown flags 0x02");
	api_vm_metrics_encode(&good, rec);
	rec[3] = 1;
	refused(rec, sizeof(rec), NULL, "reserved byte 3");
	m.nvcpus = 0;
	api_vm_metrics_encode(&m, rec);
	refused(rec, sizeof(rec), NULL, "0 vCPUs, the VM has 1 to 4");
	m.nvcpus = 5;
	api_vm_metrics_encode(&m, rec);
	refused(rec, sizeof(rec), NULL, "5 vCPUs, the VM has 1 to 4");
	m.nvcpus = 3;
	api_vm_metrics_encode(&m, rec);
	refused(rec, sizeof(rec), &good, "3 vCPUs, the earlier record counted 2");
	m = good;
	m.c[API_VCPU_FAILURES] = (uint64_t)INT64_MAX + 1;
	api_vm_metrics_encode(&m, rec);
	refused(rec, sizeof(rec), NULL, "failures 9223372036854775808 is out of range");
	m = good;
	m.c[API_VCPU_EXIT_IO_OUT] = 19;
	api_vm_metrics_encode(&m, rec);
	refused(rec, sizeof(rec), &good, "exit_io_out went back from 20 to 19");
	api_vm_metrics_encode(&good, rec);
	refused(rec, sizeof(rec), &last, "after the VM process's last one");
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
		cmocka_unit_test(test_good), cmocka_unit_test(test_truncated), cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_wrong_version), cmocka_unit_test(test_fields_out_of_range), cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
