/* Confidential launch (SEV-SNP, TDX) over struct kvm_ops, walking memenc's launch plan so that what
 * `carapace measure` predicts and what the launch does cannot drift; and the run-time handlers for
 * the exits such guests produce (private/shared conversion, TDX GetQuote, termination). */
#ifndef CARAPACE_RUNNER_CC_CC_H
#define CARAPACE_RUNNER_CC_CC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "runner/run_limits.h"
#include "memenc/plan.h"
#include "runner/guest_cpuid.h"
#include "runner/kvm_ops.h"

struct kvm_cpuid_entry2;

#define CC_MAX_BLOCKS 3
#define CC_QUOTE_QUEUE 4 /* TDX GetQuote requests waiting for the quote service at most */

enum cc_platform { CC_SNP = 0, CC_TDX = 1 };

/* One explicit state machine per launch. Each step moves from exactly one state to the next;
 * anything else is refused with a message naming the current state. */
enum cc_state {
	CC_ST_NEW = 0,
	CC_ST_VM_CREATED,  /* KVM_CREATE_VM with the confidential type */
	CC_ST_INITIALIZED, /* SNP: INIT2 + EXIT_HYPERCALL; TDX: CAPABILITIES + INIT_VM */
	CC_ST_STARTED,     /* SNP: SNP_LAUNCH_START (TDX has no such step) */
	CC_ST_MEMORY,      /* guest_memfd + REGION2 + PRIVATE per RAM block */
	CC_ST_VCPUS,       /* vCPUs with the modelled register state (TDX: + INIT_VCPU) */
	CC_ST_PAGES,       /* every plan op issued (LAUNCH_UPDATE / INIT_MEM_REGION) */
	CC_ST_FINISHED,    /* SNP_LAUNCH_FINISH / KVM_TDX_FINALIZE_VM: only KVM_RUN from here */
	CC_ST_FAILED,      /* a step failed: nothing more is accepted */
};
const char *cc_state_name(enum cc_state s);

enum cc_step { CC_STEP_CREATE_VM, CC_STEP_INIT, CC_STEP_START, CC_STEP_MEMORY, CC_STEP_VCPUS, CC_STEP_PAGES,
	       CC_STEP_FINISH };
const char *cc_step_name(enum cc_step s);

