/* TDX collateral: PCK certificate SGX extensions, TCB info and QE identity evaluation
 * (Intel PCS formats; facts from Intel's DCAP documentation as used by go-tdx-guest). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "attest/hw/result.h"
#include "attest/hw/tdx_collateral.h"
#include "common/jread.h"
#include "common/util.h"

#define SGX_EXT_OID "1.2.840.113741.1.13.1"
/* TCB info and QE identity are a few KiB and nest about six deep. */
#define COLLATERAL_MAX_BYTES (1U << 20)
#define COLLATERAL_DEPTH_MAX 16

static ASN1_SEQUENCE_ANY *seq_of(const ASN1_TYPE *t)
{
	const unsigned char *p;

	if (!t || t->type != V_ASN1_SEQUENCE)
		return NULL;
	p = ASN1_STRING_get0_data(t->value.sequence);
	return d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(t->value.sequence));
}

/* Each element of the SGX extension is SEQUENCE { OID, value }: return the OID's text and the value. */
static int pair(const ASN1_TYPE *t, char *oid, size_t oid_len, ASN1_SEQUENCE_ANY **holder, const ASN1_TYPE **val)
{
	ASN1_SEQUENCE_ANY *s = seq_of(t);

	if (!s || sk_ASN1_TYPE_num(s) != 2 || sk_ASN1_TYPE_value(s, 0)->type != V_ASN1_OBJECT ||
	    OBJ_obj2txt(oid, (int)oid_len, sk_ASN1_TYPE_value(s, 0)->value.object, 1) <= 0) {
		sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
		return -EINVAL;
	}
	*holder = s;
	*val = sk_ASN1_TYPE_value(s, 1);
	return 0;
}

static int int_val(const ASN1_TYPE *v, int64_t max, int64_t *out)
{
	if (v->type != V_ASN1_INTEGER || ASN1_INTEGER_get_int64(out, v->value.integer) != 1 || *out < 0 || *out > max)
		return -EINVAL;
	return 0;
}

static int octets(const ASN1_TYPE *v, uint8_t *out, int len)
{
	if (v->type != V_ASN1_OCTET_STRING || ASN1_STRING_length(v->value.octet_string) != len)
		return -EINVAL;
	memcpy(out, ASN1_STRING_get0_data(v->value.octet_string), (size_t)len);
	return 0;
}

static int read_tcb(const ASN1_TYPE *v, struct attest_hw_pck_info *out, unsigned *seen, struct cp_err *err)
{
	ASN1_SEQUENCE_ANY *s = seq_of(v);
	int rc = 0;

	if (!s)
		return cp_err_set(err, EINVAL, "PCK certificate: SGX TCB extension is not a SEQUENCE");
	for (int i = 0; i < sk_ASN1_TYPE_num(s) && rc == 0; i++) {
		ASN1_SEQUENCE_ANY *h = NULL;
		const ASN1_TYPE *val;
		char oid[80];
		int64_t n;
		unsigned idx;

		if (pair(sk_ASN1_TYPE_value(s, i), oid, sizeof(oid), &h, &val) < 0 ||
		    strncmp(oid, SGX_EXT_OID ".2.", strlen(SGX_EXT_OID ".2.")) ||
		    cp_parse_u64(oid + strlen(SGX_EXT_OID ".2."), &(uint64_t){ 0 }) < 0) {
			rc = cp_err_set(err, EINVAL, "PCK certificate: malformed SGX TCB component %d", i);
		} else {
			idx = (unsigned)strtoul(oid + strlen(SGX_EXT_OID ".2."), NULL, 10);
			if (idx >= 1 && idx <= 16 && int_val(val, 255, &n) == 0) {
				out->comp_svn[idx - 1] = (uint8_t)n;
				*seen |= 1U << (idx - 1);
			} else if (idx == 17 && int_val(val, 65535, &n) == 0) {
				out->pcesvn = (uint16_t)n;
				*seen |= 1U << 16;
			} else if (idx == 18 && octets(val, out->cpusvn, 16) == 0) {
				*seen |= 1U << 17;
			} else {
				rc = cp_err_set(err, EINVAL, "PCK certificate: SGX TCB component %s malformed", oid);
			}
		}
		sk_ASN1_TYPE_pop_free(h, ASN1_TYPE_free);
	}
	sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
	return rc;
}

