/* ESAPI shell: TCTI selection, PCR reset/extend/read, the persistent AK, TPM2_Quote, EK
 * certificate from NV. Trusts the TPM only to do TPM things; its outputs are re-checked by the
 * pure verifier. Every transient object it loads is flushed (swtpm has no resource manager). */
#include "attest/tpm/tpm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "attest/tpm/wire.h"
#include "common/cleanup.h"

struct attest_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	char tcti_conf[256];
};

static int tss_err(struct cp_err *err, TSS2_RC rc, const char *what)
{
	return cp_err_set(err, EIO, "TPM: %s failed: 0x%x (%s)", what, rc, Tss2_RC_Decode(rc));
}

static TSS2_RC probe(struct attest_tpm *t)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
					TPM2_PT_MANUFACTURER, 1, &more, &cap);
	Esys_Free(cap);
	return rc;
}

int attest_tpm_open(const char *tcti, struct attest_tpm **out, struct cp_err *err)
{
	struct attest_tpm *t;
	TSS2_RC rc;

	if (!tcti || !*tcti)
		tcti = getenv(ATTEST_TCTI_ENV);
	if (!tcti || !*tcti)
		tcti = ATTEST_TCTI_DEFAULT;
	if (strlen(tcti) >= sizeof(t->tcti_conf))
		return cp_err_set(err, EINVAL, "TCTI string is too long");
	t = calloc(1, sizeof(*t));
	if (!t)
		return cp_err_set(err, ENOMEM, "out of memory");
	snprintf(t->tcti_conf, sizeof(t->tcti_conf), "%s", tcti);
	rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		free(t);
		return cp_err_set(err, ENODEV, "TPM: no TPM reachable through TCTI \"%s\" (0x%x: %s); set --tcti or %s",
				  tcti, rc, Tss2_RC_Decode(rc), ATTEST_TCTI_ENV);
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc == TSS2_RC_SUCCESS) {
		/* Probe with a read-only command; only a TPM that says it was never started gets a
		 * TPM2_Startup (a kernel resource manager or firmware has normally done it). */
		rc = probe(t);
		if (rc == TPM2_RC_INITIALIZE) {
			rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
			if (rc == TSS2_RC_SUCCESS)
				rc = probe(t);
		}
	}
	if (rc != TSS2_RC_SUCCESS) {
		attest_tpm_close(t);
		return cp_err_set(err, ENODEV, "TPM: the TPM behind TCTI \"%s\" does not answer (0x%x: %s)", tcti, rc,
				  Tss2_RC_Decode(rc));
	}
	*out = t;
	return 0;
}

void attest_tpm_close(struct attest_tpm *tpm)
{
	if (!tpm)
		return;
	if (tpm->esys)
		Esys_Finalize(&tpm->esys);
	if (tpm->tcti)
		Tss2_TctiLdr_Finalize(&tpm->tcti);
	free(tpm);
}

const char *attest_tpm_tcti(const struct attest_tpm *tpm)
{
	return tpm->tcti_conf;
}

int attest_tpm_pcr_reset(struct attest_tpm *tpm, uint32_t pcr, struct cp_err *err)
{
	TSS2_RC rc;
	if (pcr > 23)
		return cp_err_set(err, EINVAL, "PCR %u out of range", pcr);
	rc = Esys_PCR_Reset(tpm->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
	if (rc != TSS2_RC_SUCCESS)
		return cp_err_set(err, EPERM, "TPM: PCR %u cannot be reset from locality 0 (0x%x: %s); use a resettable PCR (16 or 23)",
				  pcr, rc, Tss2_RC_Decode(rc));
	return 0;
}

int attest_tpm_pcr_extend(struct attest_tpm *tpm, uint32_t pcr, const uint8_t digest[32], struct cp_err *err)
{
	TPML_DIGEST_VALUES d = { .count = 1 };
	TSS2_RC rc;

	if (pcr > 23)
		return cp_err_set(err, EINVAL, "PCR %u out of range", pcr);
	d.digests[0].hashAlg = TPM2_ALG_SHA256;
	memcpy(d.digests[0].digest.sha256, digest, 32);
	rc = Esys_PCR_Extend(tpm->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &d);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "PCR_Extend");
	return 0;
}

int attest_tpm_reset_count(struct attest_tpm *tpm, uint32_t *reset_count, struct cp_err *err)
{
	TPMS_TIME_INFO *t = NULL;
	TSS2_RC rc = Esys_ReadClock(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &t);

	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "ReadClock");
	*reset_count = t->clockInfo.resetCount;
	Esys_Free(t);
	return 0;
}

