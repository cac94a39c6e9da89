/* The one validating reader for launch-policy documents (schema in docs/policy.md). Pure:
 * takes a buffer, fills a struct policy with every default made explicit, or names the field
 * at fault. Nothing is half-applied: on error the output is released and zeroed. */
#include "policy/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/jread.h"
#include "common/refvals.h"

static const char *const iso_type_names[] = { "none", "snp", "tdx", "any-confidential" };
static const char *const conf_names[] = { "required", "preferred", "off" };
static const char *const on_failure_names[] = { "stop", "continue" };

/* The device classes' names are the kinds' (devices/devkinds.c): policy keeps no list of its own. */
const char *policy_dev_kind_name(enum policy_dev_kind k)
{
	const struct devkind *dk = (unsigned)k < POLICY_DEV__COUNT ? devkind_get((enum devkind_id)k) : NULL;

	return dk ? dk->name : "?";
}

void policy_dev_kind_names(const char *out[POLICY_DEV__COUNT + 1])
{
	for (unsigned k = 0; k < POLICY_DEV__COUNT; k++)
		out[k] = policy_dev_kind_name((enum policy_dev_kind)k);
	out[POLICY_DEV__COUNT] = NULL;
}

const char *policy_isolation_name(enum policy_isolation i)
{
	switch (i) {
	case POLICY_ISO_NONE: return "none";
	case POLICY_ISO_SNP: return "snp";
	case POLICY_ISO_TDX: return "tdx";
	}
	return "?";
}

/* SNP flag keys, in bit order; smt defaults to true (KVM before 6.17 insists on it). */
static const struct {
	const char *key;
	uint64_t bit;
	bool def;
} snp_flags[] = {
	{ "smt", POLICY_SNP_SMT, true },
	{ "migrate_ma", POLICY_SNP_MIGRATE_MA, false },
	{ "debug", POLICY_SNP_DEBUG, false },
	{ "single_socket", POLICY_SNP_SINGLE_SOCKET, false },
	{ "cxl_allow", POLICY_SNP_CXL_ALLOW, false },
	{ "mem_aes_256_xts", POLICY_SNP_MEM_AES_256_XTS, false },
	{ "rapl_dis", POLICY_SNP_RAPL_DIS, false },
	{ "ciphertext_hiding", POLICY_SNP_CIPHERTEXT_HIDING, false },
	{ "page_swap_disable", POLICY_SNP_PAGE_SWAP_DISABLE, false },
};

/* TD attribute keys; sept_ve_disable defaults to true (Linux guests want it). */
static const struct {
	const char *key;
	uint64_t bit;
	bool def;
} tdx_attrs[] = {
	{ "debug", POLICY_TDX_DEBUG, false },
	{ "lass", POLICY_TDX_LASS, false },
	{ "sept_ve_disable", POLICY_TDX_SEPT_VE_DISABLE, true },
	{ "pks", POLICY_TDX_PKS, false },
	{ "key_locker", POLICY_TDX_KEY_LOCKER, false },
	{ "perfmon", POLICY_TDX_PERFMON, false },
};

static bool iso_admits_snp(enum policy_iso_type t)
{
	return t == POLICY_ISOTYPE_SNP || t == POLICY_ISOTYPE_ANY_CONFIDENTIAL;
}

static bool iso_admits_tdx(enum policy_iso_type t)
{
	return t == POLICY_ISOTYPE_TDX || t == POLICY_ISOTYPE_ANY_CONFIDENTIAL;
}

/* Read member `key` (if present) with fn, the path pushed around the call. */
#define WITH_KEY(r, key, call)                                  \
	({                                                      \
		size_t _saved = cp_jread_push_key((r), (key)); \
		int _ret = (call);                              \
		cp_jread_pop((r), _saved);                  \
		_ret;                                           \
	})

static int parse_name(struct cp_jread *r, struct json_object *v, struct policy *p)
{
	const char *s;
	int ret = cp_jread_string(r, v, POLICY_NAME_MAX, &s);

	if (ret)
		return ret;
	if (!*s)
		return cp_jread_fail(r, "expected a non-empty name");
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return cp_jread_fail(r, "character '%c' not allowed, expected [A-Za-z0-9._-]",
					  *c >= 0x20 && *c < 0x7f ? *c : '?');
	memcpy(p->name, s, strlen(s) + 1);
	return 0;
}

