/* The one validating reader for launch-policy documents (schema in docs/policy.md). Pure:
 * takes a buffer, fills a struct policy with every default made explicit, or names the field
 * at fault. Nothing is half-applied: on error the output is released and zeroed. */
#include "policy/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/jread.h"

static const char *const iso_type_names[] = { "none", "snp", "tdx", "any-confidential" };
static const char *const conf_names[] = { "required", "preferred", "off" };
static const char *const on_failure_names[] = { "stop", "continue" };
static const char *const dev_names[POLICY_DEV__COUNT] = { "blk", "rng", "console", "net", "vsock" };

const char *policy_dev_kind_name(enum policy_dev_kind k)
{
	return (unsigned)k < POLICY_DEV__COUNT ? dev_names[k] : "?";
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
		size_t _saved = policy_jread_push_key((r), (key)); \
		int _ret = (call);                              \
		policy_jread_pop((r), _saved);                  \
		_ret;                                           \
	})

static int parse_name(struct policy_jread *r, struct json_object *v, struct policy *p)
{
	const char *s;
	int ret = policy_jread_string(r, v, POLICY_NAME_MAX, &s);

	if (ret)
		return ret;
	if (!*s)
		return policy_jread_fail(r, "expected a non-empty name");
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return policy_jread_fail(r, "character '%c' not allowed, expected [A-Za-z0-9._-]",
					  *c >= 0x20 && *c < 0x7f ? *c : '?');
	memcpy(p->name, s, strlen(s) + 1);
	return 0;
}

static int parse_isolation(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "type", "confidential", NULL };
	struct json_object *v;
	int ret, idx;

	if ((ret = policy_jread_object(r, o, keys)) || (ret = policy_jread_required(r, o, "type", &v)))
		return ret;
	if ((ret = WITH_KEY(r, "type", policy_jread_enum(r, v, iso_type_names, 4, &idx))))
		return ret;
	p->iso_type = (enum policy_iso_type)idx;
	p->confidential = p->iso_type == POLICY_ISOTYPE_NONE ? POLICY_CONF_OFF : POLICY_CONF_REQUIRED;
	v = policy_jread_member(o, "confidential");
	if (v) {
		if ((ret = WITH_KEY(r, "confidential", policy_jread_enum(r, v, conf_names, 3, &idx))))
			return ret;
		p->confidential = (enum policy_confidential)idx;
	}
	if (p->iso_type == POLICY_ISOTYPE_NONE && p->confidential != POLICY_CONF_OFF)
		return WITH_KEY(r, "confidential",
				policy_jread_fail(r, "\"%s\" contradicts isolation.type \"none\" (expected \"off\")",
					   conf_names[p->confidential]));
	if (p->iso_type != POLICY_ISOTYPE_NONE && p->confidential == POLICY_CONF_OFF)
		return WITH_KEY(r, "confidential",
				policy_jread_fail(r, "\"off\" contradicts isolation.type \"%s\" (use type \"none\")",
					   iso_type_names[p->iso_type]));
	return 0;
}

static int parse_snp(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	struct json_object *v;
	static const char *const keys[] = { "abi_major_min", "abi_minor_min", "smt", "migrate_ma",
		"debug", "single_socket", "cxl_allow", "mem_aes_256_xts", "rapl_dis",
		"ciphertext_hiding", "page_swap_disable", "guest_policy", NULL };
	uint64_t u;
	int ret;

	if ((ret = policy_jread_object(r, o, keys)))
		return ret;
	u = p->snp.abi_major_min;
	if ((ret = policy_jread_opt_uint(r, o, "abi_major_min", 0, 255, &u)))
		return ret;
	p->snp.abi_major_min = (uint8_t)u;
	u = p->snp.abi_minor_min;
	if ((ret = policy_jread_opt_uint(r, o, "abi_minor_min", 0, 255, &u)))
		return ret;
	p->snp.abi_minor_min = (uint8_t)u;
	for (size_t i = 0; i < sizeof(snp_flags) / sizeof(snp_flags[0]); i++) {
		bool b = (p->snp.flags & snp_flags[i].bit) != 0;

		if ((ret = policy_jread_opt_bool(r, o, snp_flags[i].key, &b)))
			return ret;
		p->snp.flags = b ? p->snp.flags | snp_flags[i].bit : p->snp.flags & ~snp_flags[i].bit;
	}
	/* guest_policy is derived (`policy show` prints it); given, it must agree. */
	if ((v = policy_jread_member(o, "guest_policy"))) {
		if ((ret = WITH_KEY(r, "guest_policy", policy_jread_u64(r, v, &u))))
			return ret;
		if (u != policy_snp_guest_policy(p))
			return WITH_KEY(r, "guest_policy",
					policy_jread_fail(r, "0x%llx disagrees with the value the keys above give (0x%llx)",
						   (unsigned long long)u,
						   (unsigned long long)policy_snp_guest_policy(p)));
	}
	return 0;
}

