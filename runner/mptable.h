/* Intel MultiProcessor Specification 1.4 tables, so guests find every vCPU and the IOAPIC. */
#ifndef CARAPACE_RUNNER_MPTABLE_H
#define CARAPACE_RUNNER_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MPTABLE_MAX_CPUS 254 /* APIC ids 0..253; the IOAPIC takes the next id */

/* Write the floating pointer and configuration table for ncpus into buf (guest memory at
 * guest-physical address gpa, buf_len bytes available). Returns bytes used or -errno. */
int mptable_build(uint8_t *buf, size_t buf_len, uint64_t gpa, unsigned ncpus, struct cp_err *err);

#endif
