/* The launch plan: the ordered list of page operations a confidential launch performs, built
 * once from the firmware and the launch options. `carapace measure` walks it to predict the
 * measurement; the runner's SEV/SNP/TDX launch drivers walk the same list to issue
 * LAUNCH_UPDATE / KVM_TDX_INIT_MEM_REGION, so prediction and launch cannot drift.
 * See docs/memenc.md for the per-platform order. Pure: no files, no ioctls. */
#ifndef CARAPACE_MEMENC_PLAN_H
#define CARAPACE_MEMENC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "memenc/direct_boot.h"
#include "memenc/ovmf.h"
#include "memenc/sev_hashes.h"
#include "memenc/vmsa.h"

enum memenc_platform {
	MEMENC_PLATFORM_SEV = 0,
	MEMENC_PLATFORM_SEV_ES = 1,
	MEMENC_PLATFORM_SNP = 2,
	MEMENC_PLATFORM_TDX = 3,
};
/* Accepts sev, sev-es/seves, snp/sev-snp, tdx (any case). */
int memenc_platform_parse(const char *s, enum memenc_platform *out, struct cp_err *err);
const char *memenc_platform_name(enum memenc_platform p);

enum memenc_op_type {
	/* SEV-SNP SNP_LAUNCH_UPDATE page types (values are the firmware ABI's PAGE_TYPE). */
	MEMENC_OP_SNP_NORMAL = 1,
	MEMENC_OP_SNP_VMSA = 2,       /* measured by LAUNCH_FINISH from the vCPU's register state */
	MEMENC_OP_SNP_ZERO = 3,
	MEMENC_OP_SNP_UNMEASURED = 4,
	MEMENC_OP_SNP_SECRETS = 5,
	MEMENC_OP_SNP_CPUID = 6,
	/* TDX: KVM_TDX_INIT_MEM_REGION, without or with KVM_TDX_MEASURE_MEMORY_REGION. */
	MEMENC_OP_TDX_ADD = 0x10,
	MEMENC_OP_TDX_ADD_EXTEND = 0x11,
	/* SEV / SEV-ES: LAUNCH_UPDATE_DATA (any byte length) and LAUNCH_UPDATE_VMSA. */
	MEMENC_OP_SEV_DATA = 0x20,
	MEMENC_OP_SEV_VMSA = 0x21,
};
const char *memenc_op_type_name(enum memenc_op_type t);

#define MEMENC_SNP_VMSA_GPA 0xfffffffff000ull /* the GPA recorded for VMSA pages */

struct memenc_plan_op {
	enum memenc_op_type type;
	uint64_t gpa;        /* first byte; page aligned except SEV_DATA of the hashes table */
	uint64_t len;        /* bytes: a multiple of 4 KiB except for SEV_DATA */
	/* Contents: len bytes the page(s) must hold when the operation is issued. NULL means
	 * zeros (ZERO, UNMEASURED, SECRETS, TDX temporary memory) or, for CPUID, the CPUID table
	 * the VMM fills from vCPU 0 (the firmware checks it; it is measured as zeros). Points
	 * into the firmware buffer or into storage owned by the plan. */
	const uint8_t *data;
	int vcpu;            /* VMSA ops: the vCPU index; -1 otherwise */
	int section;         /* ASEV/TDVF section index; -1 for the firmware image and VMSAs */
	char what[40];       /* a label for --json and logs: "firmware", "SNP_SECRETS", "vmsa1" */
};

#define MEMENC_VCPUS_MAX 4096u

struct memenc_launch_opts {
	enum memenc_platform platform;
	unsigned vcpus;              /* SEV-ES/SNP: number of VMSAs */
	uint32_t vcpu_sig;           /* CPUID signature (QEMU puts it in RDX) */
	uint64_t guest_features;     /* SNP: SEV_FEATURES of every VMSA (sev-snp-measure default 0x1) */
	enum memenc_vmm_type vmm;
	bool kernel;                 /* direct boot: hashes below are valid */
	struct memenc_sev_hashes hashes;
	const uint8_t *td_hob;       /* TDX: HOB contents, needed only when TD_HOB has MR_EXTEND */
	size_t td_hob_len;
};

struct memenc_plan {
	enum memenc_platform platform;
	uint64_t fw_gpa;             /* SEV family: GPA of the image (it ends at 4 GiB) */
	struct memenc_ovmf_table table;
	struct memenc_sev_metadata sev;
	struct memenc_tdvf_metadata tdvf;
	size_t n, cap;
	struct memenc_plan_op *ops;
	uint8_t *storage;            /* VMSA pages, hashes page, HOB copy: freed with the plan */
	struct db_layout *direct;    /* firmware-less direct boot: the layout the ops point into */
};

/* Build the plan. fw must outlive the plan (ops point into it). Errors name the field. */
int memenc_plan_build(struct memenc_plan *plan, const uint8_t *fw, size_t fw_len,
		      const struct memenc_launch_opts *o, struct cp_err *err);
void memenc_plan_free(struct memenc_plan *plan);

/* Firmware-less direct boot (no --firmware): the plan of db_layout_build(in) for o->platform
 * (SNP or TDX; in->platform is set from it). SNP: every data page NORMAL, the secrets and
 * CPUID pages, every other RAM page ZERO (so all RAM is validated before Linux runs), then one
 * long-mode VMSA per vCPU (the BSP at the kernel's 64-bit entry, APs parked). With
 * in->snp_validate = DB_VALIDATE_STUB the other RAM pages are not in the plan: the BSP enters
 * the measured validation stub (a NORMAL page) first, which validates them and enters the kernel. TDX: every data
 * page, the measured boot stub at 0xfffff000 included, as PAGE.ADD + MR.EXTEND; RAM is left
 * to the stub's TDG.MEM.PAGE.ACCEPT. The kernel and
 * initrd buffers may be freed after the call (the layout copies them). */
int memenc_plan_build_direct(struct memenc_plan *plan, const struct db_input *in,
			     const struct memenc_launch_opts *o, struct cp_err *err);

/* Called after each operation with the running value (SNP: the launch digest so far; SEV and
 * SEV-ES: the SHA-256 as if finished now; TDX: MRTD as if finalized now). */
typedef void (*memenc_step_fn)(void *ctx, size_t op, const uint8_t *running, size_t running_len);

/* Walk the plan and compute the launch measurement: SNP 48-byte launch digest, SEV/SEV-ES
 * 32-byte SHA-256 launch digest (what LAUNCH_MEASURE's HMAC covers), TDX 48-byte MRTD.
 * *out_len gets the length. step may be NULL. */
int memenc_plan_measure(const struct memenc_plan *plan, uint8_t out[48], size_t *out_len,
			memenc_step_fn step, void *ctx, struct cp_err *err);

/* SNP only: start from a given launch digest (sev-snp-measure's --snp-ovmf-hash); the walk skips
 * the firmware op. NULL = from zero. */
int memenc_plan_measure_snp_from(const struct memenc_plan *plan, const uint8_t seed[48], uint8_t out[48],
				 memenc_step_fn step, void *ctx, struct cp_err *err);

#endif
