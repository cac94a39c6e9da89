/* SEV-SNP report verification: report signature under the VCEK/VLEK, the AMD chain to the pinned
 * ARK of the product line, TCB and chip binding, guest policy and the relying party's policy. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "attest/hw/crypto.h"
#include "attest/hw/snp_report.h"
#include "attest/hw/verify.h"
#include "common/util.h"

#define PASS ATTEST_HW_PASS
#define FAIL ATTEST_HW_FAIL
#define SKIP ATTEST_HW_SKIP

/* VCEK/VLEK extensions under AMD's arc 1.3.6.1.4.1.3704.1. */
#define AMD_OID_PREFIX "1.3.6.1.4.1.3704.1."
#define SPL_MAX 10 /* .3.1 … .3.9 */

struct snp_cert_info {
	char product[32];
	bool has_product;
	int spl[SPL_MAX]; /* -1 when absent; index = last OID arc */
	uint8_t hwid[64];
	size_t hwid_len;
};

static int ext_spl(const ASN1_OCTET_STRING *os, int *out)
{
	const unsigned char *p = ASN1_STRING_get0_data(os);
	long len = ASN1_STRING_length(os);
	ASN1_INTEGER *i = d2i_ASN1_INTEGER(NULL, &p, len);
	int64_t v = -1;
	int ok = i && p == ASN1_STRING_get0_data(os) + len && ASN1_INTEGER_get_int64(&v, i) == 1 && v >= 0 && v <= 255;

	ASN1_INTEGER_free(i);
	ERR_clear_error();
	if (!ok)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int snp_cert_info_read(X509 *cert, struct snp_cert_info *info, char *why, size_t why_len)
{
	memset(info, 0, sizeof(*info));
	for (int i = 0; i < SPL_MAX; i++)
		info->spl[i] = -1;
	for (int i = 0; i < X509_get_ext_count(cert); i++) {
		X509_EXTENSION *ext = X509_get_ext(cert, i);
		const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
		char oid[80];
		const char *tail;

		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0)
			continue;
		if (strncmp(oid, AMD_OID_PREFIX, strlen(AMD_OID_PREFIX)))
			continue;
		tail = oid + strlen(AMD_OID_PREFIX);
		if (!strcmp(tail, "2")) { /* productName, IA5String */
			const unsigned char *p = ASN1_STRING_get0_data(os);
			ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &p, ASN1_STRING_length(os));
			int n = s ? ASN1_STRING_length(s) : -1;
			bool ok = s && n > 0 && (size_t)n < sizeof(info->product) && !info->has_product &&
				  !memchr(ASN1_STRING_get0_data(s), 0, (size_t)n);
			if (ok) {
				memcpy(info->product, ASN1_STRING_get0_data(s), (size_t)n);
				info->product[n] = '\0';
			}
			ASN1_IA5STRING_free(s);
			ERR_clear_error();
			if (!ok) {
				snprintf(why, why_len, "productName extension (%s) malformed or repeated", oid);
				return -EINVAL;
			}
			info->has_product = true;
		} else if (!strncmp(tail, "3.", 2) && tail[2] >= '1' && tail[2] <= '9' && tail[3] == '\0') {
			int idx = tail[2] - '0';
			if (info->spl[idx] >= 0 || ext_spl(os, &info->spl[idx]) < 0) {
				snprintf(why, why_len, "SPL extension %s malformed, out of range or repeated", oid);
				return -EINVAL;
			}
		} else if (!strcmp(tail, "4")) { /* hwID: raw bytes (64; 8 on Turin) */
			int n = ASN1_STRING_length(os);
			if (info->hwid_len || (n != 64 && n != 8)) {
				snprintf(why, why_len, "hwID extension has %d bytes (expected 64 or 8) or is repeated", n);
				return -EINVAL;
			}
			memcpy(info->hwid, ASN1_STRING_get0_data(os), (size_t)n);
			info->hwid_len = (size_t)n;
		}
	}
	if (!info->has_product) {
		snprintf(why, why_len, "no productName extension (" AMD_OID_PREFIX "2)");
		return -EINVAL;
	}
	return 0;
}