static int parse_isolation(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "type", "confidential", NULL };
	struct json_object *v;
	int ret, idx;

	if ((ret = cp_jread_object(r, o, keys)) || (ret = cp_jread_required(r, o, "type", &v)))
		return ret;
	if ((ret = WITH_KEY(r, "type", cp_jread_enum(r, v, iso_type_names, 4, &idx))))
		return ret;
	p->iso_type = (enum policy_iso_type)idx;
	p->confidential = p->iso_type == POLICY_ISOTYPE_NONE ? POLICY_CONF_OFF : POLICY_CONF_REQUIRED;
	v = cp_jread_member(o, "confidential");
	if (v) {
		if ((ret = WITH_KEY(r, "confidential", cp_jread_enum(r, v, conf_names, 3, &idx))))
			return ret;
		p->confidential = (enum policy_confidential)idx;
	}
	if (p->iso_type == POLICY_ISOTYPE_NONE && p->confidential != POLICY_CONF_OFF)
		return WITH_KEY(r, "confidential",
				cp_jread_fail(r, "\"%s\" contradicts isolation.type \"none\" (expected \"off\")",
					   conf_names[p->confidential]));
	if (p->iso_type != POLICY_ISOTYPE_NONE && p->confidential == POLICY_CONF_OFF)
		return WITH_KEY(r, "confidential",
				cp_jread_fail(r, "\"off\" contradicts isolation.type \"%s\" (use type \"none\")",
					   iso_type_names[p->iso_type]));
	return 0;
}

static int parse_snp(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	struct json_object *v;
	static const char *const keys[] = { "abi_major_min", "abi_minor_min", "smt", "migrate_ma",
		"debug", "single_socket", "cxl_allow", "mem_aes_256_xts", "rapl_dis",
		"ciphertext_hiding", "page_swap_disable", "guest_policy", NULL };
	uint64_t u;
	int ret;

	if ((ret = cp_jread_object(r, o, keys)))
		return ret;
	u = p->snp.abi_major_min;
	if ((ret = cp_jread_opt_uint(r, o, "abi_major_min", 0, 255, &u)))
		return ret;
	p->snp.abi_major_min = (uint8_t)u;
	u = p->snp.abi_minor_min;
	if ((ret = cp_jread_opt_uint(r, o, "abi_minor_min", 0, 255, &u)))
		return ret;
	p->snp.abi_minor_min = (uint8_t)u;
	for (size_t i = 0; i < sizeof(snp_flags) / sizeof(snp_flags[0]); i++) {
		bool b = (p->snp.flags & snp_flags[i].bit) != 0;

		if ((ret = cp_jread_opt_bool(r, o, snp_flags[i].key, &b)))
			return ret;
		p->snp.flags = b ? p->snp.flags | snp_flags[i].bit : p->snp.flags & ~snp_flags[i].bit;
	}
	/* guest_policy is derived (`policy show` prints it); given, it must agree. */
	if ((v = cp_jread_member(o, "guest_policy"))) {
		if ((ret = WITH_KEY(r, "guest_policy", cp_jread_u64(r, v, &u))))
			return ret;
		if (u != policy_snp_guest_policy(p))
			return WITH_KEY(r, "guest_policy",
					cp_jread_fail(r, "0x%llx disagrees with the value the keys above give (0x%llx)",
						   (unsigned long long)u,
						   (unsigned long long)policy_snp_guest_policy(p)));
	}
	return 0;
}

