/* Device shell: helper process, vhost-user front-end, ioeventfd/irqfd. What it trusts: nothing
 * the guest writes (ring addresses are checked to lie in guest RAM before they are translated),
 * nothing the helper sends (the front-end library checks every reply). */
#include "runner/vdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "common/log.h"
#include "devices/devkinds.h"
#include "devices/spawn.h"
#include "memenc/acpi.h"
#include "runner/layout.h"
#include "runner/vm.h"

#ifndef CARAPACE_HELPER_BUILD_DIR
#define CARAPACE_HELPER_BUILD_DIR ""
#endif

/* The build tree's devices/ folder, so carapace runs from its build directory. */
static const char helper_build_dir[] = CARAPACE_HELPER_BUILD_DIR;

/* Each device's window and GSI: acpi_virtio_window (memenc/acpi.c), the one place of their
 * geometry, so the DSDT a direct boot gets and the windows the exits serve cannot differ. The MP
 * table describes all 24 IOAPIC pins (runner/mptable.c). Every other list of devices follows
 * RUN_MAX_DEVICES (runner/run_limits.h) or is checked here. */
_Static_assert(GP_VIRTIO_MMIO == ACPI_VIRTIO_BASE && GP_VIRTIO_MMIO_SZ == ACPI_VIRTIO_SIZE,
	       "runner/layout.h and memenc/acpi.h name the same windows");
_Static_assert(GP_VIRTIO_MMIO + RUN_MAX_DEVICES * GP_VIRTIO_MMIO_SZ <= GP_IOAPIC, "the windows end below the IOAPIC");
_Static_assert(ACPI_MAX_DEVICES == RUN_MAX_DEVICES, "the DSDT (memenc/acpi.h) names every device");

const char *vdev_kind_name(enum devkind_id k)
{
	const struct devkind *dk = devkind_get(k);

	return dk ? dk->name : "?";
}

/* The spec's field for an option of devkinds[] (one field per enum devkind_opt). */
static char *spec_value(struct vdev_spec *s, enum devkind_opt o, size_t *cap)
{
	switch (o) {
	case DEVOPT_PATH: *cap = sizeof(s->path); return s->path;
	case DEVOPT_TAP: *cap = sizeof(s->tap); return s->tap;
	case DEVOPT_MAC: *cap = sizeof(s->mac); return s->mac;
	case DEVOPT_CID: *cap = sizeof(s->cid); return s->cid;
	case DEVOPT_UDS: *cap = sizeof(s->uds); return s->uds;
	default: *cap = 0; return NULL;
	}
}

/* The same, read-only (the helper's command line). */
static const char *spec_value_get(const struct vdev_spec *s, enum devkind_opt o)
{
	switch (o) {
	case DEVOPT_PATH: return s->path;
	case DEVOPT_TAP: return s->tap;
	case DEVOPT_MAC: return s->mac;
	case DEVOPT_CID: return s->cid;
	case DEVOPT_UDS: return s->uds;
	default: return NULL;
	}
}

static bool spec_bool(const struct vdev_spec *s, enum devkind_opt o)
{
	return o == DEVOPT_READONLY && s->readonly;
}

static int spec_set(struct vdev_spec *out, const struct devkind *dk, const struct devkind_arg *a, const char *v,
		    struct cp_err *err)
{
	char onoff[4], why[256];
	size_t cap;
	char *field;

	if (a->type == DEVOPT_BOOL) {
		if (devkind_arg_check(a, v, onoff, sizeof(onoff), why, sizeof(why)) < 0)
			return cp_err_set(err, EINVAL, "device: %s", why);
		if (a->opt != DEVOPT_READONLY)
			return cp_err_set(err, EINVAL, "device %s: option '%s' has no field", dk->name, a->key);
		out->readonly = !strcmp(onoff, "on");
		return 0;
	}
	field = spec_value(out, a->opt, &cap);
	if (!field)
		return cp_err_set(err, EINVAL, "device %s: option '%s' has no field", dk->name, a->key);
	/* The one check of the value (devices/devkinds.c), written in its canonical form. */
	if (devkind_arg_check(a, v, field, cap, why, sizeof(why)) < 0) {
		field[0] = '\0';
		return cp_err_set(err, EINVAL, "device %s: %s", dk->name, why);
	}
	return 0;
}