/* AMD signs every certificate of the chain with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48. */
static int check_pss_profile(X509 *cert, const char *who, char *why, size_t why_len)
{
	const X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype;
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgf_hash = NULL;
	int rc = -EINVAL;
	int64_t salt = -1;

	X509_get0_signature(NULL, &alg, cert);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (OBJ_obj2nid(obj) != NID_rsassaPss || ptype != V_ASN1_SEQUENCE) {
		snprintf(why, why_len, "%s: signature algorithm is not RSASSA-PSS", who);
		return -EINVAL;
	}
	const ASN1_STRING *seq = pval;
	const unsigned char *p = ASN1_STRING_get0_data(seq);
	pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq));
	/* The MGF1 hash is the parameter of maskGenAlgorithm: an AlgorithmIdentifier of its own. */
	if (pss && pss->maskGenAlgorithm && pss->maskGenAlgorithm->parameter &&
	    pss->maskGenAlgorithm->parameter->type == V_ASN1_SEQUENCE) {
		const ASN1_STRING *m = pss->maskGenAlgorithm->parameter->value.sequence;
		const unsigned char *mp = ASN1_STRING_get0_data(m);
		mgf_hash = d2i_X509_ALGOR(NULL, &mp, ASN1_STRING_length(m));
	}
	if (!pss || !pss->hashAlgorithm || OBJ_obj2nid(pss->hashAlgorithm->algorithm) != NID_sha384 ||
	    !pss->maskGenAlgorithm || OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1 || !mgf_hash ||
	    OBJ_obj2nid(mgf_hash->algorithm) != NID_sha384 || !pss->saltLength ||
	    ASN1_INTEGER_get_int64(&salt, pss->saltLength) != 1 || salt != 48 ||
	    (pss->trailerField && ASN1_INTEGER_get(pss->trailerField) != 1)) {
		snprintf(why, why_len, "%s: RSASSA-PSS parameters are not SHA-384/MGF1-SHA-384/salt 48", who);
		goto out;
	}
	rc = 0;
out:
	X509_ALGOR_free(mgf_hash);
	RSA_PSS_PARAMS_free(pss);
	ERR_clear_error();
	return rc;
}

static enum attest_hw_root_id ark_for(enum attest_hw_snp_product p)
{
	switch (p) {
	case ATTEST_HW_SNP_PRODUCT_GENOA:
		return ATTEST_HW_ROOT_AMD_ARK_GENOA;
	case ATTEST_HW_SNP_PRODUCT_TURIN:
		return ATTEST_HW_ROOT_AMD_ARK_TURIN;
	case ATTEST_HW_SNP_PRODUCT_MILAN:
		return ATTEST_HW_ROOT_AMD_ARK_MILAN;
	case ATTEST_HW_SNP_PRODUCT_UNKNOWN:
		break;
	}
	return ATTEST_HW_ROOT_COUNT;
}

/* The chain the user passed must be exactly {intermediate, pinned ARK of the product line}. */
static void check_chain(const struct attest_hw_snp_input *in, X509 *signer, bool vlek,
			enum attest_hw_snp_product product, struct attest_hw_result *res)
{
	STACK_OF(X509) *certs = sk_X509_new_null(), *untrusted = sk_X509_new_null();
	struct cp_err err = { 0 };
	enum attest_hw_root_id rid = ark_for(product);
	const struct attest_hw_root *root = attest_hw_root_get(rid);
	X509 *ark = NULL, *ask = NULL;
	char why[ATTEST_HW_DETAIL_MAX] = "", want_ask[48], cn[64];

