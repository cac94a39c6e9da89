/* TDX quote verification: quote and QE report signatures, the QE's binding of the attestation
 * key, the PCK chain to the pinned Intel SGX Root CA, CRLs and PCS collateral when given, TD
 * attributes and the relying party's policy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "attest/hw/crypto.h"
#include "attest/hw/tdx_collateral.h"
#include "attest/hw/tdx_quote.h"
#include "attest/hw/verify.h"
#include "common/util.h"

#define PASS ATTEST_HW_PASS
#define FAIL ATTEST_HW_FAIL
#define SKIP ATTEST_HW_SKIP

/* Intel's QE vendor ID (939A7233-F79C-4CA9-940A-0DB3957F0607). */
static const uint8_t intel_qe_vendor[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
					     0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };

struct pck_chain {
	STACK_OF(X509) *certs; /* leaf, intermediate, root; NULL when unusable */
	X509 *leaf, *inter, *root;
	bool ok;
};

/* A chain that ends at the pinned Intel root with a given leaf CN (PCK or TCB signing). */
static bool cn_in(X509 *x, const char *const cns[], char *cn, size_t cn_len)
{
	if (attest_hw_cert_cn(x, cn, cn_len) < 0)
		return false;
	for (size_t i = 0; cns[i]; i++)
		if (!strcmp(cn, cns[i]))
			return true;
	return false;
}

/* Intel's chains are exactly leaf → intermediate → root (PCK) or leaf → root (TCB signing):
 * inter_cns NULL means no intermediate is allowed. */
static int intel_chain_check(const uint8_t *pem, size_t len, const char *const leaf_cns[],
			     const char *const inter_cns[], time_t at, struct pck_chain *c, char *why, size_t why_len)
{
	struct cp_err err = { 0 };
	STACK_OF(X509) *untrusted = NULL;
	char cn[80];
	int n;

	memset(c, 0, sizeof(*c));
	c->certs = sk_X509_new_null();
	if (!c->certs)
		return snprintf(why, why_len, "out of memory"), -ENOMEM;
	if (attest_hw_certs_load(pem, len, c->certs, &err) < 0)
		return snprintf(why, why_len, "%s", err.msg), -EINVAL;
	n = sk_X509_num(c->certs);
	if (n != (inter_cns ? 3 : 2))
		return snprintf(why, why_len, "expected %d certificates (%s), got %d", inter_cns ? 3 : 2,
				inter_cns ? "leaf, CA, root" : "leaf, root", n), -EINVAL;
	c->leaf = sk_X509_value(c->certs, 0);
	c->root = sk_X509_value(c->certs, n - 1);
	c->inter = n == 3 ? sk_X509_value(c->certs, 1) : NULL;
	if (!attest_hw_root_matches(c->root, ATTEST_HW_ROOT_INTEL_SGX))
		return snprintf(why, why_len, "last certificate is not the pinned Intel SGX Root CA (SHA-256 of DER differs)"),
		       -EINVAL;
	if (!cn_in(c->leaf, leaf_cns, cn, sizeof(cn)))
		return snprintf(why, why_len, "leaf CN '%s' is not %s", cn, leaf_cns[0]), -EINVAL;
	if (c->inter && !cn_in(c->inter, inter_cns, cn, sizeof(cn)))
		return snprintf(why, why_len, "intermediate CN '%s' is not %s", cn, inter_cns[0]), -EINVAL;
	if (!attest_hw_key_is_ec(X509_get0_pubkey(c->leaf), "prime256v1"))
		return snprintf(why, why_len, "leaf key is not ECDSA P-256"), -EINVAL;
	untrusted = sk_X509_new_null();
	if (!untrusted || (c->inter && !sk_X509_push(untrusted, c->inter))) {
		sk_X509_free(untrusted);
		return snprintf(why, why_len, "out of memory"), -ENOMEM;
	}
	int rc = attest_hw_chain_verify(c->leaf, untrusted, c->root, at, why, why_len);
	sk_X509_free(untrusted);
	if (rc == 0)
		c->ok = true;
	return rc;
}

static void pck_chain_free(struct pck_chain *c)
{
	sk_X509_pop_free(c->certs, X509_free);
	memset(c, 0, sizeof(*c));
}

