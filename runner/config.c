/* The run-option table and the JSON config reader (json-c). */
#include "runner/config.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/util.h"
#include "common/jread.h"
#include "memenc/direct_boot.h"
#include "runner/guest_cpuid.h"
#include "runner/layout.h"
#include "runner/vm.h"

/* OPT_SIZE: a bare number is MiB (like --memory elsewhere); OPT_BYTES: a bare number is bytes. */
/* OPT_LIST: repeatable; on the command line once per value, in JSON a string or an array. */
enum opt_type { OPT_STRING, OPT_SIZE, OPT_BYTES, OPT_UINT, OPT_SECONDS, OPT_FLAG, OPT_LIST };

struct opt_def {
	const char *name;
	enum opt_type type;
	size_t offset;
};

/* A config is one flat object whose values are at most arrays of strings. */
#define RUN_CONFIG_DEPTH_MAX 4

#define O(field) offsetof(struct run_opts, field)
static const struct opt_def opt_defs[] = {
	{ "kernel", OPT_STRING, O(kernel) },
	{ "initrd", OPT_STRING, O(initrd) },
	{ "cmdline", OPT_STRING, O(cmdline) },
	{ "memory", OPT_SIZE, O(memory) },
	{ "vcpus", OPT_UINT, O(vcpus) },
	{ "cpu", OPT_STRING, O(cpu) },
	{ "console", OPT_STRING, O(console) },
	{ "console-limit", OPT_BYTES, O(console_limit) },
	{ "timeout", OPT_SECONDS, O(timeout_ms) },
	{ "name", OPT_STRING, O(name) },
	{ "debug-exit", OPT_FLAG, O(debug_exit) },
	{ "strict-io", OPT_FLAG, O(strict_io) },
	{ "direct-layout", OPT_FLAG, O(direct_layout) },
	{ "tdx-stub-test", OPT_FLAG, O(tdx_stub_test) },
	{ "seccomp", OPT_STRING, O(seccomp) },
	{ "device", OPT_LIST, O(devices) },
	{ "on-device-failure", OPT_STRING, O(on_device_failure) },
	{ "policy", OPT_STRING, O(policy) },
	{ "confidential", OPT_STRING, O(confidential) },
	{ "platform", OPT_STRING, O(platform) },
	{ "firmware", OPT_STRING, O(firmware) },
	{ "snp-certs", OPT_STRING, O(snp_certs) },
	{ "quote-service", OPT_STRING, O(quote_service) },
	{ "tsc-khz", OPT_UINT, O(tsc_khz) },
	{ "id-block", OPT_STRING, O(id_block) },
	{ "id-auth", OPT_STRING, O(id_auth) },
	{ "snp-cpuid-fixup", OPT_FLAG, O(snp_cpuid_fixup) },
	{ "snp-validate", OPT_STRING, O(snp_validate) },
};

const char *run_opts_known(void)
{
	static char known[1024];

	/* Derived from the table, so a new option cannot be missing from the error messages. The
	 * loop stops at the buffer's end (a table grown past it is cut short, never overrun). */
	if (!known[0])
		for (size_t i = 0, n = 0; i < ARRAY_SIZE(opt_defs) && n < sizeof(known); i++)
			n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "", opt_defs[i].name);
	return known;
}

/* The char * behind a string option. */
static char **string_field(struct run_opts *o, const struct opt_def *d)
{
	return (char **)((uint8_t *)o + d->offset);
}

void run_opts_init(struct run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->memory = RUN_DEFAULT_MEMORY;
	o->vcpus = 1;
}

void run_opts_free(struct run_opts *o)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++)
		if (opt_defs[i].type == OPT_STRING)
			free(*string_field(o, &opt_defs[i]));
	for (unsigned i = 0; i < o->ndevices; i++)
		free(o->devices[i]);
	memset(o, 0, sizeof(*o));
}

static const struct opt_def *find_opt(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++)
		if (!strcmp(opt_defs[i].name, name))
			return &opt_defs[i];
	return NULL;
}

static int parse_seconds(const char *s, uint64_t *ms)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 366.0 * 86400)
		return -EINVAL;
	*ms = (uint64_t)(v * 1000 + 0.5);
	return *ms ? 0 : -EINVAL;
}

