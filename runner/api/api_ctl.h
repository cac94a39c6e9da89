/* The VM process's metrics record on the management API's control socket: its wire format, the
 * VM process's encoder and the controller's one validating reader. Pure: buffers in, results out. */
#ifndef CARAPACE_RUNNER_API_API_CTL_H
#define CARAPACE_RUNNER_API_API_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/devkinds.h"
#include "devices/devstats.h"
#include "runner/run_limits.h"

/* The controller's request: this one byte (runner/api/api_main.h lists the others). */
#define API_CTL_METRICS 'M'

/* The answer, a record, little-endian:
 *   0  u8   'M'
 *   1  u8   version (API_VM_METRICS_VERSION)
 *   2  u8   flags: API_VM_METRICS_FINAL or 0
 *   3  u8   devices counted (the VM's virtio devices, 0 .. RUN_MAX_DEVICES)
 *   4  u32  vCPUs counted (1 .. the VM's configured count)
 *   8  u64  exit_io_in, exit_io_out, exit_mmio_read, exit_mmio_write, failures
 *  48  one entry of API_VM_DEV_SIZE bytes per device, in the VM's device order:
 *        u8 device kind (enum devkind_id), u8 counters used (its kind's devstats count; 0 for
 *        a kind without counters), 6 bytes 0, u64 counters[DEVSTATS_MAX] (unused ones 0)
 * Each counter is the total since the VM started: the vCPU counters summed over its vCPUs, a
 * device's the largest value its helper ever wrote on its page (devices/devstats.h). */
#define API_VM_METRICS_VERSION 2
#define API_VM_METRICS_HEAD 48
#define API_VM_DEV_SIZE (8 + 8 * DEVSTATS_MAX)
#define API_VM_METRICS_MAX (API_VM_METRICS_HEAD + RUN_MAX_DEVICES * API_VM_DEV_SIZE)
/* The VM process's last record, sent unasked as its VM ends: the controller's final line. */
#define API_VM_METRICS_FINAL 0x01

/* Firecracker's `vcpu` group (src/vmm/src/logger/metrics.rs, VcpuMetrics) as carapace counts it. */
enum api_vcpu_counter {
	API_VCPU_EXIT_IO_IN,
	API_VCPU_EXIT_IO_OUT,
	API_VCPU_EXIT_MMIO_READ,
	API_VCPU_EXIT_MMIO_WRITE,
	API_VCPU_FAILURES,
	API_VCPU_COUNTERS
};

struct api_vm_dev_metrics {
	enum devkind_id kind;
	uint64_t c[DEVSTATS_MAX];
};

struct api_vm_metrics {
	unsigned nvcpus;
	bool final;
	uint64_t c[API_VCPU_COUNTERS];
	unsigned ndevs;
	struct api_vm_dev_metrics dev[RUN_MAX_DEVICES];
};

/* Firecracker's name of a counter ("exit_io_in", ...). */
const char *api_vcpu_counter_name(enum api_vcpu_counter c);

/* The VM process's side: the record for m (ndevs at most RUN_MAX_DEVICES, each kind's unused
 * counters 0) into out; returns its length. */
size_t api_vm_metrics_encode(const struct api_vm_metrics *m, uint8_t out[API_VM_METRICS_MAX]);

/* The controller's side. buf/len is one message as received (len its real length, also when it
 * was longer than the buffer). kinds[0..nkinds) are the VM's devices as the controller started
 * them. Accepted only if it is exactly API_VM_METRICS_HEAD + nkinds * API_VM_DEV_SIZE bytes, of
 * this version, with no unknown flag, 1..max_vcpus vCPUs, the devices' kinds in that order, each
 * with its kind's counter count, zero reserved bytes and unused counters, every counter at most
 * INT64_MAX (a JSON integer) and, after an earlier record prev (NULL: none), the same vCPU
 * count, no counter below prev's (the totals never go back) and prev not the last one (FINAL).
 * On success *out is the record; on a refusal *out is untouched and err names the field and the
 * reason. */
int api_vm_metrics_read(const uint8_t *buf, size_t len, unsigned max_vcpus, const enum devkind_id *kinds,
			unsigned nkinds, const struct api_vm_metrics *prev, struct api_vm_metrics *out,
			struct cp_err *err);

#endif