static X509_CRL *crl_load(const struct attest_hw_blob *b)
{
	X509_CRL *crl = NULL;

	if (b->len > INT32_MAX)
		return NULL;
	if (b->len >= 10 && memmem(b->data, b->len, "-----BEGIN", 10)) {
		BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
		crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else {
		const unsigned char *p = b->data;
		crl = d2i_X509_CRL(NULL, &p, (long)b->len);
		if (crl && p != b->data + b->len) {
			X509_CRL_free(crl);
			crl = NULL;
		}
	}
	ERR_clear_error();
	return crl;
}

/* A CRL from `issuer`, current at `at`, that does not list `subject`. */
static void check_crl(struct attest_hw_result *res, const char *name, const struct attest_hw_blob *b, X509 *issuer,
		      X509 *subject, time_t at)
{
	X509_CRL *crl;
	X509_REVOKED *rev = NULL;
	const ASN1_TIME *next;

	if (!b->data) {
		attest_hw_result_add(res, name, SKIP, "not given");
		return;
	}
	if (!issuer || !subject) {
		attest_hw_result_add(res, name, FAIL, "the PCK chain has no certificate this CRL could cover");
		return;
	}
	crl = crl_load(b);
	if (!crl) {
		attest_hw_result_add(res, name, FAIL, "not a DER or PEM CRL");
		return;
	}
	next = X509_CRL_get0_nextUpdate(crl);
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)))
		attest_hw_result_add(res, name, FAIL, "issued by someone other than the certificate's issuer");
	else if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
		attest_hw_result_add(res, name, FAIL, "CRL signature does not verify under its issuer");
	else if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &at) > 0 || !next || X509_cmp_time(next, &at) < 0)
		attest_hw_result_add(res, name, FAIL, "CRL not current at the given time");
	else if (X509_CRL_get0_by_cert(crl, &rev, subject) == 1)
		attest_hw_result_add(res, name, FAIL, "certificate is REVOKED");
	else
		attest_hw_result_add(res, name, PASS, "signed by the issuer, current, certificate not listed");
	ERR_clear_error();
	X509_CRL_free(crl);
}

/* Collateral: the signature must verify under a TCB signing chain ending at the pinned Intel root;
 * without one the collateral is "not verifiable", which fails — never passes. */
static void check_collateral(struct attest_hw_result *res, const char *name, const struct attest_hw_blob *b,
			     const char *key, const struct attest_hw_tdx_input *in, const struct attest_hw_tdx_quote *q,
			     const struct attest_hw_pck_info *pck)
{
	static const char *const tcb_cns[] = { "Intel SGX TCB Signing", NULL };
	struct cp_err err = { 0 };
	struct pck_chain chain;
	char why[ATTEST_HW_DETAIL_MAX], status[48] = "";
	char *text = NULL;
	uint8_t sig[64];
	int rc;

	if (!b->data) {
		attest_hw_result_add(res, name, SKIP, "not given");
		return;
	}
	if (attest_hw_collateral_split(b->data, b->len, key, &text, sig, &err) < 0) {
		attest_hw_result_add(res, name, FAIL, "%s", err.msg);
		return;
	}
	if (!in->tcb_chain.data) {
		attest_hw_result_add(res, name, FAIL, "not verifiable: no TCB signing chain given (--tcb-chain), so its "
				     "signature cannot be checked; unverified collateral is never used");
		free(text);
		return;
	}
	if (intel_chain_check(in->tcb_chain.data, in->tcb_chain.len, tcb_cns, NULL, in->at, &chain, why, sizeof(why)) < 0) {
		attest_hw_result_add(res, name, FAIL, "TCB signing chain: %s", why);
		goto out;
	}
	if (attest_hw_ecdsa_verify(X509_get0_pubkey(chain.leaf), EVP_sha256(), sig, sig + 32, 32, false,
				   (const uint8_t *)text, strlen(text)) < 0) {
		attest_hw_result_add(res, name, FAIL, "signature does not verify under the TCB signing key");
		goto out;
	}
	if (!pck) {
		attest_hw_result_add(res, name, FAIL, "signature verifies, but the PCK certificate is unusable");
		goto out;
	}
	rc = !strcmp(key, "tcbInfo") ? attest_hw_tcbinfo_eval(text, q, pck, in->at, status, sizeof(status), &err)
				     : attest_hw_qeid_eval(text, q, in->at, status, sizeof(status), &err);
	if (rc < 0)
		attest_hw_result_add(res, name, FAIL, "%s", err.msg);
	else if (strcmp(status, "UpToDate"))
		attest_hw_result_add(res, name, FAIL, "signed, matching level has status %s (only UpToDate is accepted)", status);
	else
		attest_hw_result_add(res, name, PASS, "signed by Intel, current, matching level UpToDate");
out:
	pck_chain_free(&chain);
	free(text);
}