static void selection_for(TPML_PCR_SELECTION *sel, const uint32_t *pcrs, size_t n)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (size_t i = 0; i < n; i++)
		sel->pcrSelections[0].pcrSelect[pcrs[i] / 8] |= (uint8_t)(1u << (pcrs[i] % 8));
}

int attest_tpm_pcr_read(struct attest_tpm *tpm, const uint32_t *pcrs, size_t n, uint8_t (*values)[32],
			struct cp_err *err)
{
	/* One PCR per call: a TPM returns at most 8 digests per PCR_Read and may return fewer. */
	for (size_t i = 0; i < n; i++) {
		TPML_PCR_SELECTION sel, *sel_out = NULL;
		TPML_DIGEST *vals = NULL;
		UINT32 counter;
		TSS2_RC rc;

		if (pcrs[i] > 23)
			return cp_err_set(err, EINVAL, "PCR %u out of range", pcrs[i]);
		selection_for(&sel, &pcrs[i], 1);
		rc = Esys_PCR_Read(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &counter, &sel_out, &vals);
		if (rc != TSS2_RC_SUCCESS)
			return tss_err(err, rc, "PCR_Read");
		if (vals->count != 1 || vals->digests[0].size != 32) {
			Esys_Free(sel_out);
			Esys_Free(vals);
			return cp_err_set(err, EIO, "TPM: no sha256 bank value for PCR %u (is the sha256 bank active?)", pcrs[i]);
		}
		memcpy(values[i], vals->digests[0].buffer, 32);
		Esys_Free(sel_out);
		Esys_Free(vals);
	}
	return 0;
}

static int marshal_public(const TPM2B_PUBLIC *pub, uint8_t **out, size_t *out_len, struct cp_err *err)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t off = 0;
	TSS2_RC rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "marshalling TPM2B_PUBLIC");
	*out = malloc(off);
	if (!*out)
		return cp_err_set(err, ENOMEM, "out of memory");
	memcpy(*out, buf, off);
	*out_len = off;
	return 0;
}

static int persistent_exists(struct attest_tpm *tpm, uint32_t handle, int *exists, struct cp_err *err)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc = Esys_GetCapability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, handle,
					1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "GetCapability(handles)");
	*exists = cap->data.handles.count >= 1 && cap->data.handles.handle[0] == handle;
	Esys_Free(cap);
	return 0;
}

static void ak_template(enum attest_ak_alg alg, TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					  TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
					  TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	if (alg == ATTEST_AK_RSA_2048) {
		t->publicArea.type = TPM2_ALG_RSA;
		t->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		t->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
		t->publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
		t->publicArea.parameters.rsaDetail.keyBits = 2048;
	} else {
		t->publicArea.type = TPM2_ALG_ECC;
		t->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		t->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		t->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		t->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		t->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	}
}

static int ak_create(struct attest_tpm *tpm, enum attest_ak_alg alg, uint32_t handle, struct cp_err *err)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION no_pcrs = { 0 };
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	ESYS_TR obj = ESYS_TR_NONE, persist = ESYS_TR_NONE;
	TSS2_RC rc;

	ak_template(alg, &tmpl);
	rc = Esys_CreatePrimary(tpm->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
				&tmpl, &outside, &no_pcrs, &obj, &pub, &cdata, &chash, &ticket);
	Esys_Free(pub);
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "CreatePrimary(endorsement, AK template)");
	rc = Esys_EvictControl(tpm->esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, handle,
			       &persist);
	Esys_FlushContext(tpm->esys, obj);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "EvictControl(AK -> persistent handle)");
	Esys_TR_Close(tpm->esys, &persist);
	return 0;
}

static int ak_tr(struct attest_tpm *tpm, uint32_t handle, ESYS_TR *tr, struct cp_err *err)
{
	TSS2_RC rc = Esys_TR_FromTPMPublic(tpm->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, tr);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "loading the AK handle");
	return 0;
}

/* The TCG default RSA EK (EK Credential Profile 2.0, template L-1): the key the EK certificate
 * certifies, re-created from the endorsement seed. authPolicy = PolicySecret(TPM_RH_ENDORSEMENT). */
