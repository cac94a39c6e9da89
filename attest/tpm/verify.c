/* carapace's evidence verifier: signature, nonce, PCR digest, event-log replay, reference
 * values, AK trust and platform binding. Every check reports; nothing passes by default. */
#include "attest/tpm/verify.h"
#include "attest/hw/snp_report.h"
#include "attest/hw/verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "attest/tpm/eventlog.h"
#include "attest/tpm/hostlog.h"
#include "attest/tpm/tcglog.h"
#include "attest/tpm/pubkey.h"
#include "attest/tpm/wire.h"
#include "common/util.h"

static const char *const check_names[ATTEST_CHECK_COUNT] = {
	[ATTEST_CHECK_EVIDENCE_FORMAT] = "evidence-format",
	[ATTEST_CHECK_AK_PUBLIC] = "ak-public",
	[ATTEST_CHECK_QUOTE_STRUCTURE] = "quote-structure",
	[ATTEST_CHECK_SIGNATURE] = "signature",
	[ATTEST_CHECK_NONCE] = "nonce",
	[ATTEST_CHECK_PCR_DIGEST] = "pcr-digest",
	[ATTEST_CHECK_BOOT_LOG] = "boot-log",
	[ATTEST_CHECK_EVENT_LOG] = "event-log",
	[ATTEST_CHECK_VM_LIFECYCLE] = "vm-lifecycle",
	[ATTEST_CHECK_VM_IDENTITY] = "vm-identity",
	[ATTEST_CHECK_LAUNCH_MEASUREMENT] = "launch-measurement",
	[ATTEST_CHECK_LAUNCH_POLICY] = "launch-policy",
	[ATTEST_CHECK_BOOT_PCRS] = "boot-pcrs",
	[ATTEST_CHECK_AK_TRUST] = "ak-trust",
	[ATTEST_CHECK_EK_CERTIFICATE] = "ek-certificate",
	[ATTEST_CHECK_PLATFORM_EVIDENCE] = "platform-evidence",
	[ATTEST_CHECK_BINDING] = "binding",
};

const char *attest_check_name(enum attest_check_id id)
{
	return (unsigned)id < ATTEST_CHECK_COUNT ? check_names[id] : "unknown";
}

const char *attest_check_status_name(enum attest_check_status st)
{
	switch (st) {
	case ATTEST_CHECK_PASS:
		return "PASS";
	case ATTEST_CHECK_SKIP:
		return "SKIP";
	case ATTEST_CHECK_FAIL:
		break;
	}
	return "FAIL";
}

__attribute__((format(printf, 4, 5))) static void set(struct attest_verify_result *res, enum attest_check_id id,
						      enum attest_check_status st, const char *fmt, ...)
{
	va_list ap;
	res->checks[id].status = st;
	va_start(ap, fmt);
	vsnprintf(res->checks[id].detail, sizeof(res->checks[id].detail), fmt, ap);
	va_end(ap);
}

