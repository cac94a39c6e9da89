/* The strict KVM double: fake fds, the confidential-launch rules with their errno values, a record
 * of every argument, and an independent recomputation of the SNP launch digest and TDX MRTD. It
 * includes nothing from runner/: its uAPI is its own transcription (tests/double/kd_uapi.h).
 *
 * Rule table. Each rule names the kernel function it models (Linux v6.16..v6.18 unless stated:
 * sev.c = arch/x86/kvm/svm/sev.c, tdx.c = arch/x86/kvm/vmx/tdx.c, x86.c = arch/x86/kvm/x86.c,
 * kvm_main.c = virt/kvm/kvm_main.c, gmem = virt/kvm/guest_memfd.c). [D] marks the double's own
 * choice where the kernel's answer differs by version or is not pinned down: never kernel
 * behaviour. [FW] marks the double's model of the PSP firmware or the TDX module.
 *   KVM_CREATE_VM type not in vm_types ........................ -EINVAL  x86.c kvm_arch_init_vm
 *   MEMORY_ENCRYPT_OP on a VM type without it ................. -ENOTTY  x86.c kvm_arch_vm_ioctl
 *   KVM_SEV_INIT2 on a VM of type 0/1 ......................... -EINVAL  sev.c sev_guest_init2
 *   SNP: INIT2 twice, after a vCPU, flags, unsupported
 *        vmsa_features, ghcb_version > 2, pads ................ -EINVAL  sev.c sev_guest_init2, __sev_guest_init
 *   SNP: LAUNCH_START before INIT2 ............................ -ENOTTY  sev.c snp_launch_start (!sev_snp_guest)
 *   SNP: LAUNCH_START twice, flags, policy bit 17 or SMT clear,
 *        SINGLE_SOCKET, bits outside ABI|16|17|19|20 .......... -EINVAL  sev.c snp_launch_start (6.11..6.16;
 *        later kernels check snp_supported_policy_bits)
 *   SNP: LAUNCH_START with sev_fd not an open /dev/sev ........ -ENOTTY  sev.c snp_context_create ->
 *        __sev_issue_cmd -> sev_issue_cmd_external_user (-EBADF, reported as -ENOTTY by 6.11..6.18)
 *   SNP: LAUNCH_UPDATE with sev_fd not /dev/sev ............... -EIO, error 0  sev.c sev_gmem_post_populate
 *   SNP: LAUNCH_UPDATE before LAUNCH_START .................... -EINVAL  sev.c snp_launch_update (!snp_context)
 *   SNP: LAUNCH_UPDATE after FINISH ........................... -EINVAL  [D] (the real firmware refuses it)
 *   SNP: LAUNCH_UPDATE len 0 / not 4K multiple, flags/pads,
 *        unknown page type, gfn outside a guest_memfd slot .... -EINVAL  sev.c snp_launch_update
 *   SNP: LAUNCH_UPDATE on a page not PRIVATE, or added before . -EINVAL  gmem kvm_gmem_populate,
 *        sev.c sev_gmem_post_populate (RMP already private)
 *   SNP: LAUNCH_UPDATE uaddr unaligned or outside the slot's
 *        shared mapping ....................................... -EFAULT  [D] (KVM copies from any uaddr)
 *   SNP: LAUNCH_UPDATE firmware failure ....................... -EIO, error = status  sev.c snp_launch_update
 *   SNP: CPUID page refused (0xD.0/0xD.1 EBX not 0x240 for
 *        XCR0_IN 1; bits a test forbids) ...................... -EIO, INVALID_PARAM, corrected page written
 *        back to uaddr, parameters unchanged  sev.c sev_gmem_post_populate; the check itself [FW]
 *   SNP: LAUNCH_FINISH before START, twice, no vCPU, flags ..... -EINVAL  sev.c snp_launch_finish [D for
 *        "no vCPU"]; auth_key_en without id_block_en -EINVAL [FW]
 *   SNP: LAUNCH_FINISH id_block_en without id_auth_uaddr ...... -EFAULT  sev.c snp_launch_finish
 *        (psp_copy_user_blob of both blocks)
 *   SNP: LAUNCH_FINISH with sev_fd not /dev/sev ............... -EBADF   sev.c snp_launch_update_vmsa
 *   SNP: ENABLE_REQ_CERTS unknown / before INIT2 / after a vCPU  -EINVAL  sev.c (v7.0), the KVM_SEV_SNP_ENABLE_REQ_CERTS handler
 *   KVM_CREATE_VCPU after SNP FINISH / TDX FINALIZE ........... -EINVAL  [D]
 *   TDX: KVM_CREATE_VCPU before INIT_VM ....................... -EIO     tdx.c tdx_vcpu_create (a later
 *        series drops that check: kd_config.tdx_vcpu_before_init_vm, after which INIT_VM is -EBUSY)
 *   TDX: KVM_CREATE_VCPU without the split irqchip ............ -EINVAL  tdx.c tdx_vcpu_create (an in-kernel
 *        IOAPIC is accepted by KVM_CREATE_IRQCHIP; the vCPU is refused)
 *   ENABLE_CAP(SPLIT_IRQCHIP) with an irqchip / after a vCPU .. -EEXIST / -EINVAL  x86.c kvm_vm_ioctl_enable_cap
 *   TDX: cmd with hw_error != 0, or flags where none are known  -EINVAL  tdx.c tdx_vm_ioctl, tdx_vcpu_ioctl
 *   TDX: CAPABILITIES with cpuid.nent too small ............... -E2BIG (nent untouched)  tdx.c tdx_get_capabilities
 *   TDX: CAPABILITIES entries: no flags, exact (leaf, subleaf),
 *        0x80000008 EAX[23:16] = 0xff ......................... tdx.c td_init_cpuid_entry2; which leaves [D]
 *   TDX: INIT_VM twice, reserved != 0 ......................... -EINVAL  tdx.c tdx_td_init
 *   TDX: INIT_VM cpuid.nent > 256 ............................. -E2BIG   tdx.c tdx_td_init
 *   TDX: INIT_VM once vCPUs exist ............................. -EBUSY   tdx.c setup_tdparams
 *   TDX: INIT_VM attributes / XFAM outside the capabilities ... -EINVAL  tdx.c setup_tdparams
 *   TDX: INIT_VM without 0x80000008, or its EAX[23:16] not 48
 *        (52 needs 5-level EPT, which the double lacks) ....... -EINVAL  tdx.c setup_tdparams_eptp_controls
 *   TDX: INIT_VM entries not all matched by a capability entry
 *        (first INIT_VM entry per capability, by the INIT_VM
 *        entry's own SIGNIFCANT_INDEX flag) ................... -EINVAL  tdx.c setup_tdparams_cpuids,
 *        cpuid.c kvm_find_cpuid_entry2
 *   TDX: INIT_VM bits outside a configurable mask ............. -EINVAL, hw_error OPERAND_INVALID  [FW] TDH.MNG.INIT
 *   TDX: INIT_VM with the VM's TSC outside 100 MHz..10 GHz .... -EINVAL, hw_error  [FW] TDH.MNG.INIT
 *   TDX: GET_CPUID: INIT_VM's values as KVM passed them, the
 *        XFAM-dependent bits (AVX, 0xD.0), guest PA width 48 .. tdx.c tdx_vcpu_get_cpuid, tdx_read_cpuid; the
 *        module's computation [FW]; fixed-1/fixed-0 bits a test sets [FW]
 *   TDX: GET_CPUID on the VM fd -EINVAL; nent too small -E2BIG
 *        with nent updated .................................... tdx.c tdx_vcpu_ioctl, tdx_vcpu_get_cpuid
 *   TDX: GET_CPUID with flags != 0 ............................ -EINVAL  [D] (6.16 ignores them)
 *   TDX: INIT_VCPU twice ...................................... -EINVAL  tdx.c tdx_vcpu_init
 *   TDX: INIT_MEM_REGION on the VM fd, unaligned source/gpa,
 *        nr_pages 0, range not PRIVATE or not guest_memfd,
 *        page added twice ..................................... -EINVAL  tdx.c tdx_vcpu_init_mem_region,
 *        gmem kvm_gmem_populate
 *   TDX: INIT_MEM_REGION while some vCPU lacks INIT_VCPU ...... -EINVAL  [D] (KVM checks the calling vCPU)
 *   TDX: INIT_MEM_REGION busy: the page stays premapped ....... -EAGAIN  tdx.c tdx_vcpu_init_mem_region
 *   TDX: FINALIZE with a premapped page never added ........... -EINVAL  tdx.c tdx_td_finalize (nr_premapped)
 *   TDX: anything but KVM_RUN / attributes after FINALIZE ..... -EINVAL  tdx.c tdx_vm_ioctl, tdx_vcpu_ioctl
 *   SNP: GHCB MSR Page State Change (request 0x014): op not 1/2,
 *        or MAP_GPA_RANGE exits not enabled: response
 *        PSC_RESP_ERROR (bit 63 | 0x015), no exit; else
 *        KVM_EXIT_HYPERCALL(MAP_GPA_RANGE, gpa, 1, ENCRYPTED or
 *        DECRYPTED | PAGE_SZ_4K); the next KVM_RUN answers 0x015
 *        if hypercall.ret is 0, else PSC_RESP_ERROR ............ sev.c snp_begin_psc_msr, snp_complete_psc_msr
 *        (6.11+); the stub's PVALIDATE after it succeeds on a page that is PRIVATE and was not
 *        in the launch (an RMP entry the launch validated gives "no update") [FW]
 *   TDX: MapGPA: KVM_EXIT_HYPERCALL chunks of <= 2 MiB; ret 0
 *        goes on, -EBUSY = RETRY, -EINVAL = INVALID_OPERAND,
 *        else KVM_RUN -EINVAL; an interrupt pending = RETRY ... tdx.c __tdx_map_gpa, tdx_complete_vmcall_map_gpa
 *   VM KVM_SET/GET_TSC_KHZ without KVM_CAP_VM_TSC_CONTROL ..... -ENOTTY  [D] (a kernel before the VM ioctl)
 *   VM KVM_SET_TSC_KHZ after KVM_CREATE_VCPU .................. -EINVAL  x86.c kvm_arch_vm_ioctl (6.17+)
 *   TDX: VM KVM_SET_TSC_KHZ after INIT_VM, or not whole 25 MHz  -EINVAL  [D] (KVM accepts it; the TD's
 *        frequency was fixed at INIT_VM / truncated to 25 MHz units there)
 *   guest_memfd: unsupported flags, size 0 or not 4K multiple . -EINVAL  gmem kvm_gmem_create
 *   SET_USER_MEMORY_REGION2: unaligned, gmem with READONLY or
 *        LOG_DIRTY, gmem range too small or bound twice ....... -EINVAL  kvm_main.c kvm_set_memory_region,
 *        gmem kvm_gmem_bind; bad gmem fd -EBADF; overlap -EEXIST; a private VM's slot without gmem -EINVAL
 *   SET_USER_MEMORY_REGION (v1) on a private-memory VM ........ -EINVAL  [D]
 *   SET_MEMORY_ATTRIBUTES: flags, unsupported attribute, empty,
 *        unaligned, wrapping .................................. -EINVAL  kvm_main.c kvm_vm_ioctl_set_mem_attributes
 *   ENABLE_CAP(APIC_BUS_CYCLES_NS) after a vCPU ............... -EINVAL  x86.c kvm_vm_ioctl_enable_cap;
 *        != 40 on a TD -EINVAL [D]
 *   KVM_RUN before FINISH / FINALIZE .......................... -EINVAL  [D]
 *   KVM_CREATE_IRQCHIP twice -EEXIST; after a vCPU -EINVAL .... x86.c kvm_arch_vm_ioctl
 *   KVM_IRQFD without an in-kernel irqchip .................... -EINVAL  x86.c kvm_arch_irqfd_allowed
 *   KVM_SET_GSI_ROUTING without irqchip, flags, > 4096 entries,
 *        an irqchip pin on a split irqchip .................... -EINVAL  kvm_main.c, irq_comm.c
 *        kvm_set_routing_entry; a non-APIC MSI address [D]
 *   KVM_SIGNAL_MSI without a local APIC, flags ................ -EINVAL  x86.c; a non-APIC address [D]
 *   KVM_RUN completing SNP_REQ_CERTS with ret not 0/ENOSPC/
 *        EAGAIN/EIO ........................................... -EINVAL  sev.c (v7.0), the completion of KVM_EXIT_SNP_REQ_CERTS
 *   SNP: an AP's KVM_RUN (in-kernel irqchip, vCPU id > 0) before
 *        the guest's AP creation ............................. blocks; -EINTR on a signal
 *        x86.c kvm_arch_vcpu_create (UNINITIALIZED), sev.c sev_snp_ap_creation (a request with
 *        an unknown APIC ID, SEV features other than the VM's or an unaligned VMSA GPA goes back
 *        to the guest, nothing changes; CREATE makes the target runnable)
 *   KVM_RUN with immediate_exit set: completes a pending exit,
 *        then ................................................. -EINTR   x86.c kvm_arch_vcpu_ioctl_run
 *   KVM_GET_DEVICE_ATTR(/dev/kvm) group SEV: VMSA_FEATURES, and
 *        SNP_REQ_CERTS where the kernel has it; else .......... -ENXIO   sev.c sev_dev_get_attr
 *   /dev/sev: SNP_PLATFORM_STATUS answers 1.55 ................ [D] other requests -ENOTTY
 *   Plain VMs (type 0), the set-up carapace's vm_create issues:
 *   KVM_SET_TSS_ADDR above 4 GiB - 3 pages .................... -EINVAL  x86.c kvm_vm_ioctl_set_tss_addr
 *   KVM_SET_IDENTITY_MAP_ADDR after KVM_CREATE_VCPU ........... -EINVAL  x86.c kvm_arch_vm_ioctl
 *        (kvm->created_vcpus); a NULL address pointer -EFAULT (copy_from_user)
 *   KVM_CREATE_PIT2 a second time ............................. -EEXIST  x86.c kvm_arch_vm_ioctl (vpit);
 *        a NULL config -EFAULT (copy_from_user)
 *   KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR, KVM_CREATE_PIT2
 *        on a private-memory VM ............................... -ENOTTY  [D] (KVM accepts them; carapace
 *        issues them for plain VMs only, and the double keeps them out of the confidential model)
 *   fds: ioctl or mmap on a closed fd -EBADF, as the kernel; a close of an fd that is not open
 *        (never handed out, or closed before) is counted (kd_bad_closes), a kvm_run area unmapped
 *        that is not mapped too (kd_bad_unmaps) [D]: the kernel's close() returns -EBADF, which
 *        carapace's close op cannot report
 *   any other ioctl ........................................... -ENOTTY  [D] (fail closed)
 *
 * VMSA model (how KVM derives each vCPU's VMSA at SNP_LAUNCH_FINISH, sev_es_sync_vmsa): the save
 * area from the vCPU's state — segments and descriptor tables from KVM_SET_SREGS (attributes
 * packed type|S<<4|DPL<<5|P<<7|AVL<<8|L<<9|DB<<10|G<<11), EFER | SVME, CR0 without CD/NW, CR4 |
 * MCE, CR3, GPRs/RIP/RFLAGS from KVM_SET_REGS, DR6 0xffff0ff0 and DR7 0x400 (KVM's values), PAT
 * at its reset value, XCR0 1, x87 FCW and MXCSR from KVM_SET_FPU (INIT2 VMs sync the FPU),
 * SEV_FEATURES = INIT2's vmsa_features | SNP_ACTIVE. A fresh vCPU holds KVM's reset state
 * (CS f000:fff0 base 0xffff0000, RDX 0x600, CR0 0x60000010). */
