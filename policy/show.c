/* The effective policy as JSON: every default made explicit, plus the derived SNP guest policy
 * and TD attributes, so an operator sees exactly what a launch will be held to. */
#include "policy/policy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/util.h"

static const char *const iso_type_names[] = { "none", "snp", "tdx", "any-confidential" };
static const char *const conf_names[] = { "required", "preferred", "off" };

static void put(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static struct json_object *jhex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static struct json_object *jglobs(const struct policy_globs *g)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < g->n; i++)
		json_object_array_add(a, json_object_new_string(g->pat[i]));
	return a;
}

static struct json_object *jsnp(const struct policy *p)
{
	static const struct { const char *k; uint64_t bit; } f[] = {
		{ "smt", POLICY_SNP_SMT }, { "migrate_ma", POLICY_SNP_MIGRATE_MA },
		{ "debug", POLICY_SNP_DEBUG }, { "single_socket", POLICY_SNP_SINGLE_SOCKET },
		{ "cxl_allow", POLICY_SNP_CXL_ALLOW }, { "mem_aes_256_xts", POLICY_SNP_MEM_AES_256_XTS },
		{ "rapl_dis", POLICY_SNP_RAPL_DIS }, { "ciphertext_hiding", POLICY_SNP_CIPHERTEXT_HIDING },
		{ "page_swap_disable", POLICY_SNP_PAGE_SWAP_DISABLE },
	};
	struct json_object *o = json_object_new_object();

	put(o, "abi_major_min", json_object_new_int(p->snp.abi_major_min));
	put(o, "abi_minor_min", json_object_new_int(p->snp.abi_minor_min));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		put(o, f[i].k, json_object_new_boolean(!!(p->snp.flags & f[i].bit)));
	put(o, "guest_policy", jhex64(policy_snp_guest_policy(p)));
	return o;
}

static struct json_object *jtdx(const struct policy *p)
{
	static const struct { const char *k; uint64_t bit; } f[] = {
		{ "debug", POLICY_TDX_DEBUG }, { "lass", POLICY_TDX_LASS },
		{ "sept_ve_disable", POLICY_TDX_SEPT_VE_DISABLE }, { "pks", POLICY_TDX_PKS },
		{ "key_locker", POLICY_TDX_KEY_LOCKER }, { "perfmon", POLICY_TDX_PERFMON },
	};
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		put(o, f[i].k, json_object_new_boolean(!!(p->tdx_attributes & f[i].bit)));
	put(o, "attributes", jhex64(p->tdx_attributes));
	return o;
}

static struct json_object *jdevices(const struct policy *p)
{
	struct json_object *o = json_object_new_object();

	for (int k = 0; k < POLICY_DEV__COUNT; k++) {
		const struct policy_device *d = &p->dev[k];
		struct json_object *e;

		if (!d->allowed)
			continue;
		e = json_object_new_object();
		put(e, "max", json_object_new_int64(d->max));
		put(e, "max_queues", json_object_new_int64(d->max_queues));
		put(e, "max_queue_size", json_object_new_int64(d->max_queue_size));
		if (k == POLICY_DEV_BLK) {
			put(e, "read_only", json_object_new_boolean(d->read_only));
			put(e, "images", jglobs(&d->images));
		}
		if (k == POLICY_DEV_VSOCK)
			put(e, "uds_paths", jglobs(&d->uds_paths));
		put(o, policy_dev_kind_name((enum policy_dev_kind)k), e);
	}
	return o;
}

static struct json_object *jreference(const struct policy *p)
{
	bool snp = p->iso_type == POLICY_ISOTYPE_SNP || p->iso_type == POLICY_ISOTYPE_ANY_CONFIDENTIAL;
	bool tdx = p->iso_type == POLICY_ISOTYPE_TDX || p->iso_type == POLICY_ISOTYPE_ANY_CONFIDENTIAL;

	return cp_refvals_to_json(&p->ref, snp, tdx);
}

char *policy_to_json(const struct policy *p)
{
	struct json_object *o = json_object_new_object(), *e;
	bool snp = p->iso_type == POLICY_ISOTYPE_SNP || p->iso_type == POLICY_ISOTYPE_ANY_CONFIDENTIAL;
	bool tdx = p->iso_type == POLICY_ISOTYPE_TDX || p->iso_type == POLICY_ISOTYPE_ANY_CONFIDENTIAL;
	char *out;

	if (!o)
		return NULL;
	put(o, "schema", json_object_new_int(POLICY_SCHEMA_VERSION));
	put(o, "name", json_object_new_string(p->name));
	if (p->description)
		put(o, "description", json_object_new_string(p->description));
	e = json_object_new_object();
	put(e, "type", json_object_new_string(iso_type_names[p->iso_type]));
	put(e, "confidential", json_object_new_string(conf_names[p->confidential]));
	put(o, "isolation", e);
	if (snp)
		put(o, "snp", jsnp(p));
	if (tdx)
		put(o, "tdx", jtdx(p));
	put(o, "devices", jdevices(p));
	e = json_object_new_object();
	put(e, "memory_min_mib", json_object_new_int64((int64_t)p->memory_min_mib));
	put(e, "memory_max_mib", json_object_new_int64((int64_t)p->memory_max_mib));
	put(e, "vcpus_max", json_object_new_int64(p->vcpus_max));
	{
		struct json_object *c = json_object_new_object();

		put(c, "cpu_quota_us", json_object_new_int64((int64_t)p->cg_cpu_quota_us));
		put(c, "cpu_period_us", json_object_new_int64((int64_t)p->cg_cpu_period_us));
		put(c, "memory_max_mib", json_object_new_int64((int64_t)p->cg_memory_max_mib));
		put(c, "pids_max", json_object_new_int64((int64_t)p->cg_pids_max));
		put(e, "cgroup", c);
	}
	put(o, "resources", e);
	e = json_object_new_object();
	put(e, "firmware", jglobs(&p->firmware));
	put(e, "kernel", jglobs(&p->kernel));
	put(e, "allow_cmdline", json_object_new_boolean(p->allow_cmdline));
	put(o, "boot", e);
	e = json_object_new_object();
	put(e, "tpm_required", json_object_new_boolean(p->tpm_required));
	put(e, "pcr", json_object_new_int64(p->pcr));
	put(o, "attestation", e);
	put(o, "reference", jreference(p));
	put(o, "on_device_failure",
	    json_object_new_string(p->on_device_failure == POLICY_ON_FAILURE_STOP ? "stop" : "continue"));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_SPACED |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}