/* "blk, rng, ..." : the kinds carapace run starts, for messages. */
static void kinds_list(char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned k = 0; k < DEVKIND__COUNT && n < len; k++)
		if (devkinds[k].runner_starts)
			n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "", devkinds[k].name);
}

int vdev_spec_parse(const char *s, struct vdev_spec *out, struct cp_err *err)
{
	char buf[1024], *save = NULL, *tok;
	const struct devkind *dk = NULL;
	bool first = true;
	int r;

	memset(out, 0, sizeof(*out));
	out->image_fd = -1;
	if (strlen(s) >= sizeof(buf))
		return cp_err_set(err, EINVAL, "device: specification is too long");
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = false) {
		char *eq = strchr(tok, '=');
		const struct devkind_arg *a;

		if (first) {
			enum devkind_id k;
			if (devkind_by_name(tok, &k) < 0 || !devkinds[k].runner_starts) {
				char kinds[128];
				kinds_list(kinds, sizeof(kinds));
				return cp_err_set(err, EINVAL, "device: unknown kind '%s' (%s)", tok, kinds);
			}
			out->kind = k;
			dk = &devkinds[k];
			continue;
		}
		if (!eq)
			return cp_err_set(err, EINVAL, "device: '%s' is not key=value", tok);
		*eq = '\0';
#ifdef CARAPACE_TEST_HOOKS
		if (!strcmp(tok, "test-hook")) {
			if (strlen(eq + 1) >= sizeof(out->test_hook))
				return cp_err_set(err, EINVAL, "device: test-hook name too long");
			strcpy(out->test_hook, eq + 1);
			continue;
		}
#endif
		a = devkind_arg_find(dk, tok);
		if (!a)
			return cp_err_set(err, EINVAL, "device %s: unknown option '%s'", dk->name, tok);
		if ((r = spec_set(out, dk, a, eq + 1, err)) < 0)
			return r;
	}
	if (first)
		return cp_err_set(err, EINVAL, "device: empty specification");
	for (const struct devkind_arg *a = dk->args; a->key; a++) {
		const char *v = a->type != DEVOPT_BOOL ? spec_value_get(out, a->opt) : NULL;
		if (a->required && v && !v[0])
			return cp_err_set(err, EINVAL, "device %s: %s=%s is required%s", dk->name, a->key,
					  devkind_opt_word(a->opt), a->hint ? a->hint : "");
	}
	return 0;
}

int vdev_spec_resolve(struct vdev_spec *s, struct cp_err *err)
{
	const struct devkind *dk = devkind_get(s->kind);

	if (!dk)
		return cp_err_set(err, EINVAL, "device kind %d is not in the device table", (int)s->kind);
	for (const struct devkind_arg *a = dk->args; a->key; a++) {
		char dir[4096], real[4096], *v, *slash;
		const char *base;
		size_t cap;

		if (a->type != DEVOPT_ABSPATH || !(v = spec_value(s, a->opt, &cap)) || !v[0])
			continue;
		/* The file is (re)created by the helper; its directory must exist and is named once,
		 * here, so the policy and the helper see the same name. */
		slash = strrchr(v, '/');
		base = slash ? slash + 1 : v;
		if (!slash || !*base || !strcmp(base, ".") || !strcmp(base, ".."))
			return cp_err_set(err, EINVAL, "device %s: %s=%s does not name a file", dk->name, a->key, v);
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - v), v);
		if (!realpath(dir[0] ? dir : "/", real))
			return cp_err_set(err, errno, "device %s: %s=%s: directory: %s", dk->name, a->key, v,
					  strerror(errno));
		if (snprintf(dir, sizeof(dir), "%s/%s", strcmp(real, "/") ? real : "", base) >= (int)sizeof(dir) ||
		    strlen(dir) > a->max_len || strlen(dir) >= cap)
			return cp_err_set(err, ENAMETOOLONG, "device %s: %s=%s: %s is longer than %zu bytes", dk->name,
					  a->key, v, dir, a->max_len);
		strcpy(v, dir);
	}
	return 0;
}

