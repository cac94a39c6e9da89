/* The Firecracker-compatible management API's request core: method + path + body in, a reply
 * (status, JSON body) and at most one action for the OS shell out. Pure: no files, no sockets,
 * no logging. Endpoints, fields, codes and pre-/post-boot rules follow Firecracker's API document
 * (firecracker-microvm/firecracker src/firecracker/swagger/firecracker.yaml, v1.x). */
#ifndef CARAPACE_RUNNER_API_CORE_H
#define CARAPACE_RUNNER_API_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "runner/run_limits.h"
#include "runner/api/api_ctl.h"

/* Firecracker's default --http-api-max-payload-size. */
#define API_BODY_MAX 51200u
#define API_ID_MAX 64u
#define API_PATH_MAX 4096u
/* Every virtio device of a VM (drives, interfaces, entropy, vsock): carapace run's limit. Any
 * mix is allowed within it, as in Firecracker (Kata: a root drive and 8 placeholders). */
#define API_DEVICES_MAX ((unsigned)RUN_MAX_DEVICES)
#define API_MAX_DRIVES API_DEVICES_MAX
#define API_MAX_NETS API_DEVICES_MAX
/* Firecracker's MachineConfiguration range. */
#define API_VCPUS_MAX 32u

enum api_vm_state {
	API_NOT_STARTED, /* configuring */
	API_RUNNING,
	API_PAUSED,
	API_FAILED,      /* InstanceStart failed: only GETs are answered */
};

enum api_log_level { API_LOG_OFF, API_LOG_ERROR, API_LOG_WARNING, API_LOG_INFO, API_LOG_DEBUG, API_LOG_TRACE };

struct api_drive {
	char id[API_ID_MAX + 1];
	char *path;
	char *partuuid;
	bool root, read_only, writeback;
};

struct api_net {
	char id[API_ID_MAX + 1];
	char tap[16];
	char mac[18]; /* "" : none given */
};

/* Everything PUT before InstanceStart; copied whole per request so a refused one changes nothing. */
struct api_config {
	unsigned vcpus;
	uint64_t mem_mib;
	char *kernel, *initrd, *boot_args;
	struct api_drive drives[API_MAX_DRIVES];
	unsigned ndrives;
	struct api_net nets[API_MAX_NETS];
	unsigned nnets;
	bool entropy;
	uint32_t vsock_cid;     /* PUT /vsock: guest_cid (0: no vsock device) */
	char *vsock_uds;        /* PUT /vsock: uds_path */
	bool logger;
	char *log_path;
	enum api_log_level level;
	bool show_level, show_origin;
	char *metrics_path;
	/* carapace extensions (PUT /carapace/confidential, PUT /carapace/launch-policy) */
	char *confidential, *platform, *firmware, *id_block, *id_auth;
	char *policy;
	/* PUT /carapace/attestation-setup: record the launch in the TPM (carapace run --attest) */
	bool attest;
	char *tcti, *state_dir;
	unsigned pcr;           /* 0: carapace run's default */
};

/* Counters with Firecracker's metric names (src/vmm/src/logger/metrics.rs, PutRequestsMetrics et al.). */
enum api_counter {
	API_M_GET_INSTANCE_INFO, API_M_GET_MACHINE_CFG, API_M_GET_VM_CFG,
	API_M_PUT_ACTIONS, API_M_PUT_ACTIONS_FAILS, API_M_PUT_BOOT_SOURCE, API_M_PUT_BOOT_SOURCE_FAILS,
	API_M_PUT_DRIVE, API_M_PUT_DRIVE_FAILS, API_M_PUT_LOGGER, API_M_PUT_LOGGER_FAILS,
	API_M_PUT_MACHINE_CFG, API_M_PUT_MACHINE_CFG_FAILS, API_M_PUT_METRICS, API_M_PUT_METRICS_FAILS,
	API_M_PUT_NETWORK, API_M_PUT_NETWORK_FAILS, API_M_PUT_VSOCK, API_M_PUT_VSOCK_FAILS,
	API_M_PUT_ENTROPY, API_M_PUT_ENTROPY_FAILS,
	API_M_PATCH_DRIVE, API_M_PATCH_DRIVE_FAILS, API_M_PATCH_VM, API_M_PATCH_VM_FAILS,
	API_M_COUNT
};

struct api_state {
	enum api_vm_state st;
	struct api_config cfg;
	char id[API_ID_MAX + 1];
	const char *version;
	uint64_t counters[API_M_COUNT];
	bool policy_locked;     /* the launch policy came from the command line: the API cannot change it */
};

/* What the OS shell must do before a request can be answered 204. */
enum api_action {
	API_ACT_NONE,
	API_ACT_START,          /* launch the VM from txn.cfg */
	API_ACT_PAUSE,
	API_ACT_RESUME,
	API_ACT_CTRL_ALT_DEL,
	API_ACT_FLUSH_METRICS,
	API_ACT_OPEN_LOGGER,    /* open txn.cfg.log_path (file or FIFO) */
	API_ACT_OPEN_METRICS,   /* open txn.cfg.metrics_path */
	API_ACT_ATTEST,         /* evidence for txn.nonce (carapace attest); the shell sets the 200 body */
	API_ACT_SWAP_DRIVE,     /* open txn.cfg.drives[txn.drive].path, judge it, hand it to the running drive */
};