#include "tests/double/kvm_double.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <openssl/evp.h>

#include "tests/double/kd_uapi.h"

#define KD_FD_BASE 700
#define KD_MAX_OBJ 256
#define KD_MAX_VMS 8
#define KD_MAX_VCPUS 16
#define KD_MAX_SLOTS 16
#define KD_RUN_SIZE (3 * 4096)
#define KD_GPA_LIMIT (1ull << 36) /* the double tracks attributes below 64 GiB */
#define KD_PAGES (KD_GPA_LIMIT >> 12)
#define PG 4096ull
#define KD_SCRIPT_TDX_MAP_GPA 0xffff0001u /* a script entry that is a guest's MapGPA, not an exit */
#define KD_SCRIPT_SNP_AP_CREATION 0xffff0002u /* a guest's AP-creation VMGEXIT: handled in the kernel */
#define KD_SCRIPT_WAIT_AP_BLOCKED 0xffff0003u /* the guest spins until an AP's KVM_RUN is blocked */
#define KD_SCRIPT_SNP_PSC_MSR 0xffff0004u /* the validation stub's PSC + PVALIDATE loop over pages */

enum kd_kind { KD_FREE = 0, KD_KVM, KD_SEV, KD_VM, KD_VCPU, KD_GMEM };

struct kd_script {
	uint32_t reason;
	uint8_t payload[256];
	size_t len;
	int ret;
};

struct kd_vcpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	bool tdx_init;
	struct kvm_cpuid_entry2 cpuid[256]; /* the last KVM_SET_CPUID2 */
	unsigned cpuid_n;
	uint8_t *run;
	unsigned run_maps;  /* kd_mmap_run minus kd_munmap_run */
	struct kd_script script[8];
	unsigned n_script, next_script;
	bool certs_pending;   /* the last exit was KVM_EXIT_SNP_REQ_CERTS: the next KVM_RUN completes it */
	/* A TDX MapGPA in progress (tdx.c tdx_map_gpa): [map_next, map_end), to private or shared. */
	bool map_pending;
	uint64_t map_next, map_end;
	bool map_private;
	unsigned map_chunks;
	/* The SNP stub's GHCB MSR PSC loop in progress: [psc_next, psc_end), op; waiting for user
	 * space's answer to the page at psc_next. */
	bool psc_pending;
	uint64_t psc_next, psc_end;
	unsigned psc_op;
	/* SNP AP (KVM_MP_STATE_UNINITIALIZED until the guest creates it): KVM_RUN blocks until the
	 * BSP's AP creation writes to ap_wake[1], or a signal interrupts it. */
	bool ap_waiting;
	bool ap_blocked;      /* in the blocking poll (atomic) */
	int ap_wake[2];
};

struct kd_slot {
	bool used;
	uint32_t flags;
	uint64_t gpa, size, uaddr, gmem_off;
	int gmem;
};

struct kd_vm {
	int type;
	bool init2, started, finished;
	uint64_t vmsa_features;
	bool split_irqchip, caps_done, init_vm_done, finalized;
	bool irqchip; /* KVM_CREATE_IRQCHIP */
	bool pit;     /* KVM_CREATE_PIT2 */
	uint64_t caps_attrs, caps_xfam;
	uint32_t tsc_khz;     /* default TSC of vCPUs (VM-scope KVM_SET_TSC_KHZ), the host's at creation */
	struct kvm_cpuid_entry2 td_cpuid[256]; /* TDX: INIT_VM's CPUID, as GET_CPUID reports it */
	unsigned td_cpuid_n;
	uint8_t cpuid_page[4096];   /* SNP: the CPUID page the "firmware" accepted */
	unsigned nvcpus;
	int vcpu_obj[KD_MAX_VCPUS];
	struct kd_slot slots[KD_MAX_SLOTS];
	uint8_t *private_map; /* 1 bit per page: PRIVATE attribute */
	uint8_t *added_map;   /* 1 bit per page: already added to the launch */
	uint8_t *premapped_map; /* TDX: 1 bit per page mapped by INIT_MEM_REGION but not yet added */
	unsigned nr_premapped;
	uint8_t ld[48];
	EVP_MD_CTX *mrtd;
	uint8_t mrtd_final[48];
	struct kd_record rec;
};

struct kd_obj {
	enum kd_kind kind;
	int vm;       /* owning VM index (VCPU, GMEM) or own index (VM) */
	unsigned idx; /* vCPU index */
	uint64_t gmem_size, gmem_flags;
	struct kd_vcpu *vcpu;
	bool closed;  /* VM, vCPU: the fd is closed; the object stays for the records */
};

struct kvm_double {
	struct kd_config cfg;
	struct kd_obj obj[KD_MAX_OBJ];
	struct kd_vm *vms[KD_MAX_VMS];
	int last_snp_vm, last_tdx_vm, last_vm;
	unsigned calls_for_eagain;
	unsigned sev_fd_uses;  /* SEV commands that named an open /dev/sev */
	bool fw_error_done;    /* cfg.snp_update_fw_error was reported once */
	char refusal[512];
	unsigned n_refusals;
	unsigned bad_closes, bad_unmaps;
	EVP_MD_CTX *page_ctx;
	const EVP_MD *sha384;
};

/* The double's supported CPUID: a small, plausible AMD-like set. TDX capabilities list the same
 * leaves with their configurable bits. */
