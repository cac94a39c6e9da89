/* The run-option table and the JSON config reader (json-c). */
#include "runner/config.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/util.h"
#include "common/jread.h"
#include "attest/tpm/hostlog.h"
#include "memenc/direct_boot.h"
#include "runner/guest_cpuid.h"
#include "runner/layout.h"
#include "runner/vm.h"

/* A config is one flat object whose values are at most arrays of strings. */
#define RUN_CONFIG_DEPTH_MAX 4

#define O(field) offsetof(struct run_opts, field)
#define C(field) offsetof(struct run_cli, field)
/* Every `carapace run` option, in --help's order. */
const struct run_opt_def run_opt_defs[] = {
	{ "kernel", OPT_STRING, RUN_OPT_VM, 0, O(kernel) },
	{ "initrd", OPT_STRING, RUN_OPT_VM, 0, O(initrd) },
	{ "cmdline", OPT_STRING, RUN_OPT_VM, 0, O(cmdline) },
	{ "memory", OPT_SIZE, RUN_OPT_VM, 0, O(memory) },
	{ "vcpus", OPT_UINT, RUN_OPT_VM, 0, O(vcpus) },
	{ "cpu", OPT_STRING, RUN_OPT_VM, 0, O(cpu) },
	{ "console", OPT_STRING, RUN_OPT_VM, 0, O(console) },
	{ "console-limit", OPT_BYTES, RUN_OPT_VM, 0, O(console_limit) },
	{ "timeout", OPT_SECONDS, RUN_OPT_VM, 0, O(timeout_ms) },
	{ "name", OPT_STRING, RUN_OPT_VM, 0, O(name) },
	{ "config", OPT_STRING, RUN_OPT_INVOCATION, 0, C(config) },
	{ "debug-exit", OPT_FLAG, RUN_OPT_VM, 0, O(debug_exit) },
	{ "strict-io", OPT_FLAG, RUN_OPT_VM, 0, O(strict_io) },
	{ "direct-layout", OPT_FLAG, RUN_OPT_VM, 0, O(direct_layout) },
	{ "tdx-stub-test", OPT_FLAG, RUN_OPT_VM, 0, O(tdx_stub_test) },
	{ "device", OPT_LIST, RUN_OPT_VM, 0, O(devices) },
	{ "on-device-failure", OPT_STRING, RUN_OPT_VM, 0, O(on_device_failure) },
	{ "policy", OPT_STRING, RUN_OPT_VM, 0, O(policy) },
	{ "print-launch-request", OPT_FLAG, RUN_OPT_ACTION, 0, C(print_launch_request) },
	{ "confidential", OPT_STRING, RUN_OPT_VM, 0, O(confidential) },
	{ "platform", OPT_STRING, RUN_OPT_VM, 0, O(platform) },
	{ "firmware", OPT_STRING, RUN_OPT_VM, 0, O(firmware), RUN_CC_EITHER },
	{ "snp-certs", OPT_STRING, RUN_OPT_VM, 0, O(snp_certs), RUN_CC_SNP },
	{ "quote-service", OPT_STRING, RUN_OPT_VM, 0, O(quote_service), RUN_CC_TDX },
	{ "tsc-khz", OPT_UINT, RUN_OPT_VM, 0, O(tsc_khz), RUN_CC_EITHER },
	{ "id-block", OPT_STRING, RUN_OPT_VM, 0, O(id_block), RUN_CC_SNP },
	{ "id-auth", OPT_STRING, RUN_OPT_VM, 0, O(id_auth), RUN_CC_SNP },
	{ "snp-cpuid-fixup", OPT_FLAG, RUN_OPT_VM, 0, O(snp_cpuid_fixup), RUN_CC_SNP },
	{ "snp-validate", OPT_STRING, RUN_OPT_VM, 0, O(snp_validate), RUN_CC_SNP },
	{ "attest", OPT_FLAG, RUN_OPT_VM, 0, O(attest) },
	{ "tcti", OPT_STRING, RUN_OPT_VM, 0, O(tcti) },
	{ "pcr", OPT_UINT, RUN_OPT_VM, 0, O(pcr) },
	{ "allow-resettable-pcr", OPT_FLAG, RUN_OPT_VM, 0, O(allow_resettable_pcr) },
	{ "state-dir", OPT_STRING, RUN_OPT_VM, 0, O(state_dir) },
	{ "seccomp", OPT_STRING, RUN_OPT_VM, 0, O(seccomp) },
	{ "print-seccomp-policy", OPT_FLAG, RUN_OPT_ACTION, 0, C(print_seccomp_policy) },
	{ "quiet", OPT_FLAG, RUN_OPT_VM, 'q', O(quiet) },
	{ "api-sock", OPT_STRING, RUN_OPT_FIRECRACKER, 0, C(api_sock) },
	{ "config-file", OPT_STRING, RUN_OPT_FIRECRACKER, 0, C(config_file) },
	{ "id", OPT_STRING, RUN_OPT_FIRECRACKER, 0, C(id) },
	{ "level", OPT_STRING, RUN_OPT_FIRECRACKER, 0, C(level) },
	{ "log-path", OPT_STRING, RUN_OPT_FIRECRACKER, 0, C(log_path) },
	{ "no-seccomp", OPT_FLAG, RUN_OPT_FIRECRACKER, 0, C(no_seccomp) },
	{ "api-control-fd", OPT_FD, RUN_OPT_INVOCATION, 0, C(api_control_fd) }, /* set by the API's controller */
#ifdef CARAPACE_TEST_HOOKS
	{ "test-hook", OPT_STRING, RUN_OPT_INVOCATION, 0, C(test_hook) },
#endif
	{ "help", OPT_FLAG, RUN_OPT_ACTION, 'h', C(help) },
};
const size_t run_opt_count = ARRAY_SIZE(run_opt_defs);

