/* Reader for the hardware-evidence policy JSON (json-c); every key is known, typed and sized. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <json-c/json.h>

#include "attest/hw/policy.h"
#include "common/json.h"

#define POLICY_DEPTH_MAX 8
#include "common/util.h"

void attest_hw_policy_init(struct attest_hw_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->snp.allow_smt = true;
}

enum field_kind { F_HEX, F_BOOL, F_U32, F_TCB };

struct field {
	const char *key;
	enum field_kind kind;
	size_t off;  /* offset in the section struct */
	size_t len;  /* F_HEX: exact byte length */
	size_t flag; /* F_U32/F_TCB: offset of the "has_" bool */
};

#define SNP(m) offsetof(struct attest_hw_snp_policy, m)
#define TDX(m) offsetof(struct attest_hw_tdx_policy, m)

static const struct field snp_fields[] = {
	{ "measurement", F_HEX, SNP(measurement), 48, 0 },
	{ "host_data", F_HEX, SNP(host_data), 32, 0 },
	{ "report_data", F_HEX, SNP(report_data), 64, 0 },
	{ "id_key_digest", F_HEX, SNP(id_key_digest), 48, 0 },
	{ "author_key_digest", F_HEX, SNP(author_key_digest), 48, 0 },
	{ "family_id", F_HEX, SNP(family_id), 16, 0 },
	{ "image_id", F_HEX, SNP(image_id), 16, 0 },
	{ "chip_id", F_HEX, SNP(chip_id), 64, 0 },
	{ "min_tcb", F_TCB, SNP(min_tcb), 0, SNP(has_min_tcb) },
	{ "vmpl", F_U32, SNP(vmpl), 0, SNP(has_vmpl) },
	{ "min_guest_svn", F_U32, SNP(min_guest_svn), 0, SNP(has_min_guest_svn) },
	{ "allow_migrate_ma", F_BOOL, SNP(allow_migrate_ma), 0, 0 },
	{ "allow_smt", F_BOOL, SNP(allow_smt), 0, 0 },
	{ "require_single_socket", F_BOOL, SNP(require_single_socket), 0, 0 },
	{ "allow_provisional_firmware", F_BOOL, SNP(allow_provisional_firmware), 0, 0 },
};

static const struct field tdx_fields[] = {
	{ "mrtd", F_HEX, TDX(mrtd), 48, 0 },
	{ "rtmr0", F_HEX, TDX(rtmr[0]), 48, 0 },
	{ "rtmr1", F_HEX, TDX(rtmr[1]), 48, 0 },
	{ "rtmr2", F_HEX, TDX(rtmr[2]), 48, 0 },
	{ "rtmr3", F_HEX, TDX(rtmr[3]), 48, 0 },
	{ "mrconfigid", F_HEX, TDX(mrconfigid), 48, 0 },
	{ "mrowner", F_HEX, TDX(mrowner), 48, 0 },
	{ "mrownerconfig", F_HEX, TDX(mrownerconfig), 48, 0 },
	{ "report_data", F_HEX, TDX(report_data), 64, 0 },
	{ "mrseam", F_HEX, TDX(mrseam), 48, 0 },
	{ "xfam", F_HEX, TDX(xfam), 8, 0 },
	{ "td_attributes", F_HEX, TDX(td_attributes), 8, 0 },
};

static int parse_u8(struct json_object *v, const char *ctx, const char *key, uint8_t *out, struct cp_err *err)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return cp_err_set(err, EINVAL, "policy: %s.%s: expected an integer 0-255", ctx, key);
	n = json_object_get_int64(v);
	if (n < 0 || n > 255)
		return cp_err_set(err, EINVAL, "policy: %s.%s: %lld out of range 0-255", ctx, key, (long long)n);
	*out = (uint8_t)n;
	return 0;
}

