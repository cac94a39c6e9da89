/* carapace verify evidence: read a bundle, a nonce, reference values and AK pins, run the pure
 * verifier, print one line per check and a verdict. OS shell (files, stdout) only. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "attest/hw/result.h"
#include "attest/tpm/eventlog.h"
#include "attest/tpm/evidence.h"
#include "attest/tpm/pubkey.h"
#include "attest/tpm/verify.h"
#include "common/cleanup.h"
#include "common/cli.h"
#include "attest/tpm/cli.h"
#include "common/util.h"

#define MAX_PINS ATTEST_POLICY_MAX_VALUES

static void usage(FILE *f)
{
	fprintf(f, "Usage: carapace verify evidence FILE --nonce HEX [--policy FILE] [--measurement HEX]...\n"
		   "                                [--ak-pin name:000bHEX|TPM2B_PUBLIC-FILE]...\n"
		   "                                [--allow-unverified-platform] [--json | --show-log]\n"
		   "                                [--at RFC3339-TIME] [--allow-debug]   (for the SNP report / TDX quote)\n"
		   "Exit status 0 only if every check passed. See carapace-attest(1) and docs/evidence.md.\n");
}

/* --ak-pin takes the AK's TPM name (name:000b + 64 hex digits, as carapace attest ak and
 * tpm2_readpublic print it), or a file holding its TPM2B_PUBLIC (tpm2_readpublic -f tss -o,
 * carapace attest --export-dir's ak.pub). A bare public key (PEM, sha256: of the SPKI) is
 * refused: it leaves the key's attributes open to change (issue 18 item 7). */
static int parse_pin(const char *arg, uint8_t out[32], struct cp_err *err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct attest_tpm_public pub;
	uint8_t name[66];
	size_t len, name_len;
	int ret;

	if (!strncmp(arg, "sha256:", 7))
		return cp_err_set(err, EINVAL, "%s: public-key pins are no longer accepted (they do not cover the key's "
				  "attributes); pin the AK's name: name:000b... from carapace attest ak", arg);
	if (!strncmp(arg, "name:", 5))
		arg += 5;
	if (strlen(arg) == 68 && cp_hex_decode(arg, name, 34, NULL) == 0) {
		if (cp_be16(name) != 0x000B)
			return cp_err_set(err, EINVAL, "AK name %.4s...: nameAlg is not 000b (SHA-256)", arg);
		memcpy(out, name + 2, 32);
		return 0;
	}
	if ((ret = cp_file_read(arg, 65536, &buf, &len, err)) < 0)
		return ret;
	if (len && memmem(buf, len, "-----BEGIN", 10))
		return cp_err_set(err, EINVAL, "%s: a PEM key cannot be a pin (it lacks the TPM object's attributes); "
				  "give the AK's TPM2B_PUBLIC (tpm2_readpublic -f tss) or its name", arg);
	if ((ret = attest_tpm_public_parse(buf, len, &pub, err)) < 0 ||
	    (ret = attest_tpm_public_name(&pub, name, &name_len, err)) < 0)
		return cp_err_prefix(err, "%s: ", arg);
	if (pub.name_alg != ATTEST_TPM_ALG_SHA256)
		return cp_err_set(err, EINVAL, "%s: the key's nameAlg is not SHA-256", arg);
	memcpy(out, name + 2, 32);
	return 0;
}

static void print_text(const struct attest_verify_result *res)
{
	unsigned n[3] = { 0 };
	for (int i = 0; i < ATTEST_CHECK_COUNT; i++) {
		n[res->checks[i].status]++;
		printf("%-4s  %-18s  %s\n", attest_check_status_name(res->checks[i].status),
		       attest_check_name((enum attest_check_id)i), res->checks[i].detail);
	}
	printf("verdict: %s (%d checks: %u passed, %u skipped, %u failed)\n", res->passed ? "PASS" : "FAIL",
	       ATTEST_CHECK_COUNT, n[ATTEST_CHECK_PASS], n[ATTEST_CHECK_SKIP], n[ATTEST_CHECK_FAIL]);
}

