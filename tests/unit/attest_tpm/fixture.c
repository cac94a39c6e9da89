/* Builds valid bundles for the verifier tests (see fixture.h). Aborts on any set-up failure:
 * a broken fixture must never turn into a passing test. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "attest/tpm/b64.h"
#include "attest/tpm/eventlog.h"
#include "attest/tpm/hostlog.h"
#include "attest/tpm/pubkey.h"
#include "attest/tpm/wire.h"

#define CHECK(x)                                                                   \
	do {                                                                       \
		if (!(x)) {                                                        \
			fprintf(stderr, "fixture: %s failed at line %d\n", #x, __LINE__); \
			abort();                                                   \
		}                                                                  \
	} while (0)

size_t fx_marshal_attest(const TPMS_ATTEST *a, uint8_t *buf, size_t max)
{
	size_t off = 0;
	CHECK(Tss2_MU_TPMS_ATTEST_Marshal(a, buf, max, &off) == TSS2_RC_SUCCESS);
	return off;
}

size_t fx_marshal_public(const TPM2B_PUBLIC *p, uint8_t *buf, size_t max)
{
	size_t off = 0;
	CHECK(Tss2_MU_TPM2B_PUBLIC_Marshal(p, buf, max, &off) == TSS2_RC_SUCCESS);
	return off;
}

static void bn_out(EVP_PKEY *k, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;
	CHECK(EVP_PKEY_get_bn_param(k, name, &bn));
	CHECK(BN_bn2binpad(bn, out, (int)len) == (int)len);
	BN_free(bn);
}

static void make_key(struct fx *f, uint32_t attrs)
{
	TPMT_PUBLIC *p = &f->pub.publicArea;
	memset(&f->pub, 0, sizeof(f->pub));
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = attrs ? attrs : (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
					       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT);
	if (f->alg == FX_ECDSA) {
		CHECK(f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
		p->type = TPM2_ALG_ECC;
		p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		p->unique.ecc.x.size = p->unique.ecc.y.size = 32;
		bn_out(f->key, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, 32);
		bn_out(f->key, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, 32);
	} else {
		CHECK(f->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
		p->type = TPM2_ALG_RSA;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.rsaDetail.scheme.scheme = f->alg == FX_RSASSA ? TPM2_ALG_RSASSA : TPM2_ALG_RSAPSS;
		p->parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
		p->parameters.rsaDetail.keyBits = 2048;
		p->unique.rsa.size = 256;
		bn_out(f->key, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, 256);
	}
}

static void sign(struct fx *f, const uint8_t *msg, size_t len, TPMT_SIGNATURE *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t out[512];
	size_t olen = sizeof(out);

	CHECK(ctx && EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, f->key) > 0);
	if (f->alg == FX_RSAPSS) {
		CHECK(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
		CHECK(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0);
	}
	CHECK(EVP_DigestSign(ctx, out, &olen, msg, len) > 0);
	EVP_MD_CTX_free(ctx);
	memset(sig, 0, sizeof(*sig));
	sig->signature.ecdsa.hash = TPM2_ALG_SHA256; /* same offset for every scheme */
	if (f->alg == FX_ECDSA) {
		const unsigned char *p = out;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)olen);
		CHECK(es);
		sig->sigAlg = TPM2_ALG_ECDSA;
		sig->signature.ecdsa.signatureR.size = sig->signature.ecdsa.signatureS.size = 32;
		CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig->signature.ecdsa.signatureR.buffer, 32) == 32);
		CHECK(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig->signature.ecdsa.signatureS.buffer, 32) == 32);
		ECDSA_SIG_free(es);
	} else {
		sig->sigAlg = f->alg == FX_RSASSA ? TPM2_ALG_RSASSA : TPM2_ALG_RSAPSS;
		sig->signature.rsassa.hash = TPM2_ALG_SHA256;
		sig->signature.rsassa.sig.size = (UINT16)olen;
		memcpy(sig->signature.rsassa.sig.buffer, out, olen);
	}
}

static void set_blob(struct attest_blob *b, const void *data, size_t len)
{
	free(b->data);
	CHECK(b->data = malloc(len ? len : 1));
	memcpy(b->data, data, len);
	b->len = len;
}

void fx_requote(struct fx *f)
{
	uint8_t buf[2048];
	size_t off = 0, len = fx_marshal_attest(&f->attest, buf, sizeof(buf));
	TPMT_SIGNATURE sig;

	set_blob(&f->ev.quote, buf, len);
	sign(f, buf, len, &sig);
	CHECK(Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, buf, sizeof(buf), &off) == TSS2_RC_SUCCESS);
	set_blob(&f->ev.signature, buf, off);
}

