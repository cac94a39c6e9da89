/* Access analysis of the compiled carapace module (linked with the refpolicy base): libsepol
 * computes each decision exactly as the kernel would (TE rules, RBAC, MCS constraints), for
 * contexts produced by carapace's own labelling code (label/label.c), so the pure label
 * decisions and the module are checked against each other. Usage: check-access POLICY.bin */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sepol/policydb/services.h>
#include <sepol/sepol.h>

#include "label/label.h"

static int failures, checks;

static bool sid_of(const char *con, sepol_security_id_t *sid)
{
	if (sepol_context_to_sid(con, strlen(con) + 1, sid) < 0) {
		printf("FAIL context %s is not valid in the compiled policy\n", con);
		failures++;
		return false;
	}
	return true;
}

/* Expect every permission in the space-separated list `perms` to be allowed (want = true) or
 * each one of them to be denied (want = false). */
static void expect(bool want, const char *scon, const char *tcon, const char *cls,
		   const char *perms, const char *why)
{
	sepol_security_id_t ssid, tsid;
	sepol_security_class_t tclass;
	char buf[256], *save = NULL;

	if (!sid_of(scon, &ssid) || !sid_of(tcon, &tsid))
		return;
	if (sepol_string_to_security_class(cls, &tclass) < 0) {
		printf("FAIL class %s unknown\n", cls);
		failures++;
		return;
	}
	snprintf(buf, sizeof(buf), "%s", perms);
	for (char *p = strtok_r(buf, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		sepol_access_vector_t av = 0;
		struct sepol_av_decision avd;
		unsigned int reason = 0;
		bool allowed;

		checks++;
		if (sepol_string_to_av_perm(tclass, p, &av) < 0 || !av) {
			printf("FAIL %s has no permission %s\n", cls, p);
			failures++;
			continue;
		}
		if (sepol_compute_av_reason(ssid, tsid, tclass, av, &avd, &reason) < 0) {
			printf("FAIL compute_av %s -> %s %s:%s\n", scon, tcon, cls, p);
			failures++;
			continue;
		}
		allowed = (avd.allowed & av) == av;
		if (allowed != want) {
			printf("FAIL %s: %s -> %s %s { %s } is %s (reason 0x%x), expected %s\n", why, scon,
			       tcon, cls, p, allowed ? "ALLOWED" : "denied", reason,
			       want ? "allowed" : "denied");
			failures++;
		}
	}
}

#define ALLOW(s, t, c, p, why) expect(true, s, t, c, p, why)
#define DENY(s, t, c, p, why) expect(false, s, t, c, p, why)

static void helper_con(enum label_helper h, const struct label_mcs_pair *p, char *buf)
{
	struct cp_err err = { 0 };

	if (label_helper_context(h, p, buf, LABEL_CONTEXT_MAX, &err)) {
		printf("FAIL label: %s\n", err.msg);
		exit(1);
	}
}

static void object_con(enum label_object o, const struct label_mcs_pair *p, char *buf)
{
	struct cp_err err = { 0 };

	if (label_object_context(o, p, buf, LABEL_CONTEXT_MAX, &err)) {
		printf("FAIL label: %s\n", err.msg);
		exit(1);
	}
}

static const char *obj(const char *type, const char *level, char *buf)
{
	snprintf(buf, LABEL_CONTEXT_MAX, "system_u:object_r:%s:%s", type, level);
	return buf;
}

int main(int argc, char **argv)
{
	static const struct label_mcs_pair vm1 = { 1, 2 }, vm2 = { 3, 4 }, vm3 = { 1, 3 };
	static const char *const exec_types[] = { "bin_t", "shell_exec_t", "carapace_exec_t",
		"carapace_blk_exec_t", "carapace_rng_exec_t", "carapace_console_exec_t",
		"carapace_net_exec_t", "carapace_image_t", "carapace_image_ro_t", "carapace_tmpfs_t",
		"user_home_t", "tmp_t", "usr_t", "etc_t", "lib_t", "ld_so_t" };
	static const char *const net_classes[][2] = {
		{ "tcp_socket", "create" }, { "udp_socket", "create" }, { "rawip_socket", "create" },
		{ "packet_socket", "create" }, { "sctp_socket", "create" },
		{ "netlink_route_socket", "create" }, { "tun_socket", "create" },
		{ "icmp_socket", "create" }, { "vsock_socket", "create" },
	};
	const char *runner = "system_u:system_r:carapace_t:s0-s0:c0.c1023";
	char h1[LABEL_CONTEXT_MAX], h2[LABEL_CONTEXT_MAX], h3[LABEL_CONTEXT_MAX];
	char o1[LABEL_CONTEXT_MAX], o2[LABEL_CONTEXT_MAX], t[LABEL_CONTEXT_MAX];
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s POLICY.bin\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "re");
	if (!f || sepol_set_policydb_from_file(f) < 0) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 2;
	}
	fclose(f);

	/* 1. Categories keep VMs apart: a helper reaches only objects of its own pair. */
	for (int h = 0; h < LABEL_HELPER__COUNT; h++) {
		helper_con((enum label_helper)h, &vm1, h1);
		helper_con((enum label_helper)h, &vm2, h2);
		helper_con((enum label_helper)h, &vm3, h3);
		object_con(LABEL_OBJ_SOCKET, &vm1, o1);
		object_con(LABEL_OBJ_SOCKET, &vm2, o2);
		ALLOW(h1, o1, "sock_file", "write getattr", "helper uses its own VM socket");
		/* refpolicy constrains what changes or connects to a socket file, not getattr. */
		DENY(h1, o2, "sock_file", "write unlink rename setattr", "helper must not reach or remove another VM socket");
		ALLOW(h1, obj("carapace_tmpfs_t", "s0:c1,c2", t), "file", "read write map", "helper maps its own VM memory");
		DENY(h1, obj("carapace_tmpfs_t", "s0:c3,c4", t), "file", "read write", "helper must not map another VM memory");
		DENY(h1, h2, "process", "signal sigkill ptrace", "helper must not touch a helper of another VM");
		DENY(h3, h1, "process", "signal", "partly overlapping categories are still another VM");
		ALLOW(h1, runner, "fd", "use", "helper uses descriptors from its runner");
		/* Socketpairs the runner creates under setsockcreatecon(helper context). */
		ALLOW(h1, h1, "unix_stream_socket", "read write getattr shutdown", "helper uses the socket made for it");
		ALLOW(runner, h1, "unix_stream_socket", "create read write connectto", "runner makes and uses helper sockets");
		DENY(h1, h2, "unix_stream_socket", "read write connectto", "helper must not use another VM socket of the same type");
		DENY(h1, runner, "unix_stream_socket", "read write", "a socket left at the runner level is out of reach: sockets must be labelled");
		DENY(h1, runner, "fifo_file", "read write", "pipes carry the runner level: not usable by helpers");
		/* Or the helper listens on a socket file of its VM in /run/carapace. */
		ALLOW(h1, obj("carapace_runtime_t", "s0", t), "dir", "search write add_name remove_name", "helper creates its socket file");
		ALLOW(h1, o1, "sock_file", "create unlink", "helper creates its socket file");
		ALLOW(runner, h1, "unix_stream_socket", "connectto", "runner connects to a helper socket");
	}
	helper_con(LABEL_HELPER_BLK, &vm1, h1);
	helper_con(LABEL_HELPER_BLK, &vm3, h3);
	object_con(LABEL_OBJ_IMAGE, &vm1, o1);
	object_con(LABEL_OBJ_IMAGE, &vm2, o2);
	ALLOW(h1, o1, "file", "open read write getattr lock", "blk reads and writes its own VM image");
	/* getattr is outside refpolicy's MCS file constraint; opening, reading, writing are not. */
	DENY(h1, o2, "file", "open read write append lock", "blk must not read another VM image (c3,c4)");
	DENY(h3, o1, "file", "open read write", "blk c1,c3 must not read an image of c1,c2");
	DENY(h1, obj("carapace_image_t", "s0:c1,c2,c3", t), "file", "read", "image with a superset of categories");
	object_con(LABEL_OBJ_IMAGE_RO, NULL, o1);
	ALLOW(h1, o1, "file", "open read getattr", "blk reads a shared read-only image");
	DENY(h1, o1, "file", "write append setattr unlink", "nobody writes a shared read-only image");
	for (int h = LABEL_HELPER_RNG; h < LABEL_HELPER__COUNT; h++) {
		helper_con((enum label_helper)h, &vm1, h2);
		object_con(LABEL_OBJ_IMAGE, &vm1, o1);
		DENY(h2, o1, "file", "open read write", "only blk opens images");
	}

	/* 2. What no helper may do. */
	for (int h = 0; h < LABEL_HELPER__COUNT; h++) {
		helper_con((enum label_helper)h, &vm1, h1);
		DENY(h1, obj("kvm_device_t", "s0", t), "chr_file", "open read write ioctl getattr", "helpers never open /dev/kvm");
		DENY(h1, obj("tpm_device_t", "s0", t), "chr_file", "open read write", "helpers never open the TPM");
		DENY(h1, obj("carapace_sev_device_t", "s0", t), "chr_file", "open read write ioctl", "helpers never open /dev/sev");
		for (size_t i = 0; i < sizeof(exec_types) / sizeof(exec_types[0]); i++) {
			/* Its own binary is its entrypoint (mapped by the kernel at exec); that and the
			 * shared libraries are the only files a helper may map executable. */
			bool own = !strcmp(exec_types[i], label_helper_exec_type((enum label_helper)h));

			obj(exec_types[i], "s0", t);
			DENY(h1, t, "file", "execute_no_trans", "helpers execute no program");
			if (!own)
				DENY(h1, t, "file", "entrypoint", "helpers enter no other domain");
			if (!own && strcmp(exec_types[i], "lib_t") && strcmp(exec_types[i], "ld_so_t"))
				DENY(h1, t, "file", "execute", "helpers map no file executable but shared libraries");
		}
		DENY(h1, h1, "process", "execmem execstack execheap setexec setcurrent dyntransition", "helpers make no code and change no context");
		DENY(h1, runner, "process", "transition ptrace signal", "helpers do not act on the runner");
		DENY(h1, obj("shadow_t", "s0", t), "file", "open read", "helpers read no secrets");
		DENY(h1, obj("etc_t", "s0", t), "file", "write", "helpers change no configuration");
		DENY(h1, h1, "capability", "sys_admin net_admin dac_override setuid sys_ptrace", "helpers hold no capability");
		for (size_t i = 0; i < sizeof(net_classes) / sizeof(net_classes[0]); i++)
			if (h != LABEL_HELPER_NET || strcmp(net_classes[i][0], "tun_socket"))
				DENY(h1, h1, net_classes[i][0], net_classes[i][1], "helpers other than net reach no network");
		if (h != LABEL_HELPER_NET) {
			DENY(h1, obj("tun_tap_device_t", "s0", t), "chr_file", "open read write ioctl", "only the net helper uses TAP");
			DENY(h1, h1, "tun_socket", "create attach_queue", "only the net helper uses TAP");
		}
	}
	helper_con(LABEL_HELPER_NET, &vm1, h1);
	ALLOW(h1, obj("tun_tap_device_t", "s0", t), "chr_file", "open read write ioctl", "the net helper uses TAP");
	ALLOW(h1, h1, "tun_socket", "create attach_queue", "the net helper uses TAP");
	helper_con(LABEL_HELPER_RNG, &vm1, h1);
	ALLOW(h1, obj("urandom_device_t", "s0", t), "chr_file", "open read", "rng reads /dev/urandom");

	/* 3. The runner can do what it needs ... */
	ALLOW(runner, obj("kvm_device_t", "s0", t), "chr_file", "open read write ioctl", "runner opens /dev/kvm");
	ALLOW(runner, obj("tun_tap_device_t", "s0", t), "chr_file", "open read write ioctl", "runner opens TAPs");
	ALLOW(runner, obj("carapace_sev_device_t", "s0", t), "chr_file", "open read write ioctl", "runner opens /dev/sev");
	ALLOW(runner, obj("tpm_device_t", "s0", t), "chr_file", "open read write", "runner opens the TPM");
	ALLOW(runner, runner, "process", "setexec setfscreate setrlimit fork", "runner jails and labels helpers");
	for (int h = 0; h < LABEL_HELPER__COUNT; h++) {
		helper_con((enum label_helper)h, &vm1, h1);
		obj(label_helper_exec_type((enum label_helper)h), "s0", t);
		ALLOW(runner, t, "file", "execute read open getattr", "runner executes helper binaries");
		DENY(runner, t, "file", "execute_no_trans", "a helper never runs in the runner domain");
		ALLOW(runner, h1, "process", "transition signal sigkill", "runner starts and stops helpers");
		ALLOW(h1, t, "file", "entrypoint", "helper domain entered by its binary");
		ALLOW(h1, runner, "process", "sigchld", "helpers report exit to the runner");
	}
	object_con(LABEL_OBJ_IMAGE, &vm1, o1);
	ALLOW(runner, obj("carapace_image_t", "s0", t), "file", "relabelfrom open read getattr", "runner relabels an image at rest");
	ALLOW(runner, o1, "file", "relabelto relabelfrom open read write", "runner labels a VM image and restores it");
	object_con(LABEL_OBJ_SOCKET, &vm1, o1);
	ALLOW(runner, o1, "sock_file", "create unlink relabelto getattr", "runner creates VM sockets");
	ALLOW(runner, obj("carapace_tmpfs_t", "s0", t), "file", "create read write map", "runner creates guest memory");
	ALLOW(runner, obj("usr_t", "s0", t), "file", "open read", "runner reads firmware from /usr/share");
	ALLOW(runner, obj("carapace_var_lib_t", "s0", t), "dir", "create add_name remove_name write", "runner manages its state");
	ALLOW(runner, obj("carapace_runtime_t", "s0", t), "dir", "add_name write search", "runner creates runtime files");

	/* ... and no more. */
	DENY(runner, obj("shadow_t", "s0", t), "file", "open read", "runner reads no secrets");
	DENY(runner, obj("user_home_t", "s0", t), "file", "open read write", "runner reads no home directory");
	DENY(runner, obj("bin_t", "s0", t), "file", "write execute_no_trans", "runner writes no program and runs none in its domain");
	DENY(runner, obj("shell_exec_t", "s0", t), "file", "execute", "runner runs no shell");
	DENY(runner, obj("etc_t", "s0", t), "file", "write", "runner changes no configuration");
	DENY(runner, runner, "process", "execmem execstack ptrace", "runner makes no code");
	DENY(runner, runner, "capability", "sys_module sys_rawio sys_ptrace sys_boot", "runner loads no module and touches no raw device");
	DENY(runner, runner, "tcp_socket", "create", "runner reaches no network itself");
	DENY(runner, runner, "udp_socket", "create", "runner reaches no network itself");

	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