	if (!certs || !untrusted) {
		attest_hw_result_add(res, "cert-chain", FAIL, "out of memory");
		goto out;
	}
	if (!root) {
		attest_hw_result_add(res, "cert-chain", FAIL, "no pinned AMD root for product line '%s'",
				     attest_hw_snp_product_name(product));
		goto out;
	}
	for (size_t i = 0; i < in->nchain; i++)
		if (attest_hw_certs_load(in->chain[i].data, in->chain[i].len, certs, &err) < 0) {
			attest_hw_result_add(res, "cert-chain", FAIL, "chain file %zu: %s", i + 1, err.msg);
			goto out;
		}
	if (sk_X509_num(certs) != 2) {
		attest_hw_result_add(res, "cert-chain", FAIL, "expected 2 certificates (%s and ARK), got %d",
				     vlek ? "ASVK" : "ASK", sk_X509_num(certs));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		X509 *c = sk_X509_value(certs, i);
		if (attest_hw_root_matches(c, rid))
			ark = c;
		else
			ask = c;
	}
	if (!ark || !ask) {
		attest_hw_result_add(res, "cert-chain", FAIL,
				     "no certificate in the chain is the pinned %s root (SHA-256 of DER differs)",
				     root->subject_cn);
		goto out;
	}
	snprintf(want_ask, sizeof(want_ask), vlek ? "SEV-VLEK-%s" : "SEV-%s", attest_hw_snp_product_name(product));
	if (attest_hw_cert_cn(ask, cn, sizeof(cn)) < 0 || strcmp(cn, want_ask)) {
		attest_hw_result_add(res, "cert-chain", FAIL, "intermediate CN '%s', expected '%s'", cn, want_ask);
		goto out;
	}
	if (check_pss_profile(signer, vlek ? "VLEK" : "VCEK", why, sizeof(why)) < 0 ||
	    check_pss_profile(ask, vlek ? "ASVK" : "ASK", why, sizeof(why)) < 0 ||
	    check_pss_profile(ark, "ARK", why, sizeof(why)) < 0) {
		attest_hw_result_add(res, "cert-chain", FAIL, "%s", why);
		goto out;
	}
	if (!sk_X509_push(untrusted, ask)) {
		attest_hw_result_add(res, "cert-chain", FAIL, "out of memory");
		goto out;
	}
	if (attest_hw_chain_verify(signer, untrusted, ark, in->at, why, sizeof(why)) < 0) {
		attest_hw_result_add(res, "cert-chain", FAIL, "%s -> %s -> %s: %s", vlek ? "VLEK" : "VCEK", want_ask,
				     root->subject_cn, why);
		goto out;
	}
	attest_hw_result_add(res, "cert-chain", PASS, "%s -> %s -> %s (pinned), RSA-PSS SHA-384, valid at the given time",
			     vlek ? "VLEK" : "VCEK", want_ask, root->subject_cn);
out:
	sk_X509_free(untrusted);
	sk_X509_pop_free(certs, X509_free);
}

static bool tcb_le(const struct attest_hw_snp_tcb *a, const struct attest_hw_snp_tcb *b)
{
	return a->fmc <= b->fmc && a->bl <= b->bl && a->tee <= b->tee && a->snp <= b->snp && a->ucode <= b->ucode;
}

static void tcb_str(const struct attest_hw_snp_tcb *t, char *buf, size_t len)
{
	snprintf(buf, len, "fmc=%u bl=%u tee=%u snp=%u ucode=%u", t->fmc, t->bl, t->tee, t->snp, t->ucode);
}

static void check_tcb(const struct attest_hw_snp_report *r, const struct snp_cert_info *info,
		      enum attest_hw_snp_product product, const struct cp_refvals_snp *pol,
		      struct attest_hw_result *res)
{
	struct attest_hw_snp_tcb reported, current, committed, launch, cert = { 0 };
	struct cp_err err = { 0 };
	char a[80], b[80];