static void ek_template(TPM2B_PUBLIC *t)
{
	static const uint8_t policy_a[32] = { 0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC,
					      0x8D, 0x46, 0xA5, 0xD7, 0x24, 0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52,
					      0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA };
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_RSA;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
					  TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	t->publicArea.authPolicy.size = 32;
	memcpy(t->publicArea.authPolicy.buffer, policy_a, 32);
	t->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	t->publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
	t->publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	t->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.rsaDetail.keyBits = 2048;
	t->publicArea.unique.rsa.size = 256; /* zeros, as the profile requires */
}

int attest_tpm_activate_credential(struct attest_tpm *tpm, uint32_t ak_handle, const uint8_t *id_object,
				   size_t id_len, const uint8_t *enc_secret, size_t enc_len, uint8_t **secret,
				   size_t *secret_len, struct cp_err *err)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION no_pcrs = { 0 };
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL, *cert_info = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	TPM2B_ID_OBJECT blob = { 0 };
	TPM2B_ENCRYPTED_SECRET es = { 0 };
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	ESYS_TR ek = ESYS_TR_NONE, session = ESYS_TR_NONE, ak = ESYS_TR_NONE;
	TSS2_RC rc;
	int ret;

	if (id_len > sizeof(blob.credential) || enc_len > sizeof(es.secret))
		return cp_err_set(err, EINVAL, "credential: the blob or the encrypted seed is too large");
	blob.size = (UINT16)id_len;
	memcpy(blob.credential, id_object, id_len);
	es.size = (UINT16)enc_len;
	memcpy(es.secret, enc_secret, enc_len);
	ek_template(&tmpl);
	rc = Esys_CreatePrimary(tpm->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
				&tmpl, &outside, &no_pcrs, &ek, &pub, &cdata, &chash, &ticket);
	Esys_Free(pub);
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "CreatePrimary(endorsement, EK template L-1)");
	/* The EK's policy: PolicySecret(TPM_RH_ENDORSEMENT), empty endorsement auth. */
	rc = Esys_StartAuthSession(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
				   TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &session);
	if (rc != TSS2_RC_SUCCESS) {
		ret = tss_err(err, rc, "StartAuthSession(policy)");
		goto out;
	}
	rc = Esys_PolicySecret(tpm->esys, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       NULL, NULL, NULL, 0, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		ret = tss_err(err, rc, "PolicySecret(endorsement)");
		goto out;
	}
	if ((ret = ak_tr(tpm, ak_handle, &ak, err)) < 0)
		goto out;
	rc = Esys_ActivateCredential(tpm->esys, ak, ek, ESYS_TR_PASSWORD, session, ESYS_TR_NONE, &blob, &es, &cert_info);
	if (rc != TSS2_RC_SUCCESS) {
		/* TPM_RC_VALUE/ASYMMETRIC on the secret: not this EK's; TPM_RC_INTEGRITY: not this AK's name. */
		ret = tss_err(err, rc,
			      (rc & 0xBF) == TPM2_RC_INTEGRITY ? "ActivateCredential: the credential is not bound to this AK's name"
			      : "ActivateCredential: the credential was not made for this TPM's EK");
		goto out;
	}
	*secret = malloc(cert_info->size ? cert_info->size : 1);
	if (!*secret) {
		ret = cp_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*secret, cert_info->buffer, cert_info->size);
	*secret_len = cert_info->size;
	ret = 0;
out:
	Esys_Free(cert_info);
	if (ak != ESYS_TR_NONE)
		Esys_TR_Close(tpm->esys, &ak);
	if (session != ESYS_TR_NONE)
		Esys_FlushContext(tpm->esys, session);
	Esys_FlushContext(tpm->esys, ek);
	return ret;
}