int vdev_helper_args(const struct vdev_spec *spec, const char **args, unsigned max, char *image_fd_buf,
		     size_t image_fd_len, struct cp_err *err)
{
	const struct devkind *dk = devkind_get(spec->kind);
	unsigned n = 0;

	if (!dk || !dk->runner_starts)
		return cp_err_set(err, EINVAL, "device kind %d is not one carapace starts", (int)spec->kind);
	for (const struct devkind_arg *a = dk->args; a->key; a++) {
		const char *v;
		if (n + 3 > max)
			return cp_err_set(err, E2BIG, "device %s: too many helper arguments", dk->name);
		if (a->type == DEVOPT_BOOL) {
			if (spec_bool(spec, a->opt))
				args[n++] = a->flag;
			continue;
		}
		v = spec_value_get(spec, a->opt);
		if (a->fd_flag && spec->image_fd >= 0) {
			/* The file the policy judged, opened once: the helper never resolves the name again. */
			snprintf(image_fd_buf, image_fd_len, "%d", spec->image_fd);
			args[n++] = a->fd_flag;
			args[n++] = image_fd_buf;
		} else if (v && v[0]) {
			args[n++] = a->flag;
			args[n++] = v;
		}
	}
	if (spec->test_hook[0]) {
		if (n + 3 > max)
			return cp_err_set(err, E2BIG, "device %s: too many helper arguments", dk->name);
		args[n++] = "--test-hook";
		args[n++] = spec->test_hook;
	}
	args[n] = NULL;
	return (int)n;
}

/* dir + "/" + name into out; false when it does not fit. */
static bool join_path(char *out, size_t len, const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	if (a + 1 + b + 1 > len)
		return false;
	memcpy(out, dir, a);
	out[a] = '/';
	memcpy(out + a + 1, name, b + 1);
	return true;
}

int vdev_helper_path(const char *binary, char *out, size_t len, struct cp_err *err)
{
	const char *env = getenv("CARAPACE_HELPER_DIR");
	char self[4096];
	ssize_t n;
	struct stat st;

	if (env && *env) {
		if (join_path(out, len, env, binary) && stat(out, &st) == 0)
			return 0;
		return cp_err_set(err, ENOENT, "device helper %s not found in $CARAPACE_HELPER_DIR (%s)", binary, env);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (join_path(out, len, self, binary) && stat(out, &st) == 0)
				return 0;
		}
	}
	if (helper_build_dir[0]) {
		if (join_path(out, len, helper_build_dir, binary) && stat(out, &st) == 0)
			return 0;
	}
	return cp_err_set(err, ENOENT, "device helper %s not found next to carapace; set CARAPACE_HELPER_DIR", binary);
}

/* ---- transport ops: called from vCPU threads with the device's register lock held ---- */

/* The helper failed a request (a bad reply, no reply in time, a closed socket): it is not asked
 * anything again, and it costs its device only (--on-device-failure continue) or ends the VM
 * with a message naming it; never a seccomp kill, never a hang. Runs on a vCPU thread. */
int vdev_op_failed(struct vdev *d, const char *what, const struct cp_err *err)
{
	d->dead = true;
	if (err->code == ECANCELED)
		return -EIO; /* the VM is ending already */
	if (d->vm->cfg.device_failure_continue)
		cp_warn("device %s (%s): %s failed: %s; it needs a reset, the VM goes on", d->name,
			vdev_kind_name(d->spec.kind), what, err->msg);
	else
		vm_end(d->vm, CP_EXIT_FAILURE, "device %s: its helper failed %s: %s", d->name, what, err->msg);
	return -EIO;
}

