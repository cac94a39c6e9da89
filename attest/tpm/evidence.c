/* Evidence bundle JSON writer and validating reader, reference-value policy reader, and the
 * AK/policy binding digest. json-c does the tokenising; every field is checked here. */
#include "attest/tpm/evidence.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "attest/tpm/b64.h"
#include "common/jread.h"
#include "common/json.h"
#include "attest/tpm/hostlog.h"
#include "attest/tpm/tcglog.h"
#include "common/cleanup.h"
#include "common/util.h"

#define BINDING_DOMAIN "carapace.binding.v1"
#define JSON_MAX_DEPTH 8

static void blob_free(struct attest_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void attest_evidence_free(struct attest_evidence *ev)
{
	if (!ev)
		return;
	blob_free(&ev->quote);
	blob_free(&ev->signature);
	blob_free(&ev->event_log);
	blob_free(&ev->launch_log);
	blob_free(&ev->boot_log);
	blob_free(&ev->ak_public);
	blob_free(&ev->ek_cert);
	blob_free(&ev->snp_report);
	blob_free(&ev->snp_cert_table);
	blob_free(&ev->tdx_quote);
	blob_free(&ev->vm_config);
	free(ev->ak_pem);
	free(ev->vm_name);
	memset(ev, 0, sizeof(*ev));
}

/* ---- writer ---- */

static int add_b64(json_object *obj, const char *key, const struct attest_blob *b, struct cp_err *err)
{
	char *s;
	if (!b->data)
		return 0;
	s = attest_b64_encode(b->data, b->len);
	if (!s)
		return cp_err_set(err, ENOMEM, "evidence: out of memory");
	json_object_object_add(obj, key, json_object_new_string(s));
	free(s);
	return 0;
}

int attest_evidence_to_json(const struct attest_evidence *ev, char **out, struct cp_err *err)
{
	json_object *root = json_object_new_object(), *tpm = json_object_new_object();
	json_object *pcrs = json_object_new_object(), *values = json_object_new_array();
	json_object *ak = json_object_new_object();
	int ret = 0;

	json_object_object_add(root, "format", json_object_new_string(ATTEST_EVIDENCE_FORMAT));
	json_object_object_add(root, "version", json_object_new_int(ATTEST_EVIDENCE_VERSION));
	json_object_object_add(root, "tpm", tpm);
	if ((ret = add_b64(tpm, "quote", &ev->quote, err)) < 0 ||
	    (ret = add_b64(tpm, "signature", &ev->signature, err)) < 0)
		goto out;
	json_object_object_add(tpm, "pcrs", pcrs);
	json_object_object_add(pcrs, "bank", json_object_new_string("sha256"));
	json_object_object_add(pcrs, "values", values);
	for (uint32_t i = 0; i < ev->pcr_count; i++) {
		json_object *v = json_object_new_object();
		struct attest_blob b = { (uint8_t *)ev->pcrs[i].value, 32 };
		json_object_object_add(v, "index", json_object_new_int((int)ev->pcrs[i].index));
		json_object_array_add(values, v);
		if ((ret = add_b64(v, "value", &b, err)) < 0)
			goto out;
	}
	json_object_object_add(tpm, "ak", ak);
	json_object_object_add(ak, "pem", json_object_new_string(ev->ak_pem ? ev->ak_pem : ""));
	if ((ret = add_b64(ak, "public", &ev->ak_public, err)) < 0 ||
	    (ret = add_b64(tpm, "ek_certificate", &ev->ek_cert, err)) < 0 ||
	    (ret = add_b64(root, "event_log", &ev->event_log, err)) < 0 ||
	    (ret = add_b64(root, "launch_log", &ev->launch_log, err)) < 0 ||
	    (ret = add_b64(root, "boot_log", &ev->boot_log, err)) < 0)
		goto out;
	if (ev->snp_report.data || ev->snp_cert_table.data || ev->tdx_quote.data) {
		json_object *plat = json_object_new_object();
		json_object_object_add(root, "platform", plat);
		if ((ret = add_b64(plat, "snp_report", &ev->snp_report, err)) < 0 ||
		    (ret = add_b64(plat, "snp_cert_table", &ev->snp_cert_table, err)) < 0 ||
		    (ret = add_b64(plat, "tdx_quote", &ev->tdx_quote, err)) < 0)
			goto out;
	}
	if (ev->vm_name || ev->vm_config.data) {
		json_object *vm = json_object_new_object();
		json_object_object_add(root, "vm", vm);
		if (ev->vm_name)
			json_object_object_add(vm, "name", json_object_new_string(ev->vm_name));
		if ((ret = add_b64(vm, "config", &ev->vm_config, err)) < 0)
			goto out;
	}
	*out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!*out)
		ret = cp_err_set(err, ENOMEM, "evidence: out of memory");
out:
	json_object_put(root);
	return ret;
}