static const EVP_MD *md_for(uint16_t alg)
{
	switch (alg) {
	case ATTEST_TPM_ALG_SHA256:
		return EVP_sha256();
	case ATTEST_TPM_ALG_SHA384:
		return EVP_sha384();
	case ATTEST_TPM_ALG_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* State shared between checks: later checks refuse to run on what earlier ones rejected. */
struct vstate {
	const struct attest_evidence *ev;
	const struct attest_verify_opts *opts;
	struct attest_verify_result *res;
	struct attest_tpm_public pub;
	EVP_PKEY *pkey;
	bool pub_ok;
	struct attest_tpm_quote quote;
	bool quote_ok;
	bool sig_ok;
	uint16_t sig_hash; /* hash of a parsed signature, 0 if none */
	struct attest_eventlog log; /* this VM's launch record */
	struct attest_hostlog hl;   /* the host launch log */
	bool log_ok;
	size_t launch_at, stop_at; /* entry indices; stop_at == SIZE_MAX: no stop */
	struct attest_tcglog *tcg; /* the host's boot log, replayed (NULL: none or rejected) */
	uint8_t ak_name[66]; /* the TPM object's Name (nameAlg || H(TPMT_PUBLIC)) */
	size_t ak_name_len;
};

/* TPMA_OBJECT bits that TPM 2.0 Part 2 (rev 1.59, 8.3) reserves, plus x509sign (bit 19): a TPM
 * refuses to create an object with any of them set, and an AK has no use for x509sign. */
#define TPMA_RESERVED_OR_X509 0xFFF8F309u

static void check_ak_public(struct vstate *v)
{
	struct cp_err err = { 0 };
	const uint32_t need = ATTEST_TPMA_RESTRICTED | ATTEST_TPMA_SIGN | ATTEST_TPMA_FIXEDTPM |
			      ATTEST_TPMA_FIXEDPARENT | ATTEST_TPMA_SENSITIVEDATAORIGIN;
	uint8_t *der;
	size_t der_len;
	char hex[2 * 66 + 1];
	int ret;

	if (attest_tpm_public_parse(v->ev->ak_public.data, v->ev->ak_public.len, &v->pub, &err) < 0) {
		set(v->res, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "%s", err.msg);
		return;
	}
	/* Only a restricted signing key refuses to sign data that starts with TPM_GENERATED_VALUE,
	 * so only its signature proves the TPM itself produced the quote. */
	if (v->pub.attributes & TPMA_RESERVED_OR_X509) {
		set(v->res, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL,
		    "objectAttributes 0x%08x: reserved or x509sign bits 0x%08x are set (no TPM creates such a key)",
		    v->pub.attributes, v->pub.attributes & TPMA_RESERVED_OR_X509);
		return;
	}
	if ((v->pub.attributes & need) != need || (v->pub.attributes & ATTEST_TPMA_DECRYPT)) {
		set(v->res, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL,
		    "objectAttributes 0x%08x: not a restricted, fixedTPM, fixedParent, TPM-generated signing-only key",
		    v->pub.attributes);
		return;
	}
	if (attest_pubkey_from_tpm(&v->pub, &v->pkey, &err) < 0) {
		set(v->res, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "%s", err.msg);
		return;
	}
	/* One DER encoding serves both the PEM comparison and the pin (encoding is costly). */
	if (attest_pubkey_der_from_tpm(&v->pub, v->pkey, &der, &der_len, &err) < 0) {
		set(v->res, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "%s", err.msg);
		return;
	}
	ret = attest_pubkey_pem_matches_der(der, der_len, v->ev->ak_pem, &err);
	OPENSSL_free(der);
	if (ret < 0) {
		set(v->res, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "tpm.ak.pem %s", err.msg);
		return;
	}
	if (attest_tpm_public_name(&v->pub, v->ak_name, &v->ak_name_len, &err) < 0) {
		set(v->res, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_FAIL, "%s", err.msg);
		return;
	}
	cp_hex_encode(v->ak_name, v->ak_name_len, hex);
	v->pub_ok = true;
	/* What this proves: the bundle's TPMT_PUBLIC is well formed and *claims* a restricted,
	 * TPM-resident signing key. It does not prove the claim: only ak-trust does, through a
	 * pinned Name (someone vouched for this exact object) or EK credential activation. */
	if (v->pub.type == ATTEST_TPM_ALG_RSA)
		set(v->res, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_PASS,
		    "well-formed TPMT_PUBLIC claiming a restricted signing key RSA-%u, name:%s", v->pub.rsa_bits, hex);
	else
		set(v->res, ATTEST_CHECK_AK_PUBLIC, ATTEST_CHECK_PASS,
		    "well-formed TPMT_PUBLIC claiming a restricted signing key ECC %s, name:%s",
		    v->pub.curve == ATTEST_TPM_ECC_NIST_P256 ? "P-256" : "P-384", hex);
}

static void check_quote_structure(struct vstate *v)
{
	struct cp_err err = { 0 };
	if (attest_tpm_quote_parse(v->ev->quote.data, v->ev->quote.len, &v->quote, &err) < 0) {
		set(v->res, ATTEST_CHECK_QUOTE_STRUCTURE, ATTEST_CHECK_FAIL, "%s", err.msg);
		return;
	}
	v->quote_ok = true;
	set(v->res, ATTEST_CHECK_QUOTE_STRUCTURE, ATTEST_CHECK_PASS,
	    "TPMS_ATTEST magic 0x%08x type QUOTE, clock %llu, resets %u, restarts %u, firmware 0x%016llx",
	    v->quote.magic, (unsigned long long)v->quote.clock, v->quote.reset_count, v->quote.restart_count,
	    (unsigned long long)v->quote.firmware_version);
}

/* ECDSA r, s as TPM2B big-endian integers -> DER ECDSA-Sig-Value for OpenSSL. */
static int ecdsa_der(const struct attest_tpm_signature *s, unsigned char **der, int *der_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(s->a, (int)s->a_len, NULL), *ss = BN_bin2bn(s->b, (int)s->b_len, NULL);

	if (!sig || !r || !ss || !ECDSA_SIG_set0(sig, r, ss)) {
		ECDSA_SIG_free(sig);
		BN_free(r);
		BN_free(ss);
		return -ENOMEM;
	}
	*der = NULL;
	*der_len = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	return *der_len > 0 ? 0 : -ENOMEM;
}

static void check_signature(struct vstate *v)
{
	struct attest_tpm_signature sig;
	struct cp_err err = { 0 };
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *sigp;
	size_t siglen;
	int der_len = 0, ok;

	if (attest_tpm_signature_parse(v->ev->signature.data, v->ev->signature.len, &sig, &err) < 0) {
		set(v->res, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_FAIL, "%s", err.msg);
		return;
	}
	v->sig_hash = sig.hash;
	if (!v->pub_ok) {
		set(v->res, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_FAIL, "not checked: the AK public key was rejected");
		return;
	}
	if ((v->pub.type == ATTEST_TPM_ALG_ECC) != (sig.sig_alg == ATTEST_TPM_ALG_ECDSA)) {
		set(v->res, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_FAIL, "signature algorithm %s does not fit a %s key",
		    attest_tpm_alg_name(sig.sig_alg), attest_tpm_alg_name(v->pub.type));
		return;
	}
	/* A restricted key with a fixed scheme signs only with that scheme. */
	if (v->pub.scheme != ATTEST_TPM_ALG_NULL && (v->pub.scheme != sig.sig_alg || v->pub.scheme_hash != sig.hash)) {
		set(v->res, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_FAIL,
		    "signature scheme %s/%s differs from the key's scheme %s/%s", attest_tpm_alg_name(sig.sig_alg),
		    attest_tpm_alg_name(sig.hash), attest_tpm_alg_name(v->pub.scheme),
		    attest_tpm_alg_name(v->pub.scheme_hash));
		return;
	}
	if (sig.sig_alg == ATTEST_TPM_ALG_ECDSA) {
		if (ecdsa_der(&sig, &der, &der_len) < 0) {
			set(v->res, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_FAIL, "cannot encode the ECDSA signature");
			return;
		}
		sigp = der;
		siglen = (size_t)der_len;
	} else {
		sigp = sig.a;
		siglen = sig.a_len;
	}
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, md_for(sig.hash), NULL, v->pkey) > 0;
	if (ok && sig.sig_alg == ATTEST_TPM_ALG_RSAPSS)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) > 0;
	else if (ok && sig.sig_alg == ATTEST_TPM_ALG_RSASSA)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	ok = ok && EVP_DigestVerify(ctx, sigp, siglen, v->ev->quote.data, v->ev->quote.len) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	if (!ok) {
		set(v->res, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_FAIL, "%s-%s signature over the %zu-byte TPMS_ATTEST does not verify with the AK",
		    attest_tpm_alg_name(sig.sig_alg), attest_tpm_alg_name(sig.hash), v->ev->quote.len);
		return;
	}
	v->sig_ok = true;
	set(v->res, ATTEST_CHECK_SIGNATURE, ATTEST_CHECK_PASS, "%s-%s signature over the %zu-byte TPMS_ATTEST verifies with the AK",
	    attest_tpm_alg_name(sig.sig_alg), attest_tpm_alg_name(sig.hash), v->ev->quote.len);
}