static int op_set_features(void *ctx, uint64_t features)
{
	struct vdev *d = ctx;
	struct cp_err err = { 0 };
	struct vu_msg m;
	/* ACCESS_PLATFORM concerns the guest and this VMM: with no vIOMMU the back-end keeps
	 * seeing guest-physical addresses, so it never gets the bit (no IOTLB to speak of). */
	uint64_t f = features & d->fe.features & ~(1ull << VIRTIO_F_ACCESS_PLATFORM_BIT);

	if (d->dead)
		return -EPIPE;
	if (d->fe.features & (1ull << VU_F_PROTOCOL_FEATURES))
		f |= 1ull << VU_F_PROTOCOL_FEATURES;
	vu_fe_build_u64(&m, VU_REQ_SET_FEATURES, f);
	if (vu_fe_send(&d->fe, &m, &err) < 0)
		return vdev_op_failed(d, "SET_FEATURES", &err);
	d->fe.acked = f;
	return 0;
}

static int op_queue_start(void *ctx, unsigned q, const struct vmmio_queue *vq)
{
	struct vdev *d = ctx;
	struct cp_err err = { 0 };
	const struct gmem ram = vm_ram(d->vm), *g = &ram;
	void *desc = gmem_ptr(g, vq->desc, 16ull * vq->num);
	void *avail = gmem_ptr(g, vq->driver, 6 + 2ull * vq->num);
	void *used = gmem_ptr(g, vq->device, 6 + 8ull * vq->num);

	/* The ring must lie in guest RAM; the back-end re-checks against its own memory table. */
	if (d->dead || !desc || !avail || !used || q >= d->fe.queue_num)
		return -EINVAL;
	if (vu_fe_vring_start(&d->fe, q, vq->num, (uintptr_t)desc, (uintptr_t)avail, (uintptr_t)used, 0, d->kick[q],
			      d->call[q], &err) < 0)
		return vdev_op_failed(d, "starting a ring", &err);
	d->started[q] = true;
	return 0;
}

static void op_reset(void *ctx)
{
	struct vdev *d = ctx;
	struct cp_err err = { 0 };
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++) {
		uint16_t base;
		if (d->started[q] && !d->dead && vu_fe_vring_stop(&d->fe, q, &base, &err) < 0)
			(void)vdev_op_failed(d, "stopping a ring", &err);
		d->started[q] = false;
	}
}

static void op_notify(void *ctx, unsigned q)
{
	struct vdev *d = ctx;
	uint64_t one = 1;
	if (q < VMMIO_MAX_QUEUES && d->kick[q] >= 0 && write(d->kick[q], &one, sizeof(one)) < 0) {
		/* the counter cannot overflow with one increment per exit */
	}
}

static const struct vmmio_ops vdev_mmio_ops = {
	.set_features = op_set_features,
	.queue_start = op_queue_start,
	.reset = op_reset,
	.notify = op_notify,
};

/* ---- set-up ---- */

/* In the forked child, right before exec: the helper lands in carapace_<kind>_t with this VM's
 * categories. */
struct spawn_label {
	struct vdev *d;
	enum label_helper lh;
};

static int label_before_exec(void *ctx)
{
	struct spawn_label *sl = ctx;
	struct cp_err cerr = { 0 };

	if (label_session_exec_helper(&sl->d->vm->label, sl->lh, &sl->d->vm->pair, &cerr) < 0) {
		fprintf(stderr, "carapace: %s: %s\n", sl->d->name, cerr.msg);
		return -1;
	}
	return 0;
}