/* Why the config file refuses each command-line-only scope; RUN_OPT_VM has none. */
static const char *const scope_why[RUN_OPT__SCOPES] = {
	[RUN_OPT_VM] = NULL,
	[RUN_OPT_ACTION] = "a one-shot action that launches nothing, not part of a VM's configuration",
	[RUN_OPT_INVOCATION] = "it says how this one invocation is driven, not what the VM is",
	[RUN_OPT_FIRECRACKER] = "the Firecracker-compatible front end replaces the VM's configuration (docs/kata.md)",
};

bool run_opts_is_set(const struct run_opts *o, const struct run_opt_def *d)
{
	const uint8_t *f = (const uint8_t *)o + d->offset;

	if (d->scope != RUN_OPT_VM)
		return false;
	switch (d->type) {
	case OPT_STRING:
		return *(char *const *)f != NULL;
	case OPT_FLAG:
		return *(const bool *)f;
	case OPT_UINT:
		return *(const unsigned *)f != 0;
	case OPT_SIZE:
	case OPT_BYTES:
	case OPT_SECONDS:
		return *(const uint64_t *)f != 0;
	case OPT_LIST:
		return o->ndevices != 0;
	case OPT_FD:
		break;
	}
	return false;
}

const char *run_opt_scope_why(enum run_opt_scope scope)
{
	return (unsigned)scope < RUN_OPT__SCOPES ? scope_why[scope] : "unknown scope";
}

const char *run_opts_known(void)
{
	static char known[1024];

	/* Derived from the table, so a new key cannot be missing from the error messages. The loop
	 * stops at the buffer's end (a table grown past it is cut short, never overrun). */
	if (!known[0])
		for (size_t i = 0, n = 0; i < run_opt_count && n < sizeof(known); i++)
			if (run_opt_defs[i].scope == RUN_OPT_VM)
				n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", n ? ", " : "",
						      run_opt_defs[i].name);
	return known;
}

/* The char * behind a string option, in the struct the row's scope names. */
static char **string_field(void *base, const struct run_opt_def *d)
{
	return (char **)((uint8_t *)base + d->offset);
}