static void check_nonce(struct vstate *v)
{
	if (!v->quote_ok) {
		set(v->res, ATTEST_CHECK_NONCE, ATTEST_CHECK_FAIL, "not checked: the quote was rejected");
		return;
	}
	if (!v->opts->nonce_len) {
		set(v->res, ATTEST_CHECK_NONCE, ATTEST_CHECK_FAIL, "no nonce given: freshness cannot be checked");
		return;
	}
	if (v->quote.extra_len != v->opts->nonce_len || memcmp(v->quote.extra, v->opts->nonce, v->opts->nonce_len)) {
		set(v->res, ATTEST_CHECK_NONCE, ATTEST_CHECK_FAIL,
		    "quote extraData (%zu bytes) is not the expected %zu-byte nonce: stale or replayed evidence",
		    v->quote.extra_len, v->opts->nonce_len);
		return;
	}
	set(v->res, ATTEST_CHECK_NONCE, ATTEST_CHECK_PASS, "quote extraData equals the %zu-byte nonce", v->opts->nonce_len);
}

static void check_pcr_digest(struct vstate *v)
{
	const struct attest_tpm_pcr_bank *bank;
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	uint32_t listed = 0;
	int ok;

	if (!v->quote_ok) {
		set(v->res, ATTEST_CHECK_PCR_DIGEST, ATTEST_CHECK_FAIL, "not checked: the quote was rejected");
		return;
	}
	if (v->quote.bank_count != 1 || v->quote.banks[0].hash != ATTEST_TPM_ALG_SHA256) {
		set(v->res, ATTEST_CHECK_PCR_DIGEST, ATTEST_CHECK_FAIL,
		    "quote selects %u bank(s) starting with %s; carapace evidence carries exactly the sha256 bank",
		    v->quote.bank_count, attest_tpm_alg_name(v->quote.banks[0].hash));
		return;
	}
	bank = &v->quote.banks[0];
	/* The selection in the signed quote must be exactly the PCRs the bundle lists. */
	for (unsigned i = 0; i < 8u * bank->size_of_select; i++) {
		bool sel = attest_tpm_bank_has(bank, i), have = false;
		for (uint32_t k = 0; k < v->ev->pcr_count; k++)
			have |= v->ev->pcrs[k].index == i;
		if (sel != have) {
			set(v->res, ATTEST_CHECK_PCR_DIGEST, ATTEST_CHECK_FAIL,
			    "PCR %u is %s the quote's selection but %s the bundle", i, sel ? "in" : "not in",
			    have ? "listed in" : "missing from");
			return;
		}
		listed += sel;
	}
	if (listed != v->ev->pcr_count) {
		set(v->res, ATTEST_CHECK_PCR_DIGEST, ATTEST_CHECK_FAIL, "the bundle lists PCRs outside the quote's selection");
		return;
	}
	/* pcrDigest uses the signing scheme's hash: the AK's fixed scheme, else the signature's. */
	md = md_for(v->pub_ok && v->pub.scheme != ATTEST_TPM_ALG_NULL ? v->pub.scheme_hash
		    : v->sig_hash				     ? v->sig_hash
								     : ATTEST_TPM_ALG_SHA256);
	ctx = EVP_MD_CTX_new();
	ok = ctx && md && EVP_DigestInit_ex(ctx, md, NULL);
	for (uint32_t k = 0; ok && k < v->ev->pcr_count; k++)
		ok = EVP_DigestUpdate(ctx, v->ev->pcrs[k].value, 32);
	ok = ok && EVP_DigestFinal_ex(ctx, digest, &dlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || dlen != v->quote.pcr_digest_len || memcmp(digest, v->quote.pcr_digest, dlen)) {
		set(v->res, ATTEST_CHECK_PCR_DIGEST, ATTEST_CHECK_FAIL,
		    "the quote's pcrDigest does not match the %u PCR values in the bundle", v->ev->pcr_count);
		return;
	}
	set(v->res, ATTEST_CHECK_PCR_DIGEST, ATTEST_CHECK_PASS, "pcrDigest matches %u sha256 PCR value(s)%s",
	    v->ev->pcr_count, v->sig_ok ? "" : " (but the quote is not authentic)");
}

static const uint8_t *pcr_value(const struct attest_evidence *ev, uint32_t index)
{
	for (uint32_t k = 0; k < ev->pcr_count; k++)
		if (ev->pcrs[k].index == index)
			return ev->pcrs[k].value;
	return NULL;
}