static int spawn_helper(struct vdev *d, int *sock_out, struct cp_err *err)
{
	const struct devkind *h = devkind_get(d->spec.kind);
	struct spawn_label sl = { d, (enum label_helper)d->spec.kind };
	struct vm *vm = d->vm;
	const char *args[16];
	char path[4096], image_fd[16], swap_arg[16] = "", stats_arg[16];
	struct cp_err rerr = { 0 };
	int r, rr, pass[3], npass = 0, sw[2] = { -1, -1 }, bk[2], stats_fd = -1;

	/* A kind outside the table (or one the runner does not start) is refused before anything
	 * runs; the helper's arguments are the row's (devices/devkinds.c). */
	if ((r = vdev_helper_args(&d->spec, args, ARRAY_SIZE(args) - 4, image_fd, sizeof(image_fd), err)) < 0)
		return r;
	/* blk: the swap channel over which a new backing file arrives (PATCH /drives/{id}). */
	if (d->spec.kind == DEVKIND_BLK) {
		args[r++] = "--swap-fd";
		args[r++] = swap_arg;
		args[r] = NULL;
	}
	/* The counter page the metrics lines read (devices/devstats.h), for a kind that counts. */
	if (devstats_kind(d->spec.kind)) {
		if (devstats_create(&stats_fd, &d->stats, err) < 0)
			return cp_err_prefix(err, "%s: ", d->name);
		snprintf(stats_arg, sizeof(stats_arg), "%d", stats_fd);
		args[r++] = "--stats-fd";
		args[r++] = stats_arg;
		args[r] = NULL;
		pass[npass++] = stats_fd;
	}
	r = vdev_helper_path(h->binary, path, sizeof(path), err);
	if (r < 0)
		goto early;
	/* The image carries this VM's categories; a shared read-only image stays at s0. */
	/* The label monitor does it (it restores it at teardown, when this process has no paths). */
	if (d->spec.kind == DEVKIND_BLK && vm->lmon.sock >= 0 && (r = label_monitor_apply(&vm->lmon, d->index, err)) < 0)
		goto early;
	/* The socketpair is created in the helper's context so the MCS-constrained helper may use it.
	 * The child gets that socket and stdio only: every other fd is close-on-exec there. */
	if ((r = label_session_socket_for_helper(&vm->label, sl.lh, &vm->pair, err)) < 0)
		goto early;
	/* The swap and back-end channels too, in the helper's context like its vhost-user socket. */
	if (d->spec.kind == DEVKIND_BLK && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sw) == 0) {
		snprintf(swap_arg, sizeof(swap_arg), "%d", sw[1]);
		pass[npass++] = sw[1];
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, bk) < 0)
		bk[0] = bk[1] = -1;
	if (d->spec.image_fd >= 0)
		pass[npass++] = d->spec.image_fd;
	if (d->spec.kind == DEVKIND_BLK && sw[0] < 0)
		r = cp_err_set(err, errno, "%s: swap channel: socketpair: %s", d->name, strerror(errno));
	else
		r = carapace_helper_spawn_hook(h, path, args, pass, (unsigned)npass, label_before_exec, &sl, sock_out,
					       &d->pid, err);
	if (sw[1] >= 0)
		close(sw[1]);
	if (stats_fd >= 0)
		close(stats_fd); /* the helper maps its copy; ours stays mapped read-only */
	d->swap_fd = sw[0];
	d->backend_fd = bk[0];
	d->backend_peer = bk[1];
	/* The helper has its own copy now; the VM process keeps no handle on the image. */
	if (d->spec.image_fd >= 0) {
		close(d->spec.image_fd);
		d->spec.image_fd = -1;
	}
	rr = label_session_socket_reset(&vm->label, &rerr);
	if (r < 0)
		return cp_err_prefix(err, "%s: ", d->name);
	if (rr < 0) {
		close(*sock_out);
		*sock_out = -1;
		return cp_err_set(err, rerr.code, "%s", rerr.msg);
	}
	/* A pidfd tells the event loop when the helper's process ends, even if something else
	 * still holds its socket. */
	d->pidfd = (int)syscall(SYS_pidfd_open, d->pid, 0);
	return 0;
early:
	if (stats_fd >= 0)
		close(stats_fd); /* d->stats stays mapped until vdev_destroy */
	return r;
}

static int vdev_setup(struct vm *vm, struct vdev *d, int sock, struct cp_err *err);

int vdev_create(struct vm *vm, struct vdev *d, unsigned index, const struct vdev_spec *spec, struct cp_err *err)
{
	int r, sock = -1;

	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->index = index;
	d->spec = *spec;
	d->fe.sock = -1;
	d->pid = -1;
	d->pidfd = -1;
	d->swap_fd = d->backend_fd = d->backend_peer = -1;
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++)
		d->kick[q] = d->call[q] = -1;
	snprintf(d->name, sizeof(d->name), "%s%u", vdev_kind_name(spec->kind), index);
	if (index >= RUN_MAX_DEVICES)
		return cp_err_set(err, E2BIG, "at most %d devices", RUN_MAX_DEVICES);
	d->base = acpi_virtio_window(index).base;
	d->gsi = acpi_virtio_window(index).gsi;

	if ((r = spawn_helper(d, &sock, err)) < 0)
		return r;
	r = vdev_setup(vm, d, sock, err);
	if (r < 0) {
		/* Say why the helper stopped answering, when it did. */
		vdev_helper_died(d, 1000);
		if (d->death[0] && strcmp(d->death, "closed its vhost-user connection"))
			cp_err_prefix(err, "%s: helper %s; ", d->name, d->death);
	}
	return r;
}