static void print_json(const struct attest_verify_result *res)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	json_object_object_add(root, "verdict", json_object_new_string(res->passed ? "pass" : "fail"));
	json_object_object_add(root, "checks", arr);
	for (int i = 0; i < ATTEST_CHECK_COUNT; i++) {
		json_object *c = json_object_new_object();
		const char *st = res->checks[i].status == ATTEST_CHECK_PASS   ? "pass"
				 : res->checks[i].status == ATTEST_CHECK_SKIP ? "skip"
									      : "fail";
		json_object_object_add(c, "check", json_object_new_string(attest_check_name((enum attest_check_id)i)));
		json_object_object_add(c, "status", json_object_new_string(st));
		json_object_object_add(c, "detail", json_object_new_string(res->checks[i].detail));
		json_object_array_add(arr, c);
	}
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

/* --show-log: what the (replayed) log says, for a human reading the verdict. Only printed
 * from a bundle that parsed; the verdict above says whether to believe it. */
static void print_log(const char *json, size_t len)
{
	struct attest_evidence ev;
	struct attest_eventlog log;

	if (attest_evidence_parse(json, len, &ev, NULL) < 0)
		return;
	if (attest_eventlog_parse(ev.event_log.data, ev.event_log.len, &log, NULL) == 0) {
		printf("event log (%zu events):\n", log.count);
		for (size_t i = 0; i < log.count; i++) {
			const struct attest_event *e = &log.events[i];
			char hex[2 * 48 + 1];
			size_t hlen = e->data_len > 48 ? 48 : e->data_len;
			printf("  %2zu  PCR %-2u  %-18s  ", i, e->pcr, attest_event_type_name(e->type));
			if (e->type == ATTEST_EVENT_VM_START) {
				printf("%.*s\n", (int)e->data_len, (const char *)e->data);
			} else if (e->type == ATTEST_EVENT_DEVICE_HELPER) {
				cp_hex_encode(e->data, 32, hex);
				printf("%.*s sha256:%s\n", (int)(e->data_len - 32), (const char *)e->data + 32, hex);
			} else {
				cp_hex_encode(e->data, hlen, hex);
				printf("%s\n", hex);
			}
		}
		attest_eventlog_free(&log);
	}
	attest_evidence_free(&ev);
}

enum { OPT_NONCE = 1000, OPT_POLICY, OPT_PIN, OPT_MEAS, OPT_ALLOW, OPT_JSON, OPT_SHOW_LOG, OPT_HELP, OPT_AT, OPT_DEBUG };