static int parse_tdx(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "debug", "lass", "sept_ve_disable", "pks",
					    "key_locker", "perfmon", "attributes", NULL };
	struct json_object *v;
	uint64_t u;
	int ret;

	if ((ret = policy_jread_object(r, o, keys)))
		return ret;
	for (size_t i = 0; i < sizeof(tdx_attrs) / sizeof(tdx_attrs[0]); i++) {
		bool b = (p->tdx_attributes & tdx_attrs[i].bit) != 0;

		if ((ret = policy_jread_opt_bool(r, o, tdx_attrs[i].key, &b)))
			return ret;
		p->tdx_attributes = b ? p->tdx_attributes | tdx_attrs[i].bit
				      : p->tdx_attributes & ~tdx_attrs[i].bit;
	}
	if ((v = policy_jread_member(o, "attributes"))) {
		if ((ret = WITH_KEY(r, "attributes", policy_jread_u64(r, v, &u))))
			return ret;
		if (u != p->tdx_attributes)
			return WITH_KEY(r, "attributes",
					policy_jread_fail(r, "0x%llx disagrees with the value the keys above give (0x%llx)",
						   (unsigned long long)u,
						   (unsigned long long)p->tdx_attributes));
	}
	return 0;
}

/* An absolute path pattern: no "..", "." or empty components, printable ASCII only. */
static int check_path_pattern(struct policy_jread *r, const char *s)
{
	const char *c;

	if (s[0] != '/')
		return policy_jread_fail(r, "expected an absolute path or pattern (starting with '/'), got \"%.60s\"", s);
	for (c = s; *c; c++)
		if (*c < 0x21 || *c > 0x7e)
			return policy_jread_fail(r, "byte 0x%02x at offset %zu not allowed in a path pattern",
					  (unsigned char)*c, (size_t)(c - s));
	for (c = s; *c; c++) {
		if (*c != '/')
			continue;
		if (c[1] == '/' || c[1] == '\0')
			return policy_jread_fail(r, "empty path component in \"%.60s\"", s);
		if (c[1] == '.' && (c[2] == '/' || c[2] == '\0' ||
				    (c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))
			return policy_jread_fail(r, "'.' or '..' component in \"%.60s\"", s);
	}
	return 0;
}

static int parse_globs(struct policy_jread *r, struct json_object *v, size_t min, struct policy_globs *g)
{
	size_t n;
	int ret;

	if ((ret = policy_jread_array(r, v, min, POLICY_GLOBS_MAX, &n)))
		return ret;
	for (size_t i = 0; i < n; i++) {
		size_t saved = policy_jread_push_index(r, i);
		const char *s;

		ret = policy_jread_string(r, json_object_array_get_idx(v, i), POLICY_PATH_MAX, &s);
		if (!ret)
			ret = check_path_pattern(r, s);
		if (!ret && !(g->pat[g->n] = strdup(s)))
			ret = cp_err_set(r->err, ENOMEM, "policy: out of memory");
		policy_jread_pop(r, saved);
		if (ret)
			return ret;
		g->n++;
	}
	return 0;
}

static int parse_device(struct policy_jread *r, struct json_object *o, enum policy_dev_kind k,
			struct policy_device *d)
{
	static const char *const blk_keys[] = { "max", "max_queues", "max_queue_size", "read_only",
						"images", NULL };
	static const char *const vsock_keys[] = { "max", "max_queues", "max_queue_size", "uds_paths", NULL };
	static const char *const other_keys[] = { "max", "max_queues", "max_queue_size", NULL };
	uint64_t u;
	int ret;

	if ((ret = policy_jread_object(r, o, k == POLICY_DEV_BLK     ? blk_keys
						: k == POLICY_DEV_VSOCK ? vsock_keys
									: other_keys)))
		return ret;
	d->allowed = true;
	d->max = 1;
	/* A vsock device always has its three queues (rx, tx, event). */
	d->max_queues = k == POLICY_DEV_VSOCK ? 3 : 1;
	d->max_queue_size = 256;
	d->read_only = true;
	u = d->max;
	if ((ret = policy_jread_opt_uint(r, o, "max", 1, 16, &u)))
		return ret;
	d->max = (uint32_t)u;
	u = d->max_queues;
	if ((ret = policy_jread_opt_uint(r, o, "max_queues", 1, 64, &u)))
		return ret;
	d->max_queues = (uint32_t)u;
	u = d->max_queue_size;
	if ((ret = policy_jread_opt_uint(r, o, "max_queue_size", 1, 32768, &u)))
		return ret;
	if (u & (u - 1))
		return WITH_KEY(r, "max_queue_size",
				policy_jread_fail(r, "expected a power of two in 1..32768, got %llu",
					   (unsigned long long)u));
	d->max_queue_size = (uint32_t)u;
	if (k == POLICY_DEV_BLK) {
		struct json_object *v;

		if ((ret = policy_jread_opt_bool(r, o, "read_only", &d->read_only)))
			return ret;
		if ((ret = policy_jread_required(r, o, "images", &v)))
			return ret;
		if ((ret = WITH_KEY(r, "images", parse_globs(r, v, 1, &d->images))))
			return ret;
	}
	if (k == POLICY_DEV_VSOCK) {
		struct json_object *v;

		if ((ret = policy_jread_required(r, o, "uds_paths", &v)))
			return ret;
		if ((ret = WITH_KEY(r, "uds_paths", parse_globs(r, v, 1, &d->uds_paths))))
			return ret;
	}
	return 0;
}

static int parse_devices(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	int ret;

	if ((ret = policy_jread_object(r, o, (const char *const[]){ "blk", "rng", "console", "net", "vsock", NULL })))
		return ret;
	for (int k = 0; k < POLICY_DEV__COUNT; k++) {
		struct json_object *v = policy_jread_member(o, dev_names[k]);

		if (v && (ret = WITH_KEY(r, dev_names[k],
					 parse_device(r, v, (enum policy_dev_kind)k, &p->dev[k]))))
			return ret;
	}
	return 0;
}

static int parse_cgroup(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "cpu_quota_us", "cpu_period_us", "memory_max_mib",
					    "pids_max", NULL };
	int ret;

	if ((ret = policy_jread_object(r, o, keys)))
		return ret;
	p->cg_cpu_period_us = 100000;
	p->cg_pids_max = 64;
	if ((ret = policy_jread_req_uint(r, o, "cpu_quota_us", 1000, 1000000000ull, &p->cg_cpu_quota_us)) ||
	    (ret = policy_jread_opt_uint(r, o, "cpu_period_us", 1000, 1000000, &p->cg_cpu_period_us)) ||
	    (ret = policy_jread_req_uint(r, o, "memory_max_mib", 1, 1ull << 24, &p->cg_memory_max_mib)) ||
	    (ret = policy_jread_opt_uint(r, o, "pids_max", 1, 4194304, &p->cg_pids_max)))
		return ret;
	if (p->cg_memory_max_mib < p->memory_max_mib)
		return WITH_KEY(r, "memory_max_mib",
				policy_jread_fail(r, "%llu MiB is below resources.memory_max_mib (%llu MiB): the guest could never use its memory",
					   (unsigned long long)p->cg_memory_max_mib,
					   (unsigned long long)p->memory_max_mib));
	return 0;
}