/* The host's boot log: replayed, it must give every quoted boot PCR (0..7). */
static void check_boot_log(struct vstate *v)
{
	static struct attest_tcglog zero_log;
	const struct attest_tcglog_bank *b;
	struct cp_err err = { 0 };
	uint32_t quoted = 0;
	char list[64] = "";
	size_t pos = 0;

	for (uint32_t k = 0; k < v->ev->pcr_count; k++)
		if (v->ev->pcrs[k].index < 8)
			quoted |= 1u << v->ev->pcrs[k].index;
	if (!v->ev->boot_log.data) {
		set(v->res, ATTEST_CHECK_BOOT_LOG, ATTEST_CHECK_SKIP, "no boot log in the bundle%s",
		    quoted ? ": the quoted boot PCRs are compared only with reference values (boot-pcrs)" : "");
		return;
	}
	v->tcg = malloc(sizeof(*v->tcg));
	if (!v->tcg || attest_tcglog_replay(v->ev->boot_log.data, v->ev->boot_log.len, v->tcg, &err) < 0) {
		set(v->res, ATTEST_CHECK_BOOT_LOG, ATTEST_CHECK_FAIL, "%s", v->tcg ? err.msg : "out of memory");
		goto reject;
	}
	if (!(b = attest_tcglog_bank(v->tcg, ATTEST_TPM_ALG_SHA256))) {
		set(v->res, ATTEST_CHECK_BOOT_LOG, ATTEST_CHECK_FAIL, "the boot log has no sha256 bank (the bank quoted)");
		goto reject;
	}
	if (!quoted) {
		set(v->res, ATTEST_CHECK_BOOT_LOG, ATTEST_CHECK_FAIL, "a boot log is shipped but none of PCRs 0..7 is quoted");
		goto reject;
	}
	for (uint32_t p = 0; p < 8; p++) {
		const uint8_t *want = (b->used & (1u << p)) ? b->pcr[p] : zero_log.banks[0].pcr[0];
		if (!(quoted & (1u << p)))
			continue;
		if (memcmp(pcr_value(v->ev, p), want, 32)) {
			set(v->res, ATTEST_CHECK_BOOT_LOG, ATTEST_CHECK_FAIL,
			    "replaying the boot log's %u events does not give the quoted value of PCR %u", v->tcg->events, p);
			goto reject;
		}
		pos += (size_t)snprintf(list + pos, sizeof(list) - pos, "%s%u", pos ? "," : "", p);
	}
	set(v->res, ATTEST_CHECK_BOOT_LOG, ATTEST_CHECK_PASS, "%s boot log, %u events, replays to the quoted PCRs %s",
	    v->tcg->crypto_agile ? "crypto-agile" : "SHA-1", v->tcg->events, list);
	return;
reject:
	free(v->tcg);
	v->tcg = NULL;
}

/* The quoted boot PCRs against the relying party's reference values. */
static void check_boot_pcrs(struct vstate *v)
{
	const struct attest_evidence_policy *pol = v->opts->policy;
	unsigned n = 0;

	if (!pol || !pol->boot_pcr_mask) {
		set(v->res, ATTEST_CHECK_BOOT_PCRS, ATTEST_CHECK_SKIP, "no reference boot PCR values given (policy boot_pcrs)");
		return;
	}
	for (uint32_t p = 0; p < 8; p++) {
		const uint8_t *q;
		if (!(pol->boot_pcr_mask & (1u << p)))
			continue;
		if (!(q = pcr_value(v->ev, p))) {
			set(v->res, ATTEST_CHECK_BOOT_PCRS, ATTEST_CHECK_FAIL, "PCR %u has a reference value but is not quoted", p);
			return;
		}
		if (memcmp(q, pol->boot_pcrs[p], 32)) {
			set(v->res, ATTEST_CHECK_BOOT_PCRS, ATTEST_CHECK_FAIL,
			    "PCR %u differs from its reference value: the host booted something else", p);
			return;
		}
		n++;
	}
	set(v->res, ATTEST_CHECK_BOOT_PCRS, ATTEST_CHECK_PASS, "%u quoted boot PCR(s) equal their reference values%s", n,
	    v->tcg ? " (and the boot log explains them)" : "");
}

/* How many events of `type` the record holds; *first = the first one. */
static size_t count_events(const struct attest_eventlog *log, uint16_t type, const struct attest_event **first)
{
	size_t n = 0;
	*first = NULL;
	for (size_t i = 0; i < log->count; i++)
		if (log->events[i].type == type && !n++)
			*first = &log->events[i];
	return n;
}

/* The VM's launch record, and the host launch log replayed to the quoted PCR; the record's
 * launch entry found there exactly once (issue 14). */
static void check_event_log(struct vstate *v)
{
	struct cp_err err = { 0 };
	const struct attest_event *start, *idev;
	const uint8_t *quoted;
	uint8_t replay[32], launch[32], zero[32] = { 0 };
	size_t n_launch = 0;

	v->stop_at = SIZE_MAX;
	if (attest_eventlog_parse(v->ev->event_log.data, v->ev->event_log.len, &v->log, &err) < 0) {
		set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "launch record: %s", err.msg);
		return;
	}
	if (count_events(&v->log, ATTEST_EVENT_VM_START, &start) != 1 ||
	    count_events(&v->log, ATTEST_EVENT_LAUNCH_ID, &idev) != 1) {
		set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL,
		    "launch record: needs exactly one vm-start and one launch-id event (nothing was launched?)");
		return;
	}
	if (attest_hostlog_parse(v->ev->launch_log.data, v->ev->launch_log.len, &v->hl, NULL, &err) < 0) {
		set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "%s", err.msg);
		return;
	}
	for (size_t i = 0; i < v->log.count; i++)
		if (v->log.events[i].pcr != v->hl.pcr) {
			set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL,
			    "launch record: event %zu names PCR %u, the host launch log extends PCR %u", i,
			    v->log.events[i].pcr, v->hl.pcr);
			return;
		}
	quoted = pcr_value(v->ev, v->hl.pcr);
	if (!quoted) {
		set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "the host launch log extends PCR %u, which is not quoted",
		    v->hl.pcr);
		return;
	}
	if (v->quote_ok && v->quote.reset_count != v->hl.reset_count) {
		set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL,
		    "the host launch log belongs to TPM boot (resetCount) %u, the quote to %u", v->hl.reset_count,
		    v->quote.reset_count);
		return;
	}
	/* The log starts where the PCR stood at the host's boot: zero, or what the boot log put
	 * there. A base nothing explains could hide entries before the first one shipped. */
	{
		const struct attest_tcglog_bank *b = v->tcg ? attest_tcglog_bank(v->tcg, ATTEST_TPM_ALG_SHA256) : NULL;
		const uint8_t *want = b && (b->used & (1u << v->hl.pcr)) ? b->pcr[v->hl.pcr] : zero;
		if (memcmp(v->hl.base, want, 32)) {
			set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL,
			    "the host launch log starts PCR %u at a value that %s", v->hl.pcr,
			    v->tcg ? "the bundle's boot log does not give" : "no boot log in the bundle explains (non-zero)");
			return;
		}
	}
	attest_hostlog_replay(&v->hl, v->hl.count, replay);
	if (memcmp(replay, quoted, 32)) {
		set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL,
		    "replaying the host launch log's %zu entries does not give the quoted value of PCR %u", v->hl.count,
		    v->hl.pcr);
		return;
	}
	if (attest_hostlog_launch_digest(v->ev->event_log.data, v->ev->event_log.len, launch) < 0) {
		set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL, "SHA-256 failed");
		return;
	}
	for (size_t i = 0; i < v->hl.count; i++)
		if (v->hl.entries[i].type == ATTEST_HOSTLOG_LAUNCH && !memcmp(v->hl.entries[i].digest, launch, 32) &&
		    !n_launch++)
			v->launch_at = i;
	if (n_launch != 1) {
		set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_FAIL,
		    n_launch ? "this VM's launch appears %zu times in the host launch log (duplicated)"
			     : "this VM's launch is missing from the host launch log (%zu entries)",
		    n_launch ? n_launch : v->hl.count);
		return;
	}
	v->log_ok = true;
	set(v->res, ATTEST_CHECK_EVENT_LOG, ATTEST_CHECK_PASS,
	    "host launch log: %zu entries replay to PCR %u (TPM boot %u); this VM's launch record (%zu events) is entry %zu; "
	    "the other entries are digests only",
	    v->hl.count, v->hl.pcr, v->hl.reset_count, v->log.count, v->launch_at);
}

