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
#include "devices/helpers.h"
#include "devices/vhost/frontend.h"
#include "policy/label.h"
#include "policy/policy.h"
#include "runner/layout.h"
#include "runner/virtio_mmio.h"

#define VDEV_MAX GP_VIRTIO_MMIO_COUNT

enum vdev_kind { VDEV_BLK, VDEV_RNG, VDEV_CONSOLE, VDEV_NET, VDEV_VSOCK, VDEV__COUNT };

/* Everything that differs between device kinds, in one row per kind (runner/vdev.c): the
 * helper it starts, its SELinux domain, its launch-policy class, and what the guest sees. */
struct vdev_kind_desc {
	const char *name;             /* "blk": --device's first word, and the device names blk0.. */
	enum carapace_helper_id helper;
	enum label_helper label;
	enum policy_dev_kind policy;
	unsigned virtio_id;
	uint32_t config_len;          /* bytes of device configuration read from the helper */
	uint32_t queues;              /* virtqueues the device has (what the policy judges) */
};
/* NULL for a kind outside the table: callers fail closed. */
const struct vdev_kind_desc *vdev_kind_desc(enum vdev_kind k);

/* sockaddr_un.sun_path: the longest uds_path a vsock device can listen on. */
#define VDEV_UDS_MAX 108

/* --device blk,path=FILE[,readonly=on] | rng | console,path=FILE | net,tap=NAME[,mac=MAC]
 * | vsock,cid=N,uds=PATH (pure parser) */
struct vdev_spec {
	enum vdev_kind kind;
	char path[512];
	bool readonly;
	char tap[16];            /* net: a TAP interface the user may attach to (IFNAMSIZ) */
	char mac[18];            /* net: optional xx:xx:xx:xx:xx:xx */
	uint32_t cid;            /* vsock: the guest's CID, 3..0xfffffffe */
	char uds[VDEV_UDS_MAX];  /* vsock: hybrid-vsock socket path (the helper listens there) */
	/* vsock: uds with its directory resolved (what the policy judges and the helper gets) */
	char uds_real[VDEV_UDS_MAX];
	char test_hook[32];      /* test builds only: passed to the helper as --test-hook */
	/* blk: the image, opened once by the runner (-1 until then). The policy judges image_real,
	 * the name of what was opened; the helper is given this fd, never the path (issue 18
	 * item 10). */
	int image_fd;
	char image_real[4096];
};
int vdev_spec_parse(const char *s, struct vdev_spec *out, struct cp_err *err);
const char *vdev_kind_name(enum vdev_kind k);
/* vsock: resolve uds's directory (it must exist; the socket itself need not) into uds_real,
 * the canonical name the policy judges and the helper is given. */
int vdev_spec_resolve_uds(struct vdev_spec *s, struct cp_err *err);

struct vm;

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
	atomic_bool dead;         /* set by a vCPU (a failed request) or the event loop (helper gone) */
	char death[160];         /* why the helper stopped */
};

/* Start the helper and wire the device into the VM (before any vCPU runs). */
int vdev_create(struct vm *vm, struct vdev *d, unsigned index, const struct vdev_spec *spec, struct cp_err *err);
/* The helper ended or hung up: collect its status (waiting up to wait_ms) and mark the device
 * broken; d->death says why. */
void vdev_helper_died(struct vdev *d, int wait_ms);
void vdev_destroy(struct vdev *d);

/* Where helper executables are: $CARAPACE_HELPER_DIR, next to /proc/self/exe, or the build tree. */
int vdev_helper_path(const char *binary, char *out, size_t len, struct cp_err *err);

#endif