static const struct kvm_cpuid_entry2 kd_cpuid[] = {
	{ .function = 0, .eax = 0xd, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
	{ .function = 1, .eax = 0x800f12, .ebx = 0x800, .ecx = 0xf6d83203, .edx = 0x178bfbff },
	{ .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0x219c07a9 },
	{ .function = 0xd, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x7, .ebx = 0x340, .ecx = 0x340 },
	{ .function = 0x80000000, .eax = 0x8000001f, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
	{ .function = 0x80000001, .eax = 0x800f12, .ecx = 0x75c237ff, .edx = 0x2fd3fbff },
	{ .function = 0x80000008, .eax = 0x3030, .ebx = 0x200 }, /* KVM reports EAX[23:16] (guest PA width) 0 */
	{ .function = 0x8000001f, .eax = 0x1001b, .ebx = 0x5133 },
	{ .function = 7, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
	{ .function = 0xd, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x1 },
};

/* KVM_TDX_CAPABILITIES' CPUID: the (leaf, subleaf) pairs the double's "TDX module" lets the VMM
 * configure, with the configurable bits. As the kernel builds them (arch/x86/kvm/vmx/tdx.c
 * td_init_cpuid_entry2): no flags, a leaf without subleaves as subleaf 0, and 0x80000008
 * EAX[23:16] reported configurable (0xff), the interface for the guest-physical address width.
 * Which leaves a real module lists differs by module; these are the double's choice. AVX (1.ECX
 * bit 28) and leaf 0xD are not configurable: the module derives them from XFAM. */
static const struct kvm_cpuid_entry2 kd_tdx_caps[] = {
	{ .function = 1, .ecx = 0xe6d83203, .edx = 0x178bfbff },
	{ .function = 7, .ebx = 0x219c07a9 },
	{ .function = 7, .index = 1 },
	{ .function = 0x80000001, .ecx = 0x75c237ff, .edx = 0x2fd3fbff },
	{ .function = 0x80000008, .eax = 0x00ff0000 },
};
#define KD_TDX_CAPS_N (sizeof(kd_tdx_caps) / sizeof(kd_tdx_caps[0]))

void kd_config_default(struct kd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->vm_types = 1u << KD_KVM_X86_DEFAULT_VM | 1u << KD_KVM_X86_SNP_VM | 1u << KD_KVM_X86_TDX_VM;
	c->vmsa_features_supported = 1u << 5;
	c->cpu_sig = 0x800f12;
	c->snp_req_certs = true;
	c->vm_tsc_control = true;
	c->sev_dev = true; /* an SNP host has the PSP device */
	c->host_tsc_khz = 2100000;
	c->tdx_fixed1[0] = (struct kd_cpuid_bits){ .function = 1, .reg = 2, .bits = 1u << 21 }; /* x2APIC */
}

static int refuse(struct kvm_double *kd, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(struct kvm_double *kd, int e, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(kd->refusal, sizeof(kd->refusal), fmt, ap);
	va_end(ap);
	n = strlen(kd->refusal);
	snprintf(kd->refusal + n, sizeof(kd->refusal) - n, " (%s)", strerror(e));
	kd->n_refusals++;
	return -e;
}

struct kvm_double *kd_new(const struct kd_config *c)
{
	struct kvm_double *kd = calloc(1, sizeof(*kd));

	if (!kd)
		return NULL;
	kd->cfg = *c;
	kd->last_snp_vm = kd->last_tdx_vm = kd->last_vm = -1;
	kd->page_ctx = EVP_MD_CTX_new();
	kd->sha384 = EVP_sha384();
	if (!kd->page_ctx) {
		free(kd);
		return NULL;
	}
	return kd;
}

static void vm_free(struct kd_vm *vm)
{
	if (!vm)
		return;
	free(vm->private_map);
	free(vm->added_map);
	free(vm->premapped_map);
	EVP_MD_CTX_free(vm->mrtd);
	free(vm);
}

void kd_free(struct kvm_double *kd)
{
	if (!kd)
		return;
	for (unsigned i = 0; i < KD_MAX_OBJ; i++)
		if (kd->obj[i].vcpu) {
			if (kd->obj[i].vcpu->ap_wake[0] >= 0) {
				close(kd->obj[i].vcpu->ap_wake[0]);
				close(kd->obj[i].vcpu->ap_wake[1]);
			}
			free(kd->obj[i].vcpu->run);
			free(kd->obj[i].vcpu);
		}
	for (unsigned i = 0; i < KD_MAX_VMS; i++)
		vm_free(kd->vms[i]);
	EVP_MD_CTX_free(kd->page_ctx);
	free(kd);
}

const char *kd_last_refusal(const struct kvm_double *kd) { return kd->refusal; }
unsigned kd_refusals(const struct kvm_double *kd) { return kd->n_refusals; }
unsigned kd_sev_fd_uses(const struct kvm_double *kd) { return kd->sev_fd_uses; }

unsigned kd_open_fds(const struct kvm_double *kd, const char *path)
{
	unsigned n = 0;
	for (unsigned i = 0; i < KD_MAX_OBJ; i++)
		n += kd->obj[i].kind == (strcmp(path, "/dev/sev") ? KD_KVM : KD_SEV);
	return n;
}

/* ---- objects ---- */

static int obj_new(struct kvm_double *kd, enum kd_kind kind)
{
	for (int i = 0; i < KD_MAX_OBJ; i++)
		if (kd->obj[i].kind == KD_FREE) {
			memset(&kd->obj[i], 0, sizeof(kd->obj[i]));
			kd->obj[i].kind = kind;
			return i;
		}
	return -1;
}

static struct kd_obj *obj_get(struct kvm_double *kd, int fd)
{
	if (fd < KD_FD_BASE || fd >= KD_FD_BASE + KD_MAX_OBJ || kd->obj[fd - KD_FD_BASE].kind == KD_FREE)
		return NULL;
	return &kd->obj[fd - KD_FD_BASE];
}

static bool bit(const uint8_t *map, uint64_t page) { return map[page >> 3] & (1u << (page & 7)); }
static void bit_set(uint8_t *map, uint64_t page, bool v)
{
	if (v)
		map[page >> 3] |= (uint8_t)(1u << (page & 7));
	else
		map[page >> 3] &= (uint8_t)~(1u << (page & 7));
}

static bool private_vm(const struct kd_vm *vm)
{
	return vm->type == KD_KVM_X86_SNP_VM || vm->type == KD_KVM_X86_TDX_VM || vm->type == KD_KVM_X86_SW_PROTECTED_VM;
}

/* The fd a SEV command names in sev_fd is an open /dev/sev of this process (the PSP driver's
 * sev_issue_cmd_external_user() checks f_op == &sev_fops; any /dev/sev fd will do). */
static bool sev_fd_ok(struct kvm_double *kd, const struct kd_kvm_sev_cmd *c)
{
	const struct kd_obj *o = obj_get(kd, (int)c->sev_fd);
	if (o && o->kind == KD_SEV)
		kd->sev_fd_uses++;
	return o && o->kind == KD_SEV;
}

/* The guest_memfd slot holding [gpa, gpa+len), or NULL. */
static struct kd_slot *slot_find(struct kd_vm *vm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < KD_MAX_SLOTS; i++) {
		struct kd_slot *s = &vm->slots[i];
		if (s->used && gpa >= s->gpa && len <= s->size && gpa - s->gpa <= s->size - len)
			return s;
	}
	return NULL;
}

/* ---- /dev/kvm ---- */

static int cap_value(struct kvm_double *kd, struct kd_vm *vm, long cap)
{
	switch (cap) {
	case KD_KVM_CAP_VM_TYPES:
		return (int)kd->cfg.vm_types;
	case KD_KVM_CAP_GUEST_MEMFD:
	case KD_KVM_CAP_USER_MEMORY2:
	case KD_KVM_CAP_MEMORY_FAULT_INFO:
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_PIT2:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_SPLIT_IRQCHIP:
		return 1;
	case KD_KVM_CAP_MEMORY_ATTRIBUTES:
		return (!vm || private_vm(vm)) ? (int)KD_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	case KD_KVM_CAP_EXIT_HYPERCALL:
		return 1 << KD_KVM_HC_MAP_GPA_RANGE;
	case KVM_CAP_MAX_VCPUS:
		return KD_MAX_VCPUS;
	case KD_KVM_CAP_VM_TSC_CONTROL:
		return kd->cfg.vm_tsc_control;
	default:
		return 0;
	}
}

static int kvm_create_vm(struct kvm_double *kd, unsigned long type)
{
	struct kd_vm *vm;
	int slot = -1, o;

	if (type > 63 || !(kd->cfg.vm_types & (1ull << type)))
		return refuse(kd, EINVAL, "KVM_CREATE_VM: type %lu is not offered (KVM_CAP_VM_TYPES 0x%llx)", type,
			      (unsigned long long)kd->cfg.vm_types);
	for (int i = 0; i < KD_MAX_VMS; i++)
		if (!kd->vms[i]) {
			slot = i;
			break;
		}
	if (slot < 0 || (o = obj_new(kd, KD_VM)) < 0)
		return refuse(kd, ENOMEM, "KVM_CREATE_VM: double out of VMs");
	vm = calloc(1, sizeof(*vm));
	if (!vm || !(vm->private_map = calloc(1, KD_PAGES / 8)) || !(vm->added_map = calloc(1, KD_PAGES / 8)) ||
	    !(vm->premapped_map = calloc(1, KD_PAGES / 8))) {
		vm_free(vm);
		kd->obj[o].kind = KD_FREE;
		return -ENOMEM;
	}
	vm->type = (int)type;
	vm->rec.vm_type = (int)type;
	vm->tsc_khz = kd->cfg.host_tsc_khz;
	kd->vms[slot] = vm;
	kd->obj[o].vm = slot;
	kd->last_vm = slot;
	if (type == KD_KVM_X86_SNP_VM)
		kd->last_snp_vm = slot;
	if (type == KD_KVM_X86_TDX_VM)
		kd->last_tdx_vm = slot;
	return KD_FD_BASE + o;
}

static int kvm_ioctl(struct kvm_double *kd, unsigned long req, void *arg)
{
	switch (req) {
	case KVM_GET_API_VERSION:
		return 12;
	case KVM_CHECK_EXTENSION:
		return cap_value(kd, NULL, (long)arg);
	case KVM_CREATE_VM:
		return kvm_create_vm(kd, (unsigned long)arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		return KD_RUN_SIZE;
	case KVM_GET_DEVICE_ATTR: {
		struct kvm_device_attr *a = arg;
		uint64_t val;
		if (a->group != KD_KVM_X86_GRP_SEV)
			return refuse(kd, ENXIO, "KVM_GET_DEVICE_ATTR: group %u", a->group);
		if (a->attr == KD_KVM_X86_SEV_VMSA_FEATURES)
			val = kd->cfg.vmsa_features_supported;
		else if (a->attr == KD_KVM_X86_SEV_SNP_REQ_CERTS && kd->cfg.snp_req_certs)
			val = 1;
		else
			return refuse(kd, ENXIO, "KVM_GET_DEVICE_ATTR: SEV attribute %llu", (unsigned long long)a->attr);
		memcpy((void *)(uintptr_t)a->addr, &val, sizeof(val));
		return 0;
	}
	case KVM_GET_SUPPORTED_CPUID: {
		struct kvm_cpuid2 *c = arg;
		size_t n = sizeof(kd_cpuid) / sizeof(kd_cpuid[0]);
		if (c->nent < n) {
			c->nent = (uint32_t)n;
			return refuse(kd, E2BIG, "KVM_GET_SUPPORTED_CPUID: nent too small");
		}
		c->nent = (uint32_t)n;
		memcpy(c->entries, kd_cpuid, sizeof(kd_cpuid));
		c->entries[1].eax = kd->cfg.cpu_sig;
		return 0;
	}
	default:
		return refuse(kd, ENOTTY, "/dev/kvm: ioctl 0x%lx not modelled", req);
	}
}

/* ---- memory ---- */

static int vm_create_gmem(struct kvm_double *kd, int vmi, struct kd_kvm_create_guest_memfd *g)
{
	int o;

	if (g->flags & ~kd->cfg.gmem_flags_supported)
		return refuse(kd, EINVAL, "KVM_CREATE_GUEST_MEMFD: flags 0x%llx not supported (0x%llx)",
			      (unsigned long long)g->flags, (unsigned long long)kd->cfg.gmem_flags_supported);
	if ((g->flags & KD_GUEST_MEMFD_FLAG_INIT_SHARED) && private_vm(kd->vms[vmi]))
		return refuse(kd, EINVAL, "KVM_CREATE_GUEST_MEMFD: INIT_SHARED on a VM with private memory");
	if (g->size == 0 || g->size % PG)
		return refuse(kd, EINVAL, "KVM_CREATE_GUEST_MEMFD: size 0x%llx is not a non-zero multiple of 4 KiB",
			      (unsigned long long)g->size);
	if ((o = obj_new(kd, KD_GMEM)) < 0)
		return -EMFILE;
	kd->obj[o].vm = vmi;
	kd->obj[o].gmem_size = g->size;
	kd->obj[o].gmem_flags = g->flags;
	return KD_FD_BASE + o;
}

static int vm_set_region2(struct kvm_double *kd, struct kd_vm *vm, int vmi, struct kd_kvm_userspace_memory_region2 *m)
{
	bool gmem = m->flags & KD_KVM_MEM_GUEST_MEMFD;
	struct kd_obj *g = NULL;

	if (m->slot >= KD_MAX_SLOTS)
		return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION2: slot %u out of range", m->slot);
	if (m->flags & ~(uint32_t)(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KD_KVM_MEM_GUEST_MEMFD))
		return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION2: unknown flags 0x%x", m->flags);
	if (gmem && (m->flags & (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)))
		return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION2: GUEST_MEMFD with READONLY/LOG_DIRTY_PAGES");
	if ((m->guest_phys_addr | m->memory_size | m->userspace_addr) % PG)
		return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION2: gpa 0x%llx size 0x%llx uaddr 0x%llx not page aligned",
			      (unsigned long long)m->guest_phys_addr, (unsigned long long)m->memory_size,
			      (unsigned long long)m->userspace_addr);
	if (m->memory_size == 0) {
		memset(&vm->slots[m->slot], 0, sizeof(vm->slots[m->slot]));
		return 0;
	}
	if (private_vm(vm) && vm->type != KD_KVM_X86_SW_PROTECTED_VM && !gmem)
		return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION2: slot %u of a %s VM without KVM_MEM_GUEST_MEMFD",
			      m->slot, vm->type == KD_KVM_X86_SNP_VM ? "SNP" : "TDX");
	if (gmem) {
		g = obj_get(kd, (int)m->guest_memfd);
		if (!g || g->kind != KD_GMEM)
			return refuse(kd, EBADF, "KVM_SET_USER_MEMORY_REGION2: guest_memfd %u is not a guest_memfd", m->guest_memfd);
		if (g->vm != vmi)
			return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION2: guest_memfd %u belongs to another VM", m->guest_memfd);
		if (m->guest_memfd_offset % PG || m->guest_memfd_offset > g->gmem_size ||
		    m->memory_size > g->gmem_size - m->guest_memfd_offset)
			return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION2: guest_memfd range 0x%llx+0x%llx outside its 0x%llx bytes",
				      (unsigned long long)m->guest_memfd_offset, (unsigned long long)m->memory_size,
				      (unsigned long long)g->gmem_size);
		for (unsigned i = 0; i < KD_MAX_SLOTS; i++) {
			struct kd_slot *s = &vm->slots[i];
			if (i != m->slot && s->used && (s->flags & KD_KVM_MEM_GUEST_MEMFD) && s->gmem == (int)m->guest_memfd &&
			    m->guest_memfd_offset < s->gmem_off + s->size && s->gmem_off < m->guest_memfd_offset + m->memory_size)
				return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION2: guest_memfd range already bound to slot %u", i);
		}
	}
	if (m->guest_phys_addr + m->memory_size > KD_GPA_LIMIT)
		return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION2: beyond the double's 64 GiB");
	for (unsigned i = 0; i < KD_MAX_SLOTS; i++) {
		struct kd_slot *s = &vm->slots[i];
		if (i != m->slot && s->used && m->guest_phys_addr < s->gpa + s->size && s->gpa < m->guest_phys_addr + m->memory_size)
			return refuse(kd, EEXIST, "KVM_SET_USER_MEMORY_REGION2: slot %u overlaps slot %u", m->slot, i);
	}
	vm->slots[m->slot] = (struct kd_slot){ true, m->flags, m->guest_phys_addr, m->memory_size, m->userspace_addr,
					       m->guest_memfd_offset, gmem ? (int)m->guest_memfd : -1 };
	return 0;
}

static int vm_set_attrs(struct kvm_double *kd, struct kd_vm *vm, struct kd_kvm_memory_attributes *a)
{
	uint64_t supported = private_vm(vm) ? KD_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;

	vm->rec.n_attr_calls++;
	if (a->flags)
		return refuse(kd, EINVAL, "KVM_SET_MEMORY_ATTRIBUTES: flags 0x%llx must be 0", (unsigned long long)a->flags);
	if (a->attributes & ~supported)
		return refuse(kd, EINVAL, "KVM_SET_MEMORY_ATTRIBUTES: attributes 0x%llx not supported (0x%llx)",
			      (unsigned long long)a->attributes, (unsigned long long)supported);
	if (a->size == 0 || a->address + a->size < a->address || (a->address | a->size) % PG)
		return refuse(kd, EINVAL, "KVM_SET_MEMORY_ATTRIBUTES: range 0x%llx+0x%llx not page aligned, empty or wrapping",
			      (unsigned long long)a->address, (unsigned long long)a->size);
	if (a->address + a->size > KD_GPA_LIMIT)
		return refuse(kd, EINVAL, "KVM_SET_MEMORY_ATTRIBUTES: beyond the double's 64 GiB");
	for (uint64_t p = a->address / PG; p < (a->address + a->size) / PG; p++)
		bit_set(vm->private_map, p, a->attributes & KD_KVM_MEMORY_ATTRIBUTE_PRIVATE);
	return 0;
}

/* ---- SNP ---- */

static void snp_extend(struct kvm_double *kd, struct kd_vm *vm, const uint8_t contents[48], uint8_t type, uint64_t gpa)
{
	uint8_t info[0x70] = { 0 };
	unsigned int n = 0;

	/* PAGE_INFO (SNP firmware ABI): DIGEST_CUR, CONTENTS, LENGTH 0x70, PAGE_TYPE, IMI 0,
	 * VMPL3..1 permissions 0, GPA at 0x68. */
	memcpy(info, vm->ld, 48);
	memcpy(info + 0x30, contents, 48);
	info[0x60] = 0x70;
	info[0x62] = type;
	for (int i = 0; i < 8; i++)
		info[0x68 + i] = (uint8_t)(gpa >> (8 * i));
	EVP_DigestInit_ex(kd->page_ctx, kd->sha384, NULL);
	EVP_DigestUpdate(kd->page_ctx, info, sizeof(info));
	EVP_DigestFinal_ex(kd->page_ctx, vm->ld, &n);
	vm->rec.pages_measured++;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* The PSP's check of an SNP CPUID page, as the double models it (SNP firmware ABI, SNP_LAUNCH_UPDATE
 * of a CPUID page: the firmware compares each entry with what the CPU allows and, refusing the page,
 * returns the corrected one). The double corrects two things: leaf 0xD subleaves 0 and 1 given
 * for XCR0_IN = 1, XSS_IN = 0 must report the XSAVE size of that state, 0x240; and the bits a test
 * configured as not allowed (kd_config.snp_cpuid_reject). Returns the number of entries corrected. */
static int snp_cpuid_check(struct kvm_double *kd, uint8_t *page, uint32_t count)
{
	int fixed = 0;

	for (uint32_t i = 0; i < count && i < 64; i++) {
		uint8_t *f = page + 16 + 48 * i;
		uint32_t fn = get32(f), idx = get32(f + 4);
		bool changed = false;
		if (fn == 0xd && idx <= 1 && get64(f + 8) == 1 && get64(f + 16) == 0 && get32(f + 28) != 0x240) {
			put32(f + 28, 0x240);
			changed = true;
		}
		for (unsigned k = 0; k < 2; k++) {
			const struct kd_cpuid_bits *b = &kd->cfg.snp_cpuid_reject[k];
			if (b->bits && b->reg < 4 && b->function == fn && b->index == idx && (get32(f + 24 + 4 * b->reg) & b->bits)) {
				put32(f + 24 + 4 * b->reg, get32(f + 24 + 4 * b->reg) & ~b->bits);
				changed = true;
			}
		}
		fixed += changed;
	}
	return fixed;
}

static bool eagain_now(struct kvm_double *kd)
{
	return kd->cfg.eagain_every && ++kd->calls_for_eagain % kd->cfg.eagain_every == 0;
}

static int snp_launch_update(struct kvm_double *kd, struct kd_vm *vm, struct kd_kvm_sev_cmd *c,
			     struct kd_kvm_sev_snp_launch_update *u)
{
	uint64_t npages, done = 0;
	struct kd_slot *s;
	bool zero = u->type == KD_KVM_SEV_SNP_PAGE_TYPE_ZERO;

	vm->rec.launch_update_calls++;
	if (!vm->started || vm->finished)
		return refuse(kd, EINVAL, "SNP_LAUNCH_UPDATE: %s", vm->finished ? "after SNP_LAUNCH_FINISH" : "before SNP_LAUNCH_START");
	if (u->flags || u->pad0 || u->pad1 || u->pad2[0] || u->pad2[1] || u->pad2[2] || u->pad2[3])
		return refuse(kd, EINVAL, "SNP_LAUNCH_UPDATE: flags/padding must be 0");
	if (u->len == 0 || u->len % PG)
		return refuse(kd, EINVAL, "SNP_LAUNCH_UPDATE: len 0x%llx is not a non-zero multiple of 4 KiB",
			      (unsigned long long)u->len);
	switch (u->type) {
	case KD_KVM_SEV_SNP_PAGE_TYPE_NORMAL:
	case KD_KVM_SEV_SNP_PAGE_TYPE_ZERO:
	case KD_KVM_SEV_SNP_PAGE_TYPE_UNMEASURED:
	case KD_KVM_SEV_SNP_PAGE_TYPE_SECRETS:
	case KD_KVM_SEV_SNP_PAGE_TYPE_CPUID:
		break;
	default:
		return refuse(kd, EINVAL, "SNP_LAUNCH_UPDATE: page type %u is not valid", u->type);
	}
	npages = u->len / PG;
	if (u->gfn_start > KD_PAGES || npages > KD_PAGES - u->gfn_start)
		return refuse(kd, EINVAL, "SNP_LAUNCH_UPDATE: gfn 0x%llx beyond guest memory", (unsigned long long)u->gfn_start);
	s = slot_find(vm, u->gfn_start * PG, u->len);
	if (!s || !(s->flags & KD_KVM_MEM_GUEST_MEMFD))
		return refuse(kd, EINVAL, "SNP_LAUNCH_UPDATE: gfn 0x%llx+%llu pages is not inside one guest_memfd slot",
			      (unsigned long long)u->gfn_start, (unsigned long long)npages);
	if (!zero && (u->uaddr % PG || u->uaddr < s->uaddr || u->len > s->size ||
		      u->uaddr - s->uaddr > s->size - u->len))
		return refuse(kd, EFAULT, "SNP_LAUNCH_UPDATE: uaddr 0x%llx (len 0x%llx) is not page aligned inside slot's "
			      "shared mapping 0x%llx+0x%llx", (unsigned long long)u->uaddr, (unsigned long long)u->len,
			      (unsigned long long)s->uaddr, (unsigned long long)s->size);
	for (uint64_t p = 0; p < npages; p++) {
		if (!bit(vm->private_map, u->gfn_start + p))
			return refuse(kd, EINVAL, "SNP_LAUNCH_UPDATE: gfn 0x%llx is not PRIVATE",
				      (unsigned long long)(u->gfn_start + p));
		if (bit(vm->added_map, u->gfn_start + p))
			return refuse(kd, EINVAL, "SNP_LAUNCH_UPDATE: gfn 0x%llx was already added",
				      (unsigned long long)(u->gfn_start + p));
	}
	/* sev.c:snp_launch_update -> kvm_gmem_populate -> sev_gmem_post_populate issues each page
	 * through __sev_issue_cmd(sev_populate_args->sev_fd); its failure comes back as -EIO with
	 * argp->error = the firmware status (0 here: the PSP was never reached). */
	if (!sev_fd_ok(kd, c)) {
		c->error = 0;
		return refuse(kd, EIO, "SNP_LAUNCH_UPDATE: sev_fd %u is not an open /dev/sev", c->sev_fd);
	}
	/* sev.c snp_launch_update: a firmware failure of SNP_LAUNCH_UPDATE comes back as -EIO with
	 * argp->error = the firmware status (sev_gmem_post_populate's fw_error), nothing done. */
	if (kd->cfg.snp_update_fw_error && u->type == KD_KVM_SEV_SNP_PAGE_TYPE_NORMAL && !kd->fw_error_done) {
		kd->fw_error_done = true;
		c->error = kd->cfg.snp_update_fw_error;
		return refuse(kd, EIO, "SNP_LAUNCH_UPDATE: the firmware failed the command (status 0x%x)", c->error);
	}
	if (eagain_now(kd))
		return -EAGAIN;
	if (kd->cfg.max_pages_per_call && npages > kd->cfg.max_pages_per_call)
		npages = kd->cfg.max_pages_per_call;
	for (; done < npages; done++) {
		uint8_t contents[48] = { 0 };
		const uint8_t *src = zero ? NULL : (const uint8_t *)(uintptr_t)(u->uaddr + done * PG);
		unsigned int n = 0;

		if (u->type == KD_KVM_SEV_SNP_PAGE_TYPE_NORMAL) {
			EVP_DigestInit_ex(kd->page_ctx, kd->sha384, NULL);
			EVP_DigestUpdate(kd->page_ctx, src, PG);
			EVP_DigestFinal_ex(kd->page_ctx, contents, &n);
		}
		if (u->type == KD_KVM_SEV_SNP_PAGE_TYPE_CPUID) {
			uint32_t count = get32(src);
			int fixed = snp_cpuid_check(kd, (uint8_t *)(uintptr_t)(u->uaddr + done * PG), count);
			if (count > 64 || fixed) {
				/* sev.c sev_gmem_post_populate: a refused CPUID page (INVALID_PARAM) is copied back
				 * to the source with the firmware's corrections. kvm_gmem_populate reports the pages
				 * done before it, or the error when it was the first: snp_launch_update then returns
				 * -EIO with the status and leaves the parameters as they were. */
				if (done)
					break;
				c->error = KD_SEV_RET_INVALID_PARAM;
				vm->rec.cpuid_page_refusals++;
				return refuse(kd, EIO, "SNP_LAUNCH_UPDATE: the firmware refused the CPUID page (%u entries, %d corrected)",
					      count, fixed);
			}
			vm->rec.cpuid_page_count = count;
			memcpy(vm->cpuid_page, src, PG);
		}
		snp_extend(kd, vm, contents, u->type, (u->gfn_start + done) * PG);
		bit_set(vm->added_map, u->gfn_start + done, true);
	}
	u->gfn_start += done;
	u->len -= done * PG;
	if (!zero)
		u->uaddr += done * PG;
	return 0;
}



static void vmsa_seg(uint8_t *p, const struct kvm_segment *s)
{
	uint16_t attr = (uint16_t)((s->type & 0xf) | (s->s & 1) << 4 | (s->dpl & 3) << 5 | (s->present & 1) << 7 |
				   (s->avl & 1) << 8 | (s->l & 1) << 9 | (s->db & 1) << 10 | (s->g & 1) << 11);
	put16(p, s->selector);
	put16(p + 2, attr);
	put32(p + 4, s->limit);
	put64(p + 8, s->base);
}

static void vmsa_dt(uint8_t *p, const struct kvm_dtable *d)
{
	put32(p + 4, d->limit);
	put64(p + 8, d->base);
}

/* sev_es_sync_vmsa as the double models it (see the top of this file). */
static void vmsa_from_vcpu(const struct kd_vm *vm, const struct kd_vcpu *v, uint8_t page[4096])
{
	const struct kvm_sregs *s = &v->sregs;
	const struct kvm_regs *r = &v->regs;

	memset(page, 0, 4096);
	vmsa_seg(page + 0x00, &s->es);
	vmsa_seg(page + 0x10, &s->cs);
	vmsa_seg(page + 0x20, &s->ss);
	vmsa_seg(page + 0x30, &s->ds);
	vmsa_seg(page + 0x40, &s->fs);
	vmsa_seg(page + 0x50, &s->gs);
	vmsa_dt(page + 0x60, &s->gdt);
	vmsa_seg(page + 0x70, &s->ldt);
	vmsa_dt(page + 0x80, &s->idt);
	vmsa_seg(page + 0x90, &s->tr);
	put64(page + 0xd0, s->efer | (1u << 12));           /* EFER.SVME */
	put64(page + 0x148, s->cr4 | (1u << 6));            /* CR4.MCE */
	put64(page + 0x150, s->cr3);
	put64(page + 0x158, s->cr0 & ~0x60000000ull);       /* CD, NW cleared */
	put64(page + 0x160, 0x400);
	put64(page + 0x168, 0xffff0ff0);
	put64(page + 0x170, r->rflags);
	put64(page + 0x178, r->rip);
	put64(page + 0x1d8, r->rsp);
	put64(page + 0x1f8, r->rax);
	put64(page + 0x268, 0x0007040600070406ull);          /* PAT at reset */
	put64(page + 0x308, r->rcx);
	put64(page + 0x310, r->rdx);
	put64(page + 0x318, r->rbx);
	put64(page + 0x328, r->rbp);
	put64(page + 0x330, r->rsi);
	put64(page + 0x338, r->rdi);
	put64(page + 0x340, r->r8);
	put64(page + 0x348, r->r9);
	put64(page + 0x350, r->r10);
	put64(page + 0x358, r->r11);
	put64(page + 0x360, r->r12);
	put64(page + 0x368, r->r13);
	put64(page + 0x370, r->r14);
	put64(page + 0x378, r->r15);
	put64(page + 0x3b0, vm->vmsa_features | 1);         /* SEV_FEATURES: SNP_ACTIVE */
	put64(page + 0x3e8, 1);                              /* XCR0 */
	put32(page + 0x408, v->fpu.mxcsr);
	put16(page + 0x410, v->fpu.fcw);
}

static int snp_launch_finish(struct kvm_double *kd, struct kd_vm *vm, const struct kd_kvm_sev_cmd *c,
			     struct kd_kvm_sev_snp_launch_finish *f)
{
	if (!vm->started)
		return refuse(kd, EINVAL, "SNP_LAUNCH_FINISH: before SNP_LAUNCH_START");
	if (vm->finished)
		return refuse(kd, EINVAL, "SNP_LAUNCH_FINISH: the launch is already finished");
	if (f->flags || f->pad0[0] || f->pad0[1] || f->pad0[2] || f->pad1[0] || f->pad1[1] || f->pad1[2] || f->pad1[3])
		return refuse(kd, EINVAL, "SNP_LAUNCH_FINISH: flags/padding must be 0");
	if (vm->nvcpus == 0)
		return refuse(kd, EINVAL, "SNP_LAUNCH_FINISH: no vCPU was created, so there is no VMSA to measure");
	if (f->id_block_en > 1 || f->auth_key_en > 1 || (f->auth_key_en && !f->id_block_en))
		return refuse(kd, EINVAL, "SNP_LAUNCH_FINISH: id_block_en %u auth_key_en %u", f->id_block_en, f->auth_key_en);
	/* sev.c:snp_launch_finish: with id_block_en the kernel copies both the ID block and the
	 * ID auth block (psp_copy_user_blob); an unset id_auth_uaddr fails that copy (-EFAULT). The
	 * double cannot probe a user pointer: it treats 0 as the unreadable address. */
	if (f->id_block_en && (!f->id_block_uaddr || !f->id_auth_uaddr))
		return refuse(kd, EFAULT, "SNP_LAUNCH_FINISH: id_block_en with id_block_uaddr 0x%llx id_auth_uaddr 0x%llx "
			      "(KVM copies both)", (unsigned long long)f->id_block_uaddr, (unsigned long long)f->id_auth_uaddr);
	/* sev.c:snp_launch_finish -> snp_launch_update_vmsa: each VMSA goes to the PSP through
	 * __sev_issue_cmd(argp->sev_fd), which fails with -EBADF for anything but /dev/sev. */
	if (!sev_fd_ok(kd, c))
		return refuse(kd, EBADF, "SNP_LAUNCH_FINISH: sev_fd %u is not an open /dev/sev", c->sev_fd);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		uint8_t page[4096], contents[48];
		unsigned int n = 0;
		const struct kd_vcpu *v = kd->obj[vm->vcpu_obj[i]].vcpu;

		vmsa_from_vcpu(vm, v, page);
		EVP_DigestInit_ex(kd->page_ctx, kd->sha384, NULL);
		EVP_DigestUpdate(kd->page_ctx, page, sizeof(page));
		EVP_DigestFinal_ex(kd->page_ctx, contents, &n);
		snp_extend(kd, vm, contents, 2 /* VMSA */, 0xfffffffff000ull);
	}
	memcpy(vm->rec.host_data, f->host_data, 32);
	vm->rec.id_block_en = f->id_block_en;
	vm->rec.auth_key_en = f->auth_key_en;
	if (f->id_block_en)
		memcpy(vm->rec.id_block, (const void *)(uintptr_t)f->id_block_uaddr, 96);
	vm->finished = vm->rec.finished = true;
	return 0;
}