/* Running or stopped: the stop entry carries the digest of this launch's id. */
static void check_vm_lifecycle(struct vstate *v)
{
	const struct attest_event *idev;
	uint8_t stop[32];
	size_t n = 0;

	if (!v->log_ok) {
		set(v->res, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_FAIL, "not checked: the launch was not found");
		return;
	}
	count_events(&v->log, ATTEST_EVENT_LAUNCH_ID, &idev);
	if (attest_hostlog_stop_digest(idev->data, stop) < 0) {
		set(v->res, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_FAIL, "SHA-256 failed");
		return;
	}
	for (size_t i = 0; i < v->hl.count; i++)
		if (v->hl.entries[i].type == ATTEST_HOSTLOG_STOP && !memcmp(v->hl.entries[i].digest, stop, 32) && !n++)
			v->stop_at = i;
	if (n > 1 || (n == 1 && v->stop_at < v->launch_at)) {
		set(v->res, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_FAIL,
		    n > 1 ? "this launch is stopped %zu times in the host launch log" : "a stop (entry %zu) precedes the launch",
		    n > 1 ? n : v->stop_at);
		return;
	}
	if (n)
		set(v->res, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_PASS,
		    "STOPPED: launched at entry %zu, stopped at entry %zu of %zu", v->launch_at, v->stop_at, v->hl.count);
	else
		set(v->res, ATTEST_CHECK_VM_LIFECYCLE, ATTEST_CHECK_PASS,
		    "running: launched at entry %zu of %zu, no stop recorded", v->launch_at, v->hl.count);
}

/* The one event of `type` in a log that replayed; NULL with *count = number seen. */
static const struct attest_event *single_event(const struct attest_eventlog *log, uint16_t type, size_t *count)
{
	const struct attest_event *found = NULL;
	*count = 0;
	for (size_t i = 0; i < log->count; i++)
		if (log->events[i].type == type) {
			found = &log->events[i];
			(*count)++;
		}
	return *count == 1 ? found : NULL;
}

static void check_vm_identity(struct vstate *v)
{
	const struct attest_event *name_ev, *cfg_ev;
	size_t n_name, n_cfg;
	uint8_t h[32];

	if (!v->log_ok) {
		set(v->res, ATTEST_CHECK_VM_IDENTITY, ATTEST_CHECK_FAIL, "not checked: the event log was rejected");
		return;
	}
	name_ev = single_event(&v->log, ATTEST_EVENT_VM_START, &n_name);
	cfg_ev = single_event(&v->log, ATTEST_EVENT_VM_CONFIG, &n_cfg);
	if (n_name > 1 || n_cfg > 1) {
		set(v->res, ATTEST_CHECK_VM_IDENTITY, ATTEST_CHECK_FAIL, "the log holds %zu vm-start and %zu vm-config events; at most one each",
		    n_name, n_cfg);
		return;
	}
	if (v->ev->vm_name && (!name_ev || name_ev->data_len != strlen(v->ev->vm_name) ||
			       memcmp(name_ev->data, v->ev->vm_name, name_ev->data_len))) {
		set(v->res, ATTEST_CHECK_VM_IDENTITY, ATTEST_CHECK_FAIL, "vm.name \"%s\" is not the name in the log's vm-start event",
		    v->ev->vm_name);
		return;
	}
	if (v->ev->vm_config.data) {
		SHA256(v->ev->vm_config.data, v->ev->vm_config.len, h);
		if (!cfg_ev || memcmp(cfg_ev->data, h, 32)) {
			set(v->res, ATTEST_CHECK_VM_IDENTITY, ATTEST_CHECK_FAIL,
			    "SHA-256 of vm.config is not the digest in the log's vm-config event");
			return;
		}
	}
	if (!v->ev->vm_name && !v->ev->vm_config.data) {
		set(v->res, ATTEST_CHECK_VM_IDENTITY, ATTEST_CHECK_SKIP, "the bundle names no VM and carries no configuration");
		return;
	}
	set(v->res, ATTEST_CHECK_VM_IDENTITY, ATTEST_CHECK_PASS, "%s%s%s", v->ev->vm_name ? "VM name matches the log" : "",
	    v->ev->vm_name && v->ev->vm_config.data ? "; " : "",
	    v->ev->vm_config.data ? "configuration digest matches the log" : "");
}

