/* Boot loaders (pure): place a kernel, its initrd and command line in guest RAM and describe
 * the vCPU state the boot ABI demands. PVH (Xen ELF note), Linux bzImage and ELF vmlinux. */
#ifndef CARAPACE_RUNNER_BOOT_H
#define CARAPACE_RUNNER_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "runner/e820.h"
#include "runner/gmem.h"

enum boot_kind { BOOT_PVH, BOOT_LINUX_BZIMAGE, BOOT_LINUX_ELF };

struct boot_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, s, dpl, present, db, l, g;
};

/* The initial state of the boot vCPU. */
struct boot_regs {
	uint64_t rip, rsp, rsi, rbx, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	struct boot_seg cs, ds, tr;
};

struct boot_input {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline;   /* may be NULL */
	unsigned ncpus;
	bool tdx_stub_test;    /* boot_load_direct: boot through the TDX stub, every vCPU at the reset vector */
	unsigned ndevs;        /* boot_load_direct: virtio-mmio devices the DSDT describes (windows 0..n-1) */
};

struct boot_result {
	enum boot_kind kind;
	struct boot_regs regs;
	uint64_t kernel_start, kernel_end; /* guest-physical extent of the loaded image */
	uint64_t initrd_gpa;
	/* TDX stub test mode: every vCPU starts at the stub's reset vector (regs, with RSI = the
	 * vCPU index), and the VMM maps stub_page at BOOT_STUB_GPA. */
	bool all_vcpus_start;
	uint8_t stub_page[4096];
};

#define BOOT_STUB_GPA 0xfffff000ull

/* GDT selectors carapace installs at GP_GDT for every boot kind. */
#define BOOT_SEL_CODE32 0x08
#define BOOT_SEL_CODE64 0x10
#define BOOT_SEL_DATA 0x18
#define BOOT_SEL_TSS 0x20

const char *boot_kind_name(enum boot_kind k);

/* Detect the image format and load it. Writes only to guest RAM through g; on error nothing
 * that the caller relies on is half-set (the caller discards guest RAM on failure). */
int boot_load(const struct gmem *g, const struct e820_map *map, const struct boot_input *in,
	      struct boot_result *out, struct cp_err *err);

/* The firmware-less direct-boot layout (memenc/direct_boot.h) on a plain VM: the same
 * boot_params, page tables, GDT and ACPI tables a confidential launch measures, loaded into
 * guest RAM, and the 64-bit entry state. A bzImage only. The MP table is not written (ACPI
 * describes the CPUs); devices are announced by the command line, not the DSDT. With
 * in->tdx_stub_test, the layout boots through carapace's TDX stub as a TD would: every vCPU in
 * 32-bit mode at 0xfffffff0 with ESI = its index (out->all_vcpus_start, out->stub_page). */
int boot_load_direct(const struct gmem *g, const struct boot_input *in, struct boot_result *out,
		     struct cp_err *err);

#endif