/* ---- reader ---- */

struct field {
	const char *key;
	json_type type;
	bool required;
};

/* Every key must be one we know, with the right type; required keys must be present. */
static int check_keys(json_object *obj, const char *where, const struct field *fields, size_t n, struct cp_err *err)
{
	json_object_object_foreach(obj, key, val) {
		size_t i;
		for (i = 0; i < n; i++)
			if (!strcmp(key, fields[i].key))
				break;
		if (i == n)
			return cp_err_set(err, EBADMSG, "%s: unknown key \"%s\"", where, key);
		if (!json_object_is_type(val, fields[i].type))
			return cp_err_set(err, EBADMSG, "%s.%s: wrong JSON type (expected %s)", where, key,
					  json_type_to_name(fields[i].type));
	}
	for (size_t i = 0; i < n; i++)
		if (fields[i].required && !json_object_object_get_ex(obj, fields[i].key, NULL))
			return cp_err_set(err, EBADMSG, "%s: missing key \"%s\"", where, fields[i].key);
	return 0;
}

/* A JSON string without embedded NULs. */
static const char *get_str(json_object *obj, const char *key, const char *where, struct cp_err *err)
{
	json_object *v;
	const char *s;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s)) {
		cp_err_set(err, EBADMSG, "%s.%s: string contains a NUL character", where, key);
		return NULL;
	}
	return s;
}

static int get_b64(json_object *obj, const char *key, const char *where, size_t min, size_t max,
		   struct attest_blob *out, struct cp_err *err)
{
	char field[96];
	const char *s;
	int ret;

	if (!json_object_object_get_ex(obj, key, NULL))
		return 0;
	snprintf(field, sizeof(field), "%s.%s", where, key);
	if (!(s = get_str(obj, key, where, err)))
		return -EBADMSG;
	if ((ret = attest_b64_decode(s, max, &out->data, &out->len, field, err)) < 0)
		return ret;
	if (out->len < min)
		return cp_err_set(err, EBADMSG, "%s: %zu bytes, at least %zu expected", field, out->len, min);
	return 0;
}

/* The one strict reader (common/json.c): RFC 8259 only, depth bounded, no NUL byte, nothing after
 * the value, no key twice in an object. The wording is this reader's. */
