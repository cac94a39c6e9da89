/* Validating reader for launch requests written as JSON (`carapace policy eval`, golden tests).
 * The runner builds struct policy_launch_request directly; this is the same data as text. */
#include "policy/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/jread.h"

#define REQUEST_DEVICES_MAX 64

struct policy_request_store {
	struct policy_device_request dev[REQUEST_DEVICES_MAX];
	char *strings[REQUEST_DEVICES_MAX + 4];
	size_t n_strings;
};

static const char *const iso_names[] = { "none", "snp", "tdx" };

#define WITH_KEY(r, key, call)                                  \
	({                                                      \
		size_t _saved = cp_jread_push_key((r), (key)); \
		int _ret = (call);                              \
		cp_jread_pop((r), _saved);                  \
		_ret;                                           \
	})

static int keep_string(struct cp_jread *r, struct policy_request_store *st, struct json_object *v,
		       const char **out)
{
	const char *s;
	int ret;

	if (json_object_is_type(v, json_type_null)) {
		*out = NULL;
		return 0;
	}
	if ((ret = cp_jread_string(r, v, POLICY_PATH_MAX, &s)))
		return ret;
	if (st->n_strings >= sizeof(st->strings) / sizeof(st->strings[0]))
		return cp_jread_fail(r, "too many strings");
	if (!(st->strings[st->n_strings] = strdup(s)))
		return cp_err_set(r->err, ENOMEM, "request: out of memory");
	*out = st->strings[st->n_strings++];
	return 0;
}

static int read_iso(struct cp_jread *r, struct json_object *o, const char *key,
		    enum policy_isolation *out)
{
	struct json_object *v = cp_jread_member(o, key);
	int idx, ret;

	if (!v)
		return 0;
	if ((ret = WITH_KEY(r, key, cp_jread_enum(r, v, iso_names, 3, &idx))))
		return ret;
	*out = (enum policy_isolation)idx;
	return 0;
}

static int read_device(struct cp_jread *r, struct policy_request_store *st, struct json_object *o,
		       struct policy_device_request *d)
{
	static const char *const keys[] = { "kind", "image", "read_only", "uds_path", "queues", "queue_size", NULL };
	const char *kind_names[POLICY_DEV__COUNT + 1];
	struct json_object *v;
	uint64_t u;
	int idx, ret;

	policy_dev_kind_names(kind_names);
	if ((ret = cp_jread_object(r, o, keys)) || (ret = cp_jread_required(r, o, "kind", &v)) ||
	    (ret = WITH_KEY(r, "kind", cp_jread_enum(r, v, kind_names, POLICY_DEV__COUNT, &idx))))
		return ret;
	d->kind = (enum policy_dev_kind)idx;
	/* What the runner asks for unless told otherwise: the kind's queues and their size
	 * (devices/devkinds.c). */
	d->queues = devkind_get((enum devkind_id)idx)->queues;
	d->queue_size = devkind_get((enum devkind_id)idx)->queue_size;
	if ((v = cp_jread_member(o, "image")) &&
	    (ret = WITH_KEY(r, "image", keep_string(r, st, v, &d->image))))
		return ret;
	if ((v = cp_jread_member(o, "uds_path")) &&
	    (ret = WITH_KEY(r, "uds_path", keep_string(r, st, v, &d->uds_path))))
		return ret;
	if ((ret = cp_jread_opt_bool(r, o, "read_only", &d->read_only)))
		return ret;
	u = d->queues;
	if ((ret = cp_jread_opt_uint(r, o, "queues", 0, 1024, &u)))
		return ret;
	d->queues = (uint32_t)u;
	u = d->queue_size;
	if ((ret = cp_jread_opt_uint(r, o, "queue_size", 0, 65536, &u)))
		return ret;
	d->queue_size = (uint32_t)u;
	return 0;
}

static int read_root(struct cp_jread *r, struct policy_request_store *st, struct json_object *o,
		     struct policy_launch_request *q)
{
	static const char *const keys[] = { "requested", "obtained", "host_caps",
		"snp_guest_policy", "tdx_attributes", "memory_mib", "vcpus", "cgroup", "firmware",
		"kernel", "cmdline", "cpu", "devices", "tpm_present", "launch_digest", "host_data", NULL };
	static const char *const cg_keys[] = { "cpu_quota_us", "cpu_period_us", "memory_max_mib",
					       "pids_max", NULL };
	struct json_object *v;
	uint64_t u = 0;
	size_t n;
	int ret;