static void check_reference(struct vstate *v, enum attest_check_id id, uint16_t type, const uint8_t *refs,
			    size_t stride, const size_t *ref_lens, size_t n_refs, const char *what)
{
	const struct attest_event *ev;
	size_t count;
	char hex[2 * 48 + 1];

	if (!v->log_ok) {
		set(v->res, id, ATTEST_CHECK_FAIL, "not checked: the event log was rejected");
		return;
	}
	ev = single_event(&v->log, type, &count);
	if (!n_refs) {
		if (count > 1)
			set(v->res, id, ATTEST_CHECK_FAIL, "the log holds %zu %s events", count, attest_event_type_name(type));
		else
			set(v->res, id, ATTEST_CHECK_SKIP, "no reference %s given (--policy): value not compared", what);
		return;
	}
	if (!ev) {
		set(v->res, id, ATTEST_CHECK_FAIL, "the log holds %zu %s events, expected exactly one", count,
		    attest_event_type_name(type));
		return;
	}
	cp_hex_encode(ev->data, ev->data_len > 48 ? 48 : ev->data_len, hex);
	for (size_t i = 0; i < n_refs; i++) {
		size_t len = ref_lens ? ref_lens[i] : stride;
		if (len == ev->data_len && !memcmp(refs + i * stride, ev->data, len)) {
			set(v->res, id, ATTEST_CHECK_PASS, "%s %s equals reference value %zu", what, hex, i + 1);
			return;
		}
	}
	set(v->res, id, ATTEST_CHECK_FAIL, "%s %s matches none of the %zu reference value(s)", what, hex, n_refs);
}

static void check_ak_trust(struct vstate *v)
{
	const struct attest_evidence_policy *pol = v->opts->policy;
	size_t n = v->opts->n_ak_pins + (pol ? pol->n_ak_pins + pol->n_ak_enrolled : 0);

	if (!v->pub_ok) {
		set(v->res, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_FAIL, "not checked: the AK public key was rejected");
		return;
	}
	if (!n) {
		set(v->res, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_FAIL,
		    "no trust anchor: enrol the AK by its EK (policy ak_enrolled) or pin its name (--ak-pin, ak_names)");
		return;
	}
	/* Pins are SHA-256 Names: the whole TPMT_PUBLIC (attributes included) is pinned, not only
	 * the key, so no attribute of the pinned object can be changed after enrolment. */
	if (v->pub.name_alg != ATTEST_TPM_ALG_SHA256) {
		set(v->res, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_FAIL,
		    "the AK's nameAlg is %s; pins are SHA-256 names", attest_tpm_alg_name(v->pub.name_alg));
		return;
	}
	/* The stronger anchor first: the relying party saw this TPM's certified EK release a secret
	 * bound to this exact AK name (carapace verify enrol). */
	for (size_t i = 0; pol && i < pol->n_ak_enrolled; i++)
		if (!memcmp(pol->ak_enrolled[i], v->ak_name + 2, 32)) {
			set(v->res, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_PASS,
			    "AK name matches policy ak_enrolled[%zu]: enrolled by EK credential activation (EK certificate "
			    "chained to the relying party's CA)", i);
			return;
		}
	for (size_t i = 0; i < v->opts->n_ak_pins; i++)
		if (!memcmp(v->opts->ak_pins[i], v->ak_name + 2, 32)) {
			set(v->res, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_PASS,
			    "AK name matches pin %zu (--ak-pin): trust rests on whoever recorded the pin (weaker than EK enrolment)",
			    i + 1);
			return;
		}
	for (size_t i = 0; pol && i < pol->n_ak_pins; i++)
		if (!memcmp(pol->ak_pins[i], v->ak_name + 2, 32)) {
			set(v->res, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_PASS,
			    "AK name matches policy ak_names[%zu]: trust rests on whoever recorded the pin (weaker than EK enrolment)",
			    i);
			return;
		}
	set(v->res, ATTEST_CHECK_AK_TRUST, ATTEST_CHECK_FAIL,
	    "AK name matches none of the %zu pin(s) (a pin covers the whole TPMT_PUBLIC: key and attributes)", n);
}

static void check_ek_cert(struct vstate *v)
{
	const unsigned char *p = v->ev->ek_cert.data;
	X509 *x;

	if (!p) {
		set(v->res, ATTEST_CHECK_EK_CERTIFICATE, ATTEST_CHECK_SKIP, "no EK certificate in the bundle");
		return;
	}
	x = d2i_X509(NULL, &p, (long)v->ev->ek_cert.len);
	if (!x || p != v->ev->ek_cert.data + v->ev->ek_cert.len) {
		X509_free(x);
		set(v->res, ATTEST_CHECK_EK_CERTIFICATE, ATTEST_CHECK_FAIL, "tpm.ek_certificate is not one DER X.509 certificate");
		return;
	}
	X509_free(x);
	/* The EK certificate's chain and the AK-EK relation are established once, at enrolment
	 * (carapace verify enrol: chain + credential activation); here it is informational. */
	set(v->res, ATTEST_CHECK_EK_CERTIFICATE, ATTEST_CHECK_SKIP,
	    "EK certificate present (%zu bytes); chain and AK-EK relation are checked at enrolment (verify enrol), "
	    "not here", v->ev->ek_cert.len);
}

int attest_snp_host_data(const uint8_t *report, size_t len, uint8_t out[32], struct cp_err *err)
{
	if (len != 0x4A0)
		return cp_err_set(err, EBADMSG, "SNP report is %zu bytes, expected 1184 (0x4A0)", len);
	memcpy(out, report + 0xC0, 32);
	return 0;
}