static int parse_json(const char *json, size_t len, json_object **out, const char *what, struct cp_err *err)
{
	struct cp_json_error e;
	json_object *root;
	int ret;

	if (len > ATTEST_EVIDENCE_MAX_BYTES)
		return cp_err_set(err, EFBIG, "%s: %zu bytes exceeds %u", what, len, ATTEST_EVIDENCE_MAX_BYTES);
	if ((ret = cp_json_parse(json, len, JSON_MAX_DEPTH, &root, &e)) < 0) {
		if (ret == -ENOMEM)
			return cp_err_set(err, ENOMEM, "%s: out of memory", what);
		switch (e.fault) {
		case CP_JSON_NUL:
			return cp_err_set(err, EBADMSG, "%s: contains a NUL byte", what);
		case CP_JSON_EMPTY:
		case CP_JSON_TRUNCATED:
			return cp_err_set(err, EBADMSG, "%s: invalid JSON at byte %zu: unexpected end of input", what, e.offset);
		case CP_JSON_TRAILING:
			return cp_err_set(err, EBADMSG, "%s: trailing data at byte %zu", what, e.offset);
		case CP_JSON_DUPLICATE_KEY:
			return cp_err_set(err, EBADMSG, "%s: duplicate key \"%s\" at byte %zu", what, e.detail, e.offset);
		default:
			return cp_err_set(err, EBADMSG, "%s: invalid JSON at byte %zu: %s", what, e.offset, e.detail);
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return cp_err_set(err, EBADMSG, "%s: top level is not a JSON object", what);
	}
	*out = root;
	return 0;
}

static int check_format(json_object *root, const char *format, int version, const char *what, struct cp_err *err)
{
	json_object *v;
	const char *s = get_str(root, "format", what, err);
	if (!s || strcmp(s, format))
		return cp_err_set(err, EBADMSG, "%s: \"format\" must be \"%s\"", what, format);
	json_object_object_get_ex(root, "version", &v);
	if (json_object_get_int64(v) != version)
		return cp_err_set(err, EBADMSG, "%s: version %lld is not supported (expected %d)%s", what,
				  (long long)json_object_get_int64(v), version,
				  version == 2 && json_object_get_int64(v) == 1
					  ? ": version 1 evidence quotes a per-VM, resettable PCR and is no longer accepted"
					  : "");
	return 0;
}

static int parse_pcrs(json_object *pcrs, struct attest_evidence *ev, struct cp_err *err)
{
	static const struct field f[] = {
		{ "bank", json_type_string, true },
		{ "values", json_type_array, true },
	};
	static const struct field fv[] = {
		{ "index", json_type_int, true },
		{ "value", json_type_string, true },
	};
	json_object *values;
	const char *bank;
	size_t n;
	int ret;

	if ((ret = check_keys(pcrs, "tpm.pcrs", f, ARRAY_SIZE(f), err)) < 0)
		return ret;
	bank = get_str(pcrs, "bank", "tpm.pcrs", err);
	if (!bank || strcmp(bank, "sha256"))
		return cp_err_set(err, EBADMSG, "tpm.pcrs.bank: only \"sha256\" is supported");
	json_object_object_get_ex(pcrs, "values", &values);
	n = json_object_array_length(values);
	if (n == 0 || n > ATTEST_EVIDENCE_MAX_PCRS)
		return cp_err_set(err, EBADMSG, "tpm.pcrs.values: %zu entries, allowed 1..%d", n, ATTEST_EVIDENCE_MAX_PCRS);
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(values, i), *idx;
		struct attest_blob b = { 0 };
		char where[48];
		int64_t index;

		snprintf(where, sizeof(where), "tpm.pcrs.values[%zu]", i);
		if (!json_object_is_type(v, json_type_object))
			return cp_err_set(err, EBADMSG, "%s: not an object", where);
		if ((ret = check_keys(v, where, fv, ARRAY_SIZE(fv), err)) < 0)
			return ret;
		json_object_object_get_ex(v, "index", &idx);
		index = json_object_get_int64(idx);
		if (index < 0 || index > ATTEST_PCR_MAX)
			return cp_err_set(err, EBADMSG, "%s.index: %lld out of range 0..%d", where, (long long)index,
					  ATTEST_PCR_MAX);
		if (i > 0 && (uint32_t)index <= ev->pcrs[i - 1].index)
			return cp_err_set(err, EBADMSG, "%s.index: PCR indices must be unique and ascending", where);
		if ((ret = get_b64(v, "value", where, 32, 32, &b, err)) < 0) {
			blob_free(&b);
			return ret;
		}
		ev->pcrs[i].index = (uint32_t)index;
		memcpy(ev->pcrs[i].value, b.data, 32);
		blob_free(&b);
		ev->pcr_count = (uint32_t)(i + 1);
	}
	return 0;
}