struct cc_launch_cfg {
	enum cc_platform platform;
	const uint8_t *firmware;      /* OVMF/TDVF image; must outlive the launch */
	size_t firmware_len;
	uint64_t mem_size;            /* guest RAM bytes (>= 16 MiB, 4 KiB multiple) */
	unsigned vcpus;               /* 1..RUN_MAX_CC_VCPUS */
	uint32_t vcpu_sig;            /* CPUID signature; 0 = vCPU 0's CPUID leaf 1 EAX */
	/* SNP */
	uint64_t snp_policy;          /* guest policy; 0 = 0x30000 (SMT allowed, bit 17) */
	uint64_t vmsa_features;       /* INIT2 vmsa_features (VMSA SEV_FEATURES = this | SNP_ACTIVE) */
	uint8_t host_data[32];        /* SNP_LAUNCH_FINISH host_data: the attestation binding digest */
	const uint8_t *id_block;      /* optional 96-byte ID block */
	const uint8_t *id_auth;       /* optional 4096-byte ID auth block (needs id_block) */
	bool snp_cpuid_fixup;         /* accept (once) the CPUID page the firmware corrected when it refused
				       * carapace's; false: the launch fails naming every changed entry */
	/* --cpu: the guest CPU model (runner/guest_cpuid.h), NULL = host. The SEV-SNP CPUID page, the
	 * TDX INIT_VM CPUID configuration and every vCPU's KVM_SET_CPUID2 derive from it, as for a
	 * plain VM (guest_cpuid_build). Neither the SNP launch digest nor MRTD covers it. */
	const char *cpu;
	enum db_snp_validate snp_validate; /* direct boot: RAM as ZERO pages, or validated by the measured
				       * stub (memenc/direct_boot.h); with a firmware only ZERO */
	/* TDX */
	uint64_t td_attributes;       /* checked against KVM_TDX_CAPABILITIES */
	uint64_t td_xfam;             /* 0 = from the vCPU model's CPUID 0xD (XCR0 and XSS features), as QEMU */
	uint32_t tsc_khz;             /* the TD's TSC frequency: a multiple of 25000 kHz in 100 MHz..10 GHz;
				       * 0 = the host's (KVM_GET_TSC_KHZ on the VM), which must be one too */
	uint8_t mrconfigid[48], mrowner[48], mrownerconfig[48];
	/* SNP: a GHCB certificate table (VCEK/VLEK, ASK, ARK) handed to the guest with each extended
	 * attestation request (KVM_SEV_SNP_ENABLE_REQ_CERTS, Linux 7.0). NULL: not offered. The file is
	 * re-read under a shared F_OFD_SETLK lock for every request, so an update taken under an
	 * exclusive lock is never seen half-written. */
	const char *snp_certs;
	/* With a firmware: measured direct boot, the kernel (bzImage), initrd and command line the
	 * firmware loads through fw_cfg. SEV-SNP: their SHA-256 go into the firmware's kernel-hashes
	 * page, which is measured (needs a firmware with an SNP_KERNEL_HASHES section, e.g. OVMF
	 * AmdSevX64). TDX: the firmware measures them into RTMRs; MRTD does not change.
	 * Without a firmware (firmware NULL, firmware_len 0): the firmware-less direct boot of
	 * memenc_plan_build_direct (memenc/direct_boot.h), the plan `carapace measure --platform
	 * snp|tdx --kernel K --vcpus N --memory M` predicts: SEV-SNP vCPUs start in long mode at the
	 * kernel's 64-bit entry (BSP, RSI = boot_params) or parked (APs, which the guest starts with
	 * SNP AP creation); TDX vCPUs start at the reset vector in carapace's measured stub.
	 * NULL kernel: no direct boot. */
	const uint8_t *kernel, *initrd;
	size_t kernel_len, initrd_len;
	const char *cmdline;
	/* Firmware-less direct boot: the virtio-mmio devices, which the measured DSDT describes
	 * (windows 0..ndevs-1, memenc/acpi.h acpi_virtio_window); `carapace measure --virtio-devices`
	 * takes the same count. */
	unsigned ndevs;
};

/* The launch is the firmware-less direct boot of cfg->kernel (no firmware image given). */
static inline bool cc_cfg_direct(const struct cc_launch_cfg *cfg) { return !cfg->firmware && cfg->kernel; }

struct cc_block {
	const char *name;             /* "ram-low", "ram-high", "firmware" */
	uint64_t gpa, size;
	uint64_t shared_off;          /* offset in the shared memfd */
	int gmem_fd;                  /* guest_memfd (a kvm_ops fd) */
	uint32_t slot;
	uint8_t *private_bits;        /* the VMM's record of PRIVATE pages (KVM has no "get") */
};

/* Guest RAM, as opposed to the firmware image's block. */
static inline bool cc_block_is_ram(const struct cc_block *b) { return strcmp(b->name, "firmware") != 0; }

