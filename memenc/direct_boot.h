/* The firmware-less direct-boot layout of a confidential (or, for tests, plain) VM: everything
 * a Linux bzImage finds in guest memory at its 64-bit entry — boot_params with e820, command
 * line, initrd, the SNP CC blob (setup_data), CPUID and secrets pages, GDT, identity page
 * tables (C-bit on SNP), ACPI tables — as an ordered list of regions that the launch plan turns
 * into measured pages. Pure: buffers in, layout out. Addresses: docs/memenc.md. */
#ifndef CARAPACE_MEMENC_DIRECT_BOOT_H
#define CARAPACE_MEMENC_DIRECT_BOOT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "memenc/acpi.h"

/* Fixed guest-physical addresses of the layout (all below 1 MiB except kernel and initrd). */
#define DB_GDT        0x00001000ull /* GDT: 0x10 __BOOT_CS (64-bit), 0x18 __BOOT_DS */
#define DB_SECRETS    0x00003000ull /* SNP secrets page (SECRETS) */
#define DB_CPUID      0x00004000ull /* SNP CPUID page (CPUID) */
#define DB_MAILBOX    0x00005000ull /* TDX: ACPI MP wakeup mailbox */
#define DB_SETUP_DATA 0x00006000ull /* setup_data SETUP_CC_BLOB + cc_blob_sev_info */
#define DB_ZERO_PAGE  0x00007000ull /* boot_params */
#define DB_AP_PARK    0x00008000ull /* SNP: where the launch VMSAs of the APs wait (hlt loop) */
#define DB_PML4       0x00009000ull /* + PDPT at 0xa000, 4 PDs at 0xb000..0xe000: 4 GiB identity */
#define DB_PDPT_HI    0x0000f000ull /* SNP stub: the PDPT of [512 GiB, 1 TiB) (1 GiB pages) */
#define DB_SNP_STUB   0x00010000ull /* SNP page-validation stub (--snp-validate stub) */
#define DB_CMDLINE    0x00020000ull
#define DB_CMDLINE_MAX 0x00010000ull
#define DB_BOOT_END   0x00030000ull /* [DB_GDT, DB_BOOT_END) is E820 reserved */
#define DB_LOW_RAM_END 0x000a0000ull
#define DB_ACPI       0x000e0000ull /* ACPI tables (E820 ACPI), up to 1 MiB */
#define DB_ACPI_MAX   0x00020000ull
#define DB_HIGH       0x00100000ull
#define DB_MMIO_HOLE  0xc0000000ull
#define DB_4G         0x100000000ull
#define DB_STUB       0xfffff000ull /* TDX boot stub page (reset vector at 0xfffffff0) */
#define DB_STUB_PARAMS 0xe00u       /* its parameter block: see stub/tdx_stub.S (and snp_stub.S) */
#define DB_STUB_RANGES 16u
#define DB_MEM_MIN    (64ull << 20)
#define DB_MEM_MAX    (1ull << 40)

#define DB_E820_MAX 8

enum db_platform {
	DB_PLAIN = 0, /* plain KVM test mode: same layout, no C-bit, no CC blob */
	DB_SNP = 1,
	DB_TDX = 2,
};

/* How an SEV-SNP launch validates the RAM not otherwise in it (--snp-validate). */
enum db_snp_validate {
	DB_VALIDATE_ZERO = 0, /* every such page a ZERO page of the launch (measured; the PSP validates) */
	DB_VALIDATE_STUB = 1, /* not in the launch: the measured stub (stub/snp_stub.S) that the BSP
			       * enters first asks the host to make each page private (GHCB MSR PSC)
			       * and PVALIDATEs it, then enters the kernel */
};

/* What `carapace run` and `carapace measure` use for an SNP firmware-less boot without
 * --snp-validate (the figures behind the choice: docs/CONFIDENTIAL.md, "Page validation"). A
 * zero-initialized struct db_input still means DB_VALIDATE_ZERO: callers pick explicitly. */
#define DB_VALIDATE_DEFAULT DB_VALIDATE_STUB

/* How a region enters the launch. */
enum db_kind {
	DB_DATA = 0,    /* contents given, measured (SNP NORMAL, TDX PAGE.ADD + MR.EXTEND) */
	DB_ZERO = 1,    /* RAM validated as zeros (SNP ZERO); TDX, and SNP with DB_VALIDATE_STUB: validated
			 * (accepted) by the guest's stub, not in the plan */
	DB_SECRETS_PAGE = 2,
	DB_CPUID_PAGE = 3,
};

