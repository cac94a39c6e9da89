/* ACPI tables for firmware-less boots (pure): RSDP, XSDT, FADT (hardware-reduced), MADT and a
 * DSDT with hand-assembled AML for the virtio-mmio devices. Buffer in, tables out; no files,
 * no ioctls. In memenc because the launch plan measures these bytes; the runner loads them. */
#ifndef CARAPACE_MEMENC_ACPI_H
#define CARAPACE_MEMENC_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Upper bound of vCPUs the MADT describes; the same bound the launch plan accepts. */
#define ACPI_MAX_CPUS 4096u
/* virtio-mmio devices the DSDT describes: the runner's RUN_MAX_DEVICES (runner/vdev.c asserts
 * they are equal; memenc may not include runner/). */
#define ACPI_MAX_DEVICES 16u
#define ACPI_MAX_TABLES 5u /* XSDT, FADT, DSDT, MADT + the RSDP */

struct acpi_mmio_dev {
	uint64_t base;  /* below 4 GiB (Memory32Fixed) */
	uint32_t size;
	uint32_t gsi;
};

/* carapace's virtio-mmio windows, the one place of their geometry (the runner's devices, the MP
 * table's pins and `carapace measure` follow it): window i at ACPI_VIRTIO_BASE + i *
 * ACPI_VIRTIO_SIZE, as QEMU microvm, on the i-th GSI of 5, 6, 7, 9-13, 16-23 (ISA IRQs no
 * carapace device uses, then the IOAPIC's pins above the ISA range). */
#define ACPI_VIRTIO_BASE 0xfeb00000ull
#define ACPI_VIRTIO_SIZE 0x200u
/* Window idx (< ACPI_MAX_DEVICES; a larger one yields size 0). */
struct acpi_mmio_dev acpi_virtio_window(unsigned idx);

struct acpi_config {
	unsigned ncpus;           /* one LAPIC (ID < 255) or x2APIC (ID >= 255) entry each; IDs 0..n-1 */
	bool legacy_pic;          /* MADT PCAT_COMPAT: KVM's in-kernel 8259 pair exists (not on TDX) */
	bool mp_wakeup;           /* TDX: MADT multiprocessor wakeup structure (type 0x10) */
	uint64_t mp_mailbox_gpa;  /* its mailbox: 4 KiB aligned, inside the tables' E820 range */
	unsigned ndevs;
	struct acpi_mmio_dev devs[ACPI_MAX_DEVICES];
};

/* One generated table, for `carapace measure --layout-out` (acpi/<SIG>.dat) and the tests. */
struct acpi_table_ref {
	char sig[5];    /* "RSDP", "XSDT", "FACP", "DSDT", "APIC" */
	uint64_t gpa;
	uint32_t off;   /* offset in the caller's buffer */
	uint32_t len;
};

struct acpi_tables {
	uint64_t rsdp_gpa;
	size_t len;     /* bytes used in the buffer */
	unsigned n;
	struct acpi_table_ref t[ACPI_MAX_TABLES];
};

/* Bytes acpi_build needs for this configuration (an upper bound). */
size_t acpi_size(const struct acpi_config *c);

/* Write every table into buf (cap bytes, zeroed first), which the guest will see at gpa (below
 * 4 GiB, 16-byte aligned). The RSDP comes first. Errors name the bad field. */
int acpi_build(const struct acpi_config *c, uint8_t *buf, size_t cap, uint64_t gpa, struct acpi_tables *out,
	       struct cp_err *err);

/* The 8-bit sum of len bytes (0 for a table with a right checksum). */
uint8_t acpi_sum(const uint8_t *p, size_t len);

#endif