int attest_hw_pck_info_read(X509 *pck, struct attest_hw_pck_info *out, struct cp_err *err)
{
	ASN1_SEQUENCE_ANY *top = NULL;
	unsigned seen = 0;
	int rc = 0, found = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < X509_get_ext_count(pck); i++) {
		X509_EXTENSION *ext = X509_get_ext(pck, i);
		const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
		const unsigned char *p;
		char oid[80];

		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0 || strcmp(oid, SGX_EXT_OID))
			continue;
		if (found++)
			return cp_err_set(err, EINVAL, "PCK certificate: SGX extension repeated");
		p = ASN1_STRING_get0_data(os);
		top = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(os));
		if (!top) {
			ERR_clear_error();
			return cp_err_set(err, EINVAL, "PCK certificate: SGX extension is not a SEQUENCE");
		}
	}
	if (!top)
		return cp_err_set(err, EINVAL, "PCK certificate: no SGX extension (" SGX_EXT_OID ")");
	for (int i = 0; i < sk_ASN1_TYPE_num(top) && rc == 0; i++) {
		ASN1_SEQUENCE_ANY *h = NULL;
		const ASN1_TYPE *val;
		char oid[80];

		if (pair(sk_ASN1_TYPE_value(top, i), oid, sizeof(oid), &h, &val) < 0)
			rc = cp_err_set(err, EINVAL, "PCK certificate: SGX extension element %d malformed", i);
		else if (!strcmp(oid, SGX_EXT_OID ".2"))
			rc = read_tcb(val, out, &seen, err);
		else if (!strcmp(oid, SGX_EXT_OID ".3") && octets(val, out->pceid, 2) == 0)
			seen |= 1U << 18;
		else if (!strcmp(oid, SGX_EXT_OID ".4") && octets(val, out->fmspc, 6) == 0)
			seen |= 1U << 19;
		else if (!strcmp(oid, SGX_EXT_OID ".3") || !strcmp(oid, SGX_EXT_OID ".4"))
			rc = cp_err_set(err, EINVAL, "PCK certificate: %s has the wrong type or size", oid);
		sk_ASN1_TYPE_pop_free(h, ASN1_TYPE_free);
	}
	sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
	ERR_clear_error();
	if (rc == 0 && seen != 0xFFFFFU)
		rc = cp_err_set(err, EINVAL, "PCK certificate: SGX extension lacks TCB, PCE-ID or FMSPC (mask 0x%x)", seen);
	return rc;
}

int attest_hw_collateral_split(const uint8_t *buf, size_t len, const char *key, char **signed_text, uint8_t sig[64],
			       struct cp_err *err)
{
	struct cp_jread r = { .err = err, .what = "collateral" };
	struct json_object *root = NULL, *body, *s;
	const char *text;
	int rc;

	*signed_text = NULL;
	if (len > COLLATERAL_MAX_BYTES)
		return cp_err_set(err, EINVAL, "collateral: %zu bytes, at most %u", len, COLLATERAL_MAX_BYTES);
	/* The one strict reader: a key given twice is refused, so the text Intel signed and the
	 * values read from it cannot differ. */
	if ((rc = cp_jread_parse_doc_depth(&r, (const char *)buf, len, COLLATERAL_DEPTH_MAX, &root)) < 0)
		return rc;
	if (!json_object_is_type(root, json_type_object) || json_object_object_length(root) != 2 ||
	    !json_object_object_get_ex(root, key, &body) || !json_object_is_type(body, json_type_object) ||
	    !json_object_object_get_ex(root, "signature", &s) || !json_object_is_type(s, json_type_string)) {
		rc = cp_err_set(err, EINVAL, "collateral: expected {\"%s\": {...}, \"signature\": \"hex\"}", key);
		goto out;
	}
	rc = cp_hex_decode(json_object_get_string(s), sig, 64, err);
	if (rc < 0) {
		cp_err_prefix(err, "collateral: signature: ");
		goto out;
	}
	/* Intel signs the compact text of the inner object; json-c keeps key order and writes it
	 * compactly, so a re-serialisation that differs from what was signed fails the signature. */
	text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*signed_text = text ? strdup(text) : NULL;
	rc = *signed_text ? 0 : cp_err_set(err, ENOMEM, "collateral: out of memory");
out:
	json_object_put(root);
	return rc;
}