static int parse_resources(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "memory_min_mib", "memory_max_mib", "vcpus_max",
					    "cgroup", NULL };
	struct json_object *v;
	uint64_t u = 1;
	int ret;

	if ((ret = policy_jread_object(r, o, keys)))
		return ret;
	p->memory_min_mib = 1;
	if ((ret = policy_jread_req_uint(r, o, "memory_max_mib", 1, 1ull << 24, &p->memory_max_mib)) ||
	    (ret = policy_jread_opt_uint(r, o, "memory_min_mib", 1, 1ull << 24, &p->memory_min_mib)) ||
	    (ret = policy_jread_req_uint(r, o, "vcpus_max", 1, 512, &u)))
		return ret;
	p->vcpus_max = (uint32_t)u;
	if (p->memory_min_mib > p->memory_max_mib)
		return WITH_KEY(r, "memory_min_mib",
				policy_jread_fail(r, "%llu MiB is above memory_max_mib (%llu MiB)",
					   (unsigned long long)p->memory_min_mib,
					   (unsigned long long)p->memory_max_mib));
	if ((ret = policy_jread_required(r, o, "cgroup", &v)))
		return ret;
	return WITH_KEY(r, "cgroup", parse_cgroup(r, v, p));
}

static int parse_boot(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "firmware", "kernel", "allow_cmdline", NULL };
	struct json_object *v;
	int ret;

	if ((ret = policy_jread_object(r, o, keys)))
		return ret;
	if ((v = policy_jread_member(o, "firmware")) &&
	    (ret = WITH_KEY(r, "firmware", parse_globs(r, v, 0, &p->firmware))))
		return ret;
	if ((v = policy_jread_member(o, "kernel")) &&
	    (ret = WITH_KEY(r, "kernel", parse_globs(r, v, 0, &p->kernel))))
		return ret;
	return policy_jread_opt_bool(r, o, "allow_cmdline", &p->allow_cmdline);
}