	if (attest_hw_snp_tcb_decode(r->reported_tcb, product, &reported, &err) < 0 ||
	    attest_hw_snp_tcb_decode(r->current_tcb, product, &current, &err) < 0 ||
	    attest_hw_snp_tcb_decode(r->committed_tcb, product, &committed, &err) < 0 ||
	    attest_hw_snp_tcb_decode(r->launch_tcb, product, &launch, &err) < 0) {
		attest_hw_result_add(res, "tcb-match", FAIL, "%s", err.msg);
		return;
	}
	/* Certificate SPLs: .3.1 bl, .3.2 tee, .3.3 snp, .3.8 ucode, .3.9 fmc (Turin only);
	 * .3.4-.3.7 are reserved and must be zero when present. */
	if (info->spl[1] < 0 || info->spl[2] < 0 || info->spl[3] < 0 || info->spl[8] < 0 ||
	    (product == ATTEST_HW_SNP_PRODUCT_TURIN) != (info->spl[9] >= 0)) {
		attest_hw_result_add(res, "tcb-match", FAIL, "certificate lacks a TCB extension (or has fmcSPL off Turin)");
		return;
	}
	for (int i = 4; i <= 7; i++)
		if (info->spl[i] > 0) {
			attest_hw_result_add(res, "tcb-match", FAIL, "certificate SPL extension .3.%d is %d, expected 0", i,
					     info->spl[i]);
			return;
		}
	cert.bl = (uint8_t)info->spl[1];
	cert.tee = (uint8_t)info->spl[2];
	cert.snp = (uint8_t)info->spl[3];
	cert.ucode = (uint8_t)info->spl[8];
	cert.fmc = info->spl[9] >= 0 ? (uint8_t)info->spl[9] : 0;
	tcb_str(&reported, a, sizeof(a));
	tcb_str(&cert, b, sizeof(b));
	if (memcmp(&reported, &cert, sizeof(cert)))
		attest_hw_result_add(res, "tcb-match", FAIL, "reported_tcb %s != certificate %s", a, b);
	else
		attest_hw_result_add(res, "tcb-match", PASS, "reported_tcb == certificate TCB (%s)", a);

	if (!tcb_le(&reported, &current))
		attest_hw_result_add(res, "tcb-order", FAIL, "reported_tcb is above current_tcb");
	else if (!(pol && pol->allow_provisional_firmware) &&
		 (r->committed_tcb != r->current_tcb || r->committed_build != r->current_build ||
		  r->committed_minor != r->current_minor || r->committed_major != r->current_major))
		attest_hw_result_add(res, "tcb-order", FAIL,
				     "committed TCB/firmware differs from current (provisional firmware; allow with "
				     "allow_provisional_firmware)");
	else
		attest_hw_result_add(res, "tcb-order", PASS, "reported <= current, committed %s current",
				     pol && pol->allow_provisional_firmware ? "may differ from" : "==");

	if (pol && pol->has_min_tcb) {
		struct attest_hw_snp_tcb m = { .bl = pol->min_tcb.bootloader, .tee = pol->min_tcb.tee, .snp = pol->min_tcb.snp,
						.ucode = pol->min_tcb.microcode, .fmc = pol->min_tcb.fmc };
		tcb_str(&m, b, sizeof(b));
		if (!tcb_le(&m, &reported) || !tcb_le(&m, &launch))
			attest_hw_result_add(res, "policy-min-tcb", FAIL, "reported or launch TCB below minimum %s", b);
		else
			attest_hw_result_add(res, "policy-min-tcb", PASS, "reported and launch TCB >= %s", b);
	}
}

static void check_bytes(struct attest_hw_result *res, const char *name, const struct cp_refvals_bytes *want,
			const uint8_t *have, size_t len)
{
	char hex[2 * 64 + 1];

	if (!want || !want->set)
		return;
	if (!cp_refvals_bytes_match(want, have, len)) {
		cp_hex_encode(have, len, hex);
		attest_hw_result_add(res, name, FAIL, "mismatch: report has %s", hex);
	} else {
		attest_hw_result_add(res, name, PASS, "matches the policy");
	}
}

static void check_guest_policy(const struct attest_hw_snp_input *in, const struct attest_hw_snp_report *r,
			       struct attest_hw_result *res)
{
	const struct cp_refvals_snp *pol = in->policy;
	uint64_t p = r->policy;

	if (!(p & ATTEST_HW_SNP_POLICY_RESERVED1))
		attest_hw_result_add(res, "guest-policy", FAIL, "policy 0x%016llx: bit 17 (reserved, must be 1) is clear",
				     (unsigned long long)p);
	else if (p & ~ATTEST_HW_SNP_POLICY_KNOWN_MASK)
		attest_hw_result_add(res, "guest-policy", FAIL, "policy 0x%016llx: unknown bits above 25 are set",
				     (unsigned long long)p);
	else
		attest_hw_result_add(res, "guest-policy", PASS, "policy 0x%016llx: ABI %llu.%llu, no unknown bits",
				     (unsigned long long)p, (unsigned long long)(p >> 8 & 0xFF), (unsigned long long)(p & 0xFF));