/* Free (and NULL) every string field of one scope group: the VM's or the command line's. */
static void free_strings(void *base, bool vm)
{
	for (size_t i = 0; i < run_opt_count; i++)
		if (run_opt_defs[i].type == OPT_STRING && (run_opt_defs[i].scope == RUN_OPT_VM) == vm) {
			free(*string_field(base, &run_opt_defs[i]));
			*string_field(base, &run_opt_defs[i]) = NULL;
		}
}

void run_opts_init(struct run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->memory = RUN_DEFAULT_MEMORY;
	o->vcpus = 1;
	o->pcr = ATTEST_HOSTLOG_PCR_DEFAULT;
}

void run_opts_free(struct run_opts *o)
{
	free_strings(o, true);
	for (unsigned i = 0; i < o->ndevices; i++)
		free(o->devices[i]);
	memset(o, 0, sizeof(*o));
}

void run_cli_init(struct run_cli *c)
{
	memset(c, 0, sizeof(*c));
	c->api_control_fd = -1;
}

void run_cli_free(struct run_cli *c)
{
	free_strings(c, false);
	run_cli_init(c);
}

const struct run_opt_def *run_opt_find(const char *name)
{
	for (size_t i = 0; i < run_opt_count; i++)
		if (!strcmp(run_opt_defs[i].name, name))
			return &run_opt_defs[i];
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

/* Set the field a row names in base (a struct run_opts for RUN_OPT_VM rows, else a struct
 * run_cli). One setter for both, so an option parses the same wherever it is given. */
static int opt_apply(void *base, const struct run_opt_def *d, const char *value, struct cp_err *err)
{
	const char *name = d->name;
	uint8_t *field = (uint8_t *)base + d->offset;
	uint64_t v;

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
	case OPT_FD:
		if (cp_parse_u64(value, &v) < 0 || v < 3 || v > 1024)
			return cp_err_set(err, EINVAL, "%s: '%s' is not a descriptor number from 3 to 1024", name,
					  value ? value : "");
		*(int *)field = (int)v;
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
		/* The one list is --device (a table row of another struct is refused: fail closed). */
		struct run_opts *o = base;
		char *copy;
		if (d->scope != RUN_OPT_VM || d->offset != offsetof(struct run_opts, devices))
			break;
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

int run_opts_set(struct run_opts *o, const char *name, const char *value, struct cp_err *err)
{
	const struct run_opt_def *d = run_opt_find(name);

	if (!d)
		return cp_err_set(err, EINVAL, "unknown option '%s' (known: %s)", name, run_opts_known());
	if (d->scope != RUN_OPT_VM)
		return cp_err_set(err, EINVAL, "%s: not part of a VM's configuration: %s", name, run_opt_scope_why(d->scope));
	return opt_apply(o, d, value, err);
}

int run_cli_set(struct run_cli *c, const char *name, const char *value, struct cp_err *err)
{
	const struct run_opt_def *d = run_opt_find(name);

	if (!d || d->scope == RUN_OPT_VM)
		return cp_err_set(err, EINVAL, "'%s' is not a command-line-only option", name);
	if (d->scope == RUN_OPT_FIRECRACKER)
		c->firecracker = true;
	return opt_apply(c, d, value, err);
}

/* getopt_long's tables, generated: longopts[i] is run_opt_defs[i]; shortopts starts with ':'
 * so a missing value is told apart from an unknown option. */
static void getopt_tables(struct option *longopts, char *shortopts, size_t short_len)
{
	size_t n = 0;

	shortopts[n++] = ':';
	for (size_t i = 0; i < run_opt_count; i++) {
		const struct run_opt_def *d = &run_opt_defs[i];
		longopts[i] = (struct option){ d->name, d->type == OPT_FLAG ? no_argument : required_argument, NULL, 0 };
		if (d->short_name && n + 3 < short_len) {
			shortopts[n++] = d->short_name;
			if (d->type != OPT_FLAG)
				shortopts[n++] = ':';
		}
	}
	longopts[run_opt_count] = (struct option){ NULL, 0, NULL, 0 };
	shortopts[n] = '\0';
}

static const struct run_opt_def *find_short(int c)
{
	for (size_t i = 0; i < run_opt_count; i++)
		if (run_opt_defs[i].short_name && run_opt_defs[i].short_name == c)
			return &run_opt_defs[i];
	return NULL;
}

int run_args_parse(int argc, char **argv, struct run_cli *cli, struct run_arg *vm_args, unsigned *n_vm_args,
		   struct cp_err *err)
{
	struct option longopts[ARRAY_SIZE(run_opt_defs) + 1];
	char shortopts[2 * ARRAY_SIZE(run_opt_defs) + 2];
	int c, idx;

	*n_vm_args = 0;
	getopt_tables(longopts, shortopts, sizeof(shortopts));
	optind = 0; /* glibc: a full restart, whatever an earlier parse left */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, &idx)) != -1) {
		const struct run_opt_def *d = c == 0 ? &run_opt_defs[idx] : find_short(c);

		if (c == ':')
			return cp_err_set(err, EINVAL, "option '%s' needs a value", argv[optind - 1]);
		if (!d)
			return cp_err_set(err, EINVAL, "unknown option '%s' (see carapace run --help)", argv[optind - 1]);
		if (d->scope == RUN_OPT_VM) {
			/* Command-line options win over the config file: they are applied after it. */
			vm_args[(*n_vm_args)++] = (struct run_arg){ d->name, d->type == OPT_FLAG ? NULL : optarg };
			continue;
		}
		if (run_cli_set(cli, d->name, optarg, err) < 0)
			return cp_err_prefix(err, "--");
		if (cli->help || cli->print_seccomp_policy)
			return 0; /* the action is all this run does */
	}
	if (optind < argc)
		return cp_err_set(err, EINVAL, "unexpected argument '%s' (see carapace run --help)", argv[optind]);
	return 0;
}