#define SNP_POLICY_KNOWN (0xffffull | KD_SNP_POLICY_SMT | KD_SNP_POLICY_RSVD_MBO | KD_SNP_POLICY_DEBUG | \
			  KD_SNP_POLICY_SINGLE_SOCKET)

static int snp_cmd(struct kvm_double *kd, struct kd_vm *vm, struct kd_kvm_sev_cmd *c)
{
	void *data = (void *)(uintptr_t)c->data;

	if (c->id == KD_KVM_SEV_INIT2) {
		struct kd_kvm_sev_init *in = data;
		if (vm->init2)
			return refuse(kd, EINVAL, "KVM_SEV_INIT2: already initialized");
		if (vm->nvcpus)
			return refuse(kd, EINVAL, "KVM_SEV_INIT2: after KVM_CREATE_VCPU");
		if (in->flags || in->pad1 || in->pad2[0] || in->pad2[7])
			return refuse(kd, EINVAL, "KVM_SEV_INIT2: flags/padding must be 0");
		if (in->vmsa_features & ~kd->cfg.vmsa_features_supported)
			return refuse(kd, EINVAL, "KVM_SEV_INIT2: vmsa_features 0x%llx not a subset of 0x%llx",
				      (unsigned long long)in->vmsa_features,
				      (unsigned long long)kd->cfg.vmsa_features_supported);
		if (in->ghcb_version > 2)
			return refuse(kd, EINVAL, "KVM_SEV_INIT2: ghcb_version %u > 2", in->ghcb_version);
		vm->init2 = true;
		vm->vmsa_features = vm->rec.vmsa_features = in->vmsa_features;
		return 0;
	}
	if (vm->init2 && c->id < KD_KVM_SEV_SNP_LAUNCH_START)
		return refuse(kd, EPERM, "KVM_MEMORY_ENCRYPT_OP: SEV command %u on an SNP guest", c->id);
	switch (c->id) {
	case KD_KVM_SEV_SNP_LAUNCH_START: {
		struct kd_kvm_sev_snp_launch_start *s = data;
		if (!vm->init2)
			return refuse(kd, ENOTTY, "SNP_LAUNCH_START: before KVM_SEV_INIT2");
		if (vm->started)
			return refuse(kd, EINVAL, "SNP_LAUNCH_START: already started");
		if (s->flags)
			return refuse(kd, EINVAL, "SNP_LAUNCH_START: flags must be 0");
		if (s->policy & ~SNP_POLICY_KNOWN)
			return refuse(kd, EINVAL, "SNP_LAUNCH_START: policy 0x%llx has bits KVM 6.16 does not accept (0x%llx)",
				      (unsigned long long)s->policy, (unsigned long long)(s->policy & ~SNP_POLICY_KNOWN));
		if (!(s->policy & KD_SNP_POLICY_RSVD_MBO) || !(s->policy & KD_SNP_POLICY_SMT))
			return refuse(kd, EINVAL, "SNP_LAUNCH_START: policy 0x%llx lacks bit 17 (must be one) or SMT (16)",
				      (unsigned long long)s->policy);
		if (s->policy & KD_SNP_POLICY_SINGLE_SOCKET)
			return refuse(kd, EINVAL, "SNP_LAUNCH_START: SINGLE_SOCKET is refused by KVM 6.16");
		/* After the flag and policy checks, sev.c:snp_launch_start -> snp_context_create ->
		 * __sev_issue_cmd(argp->sev_fd): the PSP driver's sev_issue_cmd_external_user() refuses
		 * a file that is not /dev/sev (-EBADF); snp_context_create() turns any failure into
		 * NULL, which 6.11..6.18 report as -ENOTTY (later stable kernels pass -EBADF through). */
		if (!sev_fd_ok(kd, c))
			return refuse(kd, ENOTTY, "SNP_LAUNCH_START: sev_fd %u is not an open /dev/sev (the PSP driver refuses "
				      "the GCTX_CREATE command)", c->sev_fd);
		vm->started = true;
		vm->rec.snp_policy = s->policy;
		return 0;
	}
	case KD_KVM_SEV_SNP_LAUNCH_UPDATE:
		if (!vm->init2)
			return refuse(kd, ENOTTY, "SNP_LAUNCH_UPDATE: before KVM_SEV_INIT2");
		return snp_launch_update(kd, vm, c, data);
	case KD_KVM_SEV_SNP_LAUNCH_FINISH:
		if (!vm->init2)
			return refuse(kd, ENOTTY, "SNP_LAUNCH_FINISH: before KVM_SEV_INIT2");
		return snp_launch_finish(kd, vm, c, data);
	case KD_KVM_SEV_SNP_ENABLE_REQ_CERTS:
		if (!kd->cfg.snp_req_certs)
			return refuse(kd, EINVAL, "KVM_SEV_SNP_ENABLE_REQ_CERTS: this kernel does not know the command");
		if (!vm->init2)
			return refuse(kd, EINVAL, "KVM_SEV_SNP_ENABLE_REQ_CERTS: not an SNP guest yet (before INIT2)");
		if (vm->nvcpus)
			return refuse(kd, EINVAL, "KVM_SEV_SNP_ENABLE_REQ_CERTS: after KVM_CREATE_VCPU");
		vm->rec.req_certs_enabled = true;
		return 0;
	default:
		return refuse(kd, vm->init2 ? EINVAL : ENOTTY, "KVM_MEMORY_ENCRYPT_OP: SEV command %u not modelled", c->id);
	}
}

