/* A strict double of the Linux KVM uAPI (v6.16..v6.18, with the v7.0 SNP certificate exit where
 * configured): fake fds and state, the rules of the confidential launch (SEV-SNP, TDX,
 * guest_memfd, memory attributes) with the kernel's errno values, a record of what it was given,
 * and its own recomputation of the SNP launch digest and the TDX MRTD from the exact bytes and
 * GPAs passed to it. It includes nothing from runner/ (tests/unit/cc/kd_ops.c puts it behind
 * carapace's struct kvm_ops); its uAPI is tests/double/kd_uapi.h, cross-checked against
 * carapace's by cc-uapi_crosscheck. The rule table, each rule with the kernel function it models
 * and the double's own choices marked, is at the top of kvm_double.c. */
#ifndef CARAPACE_TESTS_DOUBLE_KVM_DOUBLE_H
#define CARAPACE_TESTS_DOUBLE_KVM_DOUBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


struct kvm_double;

/* CPUID bits the "TDX module" fixes in a TD: reg 0..3 = EAX..EDX; a slot with bits 0 is unused. */
struct kd_cpuid_bits {
	uint32_t function, index;
	unsigned reg;
	uint32_t bits;
};

struct kd_config {
	uint64_t vm_types;               /* KVM_CAP_VM_TYPES; KVM_CREATE_VM refuses others (-EINVAL) */
	uint64_t vmsa_features_supported; /* SEV VMSA features KVM offers (bit 5 DebugSwap) */
	uint64_t gmem_flags_supported;   /* KVM_CREATE_GUEST_MEMFD flags accepted (0 before 6.18) */
	unsigned max_pages_per_call;     /* LAUNCH_UPDATE / INIT_MEM_REGION: pages done per call, 0 = all */
	unsigned eagain_every;           /* every Nth such call returns -EAGAIN with no progress, 0 = never */
	bool sev_dev;                    /* /dev/sev exists (SNP_PLATFORM_STATUS answers 1.55) */
	uint32_t cpu_sig;                /* CPUID leaf 1 EAX in KVM_GET_SUPPORTED_CPUID */
	bool snp_req_certs;              /* KVM_X86_SEV_SNP_REQ_CERTS = 1, ENABLE_REQ_CERTS known (Linux 7.0) */
	bool vm_tsc_control;             /* KVM_CAP_VM_TSC_CONTROL: KVM_SET/GET_TSC_KHZ on the VM fd */
	uint32_t host_tsc_khz;           /* the host's TSC: every VM's default frequency (2.1 GHz) */
	/* What KVM_TDX_GET_CPUID reports beyond INIT_VM's CPUID (masked by the capabilities): bits the
	 * TDX module forces on (default: x2APIC, CPUID 1 ECX bit 21) and bits it forces off (none). */
	struct kd_cpuid_bits tdx_fixed1[4], tdx_fixed0[4];
	/* SNP CPUID page: bits the "firmware" does not allow (it refuses the page and corrects them). */
	struct kd_cpuid_bits snp_cpuid_reject[2];
	/* TDX MapGPA: after this many chunks an interrupt is pending and the TDVMCALL stops with RETRY
	 * (tdx.c tdx_complete_vmcall_map_gpa, kvm_vcpu_has_events); 0 = never. */
	unsigned map_gpa_interrupt_after;
	/* SNP: the first LAUNCH_UPDATE of a NORMAL page fails in the "firmware" with this status
	 * (-EIO, kvm_sev_cmd.error set); 0 = never. */
	uint32_t snp_update_fw_error;
	/* TDX: KVM_CREATE_VCPU allowed before KVM_TDX_INIT_VM (kernels whose tdx_vcpu_create no longer
	 * checks the TD's state); INIT_VM then meets setup_tdparams' -EBUSY. */
	bool tdx_vcpu_before_init_vm;
};

/* What a fresh double offers unless told otherwise: SNP and TDX, DebugSwap, no partial progress. */
void kd_config_default(struct kd_config *c);

struct kvm_double *kd_new(const struct kd_config *c);
void kd_free(struct kvm_double *kd);

/* The kernel entry points (ctx is the struct kvm_double), with the signatures of carapace's
 * struct kvm_ops; tests/unit/cc/kd_ops.c puts them into such a table, so that this directory needs
 * nothing from runner/. */
int kd_open_dev(void *ctx, const char *path);
int kd_ioctl(void *ctx, int fd, unsigned long req, void *arg);
void *kd_mmap_run(void *ctx, int fd, size_t len);
void kd_munmap_run(void *ctx, void *p, size_t len);
void kd_close(void *ctx, int fd);