	if ((ret = cp_jread_object(r, o, keys)) || (ret = read_iso(r, o, "requested", &q->requested)) ||
	    (ret = read_iso(r, o, "obtained", &q->obtained)))
		return ret;
	if ((v = cp_jread_member(o, "host_caps"))) {
		size_t saved = cp_jread_push_key(r, "host_caps");

		ret = cp_jread_array(r, v, 0, 2, &n);
		for (size_t i = 0; !ret && i < n; i++) {
			size_t s2 = cp_jread_push_index(r, i);
			int idx = 0;

			ret = cp_jread_enum(r, json_object_array_get_idx(v, i), iso_names + 1, 2, &idx);
			if (!ret)
				q->host_caps |= 1u << (idx + 1);
			cp_jread_pop(r, s2);
		}
		cp_jread_pop(r, saved);
		if (ret)
			return ret;
	}
	if ((v = cp_jread_member(o, "snp_guest_policy")) &&
	    (ret = WITH_KEY(r, "snp_guest_policy", cp_jread_u64(r, v, &q->snp_guest_policy))))
		return ret;
	if ((v = cp_jread_member(o, "tdx_attributes")) &&
	    (ret = WITH_KEY(r, "tdx_attributes", cp_jread_u64(r, v, &q->tdx_attributes))))
		return ret;
	if ((ret = cp_jread_opt_uint(r, o, "memory_mib", 0, 1ull << 32, &q->memory_mib)) ||
	    (ret = cp_jread_opt_uint(r, o, "vcpus", 0, 4096, &u)))
		return ret;
	q->vcpus = (uint32_t)u;
	if ((v = cp_jread_member(o, "cgroup"))) {
		size_t saved = cp_jread_push_key(r, "cgroup");

		if (!(ret = cp_jread_object(r, v, cg_keys)) &&
		    !(ret = cp_jread_opt_uint(r, v, "cpu_quota_us", 0, 1ull << 40, &q->cg_cpu_quota_us)) &&
		    !(ret = cp_jread_opt_uint(r, v, "cpu_period_us", 0, 1ull << 40, &q->cg_cpu_period_us)) &&
		    !(ret = cp_jread_opt_uint(r, v, "memory_max_mib", 0, 1ull << 40, &q->cg_memory_max_mib)))
			ret = cp_jread_opt_uint(r, v, "pids_max", 0, 1ull << 40, &q->cg_pids_max);
		cp_jread_pop(r, saved);
		if (ret)
			return ret;
	}
	if ((v = cp_jread_member(o, "firmware")) &&
	    (ret = WITH_KEY(r, "firmware", keep_string(r, st, v, &q->firmware))))
		return ret;
	if ((v = cp_jread_member(o, "kernel")) &&
	    (ret = WITH_KEY(r, "kernel", keep_string(r, st, v, &q->kernel))))
		return ret;
	if ((v = cp_jread_member(o, "cmdline")) &&
	    (ret = WITH_KEY(r, "cmdline", keep_string(r, st, v, &q->cmdline))))
		return ret;
	if ((v = cp_jread_member(o, "cpu")) && (ret = WITH_KEY(r, "cpu", keep_string(r, st, v, &q->cpu))))
		return ret;
	if ((v = cp_jread_member(o, "devices"))) {
		size_t saved = cp_jread_push_key(r, "devices");

		ret = cp_jread_array(r, v, 0, REQUEST_DEVICES_MAX, &n);
		for (size_t i = 0; !ret && i < n; i++) {
			size_t s2 = cp_jread_push_index(r, i);

			ret = read_device(r, st, json_object_array_get_idx(v, i), &st->dev[i]);
			cp_jread_pop(r, s2);
		}
		cp_jread_pop(r, saved);
		if (ret)
			return ret;
		q->devices = st->dev;
		q->n_devices = n;
	}
	if ((ret = cp_jread_opt_bool(r, o, "tpm_present", &q->tpm_present)))
		return ret;
	if ((v = cp_jread_member(o, "launch_digest"))) {
		if ((ret = WITH_KEY(r, "launch_digest", cp_jread_hex(r, v, q->launch_digest, POLICY_DIGEST_LEN))))
			return ret;
		q->has_launch_digest = true;
	}
	if ((v = cp_jread_member(o, "host_data"))) {
		if ((ret = WITH_KEY(r, "host_data", cp_jread_hex(r, v, q->host_data, POLICY_HOST_DATA_LEN))))
			return ret;
		q->has_host_data = true;
	}
	return 0;
}

int policy_request_parse(const char *text, size_t len, struct policy_launch_request *out,
			 struct policy_request_store **store, struct cp_err *err)
{
	struct cp_jread r = { .err = err, .what = "request" };
	struct policy_request_store *st;
	struct json_object *root;
	int ret;

	memset(out, 0, sizeof(*out));
	*store = NULL;
	if (len > POLICY_DOC_MAX)
		return cp_err_set(err, EINVAL, "request: document of %zu bytes, at most %u allowed",
				  len, POLICY_DOC_MAX);
	if ((ret = cp_jread_parse_doc(&r, text, len, &root)))
		return ret;
	if (!(st = calloc(1, sizeof(*st)))) {
		json_object_put(root);
		return cp_err_set(err, ENOMEM, "request: out of memory");
	}
	ret = read_root(&r, st, root, out);
	json_object_put(root);
	if (ret) {
		policy_request_free(st);
		memset(out, 0, sizeof(*out));
		return ret;
	}
	*store = st;
	return 0;
}

void policy_request_free(struct policy_request_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_strings; i++)
		free(st->strings[i]);
	free(st);
}
