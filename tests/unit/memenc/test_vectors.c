/* Launch measurements against independent vectors:
 * - sev-snp-measure/expected.txt: digests (and two errors) printed by virtee/sev-snp-measure
 *   @ 8f2b337 for its own fixtures (the last 4 KiB of edk2-stable202405 AmdSevX64 and OvmfX64);
 * - tdx/ccel/: a real TDX guest's CCEL log (google/go-tdx-guest testdata @ 91f9a52f) whose
 *   replay must give RTMR0-2 of the quote taken in that guest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "memenc/ccel.h"
#include "memenc/plan.h"
#include "memenc/tdx_boot.h"
#include "peimg.h"
#include "vectors.h"

static const char *vdir;

/* Translate one expected.txt argument list (sev-snp-measure syntax) into launch options. */
static int parse_vector_args(char *args, struct memenc_launch_opts *o, struct cp_err *err)
{
	char *save = NULL, *tok, *append = NULL;
	bool kernel = false;

	memset(o, 0, sizeof(*o));
	o->guest_features = 1;
	for (tok = strtok_r(args, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *val = strtok_r(NULL, " ", &save);
		uint64_t v;

		if (!val)
			return cp_err_set(err, EINVAL, "option %s without value", tok);
		if (strcmp(tok, "--mode") == 0) {
			if (memenc_platform_parse(val, &o->platform, err) < 0)
				return -EINVAL;
		} else if (strcmp(tok, "--vcpus") == 0 && cp_parse_u64(val, &v) == 0) {
			o->vcpus = (unsigned)v;
		} else if (strcmp(tok, "--vcpu-type") == 0) {
			if (memenc_cpu_sig_by_name(val, &o->vcpu_sig, err) < 0)
				return -EINVAL;
		} else if (strcmp(tok, "--vmm-type") == 0) {
			if (memenc_vmm_type_parse(val, &o->vmm, err) < 0)
				return -EINVAL;
		} else if (strcmp(tok, "--guest-features") == 0 && cp_parse_u64(val, &v) == 0) {
			o->guest_features = v;
		} else if (strcmp(tok, "--kernel") == 0 || strcmp(tok, "--initrd") == 0) {
			if (strcmp(val, "/dev/null") != 0)
				return cp_err_set(err, EINVAL, "only /dev/null kernels are in the vectors");
			kernel = true;
		} else if (strcmp(tok, "--append") == 0) {
			append = val;
		} else {
			return cp_err_set(err, EINVAL, "unknown vector option %s", tok);
		}
	}
	o->kernel = kernel;
	/* Kernel and initrd /dev/null: both hash as empty input. */
	return kernel ? memenc_sev_hashes_compute((const uint8_t *)"", 0, (const uint8_t *)"", 0, append,
						  &o->hashes, err) : 0;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static void test_sev_snp_measure_vectors(void **state)
{
	size_t len, lines = 0, errors = 0;
	char *text = (char *)vector_read(vdir, "sev-snp-measure/expected.txt", &len), *save = NULL, *line;

	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *fx, *args, *expect, *p1, *p2, hex[97];
		struct memenc_launch_opts o;
		struct memenc_plan plan;
		struct cp_err err = { 0 };
		uint8_t *fw, out[48];
		size_t fw_len, n;
		int r;

		if (line[0] == '#')
			continue;
		p1 = strchr(line, '|');
		p2 = p1 ? strchr(p1 + 1, '|') : NULL;
		assert_non_null(p2);
		*p1 = *p2 = '\0';
		fx = trim(line);
		args = trim(p1 + 1);
		expect = trim(p2 + 1);
		{
			char name[256];
			snprintf(name, sizeof(name), "sev-snp-measure/%s", fx);
			fw = vector_read(vdir, name, &fw_len);
			assert_non_null(fw);
		}
		assert_int_equal(fw_len, 4096);
		assert_int_equal(parse_vector_args(args, &o, &err), 0);
		r = memenc_plan_build(&plan, fw, fw_len, &o, &err);
		if (r == 0) {
			r = memenc_plan_measure(&plan, out, &n, NULL, NULL, &err);
			memenc_plan_free(&plan);
		}
		if (strncmp(expect, "Error:", 6) == 0) {
			/* The tool's two errors: a kernel for firmware that cannot measure one. */
			assert_true(r < 0);
			if (strstr(expect, "SNP_KERNEL_HASHES"))
				assert_non_null(strstr(err.msg, "no SNP_KERNEL_HASHES section"));
			else
				assert_non_null(strstr(err.msg, "no SEV hashes table"));
			errors++;
		} else {
			if (r < 0)
				fail_msg("%s | %s: %s", fx, args, err.msg);
			cp_hex_encode(out, n, hex);
			if (strcmp(hex, expect) != 0)
				fail_msg("%s | %s: got %s, expected %s", fx, args, hex, expect);
		}
		lines++;
		free(fw);
	}
	free(text);
	assert_int_equal(lines, 16);
	assert_int_equal(errors, 2);
}

static void test_ccel_replay_matches_quote(void **state)
{
	size_t log_len, q_len, events;
	uint8_t *log = vector_read(vdir, "tdx/ccel/ccel_data.dat", &log_len);
	uint8_t *quote = vector_read(vdir, "tdx/ccel/cos-113-tdx-quote.dat", &q_len);
	uint8_t rtmr[4][48];
	struct cp_err err = { 0 };

	assert_non_null(log);
	assert_non_null(quote);
	assert_true(q_len >= 0x278);
	assert_int_equal(cp_le16(quote), 4);       /* quote v4 */
	assert_int_equal(cp_le32(quote + 4), 0x81); /* TDX */
	if (memenc_ccel_replay(log, log_len, rtmr, &events, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(events > 10);
	/* Quote v4 body: RTMR0..2 at 0x178, 0x1a8, 0x1d8. */
	assert_memory_equal(rtmr[0], quote + 0x178, 48);
	assert_memory_equal(rtmr[1], quote + 0x1a8, 48);
	assert_memory_equal(rtmr[2], quote + 0x1d8, 48);
	assert_memory_equal(rtmr[3], quote + 0x208, 48);
	/* A flipped digest byte in the middle of the log must change the result. */
	{
		struct memenc_ccel_reader rd;
		struct memenc_ccel_event ev;
		uint8_t again[4][48];
		size_t k = 0;
		memenc_ccel_reader_init(&rd, log, log_len);
		while (memenc_ccel_next(&rd, &ev, &err) > 0)
			if (ev.sha384 && ev.mr_index == 2 && ev.type != MEMENC_EV_NO_ACTION && k++ == 1)
				break;
		assert_non_null(ev.sha384);
		((uint8_t *)ev.sha384)[0] ^= 1;
		assert_int_equal(memenc_ccel_replay(log, log_len, again, NULL, &err), 0);
		assert_memory_equal(again[0], rtmr[0], 48);
		assert_memory_not_equal(again[1], rtmr[1], 48);
	}
	free(log);
	free(quote);
}

/* The four constant RTMR1 events carapace predicts for direct boot must be digested the way the
 * real TDX firmware did in this log: find each by type and data, compare the digests. */
static void test_direct_boot_constant_events_match_real_log(void **state)
{
	size_t log_len, pe_len;
	uint8_t *log = vector_read(vdir, "tdx/ccel/ccel_data.dat", &log_len), *pe = peimg_build(&pe_len);
	struct memenc_tdx_boot tb;
	struct cp_err err = { 0 };
	size_t matched = 0;

	assert_non_null(log);
	assert_int_equal(memenc_tdx_direct_boot(pe, pe_len, NULL, 0, NULL, &tb, &err), 0);
	for (size_t i = 1; i < 5; i++) {
		struct memenc_ccel_reader rd;
		struct memenc_ccel_event ev;
		memenc_ccel_reader_init(&rd, log, log_len);
		while (memenc_ccel_next(&rd, &ev, &err) > 0) {
			bool same_data = i == 2 ? ev.data_len == 4 && memcmp(ev.data, "\0\0\0\0", 4) == 0
					        : ev.data_len == strlen(tb.ev[i].what) &&
						  memcmp(ev.data, tb.ev[i].what, ev.data_len) == 0;
			/* RTMR1 is CC MR index 2 */
			if (ev.mr_index == 2 && ev.type == tb.ev[i].type && same_data) {
				assert_memory_equal(ev.sha384, tb.ev[i].digest, 48);
				matched++;
				break;
			}
		}
	}
	assert_int_equal(matched, 4);
	free(log);
	free(pe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sev_snp_measure_vectors),
		cmocka_unit_test(test_ccel_replay_matches_quote),
		cmocka_unit_test(test_direct_boot_constant_events_match_real_log),
	};
	vdir = vectors_dir_or_skip("sev-snp-measure/expected.txt");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