static void check_bytes(struct attest_hw_result *res, const char *name, const struct cp_refvals_bytes *want,
			const uint8_t *have, size_t len)
{
	char hex[2 * 64 + 1];

	if (!want->set)
		return;
	if (!cp_refvals_bytes_match(want, have, len)) {
		cp_hex_encode(have, len, hex);
		attest_hw_result_add(res, name, FAIL, "mismatch: quote has %s", hex);
	} else {
		attest_hw_result_add(res, name, PASS, "matches the policy");
	}
}

static void check_td(const struct attest_hw_tdx_input *in, const struct attest_hw_tdx_quote *q,
		     struct attest_hw_result *res)
{
	const struct cp_refvals_tdx *pol = in->policy;
	static const char *const rtmr_names[4] = { "policy-rtmr0", "policy-rtmr1", "policy-rtmr2", "policy-rtmr3" };
	static const uint8_t zero8[8];
	uint64_t attr = cp_le64(q->body.td_attributes);

	if (!(attr & ATTEST_HW_TDX_TDATTR_DEBUG))
		attest_hw_result_add(res, "debug", PASS, "TD attributes 0x%016llx: not a debug TD", (unsigned long long)attr);
	else if (in->allow_debug || (pol && pol->allow_debug))
		attest_hw_result_add(res, "debug", PASS, "debug TD accepted by %s",
				     in->allow_debug ? "--allow-debug" : "the policy's allow_debug");
	else
		attest_hw_result_add(res, "debug", FAIL, "TD attributes 0x%016llx: DEBUG set (the host can read the TD); "
				     "refused without --allow-debug", (unsigned long long)attr);
	/* A non-zero SEAMATTRIBUTES means a debug TDX module: nothing it reports can be trusted. */
	attest_hw_result_add(res, "seam-attributes", memcmp(q->body.seam_attributes, zero8, 8) ? FAIL : PASS,
			     "SEAMATTRIBUTES 0x%016llx", (unsigned long long)cp_le64(q->body.seam_attributes));
	if (!pol) {
		attest_hw_result_add(res, "policy", SKIP, "no policy file: MRTD, RTMRs, REPORTDATA not compared");
		return;
	}
	if (pol->mrtd.n) {
		char hex[2 * 48 + 1];

		cp_hex_encode(q->body.mrtd, 48, hex);
		if (cp_refvals_digest_listed(&pol->mrtd, q->body.mrtd))
			attest_hw_result_add(res, "policy-mrtd", PASS, "matches the policy");
		else
			attest_hw_result_add(res, "policy-mrtd", FAIL, "mismatch: quote has %s (%zu accepted)", hex, pol->mrtd.n);
	}
	for (int i = 0; i < 4; i++)
		check_bytes(res, rtmr_names[i], &pol->rtmr[i], q->body.rtmr[i], 48);
	check_bytes(res, "policy-mrconfigid", &pol->mrconfigid, q->body.mrconfigid, 48);
	check_bytes(res, "policy-mrowner", &pol->mrowner, q->body.mrowner, 48);
	check_bytes(res, "policy-mrownerconfig", &pol->mrownerconfig, q->body.mrownerconfig, 48);
	check_bytes(res, "policy-report-data", &pol->report_data, q->body.report_data, 64);
	check_bytes(res, "policy-mrseam", &pol->mrseam, q->body.mrseam, 48);
	check_bytes(res, "policy-xfam", &pol->xfam, q->body.xfam, 8);
	check_bytes(res, "policy-td-attributes", &pol->td_attributes, q->body.td_attributes, 8);
}

