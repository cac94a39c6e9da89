/* The reference-values schema: one table per section names every field once (its key, the older
 * spelling still accepted, its type and size), one reader walks it, and a few pure comparisons
 * are the matcher. docs/refvals.md is this file in prose. */
#include "common/refvals.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

enum kind {
	K_DIGESTS, /* one hex digest, or an array of 0..16 of them */
	K_BYTES,   /* one hex string of an exact length */
	K_RTMRS,   /* an array of 1..4 digests or null (no reference for that RTMR) */
	K_TCB,     /* {bootloader, tee, snp, microcode, fmc}, each 0..255 */
	K_U32,
	K_BOOL,
};

struct field {
	const char *key;
	const char *alias; /* the spelling carapace-verify's policy files used before this schema */
	enum kind kind;
	size_t off;  /* in the section's struct */
	size_t len;  /* K_BYTES: exact byte length; K_BOOL: the default (0 or 1) */
	size_t flag; /* K_TCB, K_U32: offset of the "has_" bool; 0: none */
};

#define SNP(m) offsetof(struct cp_refvals_snp, m)
#define TDX(m) offsetof(struct cp_refvals_tdx, m)
#define D CP_REFVALS_DIGEST_LEN

static const struct field snp_fields[] = {
	{ "measurements", "measurement", K_DIGESTS, SNP(measurements), D, 0 },
	{ "host_data", NULL, K_BYTES, SNP(host_data), 32, 0 },
	{ "report_data", NULL, K_BYTES, SNP(report_data), 64, 0 },
	{ "id_key_digest", NULL, K_BYTES, SNP(id_key_digest), 48, 0 },
	{ "author_key_digest", NULL, K_BYTES, SNP(author_key_digest), 48, 0 },
	{ "family_id", NULL, K_BYTES, SNP(family_id), 16, 0 },
	{ "image_id", NULL, K_BYTES, SNP(image_id), 16, 0 },
	{ "chip_id", NULL, K_BYTES, SNP(chip_id), 64, 0 },
	{ "min_tcb", NULL, K_TCB, SNP(min_tcb), 0, SNP(has_min_tcb) },
	{ "vmpl", NULL, K_U32, SNP(vmpl), 0, SNP(has_vmpl) },
	{ "min_guest_svn", NULL, K_U32, SNP(min_guest_svn), 0, SNP(has_min_guest_svn) },
	{ "allow_debug", NULL, K_BOOL, SNP(allow_debug), 0, 0 },
	{ "allow_migrate_ma", NULL, K_BOOL, SNP(allow_migrate_ma), 0, 0 },
	{ "allow_smt", NULL, K_BOOL, SNP(allow_smt), 1, 0 },
	{ "require_single_socket", NULL, K_BOOL, SNP(require_single_socket), 0, 0 },
	{ "allow_provisional_firmware", NULL, K_BOOL, SNP(allow_provisional_firmware), 0, 0 },
};

/* "rtmr" (an array) and "rtmr0".."rtmr3" (carapace-verify's older spelling) fill the same four
 * slots; naming one slot both ways is an error. */
static const struct field tdx_fields[] = {
	{ "mrtd", NULL, K_DIGESTS, TDX(mrtd), D, 0 },
	{ "rtmr", NULL, K_RTMRS, TDX(rtmr), D, 0 },
	{ "rtmr0", NULL, K_BYTES, TDX(rtmr[0]), D, 0 },
	{ "rtmr1", NULL, K_BYTES, TDX(rtmr[1]), D, 0 },
	{ "rtmr2", NULL, K_BYTES, TDX(rtmr[2]), D, 0 },
	{ "rtmr3", NULL, K_BYTES, TDX(rtmr[3]), D, 0 },
	{ "mrconfigid", NULL, K_BYTES, TDX(mrconfigid), 48, 0 },
	{ "mrowner", NULL, K_BYTES, TDX(mrowner), 48, 0 },
	{ "mrownerconfig", NULL, K_BYTES, TDX(mrownerconfig), 48, 0 },
	{ "report_data", NULL, K_BYTES, TDX(report_data), 64, 0 },
	{ "mrseam", NULL, K_BYTES, TDX(mrseam), 48, 0 },
	{ "xfam", NULL, K_BYTES, TDX(xfam), 8, 0 },
	{ "td_attributes", NULL, K_BYTES, TDX(td_attributes), 8, 0 },
	{ "allow_debug", NULL, K_BOOL, TDX(allow_debug), 0, 0 },
};