/* The last refusal, as "IOCTL: rule (errno)", for tests and debugging. */
const char *kd_last_refusal(const struct kvm_double *kd);
/* Refusals so far. */
unsigned kd_refusals(const struct kvm_double *kd);
/* SEV commands so far that named an open /dev/sev in sev_fd. */
unsigned kd_sev_fd_uses(const struct kvm_double *kd);
/* Open fds of "/dev/sev" or "/dev/kvm" the double handed out and nobody closed. */
unsigned kd_open_fds(const struct kvm_double *kd, const char *path);
/* Every fd the double handed out (any kind) that nobody closed, and kvm_run areas mapped and not
 * unmapped; closes of an fd that was not open and unmaps of an area that was not mapped (each a
 * double release, or a release of something never handed out). */
unsigned kd_fds_open(const struct kvm_double *kd);
unsigned kd_runs_mapped(const struct kvm_double *kd);
unsigned kd_bad_closes(const struct kvm_double *kd);
unsigned kd_bad_unmaps(const struct kvm_double *kd);

/* Results, recomputed by the double from what it was given (most recent VM of that type).
 * -ENOENT until SNP_LAUNCH_FINISH / KVM_TDX_FINALIZE_VM succeeded. */
int kd_snp_digest(const struct kvm_double *kd, uint8_t out[48]);
int kd_tdx_mrtd(const struct kvm_double *kd, uint8_t out[48]);

/* Records of the most recent VM. */
struct kd_record {
	int vm_type;
	uint64_t snp_policy;
	uint64_t vmsa_features;          /* as given to INIT2 */
	uint8_t host_data[32];
	bool id_block_en, auth_key_en;
	uint8_t id_block[96];
	unsigned launch_update_calls;    /* ioctls, including partial and EAGAIN ones */
	unsigned pages_measured;         /* pages added to the digest (SNP incl. VMSAs, TDX PAGE.ADDs) */
	unsigned vcpus;
	bool finished;
	uint64_t exit_hypercall_mask;    /* KVM_CAP_EXIT_HYPERCALL args[0] */
	uint32_t cpuid_page_count;       /* entries in the CPUID page given to LAUNCH_UPDATE */
	unsigned cpuid_page_refusals;    /* CPUID pages the "firmware" refused (and corrected) */
	uint64_t map_gpa_status, map_gpa_next; /* TDX: the last MapGPA TDVMCALL's status and R11 */
	/* SNP GHCB MSR Page State Change (sev.c snp_begin_psc_msr / snp_complete_psc_msr) and the
	 * stub's PVALIDATE after it (the double's model of the RMP [FW]) */
	unsigned psc_msr_exits;          /* KVM_EXIT_HYPERCALL(MAP_GPA_RANGE) exits for PSC requests */
	unsigned psc_msr_errors;         /* answered GHCB_MSR_PSC_RESP_ERROR */
	uint64_t psc_msr_last_resp;      /* the GHCB MSR value the guest read back last */
	unsigned pvalidated;             /* pages the guest validated (private, not in the launch) */
	unsigned pvalidate_failed;       /* PVALIDATE on a page not private, or already validated by the
					  * launch (the guest's stub then terminates) */
	/* TDX */
	uint64_t td_attributes, td_xfam;
	uint8_t mrconfigid[48], mrowner[48], mrownerconfig[48];
	uint64_t vcpu_init_rcx[8];
	unsigned init_vm_cpuid_nent;
	unsigned n_attr_calls;
	uint64_t apic_bus_cycle_ns;      /* KVM_CAP_X86_APIC_BUS_CYCLES_NS, 0 = not set */
	uint32_t tsc_khz_set;            /* the last VM-scope KVM_SET_TSC_KHZ (0 = host's, resolved); 0 = none */
	uint32_t td_tsc_khz;             /* the TD's TSC as KVM_TDX_INIT_VM took it (25 MHz units, in kHz) */
	unsigned get_cpuid_calls;        /* KVM_TDX_GET_CPUID calls that returned the CPUID */
	/* SNP certificate fetching */
	bool req_certs_enabled;          /* KVM_SEV_SNP_ENABLE_REQ_CERTS succeeded */
	unsigned certs_completions;      /* KVM_RUNs that completed a KVM_EXIT_SNP_REQ_CERTS */
	uint64_t certs_ret, certs_npages; /* what user space answered the last one */
	unsigned eintr_runs;             /* KVM_RUNs ended by immediate_exit or a signal (-EINTR) */
	/* SNP AP creation (sev.c sev_snp_ap_creation) */
	unsigned ap_creations, ap_creations_refused; /* the guest's requests taken / refused */
	unsigned ap_blocked_runs;        /* KVM_RUNs of a not-yet-created AP (blocked in the kernel) */
	unsigned aps_started;            /* APs made runnable by AP creation and run */
	/* devices */
	bool irqchip;                    /* KVM_CREATE_IRQCHIP (in-kernel PIC + IOAPIC) */
	unsigned ioeventfds, irqfds;
	unsigned gsi_routes;             /* entries in the last KVM_SET_GSI_ROUTING */
	uint32_t route_addr[24], route_data[24]; /* MSI route per GSI < 24 (0: none) */
	unsigned msis;                   /* KVM_SIGNAL_MSI calls */
	uint32_t last_msi_addr, last_msi_data;
};
int kd_record_get(const struct kvm_double *kd, struct kd_record *out);