static int parse_evidence(json_object *root, struct attest_evidence *ev, struct cp_err *err)
{
	static const struct field ftop[] = {
		{ "format", json_type_string, true }, { "version", json_type_int, true },
		{ "tpm", json_type_object, true },    { "event_log", json_type_string, true },
		{ "launch_log", json_type_string, true }, { "boot_log", json_type_string, false },
		{ "platform", json_type_object, false }, { "vm", json_type_object, false },
	};
	static const struct field ftpm[] = {
		{ "quote", json_type_string, true },  { "signature", json_type_string, true },
		{ "pcrs", json_type_object, true },   { "ak", json_type_object, true },
		{ "ek_certificate", json_type_string, false },
	};
	static const struct field fak[] = {
		{ "pem", json_type_string, true },
		{ "public", json_type_string, true },
	};
	static const struct field fplat[] = {
		{ "snp_report", json_type_string, false },
		{ "snp_cert_table", json_type_string, false },
		{ "tdx_quote", json_type_string, false },
	};
	static const struct field fvm[] = {
		{ "name", json_type_string, false },
		{ "config", json_type_string, false },
	};
	json_object *tpm, *pcrs, *ak, *o;
	const char *s;
	int ret;

	if ((ret = check_keys(root, "evidence", ftop, ARRAY_SIZE(ftop), err)) < 0 ||
	    (ret = check_format(root, ATTEST_EVIDENCE_FORMAT, ATTEST_EVIDENCE_VERSION, "evidence", err)) < 0)
		return ret;
	json_object_object_get_ex(root, "tpm", &tpm);
	if ((ret = check_keys(tpm, "tpm", ftpm, ARRAY_SIZE(ftpm), err)) < 0 ||
	    (ret = get_b64(tpm, "quote", "tpm", 1, 1024, &ev->quote, err)) < 0 ||
	    (ret = get_b64(tpm, "signature", "tpm", 1, 1024, &ev->signature, err)) < 0 ||
	    (ret = get_b64(tpm, "ek_certificate", "tpm", 1, 16384, &ev->ek_cert, err)) < 0)
		return ret;
	json_object_object_get_ex(tpm, "pcrs", &pcrs);
	if ((ret = parse_pcrs(pcrs, ev, err)) < 0)
		return ret;
	json_object_object_get_ex(tpm, "ak", &ak);
	if ((ret = check_keys(ak, "tpm.ak", fak, ARRAY_SIZE(fak), err)) < 0 ||
	    (ret = get_b64(ak, "public", "tpm.ak", 1, 1024, &ev->ak_public, err)) < 0)
		return ret;
	if (!(s = get_str(ak, "pem", "tpm.ak", err)))
		return -EBADMSG;
	if (strlen(s) > 4096)
		return cp_err_set(err, EBADMSG, "tpm.ak.pem: longer than 4096 characters");
	if (!(ev->ak_pem = strdup(s)))
		return cp_err_set(err, ENOMEM, "evidence: out of memory");
	if ((ret = get_b64(root, "event_log", "evidence", 12, ATTEST_EVENTLOG_MAX_BYTES, &ev->event_log, err)) < 0 ||
	    (ret = get_b64(root, "launch_log", "evidence", ATTEST_HOSTLOG_HEADER_LEN, ATTEST_HOSTLOG_MAX_BYTES,
			   &ev->launch_log, err)) < 0 ||
	    (ret = get_b64(root, "boot_log", "evidence", 32, ATTEST_TCGLOG_MAX_BYTES, &ev->boot_log, err)) < 0)
		return ret;
	if (json_object_object_get_ex(root, "platform", &o)) {
		if ((ret = check_keys(o, "platform", fplat, ARRAY_SIZE(fplat), err)) < 0 ||
		    (ret = get_b64(o, "snp_report", "platform", 1, 4096, &ev->snp_report, err)) < 0 ||
		    (ret = get_b64(o, "snp_cert_table", "platform", 1, 65536, &ev->snp_cert_table, err)) < 0 ||
		    (ret = get_b64(o, "tdx_quote", "platform", 1, 65536, &ev->tdx_quote, err)) < 0)
			return ret;
	}
	if (json_object_object_get_ex(root, "vm", &o)) {
		if ((ret = check_keys(o, "vm", fvm, ARRAY_SIZE(fvm), err)) < 0 ||
		    (ret = get_b64(o, "config", "vm", 0, 1u << 20, &ev->vm_config, err)) < 0)
			return ret;
		if (json_object_object_get_ex(o, "name", NULL)) {
			if (!(s = get_str(o, "name", "vm", err)))
				return -EBADMSG;
			if (!(ev->vm_name = strdup(s)))
				return cp_err_set(err, ENOMEM, "evidence: out of memory");
			if ((ret = attest_event_data_check(ATTEST_EVENT_VM_START, (const uint8_t *)s, strlen(s), err)) < 0)
				{ cp_err_prefix(err, "vm.name: "); return -EBADMSG; }
		}
	}
	return 0;
}