static int parse_tdx(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "debug", "lass", "sept_ve_disable", "pks",
					    "key_locker", "perfmon", "attributes", NULL };
	struct json_object *v;
	uint64_t u;
	int ret;

	if ((ret = cp_jread_object(r, o, keys)))
		return ret;
	for (size_t i = 0; i < sizeof(tdx_attrs) / sizeof(tdx_attrs[0]); i++) {
		bool b = (p->tdx_attributes & tdx_attrs[i].bit) != 0;

		if ((ret = cp_jread_opt_bool(r, o, tdx_attrs[i].key, &b)))
			return ret;
		p->tdx_attributes = b ? p->tdx_attributes | tdx_attrs[i].bit
				      : p->tdx_attributes & ~tdx_attrs[i].bit;
	}
	if ((v = cp_jread_member(o, "attributes"))) {
		if ((ret = WITH_KEY(r, "attributes", cp_jread_u64(r, v, &u))))
			return ret;
		if (u != p->tdx_attributes)
			return WITH_KEY(r, "attributes",
					cp_jread_fail(r, "0x%llx disagrees with the value the keys above give (0x%llx)",
						   (unsigned long long)u,
						   (unsigned long long)p->tdx_attributes));
	}
	return 0;
}

/* An absolute path pattern: no "..", "." or empty components, printable ASCII only. */
static int check_path_pattern(struct cp_jread *r, const char *s)
{
	const char *c;

	if (s[0] != '/')
		return cp_jread_fail(r, "expected an absolute path or pattern (starting with '/'), got \"%.60s\"", s);
	for (c = s; *c; c++)
		if (*c < 0x21 || *c > 0x7e)
			return cp_jread_fail(r, "byte 0x%02x at offset %zu not allowed in a path pattern",
					  (unsigned char)*c, (size_t)(c - s));
	for (c = s; *c; c++) {
		if (*c != '/')
			continue;
		if (c[1] == '/' || c[1] == '\0')
			return cp_jread_fail(r, "empty path component in \"%.60s\"", s);
		if (c[1] == '.' && (c[2] == '/' || c[2] == '\0' ||
				    (c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))
			return cp_jread_fail(r, "'.' or '..' component in \"%.60s\"", s);
	}
	return 0;
}

static int parse_globs(struct cp_jread *r, struct json_object *v, size_t min, struct policy_globs *g)
{
	size_t n;
	int ret;

	if ((ret = cp_jread_array(r, v, min, POLICY_GLOBS_MAX, &n)))
		return ret;
	for (size_t i = 0; i < n; i++) {
		size_t saved = cp_jread_push_index(r, i);
		const char *s;

		ret = cp_jread_string(r, json_object_array_get_idx(v, i), POLICY_PATH_MAX, &s);
		if (!ret)
			ret = check_path_pattern(r, s);
		if (!ret && !(g->pat[g->n] = strdup(s)))
			ret = cp_err_set(r->err, ENOMEM, "policy: out of memory");
		cp_jread_pop(r, saved);
		if (ret)
			return ret;
		g->n++;
	}
	return 0;
}

static int parse_device(struct cp_jread *r, struct json_object *o, enum policy_dev_kind k,
			struct policy_device *d)
{
	static const char *const blk_keys[] = { "max", "max_queues", "max_queue_size", "read_only",
						"images", NULL };
	static const char *const vsock_keys[] = { "max", "max_queues", "max_queue_size", "uds_paths", NULL };
	static const char *const other_keys[] = { "max", "max_queues", "max_queue_size", NULL };
	uint64_t u;
	int ret;

	if ((ret = cp_jread_object(r, o, k == POLICY_DEV_BLK     ? blk_keys
						: k == POLICY_DEV_VSOCK ? vsock_keys
									: other_keys)))
		return ret;
	d->allowed = true;
	d->max = 1;
	/* By default a device may have the queues its kind has (devices/devkinds.c: net and console
	 * 2, vsock 3), so that allowing a class allows a plain --device of it. */
	d->max_queues = devkind_get((enum devkind_id)k)->queues;
	d->max_queue_size = 256;
	d->read_only = true;
	u = d->max;
	if ((ret = cp_jread_opt_uint(r, o, "max", 1, 16, &u)))
		return ret;
	d->max = (uint32_t)u;
	u = d->max_queues;
	if ((ret = cp_jread_opt_uint(r, o, "max_queues", 1, 64, &u)))
		return ret;
	d->max_queues = (uint32_t)u;
	u = d->max_queue_size;
	if ((ret = cp_jread_opt_uint(r, o, "max_queue_size", 1, 32768, &u)))
		return ret;
	if (u & (u - 1))
		return WITH_KEY(r, "max_queue_size",
				cp_jread_fail(r, "expected a power of two in 1..32768, got %llu",
					   (unsigned long long)u));
	d->max_queue_size = (uint32_t)u;
	if (k == POLICY_DEV_BLK) {
		struct json_object *v;

		if ((ret = cp_jread_opt_bool(r, o, "read_only", &d->read_only)))
			return ret;
		if ((ret = cp_jread_required(r, o, "images", &v)))
			return ret;
		if ((ret = WITH_KEY(r, "images", parse_globs(r, v, 1, &d->images))))
			return ret;
	}
	if (k == POLICY_DEV_VSOCK) {
		struct json_object *v;

		if ((ret = cp_jread_required(r, o, "uds_paths", &v)))
			return ret;
		if ((ret = WITH_KEY(r, "uds_paths", parse_globs(r, v, 1, &d->uds_paths))))
			return ret;
	}
	return 0;
}

static int parse_devices(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	const char *names[POLICY_DEV__COUNT + 1];
	int ret;

	policy_dev_kind_names(names);
	if ((ret = cp_jread_object(r, o, names)))
		return ret;
	for (int k = 0; k < POLICY_DEV__COUNT; k++) {
		struct json_object *v = cp_jread_member(o, names[k]);

		if (v && (ret = WITH_KEY(r, names[k],
					 parse_device(r, v, (enum policy_dev_kind)k, &p->dev[k]))))
			return ret;
	}
	return 0;
}

static int parse_cgroup(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "cpu_quota_us", "cpu_period_us", "memory_max_mib",
					    "pids_max", NULL };
	int ret;

	if ((ret = cp_jread_object(r, o, keys)))
		return ret;
	p->cg_cpu_period_us = 100000;
	p->cg_pids_max = 64;
	if ((ret = cp_jread_req_uint(r, o, "cpu_quota_us", 1000, 1000000000ull, &p->cg_cpu_quota_us)) ||
	    (ret = cp_jread_opt_uint(r, o, "cpu_period_us", 1000, 1000000, &p->cg_cpu_period_us)) ||
	    (ret = cp_jread_req_uint(r, o, "memory_max_mib", 1, 1ull << 24, &p->cg_memory_max_mib)) ||
	    (ret = cp_jread_opt_uint(r, o, "pids_max", 1, 4194304, &p->cg_pids_max)))
		return ret;
	if (p->cg_memory_max_mib < p->memory_max_mib)
		return WITH_KEY(r, "memory_max_mib",
				cp_jread_fail(r, "%llu MiB is below resources.memory_max_mib (%llu MiB): the guest could never use its memory",
					   (unsigned long long)p->cg_memory_max_mib,
					   (unsigned long long)p->memory_max_mib));
	return 0;
}

