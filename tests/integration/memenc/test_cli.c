/* Integration test of `carapace measure` through memenc_cli_measure(), stdout/stderr captured:
 * every sev-snp-measure vector line with that tool's own option names, --json, base64, the
 * ID block outputs, TDX MRTD and CCEL replay, and the usage/input errors with their exit codes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/cli.h"
#include "memenc/cli.h"
#include "common/util.h"
#include "memenc/id_block.h"
#include "memenc/tdx_boot.h"
#include "../../unit/memenc/peimg.h"

static const char *vdir;
static char out[1 << 20], errbuf[1 << 14];

static void slurp(int fd, char *buf, size_t cap)
{
	ssize_t n;
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, cap - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* Run the CLI with argv (NULL-terminated), capturing stdout into out and stderr into errbuf. */
static int run_cli(const char *const *args)
{
	char *argv[64];
	int argc = 0, rc, o = memfd_create("out", MFD_CLOEXEC), e = memfd_create("err", MFD_CLOEXEC);
	int save_o = dup(1), save_e = dup(2);

	argv[argc++] = (char *)"measure";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	dup2(o, 1);
	dup2(e, 2);
	rc = memenc_cli_measure(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(save_o, 1);
	dup2(save_e, 2);
	close(save_o);
	close(save_e);
	slurp(o, out, sizeof(out));
	slurp(e, errbuf, sizeof(errbuf));
	close(o);
	close(e);
	return rc;
}

static const char *last_line(void)
{
	static char line[512];
	size_t n = strlen(out);
	const char *p;

	while (n && out[n - 1] == '\n')
		n--;
	for (p = out + n; p > out && p[-1] != '\n'; p--)
		;
	snprintf(line, sizeof(line), "%.*s", (int)(out + n - p), p);
	return line;
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

static void test_vectors_via_cli(void **state)
{
	char path[4096], *text, *save = NULL, *line;
	size_t len, lines = 0;
	struct cp_err err = { 0 };

	snprintf(path, sizeof(path), "%s/sev-snp-measure/expected.txt", vdir);
	assert_int_equal(cp_file_read(path, 1 << 20, (uint8_t **)&text, &len, &err), 0);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *args[32];
		char fw[4096], *p1, *p2, *tok, *s2 = NULL;
		int n = 0, rc;

		if (line[0] == '#')
			continue;
		p1 = strchr(line, '|');
		p2 = strchr(p1 + 1, '|');
		*p1 = *p2 = '\0';
		snprintf(fw, sizeof(fw), "%s/sev-snp-measure/%s", vdir, trim(line));
		for (tok = strtok_r(trim(p1 + 1), " ", &s2); tok; tok = strtok_r(NULL, " ", &s2))
			args[n++] = tok;
		args[n++] = "--ovmf"; /* the tool's own name for --firmware */
		args[n++] = fw;
		args[n] = NULL;
		rc = run_cli(args);
		if (strncmp(trim(p2 + 1), "Error:", 6) == 0) {
			assert_int_equal(rc, CP_EXIT_FAILURE);
			assert_non_null(strstr(errbuf, "cannot"));
			assert_non_null(strstr(errbuf, "--kernel"));
		} else {
			if (rc != 0 || strcmp(last_line(), trim(p2 + 1)) != 0)
				fail_msg("%s: rc %d, last line '%s', stderr '%s'", fw, rc, last_line(), errbuf);
		}
		lines++;
	}
	assert_int_equal(lines, 16);
	free(text);
}

static void test_json_and_base64(void **state)
{
	char fw[4096], hex[200];
	const char *args[] = { "--platform", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--firmware", fw,
			       "--json", NULL };
	const char *b64[] = { "--mode", "snp", "--vcpus", "2", "--vcpu-sig", "0x800f12", "--firmware", fw,
			      "--output-format", "base64", NULL };
	const char *fms[] = { "--mode", "snp", "--vcpus", "2", "--vcpu-family", "23", "--vcpu-model", "1",
			      "--vcpu-stepping", "2", "--firmware", fw, NULL };
	json_object *j, *plan, *m;
	uint8_t d[48];
	unsigned char enc[80];
	struct cp_err err = { 0 };

	snprintf(fw, sizeof(fw), "%s/sev-snp-measure/ovmf_AmdSev_suffix.bin", vdir);
	assert_int_equal(run_cli(args), 0);
	snprintf(hex, sizeof(hex), "%s", last_line());
	assert_int_equal(strlen(hex), 96);
	j = json_tokener_parse(out); /* the JSON document is the first line */
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "measurement", &m));
	assert_string_equal(json_object_get_string(m), hex);
	assert_true(json_object_object_get_ex(j, "plan", &plan));
	/* firmware + 7 AmdSev sections + 2 VMSAs; the last running value is the measurement */
	assert_int_equal(json_object_array_length(plan), 10);
	{
		json_object *lastop = json_object_array_get_idx(plan, 9), *v;
		assert_true(json_object_object_get_ex(lastop, "running", &v));
		assert_string_equal(json_object_get_string(v), hex);
		assert_true(json_object_object_get_ex(lastop, "contents_sha384", &v));
		assert_true(json_object_object_get_ex(lastop, "type", &v));
		assert_string_equal(json_object_get_string(v), "VMSA");
	}
	json_object_put(j);

	assert_int_equal(run_cli(b64), 0);
	assert_int_equal(cp_hex_decode(hex, d, 48, &err), 0);
	EVP_EncodeBlock(enc, d, 48);
	assert_string_equal(last_line(), (char *)enc);
	assert_int_equal(run_cli(fms), 0);
	assert_string_equal(last_line(), hex);
}