	if (!(p & ATTEST_HW_SNP_POLICY_DEBUG))
		attest_hw_result_add(res, "debug", PASS, "DEBUG not allowed by the guest policy");
	else if (in->allow_debug || (pol && pol->allow_debug))
		attest_hw_result_add(res, "debug", PASS, "DEBUG allowed by the guest policy, accepted by %s",
				     in->allow_debug ? "--allow-debug" : "the policy's allow_debug");
	else
		attest_hw_result_add(res, "debug", FAIL, "guest policy allows DEBUG (the hypervisor can read guest memory); "
				     "refused without --allow-debug or allow_debug");

	if (!(p & ATTEST_HW_SNP_POLICY_MIGRATE_MA))
		attest_hw_result_add(res, "migrate-ma", PASS, "no migration agent allowed");
	else if (pol && pol->allow_migrate_ma)
		attest_hw_result_add(res, "migrate-ma", PASS, "MIGRATE_MA set, allowed by policy");
	else
		attest_hw_result_add(res, "migrate-ma", FAIL, "MIGRATE_MA set; refused unless the policy says allow_migrate_ma");

	if ((p & ATTEST_HW_SNP_POLICY_SMT) && pol && !pol->allow_smt)
		attest_hw_result_add(res, "smt", FAIL, "SMT allowed by the guest policy, policy says allow_smt false");
	else
		attest_hw_result_add(res, "smt", PASS, "SMT %s", p & ATTEST_HW_SNP_POLICY_SMT ? "allowed (accepted)" : "not allowed");

	if (pol && pol->require_single_socket)
		attest_hw_result_add(res, "single-socket", p & ATTEST_HW_SNP_POLICY_SINGLE_SOCKET ? PASS : FAIL,
				     "SINGLE_SOCKET %s, required by policy", p & ATTEST_HW_SNP_POLICY_SINGLE_SOCKET ? "set" : "clear");
}

static void check_report_only(const struct attest_hw_snp_input *in, const struct attest_hw_snp_report *r,
			      struct attest_hw_result *res)
{
	const struct cp_refvals_snp *pol = in->policy;
	static const uint8_t zero48[48];

	check_guest_policy(in, r, res);
	if (r->platform_info & ~ATTEST_HW_SNP_PLATFORM_KNOWN_MASK)
		attest_hw_result_add(res, "platform-info", FAIL, "platform_info 0x%016llx has unknown bits",
				     (unsigned long long)r->platform_info);
	else
		attest_hw_result_add(res, "platform-info", PASS, "platform_info 0x%016llx", (unsigned long long)r->platform_info);

	if (r->signer_info & ATTEST_HW_SNP_SIGNER_RESERVED_MASK)
		attest_hw_result_add(res, "signer-info", FAIL, "signer_info 0x%08x has reserved bits set", r->signer_info);
	else if (!(r->signer_info & ATTEST_HW_SNP_SIGNER_AUTHOR_KEY_EN) && memcmp(r->author_key_digest, zero48, 48))
		attest_hw_result_add(res, "signer-info", FAIL, "AUTHOR_KEY_EN clear but author_key_digest is not zero");
	else
		attest_hw_result_add(res, "signer-info", PASS, "signer_info 0x%08x", r->signer_info);

	if (r->vmpl > 3)
		attest_hw_result_add(res, "vmpl", FAIL, "VMPL %u out of range 0-3", r->vmpl);
	else if (pol && pol->has_vmpl && pol->vmpl != r->vmpl)
		attest_hw_result_add(res, "vmpl", FAIL, "VMPL %u, policy requires %u", r->vmpl, pol->vmpl);
	else
		attest_hw_result_add(res, "vmpl", PASS, "VMPL %u%s", r->vmpl, pol && pol->has_vmpl ? " (as policy)" : "");