int attest_tpm_ak_ensure(struct attest_tpm *tpm, enum attest_ak_alg alg, uint32_t handle, uint8_t **pub,
			 size_t *pub_len, struct cp_err *err)
{
	TPM2B_PUBLIC *out_pub = NULL;
	TPM2B_NAME *name = NULL, *qname = NULL;
	struct attest_tpm_public parsed;
	ESYS_TR tr;
	int exists, ret;
	TSS2_RC rc;

	if (!handle)
		handle = alg == ATTEST_AK_RSA_2048 ? ATTEST_AK_HANDLE_RSA : ATTEST_AK_HANDLE_ECC;
	if (handle >> 24 != 0x81)
		return cp_err_set(err, EINVAL, "AK handle 0x%08x is not a persistent handle (0x81xxxxxx)", handle);
	if ((ret = persistent_exists(tpm, handle, &exists, err)) < 0)
		return ret;
	if (!exists && (ret = ak_create(tpm, alg, handle, err)) < 0)
		return ret;
	if ((ret = ak_tr(tpm, handle, &tr, err)) < 0)
		return ret;
	rc = Esys_ReadPublic(tpm->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &out_pub, &name, &qname);
	Esys_TR_Close(tpm->esys, &tr);
	Esys_Free(name);
	Esys_Free(qname);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "ReadPublic(AK)");
	ret = marshal_public(out_pub, pub, pub_len, err);
	Esys_Free(out_pub);
	if (ret < 0)
		return ret;
	/* Whatever sits at the handle must be what we would have created. */
	ret = attest_tpm_public_parse(*pub, *pub_len, &parsed, err);
	if (ret == 0 && (parsed.type != (alg == ATTEST_AK_RSA_2048 ? ATTEST_TPM_ALG_RSA : ATTEST_TPM_ALG_ECC) ||
			 !(parsed.attributes & ATTEST_TPMA_RESTRICTED) || !(parsed.attributes & ATTEST_TPMA_SIGN) ||
			 (parsed.attributes & ATTEST_TPMA_DECRYPT)))
		ret = cp_err_set(err, EEXIST, "TPM: handle 0x%08x holds a %s key that is not a %s restricted signing key",
				 handle, attest_tpm_alg_name(parsed.type), alg == ATTEST_AK_RSA_2048 ? "RSA" : "ECC");
	if (ret < 0) {
		free(*pub);
		*pub = NULL;
	}
	return ret;
}

static int quote_once(struct attest_tpm *tpm, ESYS_TR ak, const uint8_t *nonce, size_t nonce_len,
		      const uint32_t *pcrs, size_t n, uint8_t **quote, size_t *quote_len, uint8_t **sig,
		      size_t *sig_len, struct cp_err *err)
{
	TPM2B_DATA qual = { .size = (UINT16)nonce_len };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPML_PCR_SELECTION sel;
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *signature = NULL;
	uint8_t buf[sizeof(TPMT_SIGNATURE)];
	size_t off = 0;
	TSS2_RC rc;

	memcpy(qual.buffer, nonce, nonce_len);
	selection_for(&sel, pcrs, n);
	rc = Esys_Quote(tpm->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qual, &scheme, &sel, &quoted,
			&signature);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "Quote");
	rc = Tss2_MU_TPMT_SIGNATURE_Marshal(signature, buf, sizeof(buf), &off);
	Esys_Free(signature);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_Free(quoted);
		return tss_err(err, rc, "marshalling TPMT_SIGNATURE");
	}
	*quote = malloc(quoted->size);
	*sig = malloc(off);
	if (!*quote || !*sig) {
		free(*quote);
		free(*sig);
		Esys_Free(quoted);
		return cp_err_set(err, ENOMEM, "out of memory");
	}
	memcpy(*quote, quoted->attestationData, quoted->size);
	*quote_len = quoted->size;
	memcpy(*sig, buf, off);
	*sig_len = off;
	Esys_Free(quoted);
	return 0;
}

int attest_tpm_quote(struct attest_tpm *tpm, uint32_t ak_handle, const uint8_t *nonce, size_t nonce_len,
		     const uint32_t *pcrs, size_t n, uint8_t (*values)[32], uint8_t **quote, size_t *quote_len,
		     uint8_t **sig, size_t *sig_len, struct cp_err *err)
{
	uint8_t after[24][32];
	ESYS_TR ak;
	int ret;

	if (nonce_len == 0 || nonce_len > 64)
		return cp_err_set(err, EINVAL, "nonce is %zu bytes, allowed 1..64", nonce_len);
	if (n == 0 || n > 24)
		return cp_err_set(err, EINVAL, "%zu PCRs selected, allowed 1..24", n);
	if ((ret = ak_tr(tpm, ak_handle, &ak, err)) < 0)
		return ret;
	/* PCR_Read and Quote are separate commands: read before and after, and retry if an
	 * extend slipped in between, so the values shipped are the ones the quote covers. */
	ret = -EAGAIN;
	*quote = *sig = NULL;
	for (int attempt = 0; attempt < 3 && ret == -EAGAIN; attempt++) {
		if ((ret = attest_tpm_pcr_read(tpm, pcrs, n, values, err)) < 0 ||
		    (ret = quote_once(tpm, ak, nonce, nonce_len, pcrs, n, quote, quote_len, sig, sig_len, err)) < 0)
			break;
		ret = attest_tpm_pcr_read(tpm, pcrs, n, after, err);
		if (ret == 0 && memcmp(after, values, n * 32))
			ret = -EAGAIN;
		if (ret < 0) {
			free(*quote);
			free(*sig);
			*quote = *sig = NULL;
		}
	}
	Esys_TR_Close(tpm->esys, &ak);
	if (ret == -EAGAIN)
		ret = cp_err_set(err, EAGAIN, "TPM: PCRs kept changing while quoting");
	return ret;
}

