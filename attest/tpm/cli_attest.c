/* carapace attest: produce an evidence bundle (quote + log + AK + platform evidence), show the
 * AK, and record launch events by hand (what the runner does through launch.h). OS shell. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "attest/tpm/credential.h"
#include "attest/tpm/evidence.h"
#include "attest/tpm/launch.h"
#include "attest/tpm/pubkey.h"
#include "attest/tpm/tcglog.h"
#include "attest/tpm/tpm.h"
#include "attest/tpm/wire.h"
#include "common/cleanup.h"
#include "common/cli.h"
#include "attest/tpm/cli.h"
#include "common/util.h"

#define FILE_MAX (1u << 20)
#define ATTEST_BOOT_LOG_DEFAULT "/sys/kernel/security/tpm0/binary_bios_measurements"

struct attest_opts {
	const char *tcti;
	const char *state_dir;
	const char *vm;
	const char *out;
	const char *export_dir;
	enum attest_ak_alg ak_alg;
	uint32_t ak_handle;
	uint32_t pcrs[24];
	size_t n_pcrs;
	bool pcrs_given;
	bool allow_resettable;
	const char *boot_log;     /* NULL: the kernel's, when present */
	uint32_t boot_pcr_mask;   /* boot PCRs to quote (default 0..7) */
	bool boot_pcrs_given;
	uint8_t nonce[64];
	size_t nonce_len;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: carapace attest --nonce HEX -o FILE --vm NAME [--pcr N[,N...]] [common options]\n"
		"                       [--boot-log FILE] [--boot-pcrs N[,N...]|none]\n"
		"                       (quotes the host launch log's PCR, the boot PCRs (default 0..7) and any\n"
		"                        --pcr; ships the boot log, default %s when present)\n"
		"                       [--export-dir DIR]   also write quote.bin sig.bin pcrs.bin ak.pem\n"
		"                                            (tpm2_checkquote -u ak.pem -m quote.bin -s sig.bin\n"
		"                                             -f pcrs.bin -g sha256 -q NONCE)\n"
		"       carapace attest ak [-o ak.pem] [common options]\n"
		"       carapace attest binding --policy-digest HEX [common options]\n"
		"                       (SNP HOST_DATA / TDX MRCONFIGID value for this AK and policy)\n"
		"       carapace attest launch --vm NAME [--pcr N [--allow-resettable-pcr]] [--measurement HEX]\n"
		"                       [--config FILE] [--policy-digest HEX] [--device NAME=SHA256HEX]...\n"
		"                       (host launch log PCR: 8..15, default 13)\n"
		"       carapace attest stop --vm NAME [common options]   (record that the VM stopped)\n"
		"Common options: --tcti TCTI (default $%s, then %s), --state-dir DIR (default $%s,\n"
		"  then %s), --ak-alg ecc|rsa (default ecc), --ak-handle 0x81XXXXXX\n"
		"See carapace-attest(1).\n",
		ATTEST_BOOT_LOG_DEFAULT, ATTEST_TCTI_ENV, ATTEST_TCTI_DEFAULT, ATTEST_STATE_DIR_ENV,
		ATTEST_STATE_DIR_DEFAULT);
}

static int fail(const char *what, const struct cp_err *err)
{
	fprintf(stderr, "carapace attest: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
	return CP_EXIT_FAILURE;
}

static int parse_pcr_list(const char *s, struct attest_opts *o)
{
	char buf[128], *save = NULL;
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	o->n_pcrs = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		if (cp_parse_u64(tok, &v) < 0 || v > ATTEST_PCR_MAX || o->n_pcrs == 24)
			return -EINVAL;
		/* keep ascending and unique: the quote's selection is a bitmap */
		size_t i = 0;
		while (i < o->n_pcrs && o->pcrs[i] < v)
			i++;
		if (i < o->n_pcrs && o->pcrs[i] == v)
			continue;
		memmove(&o->pcrs[i + 1], &o->pcrs[i], (o->n_pcrs - i) * sizeof(o->pcrs[0]));
		o->pcrs[i] = (uint32_t)v;
		o->n_pcrs++;
	}
	return o->n_pcrs ? 0 : -EINVAL;
}