int attest_evidence_parse(const char *json, size_t len, struct attest_evidence *ev, struct cp_err *err)
{
	json_object *root = NULL;
	int ret;

	memset(ev, 0, sizeof(*ev));
	if ((ret = parse_json(json, len, &root, "evidence", err)) < 0)
		return ret;
	ret = parse_evidence(root, ev, err);
	json_object_put(root);
	if (ret < 0)
		attest_evidence_free(ev);
	return ret;
}

/* ---- reference-value policy ---- */

static int parse_hex_list(json_object *root, const char *key, const size_t *sizes, size_t n_sizes,
			  uint8_t *out, size_t stride, size_t *lens, size_t *count, struct cp_err *err)
{
	json_object *arr;
	size_t n;

	if (!json_object_object_get_ex(root, key, &arr))
		return 0;
	n = json_object_array_length(arr);
	if (n == 0 || n > ATTEST_POLICY_MAX_VALUES)
		return cp_err_set(err, EBADMSG, "policy.%s: %zu entries, allowed 1..%d", key, n, ATTEST_POLICY_MAX_VALUES);
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		struct cp_err e2 = { 0 };
		size_t got = 0, k;
		if (!json_object_is_type(v, json_type_string))
			return cp_err_set(err, EBADMSG, "policy.%s[%zu]: not a string", key, i);
		if (cp_hex_decode_var(json_object_get_string(v), out + i * stride, stride, &got, &e2) < 0)
			return cp_err_set(err, EBADMSG, "policy.%s[%zu]: %s", key, i, e2.msg);
		for (k = 0; k < n_sizes; k++)
			if (got == sizes[k])
				break;
		if (k == n_sizes)
			return cp_err_set(err, EBADMSG, "policy.%s[%zu]: %zu bytes is not an accepted digest size", key, i, got);
		if (lens)
			lens[i] = got;
	}
	*count = n;
	return 0;
}

/* "ak_names": SHA-256 TPM Names, 0x000B then 32 bytes (hex, as tpm2_readpublic prints them). */
static int parse_name_list(json_object *root, const char *key, uint8_t (*out)[32], size_t *count, struct cp_err *err)
{
	static const size_t d34[] = { 34 };
	uint8_t names[ATTEST_POLICY_MAX_VALUES][34];
	int ret = parse_hex_list(root, key, d34, 1, &names[0][0], 34, NULL, count, err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < *count; i++) {
		if (cp_be16(names[i]) != 0x000B)
			return cp_err_set(err, EBADMSG, "policy.%s[%zu]: nameAlg 0x%04x, expected 000b (SHA-256)", key, i,
					  cp_be16(names[i]));
		memcpy(out[i], names[i] + 2, 32);
	}
	return 0;
}

static int parse_names(json_object *root, struct attest_evidence_policy *pol, struct cp_err *err)
{
	int ret = parse_name_list(root, "ak_names", pol->ak_pins, &pol->n_ak_pins, err);
	return ret < 0 ? ret : parse_name_list(root, "ak_enrolled", pol->ak_enrolled, &pol->n_ak_enrolled, err);
}

/* "boot_pcrs": {"sha256": {"0": "HEX", ..., "7": "HEX"}}: the form verify eventlog --json
 * prints, restricted to the sha256 bank and PCRs 0..7. */
static int parse_boot_pcrs(json_object *root, struct attest_evidence_policy *pol, struct cp_err *err)
{
	json_object *bp, *bank;

	if (!json_object_object_get_ex(root, "boot_pcrs", &bp))
		return 0;
	if (json_object_object_length(bp) != 1 || !json_object_object_get_ex(bp, "sha256", &bank) ||
	    !json_object_is_type(bank, json_type_object))
		return cp_err_set(err, EBADMSG, "policy.boot_pcrs: expected exactly {\"sha256\": {\"PCR\": \"HEX\", ...}}");
	if (json_object_object_length(bank) == 0)
		return cp_err_set(err, EBADMSG, "policy.boot_pcrs.sha256: empty");
	json_object_object_foreach(bank, key, val) {
		struct cp_err e2 = { 0 };
		uint64_t pcr;
		if (cp_parse_u64(key, &pcr) < 0 || pcr > 7 || strlen(key) != 1)
			return cp_err_set(err, EBADMSG, "policy.boot_pcrs.sha256: key \"%s\" is not a boot PCR 0..7", key);
		if (!json_object_is_type(val, json_type_string) ||
		    cp_hex_decode(json_object_get_string(val), pol->boot_pcrs[pcr], 32, &e2) < 0)
			return cp_err_set(err, EBADMSG, "policy.boot_pcrs.sha256.%s: %s", key,
					  e2.code ? e2.msg : "not a string");
		pol->boot_pcr_mask |= 1u << pcr;
	}
	return 0;
}