#define TCB(m) offsetof(struct cp_refvals_tcb, m)
static const struct field tcb_fields[] = {
	{ "bootloader", "bl", K_U32, TCB(bootloader), 0, 0 },
	{ "tee", NULL, K_U32, TCB(tee), 0, 0 },
	{ "snp", NULL, K_U32, TCB(snp), 0, 0 },
	{ "microcode", "ucode", K_U32, TCB(microcode), 0, 0 },
	{ "fmc", NULL, K_U32, TCB(fmc), 0, 0 },
};

void cp_refvals_init(struct cp_refvals *rv)
{
	memset(rv, 0, sizeof(*rv));
	for (size_t i = 0; i < ARRAY_SIZE(snp_fields); i++)
		if (snp_fields[i].kind == K_BOOL)
			*(bool *)((uint8_t *)&rv->snp + snp_fields[i].off) = snp_fields[i].len;
	for (size_t i = 0; i < ARRAY_SIZE(tdx_fields); i++)
		if (tdx_fields[i].kind == K_BOOL)
			*(bool *)((uint8_t *)&rv->tdx + tdx_fields[i].off) = tdx_fields[i].len;
}

/* Every key must be a field's key or its older spelling; never both, never null. */
static int check_keys(struct cp_jread *r, struct json_object *o, const struct field *f, size_t n)
{
	if (!json_object_is_type(o, json_type_object))
		return cp_jread_fail(r, "expected an object, got %s", cp_jread_type_name(o));
	json_object_object_foreach(o, key, val) {
		size_t i, saved;
		int ret = 0;

		for (i = 0; i < n; i++)
			if (!strcmp(key, f[i].key) || (f[i].alias && !strcmp(key, f[i].alias)))
				break;
		saved = cp_jread_push_key(r, key);
		if (i == n) {
			char list[320] = "";
			size_t used = 0;

			for (size_t k = 0; k < n && used < sizeof(list); k++) {
				int m = snprintf(list + used, sizeof(list) - used, "%s%s", k ? ", " : "", f[k].key);
				if (m < 0)
					break;
				used += (size_t)m;
			}
			ret = cp_jread_fail(r, "unknown key '%s' (expected one of: %s)", key, list);
		} else if (!val && f[i].kind != K_RTMRS) {
			ret = cp_jread_fail(r, "null is not allowed (omit the key to leave it unconstrained)");
		} else if (f[i].alias && cp_jread_member(o, f[i].key) && cp_jread_member(o, f[i].alias)) {
			ret = cp_jread_fail(r, "given as both \"%s\" and \"%s\" (one spelling only)", f[i].key, f[i].alias);
		}
		cp_jread_pop(r, saved);
		if (ret)
			return ret;
	}
	return 0;
}

/* Hex of exactly len bytes; an "0x" prefix is accepted (carapace-verify's files allowed it). */
static int read_hex(struct cp_jread *r, struct json_object *v, uint8_t *out, size_t len)
{
	const char *s, *digits;
	struct cp_err e = { 0 };

	if (!json_object_is_type(v, json_type_string))
		return cp_jread_fail(r, "expected %zu bytes as %zu hex digits, got %s", len, 2 * len, cp_jread_type_name(v));
	s = json_object_get_string(v);
	digits = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? s + 2 : s;
	if ((size_t)json_object_get_string_len(v) != strlen(s) || strlen(digits) != 2 * len ||
	    cp_hex_decode(digits, out, len, &e) < 0)
		return cp_jread_fail(r, "expected %zu bytes as %zu hex digits, got \"%.20s%s\" (%zu characters)", len, 2 * len,
				     s, strlen(s) > 20 ? "..." : "", strlen(s));
	return 0;
}

static int read_bytes(struct cp_jread *r, struct json_object *v, struct cp_refvals_bytes *b, size_t len)
{
	int ret = read_hex(r, v, b->v, len);

	if (ret)
		return ret;
	b->set = true;
	b->len = len;
	return 0;
}

static int read_digests(struct cp_jread *r, struct json_object *v, struct cp_refvals_digests *d)
{
	size_t n;
	int ret;

	if (json_object_is_type(v, json_type_string)) { /* one accepted value */
		if ((ret = read_hex(r, v, d->d[0], CP_REFVALS_DIGEST_LEN)))
			return ret;
		d->n = 1;
		return 0;
	}
	if (!json_object_is_type(v, json_type_array))
		return cp_jread_fail(r, "expected a digest (%d hex digits) or an array of them, got %s",
				     2 * CP_REFVALS_DIGEST_LEN, cp_jread_type_name(v));
	if ((ret = cp_jread_array(r, v, 0, CP_REFVALS_DIGESTS_MAX, &n)))
		return ret;
	for (size_t i = 0; i < n; i++) {
		size_t saved = cp_jread_push_index(r, i);

		ret = read_hex(r, json_object_array_get_idx(v, i), d->d[i], CP_REFVALS_DIGEST_LEN);
		cp_jread_pop(r, saved);
		if (ret)
			return ret;
	}
	d->n = n;
	return 0;
}