enum { OPT_TCTI = 1000, OPT_STATE, OPT_AK_ALG, OPT_AK_HANDLE, OPT_PCR, OPT_NONCE, OPT_VM, OPT_EXPORT,
       OPT_MEAS, OPT_CONFIG, OPT_POLICY_DIGEST, OPT_DEVICE, OPT_HELP, OPT_ALLOW_RESETTABLE, OPT_BOOT_LOG,
       OPT_BOOT_PCRS };

static const struct option long_opts[] = {
	{ "tcti", required_argument, NULL, OPT_TCTI },
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "ak-alg", required_argument, NULL, OPT_AK_ALG },
	{ "ak-handle", required_argument, NULL, OPT_AK_HANDLE },
	{ "pcr", required_argument, NULL, OPT_PCR },
	{ "nonce", required_argument, NULL, OPT_NONCE },
	{ "vm", required_argument, NULL, OPT_VM },
	{ "export-dir", required_argument, NULL, OPT_EXPORT },
	{ "output", required_argument, NULL, 'o' },
	{ "measurement", required_argument, NULL, OPT_MEAS },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "policy-digest", required_argument, NULL, OPT_POLICY_DIGEST },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "allow-resettable-pcr", no_argument, NULL, OPT_ALLOW_RESETTABLE },
	{ "boot-log", required_argument, NULL, OPT_BOOT_LOG },
	{ "boot-pcrs", required_argument, NULL, OPT_BOOT_PCRS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Launch-event options are collected in order so `attest launch` records them in order. */
struct launch_item {
	int opt;
	const char *arg;
};

static int parse_common(int argc, char **argv, struct attest_opts *o, struct launch_item *items, size_t *n_items,
			bool allow_launch)
{
	int c;
	uint64_t v;
	struct cp_err err = { 0 };

	optind = 0;
	while ((c = getopt_long(argc, argv, "o:h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_TCTI:
			o->tcti = optarg;
			break;
		case OPT_STATE:
			o->state_dir = optarg;
			break;
		case OPT_AK_ALG:
			if (!strcmp(optarg, "ecc"))
				o->ak_alg = ATTEST_AK_ECC_P256;
			else if (!strcmp(optarg, "rsa"))
				o->ak_alg = ATTEST_AK_RSA_2048;
			else {
				fprintf(stderr, "carapace attest: --ak-alg must be ecc or rsa\n");
				return -EINVAL;
			}
			break;
		case OPT_AK_HANDLE:
			if (cp_parse_u64(optarg, &v) < 0 || v >> 24 != 0x81) {
				fprintf(stderr, "carapace attest: --ak-handle must be a persistent handle 0x81XXXXXX\n");
				return -EINVAL;
			}
			o->ak_handle = (uint32_t)v;
			break;
		case OPT_PCR:
			o->pcrs_given = true;
			if (parse_pcr_list(optarg, o) < 0) {
				fprintf(stderr, "carapace attest: --pcr: expected PCR numbers 0..23 separated by commas\n");
				return -EINVAL;
			}
			break;
		case OPT_NONCE:
			if (cp_hex_decode_var(optarg, o->nonce, sizeof(o->nonce), &o->nonce_len, &err) < 0 || !o->nonce_len) {
				fprintf(stderr, "carapace attest: --nonce: %s\n", err.code ? err.msg : "empty");
				return -EINVAL;
			}
			break;
		case OPT_VM:
			o->vm = optarg;
			break;
		case OPT_EXPORT:
			o->export_dir = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case OPT_MEAS:
		case OPT_CONFIG:
		case OPT_POLICY_DIGEST:
		case OPT_DEVICE:
			if (!allow_launch || *n_items == 64) {
				fprintf(stderr, "carapace attest: --measurement, --config, --policy-digest and --device "
						"belong to 'carapace attest launch' (at most 64)\n");
				return -EINVAL;
			}
			items[(*n_items)++] = (struct launch_item){ c, optarg };
			break;
		case OPT_ALLOW_RESETTABLE:
			o->allow_resettable = true;
			break;
		case OPT_BOOT_LOG:
			o->boot_log = optarg;
			break;
		case OPT_BOOT_PCRS: {
			struct attest_opts tmp = { 0 };
			o->boot_pcrs_given = true;
			o->boot_pcr_mask = 0;
			if (!strcmp(optarg, "none"))
				break;
			if (parse_pcr_list(optarg, &tmp) < 0 || tmp.pcrs[tmp.n_pcrs - 1] > 7) {
				fprintf(stderr, "carapace attest: --boot-pcrs: expected PCR numbers 0..7 separated by commas, or none\n");
				return -EINVAL;
			}
			for (size_t i = 0; i < tmp.n_pcrs; i++)
				o->boot_pcr_mask |= 1u << tmp.pcrs[i];
			break;
		}
		case OPT_HELP:
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "carapace attest: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int open_tpm_ak(const struct attest_opts *o, struct attest_tpm **tpm, uint8_t **akpub, size_t *akpub_len,
		       struct cp_err *err)
{
	int ret;
	/* The TSS logs to stderr on its own; carapace reports errors itself. */
	setenv("TSS2_LOG", "all+NONE", 0);
	if ((ret = attest_tpm_open(o->tcti, tpm, err)) < 0)
		return ret;
	if (akpub && (ret = attest_tpm_ak_ensure(*tpm, o->ak_alg, o->ak_handle, akpub, akpub_len, err)) < 0)
		return ret;
	return 0;
}

/* The AK as PEM and its TPM name (the pin: nameAlg || H(TPMT_PUBLIC), attributes included). */
static int ak_pem_and_pin(const uint8_t *akpub, size_t len, char **pem, char pin_hex[133], struct cp_err *err)
{
	struct attest_tpm_public pub;
	EVP_PKEY *pkey = NULL;
	uint8_t name[66];
	size_t name_len;
	int ret;

	if ((ret = attest_tpm_public_parse(akpub, len, &pub, err)) < 0 ||
	    (ret = attest_pubkey_from_tpm(&pub, &pkey, err)) < 0)
		return ret;
	ret = attest_pubkey_to_pem(pkey, pem, err);
	if (ret == 0)
		ret = attest_tpm_public_name(&pub, name, &name_len, err);
	EVP_PKEY_free(pkey);
	if (ret == 0)
		cp_hex_encode(name, name_len, pin_hex);
	return ret;
}

static int write_out(const char *path, const void *data, size_t len, struct cp_err *err)
{
	if (!strcmp(path, "-"))
		return fwrite(data, 1, len, stdout) == len ? 0 : cp_err_set(err, EIO, "stdout: write failed");
	return attest_file_write_atomic(path, data, len, err);
}

static int cmd_ak(int argc, char **argv)
{
	struct attest_opts o = { 0 };
	struct cp_err err = { 0 };
	struct attest_tpm *tpm = NULL;
	_cleanup_free_ uint8_t *akpub = NULL;
	_cleanup_free_ char *pem = NULL;
	size_t akpub_len;
	char pin[133];
	int r = parse_common(argc, argv, &o, NULL, NULL, false);

	if (r)
		return r > 0 ? CP_EXIT_OK : CP_EXIT_USAGE;
	r = open_tpm_ak(&o, &tpm, &akpub, &akpub_len, &err);
	attest_tpm_close(tpm);
	if (r < 0 || ak_pem_and_pin(akpub, akpub_len, &pem, pin, &err) < 0)
		return fail("attestation key", &err);
	if (o.out && write_out(o.out, pem, strlen(pem), &err) < 0)
		return fail("writing the AK", &err);
	if (!o.out)
		fputs(pem, stdout);
	printf("name:%s\n", pin);
	return CP_EXIT_OK;
}

/* The value the launch driver puts into SNP HOST_DATA / TDX MRCONFIGID (docs/evidence.md). */
static int cmd_binding(int argc, char **argv)
{
	struct attest_opts o = { 0 };
	struct launch_item items[64];
	size_t n_items = 0;
	struct cp_err err = { 0 };
	struct attest_tpm *tpm = NULL;
	_cleanup_free_ uint8_t *akpub = NULL;
	uint8_t policy[32], binding[32];
	size_t akpub_len;
	char hex[65];
	int r = parse_common(argc, argv, &o, items, &n_items, true);

	if (r)
		return r > 0 ? CP_EXIT_OK : CP_EXIT_USAGE;
	if (n_items != 1 || items[0].opt != OPT_POLICY_DIGEST || cp_hex_decode(items[0].arg, policy, 32, &err) < 0) {
		fprintf(stderr, "carapace attest binding: needs exactly one --policy-digest HEX (32 bytes)%s%s\n",
			err.code ? ": " : "", err.msg);
		return CP_EXIT_USAGE;
	}
	r = open_tpm_ak(&o, &tpm, &akpub, &akpub_len, &err);
	attest_tpm_close(tpm);
	if (r < 0)
		return fail("attestation key", &err);
	if (attest_binding_digest(akpub, akpub_len, policy, binding) < 0)
		return fail("binding digest", NULL);
	cp_hex_encode(binding, 32, hex);
	printf("snp_host_data %s\ntdx_mrconfigid %s%032d\n", hex, hex, 0);
	return CP_EXIT_OK;
}

/* EK enrolment, the host's half: `enrol export -o DIR` presents the EK certificate (from NV)
 * and the AK; `enrol activate --challenge FILE -o FILE` answers the relying party's challenge
 * with TPM2_ActivateCredential. */
static int cmd_enrol(int argc, char **argv)
{
	struct attest_opts o = { 0 };
	struct cp_err err = { 0 };
	struct attest_tpm *tpm = NULL;
	_cleanup_free_ uint8_t *akpub = NULL;
	size_t akpub_len = 0;
	const char *challenge = NULL;
	bool activate;
	int r;

	if (argc < 2 || (strcmp(argv[1], "export") && strcmp(argv[1], "activate"))) {
		fprintf(stderr, "Usage: carapace attest enrol export -o DIR [common options]\n"
				"       carapace attest enrol activate --challenge FILE -o RESPONSE [common options]\n");
		return CP_EXIT_USAGE;
	}
	activate = !strcmp(argv[1], "activate");
	/* --challenge is this subcommand's own option: take it out before the common parser. */
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--challenge") && i + 1 < argc) {
			challenge = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(*argv));
			argc -= 2;
			break;
		}
	r = parse_common(argc - 1, argv + 1, &o, NULL, NULL, false);
	if (r)
		return r > 0 ? CP_EXIT_OK : CP_EXIT_USAGE;
	if (!o.out || (activate && !challenge)) {
		fprintf(stderr, "carapace attest enrol: %s\n", activate ? "needs --challenge FILE and -o FILE" : "needs -o DIR");
		return CP_EXIT_USAGE;
	}
	if (open_tpm_ak(&o, &tpm, &akpub, &akpub_len, &err) < 0) {
		attest_tpm_close(tpm);
		return fail("attestation key", &err);
	}
	if (!activate) {
		_cleanup_free_ uint8_t *ek = NULL;
		size_t ek_len = 0;
		char path[4200];
		r = attest_tpm_ek_cert(tpm, &ek, &ek_len, &err);
		attest_tpm_close(tpm);
		if (r < 0)
			return fail("EK certificate", &err);
		if (!ek)
			return fail("EK certificate", &(struct cp_err){ ENOENT, "the TPM has no EK certificate in NV (0x01c00002, "
							 "0x01c0000a): EK enrolment needs one; pin the AK's name instead (weaker)" });
		if (mkdir(o.out, 0700) < 0 && errno != EEXIST)
			return fail(o.out, &(struct cp_err){ errno, "cannot create the directory" });
		snprintf(path, sizeof(path), "%s/ek.der", o.out);
		if (attest_file_write_atomic(path, ek, ek_len, &err) < 0)
			return fail("writing", &err);
		snprintf(path, sizeof(path), "%s/ak.pub", o.out);
		if (attest_file_write_atomic(path, akpub, akpub_len, &err) < 0)
			return fail("writing", &err);
		printf("wrote %s/ek.der (EK certificate) and %s/ak.pub (AK TPM2B_PUBLIC) for the relying party\n", o.out, o.out);
		return CP_EXIT_OK;
	}
	{
		_cleanup_free_ uint8_t *blob = NULL, *secret = NULL;
		const uint8_t *id, *enc;
		size_t blob_len, id_len, enc_len, secret_len = 0;
		r = cp_file_read(challenge, 65536, &blob, &blob_len, &err);
		if (r == 0)
			r = attest_credential_parse(blob, blob_len, &id, &id_len, &enc, &enc_len, &err);
		if (r == 0)
			r = attest_tpm_activate_credential(tpm, o.ak_handle ? o.ak_handle
							   : o.ak_alg == ATTEST_AK_RSA_2048 ? ATTEST_AK_HANDLE_RSA
											    : ATTEST_AK_HANDLE_ECC,
							   id, id_len, enc, enc_len, &secret, &secret_len, &err);
		attest_tpm_close(tpm);
		if (r < 0)
			return fail("credential activation", &err);
		if (write_out(o.out, secret, secret_len, &err) < 0)
			return fail("writing the response", &err);
		fprintf(stderr, "carapace attest: the TPM activated the credential: return %s to the relying party\n", o.out);
		return CP_EXIT_OK;
	}
}

static int cmd_stop(int argc, char **argv)
{
	struct attest_opts o = { 0 };
	struct cp_err err = { 0 };
	struct attest_tpm *tpm = NULL;
	bool recovered = false;
	int r = parse_common(argc, argv, &o, NULL, NULL, false);

	if (r)
		return r > 0 ? CP_EXIT_OK : CP_EXIT_USAGE;
	if (!o.vm) {
		fprintf(stderr, "carapace attest stop: needs --vm NAME\n");
		return CP_EXIT_USAGE;
	}
	if (open_tpm_ak(&o, &tpm, NULL, NULL, &err) < 0)
		return fail("TPM", &err);
	r = attest_launch_stop(tpm, o.state_dir, o.vm, &recovered, &err);
	attest_tpm_close(tpm);
	if (recovered)
		fprintf(stderr, "carapace attest: repaired the host launch log after a crash (see carapace-attest(1))\n");
	if (r < 0)
		return fail("recording the stop", &err);
	printf("recorded the stop of VM %s in the host launch log\n", o.vm);
	return CP_EXIT_OK;
}

static int cmd_launch(int argc, char **argv)
{
	struct attest_opts o = { .pcrs = { ATTEST_HOSTLOG_PCR_DEFAULT }, .n_pcrs = 1 };
	bool recovered = false;
	struct launch_item items[64];
	size_t n_items = 0;
	struct cp_err err = { 0 };
	struct attest_tpm *tpm = NULL;
	struct attest_launch l;
	int r = parse_common(argc, argv, &o, items, &n_items, true);

	if (r)
		return r > 0 ? CP_EXIT_OK : CP_EXIT_USAGE;
	if (!o.vm || o.n_pcrs != 1) {
		fprintf(stderr, "carapace attest launch: needs --vm NAME and exactly one --pcr\n");
		return CP_EXIT_USAGE;
	}
	if (open_tpm_ak(&o, &tpm, NULL, NULL, &err) < 0)
		return fail("TPM", &err);
	r = attest_launch_begin(&l, tpm, o.state_dir, o.vm, o.pcrs[0], o.allow_resettable, &err);
	for (size_t i = 0; r == 0 && i < n_items; i++) {
		uint8_t buf[32 + ATTEST_VM_NAME_MAX];
		size_t len = 0;
		switch (items[i].opt) {
		case OPT_MEAS:
			r = cp_hex_decode_var(items[i].arg, buf, 48, &len, &err);
			if (r == 0)
				r = attest_launch_record(&l, ATTEST_EVENT_LAUNCH_MEASUREMENT, buf, len, &err);
			break;
		case OPT_POLICY_DIGEST:
			r = cp_hex_decode(items[i].arg, buf, 32, &err);
			if (r == 0)
				r = attest_launch_record(&l, ATTEST_EVENT_LAUNCH_POLICY, buf, 32, &err);
			break;
		case OPT_CONFIG: {
			_cleanup_free_ uint8_t *cfg = NULL;
			size_t cfg_len;
			r = cp_file_read(items[i].arg, FILE_MAX, &cfg, &cfg_len, &err);
			if (r == 0)
				r = attest_launch_record_config(&l, cfg, cfg_len, &err);
			break;
		}
		case OPT_DEVICE: {
			const char *eq = strchr(items[i].arg, '=');
			size_t nlen = eq ? (size_t)(eq - items[i].arg) : 0;
			if (!eq || nlen > ATTEST_VM_NAME_MAX) {
				r = cp_err_set(&err, EINVAL, "--device: expected NAME=SHA256HEX");
				break;
			}
			r = cp_hex_decode(eq + 1, buf, 32, &err);
			memcpy(buf + 32, items[i].arg, nlen);
			if (r == 0)
				r = attest_launch_record(&l, ATTEST_EVENT_DEVICE_HELPER, buf, 32 + nlen, &err);
			break;
		}
		}
	}
	if (r == 0)
		r = attest_launch_commit(&l, &recovered, &err);
	if (recovered)
		fprintf(stderr, "carapace attest: repaired the host launch log after a crash (see carapace-attest(1))\n");
	if (r == 0)
		printf("recorded the launch of VM %s (%zu events, %s/eventlog.bin) in the host launch log, PCR %u\n", o.vm,
		       l.log.count, l.dir, o.pcrs[0]);
	attest_launch_end(&l);
	attest_tpm_close(tpm);
	return r < 0 ? fail("recording launch events", &err) : CP_EXIT_OK;
}

/* Read an optional file of the VM's state directory into a blob. */
static int read_state(const char *dir, const char *name, size_t max, struct attest_blob *b, struct cp_err *err)
{
	char path[4200];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	return cp_file_read(path, max, &b->data, &b->len, err);
}

static int export_files(const struct attest_opts *o, const struct attest_evidence *ev, struct cp_err *err)
{
	_cleanup_free_ uint8_t *pcrs = NULL;
	uint8_t values[24][32];
	size_t len;
	char path[4200];
	int ret;

	if (mkdir(o->export_dir, 0700) < 0 && errno != EEXIST)
		return cp_err_set(err, errno, "%s: cannot create: %s", o->export_dir, strerror(errno));
	for (size_t i = 0; i < ev->pcr_count; i++)
		memcpy(values[i], ev->pcrs[i].value, 32);
	if ((ret = attest_tpm_pcrs_tools_format(o->pcrs, o->n_pcrs, (const uint8_t(*)[32])values, &pcrs, &len, err)) < 0)
		return ret;
	struct {
		const char *name;
		const void *data;
		size_t len;
	} files[] = {
		{ "quote.bin", ev->quote.data, ev->quote.len },
		{ "sig.bin", ev->signature.data, ev->signature.len },
		{ "pcrs.bin", pcrs, len },
		{ "ak.pem", ev->ak_pem, strlen(ev->ak_pem) },
		{ "ak.pub", ev->ak_public.data, ev->ak_public.len },
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", o->export_dir, files[i].name);
		if ((ret = attest_file_write_atomic(path, files[i].data, files[i].len, err)) < 0)
			return ret;
	}
	return 0;
}

/* Add a PCR to the ascending, unique selection. */
static void pcr_add(struct attest_opts *o, uint32_t pcr)
{
	size_t i = 0;
	while (i < o->n_pcrs && o->pcrs[i] < pcr)
		i++;
	if (i < o->n_pcrs && o->pcrs[i] == pcr)
		return;
	memmove(&o->pcrs[i + 1], &o->pcrs[i], (o->n_pcrs - i) * sizeof(o->pcrs[0]));
	o->pcrs[i] = pcr;
	o->n_pcrs++;
}

static int produce(struct attest_opts *o, struct attest_evidence *ev, struct cp_err *err)
{
	struct attest_tpm *tpm = NULL;
	struct attest_hostlog_handle h = { .lock_fd = -1 };
	uint8_t values[24][32];
	char dir[4096], pin[133];
	int ret;

	if ((ret = attest_launch_vm_dir(o->state_dir, o->vm, dir, sizeof(dir), err)) < 0)
		return ret;
	if ((ret = read_state(dir, "eventlog.bin", ATTEST_EVENTLOG_MAX_BYTES, &ev->event_log, err)) < 0 ||
	    (ret = read_state(dir, "vm-config", FILE_MAX, &ev->vm_config, err)) < 0 ||
	    (ret = read_state(dir, "snp-report.bin", 4096, &ev->snp_report, err)) < 0 ||
	    (ret = read_state(dir, "snp-cert-table.bin", 65536, &ev->snp_cert_table, err)) < 0 ||
	    (ret = read_state(dir, "tdx-quote.bin", 65536, &ev->tdx_quote, err)) < 0)
		return ret;
	if (!ev->event_log.data)
		return cp_err_set(err, ENOENT, "%s/eventlog.bin: no event log for VM %s (was it launched with attestation?)",
				  dir, o->vm);
	if (!(ev->vm_name = strdup(o->vm)))
		return cp_err_set(err, ENOMEM, "out of memory");
	if (!o->pcrs_given)
		o->n_pcrs = 0;
	/* The host's boot state: its boot log when there is one, and the boot PCRs in the quote. */
	{
		const char *bl = o->boot_log ? o->boot_log : ATTEST_BOOT_LOG_DEFAULT;
		struct stat st;
		if (o->boot_log || stat(bl, &st) == 0) {
			if ((ret = cp_file_read(bl, ATTEST_TCGLOG_MAX_BYTES, &ev->boot_log.data, &ev->boot_log.len, err)) < 0)
				return cp_err_prefix(err, "boot log: ");
		} else {
			fprintf(stderr, "carapace attest: no boot log at %s: the boot PCRs are quoted without one\n", bl);
		}
		for (uint32_t p = 0; p < 8; p++)
			if ((o->boot_pcrs_given ? o->boot_pcr_mask : 0xFFu) & (1u << p))
				pcr_add(o, p);
	}
	ret = open_tpm_ak(o, &tpm, &ev->ak_public.data, &ev->ak_public.len, err);
	if (ret == 0)
		ret = ak_pem_and_pin(ev->ak_public.data, ev->ak_public.len, &ev->ak_pem, pin, err);
	/* The host log is locked from its read to the quote: no launch can slip in between, so the
	 * log shipped replays to the value quoted. */
	if (ret == 0)
		ret = attest_hostlog_open(tpm, o->state_dir, 0, false, &h, err);
	if (ret == 0) {
		if (h.recovered)
			fprintf(stderr, "carapace attest: repaired the host launch log after a crash (see carapace-attest(1))\n");
		pcr_add(o, h.log.pcr);
		if (!(ev->launch_log.data = malloc(h.len)))
			ret = cp_err_set(err, ENOMEM, "out of memory");
		else
			memcpy(ev->launch_log.data, h.bytes, ev->launch_log.len = h.len);
	}
	if (ret == 0)
		ret = attest_tpm_quote(tpm, o->ak_handle ? o->ak_handle
				       : o->ak_alg == ATTEST_AK_RSA_2048 ? ATTEST_AK_HANDLE_RSA : ATTEST_AK_HANDLE_ECC,
				       o->nonce, o->nonce_len, o->pcrs, o->n_pcrs, values, &ev->quote.data, &ev->quote.len,
				       &ev->signature.data, &ev->signature.len, err);
	attest_hostlog_close(&h);
	if (ret == 0)
		ret = attest_tpm_ek_cert(tpm, &ev->ek_cert.data, &ev->ek_cert.len, err);
	attest_tpm_close(tpm);
	if (ret < 0)
		return ret;
	ev->pcr_count = (uint32_t)o->n_pcrs;
	for (size_t i = 0; i < o->n_pcrs; i++) {
		ev->pcrs[i].index = o->pcrs[i];
		memcpy(ev->pcrs[i].value, values[i], 32);
	}
	fprintf(stderr, "carapace attest: quoted PCR(s)");
	for (size_t i = 0; i < o->n_pcrs; i++)
		fprintf(stderr, " %u", o->pcrs[i]);
	fprintf(stderr, " with AK name:%s%s\n", pin, ev->ek_cert.data ? " (EK certificate included)" : "");
	return 0;
}

int attest_cli_attest(int argc, char **argv)
{
	struct attest_opts o = { 0 };
	struct attest_evidence ev = { 0 };
	struct cp_err err = { 0 };
	_cleanup_free_ char *json = NULL;
	int r;

	if (argc >= 2 && !strcmp(argv[1], "ak"))
		return cmd_ak(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "binding"))
		return cmd_binding(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "launch"))
		return cmd_launch(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "stop"))
		return cmd_stop(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "enrol"))
		return cmd_enrol(argc - 1, argv + 1);
	r = parse_common(argc, argv, &o, NULL, NULL, false);
	if (r)
		return r > 0 ? CP_EXIT_OK : CP_EXIT_USAGE;
	if (!o.nonce_len || !o.out || !o.vm) {
		fprintf(stderr, "carapace attest: --nonce HEX, -o FILE and --vm NAME are required\n");
		usage(stderr);
		return CP_EXIT_USAGE;
	}
	r = produce(&o, &ev, &err);
	if (r == 0)
		r = attest_evidence_to_json(&ev, &json, &err);
	if (r == 0)
		r = write_out(o.out, json, strlen(json), &err);
	if (r == 0 && o.export_dir)
		r = export_files(&o, &ev, &err);
	attest_evidence_free(&ev);
	return r < 0 ? fail("cannot produce evidence", &err) : CP_EXIT_OK;
}