int attest_tpm_cli_verify_evidence(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nonce", required_argument, NULL, OPT_NONCE },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "ak-pin", required_argument, NULL, OPT_PIN },
		{ "measurement", required_argument, NULL, OPT_MEAS },
		{ "allow-unverified-platform", no_argument, NULL, OPT_ALLOW },
		{ "at", required_argument, NULL, OPT_AT },
		{ "allow-debug", no_argument, NULL, OPT_DEBUG },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "show-log", no_argument, NULL, OPT_SHOW_LOG },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct attest_verify_opts vo = { 0 };
	struct attest_evidence_policy policy = { 0 };
	uint8_t meas[ATTEST_POLICY_MAX_VALUES][48];
	size_t meas_len[ATTEST_POLICY_MAX_VALUES], n_meas = 0;
	struct attest_verify_result res;
	struct cp_err err = { 0 };
	uint8_t nonce[64], pins[MAX_PINS][32];
	size_t n_pins = 0, nonce_len = 0, len;
	const char *policy_path = NULL, *file;
	_cleanup_free_ uint8_t *data = NULL;
	bool json = false, have_nonce = false, show_log = false;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_NONCE:
			if (cp_hex_decode_var(optarg, nonce, sizeof(nonce), &nonce_len, &err) < 0 || !nonce_len) {
				fprintf(stderr, "carapace verify evidence: --nonce: %s\n", err.code ? err.msg : "empty");
				return CP_EXIT_USAGE;
			}
			have_nonce = true;
			break;
		case OPT_POLICY:
			policy_path = optarg;
			break;
		case OPT_PIN:
			if (n_pins == MAX_PINS || parse_pin(optarg, pins[n_pins], &err) < 0) {
				fprintf(stderr, "carapace verify evidence: --ak-pin: %s\n", err.code ? err.msg : "too many pins");
				return CP_EXIT_USAGE;
			}
			n_pins++;
			break;
		case OPT_MEAS:
			if (n_meas == ATTEST_POLICY_MAX_VALUES ||
			    cp_hex_decode_var(optarg, meas[n_meas], 48, &meas_len[n_meas], &err) < 0 ||
			    (meas_len[n_meas] != 32 && meas_len[n_meas] != 48)) {
				fprintf(stderr, "carapace verify evidence: --measurement: %s\n",
					err.code ? err.msg : "expected 32 or 48 bytes of hex (at most 16 values)");
				return CP_EXIT_USAGE;
			}
			n_meas++;
			break;
		case OPT_ALLOW:
			vo.allow_unverified_platform = true;
			break;
		case OPT_AT:
			if (attest_hw_time_parse(optarg, &vo.platform_at, &err) < 0) {
				fprintf(stderr, "carapace verify evidence: --at: %s\n", err.msg);
				return CP_EXIT_USAGE;
			}
			break;
		case OPT_DEBUG:
			vo.platform_allow_debug = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_SHOW_LOG:
			show_log = true;
			break;
		case OPT_HELP:
		case 'h':
			usage(stdout);
			return CP_EXIT_OK;
		default:
			usage(stderr);
			return CP_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !have_nonce) {
		fprintf(stderr, "carapace verify evidence: needs exactly one evidence FILE and --nonce HEX\n");
		usage(stderr);
		return CP_EXIT_USAGE;
	}
	file = argv[optind];
	if (policy_path) {
		_cleanup_free_ uint8_t *pj = NULL;
		size_t plen;
		if (cp_file_read(policy_path, 1u << 20, &pj, &plen, &err) < 0 ||
		    attest_evidence_policy_parse((const char *)pj, plen, &policy, &err) < 0) {
			fprintf(stderr, "carapace verify evidence: --policy: %s\n", err.msg);
			return CP_EXIT_USAGE;
		}
		vo.policy = &policy;
	}
	/* --measurement values join the policy's reference list (e.g. from `carapace measure`). */
	for (size_t i = 0; i < n_meas; i++) {
		if (policy.n_measurements == ATTEST_POLICY_MAX_VALUES) {
			fprintf(stderr, "carapace verify evidence: more than %d reference measurements\n",
				ATTEST_POLICY_MAX_VALUES);
			return CP_EXIT_USAGE;
		}
		memcpy(policy.measurements[policy.n_measurements], meas[i], meas_len[i]);
		policy.measurement_len[policy.n_measurements++] = meas_len[i];
		vo.policy = &policy;
	}
	if (cp_file_read(file, ATTEST_EVIDENCE_MAX_BYTES, &data, &len, &err) < 0) {
		fprintf(stderr, "carapace verify evidence: %s\n", err.msg);
		return CP_EXIT_FAILURE;
	}
	vo.nonce = nonce;
	vo.nonce_len = nonce_len;
	vo.ak_pins = (const uint8_t(*)[32])pins;
	vo.n_ak_pins = n_pins;
	if (attest_verify_json((const char *)data, len, &vo, &res) < 0) {
		fprintf(stderr, "carapace verify evidence: internal error\n");
		return CP_EXIT_FAILURE;
	}
	if (json) {
		print_json(&res);
	} else {
		if (show_log)
			print_log((const char *)data, len);
		print_text(&res);
	}
	return res.passed ? CP_EXIT_OK : CP_EXIT_FAILURE;
}
