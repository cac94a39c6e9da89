/* carapace verify snp|tdx: the thin shell around the pure verifiers — reads the named files,
 * runs the checks, prints one line per check (or JSON) and exits 0 only when all passed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/hw/cli.h"
#include "attest/hw/verify_policy.h"
#include "attest/hw/result.h"
#include "attest/hw/snp_report.h"
#include "attest/hw/verify.h"
#include "common/cleanup.h"
#include "common/cli.h"
#include "common/util.h"

#define MAX_SMALL (64u << 10)  /* a report, a certificate, a CRL */
#define MAX_LARGE (1u << 20)   /* a quote, a chain, a policy, collateral */

struct file_buf {
	uint8_t *data;
	size_t len;
};

static void file_bufs_free(struct file_buf *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].data);
}

static int load(const char *what, const char *path, size_t max, struct file_buf *out)
{
	struct cp_err err = { 0 };

	if (cp_file_read(path, max, &out->data, &out->len, &err) < 0) {
		fprintf(stderr, "carapace verify: %s '%s': %s\n", what, path, err.msg);
		return -1;
	}
	return 0;
}

static int load_policy(const char *path, struct cp_refvals *pol)
{
	struct file_buf f = { 0 };
	struct cp_err err = { 0 };
	int rc;

	if (load("policy", path, MAX_LARGE, &f) < 0)
		return -1;
	rc = attest_hw_policy_parse((const char *)f.data, f.len, pol, &err);
	free(f.data);
	if (rc < 0) {
		fprintf(stderr, "carapace verify: policy '%s': %s\n", path, err.msg);
		return -1;
	}
	return 0;
}