static int vdev_setup(struct vm *vm, struct vdev *d, int sock, struct cp_err *err)
{
	const struct vdev_spec *spec = &d->spec;
	const struct devkind *dk;
	uint8_t config[VMMIO_CONFIG_MAX];
	uint32_t config_len = 0, device_id;
	struct timeval tv = { .tv_sec = 10 };
	int r;

	d->fe.sock = sock;
	/* A helper that stops answering must not hang a vCPU for ever: 10 s per reply, counted from
	 * the request (an interrupting signal does not restart it), and no wait at all once the VM
	 * is ending (stop_vcpus kicks the vCPU out of its receive). */
	d->fe.reply_timeout_ms = 10000;
	d->fe.cancel = &vm->stopping;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((r = vu_fe_negotiate(&d->fe, (1ull << 24) - 1, VU_FE_PROTOCOL_SUPPORTED, err)) < 0)
		return cp_err_prefix(err, "%s (%s): ", d->name, "vhost-user negotiation");
	/* The back-end channel, when the helper offers it (carapace-blk: a swapped backing file's
	 * new capacity); the event loop reads it. */
	if ((d->fe.protocol & (1ull << VU_PF_BACKEND_REQ)) && d->backend_peer >= 0) {
		if ((r = vu_fe_set_backend_req_fd(&d->fe, d->backend_peer, err)) < 0)
			return cp_err_prefix(err, "%s: back-end channel: ", d->name);
		(void)fcntl(d->backend_fd, F_SETFL, O_NONBLOCK);
	} else if (d->backend_fd >= 0) {
		close(d->backend_fd);
		d->backend_fd = -1;
	}
	if (d->backend_peer >= 0)
		close(d->backend_peer);
	d->backend_peer = -1;
	{
		/* A confidential VM's back-end gets the shared memfd and nothing else. */
		struct vm_region regs[VM_MAX_REGIONS];
		unsigned n = vm_backend_regions(vm, regs);
		for (unsigned i = 0; i < n; i++) {
			struct vu_region reg = { .gpa = regs[i].gpa, .size = regs[i].size, .uva = (uintptr_t)regs[i].hva,
						 .mmap_offset = regs[i].fd_offset };
			if ((r = vu_fe_add_memory(&d->fe, &reg, regs[i].fd, err)) < 0)
				return cp_err_prefix(err, "%s: guest memory at 0x%llx: ", d->name,
						     (unsigned long long)regs[i].gpa);
		}
	}
	/* The row's identity and config size; a kind outside the table is never guessed at. */
	dk = devkind_get(spec->kind);
	if (!dk || !dk->runner_starts)
		return cp_err_set(err, EINVAL, "%s: device kind %d is not one carapace starts", d->name, (int)spec->kind);
	device_id = dk->virtio_id;
	config_len = dk->config_size;
	if (config_len > VMMIO_CONFIG_MAX)
		return cp_err_set(err, EINVAL, "%s: config space of %u bytes is too large", d->name, config_len);
	if (dk->queue_size == 0 || dk->queue_size > VU_QUEUE_SIZE_MAX || (dk->queue_size & (dk->queue_size - 1)))
		return cp_err_set(err, EINVAL, "%s: queue size %u is not a power of two up to %u", d->name,
				  dk->queue_size, VU_QUEUE_SIZE_MAX);
	memset(config, 0, sizeof(config));
	if (config_len && (d->fe.protocol & (1ull << VU_PF_CONFIG)) &&
	    (r = vu_fe_get_config(&d->fe, 0, config_len, config, err)) < 0)
		return cp_err_prefix(err, "%s: device configuration: ", d->name);

	for (unsigned q = 0; q < d->fe.queue_num && q < VMMIO_MAX_QUEUES; q++) {
		struct kvm_ioeventfd io = { 0 };
		struct kvm_irqfd irq = { 0 };
		d->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		d->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->kick[q] < 0 || d->call[q] < 0)
			return cp_err_set(err, errno, "%s: eventfd: %s", d->name, strerror(errno));
		/* A write of q to QueueNotify signals the kick eventfd inside KVM: no exit to us. */
		io.addr = d->base + 0x50;
		io.len = 4;
		io.datamatch = q;
		io.fd = d->kick[q];
		io.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
		if ((r = vm->ops->ioctl(vm->ops_ctx, vm_vm_fd(vm), KVM_IOEVENTFD, &io)) < 0)
			return cp_err_set(err, -r, "%s: KVM_IOEVENTFD: %s", d->name, strerror(-r));
		irq.fd = (uint32_t)d->call[q];
		irq.gsi = d->gsi;
		if ((r = vm->ops->ioctl(vm->ops_ctx, vm_vm_fd(vm), KVM_IRQFD, &irq)) < 0)
			return cp_err_set(err, -r, "%s: KVM_IRQFD: %s", d->name, strerror(-r));
	}
	/* A confidential guest can only share bounce buffers: it must be told that the device reaches
	 * memory through the platform (VIRTIO_F_ACCESS_PLATFORM), and Linux refuses devices without it.
	 * Without a vIOMMU the addresses stay GPAs of shared pages, so a back-end that does not offer
	 * the bit works unchanged: op_set_features strips it, as QEMU does. */
	vmmio_init(&d->mmio, device_id,
		   (d->fe.features & ((1ull << 24) - 1)) | (vm->cc ? 1ull << VIRTIO_F_ACCESS_PLATFORM_BIT : 0),
		   d->fe.queue_num, dk->queue_size, config, config_len, &vdev_mmio_ops, d);
	return 0;
}