struct cc_vm {
	const struct kvm_ops *ops;
	void *ctx;
	enum cc_platform platform;
	enum cc_state state;
	int kvm_fd, vm_fd;
	/* SNP: /dev/sev (a kvm_ops fd), open from INIT to LAUNCH_FINISH. KVM issues the launch
	 * commands to the PSP through the fd named in each command's sev_fd (arch/x86/kvm/svm/sev.c
	 * snp_launch_start, snp_launch_update, snp_launch_finish -> sev_issue_cmd_external_user). */
	int sev_fd;
	unsigned nvcpus;
	int vcpu_fd[RUN_MAX_CC_VCPUS];
	void *run[RUN_MAX_CC_VCPUS];
	size_t run_size;
	/* Shared memory: one sealed memfd for all blocks. The ONLY memory a vhost-user back-end may
	 * ever be given. guest_memfd fds (private) never leave this process. */
	int shared_fd;
	uint8_t *shared;
	uint64_t shared_size;
	unsigned nblocks;
	struct cc_block blocks[CC_MAX_BLOCKS];
	/* What the launch is measured as: walked from the same plan the driver executes. */
	struct memenc_plan plan;
	struct memenc_launch_opts opts;
	uint8_t measurement[48];
	size_t measurement_len;
	uint64_t hob_gpa;             /* TDX: initial RCX of every vCPU */
	uint8_t *hob;                 /* TDX: the TD HOB this launch built */
	size_t hob_len;
	struct kvm_cpuid_entry2 *tdx_cpuid; /* TDX: the CPUID KVM_TDX_INIT_VM was given (checked per vCPU */
	unsigned tdx_cpuid_n;               /* against KVM_TDX_GET_CPUID) */
	struct guest_cpu_model cpu_model;   /* cfg->cpu, parsed by cc_vm_init */
	uint32_t tsc_khz;             /* TDX: the TSC frequency set with KVM_SET_TSC_KHZ */
	char cpuid_fixup[1024];       /* SNP: the firmware's CPUID corrections accepted (cfg->snp_cpuid_fixup), "" if none */
	const struct cc_launch_cfg *cfg;
	/* Run time */
	pthread_mutex_t mem_mu;       /* private/shared conversions vs. the quote thread's buffer writes */
	const char *quote_socket;     /* TDX GetQuote: UNIX socket of a quote generation service */
	unsigned quote_timeout_ms;    /* per wait on the service (connect, send, each read) */
	struct cc_quote *quote;       /* TDX: the quote thread and its queue (cc_quote_start), or NULL */
	int notify_vector, notify_apic_id; /* TDX SetupEventNotifyInterrupt (-1: none), under quote->mu */
	uint64_t tdvmcall_user_r11, tdvmcall_user_r12; /* KVM_TDX_CAPABILITIES: what user space may offer */
	unsigned quotes_queued, quotes_served, quotes_failed, quotes_notified, quote_notify_failed;
	int certs_fd;                 /* SNP certificate table file (cfg->snp_certs), -1 when none */
	pthread_mutex_t certs_mu;     /* guards certs_holders and the file lock */
	unsigned certs_holders;       /* vCPUs between a served request and their next KVM_RUN return */
	bool certs_held[RUN_MAX_CC_VCPUS];
	unsigned certs_served, certs_busy, certs_refused; /* requests answered 0 / EAGAIN / ENOSPC or EIO */
};

/* Step by step (tests; the order is enforced). cc_launch() runs them all. cfg (and the firmware
 * and ID blocks it points to) must outlive the VM: the plan's pages point into the firmware. */
int cc_vm_init(struct cc_vm *vm, const struct kvm_ops *ops, void *ctx, const struct cc_launch_cfg *cfg,
	       struct cp_err *err);
int cc_step(struct cc_vm *vm, enum cc_step step, struct cp_err *err);

/* Capability check (host_info), then every step. On success *out holds the fds, the shared
 * memory and the measurement, and the return value is the VM fd. On failure everything is
 * released and err names what failed or what the host lacks. */
int cc_launch(const struct kvm_ops *ops, void *ctx, const struct cc_launch_cfg *cfg, struct cc_vm *out,
	      struct cp_err *err);
/* Releases every fd, mapping and buffer the VM holds: NULL-tolerant, and a second call finds
 * nothing left (each field is reset as it is released). After vm_adopt_cc the VM struct owns this
 * call (vm_destroy makes it). */
void cc_vm_release(struct cc_vm *vm);

/* The launch options memenc measures for this configuration (what `carapace measure` needs:
 * --platform, --vcpus, --vcpu-sig, --guest-features), after cc_vm_init. */
const struct memenc_launch_opts *cc_vm_measure_opts(const struct cc_vm *vm);

/* ---- run time (wired into runner/exits.c's table by the VMM) ---- */

enum cc_exit_verdict {
	CC_EXIT_RESUME = 0,  /* handled: run the vCPU again */
	CC_EXIT_GUEST_END,   /* the guest terminated (SEV_TERM, TDX_FATAL): err says why */
	CC_EXIT_HOST_FAIL,   /* the host could not do what the exit needs: err says what */
};