int run_opts_apply_args(struct run_opts *o, const struct run_arg *args, unsigned n, struct cp_err *err)
{
	for (unsigned i = 0; i < n; i++)
		if (run_opts_set(o, args[i].name, args[i].value, err) < 0)
			return cp_err_prefix(err, "--");
	return 0;
}

/* Convert one JSON value to the option's text form, checking its JSON type. */
static int json_to_text(const struct run_opt_def *d, struct json_object *v, char *buf, size_t len, struct cp_err *err)
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
	case OPT_FD: /* no config key takes one */
		break;
	}
	return cp_err_set(err, EINVAL, "key '%s': internal error", d->name);
}

int run_opts_from_json(struct run_opts *o, const char *json, size_t len, struct cp_err *err)
{
	struct json_object *root;
	struct cp_json_error jerr;
	struct run_opts tmp;
	int r = 0;

	if (len > RUN_CONFIG_MAX)
		return cp_err_set(err, EFBIG, "config is larger than %u MiB", RUN_CONFIG_MAX >> 20);
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
	for (size_t i = 0; i < run_opt_count; i++)
		if (run_opt_defs[i].type == OPT_STRING && run_opt_defs[i].scope == RUN_OPT_VM) {
			char **f = string_field(&tmp, &run_opt_defs[i]);
			*f = *f ? strdup(*f) : NULL;
		}
	for (unsigned i = 0; i < o->ndevices; i++)
		tmp.devices[i] = strdup(o->devices[i]);
	json_object_object_foreach(root, key, val) {
		const struct run_opt_def *d = run_opt_find(key);
		char buf[64];
		if (!d) {
			r = cp_err_set(err, EINVAL, "unknown key '%s' (known keys: %s)", key, run_opts_known());
			break;
		}
		if (d->scope != RUN_OPT_VM) {
			r = cp_err_set(err, EINVAL, "key '%s' is for the command line only (--%s): %s", key, key,
				       run_opt_scope_why(d->scope));
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
	struct cp_err pe = { 0 };

	/* The host launch log's PCR, judged by the log's own rule (attest/tpm/hostlog.c): a PCR
	 * the host can reset only with --allow-resettable-pcr, whoever gives it (command line,
	 * config file, management API). */
	if (attest_hostlog_pcr_check(o->pcr, o->allow_resettable_pcr, &pe) < 0)
		return cp_err_set(err, EINVAL, "--pcr: %s (--allow-resettable-pcr)", pe.msg);
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