/* The CPUID the most recent VM was given, by source: a vCPU's last KVM_SET_CPUID2, the SNP CPUID
 * page the "firmware" accepted (its input leaf/subleaf), TDX INIT_VM's configuration (as
 * KVM_TDX_GET_CPUID reports it, before the module's fixed bits). out = EAX, EBX, ECX, EDX;
 * -ENOENT when there is no such entry. */
enum kd_cpuid_src { KD_CPUID_SET_CPUID2, KD_CPUID_SNP_PAGE, KD_CPUID_TDX_INIT_VM };
int kd_cpuid_seen(const struct kvm_double *kd, enum kd_cpuid_src src, unsigned vcpu, uint32_t leaf, uint32_t sub,
		  uint32_t out[4]);

/* Is a guest page private (attribute) in the most recent VM? */
bool kd_gpa_private(const struct kvm_double *kd, uint64_t gpa);

/* Script an exit for the next KVM_RUN of vCPU `vcpu` of the most recent VM: the double fills the
 * kvm_run page with `page` (exit_reason and payload as bytes, offsets of struct kvm_run) and
 * returns `ret` from KVM_RUN (0, or -EFAULT for a memory fault). With no script, KVM_RUN
 * reports KVM_EXIT_HLT. */
int kd_script_exit(struct kvm_double *kd, unsigned vcpu, uint32_t exit_reason, const void *payload,
		   size_t payload_len, int ret);
/* Script a TD guest's TDG.VP.VMCALL<MapGPA> of [gpa, gpa+size): KVM_RUN returns it as
 * KVM_EXIT_HYPERCALL chunks of at most 2 MiB, each completed by the next KVM_RUN from
 * hypercall.ret (tdx.c tdx_map_gpa, tdx_complete_vmcall_map_gpa); the TDVMCALL's result is in
 * kd_record.map_gpa_status / map_gpa_next. */
/* Script an SEV-SNP guest's AP-creation VMGEXIT on vCPU `vcpu` (request 0 CREATE_ON_INIT, 1
 * CREATE, 2 DESTROY; the target's APIC ID = vCPU index; the new VMSA's GPA and SEV features). The
 * kernel handles it (no exit to user space); an SNP AP's KVM_RUN blocks until it is created. */
int kd_script_snp_ap_creation(struct kvm_double *kd, unsigned vcpu, unsigned request, unsigned apic_id,
			      uint64_t vmsa_gpa, uint64_t sev_features);
/* Script vCPU `vcpu`'s guest to spin until vCPU `ap`'s KVM_RUN is blocked (an SNP AP not yet
 * created), then go on; a kick ends the spin with -EINTR, and the next KVM_RUN spins again. */
int kd_script_wait_ap_blocked(struct kvm_double *kd, unsigned vcpu, unsigned ap);
int kd_script_tdx_map_gpa(struct kvm_double *kd, unsigned vcpu, uint64_t gpa, uint64_t size, bool to_private);
/* Script an SEV-SNP guest's loop over [gpa, gpa + npages pages) as carapace's validation stub runs
 * it: for each page a GHCB MSR Page State Change request with `op` (1 private, 2 shared; others
 * are answered with an error in the kernel), which KVM turns into KVM_EXIT_HYPERCALL(MAP_GPA_RANGE,
 * gpa, 1 page, ENCRYPTED|4K) when user space enabled that exit (else an error response, no exit);
 * the next KVM_RUN completes it from hypercall.ret; then, for op 1, PVALIDATE of the page. The
 * loop stops at the first error (the stub would terminate the guest). Results in kd_record. */
int kd_script_snp_psc_msr(struct kvm_double *kd, unsigned vcpu, uint64_t gpa, uint64_t npages, unsigned op);

#endif