static struct json_object *get(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int hex_field(struct json_object *o, const char *key, uint8_t *out, size_t len, struct cp_err *err)
{
	struct json_object *v = get(o, key, json_type_string);

	if (!v)
		return cp_err_set(err, EINVAL, "collateral: '%s' missing or not a string", key);
	if (cp_hex_decode(json_object_get_string(v), out, len, err) < 0)
		return cp_err_prefix(err, "collateral: '%s': ", key), -EINVAL;
	return 0;
}

static int window(struct json_object *o, time_t at, struct cp_err *err)
{
	struct json_object *i = get(o, "issueDate", json_type_string), *n = get(o, "nextUpdate", json_type_string);
	time_t ti, tn;

	if (!i || !n || attest_hw_time_parse(json_object_get_string(i), &ti, err) < 0 ||
	    attest_hw_time_parse(json_object_get_string(n), &tn, err) < 0)
		return cp_err_set(err, EINVAL, "collateral: issueDate/nextUpdate missing or malformed");
	if (at < ti || at > tn)
		return cp_err_set(err, EKEYEXPIRED, "collateral: not valid at the given time (issued %s, next update %s)",
				  json_object_get_string(i), json_object_get_string(n));
	return 0;
}

static struct json_object *parse_body(const char *text, struct cp_err *err)
{
	struct cp_jread r = { .err = err, .what = "collateral body" };
	struct json_object *o = NULL;

	if (cp_jread_parse_doc_depth(&r, text, strlen(text), COLLATERAL_DEPTH_MAX, &o) < 0)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		cp_err_set(err, EINVAL, "collateral: body is not a JSON object");
		return NULL;
	}
	return o;
}

/* svn array of 16 {"svn": n} objects, each compared with have[i]: true when all are <= have. */
static int svn_le(struct json_object *arr, const uint8_t *have, bool *le, struct cp_err *err)
{
	if (!arr || !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) != 16)
		return cp_err_set(err, EINVAL, "tcb info: a TCB level does not have 16 components");
	*le = true;
	for (size_t i = 0; i < 16; i++) {
		struct json_object *svn = get(json_object_array_get_idx(arr, i), "svn", json_type_int);
		int64_t v = svn ? json_object_get_int64(svn) : -1;
		if (v < 0 || v > 255)
			return cp_err_set(err, EINVAL, "tcb info: component %zu has no valid svn", i);
		if (v > have[i])
			*le = false;
	}
	return 0;
}

int attest_hw_tcbinfo_eval(const char *json, const struct attest_hw_tdx_quote *q, const struct attest_hw_pck_info *pck,
			   time_t at, char *status, size_t status_len, struct cp_err *err)
{
	struct json_object *o = parse_body(json, err), *id, *ver, *mod, *levels;
	uint8_t fmspc[6], pceid[2], mrsigner[48], attr[8], mask[8];
	int rc = -EINVAL;

	if (!o)
		return -EINVAL;
	id = get(o, "id", json_type_string);
	ver = get(o, "version", json_type_int);
	if (!id || strcmp(json_object_get_string(id), "TDX") || !ver || json_object_get_int(ver) != 3) {
		rc = cp_err_set(err, EINVAL, "tcb info: not a TDX TCB info version 3");
		goto out;
	}
	if ((rc = window(o, at, err)) < 0 || (rc = hex_field(o, "fmspc", fmspc, 6, err)) < 0 ||
	    (rc = hex_field(o, "pceId", pceid, 2, err)) < 0)
		goto out;
	if (memcmp(fmspc, pck->fmspc, 6) || memcmp(pceid, pck->pceid, 2)) {
		rc = cp_err_set(err, EINVAL, "tcb info: FMSPC/PCE-ID differ from the PCK certificate's");
		goto out;
	}
	mod = get(o, "tdxModule", json_type_object);
	if (!mod || (rc = hex_field(mod, "mrsigner", mrsigner, 48, err)) < 0 ||
	    (rc = hex_field(mod, "attributes", attr, 8, err)) < 0 || (rc = hex_field(mod, "attributesMask", mask, 8, err)) < 0) {
		rc = cp_err_set(err, EINVAL, "tcb info: tdxModule missing or malformed");
		goto out;
	}
	if (memcmp(mrsigner, q->body.mrsignerseam, 48)) {
		rc = cp_err_set(err, EINVAL, "tcb info: MRSIGNERSEAM differs from tdxModule.mrsigner");
		goto out;
	}
	for (int i = 0; i < 8; i++)
		if ((q->body.seam_attributes[i] & mask[i]) != (attr[i] & mask[i])) {
			rc = cp_err_set(err, EINVAL, "tcb info: SEAMATTRIBUTES differ from tdxModule.attributes under the mask");
			goto out;
		}
	/* TEE_TCB_SVN[1] is the TDX module's major version: when it is not 0, Intel's evaluation
	 * takes components 0-1 from tdxModuleIdentities instead. That path is not implemented here,
	 * so such a quote fails rather than being judged by the wrong components. */
	if (q->body.tee_tcb_svn[1] != 0) {
		rc = cp_err_set(err, ENOTSUP, "tcb info: TDX module major version %u needs tdxModuleIdentities, "
				"which carapace does not evaluate yet", q->body.tee_tcb_svn[1]);
		goto out;
	}
	levels = get(o, "tcbLevels", json_type_array);
	if (!levels) {
		rc = cp_err_set(err, EINVAL, "tcb info: no tcbLevels");
		goto out;
	}
	/* Levels are ordered newest first: the first level the platform meets decides its status. */
	for (size_t i = 0; i < json_object_array_length(levels); i++) {
		struct json_object *lvl = json_object_array_get_idx(levels, i), *tcb = get(lvl, "tcb", json_type_object);
		struct json_object *pcesvn = get(tcb, "pcesvn", json_type_int), *st = get(lvl, "tcbStatus", json_type_string);
		bool sgx_le, tdx_le;

		if (!tcb || !pcesvn || !st) {
			rc = cp_err_set(err, EINVAL, "tcb info: level %zu malformed", i);
			goto out;
		}
		if ((rc = svn_le(get(tcb, "sgxtcbcomponents", json_type_array), pck->comp_svn, &sgx_le, err)) < 0 ||
		    (rc = svn_le(get(tcb, "tdxtcbcomponents", json_type_array), q->body.tee_tcb_svn, &tdx_le, err)) < 0)
			goto out;
		if (sgx_le && json_object_get_int64(pcesvn) <= pck->pcesvn && tdx_le) {
			snprintf(status, status_len, "%s", json_object_get_string(st));
			rc = 0;
			goto out;
		}
	}
	rc = cp_err_set(err, EINVAL, "tcb info: the platform meets no TCB level (TCB out of date beyond the list)");
out:
	json_object_put(o);
	return rc;
}