int attest_tdx_mrconfigid(const uint8_t *quote, size_t len, uint8_t out[48], struct cp_err *err)
{
	size_t at;
	if (len < 2)
		return cp_err_set(err, EBADMSG, "TDX quote is %zu bytes", len);
	switch (cp_le16(quote)) {
	case 4:
		at = 0xE8;
		break;
	case 5:
		at = 0x36 + 0xB8; /* header, u16 body type, u32 body size, then the TD report body */
		break;
	default:
		return cp_err_set(err, EBADMSG, "TDX quote version %u is not 4 or 5", cp_le16(quote));
	}
	if (len < at + 48)
		return cp_err_set(err, EBADMSG, "TDX quote is %zu bytes, too short for MRCONFIGID at 0x%zx", len, at);
	memcpy(out, quote + at, 48);
	return 0;
}

/* Returns true when it recorded the platform-evidence verdict. */
static bool verify_hw(struct vstate *v, bool snp)
{
	struct attest_hw_result *hr = calloc(1, sizeof(*hr));
	time_t at = v->opts->platform_at ? v->opts->platform_at : time(NULL);
	const char *what = snp ? "SNP report" : "TDX quote";
	const struct attest_hw_check *fail = NULL;
	size_t passed = 0;
	int r;

	if (!hr)
		return false;
	attest_hw_result_init(hr);
	if (snp) {
		struct attest_hw_snp_certs certs;
		struct cp_err err = { 0 };
		struct attest_hw_snp_input in = { .at = at, .allow_debug = v->opts->platform_allow_debug };
		if (v->opts->policy && v->opts->policy->platform.has_snp)
			in.policy = &v->opts->policy->platform.snp;
		if (!v->ev->snp_cert_table.data && v->opts->allow_unverified_platform) {
			free(hr); /* nothing to verify the report with: the caller's explicit choice decides */
			return false;
		}
		if (!v->ev->snp_cert_table.data ||
		    attest_hw_snp_certtable_parse(v->ev->snp_cert_table.data, v->ev->snp_cert_table.len, &certs, &err) < 0) {
			set(v->res, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL,
			    "SNP report present but its certificate table is %s", err.code ? err.msg : "missing");
			free(hr);
			return true;
		}
		const struct attest_hw_snp_cert_slice *signer = certs.vcek.der ? &certs.vcek : &certs.vlek;
		in.report = (struct attest_hw_blob){ v->ev->snp_report.data, v->ev->snp_report.len };
		in.signer_cert = (struct attest_hw_blob){ signer->der, signer->len };
		if (certs.ask.der)
			in.chain[in.nchain++] = (struct attest_hw_blob){ certs.ask.der, certs.ask.len };
		if (certs.ark.der)
			in.chain[in.nchain++] = (struct attest_hw_blob){ certs.ark.der, certs.ark.len };
		r = attest_hw_snp_verify(&in, hr);
	} else {
		struct attest_hw_tdx_input in = { .at = at, .allow_debug = v->opts->platform_allow_debug };
		if (v->opts->policy && v->opts->policy->platform.has_tdx)
			in.policy = &v->opts->policy->platform.tdx;
		in.quote = (struct attest_hw_blob){ v->ev->tdx_quote.data, v->ev->tdx_quote.len };
		r = attest_hw_tdx_verify(&in, hr);
	}
	if (r < 0) {
		free(hr);
		return false;
	}
	for (size_t i = 0; i < hr->n; i++) {
		if (hr->checks[i].verdict == ATTEST_HW_PASS)
			passed++;
		else if (hr->checks[i].verdict == ATTEST_HW_FAIL && !fail)
			fail = &hr->checks[i];
	}
	if (attest_hw_result_ok(hr))
		set(v->res, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_PASS,
		    "%s verified (attest/hw): %zu checks passed, none failed", what, passed);
	else
		set(v->res, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL, "%s failed the '%s' check: %.400s", what,
		    fail ? fail->name : "(overflow)", fail ? fail->detail : "too many checks");
	free(hr);
	return true;
}