	if (!pol) {
		attest_hw_result_add(res, "policy", SKIP, "no policy file: measurement, host_data, report_data not compared");
		return;
	}
	if (pol->measurements.n) {
		char hex[2 * 48 + 1];

		cp_hex_encode(r->measurement, 48, hex);
		if (cp_refvals_digest_listed(&pol->measurements, r->measurement))
			attest_hw_result_add(res, "policy-measurement", PASS, "matches the policy");
		else
			attest_hw_result_add(res, "policy-measurement", FAIL, "mismatch: report has %s (%zu accepted)", hex,
					     pol->measurements.n);
	}
	check_bytes(res, "policy-host-data", &pol->host_data, r->host_data, 32);
	check_bytes(res, "policy-report-data", &pol->report_data, r->report_data, 64);
	check_bytes(res, "policy-id-key-digest", &pol->id_key_digest, r->id_key_digest, 48);
	check_bytes(res, "policy-author-key-digest", &pol->author_key_digest, r->author_key_digest, 48);
	check_bytes(res, "policy-family-id", &pol->family_id, r->family_id, 16);
	check_bytes(res, "policy-image-id", &pol->image_id, r->image_id, 16);
	check_bytes(res, "policy-chip-id", &pol->chip_id, r->chip_id, 64);
	if (pol->has_min_guest_svn)
		attest_hw_result_add(res, "policy-guest-svn", r->guest_svn >= pol->min_guest_svn ? PASS : FAIL,
				     "guest_svn %u, minimum %u", r->guest_svn, pol->min_guest_svn);
}

static void check_chip_id(const struct attest_hw_snp_report *r, const struct snp_cert_info *info, bool vlek,
			  struct attest_hw_result *res)
{
	static const uint8_t zero64[64];

	if (r->signer_info & ATTEST_HW_SNP_SIGNER_MASK_CHIP_KEY) {
		/* The firmware zeroes CHIP_ID when MASK_CHIP_KEY is set: anything else is forged. */
		attest_hw_result_add(res, "chip-id", memcmp(r->chip_id, zero64, 64) ? FAIL : SKIP,
				     "MASK_CHIP_KEY set: chip_id %s", memcmp(r->chip_id, zero64, 64) ? "not zero" : "masked (zero)");
		return;
	}
	if (vlek) {
		attest_hw_result_add(res, "chip-id", SKIP, "VLEK-signed: the key is not bound to a chip");
		return;
	}
	if (!info->hwid_len) {
		attest_hw_result_add(res, "chip-id", FAIL, "VCEK has no hwID extension");
		return;
	}
	if (memcmp(r->chip_id, info->hwid, info->hwid_len) || memcmp(r->chip_id + info->hwid_len, zero64, 64 - info->hwid_len))
		attest_hw_result_add(res, "chip-id", FAIL, "chip_id differs from the VCEK hwID");
	else
		attest_hw_result_add(res, "chip-id", PASS, "chip_id == VCEK hwID (%zu bytes)", info->hwid_len);
}