int attest_hw_qeid_eval(const char *json, const struct attest_hw_tdx_quote *q, time_t at, char *status,
			size_t status_len, struct cp_err *err)
{
	struct json_object *o = parse_body(json, err), *id, *prod, *levels;
	uint8_t mrsigner[32], misc[4], miscmask[4], attr[16], attrmask[16], have_misc[4];
	int rc;

	if (!o)
		return -EINVAL;
	id = get(o, "id", json_type_string);
	if (!id || strcmp(json_object_get_string(id), "TD_QE")) {
		rc = cp_err_set(err, EINVAL, "qe identity: id is not TD_QE");
		goto out;
	}
	if ((rc = window(o, at, err)) < 0 || (rc = hex_field(o, "mrsigner", mrsigner, 32, err)) < 0 ||
	    (rc = hex_field(o, "miscselect", misc, 4, err)) < 0 || (rc = hex_field(o, "miscselectMask", miscmask, 4, err)) < 0 ||
	    (rc = hex_field(o, "attributes", attr, 16, err)) < 0 || (rc = hex_field(o, "attributesMask", attrmask, 16, err)) < 0)
		goto out;
	prod = get(o, "isvprodid", json_type_int);
	if (memcmp(mrsigner, q->qe.mrsigner, 32) || !prod || json_object_get_int64(prod) != q->qe.isvprodid) {
		rc = cp_err_set(err, EINVAL, "qe identity: QE MRSIGNER or ISVPRODID differ");
		goto out;
	}
	/* miscselect is written big-endian in the JSON, little-endian in the report. */
	cp_put_be32(have_misc, q->qe.miscselect);
	for (int i = 0; i < 4; i++)
		if ((have_misc[i] & miscmask[i]) != (misc[i] & miscmask[i])) {
			rc = cp_err_set(err, EINVAL, "qe identity: MISCSELECT differs under the mask");
			goto out;
		}
	for (int i = 0; i < 16; i++)
		if ((q->qe.attributes[i] & attrmask[i]) != (attr[i] & attrmask[i])) {
			rc = cp_err_set(err, EINVAL, "qe identity: ATTRIBUTES differ under the mask");
			goto out;
		}
	levels = get(o, "tcbLevels", json_type_array);
	for (size_t i = 0; levels && i < json_object_array_length(levels); i++) {
		struct json_object *lvl = json_object_array_get_idx(levels, i);
		struct json_object *svn = get(get(lvl, "tcb", json_type_object), "isvsvn", json_type_int);
		struct json_object *st = get(lvl, "tcbStatus", json_type_string);
		if (!svn || !st) {
			rc = cp_err_set(err, EINVAL, "qe identity: level %zu malformed", i);
			goto out;
		}
		if (json_object_get_int64(svn) <= q->qe.isvsvn) {
			snprintf(status, status_len, "%s", json_object_get_string(st));
			rc = 0;
			goto out;
		}
	}
	rc = cp_err_set(err, EINVAL, "qe identity: QE ISVSVN %u meets no TCB level", q->qe.isvsvn);
out:
	json_object_put(o);
	return rc;
}
