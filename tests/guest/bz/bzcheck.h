/* The bzImage test guest's checker, shared by the guest (64-bit, identity-mapped, base 0) and a
 * host unit test (base = a buffer holding a copy of guest memory): reads boot_params, the e820
 * table, the setup_data chain, the RSDP -> XSDT -> FADT/MADT, and reports what it found.
 * Freestanding: no libc, no SSE; output through a caller-given print function. */
#ifndef CARAPACE_TESTS_GUEST_BZCHECK_H
#define CARAPACE_TESTS_GUEST_BZCHECK_H

#include <stdint.h>

struct bz_mem {
	uintptr_t base;     /* host address of guest-physical 0 */
	uint64_t limit;     /* bytes readable from base (the checker never reads past it) */
	void (*print)(const char *s);
};

struct bz_report {
	unsigned e820_entries, setup_data_nodes, cpus, ioapics, x2apic_cpus, mp_wakeup;
	uint64_t ram_bytes, cc_blob, mailbox, rsdp;
	int cc_blob_ok, hw_reduced, virtio_devices;
};

/* 0 when every structure is well-formed; otherwise a negative number naming the first failed
 * check (also printed). */
int bz_check(const struct bz_mem *m, uint64_t boot_params, struct bz_report *r);

#endif