static void check_platform(struct vstate *v)
{
	bool snp = v->ev->snp_report.data, tdx = v->ev->tdx_quote.data;
	const struct attest_event *pol_ev;
	struct cp_err err = { 0 };
	uint8_t binding[32], field[48];
	size_t n;

	const struct cp_refvals *rv = v->opts->policy ? &v->opts->policy->platform : NULL;

	/* Reference values for a platform are a demand for its evidence: fail closed without it. */
	if (rv && (rv->has_snp || rv->has_tdx) && !(snp && rv->has_snp) && !(tdx && rv->has_tdx)) {
		set(v->res, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL,
		    "the policy's platform reference values are for %s, the bundle has %s",
		    rv->has_snp && rv->has_tdx ? "SNP and TDX" : rv->has_snp ? "SNP" : "TDX",
		    snp ? "an SNP report" : tdx ? "a TDX quote" : "no SNP report or TDX quote");
		set(v->res, ATTEST_CHECK_BINDING, ATTEST_CHECK_SKIP, "platform evidence refused");
		return;
	}
	if (!snp && !tdx) {
		set(v->res, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_SKIP, "%s",
		    v->ev->snp_cert_table.data ? "an SNP certificate table without a report: nothing to check"
					       : "no SNP report or TDX quote in the bundle");
		if (v->ev->snp_cert_table.data)
			v->res->checks[ATTEST_CHECK_PLATFORM_EVIDENCE].status = ATTEST_CHECK_FAIL;
		set(v->res, ATTEST_CHECK_BINDING, ATTEST_CHECK_SKIP, "no hardware evidence to bind");
		return;
	}
	/* The hardware evidence itself: attest/hw's verifiers, with the SNP certificates taken from
	 * the bundle's extended-report table (VCEK/VLEK, ASK/ASVK, ARK to the pinned AMD root). */
	if (verify_hw(v, snp))
		; /* recorded */
	else if (rv && (snp ? rv->has_snp : rv->has_tdx))
		set(v->res, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL,
		    "%s present but not verified here, so the policy's platform reference values are not met",
		    snp ? "SNP report" : "TDX quote");
	else if (v->opts->allow_unverified_platform)
		set(v->res, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_SKIP,
		    "%s present but NOT verified here (--allow-unverified-platform); verify it with carapace verify %s",
		    snp ? "SNP report" : "TDX quote", snp ? "snp" : "tdx");
	else
		set(v->res, ATTEST_CHECK_PLATFORM_EVIDENCE, ATTEST_CHECK_FAIL,
		    "%s present but not verified by this verifier; verify it with carapace verify %s and pass --allow-unverified-platform",
		    snp ? "SNP report" : "TDX quote", snp ? "snp" : "tdx");

	if (!v->pub_ok || !v->log_ok) {
		set(v->res, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, "not checked: the AK or the event log was rejected");
		return;
	}
	pol_ev = single_event(&v->log, ATTEST_EVENT_LAUNCH_POLICY, &n);
	if (!pol_ev) {
		set(v->res, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, "the log holds %zu launch-policy events, binding needs exactly one", n);
		return;
	}
	if (attest_binding_digest(v->ev->ak_public.data, v->ev->ak_public.len, pol_ev->data, binding) < 0) {
		set(v->res, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, "cannot compute the binding digest");
		return;
	}
	if (snp) {
		if (attest_snp_host_data(v->ev->snp_report.data, v->ev->snp_report.len, field, &err) < 0 ||
		    memcmp(field, binding, 32)) {
			set(v->res, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, "%s", err.code ? err.msg :
			    "SNP HOST_DATA is not the binding digest of this AK and launch policy");
			return;
		}
	}
	if (tdx) {
		static const uint8_t zero[16];
		if (attest_tdx_mrconfigid(v->ev->tdx_quote.data, v->ev->tdx_quote.len, field, &err) < 0 ||
		    memcmp(field, binding, 32) || memcmp(field + 32, zero, 16)) {
			set(v->res, ATTEST_CHECK_BINDING, ATTEST_CHECK_FAIL, "%s", err.code ? err.msg :
			    "TDX MRCONFIGID is not the binding digest of this AK and launch policy");
			return;
		}
	}
	set(v->res, ATTEST_CHECK_BINDING, ATTEST_CHECK_PASS, "%s carries the binding digest of this AK and launch policy",
	    snp ? "SNP HOST_DATA" : "TDX MRCONFIGID");
}

int attest_verify_evidence(const struct attest_evidence *ev, const struct attest_verify_opts *opts,
			   struct attest_verify_result *res)
{
	struct vstate v = { .ev = ev, .opts = opts, .res = res };
	const struct attest_evidence_policy *pol = opts->policy;

	if (!ev || !opts || !res || (!opts->nonce && opts->nonce_len))
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < ATTEST_CHECK_COUNT; i++)
		set(res, (enum attest_check_id)i, ATTEST_CHECK_FAIL, "not run");
	set(res, ATTEST_CHECK_EVIDENCE_FORMAT, ATTEST_CHECK_PASS, "carapace-evidence v%d", ATTEST_EVIDENCE_VERSION);
	check_ak_public(&v);
	check_quote_structure(&v);
	check_signature(&v);
	check_nonce(&v);
	check_pcr_digest(&v);
	check_boot_log(&v);
	check_event_log(&v);
	check_vm_lifecycle(&v);
	check_vm_identity(&v);
	check_reference(&v, ATTEST_CHECK_LAUNCH_MEASUREMENT, ATTEST_EVENT_LAUNCH_MEASUREMENT,
			pol ? &pol->measurements[0][0] : NULL, 48, pol ? pol->measurement_len : NULL,
			pol ? pol->n_measurements : 0, "launch measurement");
	check_reference(&v, ATTEST_CHECK_LAUNCH_POLICY, ATTEST_EVENT_LAUNCH_POLICY, pol ? &pol->policy_digests[0][0] : NULL,
			32, NULL, pol ? pol->n_policy_digests : 0, "launch policy digest");
	check_boot_pcrs(&v);
	check_ak_trust(&v);
	check_ek_cert(&v);
	check_platform(&v);

	/* The log and every value in it are only evidence if the quote is authentic. */
	if (!v.sig_ok)
		for (int i = ATTEST_CHECK_PCR_DIGEST; i < ATTEST_CHECK_COUNT; i++)
			if (res->checks[i].status == ATTEST_CHECK_PASS) {
				size_t l = strlen(res->checks[i].detail);
				snprintf(res->checks[i].detail + l, sizeof(res->checks[i].detail) - l, "%s",
					 " [unauthenticated: the quote signature failed]");
			}
	res->passed = true;
	for (int i = 0; i < ATTEST_CHECK_COUNT; i++)
		if (res->checks[i].status == ATTEST_CHECK_FAIL)
			res->passed = false;
	attest_eventlog_free(&v.log);
	attest_hostlog_free(&v.hl);
	free(v.tcg);
	EVP_PKEY_free(v.pkey);
	return 0;
}

int attest_verify_json(const char *json, size_t len, const struct attest_verify_opts *opts,
		       struct attest_verify_result *res)
{
	struct attest_evidence ev;
	struct cp_err err = { 0 };
	int ret;

	if (!json || !opts || !res)
		return -EINVAL;
	if (attest_evidence_parse(json, len, &ev, &err) < 0) {
		memset(res, 0, sizeof(*res));
		for (int i = 0; i < ATTEST_CHECK_COUNT; i++)
			set(res, (enum attest_check_id)i, ATTEST_CHECK_FAIL, "not checked: the bundle was rejected");
		set(res, ATTEST_CHECK_EVIDENCE_FORMAT, ATTEST_CHECK_FAIL, "%s", err.msg);
		res->passed = false;
		return 0;
	}
	ret = attest_verify_evidence(&ev, opts, res);
	attest_evidence_free(&ev);
	return ret;
}