void fx_set_raw_record(struct fx *f, const uint8_t *rec, size_t len)
{
	uint8_t other[32], mine[32], pcr[32], *hl;
	uint8_t zero[32] = { 0 };
	size_t hl_len = ATTEST_HOSTLOG_HEADER_LEN + 3 * ATTEST_HOSTLOG_ENTRY_LEN;
	struct attest_hostlog parsed;

	free(f->ev.event_log.data);
	f->ev.event_log.data = malloc(len);
	CHECK(f->ev.event_log.data);
	memcpy(f->ev.event_log.data, rec, len);
	f->ev.event_log.len = len;
	/* The host log: another tenant's launch, this launch, another tenant's stop. */
	CHECK(hl = malloc(hl_len));
	memset(other, 0x0F, sizeof(other));
	CHECK(attest_hostlog_launch_digest(rec, len, mine) == 0);
	attest_hostlog_header(FX_PCR, f->attest.clockInfo.resetCount, zero, hl);
	attest_hostlog_entry_bytes(ATTEST_HOSTLOG_LAUNCH, other, hl + ATTEST_HOSTLOG_HEADER_LEN);
	attest_hostlog_entry_bytes(ATTEST_HOSTLOG_LAUNCH, mine, hl + ATTEST_HOSTLOG_HEADER_LEN + ATTEST_HOSTLOG_ENTRY_LEN);
	other[0] = 0xF0;
	attest_hostlog_entry_bytes(ATTEST_HOSTLOG_STOP, other, hl + ATTEST_HOSTLOG_HEADER_LEN + 2 * ATTEST_HOSTLOG_ENTRY_LEN);
	free(f->ev.launch_log.data);
	f->ev.launch_log.data = hl;
	f->ev.launch_log.len = hl_len;
	CHECK(attest_hostlog_parse(hl, hl_len, &parsed, NULL, NULL) == 0);
	attest_hostlog_replay(&parsed, parsed.count, pcr);
	attest_hostlog_free(&parsed);
	memcpy(f->ev.pcrs[0].value, pcr, 32);
	f->attest.attested.quote.pcrDigest.size = 32;
	SHA256(pcr, 32, f->attest.attested.quote.pcrDigest.buffer);
	fx_requote(f);
}

void fx_set_log(struct fx *f, const struct attest_eventlog *log)
{
	uint8_t *buf;
	size_t len;

	CHECK(attest_eventlog_serialize(log, &buf, &len, NULL) == 0);
	fx_set_raw_record(f, buf, len);
	free(buf);
}

void fx_make(struct fx *f, enum fx_alg alg, uint32_t attrs)
{
	static const char config[] = "{\"name\":\"vm1\",\"memory\":\"64M\"}";
	struct attest_eventlog log;
	uint8_t buf[1024], cfg_digest[32];
	TPMS_PCR_SELECTION *sel;
	char *pem = NULL;
	size_t len;

	memset(f, 0, sizeof(*f));
	f->alg = alg;
	for (size_t i = 0; i < sizeof(f->nonce); i++)
		f->nonce[i] = (uint8_t)(0xA0 + i);
	memset(f->measurement, 0x4D, sizeof(f->measurement));
	memset(f->policy_digest, 0x50, sizeof(f->policy_digest));
	memset(f->launch_id, 0x1D, sizeof(f->launch_id));
	make_key(f, attrs);
	len = fx_marshal_public(&f->pub, buf, sizeof(buf));
	set_blob(&f->ev.ak_public, buf, len);
	CHECK(attest_pubkey_to_pem(f->key, &pem, NULL) == 0);
	f->ev.ak_pem = pem;
	SHA256(buf + 2, len - 2, f->ak_name); /* TPMT_PUBLIC after the TPM2B size */

	f->attest.magic = TPM2_GENERATED_VALUE;
	f->attest.type = TPM2_ST_ATTEST_QUOTE;
	f->attest.qualifiedSigner.size = 34;
	f->attest.qualifiedSigner.name[1] = 0x0B;
	f->attest.extraData.size = sizeof(f->nonce);
	memcpy(f->attest.extraData.buffer, f->nonce, sizeof(f->nonce));
	f->attest.clockInfo.clock = 12345;
	f->attest.clockInfo.resetCount = 1;
	f->attest.clockInfo.safe = 1;
	f->attest.firmwareVersion = 0x2019102300163636ull;
	f->attest.attested.quote.pcrSelect.count = 1;
	sel = &f->attest.attested.quote.pcrSelect.pcrSelections[0];
	sel->hash = TPM2_ALG_SHA256;
	sel->sizeofSelect = 3;
	sel->pcrSelect[FX_PCR / 8] = 1u << (FX_PCR % 8);
	f->ev.pcr_count = 1;
	f->ev.pcrs[0].index = FX_PCR;

	CHECK(f->ev.vm_name = strdup("vm1"));
	set_blob(&f->ev.vm_config, config, strlen(config));
	SHA256((const uint8_t *)config, strlen(config), cfg_digest);
	attest_eventlog_init(&log);
	CHECK(attest_eventlog_append(&log, FX_PCR, ATTEST_EVENT_VM_START, (const uint8_t *)"vm1", 3, NULL) == 0);
	CHECK(attest_eventlog_append(&log, FX_PCR, ATTEST_EVENT_LAUNCH_ID, f->launch_id, 16, NULL) == 0);
	CHECK(attest_eventlog_append(&log, FX_PCR, ATTEST_EVENT_LAUNCH_MEASUREMENT, f->measurement, 48, NULL) == 0);
	CHECK(attest_eventlog_append(&log, FX_PCR, ATTEST_EVENT_VM_CONFIG, cfg_digest, 32, NULL) == 0);
	CHECK(attest_eventlog_append(&log, FX_PCR, ATTEST_EVENT_LAUNCH_POLICY, f->policy_digest, 32, NULL) == 0);
	fx_set_log(f, &log);
	attest_eventlog_free(&log);
}

void fx_free(struct fx *f)
{
	attest_evidence_free(&f->ev);
	EVP_PKEY_free(f->key);
	f->key = NULL;
}