static int parse_tcb(struct json_object *obj, const char *ctx, struct attest_hw_snp_tcb *t, struct cp_err *err)
{
	const struct {
		const char *key;
		size_t off;
	} parts[] = {
		{ "bl", offsetof(struct attest_hw_snp_tcb, bl) },
		{ "tee", offsetof(struct attest_hw_snp_tcb, tee) },
		{ "snp", offsetof(struct attest_hw_snp_tcb, snp) },
		{ "ucode", offsetof(struct attest_hw_snp_tcb, ucode) },
		{ "fmc", offsetof(struct attest_hw_snp_tcb, fmc) },
	};

	if (!json_object_is_type(obj, json_type_object))
		return cp_err_set(err, EINVAL, "policy: %s.min_tcb: expected an object {bl, tee, snp, ucode, fmc}", ctx);
	memset(t, 0, sizeof(*t));
	json_object_object_foreach(obj, key, val) {
		size_t i;
		for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
			if (!strcmp(key, parts[i].key))
				break;
		if (i == sizeof(parts) / sizeof(parts[0]))
			return cp_err_set(err, EINVAL, "policy: %s.min_tcb: unknown key '%s'", ctx, key);
		int rc = parse_u8(val, ctx, key, (uint8_t *)t + parts[i].off, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_section(struct json_object *obj, const char *ctx, const struct field *fields, size_t nfields,
			 void *section, struct cp_err *err)
{
	uint8_t *base = section;

	if (!json_object_is_type(obj, json_type_object))
		return cp_err_set(err, EINVAL, "policy: '%s' must be an object", ctx);
	json_object_object_foreach(obj, key, val) {
		const struct field *f = NULL;
		int rc = 0;

		for (size_t i = 0; i < nfields; i++)
			if (!strcmp(key, fields[i].key))
				f = &fields[i];
		if (!f)
			return cp_err_set(err, EINVAL, "policy: %s: unknown key '%s'", ctx, key);
		switch (f->kind) {
		case F_HEX: {
			struct attest_hw_bytes *b = (struct attest_hw_bytes *)(base + f->off);
			if (!json_object_is_type(val, json_type_string))
				return cp_err_set(err, EINVAL, "policy: %s.%s: expected a hex string of %zu bytes", ctx, key, f->len);
			rc = cp_hex_decode(json_object_get_string(val), b->v, f->len, err);
			if (rc < 0)
				return cp_err_prefix(err, "policy: %s.%s: ", ctx, key), rc;
			b->set = true;
			b->len = f->len;
			break;
		}
		case F_BOOL:
			if (!json_object_is_type(val, json_type_boolean))
				return cp_err_set(err, EINVAL, "policy: %s.%s: expected true or false", ctx, key);
			*(bool *)(base + f->off) = json_object_get_boolean(val);
			break;
		case F_U32: {
			int64_t n;
			if (!json_object_is_type(val, json_type_int))
				return cp_err_set(err, EINVAL, "policy: %s.%s: expected an integer", ctx, key);
			n = json_object_get_int64(val);
			if (n < 0 || n > UINT32_MAX)
				return cp_err_set(err, EINVAL, "policy: %s.%s: %lld out of range", ctx, key, (long long)n);
			*(uint32_t *)(base + f->off) = (uint32_t)n;
			*(bool *)(base + f->flag) = true;
			break;
		}
		case F_TCB:
			rc = parse_tcb(val, ctx, (struct attest_hw_snp_tcb *)(base + f->off), err);
			if (rc < 0)
				return rc;
			*(bool *)(base + f->flag) = true;
			break;
		}
	}
	return 0;
}

int attest_hw_policy_parse(const char *text, size_t len, struct attest_hw_policy *out, struct cp_err *err)
{
	struct json_object *root = NULL;
	struct cp_json_error e;
	int rc = 0;

	attest_hw_policy_init(out);
	if (!text)
		return cp_err_set(err, EINVAL, "policy: empty document");
	/* common/json.c's rules (strict, depth, no NUL, nothing after the value, no key twice). */
	if ((rc = cp_json_parse(text, len, POLICY_DEPTH_MAX, &root, &e)) < 0)
{
		if (e.fault == CP_JSON_DUPLICATE_KEY)
			return cp_err_set(err, EINVAL, "policy: JSON error at offset %zu: duplicate key \"%s\"", e.offset, e.detail);
		return cp_err_set(err, -rc, "policy: JSON error at offset %zu: %s", e.offset,
				  e.fault == CP_JSON_INVALID ? e.detail : cp_json_fault_name(e.fault));
	}
	if (!json_object_is_type(root, json_type_object)) {
		rc = cp_err_set(err, EINVAL, "policy: top level must be an object with 'snp' and/or 'tdx'");
		goto out;
	}
	json_object_object_foreach(root, key, val) {
		if (!strcmp(key, "snp")) {
			rc = parse_section(val, "snp", snp_fields, sizeof(snp_fields) / sizeof(snp_fields[0]), &out->snp, err);
			out->has_snp = true;
		} else if (!strcmp(key, "tdx")) {
			rc = parse_section(val, "tdx", tdx_fields, sizeof(tdx_fields) / sizeof(tdx_fields[0]), &out->tdx, err);
			out->has_tdx = true;
		} else {
			rc = cp_err_set(err, EINVAL, "policy: unknown top-level key '%s' (expected 'snp' or 'tdx')", key);
		}
		if (rc < 0)
			goto out;
	}
out:
	json_object_put(root);
	if (rc < 0)
		attest_hw_policy_init(out);
	return rc;
}