/* "platform": the reference-values schema, read by its one reader. */
static int parse_platform(json_object *root, struct attest_evidence_policy *pol, struct cp_err *err)
{
	struct cp_jread r = { .err = err, .what = "policy" };
	json_object *o;
	size_t saved;
	int ret;

	if (!json_object_object_get_ex(root, "platform", &o))
		return 0;
	saved = cp_jread_push_key(&r, "platform");
	ret = cp_refvals_read(&r, o, &pol->platform);
	cp_jread_pop(&r, saved);
	if (ret && err && err->code == EINVAL)
		err->code = EBADMSG;
	return ret ? -EBADMSG : 0;
}

int attest_evidence_policy_parse(const char *json, size_t len, struct attest_evidence_policy *pol,
				 struct cp_err *err)
{
	static const struct field f[] = {
		{ "format", json_type_string, true },
		{ "version", json_type_int, true },
		{ "launch_measurements", json_type_array, false },
		{ "launch_policy_digests", json_type_array, false },
		{ "ak_names", json_type_array, false },
		{ "ak_enrolled", json_type_array, false },
		{ "boot_pcrs", json_type_object, false },
		{ "platform", json_type_object, false },
	};
	static const size_t meas_sizes[] = { 32, 48 }, d32[] = { 32 };
	json_object *root = NULL;
	int ret;

	memset(pol, 0, sizeof(*pol));
	cp_refvals_init(&pol->platform);
	if ((ret = parse_json(json, len, &root, "policy", err)) < 0)
		return ret;
	/* Issue 18 item 7: a pin of the bare public key leaves the attributes open to change. */
	if (json_object_object_get_ex(root, "ak_sha256", NULL)) {
		json_object_put(root);
		return cp_err_set(err, EBADMSG, "policy.ak_sha256: public-key pins are no longer accepted (they do not cover the "
				  "key's attributes); pin the AK's TPM name with \"ak_names\" (name:000b... from carapace attest ak)");
	}
	if ((ret = check_keys(root, "policy", f, ARRAY_SIZE(f), err)) < 0 ||
	    (ret = check_format(root, "carapace-evidence-policy", ATTEST_EVIDENCE_POLICY_VERSION, "policy", err)) < 0 ||
	    (ret = parse_hex_list(root, "launch_measurements", meas_sizes, 2, &pol->measurements[0][0], 48,
				  pol->measurement_len, &pol->n_measurements, err)) < 0 ||
	    (ret = parse_hex_list(root, "launch_policy_digests", d32, 1, &pol->policy_digests[0][0], 32, NULL,
				  &pol->n_policy_digests, err)) < 0 ||
	    (ret = parse_names(root, pol, err)) < 0 || (ret = parse_boot_pcrs(root, pol, err)) < 0 ||
	    (ret = parse_platform(root, pol, err)) < 0) {
		memset(pol, 0, sizeof(*pol));
		cp_refvals_init(&pol->platform);
	}
	json_object_put(root);
	return ret;
}

int attest_binding_digest(const uint8_t *ak_public, size_t ak_public_len, const uint8_t policy_digest[32],
			  uint8_t out[32])
{
	EVP_MD_CTX *ctx;
	int ok;

	if (ak_public_len < 2 || cp_be16(ak_public) + 2u != ak_public_len)
		return -EINVAL; /* must be exactly one TPM2B_PUBLIC, so the encoding stays unambiguous */
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, BINDING_DOMAIN, sizeof(BINDING_DOMAIN)) &&
	     EVP_DigestUpdate(ctx, ak_public, ak_public_len) && EVP_DigestUpdate(ctx, policy_digest, 32) &&
	     EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}