static int read_rtmrs(struct cp_jread *r, struct json_object *v, struct cp_refvals_bytes rtmr[CP_REFVALS_TDX_RTMRS])
{
	size_t n;
	int ret;

	if ((ret = cp_jread_array(r, v, 1, CP_REFVALS_TDX_RTMRS, &n)))
		return ret;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		size_t saved = cp_jread_push_index(r, i);

		ret = e ? read_bytes(r, e, &rtmr[i], CP_REFVALS_DIGEST_LEN) : 0; /* null: no reference */
		cp_jread_pop(r, saved);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_section(struct cp_jread *r, struct json_object *o, const struct field *f, size_t n, void *section);

static int read_field(struct cp_jread *r, struct json_object *v, const struct field *f, uint8_t *base)
{
	uint64_t u;
	int ret;

	switch (f->kind) {
	case K_DIGESTS:
		return read_digests(r, v, (struct cp_refvals_digests *)(base + f->off));
	case K_BYTES: {
		struct cp_refvals_bytes *b = (struct cp_refvals_bytes *)(base + f->off);

		if (b->set) /* "rtmrN" after "rtmr" named the same slot */
			return cp_jread_fail(r, "this RTMR is also given in \"rtmr\" (one spelling only)");
		return read_bytes(r, v, b, f->len);
	}
	case K_RTMRS:
		return read_rtmrs(r, v, (struct cp_refvals_bytes *)(base + f->off));
	case K_TCB:
		if ((ret = read_section(r, v, tcb_fields, ARRAY_SIZE(tcb_fields), base + f->off)))
			return ret;
		*(bool *)(base + f->flag) = true;
		return 0;
	case K_U32:
		if ((ret = cp_jread_uint(r, v, 0, f->flag ? UINT32_MAX : 255, &u)))
			return ret;
		if (f->flag) {
			*(uint32_t *)(base + f->off) = (uint32_t)u;
			*(bool *)(base + f->flag) = true;
		} else {
			*(uint8_t *)(base + f->off) = (uint8_t)u; /* a TCB component */
		}
		return 0;
	case K_BOOL:
		return cp_jread_bool(r, v, (bool *)(base + f->off));
	}
	return cp_jread_fail(r, "internal: field kind %d", (int)f->kind);
}

/* Fields are read in table order, whatever the document's order, so "rtmr" always comes before
 * "rtmrN" and the double naming is seen. */
static int read_section(struct cp_jread *r, struct json_object *o, const struct field *f, size_t n, void *section)
{
	int ret;

	if ((ret = check_keys(r, o, f, n)))
		return ret;
	for (size_t i = 0; i < n; i++) {
		const char *key = f[i].key;
		struct json_object *v = NULL;
		size_t saved;

		if (!json_object_object_get_ex(o, key, &v) && f[i].alias &&
		    json_object_object_get_ex(o, f[i].alias, &v))
			key = f[i].alias;
		else if (!json_object_object_get_ex(o, key, NULL))
			continue;
		saved = cp_jread_push_key(r, key);
		ret = read_field(r, v, &f[i], section);
		cp_jread_pop(r, saved);
		if (ret)
			return ret;
	}
	return 0;
}

int cp_refvals_read(struct cp_jread *r, struct json_object *o, struct cp_refvals *rv)
{
	static const struct field top[] = {
		{ "snp", NULL, K_BOOL, 0, 0, 0 },
		{ "tdx", NULL, K_BOOL, 0, 0, 0 },
	};
	struct json_object *v;
	size_t saved;
	int ret = 0;

	cp_refvals_init(rv);
	if ((ret = check_keys(r, o, top, ARRAY_SIZE(top))))
		return ret;
	if (json_object_object_get_ex(o, "snp", &v)) {
		saved = cp_jread_push_key(r, "snp");
		ret = read_section(r, v, snp_fields, ARRAY_SIZE(snp_fields), &rv->snp);
		cp_jread_pop(r, saved);
		rv->has_snp = true;
	}
	if (!ret && json_object_object_get_ex(o, "tdx", &v)) {
		saved = cp_jread_push_key(r, "tdx");
		ret = read_section(r, v, tdx_fields, ARRAY_SIZE(tdx_fields), &rv->tdx);
		cp_jread_pop(r, saved);
		rv->has_tdx = true;
	}
	if (ret)
		cp_refvals_init(rv);
	return ret;
}

/* ---- the writer (`carapace policy show`): the canonical spelling, from the same tables ---- */

static struct json_object *jhex(const uint8_t *b, size_t len)
{
	char hex[2 * CP_REFVALS_BYTES_MAX + 1];

	cp_hex_encode(b, len, hex);
	return json_object_new_string(hex);
}

static void put(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *write_section(const struct field *f, size_t n, const uint8_t *base)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; i < n; i++) {
		const uint8_t *at = base + f[i].off;

		switch (f[i].kind) {
		case K_DIGESTS: {
			const struct cp_refvals_digests *d = (const void *)at;
			struct json_object *a = json_object_new_array();

			for (size_t k = 0; k < d->n; k++)
				json_object_array_add(a, jhex(d->d[k], CP_REFVALS_DIGEST_LEN));
			put(o, f[i].key, a);
			break;
		}
		case K_BYTES: {
			const struct cp_refvals_bytes *b = (const void *)at;

			/* "rtmrN" slots are written once, in "rtmr" */
			if (b->set && strncmp(f[i].key, "rtmr", 4))
				put(o, f[i].key, jhex(b->v, b->len));
			break;
		}
		case K_RTMRS: {
			const struct cp_refvals_bytes *b = (const void *)at;
			struct json_object *a = json_object_new_array();

			for (size_t k = 0; k < CP_REFVALS_TDX_RTMRS; k++)
				json_object_array_add(a, b[k].set ? jhex(b[k].v, b[k].len) : NULL);
			put(o, f[i].key, a);
			break;
		}
		case K_TCB:
			if (*(const bool *)(base + f[i].flag)) {
				const struct cp_refvals_tcb *t = (const void *)at;
				struct json_object *c = json_object_new_object();

				put(c, "bootloader", json_object_new_int(t->bootloader));
				put(c, "tee", json_object_new_int(t->tee));
				put(c, "snp", json_object_new_int(t->snp));
				put(c, "microcode", json_object_new_int(t->microcode));
				if (t->fmc) /* only Turin and later have one */
					put(c, "fmc", json_object_new_int(t->fmc));
				put(o, f[i].key, c);
			}
			break;
		case K_U32:
			if (*(const bool *)(base + f[i].flag))
				put(o, f[i].key, json_object_new_int64(*(const uint32_t *)at));
			break;
		case K_BOOL:
			/* allow_debug always (the launch policy checks it against the class's debug
			 * bit); the verifier's switches when they differ from their defaults */
			if (!strcmp(f[i].key, "allow_debug") || *(const bool *)at != (bool)f[i].len)
				put(o, f[i].key, json_object_new_boolean(*(const bool *)at));
			break;
		}
	}
	return o;
}