/* ---- TDX ---- */

#define TDX_ATTRS_SUPPORTED (KD_TDX_ATTR_DEBUG | KD_TDX_ATTR_SEPT_VE_DISABLE)
#define TDX_XFAM_SUPPORTED 0x6e7ull
/* GetTdVmCallInfo leaf 1 bits user space may offer (tdx.c init_kvm_tdx_caps): GetQuote (R11 bit 0),
 * SetupEventNotifyInterrupt (R12 bit 1). */
#define KD_TDVMCALL_INFO_R11 (1ull << 0)
#define KD_TDVMCALL_INFO_R12 (1ull << 1)

static uint32_t *entry_reg(struct kvm_cpuid_entry2 *e, unsigned reg)
{
	return reg == 0 ? &e->eax : reg == 1 ? &e->ebx : reg == 2 ? &e->ecx : &e->edx;
}

/* kvm_find_cpuid_entry2() as the kernel runs it on INIT_VM's entries (arch/x86/kvm/cpuid.c): the
 * first entry of the leaf whose own flags say its index does not matter, or whose index matches. */
static const struct kvm_cpuid_entry2 *user_find(const struct kvm_cpuid_entry2 *e, unsigned n, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < n; i++)
		if (e[i].function == fn && (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == idx))
			return &e[i];
	return NULL;
}

static struct kvm_cpuid_entry2 *td_entry(struct kd_vm *vm, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < vm->td_cpuid_n; i++)
		if (vm->td_cpuid[i].function == fn && vm->td_cpuid[i].index == idx)
			return &vm->td_cpuid[i];
	if (vm->td_cpuid_n >= 250)
		return NULL;
	vm->td_cpuid[vm->td_cpuid_n] = (struct kvm_cpuid_entry2){ .function = fn, .index = idx,
								  .flags = idx ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0 };
	return &vm->td_cpuid[vm->td_cpuid_n++];
}

/* The CPUID the "TDX module" gives the TD (what KVM_TDX_GET_CPUID reads back,
 * tdx.c tdx_vcpu_get_cpuid): each INIT_VM entry as the kernel passed it on (the configurable bits,
 * 0x80000008 EAX[23:16] cleared), then what the module computes itself: the XFAM-dependent bits
 * (AVX in 1.ECX, leaf 0xD.0's XCR0 features; the double's model of the module's CPUID
 * virtualization), the guest PA width KVM reports from the shared bit (tdx.c tdx_read_cpuid), and
 * the configured fixed-1 / fixed-0 bits. */
static void tdx_td_cpuid(struct kvm_double *kd, struct kd_vm *vm, const struct kvm_cpuid_entry2 *in, unsigned n,
			 uint64_t xfam)
{
	struct kvm_cpuid_entry2 *o;

	vm->td_cpuid_n = 0;
	for (size_t j = 0; j < KD_TDX_CAPS_N; j++) {
		const struct kvm_cpuid_entry2 *u = user_find(in, n, kd_tdx_caps[j].function, kd_tdx_caps[j].index);
		if (!u || !(o = td_entry(vm, kd_tdx_caps[j].function, kd_tdx_caps[j].index)))
			continue;
		o->eax = u->eax & kd_tdx_caps[j].eax;
		o->ebx = u->ebx & kd_tdx_caps[j].ebx;
		o->ecx = u->ecx & kd_tdx_caps[j].ecx;
		o->edx = u->edx & kd_tdx_caps[j].edx;
		if (o->function == 0x80000008)
			o->eax &= ~0x00ff0000u;
	}
	if ((o = td_entry(vm, 1, 0)))
		o->ecx = (o->ecx & ~(1u << 28)) | ((xfam >> 2) & 1u) << 28;
	if ((o = td_entry(vm, 0xd, 0))) {
		o->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		o->eax = (uint32_t)(xfam & 0x2ff);
	}
	if ((o = td_entry(vm, 0x80000008, 0)))
		o->eax = (o->eax & ~0x00ff0000u) | 48u << 16;
	for (int pass = 0; pass < 2; pass++)
		for (unsigned k = 0; k < 4; k++) {
			const struct kd_cpuid_bits *b = pass ? &kd->cfg.tdx_fixed0[k] : &kd->cfg.tdx_fixed1[k];
			if (!b->bits || b->reg > 3)
				continue;
			if (pass) {
				for (unsigned i = 0; i < vm->td_cpuid_n; i++)
					if (vm->td_cpuid[i].function == b->function && vm->td_cpuid[i].index == b->index)
						*entry_reg(&vm->td_cpuid[i], b->reg) &= ~b->bits;
			} else if ((o = td_entry(vm, b->function, b->index))) {
				*entry_reg(o, b->reg) |= b->bits;
			}
		}
}

static int tdx_get_cpuid(struct kvm_double *kd, struct kd_vm *vm, struct kd_kvm_tdx_cmd *c)
{
	struct kvm_cpuid2 *out = (void *)(uintptr_t)c->data;

	if (c->flags)
		return refuse(kd, EINVAL, "KVM_TDX_GET_CPUID: flags must be 0");
	if (out->nent < vm->td_cpuid_n) {
		out->nent = vm->td_cpuid_n;
		return refuse(kd, E2BIG, "KVM_TDX_GET_CPUID: cpuid.nent too small (%u entries needed)", vm->td_cpuid_n);
	}
	out->nent = vm->td_cpuid_n;
	memcpy(out->entries, vm->td_cpuid, vm->td_cpuid_n * sizeof(vm->td_cpuid[0]));
	vm->rec.get_cpuid_calls++;
	return 0;
}

static int tdx_vm_cmd(struct kvm_double *kd, struct kd_vm *vm, struct kd_kvm_tdx_cmd *c)
{
	if (c->hw_error)
		return refuse(kd, EINVAL, "KVM_TDX cmd %u: hw_error must be 0", c->id);
	if (c->flags)
		return refuse(kd, EINVAL, "KVM_TDX cmd %u: flags must be 0 on the VM", c->id);
	if (vm->finalized)
		return refuse(kd, EINVAL, "KVM_TDX cmd %u: after KVM_TDX_FINALIZE_VM", c->id);
	switch (c->id) {
	case KD_KVM_TDX_CAPABILITIES: {
		/* tdx.c tdx_get_capabilities: -E2BIG when cpuid.nent is smaller than the module's count
		 * (nent is not updated: the caller learns nothing but the error); entries without flags. */
		struct kd_kvm_tdx_capabilities *caps = (void *)(uintptr_t)c->data;
		struct kvm_cpuid_entry2 *e = (struct kvm_cpuid_entry2 *)(caps + 1);
		if (caps->cpuid.nent < KD_TDX_CAPS_N)
			return refuse(kd, E2BIG, "KVM_TDX_CAPABILITIES: cpuid.nent %u is smaller than the %zu entries",
				      caps->cpuid.nent, KD_TDX_CAPS_N);
		caps->supported_attrs = TDX_ATTRS_SUPPORTED;
		caps->supported_xfam = TDX_XFAM_SUPPORTED;
		caps->user_tdvmcallinfo_1_r11 = KD_TDVMCALL_INFO_R11;
		caps->user_tdvmcallinfo_1_r12 = KD_TDVMCALL_INFO_R12;
		caps->cpuid.nent = (uint32_t)KD_TDX_CAPS_N;
		memcpy(e, kd_tdx_caps, sizeof(kd_tdx_caps));
		vm->caps_done = true;
		return 0;
	}
	case KD_KVM_TDX_INIT_VM: {
		struct kd_kvm_tdx_init_vm *in = (void *)(uintptr_t)c->data;
		const struct kvm_cpuid_entry2 *e = (const struct kvm_cpuid_entry2 *)(in + 1), *g;
		unsigned copied = 0, gpaw;
		/* tdx.c tdx_td_init: once only; reserved zero; at most KVM_MAX_CPUID_ENTRIES (256). */
		if (vm->init_vm_done)
			return refuse(kd, EINVAL, "KVM_TDX_INIT_VM: already initialized");
		for (unsigned i = 0; i < 12; i++)
			if (in->reserved[i])
				return refuse(kd, EINVAL, "KVM_TDX_INIT_VM: reserved[%u] must be 0", i);
		if (in->cpuid.nent > 256)
			return refuse(kd, E2BIG, "KVM_TDX_INIT_VM: cpuid.nent %u", in->cpuid.nent);
		/* tdx.c setup_tdparams: before any vCPU; attributes and XFAM within the capabilities. */
		if (vm->nvcpus)
			return refuse(kd, EBUSY, "KVM_TDX_INIT_VM: %u vCPU(s) exist already", vm->nvcpus);
		if (in->attributes & ~TDX_ATTRS_SUPPORTED)
			return refuse(kd, EINVAL, "KVM_TDX_INIT_VM: attributes 0x%llx not supported",
				      (unsigned long long)in->attributes);
		if (in->xfam & ~TDX_XFAM_SUPPORTED)
			return refuse(kd, EINVAL, "KVM_TDX_INIT_VM: XFAM 0x%llx not supported", (unsigned long long)in->xfam);
		/* tdx.c setup_tdparams_eptp_controls: 0x80000008 EAX[23:16] is the guest PA width, 48 or
		 * 52 (52 only with 5-level EPT, which the double's host lacks). */
		g = user_find(e, in->cpuid.nent, 0x80000008, 0);
		if (!g)
			return refuse(kd, EINVAL, "KVM_TDX_INIT_VM: no CPUID leaf 0x80000008 (the guest PA width)");
		gpaw = (g->eax >> 16) & 0xff;
		if (gpaw != 48)
			return refuse(kd, EINVAL, "KVM_TDX_INIT_VM: guest PA width %u in CPUID 0x80000008 EAX[23:16] (48, or 52 "
				      "with 5-level EPT)", gpaw);
		/* tdx.c setup_tdparams_cpuids: for each capability entry, the first INIT_VM entry that
		 * matches it (with the INIT_VM entry's own flags); every INIT_VM entry must be matched. */
		for (size_t j = 0; j < KD_TDX_CAPS_N; j++) {
			const struct kvm_cpuid_entry2 *u = user_find(e, in->cpuid.nent, kd_tdx_caps[j].function,
								     kd_tdx_caps[j].index);
			uint32_t eax_mask = kd_tdx_caps[j].eax | (kd_tdx_caps[j].function == 0x80000008 ? 0x00ff0000u : 0);
			if (!u)
				continue;
			copied++;
			/* The module's TDH.MNG.INIT refuses bits it does not let the VMM set. */
			if ((u->eax & ~eax_mask) || (u->ebx & ~kd_tdx_caps[j].ebx) || (u->ecx & ~kd_tdx_caps[j].ecx) ||
			    (u->edx & ~kd_tdx_caps[j].edx)) {
				c->hw_error = 0xc000010000000000ull; /* TDX_OPERAND_INVALID */
				return refuse(kd, EINVAL, "KVM_TDX_INIT_VM: CPUID leaf 0x%x.%u sets bits outside the configurable "
					      "mask (TDH.MNG.INIT)", u->function, u->index);
			}
		}
		if (copied != in->cpuid.nent)
			return refuse(kd, EINVAL, "KVM_TDX_INIT_VM: %u CPUID entries, %u of them match a configurable "
				      "(leaf, subleaf) of KVM_TDX_CAPABILITIES", in->cpuid.nent, copied);
		if (vm->tsc_khz / 25000 < 4 || vm->tsc_khz / 25000 > 400) {
			c->hw_error = 0xc000010000000000ull; /* TDX_OPERAND_INVALID */
			return refuse(kd, EINVAL, "KVM_TDX_INIT_VM: the VM's TSC frequency %u kHz is outside 100 MHz..10 GHz",
				      vm->tsc_khz);
		}
		vm->init_vm_done = true;
		vm->rec.td_tsc_khz = vm->tsc_khz / 25000 * 25000;
		tdx_td_cpuid(kd, vm, e, in->cpuid.nent, in->xfam | 0x3 /* xfam_fixed1: x87, SSE */);
		vm->rec.td_attributes = in->attributes;
		vm->rec.td_xfam = in->xfam;
		memcpy(vm->rec.mrconfigid, in->mrconfigid, 48);
		memcpy(vm->rec.mrowner, in->mrowner, 48);
		memcpy(vm->rec.mrownerconfig, in->mrownerconfig, 48);
		vm->rec.init_vm_cpuid_nent = in->cpuid.nent;
		vm->mrtd = EVP_MD_CTX_new();
		if (!vm->mrtd || EVP_DigestInit_ex(vm->mrtd, kd->sha384, NULL) != 1)
			return -ENOMEM;
		return 0;
	}
	case KD_KVM_TDX_FINALIZE_VM: {
		unsigned int n = 0;
		if (!vm->init_vm_done)
			return refuse(kd, EINVAL, "KVM_TDX_FINALIZE_VM: before KVM_TDX_INIT_VM");
		if (vm->nvcpus == 0)
			return refuse(kd, EINVAL, "KVM_TDX_FINALIZE_VM: no vCPU");
		for (unsigned i = 0; i < vm->nvcpus; i++)
			if (!kd->obj[vm->vcpu_obj[i]].vcpu->tdx_init)
				return refuse(kd, EINVAL, "KVM_TDX_FINALIZE_VM: vCPU %u lacks KVM_TDX_INIT_VCPU", i);
		/* tdx.c tdx_td_finalize: every page KVM mapped for INIT_MEM_REGION must have been added. */
		if (vm->nr_premapped)
			return refuse(kd, EINVAL, "KVM_TDX_FINALIZE_VM: %u page(s) mapped for KVM_TDX_INIT_MEM_REGION were never "
				      "added (nr_premapped)", vm->nr_premapped);
		EVP_DigestFinal_ex(vm->mrtd, vm->mrtd_final, &n);
		vm->finalized = vm->rec.finished = true;
		return 0;
	}
	default:
		return refuse(kd, EINVAL, "KVM_TDX cmd %u is not a VM command", c->id);
	}
}