int run_opts_set(struct run_opts *o, const char *name, const char *value, struct cp_err *err)
{
	const struct opt_def *d = find_opt(name);
	uint8_t *field;
	uint64_t v;

	if (!d)
		return cp_err_set(err, EINVAL, "unknown option '%s' (known: %s)", name, run_opts_known());
	field = (uint8_t *)o + d->offset;
	switch (d->type) {
	case OPT_STRING: {
		char *copy = strdup(value ? value : "");
		if (!copy)
			return cp_err_set(err, ENOMEM, "out of memory");
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case OPT_SIZE:
	case OPT_BYTES:
		if (cp_parse_size(value, d->type == OPT_SIZE ? 1ull << 20 : 1, &v) < 0)
			return cp_err_set(err, EINVAL, "%s: '%s' is not a size (a number of MiB, or with a K, M, G or T "
					  "suffix, e.g. 512M or 2G)", name, value ? value : "");
		*(uint64_t *)field = v;
		return 0;
	case OPT_UINT:
		if (cp_parse_u64(value, &v) < 0 || v > 0xffffffffu)
			return cp_err_set(err, EINVAL, "%s: '%s' is not a whole number", name, value ? value : "");
		*(unsigned *)field = (unsigned)v;
		return 0;
	case OPT_SECONDS:
		if (parse_seconds(value, &v) < 0)
			return cp_err_set(err, EINVAL, "%s: '%s' is not a number of seconds (greater than 0, at most a year)",
					  name, value ? value : "");
		*(uint64_t *)field = v;
		return 0;
	case OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case OPT_LIST: {
		char *copy;
		if (o->ndevices >= ARRAY_SIZE(o->devices))
			return cp_err_set(err, E2BIG, "%s: at most %zu", name, ARRAY_SIZE(o->devices));
		if (!value || !*value)
			return cp_err_set(err, EINVAL, "%s: empty value", name);
		copy = strdup(value);
		if (!copy)
			return cp_err_set(err, ENOMEM, "out of memory");
		o->devices[o->ndevices++] = copy;
		return 0;
	}
	}
	return cp_err_set(err, EINVAL, "%s: internal error", name);
}

/* Convert one JSON value to the option's text form, checking its JSON type. */
static int json_to_text(const struct opt_def *d, struct json_object *v, char *buf, size_t len, struct cp_err *err)
{
	enum json_type t = json_object_get_type(v);

	switch (d->type) {
	case OPT_STRING:
		if (t != json_type_string)
			return cp_err_set(err, EINVAL, "key '%s' must be a string, not %s", d->name, cp_jread_type_name(v));
		return 0;
	case OPT_SIZE:
	case OPT_BYTES:
		if (t == json_type_string)
			return 0;
		if (t == json_type_int && json_object_get_int64(v) >= 0) {
			snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
			return 1;
		}
		return cp_err_set(err, EINVAL, "key '%s' must be a size: a string like \"512M\" or a whole number of %s, "
				  "not %s", d->name, d->type == OPT_SIZE ? "MiB" : "bytes", cp_jread_type_name(v));
	case OPT_UINT:
		if (t != json_type_int || json_object_get_int64(v) < 0)
			return cp_err_set(err, EINVAL, "key '%s' must be a non-negative integer, not %s", d->name,
					  t == json_type_int ? "a negative number" : cp_jread_type_name(v));
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
		return 1;
	case OPT_SECONDS:
		if (t != json_type_int && t != json_type_double)
			return cp_err_set(err, EINVAL, "key '%s' must be a number of seconds, not %s", d->name,
					  cp_jread_type_name(v));
		snprintf(buf, len, "%.17g", json_object_get_double(v));
		return 1;
	case OPT_FLAG:
		if (t != json_type_boolean)
			return cp_err_set(err, EINVAL, "key '%s' must be true or false, not %s", d->name, cp_jread_type_name(v));
		return 0;
	case OPT_LIST:
		if (t == json_type_string)
			return 0;
		if (t != json_type_array)
			return cp_err_set(err, EINVAL, "key '%s' must be a string or an array of strings, not %s", d->name,
					  cp_jread_type_name(v));
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
				return cp_err_set(err, EINVAL, "key '%s': element %zu must be a string", d->name, i);
		return 2;
	}
	return cp_err_set(err, EINVAL, "key '%s': internal error", d->name);
}

int run_opts_from_json(struct run_opts *o, const char *json, size_t len, struct cp_err *err)
{
	struct json_object *root;
	struct cp_json_error jerr;
	struct run_opts tmp;
	int r = 0;

	if (len > 1u << 20)
		return cp_err_set(err, EFBIG, "config is larger than 1 MiB");
	/* common/json.c's rules: strict JSON, depth, no NUL, no repeated key. */
	r = cp_json_parse(json, len, RUN_CONFIG_DEPTH_MAX, &root, &jerr);
	if (r == -ENOMEM)
		return cp_err_set(err, ENOMEM, "out of memory");
	if (r < 0) {
		if (jerr.fault == CP_JSON_DUPLICATE_KEY)
			return cp_err_set(err, EINVAL, "key '%s' appears twice (byte %zu): each option at most once",
					  jerr.detail, jerr.offset);
		return cp_err_set(err, EINVAL, "not valid JSON at byte %zu: %s", jerr.offset,
				  jerr.fault == CP_JSON_INVALID ? jerr.detail : cp_json_fault_name(jerr.fault));
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return cp_err_set(err, EINVAL, "the config must be a JSON object");
	}

	/* Apply to a copy first: a bad document changes nothing. */
	tmp = *o;
	for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++)
		if (opt_defs[i].type == OPT_STRING) {
			char **f = string_field(&tmp, &opt_defs[i]);
			*f = *f ? strdup(*f) : NULL;
		}
	for (unsigned i = 0; i < o->ndevices; i++)
		tmp.devices[i] = strdup(o->devices[i]);
	json_object_object_foreach(root, key, val) {
		const struct opt_def *d = find_opt(key);
		char buf[64];
		if (!d) {
			r = cp_err_set(err, EINVAL, "unknown key '%s' (known keys: %s)", key, run_opts_known());
			break;
		}
		r = json_to_text(d, val, buf, sizeof(buf), err);
		if (r < 0)
			break;
		if (r == 2) { /* an array of list values */
			for (size_t i = 0; i < json_object_array_length(val) && r >= 0; i++)
				r = run_opts_set(&tmp, key, json_object_get_string(json_object_array_get_idx(val, i)), err);
			if (r < 0) {
				cp_err_prefix(err, "key ");
				break;
			}
			r = 0;
			continue;
		}
		if (d->type == OPT_FLAG) {
			*(bool *)((uint8_t *)&tmp + d->offset) = json_object_get_boolean(val);
			r = 0;
			continue;
		}
		r = run_opts_set(&tmp, key, r == 1 ? buf : json_object_get_string(val), err);
		if (r < 0) {
			cp_err_prefix(err, "key ");
			break;
		}
	}
	json_object_put(root);
	if (r < 0) {
		run_opts_free(&tmp);
		return r;
	}
	run_opts_free(o);
	*o = tmp;
	return 0;
}