struct json_object *cp_refvals_to_json(const struct cp_refvals *rv, bool snp, bool tdx)
{
	struct json_object *o = json_object_new_object();

	if (snp)
		put(o, "snp", write_section(snp_fields, ARRAY_SIZE(snp_fields), (const uint8_t *)&rv->snp));
	if (tdx)
		put(o, "tdx", write_section(tdx_fields, ARRAY_SIZE(tdx_fields), (const uint8_t *)&rv->tdx));
	return o;
}

/* ---- the matcher ---- */

bool cp_refvals_digest_listed(const struct cp_refvals_digests *want, const uint8_t have[CP_REFVALS_DIGEST_LEN])
{
	bool found = false;

	if (!want->n)
		return true;
	for (size_t i = 0; i < want->n; i++) /* no early exit: the answer's timing names no entry */
		found |= !memcmp(want->d[i], have, CP_REFVALS_DIGEST_LEN);
	return found;
}

bool cp_refvals_bytes_match(const struct cp_refvals_bytes *want, const uint8_t *have, size_t len)
{
	return !want->set || (want->len == len && !memcmp(want->v, have, len));
}

bool cp_refvals_tcb_meets(const struct cp_refvals_tcb *min, const struct cp_refvals_tcb *have)
{
	return have->bootloader >= min->bootloader && have->tee >= min->tee && have->snp >= min->snp &&
	       have->microcode >= min->microcode && have->fmc >= min->fmc;
}