int attest_hw_snp_verify(const struct attest_hw_snp_input *in, struct attest_hw_result *res)
{
	struct attest_hw_snp_report r;
	struct snp_cert_info info;
	struct cp_err err = { 0 };
	STACK_OF(X509) *signer_certs = NULL;
	X509 *signer = NULL;
	enum attest_hw_snp_product product = ATTEST_HW_SNP_PRODUCT_UNKNOWN;
	unsigned key;
	bool vlek;
	char why[ATTEST_HW_DETAIL_MAX] = "", cn[64];
	int rc = 0;

	attest_hw_result_init(res);
	if (attest_hw_snp_report_parse(in->report.data, in->report.len, &r, &err) < 0) {
		attest_hw_result_add(res, "report-format", FAIL, "%s", err.msg);
		return 0;
	}
	attest_hw_result_add(res, "report-format", PASS, "version %u, %u bytes, ECDSA P-384", r.version,
			     ATTEST_HW_SNP_REPORT_SIZE);
	if (attest_hw_snp_report_check_reserved(in->report.data, in->report.len, &err) < 0)
		attest_hw_result_add(res, "reserved-zero", FAIL, "%s", err.msg);
	else
		attest_hw_result_add(res, "reserved-zero", PASS, "every reserved byte is zero");

	key = r.signer_info >> ATTEST_HW_SNP_SIGNER_KEY_SHIFT & ATTEST_HW_SNP_SIGNER_KEY_MASK;
	vlek = key == ATTEST_HW_SNP_KEY_VLEK;
	if (key != ATTEST_HW_SNP_KEY_VCEK && key != ATTEST_HW_SNP_KEY_VLEK) {
		attest_hw_result_add(res, "signer-cert", FAIL, "signer_info SIGNING_KEY %u: report not signed by a VCEK or VLEK", key);
		goto report_only;
	}

	signer_certs = sk_X509_new_null();
	if (!signer_certs) {
		rc = -ENOMEM;
		attest_hw_result_add(res, "signer-cert", FAIL, "out of memory");
		goto report_only;
	}
	if (attest_hw_certs_load(in->signer_cert.data, in->signer_cert.len, signer_certs, &err) < 0 ||
	    sk_X509_num(signer_certs) != 1) {
		attest_hw_result_add(res, "signer-cert", FAIL, "%s: %s", vlek ? "VLEK" : "VCEK",
				     err.code ? err.msg : "expected exactly one certificate");
		goto report_only;
	}
	signer = sk_X509_value(signer_certs, 0);
	if (attest_hw_cert_cn(signer, cn, sizeof(cn)) < 0 || strcmp(cn, vlek ? "SEV-VLEK" : "SEV-VCEK")) {
		attest_hw_result_add(res, "signer-cert", FAIL, "subject CN '%s', report says it is signed by a %s", cn,
				     vlek ? "VLEK (CN SEV-VLEK)" : "VCEK (CN SEV-VCEK)");
		goto report_only;
	}
	if (!attest_hw_key_is_ec(X509_get0_pubkey(signer), "secp384r1")) {
		attest_hw_result_add(res, "signer-cert", FAIL, "%s key is not ECDSA P-384", cn);
		goto report_only;
	}
	if (snp_cert_info_read(signer, &info, why, sizeof(why)) < 0) {
		attest_hw_result_add(res, "signer-cert", FAIL, "%s", why);
		goto report_only;
	}
	product = attest_hw_snp_product_from_name(info.product);
	if (product == ATTEST_HW_SNP_PRODUCT_UNKNOWN) {
		attest_hw_result_add(res, "signer-cert", FAIL, "unknown product name '%s'", info.product);
		goto report_only;
	}
	attest_hw_result_add(res, "signer-cert", PASS, "%s for product %s (line %s), P-384", cn, info.product,
			     attest_hw_snp_product_name(product));

	check_chain(in, signer, vlek, product, res);

	if (attest_hw_ecdsa_verify(X509_get0_pubkey(signer), EVP_sha384(), r.sig_r, r.sig_s, ATTEST_HW_SNP_SIG_COMPONENT,
				   true, in->report.data, ATTEST_HW_SNP_SIGNED_LEN) == 0)
		attest_hw_result_add(res, "report-signature", PASS, "ECDSA P-384 SHA-384 over 0x000-0x29F verifies under the %s",
				     vlek ? "VLEK" : "VCEK");
	else
		attest_hw_result_add(res, "report-signature", FAIL, "ECDSA P-384 SHA-384 over 0x000-0x29F does not verify under the %s",
				     vlek ? "VLEK" : "VCEK");

	if (r.version < 3) {
		attest_hw_result_add(res, "product-cpuid", SKIP, "report version %u carries no CPUID", r.version);
	} else {
		enum attest_hw_snp_product cp = attest_hw_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
		attest_hw_result_add(res, "product-cpuid", cp == product ? PASS : FAIL,
				     "CPUID family 0x%02x model 0x%02x is %s, certificate says %s", r.cpuid_fam_id,
				     r.cpuid_mod_id, attest_hw_snp_product_name(cp), attest_hw_snp_product_name(product));
	}
	check_tcb(&r, &info, product, in->policy, res);
	check_chip_id(&r, &info, vlek, res);
	check_report_only(in, &r, res);
	goto out;

report_only:
	/* No usable certificate: nothing can be trusted, but report the rest for diagnosis. */
	attest_hw_result_add(res, "report-signature", FAIL, "not verified: no usable signing certificate");
	check_report_only(in, &r, res);
out:
	sk_X509_pop_free(signer_certs, X509_free);
	ERR_clear_error();
	return rc;
}
