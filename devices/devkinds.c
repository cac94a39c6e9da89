/* The table of device kinds and the trust table (see devkinds.h). */
#include "devices/devkinds.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "devices/blk/blk.h"

const struct devkind devkinds[DEVKIND__COUNT] = {
	[DEVKIND_BLK] = {
		.name = "blk", .binary = "carapace-blk", .virtio_id = 2, .config_size = BLK_CONFIG_SIZE, .queues = 1, .queue_size = 256,
		.seccomp = &jail_policy_blk, .selinux_type = "carapace_blk_t",
		.selinux_exec_type = "carapace_blk_exec_t", .policy_class = "devices.blk",
		.new_netns = true, .runner_starts = true,
		.args = {
			{ DEVOPT_PATH, "path", "--image", DEVOPT_VALUE, true, 1, 511, "", "--image-fd" },
			{ DEVOPT_READONLY, "readonly", "--readonly", DEVOPT_BOOL, false, 0, 0, NULL },
		},
		.inherited_fds = "vhost-user socket (`--fd`); the image (`--image-fd`), opened once by the runner: "
				 "the file the launch policy judged; the swap channel (`--swap-fd`), over which a new image "
				 "arrives as an fd (`PATCH /drives/{id}`); the counter page (`--stats-fd`), mapped before jailing and closed",
	},
	[DEVKIND_RNG] = {
		.name = "rng", .binary = "carapace-rng", .virtio_id = 4, .config_size = 0, .queues = 1, .queue_size = 256,
		.seccomp = &jail_policy_rng, .selinux_type = "carapace_rng_t",
		.selinux_exec_type = "carapace_rng_exec_t", .policy_class = "devices.rng",
		.new_netns = true, .runner_starts = true,
		.inherited_fds = "vhost-user socket (`--fd`); the counter page (`--stats-fd`), mapped before jailing and closed",
	},
	[DEVKIND_CONSOLE] = {
		.name = "console", .binary = "carapace-console", .virtio_id = 3, .config_size = 12, .queues = 2, .queue_size = 256,
		.seccomp = &jail_policy_console, .selinux_type = "carapace_console_t",
		.selinux_exec_type = "carapace_console_exec_t", .policy_class = "devices.console",
		.new_netns = true, .runner_starts = true,
		.args = {
			{ DEVOPT_PATH, "path", "--output", DEVOPT_VALUE, true, 1, 511, " (where the guest's output goes)" },
		},
		.inherited_fds = "vhost-user socket (`--fd`); the output file, pty or UNIX socket is opened by the "
				 "helper before jailing",
	},
	[DEVKIND_NET] = {
		.name = "net", .binary = "carapace-net", .virtio_id = 1, .config_size = 12, .queues = 2, .queue_size = 256,
		.seccomp = &jail_policy_net, .selinux_type = "carapace_net_t",
		.selinux_exec_type = "carapace_net_exec_t", .policy_class = "devices.net",
		.new_netns = false, .runner_starts = true,
		.args = {
			{ DEVOPT_TAP, "tap", "--tap", DEVOPT_VALUE, true, 1, 15,
			  " (a TAP interface this user may attach to: ip tuntap add dev NAME mode tap user $USER)" },
			{ DEVOPT_MAC, "mac", "--mac", DEVOPT_VALUE, false, 17, 17, NULL },
		},
		.inherited_fds = "vhost-user socket (`--fd`); the helper opens the TAP (`--tap NAME`) itself before "
				 "jailing (`--tap-fd N` when started by hand); the counter page (`--stats-fd`), mapped before jailing and closed",
	},
	[DEVKIND_VSOCK] = {
		.name = "vsock", .binary = "carapace-vsock", .virtio_id = 19, .config_size = 8, .queues = 3, .queue_size = 256,
		.seccomp = &jail_policy_vsock, .selinux_type = "carapace_vsock_t",
		.selinux_exec_type = "carapace_vsock_exec_t", .policy_class = "devices.vsock",
		.new_netns = true, .runner_starts = true,
		.args = {
			/* 0-2 are reserved (hypervisor, local, host); U32_MAX is VMADDR_CID_ANY. */
			{ .opt = DEVOPT_CID, .key = "cid", .flag = "--cid", .type = DEVOPT_UINT, .required = true,
			  .min_val = 3, .max_val = UINT32_MAX - 1, .hint = " (the guest's context ID)" },
			/* sockaddr_un.sun_path holds 108 bytes with the NUL; the helper also needs room for
			 * <uds>_<port> and says so itself. */
			{ .opt = DEVOPT_UDS, .key = "uds", .flag = "--uds-path", .type = DEVOPT_ABSPATH, .required = true,
			  .min_len = 2, .max_len = 107, .hint = " (the hybrid-vsock socket the host connects to)" },
		},
		.inherited_fds = "vhost-user socket (`--fd`); the listening socket on `uds_path`, an `O_PATH` fd of its "
				 "directory and the epoll set are made by the helper before jailing; the counter page (`--stats-fd`), mapped before jailing and closed",
	},
};

const struct devkind *devkind_get(enum devkind_id k)
{
	return (unsigned)k < DEVKIND__COUNT ? &devkinds[k] : NULL;
}

int devkind_by_name(const char *name, enum devkind_id *out)
{
	for (unsigned k = 0; k < DEVKIND__COUNT; k++)
		if (!strcmp(devkinds[k].name, name)) {
			*out = (enum devkind_id)k;
			return 0;
		}
	return -ENOENT;
}

const struct devkind_arg *devkind_arg_find(const struct devkind *d, const char *key)
{
	for (const struct devkind_arg *a = d->args; a->key; a++)
		if (!strcmp(a->key, key))
			return a;
	return NULL;
}