int run_opts_validate(const struct run_opts *o, uint64_t host_mem, struct cp_err *err)
{
	uint64_t max = host_mem < GUEST_MEM_MAX ? host_mem : GUEST_MEM_MAX;

	if (o->memory < GUEST_MEM_MIN)
		return cp_err_set(err, EINVAL, "memory: %llu KiB is too small; a guest needs at least %llu MiB",
				  (unsigned long long)(o->memory >> 10), (unsigned long long)(GUEST_MEM_MIN >> 20));
	if (o->memory > max)
		return cp_err_set(err, EINVAL, "memory: %llu MiB is more than this host can give (%llu MiB)",
				  (unsigned long long)(o->memory >> 20), (unsigned long long)(max >> 20));
	if (o->memory % 4096)
		return cp_err_set(err, EINVAL, "memory: must be a whole number of 4 KiB pages");
	if (o->vcpus < 1 || o->vcpus > RUN_MAX_VCPUS)
		return cp_err_set(err, EINVAL, "vcpus: %u is out of range 1..%u", o->vcpus, RUN_MAX_VCPUS);
	if (o->initrd && !o->kernel)
		return cp_err_set(err, EINVAL, "initrd: given without a kernel");
	if (o->seccomp && strcmp(o->seccomp, "on") && strcmp(o->seccomp, "enforce") && strcmp(o->seccomp, "log") &&
	    strcmp(o->seccomp, "off"))
		return cp_err_set(err, EINVAL, "seccomp: '%s' is not on, log or off", o->seccomp);
	if (o->on_device_failure && strcmp(o->on_device_failure, "stop") && strcmp(o->on_device_failure, "continue"))
		return cp_err_set(err, EINVAL, "on-device-failure: '%s' is not stop or continue", o->on_device_failure);
	if (o->confidential && strcmp(o->confidential, "required") && strcmp(o->confidential, "preferred") &&
	    strcmp(o->confidential, "off"))
		return cp_err_set(err, EINVAL, "confidential: '%s' is not required, preferred or off", o->confidential);
	if (o->platform && strcmp(o->platform, "snp") && strcmp(o->platform, "tdx"))
		return cp_err_set(err, EINVAL, "platform: '%s' is not snp or tdx", o->platform);
	if (o->snp_validate) {
		enum db_snp_validate v;
		if (db_snp_validate_parse(o->snp_validate, &v, err) < 0)
			return -EINVAL;
	}
	if (o->kernel && !*o->kernel)
		return cp_err_set(err, EINVAL, "kernel: empty path");
	if (o->cpu) {
		struct guest_cpu_model m;
		if (guest_cpu_parse(o->cpu, &m, err) < 0)
			return -EINVAL;
	}
	return 0;
}