static int tdx_init_mem_region(struct kvm_double *kd, struct kd_vm *vm, struct kd_kvm_tdx_cmd *c)
{
	struct kd_kvm_tdx_init_mem_region *m = (void *)(uintptr_t)c->data;
	bool measure = c->flags & KD_KVM_TDX_MEASURE_MEMORY_REGION;
	uint64_t npages, done;
	struct kd_slot *s;

	vm->rec.launch_update_calls++;
	if (c->flags & ~KD_KVM_TDX_MEASURE_MEMORY_REGION)
		return refuse(kd, EINVAL, "KVM_TDX_INIT_MEM_REGION: flags 0x%x", c->flags);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (!kd->obj[vm->vcpu_obj[i]].vcpu->tdx_init)
			return refuse(kd, EINVAL, "KVM_TDX_INIT_MEM_REGION: vCPU %u lacks KVM_TDX_INIT_VCPU", i);
	if ((m->source_addr | m->gpa) % PG || m->nr_pages == 0)
		return refuse(kd, EINVAL, "KVM_TDX_INIT_MEM_REGION: source 0x%llx gpa 0x%llx not page aligned or no pages",
			      (unsigned long long)m->source_addr, (unsigned long long)m->gpa);
	if (m->nr_pages > KD_PAGES || m->gpa / PG > KD_PAGES - m->nr_pages)
		return refuse(kd, EINVAL, "KVM_TDX_INIT_MEM_REGION: beyond guest memory");
	s = slot_find(vm, m->gpa, m->nr_pages * PG);
	if (!s || !(s->flags & KD_KVM_MEM_GUEST_MEMFD))
		return refuse(kd, EINVAL, "KVM_TDX_INIT_MEM_REGION: gpa 0x%llx+%llu pages is not inside one guest_memfd slot",
			      (unsigned long long)m->gpa, (unsigned long long)m->nr_pages);
	for (uint64_t p = 0; p < m->nr_pages; p++) {
		if (!bit(vm->private_map, m->gpa / PG + p))
			return refuse(kd, EINVAL, "KVM_TDX_INIT_MEM_REGION: gpa 0x%llx is not PRIVATE",
				      (unsigned long long)(m->gpa + p * PG));
		if (bit(vm->added_map, m->gpa / PG + p))
			return refuse(kd, EINVAL, "KVM_TDX_INIT_MEM_REGION: gpa 0x%llx already added",
				      (unsigned long long)(m->gpa + p * PG));
	}
	if (eagain_now(kd)) {
		/* tdx.c tdx_vcpu_init_mem_region: KVM maps the page first (kvm_tdp_map_page counts it
		 * in nr_premapped) and adds it after; a busy TDX module leaves it mapped, not added, and
		 * the caller must come back for it (TDH.MEM.PAGE.ADD consumes the premap). */
		if (!bit(vm->premapped_map, m->gpa / PG)) {
			bit_set(vm->premapped_map, m->gpa / PG, true);
			vm->nr_premapped++;
		}
		return -EAGAIN;
	}
	npages = m->nr_pages;
	if (kd->cfg.max_pages_per_call && npages > kd->cfg.max_pages_per_call)
		npages = kd->cfg.max_pages_per_call;
	for (done = 0; done < npages; done++) {
		uint64_t gpa = m->gpa + done * PG;
		const uint8_t *src = (const uint8_t *)(uintptr_t)(m->source_addr + done * PG);
		uint8_t rec[128] = { 0 };

		/* TDH.MEM.PAGE.ADD then, with MEASURE, TDH.MR.EXTEND for each 256-byte chunk. */
		memcpy(rec, "MEM.PAGE.ADD", 12);
		put64(rec + 16, gpa);
		EVP_DigestUpdate(vm->mrtd, rec, sizeof(rec));
		for (unsigned ch = 0; measure && ch < 16; ch++) {
			memset(rec, 0, sizeof(rec));
			memcpy(rec, "MR.EXTEND", 9);
			put64(rec + 16, gpa + 256u * ch);
			EVP_DigestUpdate(vm->mrtd, rec, sizeof(rec));
			EVP_DigestUpdate(vm->mrtd, src + 256u * ch, 256);
		}
		bit_set(vm->added_map, gpa / PG, true);
		if (bit(vm->premapped_map, gpa / PG)) {
			bit_set(vm->premapped_map, gpa / PG, false);
			vm->nr_premapped--;
		}
		vm->rec.pages_measured++;
	}
	m->gpa += done * PG;
	m->source_addr += done * PG;
	m->nr_pages -= done;
	return 0;
}

static int tdx_vcpu_cmd(struct kvm_double *kd, struct kd_vm *vm, struct kd_obj *o, struct kd_kvm_tdx_cmd *c)
{
	if (c->hw_error)
		return refuse(kd, EINVAL, "KVM_TDX cmd %u: hw_error must be 0", c->id);
	if (vm->finalized)
		return refuse(kd, EINVAL, "KVM_TDX cmd %u: after KVM_TDX_FINALIZE_VM", c->id);
	switch (c->id) {
	case KD_KVM_TDX_INIT_VCPU:
		if (c->flags)
			return refuse(kd, EINVAL, "KVM_TDX_INIT_VCPU: flags must be 0");
		if (o->vcpu->tdx_init)
			return refuse(kd, EINVAL, "KVM_TDX_INIT_VCPU: vCPU %u already initialized", o->idx);
		o->vcpu->tdx_init = true;
		if (o->idx < 8)
			vm->rec.vcpu_init_rcx[o->idx] = c->data;
		return 0;
	case KD_KVM_TDX_INIT_MEM_REGION:
		return tdx_init_mem_region(kd, vm, c);
	case KD_KVM_TDX_GET_CPUID:
		return tdx_get_cpuid(kd, vm, c);
	default:
		return refuse(kd, EINVAL, "KVM_TDX cmd %u is not a vCPU command", c->id);
	}
}

/* ---- VM and vCPU ioctls ---- */