static int parse_resources(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "memory_min_mib", "memory_max_mib", "vcpus_max",
					    "cgroup", NULL };
	struct json_object *v;
	uint64_t u = 1;
	int ret;

	if ((ret = cp_jread_object(r, o, keys)))
		return ret;
	p->memory_min_mib = 1;
	if ((ret = cp_jread_req_uint(r, o, "memory_max_mib", 1, 1ull << 24, &p->memory_max_mib)) ||
	    (ret = cp_jread_opt_uint(r, o, "memory_min_mib", 1, 1ull << 24, &p->memory_min_mib)) ||
	    (ret = cp_jread_req_uint(r, o, "vcpus_max", 1, 512, &u)))
		return ret;
	p->vcpus_max = (uint32_t)u;
	if (p->memory_min_mib > p->memory_max_mib)
		return WITH_KEY(r, "memory_min_mib",
				cp_jread_fail(r, "%llu MiB is above memory_max_mib (%llu MiB)",
					   (unsigned long long)p->memory_min_mib,
					   (unsigned long long)p->memory_max_mib));
	if ((ret = cp_jread_required(r, o, "cgroup", &v)))
		return ret;
	return WITH_KEY(r, "cgroup", parse_cgroup(r, v, p));
}

static int parse_boot(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "firmware", "kernel", "allow_cmdline", NULL };
	struct json_object *v;
	int ret;

	if ((ret = cp_jread_object(r, o, keys)))
		return ret;
	if ((v = cp_jread_member(o, "firmware")) &&
	    (ret = WITH_KEY(r, "firmware", parse_globs(r, v, 0, &p->firmware))))
		return ret;
	if ((v = cp_jread_member(o, "kernel")) &&
	    (ret = WITH_KEY(r, "kernel", parse_globs(r, v, 0, &p->kernel))))
		return ret;
	return cp_jread_opt_bool(r, o, "allow_cmdline", &p->allow_cmdline);
}

