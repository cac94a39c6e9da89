/* CLI tests for `carapace verify snp|tdx`: the entry points are called from this program with
 * real argument vectors; exit statuses, text and --json output are checked. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include <openssl/x509.h>

#include "attest/hw/cli.h"
#include "attest/hw/crypto.h"
#include "common/cli.h"
#include "vectors.h"

static char tmpdir[] = "/tmp/carapace-attest-hw-XXXXXX";
static char out[256 * 1024];

/* Run an entry point with stdout captured into `out`. */
static int run(int (*fn)(int, char **), const char *const *args)
{
	char *argv[32];
	int argc = 0, saved, fd, rc;
	char path[512];
	ssize_t n;

	while (args[argc]) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	snprintf(path, sizeof(path), "%s/stdout", tmpdir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	rc = fn(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static const char *tmp_write(const char *name, const void *data, size_t len)
{
	static char paths[4][512];
	static int next;
	char *p = paths[next++ % 4];
	int fd;

	snprintf(p, 512, "%s/%s", tmpdir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return p;
}

#define SNP_ARGS "snp", "--report", vec_path("sev-snp/attestation.bin"), "--vcek", vec_path("sev-snp/vcek.testcer"), \
		 "--chain", vec_path("sev-snp/milan.testcer")

static void test_snp_pass_and_json(void **state)
{
	const char *const a[] = { SNP_ARGS, "--allow-debug", "--at", "2025-06-01T00:00:00Z", NULL };
	const char *const j[] = { SNP_ARGS, "--allow-debug", "--at", "2025-06-01T00:00:00Z", "--json", NULL };
	struct json_object *o, *v, *checks;

	assert_int_equal(run(attest_hw_cli_verify_snp, a), CP_EXIT_OK);
	assert_non_null(strstr(out, "PASS  report-signature"));
	assert_non_null(strstr(out, "verdict: PASS (snp)"));
	assert_int_equal(run(attest_hw_cli_verify_snp, j), CP_EXIT_OK);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "verdict", &v));
	assert_string_equal(json_object_get_string(v), "pass");
	assert_true(json_object_object_get_ex(o, "checks", &checks));
	assert_true(json_object_array_length(checks) > 10);
	json_object_put(o);
}

static void test_snp_failures(void **state)
{
	const char *const debug[] = { SNP_ARGS, NULL };
	const char *const late[] = { SNP_ARGS, "--allow-debug", "--at", "2031-01-01T00:00:00Z", NULL };
	const char *const wrong[] = { "snp", "--report", vec_path("sev-snp/attestation.bin"), "--vcek",
				      vec_path("sev-snp/vcek.testcer"), "--chain",
				      vec_path("sev-snp/amd-roots/ask_ark_genoa.pem"), "--allow-debug", NULL };
	const char *const missing[] = { "snp", "--report", vec_path("sev-snp/attestation.bin"), NULL };
	const char *const badtime[] = { SNP_ARGS, "--at", "yesterday", NULL };
	const char *const nofile[] = { "snp", "--report", "/nonexistent/report", "--vcek", "x", "--chain", "y", NULL };
	const char *const extra[] = { SNP_ARGS, "stray", NULL };

	assert_int_equal(run(attest_hw_cli_verify_snp, debug), CP_EXIT_FAILURE);
	assert_non_null(strstr(out, "FAIL  debug"));
	assert_non_null(strstr(out, "verdict: FAIL"));
	assert_int_equal(run(attest_hw_cli_verify_snp, late), CP_EXIT_FAILURE);
	assert_non_null(strstr(out, "FAIL  cert-chain"));
	assert_int_equal(run(attest_hw_cli_verify_snp, wrong), CP_EXIT_FAILURE);
	assert_non_null(strstr(out, "FAIL  cert-chain"));
	assert_non_null(strstr(out, "verdict: FAIL"));
	assert_int_equal(run(attest_hw_cli_verify_snp, missing), CP_EXIT_USAGE);
	assert_int_equal(run(attest_hw_cli_verify_snp, badtime), CP_EXIT_USAGE);
	/* status 1 also means "could not check": an unreadable input gives no verdict at all */
	assert_int_equal(run(attest_hw_cli_verify_snp, nofile), CP_EXIT_FAILURE);
	assert_null(strstr(out, "verdict:"));
	assert_int_equal(run(attest_hw_cli_verify_snp, extra), CP_EXIT_USAGE);
}

static void test_snp_policy_file(void **state)
{
	static const char good[] = "{\"snp\": {\"measurement\": "
				   "\"b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01\"}}";
	static const char other[] = "{\"snp\": {\"measurement\": "
				    "\"007af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01\"}}";
	static const char broken[] = "{\"snp\": {\"measurment\": \"00\"}}";
	const char *p = tmp_write("good.json", good, strlen(good));
	const char *const a[] = { SNP_ARGS, "--allow-debug", "--policy", p, NULL };

	assert_int_equal(run(attest_hw_cli_verify_snp, a), CP_EXIT_OK);
	assert_non_null(strstr(out, "PASS  policy-measurement"));
	p = tmp_write("other.json", other, strlen(other));
	const char *const b[] = { SNP_ARGS, "--allow-debug", "--policy", p, NULL };
	assert_int_equal(run(attest_hw_cli_verify_snp, b), CP_EXIT_FAILURE);
	assert_non_null(strstr(out, "FAIL  policy-measurement"));
	p = tmp_write("broken.json", broken, strlen(broken));
	const char *const c[] = { SNP_ARGS, "--allow-debug", "--policy", p, NULL };
	assert_int_equal(run(attest_hw_cli_verify_snp, c), CP_EXIT_USAGE);
}

/* --certs: the extended report's GUID table instead of --vcek/--chain. */
static void test_snp_certs_table(void **state)
{
	static const uint8_t guids[3][16] = {
		{ 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd },
		{ 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 },
		{ 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae },
	};
	STACK_OF(X509) *cc = sk_X509_new_null();
	size_t vl, cl, off = 4 * 24;
	uint8_t *vcek = vec_read("sev-snp/vcek.testcer", &vl), *chain = vec_read("sev-snp/milan.testcer", &cl);
	uint8_t *der[3] = { vcek, NULL, NULL }, *table = calloc(1, 8192);
	size_t len[3] = { vl, 0, 0 };

	assert_int_equal(attest_hw_certs_load(chain, cl, cc, NULL), 0);
	for (int i = 1; i < 3; i++)
		len[i] = (size_t)i2d_X509(sk_X509_value(cc, i - 1), &der[i]);
	for (int i = 0; i < 3; i++) {
		memcpy(table + 24 * i, guids[i], 16);
		cp_put_le32(table + 24 * i + 16, (uint32_t)off);
		cp_put_le32(table + 24 * i + 20, (uint32_t)len[i]);
		memcpy(table + off, der[i], len[i]);
		off += len[i];
	}
	const char *p = tmp_write("certs.bin", table, off);
	const char *const a[] = { "snp", "--report", vec_path("sev-snp/attestation.bin"), "--certs", p, "--allow-debug", NULL };
	assert_int_equal(run(attest_hw_cli_verify_snp, a), CP_EXIT_OK);
	assert_non_null(strstr(out, "PASS  cert-chain"));
	const char *const both[] = { "snp", "--report", vec_path("sev-snp/attestation.bin"), "--certs", p, "--vcek",
				     vec_path("sev-snp/vcek.testcer"), NULL };
	assert_int_equal(run(attest_hw_cli_verify_snp, both), CP_EXIT_USAGE);
	p = tmp_write("short.bin", table, 30); /* no terminator */
	const char *const bad[] = { "snp", "--report", vec_path("sev-snp/attestation.bin"), "--certs", p, NULL };
	/* a malformed table is an input error (message on stderr), not a verdict */
	assert_int_equal(run(attest_hw_cli_verify_snp, bad), CP_EXIT_FAILURE);
	assert_null(strstr(out, "verdict:"));
	OPENSSL_free(der[1]);
	OPENSSL_free(der[2]);
	free(table);
	free(vcek);
	free(chain);
	sk_X509_pop_free(cc, X509_free);
}

#define TDX_Q "tdx", "--quote", vec_path("tdx/tdx_prod_quote_SPR_E4.dat")

static void test_tdx(void **state)
{
	const char *const good[] = { TDX_Q, "--at", "2023-06-20T00:00:00Z", "--pck-crl", vec_path("tdx/pckcrl"),
				     "--root-crl", vec_path("tdx/rootcrl.der"), NULL };
	const char *const now[] = { TDX_Q, "--pck-crl", vec_path("tdx/pckcrl"), NULL };
	const char *const coll[] = { TDX_Q, "--at", "2023-06-20T00:00:00Z", "--tcb-info",
				     vec_path("tdx/sample_tcbInfo_response"), "--json", NULL };
	const char *const help[] = { "tdx", "--help", NULL };
	const char *const none[] = { "tdx", NULL };

	assert_int_equal(run(attest_hw_cli_verify_tdx, good), CP_EXIT_OK);
	assert_non_null(strstr(out, "PASS  quote-signature"));
	assert_non_null(strstr(out, "verdict: PASS (tdx)"));
	assert_int_equal(run(attest_hw_cli_verify_tdx, now), CP_EXIT_FAILURE); /* the CRL is out of date today */
	assert_non_null(strstr(out, "FAIL  pck-crl"));
	assert_int_equal(run(attest_hw_cli_verify_tdx, coll), CP_EXIT_FAILURE);
	assert_non_null(strstr(out, "not verifiable"));
	assert_non_null(strstr(out, "\"verdict\":\"fail\""));
	assert_int_equal(run(attest_hw_cli_verify_tdx, help), CP_EXIT_OK);
	assert_non_null(strstr(out, "--quote FILE"));
	assert_int_equal(run(attest_hw_cli_verify_tdx, none), CP_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_pass_and_json),
		cmocka_unit_test(test_snp_failures),
		cmocka_unit_test(test_snp_policy_file),
		cmocka_unit_test(test_snp_certs_table),
		cmocka_unit_test(test_tdx),
	};
	int rc;

	vec_require("sev-snp/attestation.bin");
	vec_require("tdx/tdx_prod_quote_SPR_E4.dat");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