struct db_region {
	enum db_kind kind;
	uint64_t gpa, len;       /* page aligned */
	const uint8_t *data;     /* DB_DATA: len bytes owned by the layout */
	char what[24];
};

struct db_e820 {
	uint64_t addr, size;
	uint32_t type; /* 1 RAM, 2 reserved, 3 ACPI */
};

struct db_input {
	enum db_platform platform;
	const uint8_t *kernel;   /* bzImage */
	size_t kernel_len;
	const uint8_t *initrd;   /* may be NULL */
	size_t initrd_len;
	const char *cmdline;     /* may be NULL */
	unsigned vcpus;
	uint64_t mem_size;       /* bytes of RAM */
	unsigned cbit;           /* SNP: C-bit position (CPUID 0x8000001f EBX[5:0]); 0 = 51 */
	enum db_snp_validate snp_validate; /* SNP only */
	bool tdx_stub;           /* boot through the TDX stub (forced for DB_TDX; on DB_PLAIN the test
				  * mode where every vCPU starts at the reset vector) */
	/* virtio-mmio devices: the DSDT describes windows 0..ndevs-1 (acpi_virtio_window), which is
	 * how a guest finds them. The FADT is hardware-reduced, so Linux has no legacy PIC and maps a
	 * GSI only for a device ACPI describes: `virtio_mmio.device=` on the command line does not
	 * work with this layout (probe fails with -EINVAL), and must not be given as well. */
	unsigned ndevs;          /* 0..ACPI_MAX_DEVICES */
};

/* The entry state of the boot vCPU (64-bit boot protocol) and of the SNP APs. With the TDX stub
 * every vCPU starts at the reset vector instead (rip 0xfffffff0, 32-bit, ESI = vCPU index) and
 * the stub establishes this state. */
struct db_entry {
	uint64_t rip, rsi, cr0, cr3, cr4, efer, gdt_base;
	uint16_t gdt_limit, cs, ds;
	uint64_t ap_rip;         /* SNP: the APs' launch VMSAs wait in a hlt loop here */
};

struct db_layout {
	size_t n;
	struct db_region r[26];
	size_t ne820;
	struct db_e820 e820[DB_E820_MAX];
	struct db_entry entry;
	struct acpi_tables acpi;
	uint64_t kernel_gpa, kernel_end, initrd_gpa; /* kernel_end: load + init_size */
	uint8_t *low;            /* [0, 1 MiB) as the guest will see it (boot data, ACPI) */
	uint8_t *kernel, *initrd; /* page-padded copies */
	uint8_t *stub;           /* TDX stub page with its parameter block filled in */
	uint8_t *snp_stub;       /* SNP validation stub page (DB_VALIDATE_STUB), parameters filled in */
	bool ram_in_launch;      /* the DB_ZERO regions are launch pages (SNP ZERO); false: the stub's */
};

/* "zero" | "stub" (--snp-validate, the config key and `carapace measure`), and back. Inline, so
 * the config reader (and its fuzzer) need no layout code to check the value. */
static inline int db_snp_validate_parse(const char *s, enum db_snp_validate *out, struct cp_err *err)
{
	if (s && !strcmp(s, "zero"))
		*out = DB_VALIDATE_ZERO;
	else if (s && !strcmp(s, "stub"))
		*out = DB_VALIDATE_STUB;
	else
		return cp_err_set(err, EINVAL, "snp-validate: '%s' is not zero or stub", s ? s : "");
	return 0;
}

static inline const char *db_snp_validate_name(enum db_snp_validate v)
{
	return v == DB_VALIDATE_STUB ? "stub" : "zero";
}

/* Build the layout. Errors name the problem: a kernel too old for the 64-bit entry, memory the
 * layout cannot hold, an initrd that would overlap the kernel, too many vCPUs. */
int db_layout_build(const struct db_input *in, struct db_layout *out, struct cp_err *err);
void db_layout_free(struct db_layout *l);

/* Copy the layout's contents into guest RAM (plain KVM: mem maps [0, mem_len)); ZERO regions
 * are left alone (fresh guest RAM is zero). The TDX stub page (DB_STUB, above mem) is not
 * copied: the caller maps it at the top of 4 GiB from l->stub. Returns -ERANGE if another
 * region is outside mem. */
int db_layout_copy(const struct db_layout *l, uint8_t *mem, uint64_t mem_len, struct cp_err *err);

#endif