static void vcpu_reset(struct kd_vcpu *v)
{
	struct kvm_segment data = { .limit = 0xffff, .type = 3, .s = 1, .present = 1 };

	memset(&v->sregs, 0, sizeof(v->sregs));
	memset(&v->regs, 0, sizeof(v->regs));
	memset(&v->fpu, 0, sizeof(v->fpu));
	v->sregs.cs = (struct kvm_segment){ .base = 0xffff0000, .limit = 0xffff, .selector = 0xf000, .type = 0xb,
					    .s = 1, .present = 1 };
	v->sregs.ds = v->sregs.es = v->sregs.fs = v->sregs.gs = v->sregs.ss = data;
	v->sregs.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	v->sregs.tr = (struct kvm_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	v->sregs.gdt.limit = v->sregs.idt.limit = 0xffff;
	v->sregs.cr0 = 0x60000010;
	v->regs.rip = 0xfff0;
	v->regs.rflags = 2;
	v->regs.rdx = 0x600;
	v->fpu.fcw = 0x37f;
	v->fpu.mxcsr = 0x1f80;
}

static int vm_create_vcpu(struct kvm_double *kd, struct kd_vm *vm, int vmi, unsigned long id)
{
	struct kd_vcpu *v;
	int o;

	if (vm->finished || vm->finalized)
		return refuse(kd, EINVAL, "KVM_CREATE_VCPU: after %s", vm->finished ? "SNP_LAUNCH_FINISH" : "KVM_TDX_FINALIZE_VM");
	/* tdx.c tdx_vcpu_create (6.16..6.18): the TD must be initialized (-EIO), and its irqchip
	 * split (-EINVAL): KVM_CREATE_IRQCHIP itself succeeds on a TD, the vCPU is what is refused. */
	if (vm->type == KD_KVM_X86_TDX_VM && !vm->init_vm_done && !kd->cfg.tdx_vcpu_before_init_vm)
		return refuse(kd, EIO, "KVM_CREATE_VCPU: before KVM_TDX_INIT_VM");
	if (vm->type == KD_KVM_X86_TDX_VM && !vm->split_irqchip)
		return refuse(kd, EINVAL, "KVM_CREATE_VCPU: a TD needs the split irqchip (KVM_CAP_SPLIT_IRQCHIP), not %s",
			      vm->irqchip ? "an in-kernel IOAPIC and PIC (KVM_CREATE_IRQCHIP)" : "none");
	if (id != vm->nvcpus || vm->nvcpus >= KD_MAX_VCPUS)
		return refuse(kd, EINVAL, "KVM_CREATE_VCPU: id %lu (the double wants ids 0..%u in order)", id, KD_MAX_VCPUS - 1);
	if ((o = obj_new(kd, KD_VCPU)) < 0)
		return -EMFILE;
	v = calloc(1, sizeof(*v));
	if (!v || !(v->run = calloc(1, KD_RUN_SIZE))) {
		free(v);
		kd->obj[o].kind = KD_FREE;
		return -ENOMEM;
	}
	vcpu_reset(v);
	v->ap_wake[0] = v->ap_wake[1] = -1;
	/* x86.c kvm_arch_vcpu_create: with an in-kernel LAPIC every vCPU but the BSP starts in
	 * KVM_MP_STATE_UNINITIALIZED. An SNP guest makes its APs runnable itself (AP creation), so
	 * their launch VMSAs never run and their KVM_RUN blocks until then. */
	if (vm->type == KD_KVM_X86_SNP_VM && vm->irqchip && id > 0) {
		if (pipe(v->ap_wake) < 0) {
			free(v->run);
			free(v);
			kd->obj[o].kind = KD_FREE;
			return -errno;
		}
		v->ap_waiting = true;
	}
	kd->obj[o].vm = vmi;
	kd->obj[o].idx = (unsigned)id;
	kd->obj[o].vcpu = v;
	vm->vcpu_obj[vm->nvcpus++] = o;
	vm->rec.vcpus = vm->nvcpus;
	return KD_FD_BASE + o;
}

static int vm_ioctl(struct kvm_double *kd, int vmi, unsigned long req, void *arg)
{
	struct kd_vm *vm = kd->vms[vmi];

	switch (req) {
	case KVM_CHECK_EXTENSION:
		return cap_value(kd, vm, (long)arg);
	case KVM_CREATE_VCPU:
		return vm_create_vcpu(kd, vm, vmi, (unsigned long)arg);
	case KD_KVM_CREATE_GUEST_MEMFD:
		return vm_create_gmem(kd, vmi, arg);
	case KD_KVM_SET_USER_MEMORY_REGION2:
		return vm_set_region2(kd, vm, vmi, arg);
	case KVM_SET_USER_MEMORY_REGION:
		if (private_vm(vm))
			return refuse(kd, EINVAL, "KVM_SET_USER_MEMORY_REGION: a private-memory VM needs REGION2 with guest_memfd");
		return 0;
	case KD_KVM_SET_MEMORY_ATTRIBUTES:
		return vm_set_attrs(kd, vm, arg);
	case KVM_SET_TSS_ADDR:
		if (private_vm(vm))
			return refuse(kd, ENOTTY, "KVM_SET_TSS_ADDR on a private-memory VM (not modelled)");
		if ((unsigned long)arg > (unsigned int)(-3 * 4096))
			return refuse(kd, EINVAL, "KVM_SET_TSS_ADDR: 0x%lx is above 4 GiB - 3 pages", (unsigned long)arg);
		return 0;
	case KVM_SET_IDENTITY_MAP_ADDR:
		if (private_vm(vm))
			return refuse(kd, ENOTTY, "KVM_SET_IDENTITY_MAP_ADDR on a private-memory VM (not modelled)");
		if (vm->nvcpus)
			return refuse(kd, EINVAL, "KVM_SET_IDENTITY_MAP_ADDR: after KVM_CREATE_VCPU");
		if (!arg)
			return refuse(kd, EFAULT, "KVM_SET_IDENTITY_MAP_ADDR: no address");
		return 0;
	case KVM_CREATE_PIT2:
		if (private_vm(vm))
			return refuse(kd, ENOTTY, "KVM_CREATE_PIT2 on a private-memory VM (not modelled)");
		if (!arg)
			return refuse(kd, EFAULT, "KVM_CREATE_PIT2: no kvm_pit_config");
		if (vm->pit)
			return refuse(kd, EEXIST, "KVM_CREATE_PIT2: the VM already has a PIT");
		vm->pit = true;
		return 0;
	case KVM_CREATE_IRQCHIP:
		if (vm->irqchip || vm->split_irqchip)
			return refuse(kd, EEXIST, "KVM_CREATE_IRQCHIP: the VM already has an irqchip");
		if (vm->nvcpus)
			return refuse(kd, EINVAL, "KVM_CREATE_IRQCHIP: after KVM_CREATE_VCPU");
		vm->irqchip = vm->rec.irqchip = true;
		return 0;
	case KVM_IOEVENTFD: {
		struct kvm_ioeventfd *e = arg;
		if (e->flags & ~(uint32_t)(KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN) ||
		    (e->len != 1 && e->len != 2 && e->len != 4 && e->len != 8) || e->fd < 0)
			return refuse(kd, EINVAL, "KVM_IOEVENTFD: flags 0x%x len %u fd %d", e->flags, e->len, e->fd);
		vm->rec.ioeventfds++;
		return 0;
	}
	case KVM_IRQFD: {
		struct kvm_irqfd *q = arg;
		if (!vm->irqchip && !vm->split_irqchip)
			return refuse(kd, EINVAL, "KVM_IRQFD: the VM has no in-kernel irqchip");
		if (q->flags || q->gsi >= 24)
			return refuse(kd, EINVAL, "KVM_IRQFD: flags 0x%x gsi %u", q->flags, q->gsi);
		vm->rec.irqfds++;
		return 0;
	}
	case KVM_SET_GSI_ROUTING: {
		const struct kvm_irq_routing *t = arg;
		if (!vm->irqchip && !vm->split_irqchip)
			return refuse(kd, EINVAL, "KVM_SET_GSI_ROUTING: the VM has no in-kernel irqchip");
		if (t->flags || t->nr > 4096)
			return refuse(kd, EINVAL, "KVM_SET_GSI_ROUTING: flags 0x%x, %u entries", t->flags, t->nr);
		for (unsigned i = 0; i < t->nr; i++) {
			const struct kvm_irq_routing_entry *e = &t->entries[i];
			if (e->gsi >= 4096 || e->flags)
				return refuse(kd, EINVAL, "KVM_SET_GSI_ROUTING: entry %u: gsi %u flags 0x%x", i, e->gsi, e->flags);
			if (e->type != KVM_IRQ_ROUTING_MSI && !(e->type == KVM_IRQ_ROUTING_IRQCHIP && vm->irqchip))
				return refuse(kd, EINVAL, "KVM_SET_GSI_ROUTING: entry %u: type %u %s", i, e->type,
					      vm->split_irqchip ? "(a split irqchip has no in-kernel IOAPIC/PIC pins)" : "");
			if (e->type == KVM_IRQ_ROUTING_MSI && (e->u.msi.address_lo & 0xfff00000u) != 0xfee00000u)
				return refuse(kd, EINVAL, "KVM_SET_GSI_ROUTING: entry %u: MSI address 0x%x is not an APIC "
					      "message address", i, e->u.msi.address_lo);
		}
		memset(vm->rec.route_addr, 0, sizeof(vm->rec.route_addr));
		memset(vm->rec.route_data, 0, sizeof(vm->rec.route_data));
		for (unsigned i = 0; i < t->nr; i++)
			if (t->entries[i].gsi < 24 && t->entries[i].type == KVM_IRQ_ROUTING_MSI) {
				vm->rec.route_addr[t->entries[i].gsi] = t->entries[i].u.msi.address_lo;
				vm->rec.route_data[t->entries[i].gsi] = t->entries[i].u.msi.data;
			}
		vm->rec.gsi_routes = t->nr;
		return 0;
	}
	case KVM_SIGNAL_MSI: {
		const struct kvm_msi *m = arg;
		if (!vm->irqchip && !vm->split_irqchip)
			return refuse(kd, EINVAL, "KVM_SIGNAL_MSI: the VM has no in-kernel local APIC");
		if (m->flags || (m->address_lo & 0xfff00000u) != 0xfee00000u)
			return refuse(kd, EINVAL, "KVM_SIGNAL_MSI: flags 0x%x address 0x%x", m->flags, m->address_lo);
		vm->rec.msis++;
		vm->rec.last_msi_addr = m->address_lo;
		vm->rec.last_msi_data = m->data;
		return 1; /* delivered */
	}
	case KVM_ENABLE_CAP: {
		struct kvm_enable_cap *c = arg;
		if (c->cap == KD_KVM_CAP_EXIT_HYPERCALL) {
			if (c->args[0] & ~(1ull << KD_KVM_HC_MAP_GPA_RANGE))
				return refuse(kd, EINVAL, "KVM_ENABLE_CAP(EXIT_HYPERCALL): 0x%llx", (unsigned long long)c->args[0]);
			vm->rec.exit_hypercall_mask = c->args[0];
			return 0;
		}
		if (c->cap == KVM_CAP_SPLIT_IRQCHIP) {
			/* x86.c kvm_vm_ioctl_enable_cap: -EEXIST with an irqchip, -EINVAL after a vCPU. */
			if (vm->irqchip || vm->split_irqchip)
				return refuse(kd, EEXIST, "KVM_ENABLE_CAP(SPLIT_IRQCHIP): the VM already has an irqchip");
			if (vm->nvcpus)
				return refuse(kd, EINVAL, "KVM_ENABLE_CAP(SPLIT_IRQCHIP): after KVM_CREATE_VCPU");
			vm->split_irqchip = true;
			return 0;
		}
		if (c->cap == KD_KVM_CAP_X86_APIC_BUS_CYCLES_NS) {
			if (vm->nvcpus)
				return refuse(kd, EINVAL, "KVM_ENABLE_CAP(APIC_BUS_CYCLES_NS): after KVM_CREATE_VCPU");
			if (vm->type == KD_KVM_X86_TDX_VM && c->args[0] != 40)
				return refuse(kd, EINVAL, "KVM_ENABLE_CAP(APIC_BUS_CYCLES_NS): a TD's APIC bus is 25 MHz (40 ns), "
					      "not %llu ns", (unsigned long long)c->args[0]);
			vm->rec.apic_bus_cycle_ns = c->args[0];
			return 0;
		}
		return refuse(kd, EINVAL, "KVM_ENABLE_CAP: cap %u not modelled", c->cap);
	}
	case KD_KVM_SET_TSC_KHZ: {
		uint32_t khz = (uint32_t)(unsigned long)arg;
		if (!kd->cfg.vm_tsc_control)
			return refuse(kd, ENOTTY, "KVM_SET_TSC_KHZ on a VM fd: this kernel has no KVM_CAP_VM_TSC_CONTROL");
		if (vm->nvcpus)
			return refuse(kd, EINVAL, "KVM_SET_TSC_KHZ (VM): after KVM_CREATE_VCPU");
		if (vm->type == KD_KVM_X86_TDX_VM && vm->init_vm_done)
			return refuse(kd, EINVAL, "KVM_SET_TSC_KHZ (VM): after KVM_TDX_INIT_VM, which fixed the TD's TSC");
		if (khz == 0)
			khz = kd->cfg.host_tsc_khz;
		if (vm->type == KD_KVM_X86_TDX_VM && khz % 25000)
			return refuse(kd, EINVAL, "KVM_SET_TSC_KHZ (VM): %u kHz is not a multiple of 25 MHz, which a TD needs", khz);
		vm->tsc_khz = vm->rec.tsc_khz_set = khz;
		return 0;
	}
	case KD_KVM_GET_TSC_KHZ:
		if (!kd->cfg.vm_tsc_control)
			return refuse(kd, ENOTTY, "KVM_GET_TSC_KHZ on a VM fd: this kernel has no KVM_CAP_VM_TSC_CONTROL");
		return (int)vm->tsc_khz;
	case KD_KVM_MEMORY_ENCRYPT_OP:
		if (vm->type == KD_KVM_X86_SNP_VM)
			return snp_cmd(kd, vm, arg);
		if (vm->type == KD_KVM_X86_TDX_VM)
			return tdx_vm_cmd(kd, vm, arg);
		if (arg && ((struct kd_kvm_sev_cmd *)arg)->id == KD_KVM_SEV_INIT2)
			return refuse(kd, EINVAL, "KVM_SEV_INIT2: only for VM types 2-4 (this VM is type %d)", vm->type);
		return refuse(kd, ENOTTY, "KVM_MEMORY_ENCRYPT_OP on a VM of type %d", vm->type);
	default:
		return refuse(kd, ENOTTY, "VM fd: ioctl 0x%lx not modelled", req);
	}
}

/* One MapGPA chunk as KVM_EXIT_HYPERCALL (tdx.c __tdx_map_gpa): at most TDX_MAP_GPA_MAX_LEN (2 MiB),
 * the GPA without the shared bit, 4 KiB pages, ENCRYPTED when the guest asked for private. */
static void map_gpa_exit(struct kd_vcpu *v)
{
	struct kvm_run *run = (struct kvm_run *)v->run;
	uint64_t size = v->map_end - v->map_next;

	if (size > KD_TDX_MAP_GPA_MAX_LEN)
		size = KD_TDX_MAP_GPA_MAX_LEN;
	memset(v->run + 8, 0, 256);
	run->exit_reason = KVM_EXIT_HYPERCALL;
	run->hypercall.nr = KD_KVM_HC_MAP_GPA_RANGE;
	run->hypercall.args[0] = v->map_next;
	run->hypercall.args[1] = size / PG;
	run->hypercall.args[2] = (v->map_private ? KD_KVM_MAP_GPA_RANGE_ENCRYPTED : 0) | KD_KVM_MAP_GPA_RANGE_PAGE_SZ_4K;
	run->hypercall.ret = 0;
	run->hypercall.longmode = 1;
	v->map_chunks++;
}

/* User space's answer to a MapGPA chunk (tdx.c tdx_complete_vmcall_map_gpa): 0 goes on with the
 * next chunk (or, with an interrupt pending, stops with RETRY and the next GPA in R11), -EBUSY is
 * RETRY, -EINVAL is INVALID_OPERAND, anything else fails KVM_RUN with -EINVAL. Returns 1 when
 * another chunk exit was produced, 0 when the TDVMCALL is complete, or -errno. */
static int map_gpa_complete(struct kvm_double *kd, struct kd_vm *vm, struct kd_vcpu *v)
{
	struct kvm_run *run = (struct kvm_run *)v->run;
	int64_t ret = (int64_t)run->hypercall.ret;

	if (ret == -EBUSY || ret == -EINVAL || ret) {
		if (ret != -EBUSY && ret != -EINVAL)
			return refuse(kd, EINVAL, "KVM_RUN: MapGPA hypercall.ret %lld is not 0, -EBUSY or -EINVAL", (long long)ret);
		vm->rec.map_gpa_status = ret == -EBUSY ? KD_TDVMCALL_STATUS_RETRY : KD_TDVMCALL_STATUS_INVALID_OPERAND;
		vm->rec.map_gpa_next = v->map_next;
		v->map_pending = false;
		return 0;
	}
	v->map_next += KD_TDX_MAP_GPA_MAX_LEN;
	if (v->map_next >= v->map_end) {
		vm->rec.map_gpa_status = KD_TDVMCALL_STATUS_SUCCESS;
		vm->rec.map_gpa_next = v->map_end;
		v->map_pending = false;
		return 0;
	}
	if (kd->cfg.map_gpa_interrupt_after && v->map_chunks >= kd->cfg.map_gpa_interrupt_after) {
		vm->rec.map_gpa_status = KD_TDVMCALL_STATUS_RETRY; /* kvm_vcpu_has_events(): the guest resumes later */
		vm->rec.map_gpa_next = v->map_next;
		v->map_pending = false;
		return 0;
	}
	map_gpa_exit(v);
	return 1;
}

/* The guest's SVM_VMGEXIT_AP_CREATION, as sev.c sev_snp_ap_creation handles it (6.11+, with the
 * 6.15 checks): exit_info_1 = request (low 32 bits: 0 CREATE_ON_INIT, 1 CREATE, 2 DESTROY) and
 * the target's APIC ID (high 32); exit_info_2 = the new VMSA's GPA; RAX = its SEV features, which
 * must be the VM's (INIT2's vmsa_features | SNP_ACTIVE). A bad request goes back to the guest
 * (GHCB error) and nothing changes; CREATE makes the target runnable (kicks it), CREATE_ON_INIT
 * only on its next INIT, DESTROY leaves it not runnable. No exit reaches user space. */
static void snp_ap_creation(struct kvm_double *kd, struct kd_vm *vm, const uint8_t *payload)
{
	uint64_t info1, info2, rax;
	unsigned request, apic_id;
	struct kd_vcpu *t;

	memcpy(&info1, payload, 8);
	memcpy(&info2, payload + 8, 8);
	memcpy(&rax, payload + 16, 8);
	request = (unsigned)info1;
	apic_id = (unsigned)(info1 >> 32);
	(void)kd;
	if (apic_id >= vm->nvcpus || request > 2 ||
	    (request < 2 && (rax != (vm->vmsa_features | 1) || info2 % PG || info2 >= KD_GPA_LIMIT))) {
		vm->rec.ap_creations_refused++;
		return;
	}
	t = kd->obj[vm->vcpu_obj[apic_id]].vcpu;
	vm->rec.ap_creations++;
	if (request == 1 && t->ap_waiting && t->ap_wake[1] >= 0 && write(t->ap_wake[1], "", 1) != 1)
		vm->rec.ap_creations_refused++;
}

/* The next page of the stub's PSC loop: KVM_EXIT_HYPERCALL to user space (returns 1), or, when
 * the kernel answers by itself (a bad op, MAP_GPA_RANGE exits off), the error response and the
 * end of the loop (returns 0). sev.c snp_begin_psc_msr. */
static int psc_msr_begin(struct kd_vm *vm, struct kd_vcpu *v)
{
	struct kvm_run *run = (struct kvm_run *)v->run;

	if ((v->psc_op != KD_SNP_PAGE_STATE_PRIVATE && v->psc_op != KD_SNP_PAGE_STATE_SHARED) ||
	    !(vm->rec.exit_hypercall_mask & (1ull << KD_KVM_HC_MAP_GPA_RANGE))) {
		vm->rec.psc_msr_last_resp = KD_GHCB_MSR_PSC_RESP_ERROR;
		vm->rec.psc_msr_errors++;
		v->psc_pending = false;
		return 0;
	}
	memset(v->run + 8, 0, 256);
	run->exit_reason = KVM_EXIT_HYPERCALL;
	run->hypercall.nr = KD_KVM_HC_MAP_GPA_RANGE;
	run->hypercall.args[0] = v->psc_next;
	run->hypercall.args[1] = 1;
	run->hypercall.args[2] = (v->psc_op == KD_SNP_PAGE_STATE_PRIVATE ? KD_KVM_MAP_GPA_RANGE_ENCRYPTED
									 : KD_KVM_MAP_GPA_RANGE_DECRYPTED) |
				 KD_KVM_MAP_GPA_RANGE_PAGE_SZ_4K;
	run->hypercall.ret = 0;
	run->hypercall.longmode = 1;
	v->psc_pending = true;
	vm->rec.psc_msr_exits++;
	return 1;
}

/* User space answered the page at psc_next (sev.c snp_complete_psc_msr): any non-zero ret is the
 * generic error and the stub stops; else the guest reads 0x015 and, making it private, PVALIDATEs
 * the page [FW]: PRIVATE and not validated by the launch, or the stub stops. Returns 1 when the
 * next page's exit is set up, 0 when the loop is over. */
static int psc_msr_complete(struct kd_vm *vm, struct kd_vcpu *v)
{
	struct kvm_run *run = (struct kvm_run *)v->run;
	uint64_t page = v->psc_next / PG;

	v->psc_pending = false;
	if (run->hypercall.ret) {
		vm->rec.psc_msr_last_resp = KD_GHCB_MSR_PSC_RESP_ERROR;
		vm->rec.psc_msr_errors++;
		return 0;
	}
	vm->rec.psc_msr_last_resp = KD_GHCB_MSR_PSC_RESP;
	if (v->psc_op == KD_SNP_PAGE_STATE_PRIVATE) {
		if (v->psc_next >= KD_GPA_LIMIT || !bit(vm->private_map, page) || bit(vm->added_map, page)) {
			vm->rec.pvalidate_failed++;
			return 0;
		}
		vm->rec.pvalidated++;
	}
	v->psc_next += PG;
	return v->psc_next < v->psc_end ? psc_msr_begin(vm, v) : 0;
}

static int vcpu_run(struct kvm_double *kd, struct kd_vm *vm, struct kd_obj *o)
{
	struct kd_vcpu *v = o->vcpu;
	struct kvm_run *run = (struct kvm_run *)v->run;
	struct kd_script *s;

	if ((vm->type == KD_KVM_X86_SNP_VM && !vm->finished) || (vm->type == KD_KVM_X86_TDX_VM && !vm->finalized))
		return refuse(kd, EINVAL, "KVM_RUN: before the launch is finished");
	if (v->certs_pending) {
		/* KVM completes the #VMGEXIT from what user space left in snp_req_certs.ret. */
		struct kd_kvm_run_snp_req_certs rc;
		memcpy(&rc, v->run + KD_KVM_RUN_UNION_OFFSET, sizeof(rc));
		if (rc.ret != 0 && rc.ret != ENOSPC && rc.ret != EAGAIN && rc.ret != EIO)
			return refuse(kd, EINVAL, "KVM_RUN: snp_req_certs.ret %llu is not 0, ENOSPC, EAGAIN or EIO",
				      (unsigned long long)rc.ret);
		v->certs_pending = false;
		vm->rec.certs_completions++;
		vm->rec.certs_ret = rc.ret;
		vm->rec.certs_npages = rc.npages;
	}
	if (v->map_pending) {
		int r = map_gpa_complete(kd, vm, v);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (v->psc_pending && psc_msr_complete(vm, v))
		return 0;
	if (__atomic_load_n(&run->immediate_exit, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&vm->rec.eintr_runs, 1, __ATOMIC_SEQ_CST);
		return -EINTR;
	}
	if (v->ap_waiting) {
		/* kvm_vcpu_block in KVM_RUN: out when the AP is made runnable, or -EINTR for a signal
		 * (x86.c vcpu_run -> kvm_vcpu_check_block / signal_pending). */
		struct pollfd p = { .fd = v->ap_wake[0], .events = POLLIN };
		uint8_t b;
		int r;
		__atomic_fetch_add(&vm->rec.ap_blocked_runs, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&v->ap_blocked, true, __ATOMIC_SEQ_CST);
		r = poll(&p, 1, -1);
		__atomic_store_n(&v->ap_blocked, false, __ATOMIC_SEQ_CST);
		if (r < 0) {
			__atomic_fetch_add(&vm->rec.eintr_runs, 1, __ATOMIC_SEQ_CST);
			return -EINTR;
		}
		if (read(v->ap_wake[0], &b, 1) != 1)
			return -EINTR;
		v->ap_waiting = false;
		__atomic_fetch_add(&vm->rec.aps_started, 1, __ATOMIC_SEQ_CST);
	}
next:
	if (v->next_script >= v->n_script) {
		run->exit_reason = KVM_EXIT_HLT;
		return 0;
	}
	s = &v->script[v->next_script++];
	if (s->reason == KD_SCRIPT_SNP_AP_CREATION) {
		snp_ap_creation(kd, vm, s->payload);
		goto next; /* handled in the kernel: the guest goes on */
	}
	if (s->reason == KD_SCRIPT_WAIT_AP_BLOCKED) {
		/* A guest spinning on a flag its AP would set: lets a test put an AP's KVM_RUN in the
		 * blocked state before the BSP goes on. Ends early for a kick, as a spinning guest is
		 * interrupted by one. */
		unsigned ap;
		memcpy(&ap, s->payload, sizeof(ap));
		if (ap >= vm->nvcpus)
			return refuse(kd, EINVAL, "test script: no vCPU %u", ap);
		while (!__atomic_load_n(&kd->obj[vm->vcpu_obj[ap]].vcpu->ap_blocked, __ATOMIC_SEQ_CST)) {
			if (__atomic_load_n(&run->immediate_exit, __ATOMIC_SEQ_CST)) {
				v->next_script--;
				__atomic_fetch_add(&vm->rec.eintr_runs, 1, __ATOMIC_SEQ_CST);
				return -EINTR;
			}
			sched_yield();
		}
		goto next;
	}
	if (s->reason == KD_SCRIPT_SNP_PSC_MSR) {
		uint64_t n;
		memcpy(&v->psc_next, s->payload, 8);
		memcpy(&n, s->payload + 8, 8);
		memcpy(&v->psc_op, s->payload + 16, sizeof(v->psc_op));
		v->psc_end = v->psc_next + n * PG;
		if (psc_msr_begin(vm, v))
			return 0;
		goto next; /* answered in the kernel: the stub stops on the error, the script goes on */
	}
	if (s->reason == KD_SCRIPT_TDX_MAP_GPA) {
		memcpy(&v->map_next, s->payload, 8);
		memcpy(&v->map_end, s->payload + 8, 8);
		v->map_end += v->map_next;
		v->map_private = s->payload[16];
		v->map_pending = true;
		v->map_chunks = 0;
		map_gpa_exit(v);
		return 0;
	}
	memset(v->run + 8, 0, 256);
	run->exit_reason = s->reason;
	memcpy(v->run + 32, s->payload, s->len);
	if (s->reason == KD_KVM_EXIT_SNP_REQ_CERTS) {
		struct kd_kvm_run_snp_req_certs rc;
		memcpy(&rc, v->run + KD_KVM_RUN_UNION_OFFSET, sizeof(rc));
		if (!vm->rec.req_certs_enabled || rc.gpa % PG)
			return refuse(kd, EINVAL, "test script: KVM only exits SNP_REQ_CERTS when enabled, with gpa aligned");
		rc.ret = 0; /* always 0 on exit */
		memcpy(v->run + KD_KVM_RUN_UNION_OFFSET, &rc, sizeof(rc));
		v->certs_pending = true;
	}
	return s->ret;
}

static int vcpu_ioctl(struct kvm_double *kd, struct kd_obj *o, unsigned long req, void *arg)
{
	struct kd_vm *vm = kd->vms[o->vm];
	struct kd_vcpu *v = o->vcpu;

	if (vm->finalized && req != KVM_RUN)
		return refuse(kd, EINVAL, "vCPU ioctl 0x%lx after KVM_TDX_FINALIZE_VM", req);
	switch (req) {
	case KVM_SET_CPUID2: {
		const struct kvm_cpuid2 *c = arg;
		if (c->nent > 256)
			return refuse(kd, E2BIG, "KVM_SET_CPUID2: %u entries", c->nent);
		memcpy(v->cpuid, c->entries, c->nent * sizeof(c->entries[0]));
		v->cpuid_n = c->nent;
		return 0;
	}
	case KVM_GET_SREGS:
		memcpy(arg, &v->sregs, sizeof(v->sregs));
		return 0;
	case KVM_SET_SREGS:
		memcpy(&v->sregs, arg, sizeof(v->sregs));
		return 0;
	case KVM_GET_REGS:
		memcpy(arg, &v->regs, sizeof(v->regs));
		return 0;
	case KVM_SET_REGS:
		memcpy(&v->regs, arg, sizeof(v->regs));
		return 0;
	case KVM_GET_FPU:
		memcpy(arg, &v->fpu, sizeof(v->fpu));
		return 0;
	case KVM_SET_FPU:
		memcpy(&v->fpu, arg, sizeof(v->fpu));
		return 0;
	case KVM_RUN:
		return vcpu_run(kd, vm, o);
	case KD_KVM_MEMORY_ENCRYPT_OP:
		if (vm->type == KD_KVM_X86_TDX_VM)
			return tdx_vcpu_cmd(kd, vm, o, arg);
		return refuse(kd, EINVAL, "KVM_MEMORY_ENCRYPT_OP on a vCPU of a non-TDX VM");
	default:
		return refuse(kd, ENOTTY, "vCPU fd: ioctl 0x%lx not modelled", req);
	}
}

/* ---- the ops table ---- */

int kd_open_dev(void *ctx, const char *path)
{
	struct kvm_double *kd = ctx;
	int o;

	if (strcmp(path, "/dev/kvm") == 0)
		o = obj_new(kd, KD_KVM);
	else if (strcmp(path, "/dev/sev") == 0 && kd->cfg.sev_dev)
		o = obj_new(kd, KD_SEV);
	else
		return -ENOENT;
	return o < 0 ? -EMFILE : KD_FD_BASE + o;
}

int kd_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	struct kvm_double *kd = ctx;
	struct kd_obj *o = obj_get(kd, fd);

	if (!o)
		return refuse(kd, EBADF, "ioctl 0x%lx on fd %d, which the double never returned", req, fd);
	if (o->closed)
		return refuse(kd, EBADF, "ioctl 0x%lx on fd %d, which is closed", req, fd);
	switch (o->kind) {
	case KD_KVM:
		return kvm_ioctl(kd, req, arg);
	case KD_VM:
		return vm_ioctl(kd, o->vm, req, arg);
	case KD_VCPU:
		return vcpu_ioctl(kd, o, req, arg);
	case KD_SEV:
		if (req == KD_SEV_ISSUE_CMD && ((struct kd_sev_issue_cmd *)arg)->cmd == KD_SEV_SNP_PLATFORM_STATUS) {
			uint8_t *page = (uint8_t *)(uintptr_t)((struct kd_sev_issue_cmd *)arg)->data;
			page[0] = 1;
			page[1] = 55;
			return 0;
		}
		return refuse(kd, ENOTTY, "/dev/sev: request not modelled");
	default:
		return refuse(kd, ENOTTY, "ioctl 0x%lx on a guest_memfd", req);
	}
}

void *kd_mmap_run(void *ctx, int fd, size_t len)
{
	struct kvm_double *kd = ctx;
	struct kd_obj *o = obj_get(kd, fd);

	if (!o || o->closed) {
		errno = EBADF;
		return NULL;
	}
	if (o->kind != KD_VCPU || len > KD_RUN_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	o->vcpu->run_maps++;
	return o->vcpu->run;
}

void kd_munmap_run(void *ctx, void *p, size_t len)
{
	struct kvm_double *kd = ctx;

	(void)len;
	for (unsigned i = 0; i < KD_MAX_OBJ; i++)
		if (kd->obj[i].kind == KD_VCPU && kd->obj[i].vcpu->run == p && kd->obj[i].vcpu->run_maps) {
			kd->obj[i].vcpu->run_maps--;
			return;
		}
	kd->bad_unmaps++;
}

void kd_close(void *ctx, int fd)
{
	struct kvm_double *kd = ctx;
	struct kd_obj *o = obj_get(kd, fd);

	if (!o || o->closed) {
		kd->bad_closes++;
		return;
	}
	/* VMs and vCPUs stay readable after close so tests can inspect records; the fd is gone. */
	if (o->kind == KD_KVM || o->kind == KD_SEV || o->kind == KD_GMEM)
		o->kind = KD_FREE;
	else
		o->closed = true;
}

unsigned kd_fds_open(const struct kvm_double *kd)
{
	unsigned n = 0;

	for (unsigned i = 0; i < KD_MAX_OBJ; i++)
		n += kd->obj[i].kind != KD_FREE && !kd->obj[i].closed;
	return n;
}

unsigned kd_runs_mapped(const struct kvm_double *kd)
{
	unsigned n = 0;

	for (unsigned i = 0; i < KD_MAX_OBJ; i++)
		if (kd->obj[i].kind == KD_VCPU)
			n += kd->obj[i].vcpu->run_maps;
	return n;
}

unsigned kd_bad_closes(const struct kvm_double *kd) { return kd->bad_closes; }
unsigned kd_bad_unmaps(const struct kvm_double *kd) { return kd->bad_unmaps; }


/* ---- results ---- */

int kd_snp_digest(const struct kvm_double *kd, uint8_t out[48])
{
	if (kd->last_snp_vm < 0 || !kd->vms[kd->last_snp_vm]->finished)
		return -ENOENT;
	memcpy(out, kd->vms[kd->last_snp_vm]->ld, 48);
	return 0;
}

int kd_tdx_mrtd(const struct kvm_double *kd, uint8_t out[48])
{
	if (kd->last_tdx_vm < 0 || !kd->vms[kd->last_tdx_vm]->finalized)
		return -ENOENT;
	memcpy(out, kd->vms[kd->last_tdx_vm]->mrtd_final, 48);
	return 0;
}

int kd_record_get(const struct kvm_double *kd, struct kd_record *out)
{
	if (kd->last_vm < 0)
		return -ENOENT;
	*out = kd->vms[kd->last_vm]->rec;
	return 0;
}

int kd_cpuid_seen(const struct kvm_double *kd, enum kd_cpuid_src src, unsigned vcpu, uint32_t leaf, uint32_t sub,
		  uint32_t out[4])
{
	const struct kd_vm *vm;

	if (kd->last_vm < 0 || !(vm = kd->vms[kd->last_vm]))
		return -ENOENT;
	if (src == KD_CPUID_SNP_PAGE) {
		uint32_t n = get32(vm->cpuid_page);
		for (uint32_t i = 0; i < n && i < 64; i++) {
			const uint8_t *f = vm->cpuid_page + 16 + 48 * i;
			if (get32(f) == leaf && get32(f + 4) == sub) {
				for (int r = 0; r < 4; r++)
					out[r] = get32(f + 24 + 4 * r);
				return 0;
			}
		}
		return -ENOENT;
	}
	{
		const struct kvm_cpuid_entry2 *e = src == KD_CPUID_TDX_INIT_VM ? vm->td_cpuid : NULL;
		unsigned n = src == KD_CPUID_TDX_INIT_VM ? vm->td_cpuid_n : 0;
		if (src == KD_CPUID_SET_CPUID2) {
			if (vcpu >= vm->nvcpus)
				return -ENOENT;
			e = kd->obj[vm->vcpu_obj[vcpu]].vcpu->cpuid;
			n = kd->obj[vm->vcpu_obj[vcpu]].vcpu->cpuid_n;
		}
		for (unsigned i = 0; e && i < n; i++)
			if (e[i].function == leaf && e[i].index == sub) {
				out[0] = e[i].eax;
				out[1] = e[i].ebx;
				out[2] = e[i].ecx;
				out[3] = e[i].edx;
				return 0;
			}
	}
	return -ENOENT;
}

bool kd_gpa_private(const struct kvm_double *kd, uint64_t gpa)
{
	return kd->last_vm >= 0 && gpa < KD_GPA_LIMIT && bit(kd->vms[kd->last_vm]->private_map, gpa / PG);
}

int kd_script_exit(struct kvm_double *kd, unsigned vcpu, uint32_t exit_reason, const void *payload,
		   size_t payload_len, int ret)
{
	struct kd_vm *vm;
	struct kd_vcpu *v;

	if (kd->last_vm < 0 || !(vm = kd->vms[kd->last_vm]) || vcpu >= vm->nvcpus || payload_len > 256)
		return -EINVAL;
	v = kd->obj[vm->vcpu_obj[vcpu]].vcpu;
	if (v->n_script >= sizeof(v->script) / sizeof(v->script[0]))
		return -ENOSPC;
	v->script[v->n_script].reason = exit_reason;
	if (payload_len)
		memcpy(v->script[v->n_script].payload, payload, payload_len);
	v->script[v->n_script].len = payload_len;
	v->script[v->n_script].ret = ret;
	v->n_script++;
	return 0;
}

int kd_script_snp_ap_creation(struct kvm_double *kd, unsigned vcpu, unsigned request, unsigned apic_id,
			      uint64_t vmsa_gpa, uint64_t sev_features)
{
	uint64_t p[3] = { (uint64_t)apic_id << 32 | request, vmsa_gpa, sev_features };
	return kd_script_exit(kd, vcpu, KD_SCRIPT_SNP_AP_CREATION, p, sizeof(p), 0);
}

int kd_script_wait_ap_blocked(struct kvm_double *kd, unsigned vcpu, unsigned ap)
{
	return kd_script_exit(kd, vcpu, KD_SCRIPT_WAIT_AP_BLOCKED, &ap, sizeof(ap), 0);
}

int kd_script_snp_psc_msr(struct kvm_double *kd, unsigned vcpu, uint64_t gpa, uint64_t npages, unsigned op)
{
	uint8_t p[16 + sizeof(unsigned)];

	if (kd->last_vm < 0 || kd->vms[kd->last_vm]->type != KD_KVM_X86_SNP_VM || gpa % PG || !npages)
		return -EINVAL;
	memcpy(p, &gpa, 8);
	memcpy(p + 8, &npages, 8);
	memcpy(p + 16, &op, sizeof(op));
	return kd_script_exit(kd, vcpu, KD_SCRIPT_SNP_PSC_MSR, p, sizeof(p), 0);
}

int kd_script_tdx_map_gpa(struct kvm_double *kd, unsigned vcpu, uint64_t gpa, uint64_t size, bool to_private)
{
	uint8_t p[17];

	if (kd->last_vm < 0 || kd->vms[kd->last_vm]->type != KD_KVM_X86_TDX_VM || gpa % PG || size % PG || !size)
		return -EINVAL;
	memcpy(p, &gpa, 8);
	memcpy(p + 8, &size, 8);
	p[16] = to_private;
	return kd_script_exit(kd, vcpu, KD_SCRIPT_TDX_MAP_GPA, p, sizeof(p), 0);
}
