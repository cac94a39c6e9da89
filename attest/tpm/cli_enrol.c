/* carapace verify enrol: the relying party's half of EK-anchored AK enrolment. `challenge`
 * checks the host's EK certificate against the relying party's CA and the AK's public area,
 * then seals a fresh secret to (EK, AK name); `finish` accepts the AK only if the host's TPM
 * gave that secret back (TPM2_ActivateCredential). OS shell over attest/tpm/credential.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "attest/hw/result.h"
#include "attest/tpm/credential.h"
#include "attest/tpm/launch.h"
#include "attest/tpm/pubkey.h"
#include "attest/tpm/wire.h"
#include "common/cleanup.h"
#include "common/cli.h"
#include "attest/tpm/cli.h"
#include "common/util.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: carapace verify enrol challenge --ek-cert DER --ca PEM --ak-public TPM2B_PUBLIC\n"
		   "                                      -o CHALLENGE --secret-out FILE [--at RFC3339-TIME]\n"
		   "       carapace verify enrol finish --ak-public TPM2B_PUBLIC --secret FILE --response FILE\n"
		   "The host answers a challenge with: carapace attest enrol activate --challenge FILE -o RESPONSE\n"
		   "(tpm2_activatecredential reads the same challenge file). See carapace-attest(1).\n");
}

static int fail(const char *what, const struct cp_err *err)
{
	fprintf(stderr, "carapace verify enrol: %s: %s\n", what, err->msg);
	return CP_EXIT_FAILURE;
}

/* The AK the host presents: a TPM2B_PUBLIC that claims a restricted, TPM-resident signing key;
 * its name is what the credential binds to (the TPM checks it at activation). */
static int ak_name_of(const char *path, uint8_t name[66], size_t *name_len, struct cp_err *err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct attest_tpm_public pub;
	const uint32_t need = ATTEST_TPMA_RESTRICTED | ATTEST_TPMA_SIGN | ATTEST_TPMA_FIXEDTPM |
			      ATTEST_TPMA_FIXEDPARENT | ATTEST_TPMA_SENSITIVEDATAORIGIN;
	size_t len;
	int ret;

	if ((ret = cp_file_read(path, 65536, &buf, &len, err)) < 0 ||
	    (ret = attest_tpm_public_parse(buf, len, &pub, err)) < 0)
		return cp_err_prefix(err, "AK %s: ", path);
	if ((pub.attributes & need) != need || (pub.attributes & ATTEST_TPMA_DECRYPT))
		return cp_err_set(err, EINVAL, "AK %s: objectAttributes 0x%08x: not a restricted, fixedTPM, TPM-generated "
				  "signing key", path, pub.attributes);
	if (pub.name_alg != ATTEST_TPM_ALG_SHA256)
		return cp_err_set(err, EINVAL, "AK %s: nameAlg is not SHA-256", path);
	return attest_tpm_public_name(&pub, name, name_len, err);
}

int attest_tpm_cli_verify_enrol(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ek-cert", required_argument, NULL, 'e' }, { "ca", required_argument, NULL, 'c' },
		{ "ak-public", required_argument, NULL, 'a' }, { "output", required_argument, NULL, 'o' },
		{ "secret-out", required_argument, NULL, 's' }, { "secret", required_argument, NULL, 'S' },
		{ "response", required_argument, NULL, 'r' }, { "at", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	const char *ek_path = NULL, *ca_path = NULL, *ak_path = NULL, *out = NULL, *secret_out = NULL,
		   *secret_path = NULL, *resp_path = NULL;
	struct cp_err err = { 0 };
	uint8_t name[66];
	size_t name_len;
	time_t at = 0;
	char hex[133];
	int c;

	if (argc < 2 || (strcmp(argv[1], "challenge") && strcmp(argv[1], "finish"))) {
		usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc >= 2 && !strcmp(argv[1], "--help") ? CP_EXIT_OK : CP_EXIT_USAGE;
	}
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e': ek_path = optarg; break;
		case 'c': ca_path = optarg; break;
		case 'a': ak_path = optarg; break;
		case 'o': out = optarg; break;
		case 's': secret_out = optarg; break;
		case 'S': secret_path = optarg; break;
		case 'r': resp_path = optarg; break;
		case 't':
			if (attest_hw_time_parse(optarg, &at, &err) < 0) {
				fprintf(stderr, "carapace verify enrol: --at: %s\n", err.msg);
				return CP_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return CP_EXIT_OK;
		default: usage(stderr); return CP_EXIT_USAGE;
		}
	}
	if (!ak_path) {
		usage(stderr);
		return CP_EXIT_USAGE;
	}
	if (ak_name_of(ak_path, name, &name_len, &err) < 0)
		return fail("the AK", &err);
	cp_hex_encode(name, name_len, hex);
	if (!strcmp(argv[1], "challenge")) {
		_cleanup_free_ uint8_t *ek = NULL, *ca = NULL, *cred = NULL;
		size_t ek_len, ca_len, cred_len;
		uint8_t secret[ATTEST_CREDENTIAL_SECRET_LEN];
		EVP_PKEY *ek_pub = NULL;
		int r;

		if (!ek_path || !ca_path || !out || !secret_out) {
			usage(stderr);
			return CP_EXIT_USAGE;
		}
		if (cp_file_read(ek_path, 16384, &ek, &ek_len, &err) < 0 || cp_file_read(ca_path, 1u << 20, &ca, &ca_len, &err) < 0)
			return fail("reading", &err);
		if (attest_ek_cert_check(ek, ek_len, ca, ca_len, at, &ek_pub, &err) < 0)
			return fail(ek_path, &err);
		if (RAND_bytes(secret, sizeof(secret)) != 1) {
			EVP_PKEY_free(ek_pub);
			return fail("RAND_bytes", &(struct cp_err){ EIO, "no randomness" });
		}
		r = attest_credential_make(ek_pub, name, name_len, secret, sizeof(secret), &cred, &cred_len, &err);
		EVP_PKEY_free(ek_pub);
		if (r < 0 || attest_file_write_atomic(out, cred, cred_len, &err) < 0 ||
		    attest_file_write_atomic(secret_out, secret, sizeof(secret), &err) < 0) {
			OPENSSL_cleanse(secret, sizeof(secret));
			return fail("the challenge", &err);
		}
		OPENSSL_cleanse(secret, sizeof(secret));
		printf("EK certificate chains to the CA; challenge for AK name:%s written to %s (keep %s secret)\n", hex, out,
		       secret_out);
		return CP_EXIT_OK;
	}
	{
		_cleanup_free_ uint8_t *want = NULL, *got = NULL;
		size_t want_len, got_len;
		if (!secret_path || !resp_path) {
			usage(stderr);
			return CP_EXIT_USAGE;
		}
		if (cp_file_read(secret_path, 64, &want, &want_len, &err) < 0 ||
		    cp_file_read(resp_path, 64, &got, &got_len, &err) < 0)
			return fail("reading", &err);
		if (want_len != got_len || CRYPTO_memcmp(want, got, want_len)) {
			fprintf(stderr, "carapace verify enrol: the response is not the secret: the AK is NOT enrolled (the "
					"TPM that answered does not hold this EK and this AK)\n");
			return CP_EXIT_FAILURE;
		}
		printf("AK enrolled by EK credential activation: name:%s\n"
		       "add it to the policy's \"ak_enrolled\" list\n", hex);
		return CP_EXIT_OK;
	}
}