struct bad {
	const char *args[16];
	int rc;
	const char *msg;
};

static void test_errors(void **state)
{
	char fw[4096], notovmf[4096];
	snprintf(fw, sizeof(fw), "%s/sev-snp-measure/ovmf_AmdSev_suffix.bin", vdir);
	snprintf(notovmf, sizeof(notovmf), "%s/tdx/ccel/ccel_data.dat", vdir);
	const struct bad cases[] = {
		{ { "--firmware", fw, NULL }, CP_EXIT_USAGE, "--platform (or --mode) is required" },
		{ { "--platform", "sgx", "--firmware", fw, NULL }, CP_EXIT_USAGE, "unknown platform 'sgx'" },
		{ { "--platform", "snp", "--firmware", fw, NULL }, CP_EXIT_USAGE, "--vcpus N is required" },
		{ { "--platform", "snp", "--vcpus", "1", "--firmware", fw, NULL }, CP_EXIT_USAGE, "missing --vcpu-type" },
		{ { "--platform", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v9", "--firmware", fw, NULL }, CP_EXIT_USAGE,
		  "unknown vCPU type 'EPYC-v9'" },
		{ { "--platform", "snp", "--vcpus", "0", "--vcpu-type", "EPYC", "--firmware", fw, NULL }, CP_EXIT_USAGE,
		  "--vcpus" },
		{ { "--platform", "snp", "--vcpus", "1", "--vmm-type", "kvmtool", "--firmware", fw, NULL }, CP_EXIT_USAGE,
		  "unknown VMM type" },
		{ { "--platform", "sev", "--initrd", "/dev/null", "--firmware", fw, NULL }, CP_EXIT_USAGE, "need --kernel" },
		{ { "--platform", "sev", "--output-format", "b32", "--firmware", fw, NULL }, CP_EXIT_USAGE, "b32" },
		{ { "--platform", "sev", "--frobnicate", NULL }, CP_EXIT_USAGE, "unknown or incomplete option" },
		{ { "--platform", "sev", "--firmware", notovmf, NULL }, CP_EXIT_FAILURE, "not an OVMF image" },
		{ { "--platform", "sev", "--firmware", "/nonexistent/x.fd", NULL }, CP_EXIT_FAILURE, "cannot open" },
		{ { "--platform", "tdx", "--firmware", fw, NULL }, CP_EXIT_FAILURE, "TDVF section 0 (BFV, offset 0x640)" },
		{ { "--platform", "sev", "--guest-features", "1", "--firmware", fw, NULL }, CP_EXIT_USAGE, "snp only" },
		{ { "--platform", "snp", "--vcpus", "1", "--vcpu-type", "EPYC", "--id-block-out", "/tmp/x", "--firmware",
		    fw, NULL }, CP_EXIT_USAGE, "need --id-key" },
		{ { "--platform", "snp", "--vcpus", "1", "--vcpu-type", "EPYC", "--snp-ovmf-hash", "00", "--firmware", fw,
		    NULL }, CP_EXIT_USAGE, "--snp-ovmf-hash" },
		{ { "--platform", "tdx", "--ccel-log", fw, NULL }, CP_EXIT_FAILURE, "event log" },
		{ { "--platform", "tdx", NULL }, CP_EXIT_USAGE, "needs --firmware" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = run_cli(cases[i].args);
		if (rc != cases[i].rc || !strstr(errbuf, cases[i].msg))
			fail_msg("case %zu: rc %d (want %d), stderr '%s' (want '%s')", i, rc, cases[i].rc, errbuf,
				 cases[i].msg);
		assert_int_equal(out[0], '\0'); /* nothing on stdout when failing */
	}
	{
		const char *help[] = { "--help", NULL };
		assert_int_equal(run_cli(help), 0);
		assert_non_null(strstr(out, "usage: carapace measure"));
	}
}

static void test_id_block_outputs(void **state)
{
	char fw[4096], key[] = "/tmp/memenc-idkey-XXXXXX", blk[] = "/tmp/memenc-idblk-XXXXXX",
	     ath[] = "/tmp/memenc-idauth-XXXXXX", expect[120], hex[97];
	const char *args[] = { "--platform", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--firmware", fw,
			       "--id-key", key, "--id-block-out", blk, "--id-auth-out", ath, "--guest-svn", "3", NULL };
	EVP_PKEY *k = EVP_EC_gen("P-384");
	int kfd = mkstemp(key), bfd = mkstemp(blk), afd = mkstemp(ath);
	FILE *f = fdopen(kfd, "w");
	uint8_t *data, d[48];
	size_t len;
	struct cp_err err = { 0 };

	assert_true(bfd >= 0 && afd >= 0 && f);
	close(bfd);
	close(afd);
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	snprintf(fw, sizeof(fw), "%s/sev-snp-measure/ovmf_AmdSev_suffix.bin", vdir);
	if (run_cli(args) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(last_line(),
			    "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d");
	assert_int_equal(memenc_snp_key_digest(k, d, &err), 0);
	cp_hex_encode(d, 48, hex);
	snprintf(expect, sizeof(expect), "id_key_digest: %s\n", hex);
	assert_non_null(strstr(out, expect));
	assert_int_equal(cp_file_read(blk, 1 << 20, &data, &len, &err), 0);
	assert_int_equal(len, 96);
	assert_int_equal(cp_le32(data + 84), 3);
	free(data);
	assert_int_equal(cp_file_read(ath, 1 << 20, &data, &len, &err), 0);
	assert_int_equal(len, 4096);
	free(data);
	unlink(key);
	unlink(blk);
	unlink(ath);
	EVP_PKEY_free(k);
}

static void test_tdx(void **state)
{
	char log[4096], quote[4096];
	const char *ccel[] = { "--platform", "tdx", "--ccel-log", log, NULL };
	const char *mrtd[] = { "--platform", "tdx", "--firmware", "/usr/share/ovmf/OVMF.fd", "--json", NULL };
	uint8_t *q;
	size_t qlen;
	char hex[97], line[120];
	struct cp_err err = { 0 };

	snprintf(log, sizeof(log), "%s/tdx/ccel/ccel_data.dat", vdir);
	snprintf(quote, sizeof(quote), "%s/tdx/ccel/cos-113-tdx-quote.dat", vdir);
	assert_int_equal(run_cli(ccel), 0);
	assert_int_equal(cp_file_read(quote, 1 << 20, &q, &qlen, &err), 0);
	for (int i = 0; i < 3; i++) {
		cp_hex_encode(q + 0x178 + 48 * i, 48, hex);
		snprintf(line, sizeof(line), "rtmr%d: %s\n", i, hex);
		assert_non_null(strstr(out, line));
	}
	free(q);
	if (access("/usr/share/ovmf/OVMF.fd", R_OK) == 0) {
		/* direct boot: rtmr1/rtmr2 lines before the MRTD, equal to the library's prediction */
		char kpath[] = "/tmp/memenc-kernel-XXXXXX";
		const char *boot[] = { "--platform", "tdx", "--firmware", "/usr/share/ovmf/OVMF.fd", "--kernel", kpath,
				       "--append", "console=hvc0", NULL };
		size_t pe_len;
		uint8_t *pe = peimg_build(&pe_len);
		struct memenc_tdx_boot tb;
		int kfd = mkstemp(kpath);
		assert_true(kfd >= 0);
		assert_int_equal(write(kfd, pe, pe_len), (ssize_t)pe_len);
		close(kfd);
		assert_int_equal(memenc_tdx_direct_boot(pe, pe_len, NULL, 0, "console=hvc0", &tb, &err), 0);
		assert_int_equal(run_cli(boot), 0);
		cp_hex_encode(tb.rtmr1, 48, hex);
		snprintf(line, sizeof(line), "rtmr1: %s\n", hex);
		assert_non_null(strstr(out, line));
		cp_hex_encode(tb.rtmr2, 48, hex);
		snprintf(line, sizeof(line), "rtmr2: %s\n", hex);
		assert_non_null(strstr(out, line));
		unlink(kpath);
		free(pe);
	}
	if (access("/usr/share/ovmf/OVMF.fd", R_OK) == 0) {
		json_object *j, *p;
		assert_int_equal(run_cli(mrtd), 0);
		assert_int_equal(strlen(last_line()), 96);
		j = json_tokener_parse(out);
		assert_non_null(j);
		assert_true(json_object_object_get_ex(j, "plan", &p));
		assert_true(json_object_array_length(p) >= 2);
		json_object_put(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_via_cli), cmocka_unit_test(test_json_and_base64),
		cmocka_unit_test(test_errors), cmocka_unit_test(test_id_block_outputs), cmocka_unit_test(test_tdx),
	};
	char probe[4096];

	vdir = getenv("CARAPACE_TEST_VECTORS");
	snprintf(probe, sizeof(probe), "%s/sev-snp-measure/expected.txt", vdir ? vdir : "");
	if (!vdir || access(probe, R_OK) != 0) {
		printf("SKIP: test vectors not found at '%s' (set CARAPACE_TEST_VECTORS)\n", probe);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