int attest_hw_tdx_verify(const struct attest_hw_tdx_input *in, struct attest_hw_result *res)
{
	static const char *const pck_cns[] = { "Intel SGX PCK Certificate", NULL };
	static const char *const pck_ca_cns[] = { "Intel SGX PCK Platform CA", "Intel SGX PCK Processor CA", NULL };
	static const uint8_t zero32[32];
	struct attest_hw_tdx_quote q;
	struct attest_hw_pck_info pck;
	struct pck_chain chain = { 0 };
	struct cp_err err = { 0 };
	char why[ATTEST_HW_DETAIL_MAX] = "", cn[80] = "";
	uint8_t digest[SHA256_DIGEST_LENGTH];
	bool pck_ok = false;
	EVP_PKEY *att = NULL;
	EVP_MD_CTX *sha = NULL;

	attest_hw_result_init(res);
	if (attest_hw_tdx_quote_parse(in->quote.data, in->quote.len, &q, &err) < 0) {
		attest_hw_result_add(res, "quote-format", FAIL, "%s", err.msg);
		return 0;
	}
	attest_hw_result_add(res, "quote-format", PASS, "version %u, %s body, ECDSA P-256, QE report and PCK chain present",
			     q.version, q.body.is_tdx15 ? "TDX 1.5" : "TDX 1.0");
	if (q.trailing == 0)
		attest_hw_result_add(res, "trailing-bytes", PASS, "none");
	else
		/* Bytes after the signature data are covered by no signature and are never read. */
		attest_hw_result_add(res, "trailing-bytes", PASS, "%zu unsigned bytes after the signature data ignored%s",
				     q.trailing, q.trailing_zero ? " (zero padding)" : " (not zero)");
	attest_hw_result_add(res, "qe-vendor", memcmp(q.qe_vendor_id, intel_qe_vendor, 16) ? FAIL : PASS,
			     "QE vendor ID %s Intel's", memcmp(q.qe_vendor_id, intel_qe_vendor, 16) ? "is not" : "is");

	if (intel_chain_check(q.pck_chain, q.pck_chain_len, pck_cns, pck_ca_cns, in->at, &chain, why, sizeof(why)) < 0) {
		attest_hw_result_add(res, "pck-chain", FAIL, "%s", why);
	} else {
		if (chain.inter)
			attest_hw_cert_cn(chain.inter, cn, sizeof(cn));
		attest_hw_result_add(res, "pck-chain", PASS, "PCK -> %s -> Intel SGX Root CA (pinned), valid at the given time",
				     cn[0] ? cn : "(no CA)");
	}
	if (chain.leaf && attest_hw_key_is_ec(X509_get0_pubkey(chain.leaf), "prime256v1") &&
	    attest_hw_ecdsa_verify(X509_get0_pubkey(chain.leaf), EVP_sha256(), q.qe_report_sig, q.qe_report_sig + 32, 32,
				   false, q.qe_report, ATTEST_HW_TDX_QE_REPORT_SIZE) == 0)
		attest_hw_result_add(res, "qe-report-signature", PASS, "QE report signed by the PCK key");
	else
		attest_hw_result_add(res, "qe-report-signature", FAIL, "QE report signature does not verify under the PCK key");

	sha = EVP_MD_CTX_new();
	if (!sha || EVP_DigestInit_ex(sha, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(sha, q.att_key, 64) != 1 ||
	    EVP_DigestUpdate(sha, q.qe_auth, q.qe_auth_len) != 1 || EVP_DigestFinal_ex(sha, digest, NULL) != 1)
		attest_hw_result_add(res, "qe-report-data", FAIL, "could not compute SHA-256");
	else if (memcmp(q.qe.report_data, digest, 32))
		attest_hw_result_add(res, "qe-report-data", FAIL, "QE REPORTDATA[0:32] != SHA-256(attestation key || QE auth data)");
	else if (memcmp(q.qe.report_data + 32, zero32, 32))
		attest_hw_result_add(res, "qe-report-data", FAIL, "QE REPORTDATA[32:64] is not zero");
	else
		attest_hw_result_add(res, "qe-report-data", PASS, "QE binds the attestation key and %zu bytes of auth data",
				     q.qe_auth_len);

	att = attest_hw_p256_from_raw(q.att_key);
	if (att && attest_hw_ecdsa_verify(att, EVP_sha256(), q.signature, q.signature + 32, 32, false, q.signed_data,
					  q.signed_len) == 0)
		attest_hw_result_add(res, "quote-signature", PASS, "ECDSA P-256 over header and body (%zu bytes)", q.signed_len);
	else
		attest_hw_result_add(res, "quote-signature", FAIL, att ? "quote signature does not verify under the attestation key"
								   : "attestation key is not a P-256 point");
	EVP_PKEY_free(att);

	check_crl(res, "pck-crl", &in->pck_crl, chain.inter, chain.leaf, in->at);
	check_crl(res, "root-crl", &in->root_crl, chain.root, chain.inter, in->at);

	if (chain.leaf && attest_hw_pck_info_read(chain.leaf, &pck, &err) == 0)
		pck_ok = true;
	else if (in->tcb_info.data || in->qe_identity.data)
		attest_hw_result_add(res, "pck-extensions", FAIL, "%s", err.code ? err.msg : "no PCK certificate");
	check_collateral(res, "tcb-info", &in->tcb_info, "tcbInfo", in, &q, pck_ok ? &pck : NULL);
	check_collateral(res, "qe-identity", &in->qe_identity, "enclaveIdentity", in, &q, pck_ok ? &pck : NULL);

	check_td(in, &q, res);
	pck_chain_free(&chain);
	EVP_MD_CTX_free(sha);
	ERR_clear_error();
	return 0;
}