/* One request in flight: the configuration it would leave behind and what the shell must do. */
struct api_txn {
	enum api_action action;
	struct api_config cfg;  /* a full copy: committed only on success */
	enum api_counter fail_counter; /* API_M_COUNT: none */
	int status;             /* 200 / 204 / 400 */
	char nonce[129];        /* API_ACT_ATTEST: hex, 2..128 digits */
	unsigned drive;         /* API_ACT_SWAP_DRIVE: the drive's slot in cfg.drives */
	char *body;             /* JSON reply (malloc'd), NULL for 204 */
};

void api_state_init(struct api_state *s, const char *id, const char *version);
void api_state_free(struct api_state *s);
void api_config_free(struct api_config *c);
/* How many virtio devices a configuration has (at most API_DEVICES_MAX). */
unsigned api_device_count(const struct api_config *c);
int api_config_copy(struct api_config *dst, const struct api_config *src);

/* Judge one request. On a refusal txn->status is 400 with {"fault_message": ...} naming the
 * field and the reason, and nothing changes. Otherwise txn->action says what the shell must do;
 * then it calls api_txn_finish() with the outcome (NULL: success). */
void api_request(struct api_state *s, const char *method, const char *path, const char *body, size_t len,
		 struct api_txn *txn);
void api_txn_finish(struct api_state *s, struct api_txn *txn, const char *failure);
void api_txn_free(struct api_txn *txn);

/* The index among the VM's devices (carapace run's --device order) of drive slot `slot`: the
 * root device first, then the others as they were added (api_config_to_options' order). */
unsigned api_drive_device_index(const struct api_config *c, unsigned slot);

/* The one conversion of the API's configuration into `carapace run` options: Firecracker's
 * settings and every carapace extension (confidential launch, launch policy, attestation setup:
 * --attest, --tcti, --state-dir, --pcr with --allow-resettable-pcr), as alternating name/value
 * strings (value NULL for a flag), NULL-terminated, malloc'd. Each is a row of runner/config.c's
 * option table, applied with run_opts_set and judged by run_opts_validate, the command line's
 * own checks, so a bad value is refused as a 400 before anything starts; the VM process gets
 * exactly these as its command line. */
int api_config_to_options(const struct api_config *c, char ***out, struct cp_err *err);

/* The VM's virtio devices as api_config_to_options gives them to the VM process, in its order
 * (the device index the VM process counts them by): the drives (the root device first), the
 * interfaces, entropy, vsock. slot: the drive's or interface's index in c->drives / c->nets. */
struct api_device {
	enum devkind_id kind;
	unsigned slot;
};
unsigned api_config_devices(const struct api_config *c, struct api_device out[API_DEVICES_MAX]);
void api_options_free(char **opts);

/* Firecracker's --config-file document: each section as its PUT. Nothing applied on an error. */
int api_config_file(struct api_state *s, const char *json, size_t len, struct cp_err *err);

/* What the last metrics line written said: Firecracker writes each counter as its change since
 * the line before (SharedIncMetric: the total now minus the total at the last line), so the
 * writer keeps the totals that line covered. All zero before the first line. */
struct api_metrics_mark {
	uint64_t counters[API_M_COUNT];
	uint64_t vcpu[API_VCPU_COUNTERS];
	uint64_t dev[API_DEVICES_MAX][DEVSTATS_MAX]; /* by the VM's device index */
};

/* Firecracker's `api_server` group, values that stay (SharedStoreMetric): microseconds of wall
 * clock and of CPU time from carapace's start until its API socket listened. */
struct api_startup_times {
	uint64_t wall_us, cpu_us;
};

/* A metrics line as Firecracker flushes it (one JSON object, no newline), malloc'd:
 * `utc_timestamp_ms`; `api_server` from startup; the API's request counters; and from vm (the
 * VM process's record of totals since its start; NULL: these groups are left out, their
 * counters are not known) Firecracker's `vcpu` group and its device groups: `block`, `net`,
 * `entropy` and `vsock`, each the sum over the VM's devices of that kind (zeros for none), and
 * `block_<drive_id>` / `net_<iface_id>` per drive and interface (the ids of s->cfg, whose
 * devices vm counts in api_config_devices' order); the `seccomp` group, whose `num_faults` is
 * always 0 (a call outside carapace's lists kills the process at once, so none is ever counted;
 * Firecracker's trap handler counts one before it exits). Every counter is written as its change
 * since prev (the last line written); *next receives the totals this line covers, for the caller
 * to keep as the new mark once the line is written whole (a line lost to a full FIFO loses no
 * count: the next one carries it). Groups left out keep prev's totals in *next. */
char *api_metrics_line(const struct api_state *s, const struct api_vm_metrics *vm, const struct api_startup_times *startup,
		       const struct api_metrics_mark *prev, struct api_metrics_mark *next, uint64_t utc_ms);

/* Parse a Firecracker log level name (case-insensitive). */
int api_log_level_parse(const char *s, enum api_log_level *out);
const char *api_log_level_name(enum api_log_level l);
const char *api_state_name(enum api_vm_state st);

#endif