/* KVM_EXIT_HYPERCALL with nr KVM_HC_MAP_GPA_RANGE (SNP page-state change, TDX MapGPA). Validates
 * the range against RAM, converts with KVM_SET_MEMORY_ATTRIBUTES, punches the shared memfd when
 * a range becomes private, sets run->hypercall.ret (0, or -EINVAL for a bad guest request). */
enum cc_exit_verdict cc_exit_hypercall(struct cc_vm *vm, unsigned vcpu, struct cp_err *err);
/* KVM_EXIT_MEMORY_FAULT (KVM_RUN returned -EFAULT): convert the range to what the access wanted. */
enum cc_exit_verdict cc_exit_memory_fault(struct cc_vm *vm, unsigned vcpu, struct cp_err *err);
/* KVM_EXIT_TDX: GetQuote forwarded to vm->quote_socket, or an error status for the guest when
 * none is configured; other leaves answered SUBFUNC_UNSUPPORTED. */
enum cc_exit_verdict cc_exit_tdx(struct cc_vm *vm, unsigned vcpu, struct cp_err *err);
/* KVM_EXIT_SNP_REQ_CERTS: write the certificate table into the guest's buffer, which must be
 * shared RAM, and answer ret (0, ENOSPC with npages, EAGAIN while the table is being updated, EIO
 * for a bad buffer or table). On success the table stays read-locked, and kvm_run's
 * immediate_exit set, until the vCPU is back from the KVM_RUN that sends the request to the
 * firmware: cc_vcpu_returned() then drops the lock. */
enum cc_exit_verdict cc_exit_snp_req_certs(struct cc_vm *vm, unsigned vcpu, struct cp_err *err);
/* TDX GetQuote is answered asynchronously (IN_FLIGHT at once, the quote and the event-notify
 * interrupt later) by a worker thread. cc_quote_start() starts it when a quote service is
 * configured (else nothing); thread_init (may be NULL) runs first in the new thread, e.g. to load
 * its seccomp filter. Start it after the process isolated itself (unshare needs one thread).
 * cc_quote_wait_idle() returns when no request is queued or in progress; cc_quote_stop()
 * abandons what is in flight and joins the thread (cc_vm_release calls it). */
int cc_quote_start(struct cc_vm *vm, int (*thread_init)(void *arg), void *arg, struct cp_err *err);
void cc_quote_wait_idle(struct cc_vm *vm);
void cc_quote_stop(struct cc_vm *vm);
/* Call after every KVM_RUN of a confidential vCPU returns, before anything else. */
void cc_vcpu_returned(struct cc_vm *vm, unsigned vcpu);
/* Read and validate a certificate table from fd (whole file, at most 1 MiB, with a VCEK or VLEK). */
int cc_snp_certs_read(int fd, uint8_t **out, size_t *len, struct cp_err *err);
/* KVM_EXIT_SYSTEM_EVENT SEV_TERM / TDX_FATAL: always ends the VM with a message. */
enum cc_exit_verdict cc_exit_system_event(struct cc_vm *vm, unsigned vcpu, struct cp_err *err);
/* Dispatch on run->exit_reason (run_ret: what KVM_RUN returned). Unknown exits fail closed. */
enum cc_exit_verdict cc_exit_dispatch(struct cc_vm *vm, unsigned vcpu, int run_ret, struct cp_err *err);

/* Convert [gpa, gpa+len) to private or shared (both the KVM attribute and the VMM's record). */
int cc_mem_convert(struct cc_vm *vm, uint64_t gpa, uint64_t len, bool to_private, struct cp_err *err);
bool cc_mem_is_private(const struct cc_vm *vm, uint64_t gpa);
/* Host pointer to [gpa, gpa+len) when all of it is shared RAM (never the firmware block, never
 * a private page): what a device or the VMM may read or write for the guest; else NULL. */
uint8_t *cc_shared_range(struct cc_vm *vm, uint64_t gpa, uint64_t len);

#endif