static int parse_at(const char *s, time_t *at)
{
	struct cp_err err = { 0 };

	if (attest_hw_time_parse(s, at, &err) < 0) {
		fprintf(stderr, "carapace verify: --at: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int report(const struct attest_hw_result *res, const char *kind, bool json)
{
	bool ok = attest_hw_result_ok(res);

	if (json) {
		struct json_object *o = attest_hw_result_to_json(res, kind);
		if (!o) {
			fprintf(stderr, "carapace verify: out of memory\n");
			return CP_EXIT_FAILURE;
		}
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		for (size_t i = 0; i < res->n; i++)
			printf("%-4s  %-26s %s\n", res->checks[i].verdict == ATTEST_HW_PASS ? "PASS"
						   : res->checks[i].verdict == ATTEST_HW_SKIP ? "SKIP" : "FAIL",
			       res->checks[i].name, res->checks[i].detail);
		if (res->overflow)
			printf("FAIL  %-26s %s\n", "internal", "too many checks recorded");
		printf("verdict: %s (%s)\n", ok ? "PASS" : "FAIL", kind);
	}
	fflush(stdout);
	return ok ? CP_EXIT_OK : CP_EXIT_FAILURE;
}

static void snp_usage(FILE *out)
{
	fprintf(out,
		"Usage: carapace verify snp --report FILE (--vcek FILE --chain FILE | --certs FILE)\n"
		"                           [--at TIME] [--allow-debug] [--policy FILE] [--json]\n"
		"  --report FILE   SEV-SNP ATTESTATION_REPORT (1184 bytes)\n"
		"  --vcek FILE     the VCEK or VLEK certificate (DER or PEM); --vlek is a synonym\n"
		"  --chain FILE    ASK (or ASVK) and ARK certificates (PEM, or DER; may be repeated)\n"
		"  --certs FILE    extended-report certificate table (GUID table) instead of --vcek/--chain\n"
		"  --at TIME       judge certificate validity at TIME (RFC 3339), default now\n"
		"  --allow-debug   accept a guest policy that allows DEBUG\n"
		"  --policy FILE   relying-party policy (JSON, section \"snp\")\n"
		"  --json          machine-readable result\n");
}

int attest_hw_cli_verify_snp(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "report", required_argument, NULL, 'r' }, { "vcek", required_argument, NULL, 'v' },
		{ "vlek", required_argument, NULL, 'v' },   { "chain", required_argument, NULL, 'c' },
		{ "certs", required_argument, NULL, 'C' },  { "at", required_argument, NULL, 't' },
		{ "allow-debug", no_argument, NULL, 'd' },  { "policy", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *report_path = NULL, *vcek_path = NULL, *certs_path = NULL, *policy_path = NULL;
	const char *chain_paths[ATTEST_HW_CHAIN_MAX];
	size_t nchain = 0;
	struct attest_hw_snp_input in = { .at = time(NULL) };
	struct cp_refvals pol;
	struct file_buf files[3 + ATTEST_HW_CHAIN_MAX] = { { 0 } };
	_cleanup_free_ struct attest_hw_result *res = NULL;
	bool json = false;
	int c, rc = CP_EXIT_USAGE;

	optind = 0; /* entry points may be called more than once in a process (tests) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': report_path = optarg; break;
		case 'v': vcek_path = optarg; break;
		case 'c':
			if (nchain == ATTEST_HW_CHAIN_MAX) {
				fprintf(stderr, "carapace verify snp: at most %d --chain files\n", ATTEST_HW_CHAIN_MAX);
				return CP_EXIT_USAGE;
			}
			chain_paths[nchain++] = optarg;
			break;
		case 'C': certs_path = optarg; break;
		case 't':
			if (parse_at(optarg, &in.at) < 0)
				return CP_EXIT_USAGE;
			break;
		case 'd': in.allow_debug = true; break;
		case 'p': policy_path = optarg; break;
		case 'j': json = true; break;
		case 'h': snp_usage(stdout); return CP_EXIT_OK;
		default: snp_usage(stderr); return CP_EXIT_USAGE;
		}
	}
	if (optind != argc || !report_path || (certs_path ? (vcek_path || nchain) : (!vcek_path || !nchain))) {
		fprintf(stderr, "carapace verify snp: need --report and either --vcek with --chain, or --certs\n");
		snp_usage(stderr);
		return CP_EXIT_USAGE;
	}
	if (policy_path && load_policy(policy_path, &pol) < 0)
		return CP_EXIT_USAGE;
	if (policy_path && pol.has_snp)
		in.policy = &pol.snp;
	else if (policy_path) {
		fprintf(stderr, "carapace verify snp: policy '%s' has no \"snp\" section\n", policy_path);
		return CP_EXIT_USAGE;
	}
	rc = CP_EXIT_FAILURE;
	if (load("report", report_path, MAX_SMALL, &files[0]) < 0)
		goto out;
	in.report = (struct attest_hw_blob){ files[0].data, files[0].len };
	if (certs_path) {
		struct attest_hw_snp_certs t;
		struct cp_err err = { 0 };
		if (load("certificate table", certs_path, MAX_LARGE, &files[1]) < 0)
			goto out;
		if (attest_hw_snp_certtable_parse(files[1].data, files[1].len, &t, &err) < 0) {
			fprintf(stderr, "carapace verify snp: '%s': %s\n", certs_path, err.msg);
			goto out;
		}
		/* Which of VCEK/VLEK signed is the report's claim; the verifier checks the certificate. */
		const struct attest_hw_snp_cert_slice *signer = t.vcek.der ? &t.vcek : &t.vlek;
		if (!signer->der || !t.ask.der || !t.ark.der || (t.vcek.der && t.vlek.der)) {
			fprintf(stderr, "carapace verify snp: '%s': need exactly one of VCEK/VLEK, plus ASK and ARK\n", certs_path);
			goto out;
		}
		in.signer_cert = (struct attest_hw_blob){ signer->der, signer->len };
		in.chain[0] = (struct attest_hw_blob){ t.ask.der, t.ask.len };
		in.chain[1] = (struct attest_hw_blob){ t.ark.der, t.ark.len };
		in.nchain = 2;
	} else {
		if (load("VCEK", vcek_path, MAX_SMALL, &files[1]) < 0)
			goto out;
		in.signer_cert = (struct attest_hw_blob){ files[1].data, files[1].len };
		for (size_t i = 0; i < nchain; i++) {
			if (load("chain", chain_paths[i], MAX_LARGE, &files[2 + i]) < 0)
				goto out;
			in.chain[i] = (struct attest_hw_blob){ files[2 + i].data, files[2 + i].len };
		}
		in.nchain = nchain;
	}
	res = malloc(sizeof(*res));
	if (!res || attest_hw_snp_verify(&in, res) < 0) {
		fprintf(stderr, "carapace verify snp: out of memory\n");
		goto out;
	}
	rc = report(res, "snp", json);
out:
	file_bufs_free(files, ARRAY_SIZE(files));
	return rc;
}

static void tdx_usage(FILE *out)
{
	fprintf(out,
		"Usage: carapace verify tdx --quote FILE [--pck-crl FILE] [--root-crl FILE]\n"
		"                           [--tcb-info FILE] [--qe-identity FILE] [--tcb-chain FILE]\n"
		"                           [--at TIME] [--allow-debug] [--policy FILE] [--json]\n"
		"  --quote FILE        TDX quote, version 4 or 5, with its PCK chain inside\n"
		"  --pck-crl FILE      PCK CRL (DER or PEM) from Intel PCS\n"
		"  --root-crl FILE     Intel SGX Root CA CRL (DER or PEM)\n"
		"  --tcb-info FILE     TDX TCB info response (JSON) from Intel PCS\n"
		"  --qe-identity FILE  TD QE identity response (JSON) from Intel PCS\n"
		"  --tcb-chain FILE    TCB signing chain (PEM, PCS header TCB-Info-Issuer-Chain); without it\n"
		"                      given collateral is reported as not verifiable and fails\n"
		"  --at TIME           judge validity at TIME (RFC 3339), default now\n"
		"  --allow-debug       accept a debug TD\n"
		"  --policy FILE       relying-party policy (JSON, section \"tdx\")\n"
		"  --json              machine-readable result\n");
}

int attest_hw_cli_verify_tdx(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quote", required_argument, NULL, 'q' },       { "pck-crl", required_argument, NULL, 'P' },
		{ "root-crl", required_argument, NULL, 'R' },    { "tcb-info", required_argument, NULL, 'T' },
		{ "qe-identity", required_argument, NULL, 'Q' }, { "tcb-chain", required_argument, NULL, 'K' },
		{ "at", required_argument, NULL, 't' },          { "allow-debug", no_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' },      { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },              { NULL, 0, NULL, 0 },
	};
	enum { F_QUOTE, F_PCK_CRL, F_ROOT_CRL, F_TCB_INFO, F_QE_ID, F_TCB_CHAIN, F_COUNT };
	static const char *const what[F_COUNT] = { "quote", "PCK CRL", "root CRL", "TCB info", "QE identity", "TCB chain" };
	const char *paths[F_COUNT] = { NULL }, *policy_path = NULL;
	struct file_buf files[F_COUNT] = { { 0 } };
	struct attest_hw_blob *blobs[F_COUNT];
	struct attest_hw_tdx_input in = { .at = time(NULL) };
	struct cp_refvals pol;
	_cleanup_free_ struct attest_hw_result *res = NULL;
	bool json = false;
	int c, rc;

	blobs[F_QUOTE] = &in.quote;
	blobs[F_PCK_CRL] = &in.pck_crl;
	blobs[F_ROOT_CRL] = &in.root_crl;
	blobs[F_TCB_INFO] = &in.tcb_info;
	blobs[F_QE_ID] = &in.qe_identity;
	blobs[F_TCB_CHAIN] = &in.tcb_chain;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q': paths[F_QUOTE] = optarg; break;
		case 'P': paths[F_PCK_CRL] = optarg; break;
		case 'R': paths[F_ROOT_CRL] = optarg; break;
		case 'T': paths[F_TCB_INFO] = optarg; break;
		case 'Q': paths[F_QE_ID] = optarg; break;
		case 'K': paths[F_TCB_CHAIN] = optarg; break;
		case 't':
			if (parse_at(optarg, &in.at) < 0)
				return CP_EXIT_USAGE;
			break;
		case 'd': in.allow_debug = true; break;
		case 'p': policy_path = optarg; break;
		case 'j': json = true; break;
		case 'h': tdx_usage(stdout); return CP_EXIT_OK;
		default: tdx_usage(stderr); return CP_EXIT_USAGE;
		}
	}
	if (optind != argc || !paths[F_QUOTE]) {
		fprintf(stderr, "carapace verify tdx: --quote is required\n");
		tdx_usage(stderr);
		return CP_EXIT_USAGE;
	}
	if (policy_path && load_policy(policy_path, &pol) < 0)
		return CP_EXIT_USAGE;
	if (policy_path && pol.has_tdx)
		in.policy = &pol.tdx;
	else if (policy_path) {
		fprintf(stderr, "carapace verify tdx: policy '%s' has no \"tdx\" section\n", policy_path);
		return CP_EXIT_USAGE;
	}
	rc = CP_EXIT_FAILURE;
	for (int i = 0; i < F_COUNT; i++) {
		if (!paths[i])
			continue;
		if (load(what[i], paths[i], MAX_LARGE, &files[i]) < 0)
			goto out;
		*blobs[i] = (struct attest_hw_blob){ files[i].data, files[i].len };
	}
	res = malloc(sizeof(*res));
	if (!res || attest_hw_tdx_verify(&in, res) < 0) {
		fprintf(stderr, "carapace verify tdx: out of memory\n");
		goto out;
	}
	rc = report(res, "tdx", json);
out:
	file_bufs_free(files, F_COUNT);
	return rc;
}
