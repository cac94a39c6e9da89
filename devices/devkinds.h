/* The one table of device kinds (every fact about blk, rng, console, net and vsock: helper,
 * virtio ID, config size, queues and their size, argv, inherited fds, SELinux type, policy class, seccomp
 * allowlist) and the trust table of every carapace process built from it. Pure data: the
 * runner, the policy, the labelling, the helpers and the docs all read these rows, and an
 * index outside the table is refused (fails closed), never defaulted. */
#ifndef CARAPACE_DEVICES_DEVKINDS_H
#define CARAPACE_DEVICES_DEVKINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/jail/seccomp.h"

/* The order is the launch policy's device classes (policy/policy.h aliases it): kinds with a
 * policy class come first (today every kind has one). */
enum devkind_id {
	DEVKIND_BLK,
	DEVKIND_RNG,
	DEVKIND_CONSOLE,
	DEVKIND_NET,
	DEVKIND_VSOCK,
	DEVKIND__COUNT,
};

/* The options of `--device KIND,key=value,...` a kind takes, and what each becomes on the
 * helper's command line. One enum, so the runner's spec keeps one field per option. */
enum devkind_opt {
	DEVOPT_PATH,     /* blk: the image (opened by the runner, passed as --image-fd); console: output */
	DEVOPT_READONLY, /* blk: on/off */
	DEVOPT_TAP,      /* net: the TAP interface */
	DEVOPT_MAC,      /* net: xx:xx:xx:xx:xx:xx */
	DEVOPT_CID,      /* vsock: the guest's context ID */
	DEVOPT_UDS,      /* vsock: the hybrid-vsock socket the helper listens on */
	DEVOPT__COUNT,
};

enum devkind_opt_type {
	DEVOPT_VALUE,   /* key=value -> flag value */
	DEVOPT_BOOL,    /* key=on|off|true|false -> flag alone when on */
	DEVOPT_UINT,    /* key=N, decimal, min_val..max_val -> flag N (canonical decimal) */
	DEVOPT_ABSPATH, /* key=/absolute/path of a file the helper creates (a socket): its directory
			 * must exist and the runner names it canonically once (vdev_spec_resolve),
			 * so the policy judges the name the helper gets */
};

#define DEVKIND_MAX_OPTS 3

struct devkind_arg {
	enum devkind_opt opt;
	const char *key;   /* in --device (NULL ends the list) */
	const char *flag;  /* on the helper's command line */
	enum devkind_opt_type type;
	bool required;
	size_t min_len, max_len; /* DEVOPT_VALUE, DEVOPT_ABSPATH: accepted length of the value (inclusive) */
	const char *hint;        /* added to the "required" message */
	const char *fd_flag;     /* when the runner opened the file itself: the flag for its fd */
	uint64_t min_val, max_val; /* DEVOPT_UINT: accepted range (inclusive) */
};

struct devkind {
	const char *name;              /* "blk": --device, policy class, seccomp policy, messages */
	const char *binary;            /* installed executable */
	unsigned virtio_id;            /* virtio 1.2 section 5 */
	unsigned config_size;          /* bytes of device configuration space */
	unsigned queues;               /* virtqueues the helper offers (what the policy judges) */
	unsigned queue_size;           /* descriptors per virtqueue offered to the guest (virtio-mmio
					* QueueNumMax, runner/vdev.c) and so the size the launch policy
					* judges (runner/launch_plan.c); a power of two <= VU_QUEUE_SIZE_MAX */
	const struct sce_list *seccomp; /* on top of the bases (sce_list_base, jail_policy_base) (devices/<x>/seccomp.c) */
	const char *selinux_type;      /* the helper's domain (selinux/carapace.te) */
	const char *selinux_exec_type; /* the type of its executable, the entrypoint */
	const char *policy_class;      /* "devices.<x>" in a launch policy; NULL: none, the runner refuses it */
	bool new_netns;                /* false only for net: the TAP must stay reachable */
	bool runner_starts;            /* `carapace run --device` starts it */
	struct devkind_arg args[DEVKIND_MAX_OPTS + 1]; /* --device options -> helper argv */
	const char *inherited_fds;     /* what crosses exec besides stdio (all else is O_CLOEXEC) */
};

extern const struct devkind devkinds[DEVKIND__COUNT];

/* The row of a kind; NULL for anything outside the table. */
const struct devkind *devkind_get(enum devkind_id k);
/* "blk" -> DEVKIND_BLK; -ENOENT for a name not in the table. */
int devkind_by_name(const char *name, enum devkind_id *out);
/* The kind's argument for an option, NULL when the kind does not take it. */
const struct devkind_arg *devkind_arg_find(const struct devkind *d, const char *key);
/* The one check of an option's value (`--device` and the management API both use it): 0 and
 * the canonical form in out (DEVOPT_UINT: plain decimal; others: the value), or -EINVAL with
 * why (no kind or key in it: "must be 1 to 15 characters"). DEVOPT_BOOL values are on, off,
 * true, false; out gets "on" or "off". */
/* The placeholder messages use for an option's value ("FILE", "N", ...). */
const char *devkind_opt_word(enum devkind_opt o);
int devkind_arg_check(const struct devkind_arg *a, const char *v, char *out, size_t out_len, char *why,
		      size_t why_len);

/* ---- the trust table: every process and thread carapace runs ---- */

struct trust_row {
	const char *process;    /* "VM process: vCPU thread" */
	const char *binary;
	const char *seccomp;    /* the filter's name (--print-seccomp-policy / docs/devices.md) */
	const char *selinux_type;
	const char *inherited;  /* fds it holds from its parent */
};

/* Rows of the VM process and the jail's reaper, then one per device kind from devkinds[]. */
size_t trust_table_rows(struct trust_row *out, size_t max);
/* The table as markdown (docs/ARCHITECTURE.md embeds it; a test compares). */
void trust_table_print(FILE *out);

#endif