static int nv_read_all(struct attest_tpm *tpm, uint32_t index, uint8_t **cert, size_t *len, struct cp_err *err)
{
	TPM2B_NV_PUBLIC *nvpub = NULL;
	TPM2B_NAME *name = NULL;
	ESYS_TR tr, auth;
	uint8_t *buf;
	uint16_t size;
	TSS2_RC rc;

	rc = Esys_TR_FromTPMPublic(tpm->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
	if (rc != TSS2_RC_SUCCESS)
		return tss_err(err, rc, "loading the EK certificate NV index");
	rc = Esys_NV_ReadPublic(tpm->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nvpub, &name);
	Esys_Free(name);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_TR_Close(tpm->esys, &tr);
		return tss_err(err, rc, "NV_ReadPublic(EK certificate)");
	}
	size = nvpub->nvPublic.dataSize;
	auth = (nvpub->nvPublic.attributes & TPMA_NV_AUTHREAD) ? tr : ESYS_TR_RH_OWNER;
	Esys_Free(nvpub);
	if (size == 0 || !(buf = malloc(size))) {
		Esys_TR_Close(tpm->esys, &tr);
		return size ? cp_err_set(err, ENOMEM, "out of memory") : cp_err_set(err, EIO, "EK certificate index is empty");
	}
	for (uint16_t off = 0; off < size;) {
		TPM2B_MAX_NV_BUFFER *data = NULL;
		uint16_t chunk = size - off > 512 ? 512 : (uint16_t)(size - off);
		rc = Esys_NV_Read(tpm->esys, auth, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, chunk, off, &data);
		if (rc != TSS2_RC_SUCCESS || data->size != chunk) {
			Esys_Free(data);
			free(buf);
			Esys_TR_Close(tpm->esys, &tr);
			return tss_err(err, rc, "NV_Read(EK certificate)");
		}
		memcpy(buf + off, data->buffer, chunk);
		off = (uint16_t)(off + chunk);
		Esys_Free(data);
	}
	Esys_TR_Close(tpm->esys, &tr);
	*cert = buf;
	*len = size;
	return 0;
}

int attest_tpm_ek_cert(struct attest_tpm *tpm, uint8_t **cert, size_t *len, struct cp_err *err)
{
	static const uint32_t indices[] = { ATTEST_EK_CERT_NV_RSA, ATTEST_EK_CERT_NV_ECC };

	*cert = NULL;
	*len = 0;
	for (size_t i = 0; i < ARRAY_SIZE(indices); i++) {
		int exists, ret;
		if ((ret = persistent_exists(tpm, indices[i], &exists, err)) < 0)
			return ret;
		if (exists)
			return nv_read_all(tpm, indices[i], cert, len, err);
	}
	return 0;
}

int attest_tpm_pcrs_tools_format(const uint32_t *pcrs, size_t n, const uint8_t (*values)[32], uint8_t **out,
				 size_t *out_len, struct cp_err *err)
{
	TPML_PCR_SELECTION sel;
	uint32_t count = (uint32_t)((n + 7) / 8);
	size_t total = sizeof(sel) + sizeof(count) + count * sizeof(TPML_DIGEST);
	uint8_t *buf = calloc(1, total), *p;

	if (!buf)
		return cp_err_set(err, ENOMEM, "out of memory");
	selection_for(&sel, pcrs, n);
	memcpy(buf, &sel, sizeof(sel));
	memcpy(buf + sizeof(sel), &count, sizeof(count));
	p = buf + sizeof(sel) + sizeof(count);
	for (uint32_t d = 0; d < count; d++) {
		TPML_DIGEST dig = { 0 };
		for (size_t i = d * 8; i < n && i < d * 8 + 8; i++) {
			dig.digests[dig.count].size = 32;
			memcpy(dig.digests[dig.count].buffer, values[i], 32);
			dig.count++;
		}
		memcpy(p + d * sizeof(dig), &dig, sizeof(dig));
	}
	*out = buf;
	*out_len = total;
	return 0;
}