static int parse_attestation(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "tpm_required", "pcr", NULL };
	uint64_t u = p->pcr;
	int ret;

	if ((ret = policy_jread_object(r, o, keys)) ||
	    (ret = policy_jread_opt_bool(r, o, "tpm_required", &p->tpm_required)) ||
	    (ret = policy_jread_opt_uint(r, o, "pcr", 0, POLICY_PCR_MAX, &u)))
		return ret;
	p->pcr = (uint32_t)u;
	return 0;
}

static int parse_digest_list(struct policy_jread *r, struct json_object *v,
			     uint8_t out[][POLICY_DIGEST_LEN], size_t *n_out)
{
	size_t n;
	int ret;

	if ((ret = policy_jread_array(r, v, 0, POLICY_DIGESTS_MAX, &n)))
		return ret;
	for (size_t i = 0; i < n; i++) {
		size_t saved = policy_jread_push_index(r, i);

		ret = policy_jread_hex(r, json_object_array_get_idx(v, i), out[i], POLICY_DIGEST_LEN);
		policy_jread_pop(r, saved);
		if (ret)
			return ret;
	}
	*n_out = n;
	return 0;
}

static int parse_tcb(struct policy_jread *r, struct json_object *o, struct policy_tcb *t)
{
	static const char *const keys[] = { "bootloader", "tee", "snp", "microcode", NULL };
	uint64_t b = 0, e = 0, s = 0, m = 0;
	int ret;

	if ((ret = policy_jread_object(r, o, keys)) ||
	    (ret = policy_jread_opt_uint(r, o, "bootloader", 0, 255, &b)) ||
	    (ret = policy_jread_opt_uint(r, o, "tee", 0, 255, &e)) ||
	    (ret = policy_jread_opt_uint(r, o, "snp", 0, 255, &s)) ||
	    (ret = policy_jread_opt_uint(r, o, "microcode", 0, 255, &m)))
		return ret;
	*t = (struct policy_tcb){ (uint8_t)b, (uint8_t)e, (uint8_t)s, (uint8_t)m };
	return 0;
}