void vdev_helper_died(struct vdev *d, int wait_ms)
{
	int st = 0;
	pid_t r = -1;

	if (d->dead)
		return;
	d->dead = true;
	/* The socket may hang up a moment before the process is reapable. */
	for (int waited = 0; d->pid > 0; waited += 10) {
		r = waitpid(d->pid, &st, WNOHANG);
		if (r != 0 || waited >= wait_ms)
			break;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (r == d->pid && WIFSIGNALED(st))
		snprintf(d->death, sizeof(d->death), "killed by signal %d (%s)%s", WTERMSIG(st), strsignal(WTERMSIG(st)),
			 WTERMSIG(st) == SIGSYS ? ": a system call outside its seccomp allowlist" : "");
	else if (r == d->pid && WIFEXITED(st))
		snprintf(d->death, sizeof(d->death), "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(d->death, sizeof(d->death), "closed its vhost-user connection");
	if (r == d->pid)
		d->pid = -1;
	vmmio_mark_broken(&d->mmio);
}

void vdev_destroy(struct vdev *d)
{
	if (d->pid > 0) {
		/* Through the reaper, so it removes the helper's cgroup leaf; SIGKILL after 2 s. */
		(void)carapace_helper_stop(d->pid, 2000);
		d->pid = -1;
	}
	vu_fe_close(&d->fe);
	if (d->pidfd >= 0)
		close(d->pidfd);
	d->pidfd = -1;
	{
		int *fds[] = { &d->swap_fd, &d->backend_fd, &d->backend_peer };
		for (unsigned i = 0; i < ARRAY_SIZE(fds); i++) {
			if (*fds[i] >= 0)
				close(*fds[i]);
			*fds[i] = -1;
		}
	}
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++) {
		if (d->kick[q] >= 0)
			close(d->kick[q]);
		if (d->call[q] >= 0)
			close(d->call[q]);
		d->kick[q] = d->call[q] = -1;
	}
	vmmio_destroy(&d->mmio);
	devstats_unmap(d->stats);
	d->stats = NULL;
}