static int parse_attestation(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "tpm_required", "pcr", NULL };
	uint64_t u = p->pcr;
	int ret;

	if ((ret = cp_jread_object(r, o, keys)) ||
	    (ret = cp_jread_opt_bool(r, o, "tpm_required", &p->tpm_required)) ||
	    (ret = cp_jread_opt_uint(r, o, "pcr", 0, POLICY_PCR_MAX, &u)))
		return ret;
	p->pcr = (uint32_t)u;
	return 0;
}

/* The reference values are common/refvals.c's schema (docs/refvals.md); what is checked here is
 * only how they fit this class: a section for an isolation the class never launches, and
 * allow_debug against the class's debug bits. */
static int parse_reference(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	struct json_object *v;
	int ret;

	if (json_object_is_type(o, json_type_object)) {
		if (cp_jread_member(o, "snp") && !iso_admits_snp(p->iso_type))
			return WITH_KEY(r, "snp", cp_jread_fail(r, "section given but isolation.type \"%s\" never launches SNP",
								iso_type_names[p->iso_type]));
		if (cp_jread_member(o, "tdx") && !iso_admits_tdx(p->iso_type))
			return WITH_KEY(r, "tdx", cp_jread_fail(r, "section given but isolation.type \"%s\" never launches TDX",
								iso_type_names[p->iso_type]));
	}
	if ((ret = cp_refvals_read(r, o, &p->ref)))
		return ret;
	if ((v = cp_jread_member(o, "snp")) && p->snp.flags & POLICY_SNP_DEBUG && cp_jread_member(v, "allow_debug") &&
	    !p->ref.snp.allow_debug)
		return WITH_KEY(r, "snp.allow_debug", (
				cp_jread_fail(r, "false contradicts snp.debug = true: a verifier would refuse every report of this class")));
	if ((v = cp_jread_member(o, "tdx")) && p->tdx_attributes & POLICY_TDX_DEBUG && cp_jread_member(v, "allow_debug") &&
	    !p->ref.tdx.allow_debug)
		return WITH_KEY(r, "tdx.allow_debug", (
				cp_jread_fail(r, "false contradicts tdx.debug = true: a verifier would refuse every quote of this class")));
	return 0;
}