static int parse_ref_snp(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "measurements", "host_data", "min_tcb", "allow_debug",
					    NULL };
	struct policy_reference *ref = &p->ref;
	struct json_object *v;
	int ret;

	if ((ret = policy_jread_object(r, o, keys)))
		return ret;
	if ((v = policy_jread_member(o, "measurements")) &&
	    (ret = WITH_KEY(r, "measurements",
			    parse_digest_list(r, v, ref->snp_measurement, &ref->n_snp_measurements))))
		return ret;
	if ((v = policy_jread_member(o, "host_data"))) {
		if ((ret = WITH_KEY(r, "host_data", policy_jread_hex(r, v, ref->host_data, POLICY_HOST_DATA_LEN))))
			return ret;
		ref->has_host_data = true;
	}
	if ((v = policy_jread_member(o, "min_tcb"))) {
		if ((ret = WITH_KEY(r, "min_tcb", parse_tcb(r, v, &ref->min_tcb))))
			return ret;
		ref->has_min_tcb = true;
	}
	if ((ret = policy_jread_opt_bool(r, o, "allow_debug", &ref->snp_allow_debug)))
		return ret;
	if (p->snp.flags & POLICY_SNP_DEBUG && policy_jread_member(o, "allow_debug") && !ref->snp_allow_debug)
		return WITH_KEY(r, "allow_debug",
				policy_jread_fail(r, "false contradicts snp.debug = true: a verifier would refuse every report of this class"));
	return 0;
}

static int parse_ref_tdx(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "mrtd", "rtmr", "allow_debug", NULL };
	struct policy_reference *ref = &p->ref;
	struct json_object *v;
	int ret;

	if ((ret = policy_jread_object(r, o, keys)))
		return ret;
	if ((v = policy_jread_member(o, "mrtd")) &&
	    (ret = WITH_KEY(r, "mrtd", parse_digest_list(r, v, ref->mrtd, &ref->n_mrtds))))
		return ret;
	if ((v = policy_jread_member(o, "rtmr"))) {
		size_t n, saved = policy_jread_push_key(r, "rtmr");

		ret = policy_jread_array(r, v, 1, POLICY_TDX_RTMRS, &n);
		for (size_t i = 0; !ret && i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			size_t s2 = policy_jread_push_index(r, i);

			if (e) { /* null = no reference value for this RTMR */
				ret = policy_jread_hex(r, e, ref->rtmr[i], POLICY_DIGEST_LEN);
				ref->has_rtmr[i] = !ret;
			}
			policy_jread_pop(r, s2);
		}
		policy_jread_pop(r, saved);
		if (ret)
			return ret;
	}
	if ((ret = policy_jread_opt_bool(r, o, "allow_debug", &ref->tdx_allow_debug)))
		return ret;
	if (p->tdx_attributes & POLICY_TDX_DEBUG && policy_jread_member(o, "allow_debug") && !ref->tdx_allow_debug)
		return WITH_KEY(r, "allow_debug",
				policy_jread_fail(r, "false contradicts tdx.debug = true: a verifier would refuse every quote of this class"));
	return 0;
}

static int parse_reference(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "snp", "tdx", NULL };
	struct json_object *v;
	int ret;

	if ((ret = policy_jread_object(r, o, keys)))
		return ret;
	if ((v = policy_jread_member(o, "snp"))) {
		if (!iso_admits_snp(p->iso_type))
			return WITH_KEY(r, "snp", policy_jread_fail(r, "section given but isolation.type \"%s\" never launches SNP",
							     iso_type_names[p->iso_type]));
		if ((ret = WITH_KEY(r, "snp", parse_ref_snp(r, v, p))))
			return ret;
	}
	if ((v = policy_jread_member(o, "tdx"))) {
		if (!iso_admits_tdx(p->iso_type))
			return WITH_KEY(r, "tdx", policy_jread_fail(r, "section given but isolation.type \"%s\" never launches TDX",
							     iso_type_names[p->iso_type]));
		if ((ret = WITH_KEY(r, "tdx", parse_ref_tdx(r, v, p))))
			return ret;
	}
	return 0;
}

