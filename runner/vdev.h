/* virtio devices of a VM: each is a jailed vhost-user back-end process (devices/) behind a
 * virtio-mmio window. The runner spawns the helper, speaks the front-end side of vhost-user,
 * and wires KVM_IOEVENTFD (guest kick → back-end) and KVM_IRQFD (back-end → guest interrupt)
 * so the data path never passes through the runner. */
#ifndef CARAPACE_RUNNER_VDEV_H
#define CARAPACE_RUNNER_VDEV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "runner/run_limits.h"
#include "devices/devkinds.h"
#include "devices/devstats.h"
#include "devices/vhost/frontend.h"
#include "runner/virtio_mmio.h"

/* --device blk,path=FILE[,readonly=on] | rng | console,path=FILE | net,tap=NAME[,mac=MAC]
 * | vsock,cid=N,uds=PATH (pure parser; the kinds, their options and the helper flags they become
 * are rows of devkinds[]) */
struct vdev_spec {
	enum devkind_id kind;
	char path[512];
	bool readonly;
	char tap[16];            /* net: a TAP interface the user may attach to (IFNAMSIZ) */
	char mac[18];            /* net: optional xx:xx:xx:xx:xx:xx */
	char cid[11];            /* vsock: the guest's CID, 3..4294967294, in plain decimal */
	/* vsock: the hybrid-vsock socket (the helper listens there); after vdev_spec_resolve, with
	 * its directory named canonically: what the policy judges and the helper gets */
	char uds[108];           /* sockaddr_un.sun_path */
	char test_hook[32];      /* test builds only: passed to the helper as --test-hook */
	/* blk: the image, opened once by the runner (-1 until then). The policy judges image_real,
	 * the name of what was opened; the helper is given this fd, never the path (issue 18
	 * item 10). */
	int image_fd;
	char image_real[4096];
};
int vdev_spec_parse(const char *s, struct vdev_spec *out, struct cp_err *err);
/* The kind's name ("blk"), "?" for a kind outside devkinds[]. */
const char *vdev_kind_name(enum devkind_id k);
/* The helper's command line for a parsed spec, from the kind's row (args[] gets at most max-1
 * strings and a NULL; image_fd_buf holds the --image-fd number). -EINVAL for a kind outside
 * the table or one the runner does not start. */
int vdev_helper_args(const struct vdev_spec *spec, const char **args, unsigned max, char *image_fd_buf,
		     size_t image_fd_len, struct cp_err *err);
/* The runner's side of a parsed spec, before the policy judges it: every DEVOPT_ABSPATH option
 * (vsock's uds) gets its directory resolved (it must exist; the file itself need not) and is
 * rewritten as that canonical name. Touches the file system; vdev_spec_parse does not. */
int vdev_spec_resolve(struct vdev_spec *s, struct cp_err *err);

struct vm;

/* What told the event loop a helper was gone: its pidfd (it ended), its socket's hang-up with no
 * pidfd to wait for, or the grace timer (hung up and still alive after 200 ms). */
enum vdev_death_source { VDEV_DEATH_NONE, VDEV_DEATH_PIDFD, VDEV_DEATH_SOCKET, VDEV_DEATH_GRACE };

struct vdev {
	struct vm *vm;
	unsigned index;
	struct vdev_spec spec;
	char name[32];           /* "blk0" */
	uint64_t base;           /* guest-physical window */
	unsigned gsi;
	pid_t pid;
	int pidfd;               /* readable when the helper process ends */
	struct vu_fe fe;
	struct vmmio_dev mmio;
	int kick[VMMIO_MAX_QUEUES], call[VMMIO_MAX_QUEUES];
	bool started[VMMIO_MAX_QUEUES];
	int swap_fd;             /* blk: our end of the swap channel (block hot-plug), -1 otherwise */
	int backend_fd;          /* our end of the back-end channel (BACKEND_REQ negotiated), -1 otherwise */
	int backend_peer;        /* its other end until SET_BACKEND_REQ_FD hands it over */
	uint64_t swap_serial;    /* backing-file swaps asked for */
	unsigned config_changes; /* configuration re-read from the helper after a change */
	unsigned backend_reqs;   /* back-end requests accepted (BACKEND_CONFIG_CHANGE_MSG) */
	/* The helper's counter page (devices/devstats.h), read-only; NULL for a kind without
	 * counters. stats_seen: the largest value of each counter read so far (main thread). */
	const uint64_t *stats;
	uint64_t stats_seen[DEVSTATS_MAX];
	enum vdev_death_source death_by; /* which event told the event loop */
	atomic_bool dead;         /* set by a vCPU (a failed request) or the event loop (helper gone) */
	char death[160];         /* why the helper stopped */
};

/* Start the helper and wire the device into the VM (before any vCPU runs). */
int vdev_create(struct vm *vm, struct vdev *d, unsigned index, const struct vdev_spec *spec, struct cp_err *err);
/* The helper ended or hung up: collect its status (waiting up to wait_ms; the event loop passes 0,
 * having waited for the pidfd) and mark the device broken; d->death says why. */
void vdev_helper_died(struct vdev *d, int wait_ms);
void vdev_destroy(struct vdev *d);
/* The helper failed a request: mark the device dead, and end the VM or (--on-device-failure
 * continue) let it go on. Returns -EIO. */
int vdev_op_failed(struct vdev *d, const char *what, const struct cp_err *err);

/* ---- block hot-plug (runner/vdev_hotplug.c), on the event loop's thread ---- */
/* The back-end channel is readable: one request (only BACKEND_CONFIG_CHANGE_MSG is accepted);
 * re-read the configuration and raise the configuration-change interrupt. 0, or -1 when the
 * channel is done (closed, or the helper broke the protocol: then the device failed). */
int vdev_backend_ready(struct vdev *d);
/* Re-read the device's configuration from its helper (GET_CONFIG under the register lock),
 * bump ConfigGeneration, set InterruptStatus bit 1 and signal the device's interrupt. */
int vdev_config_refresh(struct vdev *d, struct cp_err *err);
/* Hand the blk helper a new backing file (fd, already opened and judged by the controller) and
 * wait for its answer (10 s at most). 0: it serves the new file and the guest was told; -1 with
 * why: refused (the old file stays) or the helper failed (then the device failed as above). */
int vdev_swap_image(struct vdev *d, int fd, char *why, size_t why_len);
/* One swap request from the API's controller on the control socket: "D" + the device index, with
 * exactly one fd. Writes the answer ("k", or "f" + the reason) into reply; returns its length. */
size_t vdev_hotplug_control(struct vdev *devs, unsigned ndevs, const uint8_t *msg, size_t len, const int *fds,
			    unsigned nfds, bool truncated, char *reply, size_t reply_len);

/* Where helper executables are: $CARAPACE_HELPER_DIR, next to /proc/self/exe, or the build tree. */
int vdev_helper_path(const char *binary, char *out, size_t len, struct cp_err *err);

#endif