const char *devkind_opt_word(enum devkind_opt o)
{
	switch (o) {
	case DEVOPT_PATH: return "FILE";
	case DEVOPT_MAC: return "MAC";
	case DEVOPT_CID: return "N";
	case DEVOPT_UDS: return "PATH";
	default: return "NAME";
	}
}

int devkind_arg_check(const struct devkind_arg *a, const char *v, char *out, size_t out_len, char *why,
		      size_t why_len)
{
	size_t len = strlen(v);
	uint64_t n;

	switch (a->type) {
	case DEVOPT_BOOL:
		if (strcmp(v, "on") && strcmp(v, "true") && strcmp(v, "off") && strcmp(v, "false")) {
			snprintf(why, why_len, "%s=%.64s is not on or off", a->key, v);
			return -EINVAL;
		}
		snprintf(out, out_len, "%s", !strcmp(v, "on") || !strcmp(v, "true") ? "on" : "off");
		return 0;
	case DEVOPT_UINT:
		/* Digits only (no sign, space or suffix); written back in plain decimal. */
		if (!(v[0] >= '0' && v[0] <= '9') || cp_parse_u64(v, &n) < 0 || n < a->min_val || n > a->max_val) {
			snprintf(why, why_len, "%s=%.64s: expected a number from %llu to %llu", a->key, v,
				 (unsigned long long)a->min_val, (unsigned long long)a->max_val);
			return -EINVAL;
		}
		if ((size_t)snprintf(out, out_len, "%llu", (unsigned long long)n) >= out_len)
			goto too_long;
		return 0;
	case DEVOPT_ABSPATH:
		if (v[0] != '/' || len < a->min_len || len > a->max_len) {
			snprintf(why, why_len, "%s=%.128s: expected an absolute path of %zu to %zu bytes", a->key, v,
				 a->min_len, a->max_len);
			return -EINVAL;
		}
		break;
	case DEVOPT_VALUE:
		if (len < a->min_len || len > a->max_len) {
			if (a->opt == DEVOPT_MAC)
				snprintf(why, why_len, "%s=%.64s is not xx:xx:xx:xx:xx:xx", a->key, v);
			else
				snprintf(why, why_len, "%s=%s must be %zu to %zu characters", a->key,
					 devkind_opt_word(a->opt), a->min_len, a->max_len);
			return -EINVAL;
		}
		break;
	default:
		snprintf(why, why_len, "%s: option of an unknown type", a->key);
		return -EINVAL;
	}
	if (len >= out_len)
		goto too_long;
	memcpy(out, v, len + 1);
	return 0;
too_long:
	snprintf(why, why_len, "%s: value too long", a->key);
	return -EINVAL;
}

/* The VM process's threads (runner/sandbox.c) and the jail's outer process: what no row of
 * devkinds[] says. */
static const struct trust_row fixed_rows[] = {
	{ "VM process: main thread (event loop, teardown)", "carapace", "base + main", "carapace_t",
	  "what it opened before its filter: /dev/kvm, the VM, guest memory, console, the helpers' sockets and pidfds" },
	{ "VM process: vCPU thread", "carapace", "base + vcpu", "carapace_t", "(a thread: the process's fds)" },
	{ "VM process: vCPU thread of a confidential VM", "carapace", "base + vcpu + vcpu-cc", "carapace_t",
	  "(a thread: the process's fds)" },
	{ "VM process: TDX quote thread (`cc-quote`)", "carapace", "base + quote", "carapace_t",
	  "(a thread) the quote service's socket, bind-mounted into the empty root" },
	{ "VM process: management API thread (`--api-sock`)", "carapace", "base + api", "carapace_t",
	  "(a thread) the API's listening socket" },
	{ "label monitor (SELinux on and a device configured; forked, no exec)", "carapace", "base + label-monitor",
	  "carapace_t",
	  "its end of the request socketpair, the category claim's directory and lock file; every other fd closed" },
	{ "stop recorder (`--attest`; forked before the VM exists, no exec)", "carapace",
	  "none: it keeps the launching user's access to the TPM and the state directory to record the VM's stop, "
	  "and reads one byte at a time from the VM process ('A', 'S' or the end of file; runner/launch_record.h)",
	  "carapace_t", "its ends of two pipes; every other fd closed" },
	{ "jail reaper (outer process of every helper)", "carapace-<kind>", "reaper", "the helper's", "none" },
};

size_t trust_table_rows(struct trust_row *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed_rows) && n < max; i++)
		out[n++] = fixed_rows[i];
	for (unsigned k = 0; k < DEVKIND__COUNT && n < max; k++)
		out[n++] = (struct trust_row){ devkinds[k].name, devkinds[k].binary, devkinds[k].seccomp->name,
					       devkinds[k].selinux_type, devkinds[k].inherited_fds };
	return n;
}

void trust_table_print(FILE *out)
{
	struct trust_row rows[ARRAY_SIZE(fixed_rows) + DEVKIND__COUNT];
	size_t n = trust_table_rows(rows, ARRAY_SIZE(rows));

	fprintf(out, "| process | binary | seccomp filter | SELinux type | inherited fds |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		bool helper = i >= ARRAY_SIZE(fixed_rows);
		fprintf(out, "| %s%s | `%s` | %s%s | %s%s%s | %s |\n", helper ? "device helper: " : "", rows[i].process,
			rows[i].binary, helper ? "base + helper-base + " : "", rows[i].seccomp,
			rows[i].selinux_type[0] == 'c' ? "`" : "", rows[i].selinux_type,
			rows[i].selinux_type[0] == 'c' ? "`" : "", rows[i].inherited);
	}
}