static int parse_root(struct policy_jread *r, struct json_object *o, struct policy *p)
{
	static const char *const keys[] = { "schema", "name", "description", "isolation", "snp",
		"tdx", "devices", "resources", "boot", "attestation", "reference",
		"on_device_failure", NULL };
	struct json_object *v;
	uint64_t schema;
	int ret, idx;

	if ((ret = policy_jread_object(r, o, keys)))
		return ret;
	if ((ret = policy_jread_required(r, o, "schema", &v)) ||
	    (ret = WITH_KEY(r, "schema", policy_jread_uint(r, v, POLICY_SCHEMA_VERSION,
						    POLICY_SCHEMA_VERSION, &schema))))
		return ret;
	if ((ret = policy_jread_required(r, o, "name", &v)) || (ret = WITH_KEY(r, "name", parse_name(r, v, p))))
		return ret;
	if ((v = policy_jread_member(o, "description"))) {
		const char *s;

		if ((ret = WITH_KEY(r, "description", policy_jread_string(r, v, 1024, &s))))
			return ret;
		if (!(p->description = strdup(s)))
			return cp_err_set(r->err, ENOMEM, "policy: out of memory");
	}
	if ((ret = policy_jread_required(r, o, "isolation", &v)) ||
	    (ret = WITH_KEY(r, "isolation", parse_isolation(r, v, p))))
		return ret;

	/* Defaults of the confidential sections, then the sections themselves. */
	p->snp.flags = POLICY_SNP_SMT;
	p->tdx_attributes = POLICY_TDX_SEPT_VE_DISABLE;
	if ((v = policy_jread_member(o, "snp"))) {
		if (!iso_admits_snp(p->iso_type))
			return WITH_KEY(r, "snp", policy_jread_fail(r, "section given but isolation.type \"%s\" never launches SNP",
							     iso_type_names[p->iso_type]));
		if ((ret = WITH_KEY(r, "snp", parse_snp(r, v, p))))
			return ret;
	}
	if ((v = policy_jread_member(o, "tdx"))) {
		if (!iso_admits_tdx(p->iso_type))
			return WITH_KEY(r, "tdx", policy_jread_fail(r, "section given but isolation.type \"%s\" never launches TDX",
							     iso_type_names[p->iso_type]));
		if ((ret = WITH_KEY(r, "tdx", parse_tdx(r, v, p))))
			return ret;
	}
	if ((v = policy_jread_member(o, "devices")) &&
	    (ret = WITH_KEY(r, "devices", parse_devices(r, v, p))))
		return ret;
	if ((ret = policy_jread_required(r, o, "resources", &v)) ||
	    (ret = WITH_KEY(r, "resources", parse_resources(r, v, p))))
		return ret;
	if ((v = policy_jread_member(o, "boot")) && (ret = WITH_KEY(r, "boot", parse_boot(r, v, p))))
		return ret;
	p->pcr = 15;
	if ((v = policy_jread_member(o, "attestation")) &&
	    (ret = WITH_KEY(r, "attestation", parse_attestation(r, v, p))))
		return ret;
	if ((v = policy_jread_member(o, "reference")) &&
	    (ret = WITH_KEY(r, "reference", parse_reference(r, v, p))))
		return ret;
	/* A debug-enabled class needs a reference section that says debug is acceptable. */
	if (iso_admits_snp(p->iso_type) && p->snp.flags & POLICY_SNP_DEBUG && !p->ref.snp_allow_debug)
		return WITH_KEY(r, "snp.debug",
			policy_jread_fail(r, "true needs reference.snp.allow_debug = true: a verifier would refuse every report of this class"));
	if (iso_admits_tdx(p->iso_type) && p->tdx_attributes & POLICY_TDX_DEBUG && !p->ref.tdx_allow_debug)
		return WITH_KEY(r, "tdx.debug",
			policy_jread_fail(r, "true needs reference.tdx.allow_debug = true: a verifier would refuse every quote of this class"));
	p->on_device_failure = POLICY_ON_FAILURE_STOP;
	if ((v = policy_jread_member(o, "on_device_failure"))) {
		if ((ret = WITH_KEY(r, "on_device_failure", policy_jread_enum(r, v, on_failure_names, 2, &idx))))
			return ret;
		p->on_device_failure = (enum policy_on_failure)idx;
	}
	return 0;
}

int policy_parse(const char *text, size_t len, struct policy *out, struct cp_err *err)
{
	struct policy_jread r = { .err = err, .what = "policy" };
	struct json_object *root;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > POLICY_DOC_MAX)
		return cp_err_set(err, EINVAL, "policy: document of %zu bytes, at most %u allowed", len,
				  POLICY_DOC_MAX);
	if ((ret = policy_jread_parse_doc(&r, text, len, &root)))
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