static int parse_root(struct cp_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "schema", "name", "description", "isolation", "snp",
		"tdx", "devices", "resources", "boot", "attestation", "reference",
		"on_device_failure", NULL };
	struct json_object *v;
	uint64_t schema;
	int ret, idx;

	if ((ret = cp_jread_object(r, o, keys)))
		return ret;
	if ((ret = cp_jread_required(r, o, "schema", &v)) ||
	    (ret = WITH_KEY(r, "schema", cp_jread_uint(r, v, POLICY_SCHEMA_VERSION,
						    POLICY_SCHEMA_VERSION, &schema))))
		return ret;
	if ((ret = cp_jread_required(r, o, "name", &v)) || (ret = WITH_KEY(r, "name", parse_name(r, v, p))))
		return ret;
	if ((v = cp_jread_member(o, "description"))) {
		const char *s;

		if ((ret = WITH_KEY(r, "description", cp_jread_string(r, v, 1024, &s))))
			return ret;
		if (!(p->description = strdup(s)))
			return cp_err_set(r->err, ENOMEM, "policy: out of memory");
	}
	if ((ret = cp_jread_required(r, o, "isolation", &v)) ||
	    (ret = WITH_KEY(r, "isolation", parse_isolation(r, v, p))))
		return ret;

	/* Defaults of the confidential sections, then the sections themselves. */
	p->snp.flags = POLICY_SNP_SMT;
	p->tdx_attributes = POLICY_TDX_SEPT_VE_DISABLE;
	if ((v = cp_jread_member(o, "snp"))) {
		if (!iso_admits_snp(p->iso_type))
			return WITH_KEY(r, "snp", cp_jread_fail(r, "section given but isolation.type \"%s\" never launches SNP",
							     iso_type_names[p->iso_type]));
		if ((ret = WITH_KEY(r, "snp", parse_snp(r, v, p))))
			return ret;
	}
	if ((v = cp_jread_member(o, "tdx"))) {
		if (!iso_admits_tdx(p->iso_type))
			return WITH_KEY(r, "tdx", cp_jread_fail(r, "section given but isolation.type \"%s\" never launches TDX",
							     iso_type_names[p->iso_type]));
		if ((ret = WITH_KEY(r, "tdx", parse_tdx(r, v, p))))
			return ret;
	}
	if ((v = cp_jread_member(o, "devices")) &&
	    (ret = WITH_KEY(r, "devices", parse_devices(r, v, p))))
		return ret;
	if ((ret = cp_jread_required(r, o, "resources", &v)) ||
	    (ret = WITH_KEY(r, "resources", parse_resources(r, v, p))))
		return ret;
	if ((v = cp_jread_member(o, "boot")) && (ret = WITH_KEY(r, "boot", parse_boot(r, v, p))))
		return ret;
	p->pcr = 15;
	if ((v = cp_jread_member(o, "attestation")) &&
	    (ret = WITH_KEY(r, "attestation", parse_attestation(r, v, p))))
		return ret;
	if ((v = cp_jread_member(o, "reference")) &&
	    (ret = WITH_KEY(r, "reference", parse_reference(r, v, p))))
		return ret;
	/* A debug-enabled class needs a reference section that says debug is acceptable. */
	if (iso_admits_snp(p->iso_type) && p->snp.flags & POLICY_SNP_DEBUG && !p->ref.snp.allow_debug)
		return WITH_KEY(r, "snp.debug",
			cp_jread_fail(r, "true needs reference.snp.allow_debug = true: a verifier would refuse every report of this class"));
	if (iso_admits_tdx(p->iso_type) && p->tdx_attributes & POLICY_TDX_DEBUG && !p->ref.tdx.allow_debug)
		return WITH_KEY(r, "tdx.debug",
			cp_jread_fail(r, "true needs reference.tdx.allow_debug = true: a verifier would refuse every quote of this class"));
	p->on_device_failure = POLICY_ON_FAILURE_STOP;
	if ((v = cp_jread_member(o, "on_device_failure"))) {
		if ((ret = WITH_KEY(r, "on_device_failure", cp_jread_enum(r, v, on_failure_names, 2, &idx))))
			return ret;
		p->on_device_failure = (enum policy_on_failure)idx;
	}
	return 0;
}

int policy_parse(const char *text, size_t len, struct policy *out, struct cp_err *err)
{
	struct cp_jread r = { .err = err, .what = "policy" };
	struct json_object *root;
	int ret;

	memset(out, 0, sizeof(*out));
	cp_refvals_init(&out->ref);
	if (len > POLICY_DOC_MAX)
		return cp_err_set(err, EINVAL, "policy: document of %zu bytes, at most %u allowed", len,
				  POLICY_DOC_MAX);
	if ((ret = cp_jread_parse_doc(&r, text, len, &root)))
		return ret;
	ret = parse_root(&r, root, out);
	json_object_put(root);
	if (ret)
		policy_free(out);
	return ret;
}

static void globs_free(struct policy_globs *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->pat[i]);
	g->n = 0;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->description);
	globs_free(&p->firmware);
	globs_free(&p->kernel);
	for (int k = 0; k < POLICY_DEV__COUNT; k++) {
		globs_free(&p->dev[k].images);
		globs_free(&p->dev[k].uds_paths);
	}
	memset(p, 0, sizeof(*p));
}

uint64_t policy_snp_guest_policy(const struct policy *p)
{
	return (uint64_t)p->snp.abi_minor_min << POLICY_SNP_ABI_MINOR_SHIFT |
	       (uint64_t)p->snp.abi_major_min << POLICY_SNP_ABI_MAJOR_SHIFT |
	       POLICY_SNP_RESERVED1 | (p->snp.flags & POLICY_SNP_FLAGS_MASK);
}
