/* The one table of device helpers the runner starts: binary, seccomp policy, SELinux type and
 * the fds each inherits. docs/devices.md explains each entry. */
#ifndef CARAPACE_DEVICES_HELPERS_H
#define CARAPACE_DEVICES_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "devices/jail/seccomp.h"

enum carapace_helper_id {
	CARAPACE_HELPER_BLK,
	CARAPACE_HELPER_RNG,
	CARAPACE_HELPER_CONSOLE,
	CARAPACE_HELPER_NET,
	CARAPACE_HELPER_VSOCK,
	CARAPACE_HELPER_COUNT,
};

struct carapace_helper_desc {
	const char *binary;               /* installed executable name */
	const char *policy_name;          /* seccomp policy (devices/<x>/seccomp.c) */
	const struct jail_policy *policy;
	const char *selinux_type;         /* process domain in selinux/ */
	const char *inherited_fds;        /* what the runner passes (all else is O_CLOEXEC) */
	bool new_netns;                   /* false only for net: the TAP stays usable */
	unsigned virtio_id;
};

extern const struct carapace_helper_desc carapace_helpers[CARAPACE_HELPER_COUNT];

#endif
