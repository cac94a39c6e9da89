/* Each rule of the strict double, broken once: by a direct call through the ops table (the
 * documented errno comes back) or through carapace's launch driver (which reports it with the
 * ioctl's name). Plus the driver's own state machine refusing steps out of order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "helpers.h"
#include "runner/kvm_cc_uapi.h"

#define MB (1ull << 20)
#define RAM (2 * MB)

static const struct kvm_ops *ops = &kd_ops;
static struct kvm_double *kd;
static uint8_t *shared; /* the "shared mapping" of slot 0: 2 MiB at GPA 0 */
static int sevfd;       /* an open /dev/sev of the double, named in every SEV command */

static int io(int fd, unsigned long req, void *arg) { return ops->ioctl(kd, fd, req, arg); }

static int sev(int vm, uint32_t id, void *data)
{
	struct cp_kvm_sev_cmd c = { .id = id, .data = (uintptr_t)data, .sev_fd = (uint32_t)sevfd };
	return io(vm, CP_KVM_MEMORY_ENCRYPT_OP, &c);
}

/* The same with another sev_fd; *error gets the firmware status KVM reports. */
static int sev_with_fd(int vm, uint32_t id, void *data, uint32_t fd, uint32_t *error)
{
	struct cp_kvm_sev_cmd c = { .id = id, .data = (uintptr_t)data, .sev_fd = fd, .error = 0xdead };
	int r = io(vm, CP_KVM_MEMORY_ENCRYPT_OP, &c);
	if (error)
		*error = c.error;
	return r;
}

static int tdx(int fd, uint32_t id, uint32_t flags, uint64_t data)
{
	struct cp_kvm_tdx_cmd c = { .id = id, .flags = flags, .data = data };
	return io(fd, CP_KVM_MEMORY_ENCRYPT_OP, &c);
}

static int setup(void **state)
{
	kd = double_new();
	sevfd = kd ? ops->open_dev(kd, "/dev/sev") : -1;
	shared = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return kd && shared != MAP_FAILED ? 0 : -1;
}

static int teardown(void **state)
{
	kd_free(kd);
	munmap(shared, RAM);
	return 0;
}

#define EXPECT(call, e)                                                                                  \
	do {                                                                                             \
		int r_ = (call);                                                                         \
		if (r_ != (e))                                                                           \
			fail_msg("%s returned %d, expected %d (double: %s)", #call, r_, (e), kd_last_refusal(kd)); \
	} while (0)

static int create_vm(unsigned long type)
{
	int kvm = ops->open_dev(kd, "/dev/kvm");
	assert_true(kvm >= 0);
	return io(kvm, KVM_CREATE_VM, (void *)type);
}

static int gmem(int vm, uint64_t size)
{
	struct cp_kvm_create_guest_memfd g = { .size = size };
	return io(vm, CP_KVM_CREATE_GUEST_MEMFD, &g);
}

static int region2(int vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, void *hva, int gfd, uint64_t off)
{
	struct cp_kvm_userspace_memory_region2 m = { .slot = slot, .flags = flags, .guest_phys_addr = gpa,
						     .memory_size = size, .userspace_addr = (uintptr_t)hva,
						     .guest_memfd_offset = off, .guest_memfd = (uint32_t)gfd };
	return io(vm, CP_KVM_SET_USER_MEMORY_REGION2, &m);
}

static int attrs(int vm, uint64_t gpa, uint64_t size, uint64_t a, uint64_t flags)
{
	struct cp_kvm_memory_attributes m = { .address = gpa, .size = size, .attributes = a, .flags = flags };
	return io(vm, CP_KVM_SET_MEMORY_ATTRIBUTES, &m);
}

static int update(int vm, uint64_t gpa, void *uaddr, uint64_t len, uint8_t type, struct cp_kvm_sev_snp_launch_update *out)
{
	struct cp_kvm_sev_snp_launch_update u = { .gfn_start = gpa >> 12, .uaddr = (uintptr_t)uaddr, .len = len, .type = type };
	int r = sev(vm, CP_KVM_SEV_SNP_LAUNCH_UPDATE, &u);
	if (out)
		*out = u;
	return r;
}

/* An SNP VM through LAUNCH_START with 2 MiB of guest_memfd RAM at GPA 0; `private_` sets it PRIVATE. */
static int snp_vm(bool private_)
{
	int vm = create_vm(CP_KVM_X86_SNP_VM), g;
	struct cp_kvm_sev_init in = { 0 };
	struct cp_kvm_sev_snp_launch_start st = { .policy = 0x30000 };

	assert_true(vm >= 0);
	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), 0);
	EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_START, &st), 0);
	g = gmem(vm, RAM);
	assert_true(g >= 0);
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0, RAM, shared, g, 0), 0);
	if (private_)
		EXPECT(attrs(vm, 0, RAM, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), 0);
	return vm;
}

static int finish(int vm)
{
	struct cp_kvm_sev_snp_launch_finish f = { 0 };
	return sev(vm, CP_KVM_SEV_SNP_LAUNCH_FINISH, &f);
}

/* ---- VM type ---- */

static void test_vm_type_must_be_offered(void **state)
{
	struct kd_config c;
	kd_free(kd);
	kd_config_default(&c);
	c.vm_types = 1; /* like this host */
	kd = kd_new(&c);
	EXPECT(create_vm(CP_KVM_X86_SNP_VM), -EINVAL);
	EXPECT(create_vm(CP_KVM_X86_TDX_VM), -EINVAL);
	EXPECT(create_vm(99), -EINVAL);
	assert_true(create_vm(0) >= 0);
}

/* ---- SNP: INIT2 ---- */

static void test_init2_rules(void **state)
{
	int vm = create_vm(CP_KVM_X86_SNP_VM);
	struct cp_kvm_sev_init in = { 0 };

	in.flags = 1;
	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), -EINVAL);
	in.flags = 0;
	in.vmsa_features = 1u << 2; /* not in the supported mask (DebugSwap only) */
	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), -EINVAL);
	in.vmsa_features = 0;
	in.ghcb_version = 3;
	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), -EINVAL);
	in.ghcb_version = 0;
	in.vmsa_features = 1u << 5;
	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), 0);
	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), -EINVAL); /* twice */
	/* Legacy SEV commands are refused on an SNP guest. */
	EXPECT(sev(vm, CP_KVM_SEV_LAUNCH_START, &in), -EPERM);
}

static void test_init2_only_types_2_to_4_and_before_vcpus(void **state)
{
	int vm0 = create_vm(0), vm = create_vm(CP_KVM_X86_SNP_VM);
	struct cp_kvm_sev_init in = { 0 };

	EXPECT(sev(vm0, CP_KVM_SEV_INIT2, &in), -EINVAL);
	assert_true(io(vm, KVM_CREATE_VCPU, (void *)0) >= 0);
	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), -EINVAL);
}

/* ---- SNP: LAUNCH_START ---- */

static void test_launch_start_needs_init2(void **state)
{
	int vm = create_vm(CP_KVM_X86_SNP_VM);
	struct cp_kvm_sev_snp_launch_start st = { .policy = 0x30000 };
	EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_START, &st), -ENOTTY);
}

static void test_launch_start_policy(void **state)
{
	static const uint64_t bad[] = {
		0x10000,            /* bit 17 (must be one) clear */
		0x20000,            /* SMT clear: KVM 6.11..6.16 require it */
		0x30000 | 1u << 20, /* SINGLE_SOCKET */
		0x30000 | 1u << 21, /* CXL_ALLOW: not accepted before later kernels */
		0x30000 | 1u << 18, /* MIGRATE_MA */
	};
	int vm = create_vm(CP_KVM_X86_SNP_VM);
	struct cp_kvm_sev_init in = { 0 };
	struct cp_kvm_sev_snp_launch_start st = { 0 };

	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st.policy = bad[i];
		EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_START, &st), -EINVAL);
	}
	st.policy = 0x30000;
	st.flags = 1;
	EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_START, &st), -EINVAL);
	st.flags = 0;
	st.policy = 0x30000 | 1u << 19; /* DEBUG is accepted */
	EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_START, &st), 0);
	EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_START, &st), -EINVAL); /* once */
}

/* ---- guest_memfd, slots, attributes ---- */

static void test_guest_memfd_rules(void **state)
{
	int vm = create_vm(CP_KVM_X86_SNP_VM);
	struct cp_kvm_create_guest_memfd g = { .size = RAM, .flags = CP_GUEST_MEMFD_FLAG_MMAP };

	EXPECT(io(vm, CP_KVM_CREATE_GUEST_MEMFD, &g), -EINVAL); /* flags not offered (6.17 level) */
	EXPECT(gmem(vm, 0), -EINVAL);
	EXPECT(gmem(vm, 4096 + 512), -EINVAL);
	assert_true(gmem(vm, RAM) >= 0);
}

static void test_memslot_rules(void **state)
{
	int vm = create_vm(CP_KVM_X86_SNP_VM), g = gmem(vm, RAM), other = create_vm(CP_KVM_X86_SNP_VM);
	int og = gmem(other, RAM);
	struct kvm_userspace_memory_region v1 = { .slot = 3, .guest_phys_addr = 0, .memory_size = RAM,
						  .userspace_addr = (uintptr_t)shared };

	EXPECT(region2(vm, 0, 0, 0, RAM, shared, -1, 0), -EINVAL);                    /* SNP needs guest_memfd */
	EXPECT(io(vm, KVM_SET_USER_MEMORY_REGION, &v1), -EINVAL);                     /* v1 on a private VM */
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0x800, RAM, shared, g, 0), -EINVAL); /* unaligned gpa */
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0, RAM, shared + 8, g, 0), -EINVAL); /* unaligned uaddr */
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0, RAM, shared, g, 4096), -EINVAL);  /* past the gmem end */
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY, 0, RAM, shared, g, 0), -EINVAL);
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0, RAM, shared, 12345, 0), -EBADF);
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0, RAM, shared, og, 0), -EINVAL);    /* another VM's */
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0, RAM / 2, shared, g, 0), 0);
	EXPECT(region2(vm, 1, CP_KVM_MEM_GUEST_MEMFD, RAM / 4, RAM / 2, shared, g, RAM / 2), -EEXIST);
	EXPECT(region2(vm, 1, CP_KVM_MEM_GUEST_MEMFD, MB * 64, RAM / 2, shared, g, 0), -EINVAL); /* bound twice */
	EXPECT(region2(vm, 1, CP_KVM_MEM_GUEST_MEMFD, MB * 64, RAM / 2, shared, g, RAM / 2), 0);
}

static void test_attribute_rules(void **state)
{
	int plain = create_vm(0), vm = create_vm(CP_KVM_X86_SNP_VM); /* vm last: kd_gpa_private looks at it */

	EXPECT(attrs(vm, 0, RAM, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 1), -EINVAL);   /* flags */
	EXPECT(attrs(vm, 0x800, RAM, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), -EINVAL);
	EXPECT(attrs(vm, 0, 0x1800, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), -EINVAL);
	EXPECT(attrs(vm, 0, 0, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), -EINVAL);
	EXPECT(attrs(vm, 0, RAM, 1u << 0, 0), -EINVAL);                           /* unsupported attribute */
	EXPECT(attrs(vm, UINT64_MAX & ~0xfffull, 0x2000, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), -EINVAL); /* wraps */
	EXPECT(attrs(plain, 0, RAM, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), -EINVAL); /* plain VM: nothing supported */
	EXPECT(io(vm, KVM_CHECK_EXTENSION, (void *)(long)CP_KVM_CAP_MEMORY_ATTRIBUTES), (int)CP_KVM_MEMORY_ATTRIBUTE_PRIVATE);
	EXPECT(io(plain, KVM_CHECK_EXTENSION, (void *)(long)CP_KVM_CAP_MEMORY_ATTRIBUTES), 0);
	EXPECT(attrs(vm, 0, RAM, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), 0);
	assert_true(kd_gpa_private(kd, 0x1000));
	EXPECT(attrs(vm, 0x1000, 0x1000, 0, 0), 0);
	assert_false(kd_gpa_private(kd, 0x1000));
}

/* ---- SNP: LAUNCH_UPDATE ---- */

static void test_update_before_start(void **state)
{
	int vm = create_vm(CP_KVM_X86_SNP_VM);
	struct cp_kvm_sev_init in = { 0 };
	EXPECT(update(vm, 0, shared, 4096, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -ENOTTY); /* before INIT2 */
	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), 0);
	EXPECT(update(vm, 0, shared, 4096, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EINVAL); /* before START */
}

static void test_update_only_private(void **state)
{
	int vm = snp_vm(false);
	EXPECT(update(vm, 0, shared, 4096, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EINVAL);
	EXPECT(attrs(vm, 0, 0x1000, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), 0);
	EXPECT(update(vm, 0, shared, 0x2000, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EINVAL); /* 2nd page shared */
	EXPECT(update(vm, 0, shared, 0x1000, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), 0);
}

static void test_update_alignment_type_uaddr(void **state)
{
	int vm = snp_vm(true);
	EXPECT(update(vm, 0, shared, 0, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EINVAL);       /* len 0 */
	EXPECT(update(vm, 0, shared, 0x1800, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EINVAL);  /* not 4K multiple */
	EXPECT(update(vm, 0, shared, 0x1000, 2 /* VMSA */, NULL), -EINVAL);                     /* invalid type */
	EXPECT(update(vm, 0, shared, 0x1000, 7, NULL), -EINVAL);
	EXPECT(update(vm, 0, shared + 8, 0x1000, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EFAULT); /* unaligned uaddr */
	EXPECT(update(vm, 0, shared + RAM, 0x1000, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EFAULT); /* outside mapping */
	EXPECT(update(vm, 0, shared + RAM - 0x1000, 0x2000, CP_KVM_SEV_SNP_PAGE_TYPE_SECRETS, NULL), -EFAULT);
	EXPECT(update(vm, RAM, shared, 0x1000, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EINVAL); /* no slot there */
	EXPECT(update(vm, 0, NULL, 0x1000, CP_KVM_SEV_SNP_PAGE_TYPE_ZERO, NULL), 0);            /* ZERO ignores uaddr */
	EXPECT(update(vm, 0, shared, 0x1000, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EINVAL);  /* already added */
	{
		struct cp_kvm_sev_snp_launch_update u = { .gfn_start = 1, .uaddr = (uintptr_t)shared, .len = 0x1000,
							  .type = CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, .flags = 1 };
		EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_UPDATE, &u), -EINVAL); /* flags */
	}
}

static void test_update_partial_and_eagain(void **state)
{
	struct kd_config c;
	struct cp_kvm_sev_snp_launch_update u;
	int vm;

	kd_free(kd);
	kd_config_default(&c);
	c.max_pages_per_call = 2;
	c.eagain_every = 2;
	kd = kd_new(&c);
	sevfd = ops->open_dev(kd, "/dev/sev");
	vm = snp_vm(true);
	EXPECT(update(vm, 0x10000, shared + 0x10000, 0x5000, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, &u), 0);
	/* Only part was done: the caller sees the rest in the updated struct and must loop. */
	assert_int_equal(u.gfn_start, 0x12);
	assert_int_equal(u.len, 0x3000);
	assert_int_equal(u.uaddr, (uintptr_t)shared + 0x12000);
	EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_UPDATE, &u), -EAGAIN);
	assert_int_equal(u.len, 0x3000); /* no progress on EAGAIN */
}

static void test_finish_rules(void **state)
{
	int vm = snp_vm(true), vcpu;
	struct kvm_run *run;
	struct cp_kvm_sev_snp_launch_finish f = { .flags = 1 };

	EXPECT(finish(vm), -EINVAL); /* no vCPU yet: nothing to measure */
	vcpu = io(vm, KVM_CREATE_VCPU, (void *)0);
	assert_true(vcpu >= 0);
	EXPECT(io(vcpu, KVM_RUN, NULL), -EINVAL); /* not launched */
	EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_FINISH, &f), -EINVAL);
	f.flags = 0;
	f.auth_key_en = 1; /* auth without an ID block */
	EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_FINISH, &f), -EINVAL);
	f.auth_key_en = 0;
	f.id_block_en = 1; /* an ID block without its auth block: KVM copies id_auth_uaddr anyway */
	f.id_block_uaddr = (uintptr_t)shared;
	EXPECT(sev(vm, CP_KVM_SEV_SNP_LAUNCH_FINISH, &f), -EFAULT);
	assert_non_null(strstr(kd_last_refusal(kd), "id_auth_uaddr 0x0"));
	EXPECT(update(vm, 0, shared, 0x1000, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), 0);
	EXPECT(finish(vm), 0);
	EXPECT(finish(vm), -EINVAL);                                                            /* once */
	EXPECT(update(vm, 0x1000, shared, 0x1000, CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL, NULL), -EINVAL); /* after */
	EXPECT(io(vm, KVM_CREATE_VCPU, (void *)1), -EINVAL);                                    /* vCPUs before */
	run = ops->mmap_run(kd, vcpu, 4096);
	assert_non_null(run);
	EXPECT(io(vcpu, KVM_RUN, NULL), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
}

/* ---- TDX ---- */

static int tdx_vm_init(void)
{
	int vm = create_vm(CP_KVM_X86_TDX_VM);
	static struct {
		struct cp_kvm_tdx_init_vm in;
		struct kvm_cpuid_entry2 e[4];
	} init;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };

	memset(&init, 0, sizeof(init));
	EXPECT(io(vm, KVM_CREATE_VCPU, (void *)0), -EIO); /* before INIT_VM (tdx_vcpu_create) */
	EXPECT(io(vm, KVM_ENABLE_CAP, &cap), 0);
	EXPECT(io(vm, KVM_CREATE_VCPU, (void *)0), -EIO); /* still before INIT_VM */
	init.in.xfam = 3;
	init.in.cpuid.nent = 1;
	init.e[0] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 48u << 16 };
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), 0);
	return vm;
}

/* The irqchip refusal for a TD comes at vCPU creation: KVM_CREATE_IRQCHIP succeeds on a TD, the
 * vCPU is refused without the split irqchip (tdx.c tdx_vcpu_create), and the split irqchip
 * cannot be added once a full one exists (x86.c kvm_vm_ioctl_enable_cap). */
static void test_tdx_irqchip_refused_at_vcpu_creation(void **state)
{
	int vm = create_vm(CP_KVM_X86_TDX_VM);
	static struct {
		struct cp_kvm_tdx_init_vm in;
		struct kvm_cpuid_entry2 e[1];
	} init;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };

	memset(&init, 0, sizeof(init));
	EXPECT(io(vm, KVM_CREATE_IRQCHIP, NULL), 0);
	EXPECT(io(vm, KVM_ENABLE_CAP, &cap), -EEXIST);
	init.in.xfam = 3;
	init.in.cpuid.nent = 1;
	init.e[0] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 48u << 16 };
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), 0);
	EXPECT(io(vm, KVM_CREATE_VCPU, (void *)0), -EINVAL);
	assert_non_null(strstr(kd_last_refusal(kd), "split irqchip"));
}

static void test_tdx_capabilities_and_init_vm(void **state)
{
	int vm = create_vm(CP_KVM_X86_TDX_VM);
	static struct {
		struct cp_kvm_tdx_capabilities caps;
		struct kvm_cpuid_entry2 e[32];
	} c;
	static struct {
		struct cp_kvm_tdx_init_vm in;
		struct kvm_cpuid_entry2 e[4];
	} init;
	struct cp_kvm_tdx_cmd hw = { .id = CP_KVM_TDX_CAPABILITIES, .data = (uintptr_t)&c, .hw_error = 1 };

	memset(&c, 0, sizeof(c));
	c.caps.cpuid.nent = 1;
	EXPECT(tdx(vm, CP_KVM_TDX_CAPABILITIES, 0, (uintptr_t)&c), -E2BIG);
	assert_int_equal(c.caps.cpuid.nent, 1); /* KVM does not say how many: the caller offers enough */
	c.caps.cpuid.nent = 32;
	EXPECT(io(vm, CP_KVM_MEMORY_ENCRYPT_OP, &hw), -EINVAL);
	EXPECT(tdx(vm, CP_KVM_TDX_CAPABILITIES, 1, (uintptr_t)&c), -EINVAL);
	EXPECT(tdx(vm, CP_KVM_TDX_CAPABILITIES, 0, (uintptr_t)&c), 0);
	for (unsigned i = 0; i < c.caps.cpuid.nent; i++)
		assert_int_equal(c.e[i].flags, 0); /* td_init_cpuid_entry2: no flags, exact (leaf, subleaf) */

	memset(&init, 0, sizeof(init));
	init.in.attributes = CP_TDX_ATTR_PERFMON; /* not supported by the double */
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL);
	init.in.attributes = 0;
	init.in.xfam = 1ull << 40;
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL);
	init.in.xfam = 3;
	/* Leaf 0x80000008 carries the guest PA width: required, 48 (or 52 with 5-level EPT). */
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL);
	assert_non_null(strstr(kd_last_refusal(kd), "0x80000008"));
	init.in.cpuid.nent = 1;
	init.e[0] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0x3030 }; /* as KVM reports it: width 0 */
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL);
	init.e[0].eax = 52u << 16 | 0x3030; /* the double's host has no 5-level EPT */
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL);
	init.e[0].eax = 48u << 16; /* the physical and virtual widths are not configurable */
	init.in.cpuid.nent = 2;
	init.e[1].function = 0x40000000; /* not a configurable leaf: no capability entry counts it */
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL);
	assert_non_null(strstr(kd_last_refusal(kd), "2 CPUID entries, 1 of them match"));
	/* (7,1) without KVM_CPUID_FLAG_SIGNIFCANT_INDEX matches the capability entries (7,0) and (7,1)
	 * alike: the count no longer adds up. */
	init.e[1] = (struct kvm_cpuid_entry2){ .function = 7, .index = 1 };
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL);
	init.e[1] = (struct kvm_cpuid_entry2){ .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0xffffffff };
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL); /* bits outside the configurable mask */
	init.e[1].ebx = 0x1;
	init.in.reserved[3] = 1;
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL);
	init.in.reserved[3] = 0;
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), 0);
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EINVAL); /* twice */
}

static void test_tdx_vcpu_mem_finalize_order(void **state)
{
	int vm = tdx_vm_init(), g = gmem(vm, RAM), v0, v1;
	struct cp_kvm_tdx_init_mem_region m = { .source_addr = (uintptr_t)shared, .gpa = 0, .nr_pages = 1 };
	struct kvm_run *run;

	EXPECT(region2(vm, 0, 0, 0, RAM, shared, -1, 0), -EINVAL); /* TDX needs guest_memfd too */
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0, RAM, shared, g, 0), 0);
	v0 = io(vm, KVM_CREATE_VCPU, (void *)0);
	v1 = io(vm, KVM_CREATE_VCPU, (void *)1);
	assert_true(v0 >= 0 && v1 >= 0);
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_VCPU, 0, 0x809000), 0);
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_VCPU, 0, 0x809000), -EINVAL); /* twice */
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EINVAL); /* vCPU 1 not initialized */
	EXPECT(tdx(vm, CP_KVM_TDX_FINALIZE_VM, 0, 0), -EINVAL);
	EXPECT(tdx(v1, CP_KVM_TDX_INIT_VCPU, 0, 0x809000), 0);
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EINVAL); /* not PRIVATE */
	EXPECT(attrs(vm, 0, RAM, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), 0);
	m.source_addr = (uintptr_t)shared + 8;
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EINVAL); /* unaligned source */
	m.source_addr = (uintptr_t)shared;
	m.gpa = 0x800;
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EINVAL); /* unaligned gpa */
	m.gpa = RAM;
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EINVAL); /* outside a slot */
	m.gpa = 0;
	m.nr_pages = 0;
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EINVAL);
	m.nr_pages = 2;
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 2, (uintptr_t)&m), -EINVAL); /* unknown flag */
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EINVAL); /* a vCPU command, not VM */
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, CP_KVM_TDX_MEASURE_MEMORY_REGION, (uintptr_t)&m), 0);
	assert_int_equal(m.nr_pages, 0);
	assert_int_equal(m.gpa, 0x2000);
	m = (struct cp_kvm_tdx_init_mem_region){ (uintptr_t)shared, 0x1000, 1 };
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EINVAL); /* added twice */
	EXPECT(io(v0, KVM_RUN, NULL), -EINVAL); /* not finalized */
	EXPECT(tdx(vm, CP_KVM_TDX_FINALIZE_VM, 0, 0), 0);
	/* Nothing but KVM_RUN (and run-time memory conversion) after FINALIZE. */
	EXPECT(tdx(vm, CP_KVM_TDX_FINALIZE_VM, 0, 0), -EINVAL);
	m = (struct cp_kvm_tdx_init_mem_region){ (uintptr_t)shared, 0x10000, 1 };
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EINVAL);
	EXPECT(io(vm, KVM_CREATE_VCPU, (void *)2), -EINVAL);
	EXPECT(io(v0, KVM_SET_REGS, &(struct kvm_regs){ 0 }), -EINVAL);
	EXPECT(attrs(vm, 0x10000, 0x1000, 0, 0), 0);
	run = ops->mmap_run(kd, v0, 4096);
	EXPECT(io(v0, KVM_RUN, NULL), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
}

static void test_tdx_apic_bus(void **state)
{
	int vm = tdx_vm_init();
	struct kvm_enable_cap cap = { .cap = CP_KVM_CAP_X86_APIC_BUS_CYCLES_NS, .args = { 1 } };

	EXPECT(io(vm, KVM_ENABLE_CAP, &cap), -EINVAL); /* a TD's APIC bus is 25 MHz */
	cap.args[0] = 40;
	EXPECT(io(vm, KVM_ENABLE_CAP, &cap), 0);
	assert_true(io(vm, KVM_CREATE_VCPU, (void *)0) >= 0);
	EXPECT(io(vm, KVM_ENABLE_CAP, &cap), -EINVAL); /* after a vCPU */
}

static void test_tdx_tsc_rules(void **state)
{
	int vm = create_vm(CP_KVM_X86_TDX_VM), plain;
	static struct {
		struct cp_kvm_tdx_init_vm in;
		struct kvm_cpuid_entry2 e[4];
	} init;
	struct cp_kvm_tdx_cmd c = { .id = CP_KVM_TDX_INIT_VM, .data = (uintptr_t)&init };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };
	struct kd_config kc;
	struct kd_record rec;

	memset(&init, 0, sizeof(init));
	init.in.xfam = 3;
	init.in.cpuid.nent = 1;
	init.e[0] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 48u << 16 };
	assert_int_equal(io(vm, KVM_CHECK_EXTENSION, (void *)(long)CP_KVM_CAP_VM_TSC_CONTROL), 1);
	EXPECT(io(vm, CP_KVM_GET_TSC_KHZ, NULL), 2100000);                       /* the host's until set */
	EXPECT(io(vm, CP_KVM_SET_TSC_KHZ, (void *)2099999ul), -EINVAL);          /* not whole 25 MHz units */
	assert_non_null(strstr(kd_last_refusal(kd), "not a multiple of 25 MHz"));
	EXPECT(io(vm, CP_KVM_SET_TSC_KHZ, (void *)0ul), 0);                      /* 0 = the host's */
	EXPECT(io(vm, CP_KVM_GET_TSC_KHZ, NULL), 2100000);
	EXPECT(io(vm, CP_KVM_SET_TSC_KHZ, (void *)50000ul), 0);                  /* 2 units: KVM takes it ... */
	EXPECT(io(vm, KVM_ENABLE_CAP, &cap), 0);
	EXPECT(io(vm, CP_KVM_MEMORY_ENCRYPT_OP, &c), -EINVAL);                   /* ... the TDX module does not */
	assert_true(c.hw_error != 0);
	assert_non_null(strstr(kd_last_refusal(kd), "outside 100 MHz..10 GHz"));
	c.hw_error = 0;
	EXPECT(io(vm, CP_KVM_SET_TSC_KHZ, (void *)1975000ul), 0);
	EXPECT(io(vm, CP_KVM_MEMORY_ENCRYPT_OP, &c), 0);
	EXPECT(io(vm, CP_KVM_SET_TSC_KHZ, (void *)2000000ul), -EINVAL);          /* after INIT_VM */
	assert_non_null(strstr(kd_last_refusal(kd), "after KVM_TDX_INIT_VM"));
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_int_equal(rec.tsc_khz_set, 1975000);
	assert_int_equal(rec.td_tsc_khz, 1975000);

	/* Any VM: not after a vCPU (K since 6.17). */
	plain = create_vm(CP_KVM_X86_DEFAULT_VM);
	assert_true(io(plain, KVM_CREATE_VCPU, (void *)0) >= 0);
	EXPECT(io(plain, CP_KVM_SET_TSC_KHZ, (void *)2000000ul), -EINVAL);
	assert_non_null(strstr(kd_last_refusal(kd), "after KVM_CREATE_VCPU"));

	/* A kernel without KVM_CAP_VM_TSC_CONTROL has no VM-scope TSC ioctls. */
	kd_free(kd);
	kd_config_default(&kc);
	kc.vm_tsc_control = false;
	kd = kd_new(&kc);
	vm = create_vm(CP_KVM_X86_TDX_VM);
	assert_int_equal(io(vm, KVM_CHECK_EXTENSION, (void *)(long)CP_KVM_CAP_VM_TSC_CONTROL), 0);
	EXPECT(io(vm, CP_KVM_SET_TSC_KHZ, (void *)2000000ul), -ENOTTY);
	EXPECT(io(vm, CP_KVM_GET_TSC_KHZ, NULL), -ENOTTY);
}

static void test_tdx_get_cpuid_rules(void **state)
{
	int vm = create_vm(CP_KVM_X86_TDX_VM), v0;
	static struct {
		struct cp_kvm_tdx_init_vm in;
		struct kvm_cpuid_entry2 e[4];
	} init;
	static struct {
		struct cp_kvm_cpuid2_hdr c; /* struct kvm_cpuid2 without its flexible array */
		struct kvm_cpuid_entry2 e[8];
	} out;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };
	struct kd_config kc;

	memset(&init, 0, sizeof(init));
	init.in.xfam = 3;
	init.in.cpuid.nent = 3;
	init.e[0] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = 0x1 };        /* SSE3 */
	init.e[1] = (struct kvm_cpuid_entry2){ .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0x219c07a9 };
	init.e[2] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 48u << 16 };
	EXPECT(io(vm, KVM_ENABLE_CAP, &cap), 0);
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), 0);
	memset(&out, 0, sizeof(out));
	out.c.nent = 8;
	EXPECT(tdx(vm, CP_KVM_TDX_GET_CPUID, 0, (uintptr_t)&out), -EINVAL);     /* a vCPU command */
	v0 = io(vm, KVM_CREATE_VCPU, (void *)0);
	assert_true(v0 >= 0);
	out.c.nent = 1;
	EXPECT(tdx(v0, CP_KVM_TDX_GET_CPUID, 0, (uintptr_t)&out), -E2BIG);
	assert_int_equal(out.c.nent, 4);                                          /* tells how many */
	out.c.nent = 8;
	EXPECT(tdx(v0, CP_KVM_TDX_GET_CPUID, 1, (uintptr_t)&out), -EINVAL);     /* flags */
	/* TD-scope values: valid before INIT_VCPU too (KVM checks only INIT_VM .. FINALIZE). */
	EXPECT(tdx(v0, CP_KVM_TDX_GET_CPUID, 0, (uintptr_t)&out), 0);
	assert_int_equal(out.c.nent, 4);
	assert_int_equal(out.e[0].function, 1);
	assert_int_equal(out.e[0].ecx, 0x1 | 1u << 21);                           /* + x2APIC, fixed to 1; no AVX */
	assert_int_equal(out.e[1].ebx, 0x219c07a9);
	assert_int_equal(out.e[2].function, 0x80000008);
	assert_int_equal((out.e[2].eax >> 16) & 0xff, 48);                        /* the TD's guest PA width */
	assert_int_equal(out.e[3].function, 0xd);
	assert_int_equal(out.e[3].eax, 0x3);                                      /* XCR0 features from XFAM */
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_VCPU, 0, 0x809000), 0);
	EXPECT(tdx(vm, CP_KVM_TDX_FINALIZE_VM, 0, 0), 0);
	EXPECT(tdx(v0, CP_KVM_TDX_GET_CPUID, 0, (uintptr_t)&out), -EINVAL);     /* after FINALIZE */

	/* A "TDX module" that fixes FSGSBASE (7.0 EBX bit 0) to 0, and adds a leaf of its own. */
	kd_free(kd);
	kd_config_default(&kc);
	kc.tdx_fixed0[0] = (struct kd_cpuid_bits){ .function = 7, .reg = 1, .bits = 1 };
	kc.tdx_fixed1[1] = (struct kd_cpuid_bits){ .function = 0x19, .reg = 1, .bits = 1 };
	kd = kd_new(&kc);
	vm = create_vm(CP_KVM_X86_TDX_VM);
	EXPECT(io(vm, KVM_ENABLE_CAP, &cap), 0);
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), 0);
	v0 = io(vm, KVM_CREATE_VCPU, (void *)0);
	out.c.nent = 8;
	EXPECT(tdx(v0, CP_KVM_TDX_GET_CPUID, 0, (uintptr_t)&out), 0);
	assert_int_equal(out.c.nent, 5);
	assert_int_equal(out.e[1].ebx, 0x219c07a8);
	assert_int_equal(out.e[4].function, 0x19);
}

/* INIT_VM once a vCPU exists is -EBUSY (tdx.c setup_tdparams): reachable on kernels that let a
 * vCPU be created before INIT_VM. */
static void test_tdx_init_vm_busy_after_vcpu(void **state)
{
	struct kd_config c;
	static struct {
		struct cp_kvm_tdx_init_vm in;
		struct kvm_cpuid_entry2 e[1];
	} init;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };
	int vm;

	kd_free(kd);
	kd_config_default(&c);
	c.tdx_vcpu_before_init_vm = true;
	kd = kd_new(&c);
	vm = create_vm(CP_KVM_X86_TDX_VM);
	EXPECT(io(vm, KVM_ENABLE_CAP, &cap), 0);
	assert_true(io(vm, KVM_CREATE_VCPU, (void *)0) >= 0);
	memset(&init, 0, sizeof(init));
	init.in.xfam = 3;
	init.in.cpuid.nent = 1;
	init.e[0] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 48u << 16 };
	EXPECT(tdx(vm, CP_KVM_TDX_INIT_VM, 0, (uintptr_t)&init), -EBUSY);
	assert_non_null(strstr(kd_last_refusal(kd), "vCPU(s) exist already"));
}

/* FINALIZE needs every page KVM mapped for INIT_MEM_REGION to have been added (tdx.c
 * tdx_td_finalize, nr_premapped): a call the TDX module answered busy must be repeated. */
static void test_tdx_finalize_needs_premapped_pages_added(void **state)
{
	struct kd_config c;
	struct cp_kvm_tdx_init_mem_region m = { .source_addr = (uintptr_t)shared, .gpa = 0, .nr_pages = 1 };
	int vm, g, v0;

	kd_free(kd);
	kd_config_default(&c);
	c.eagain_every = 2;
	kd = kd_new(&c);
	vm = tdx_vm_init();
	g = gmem(vm, RAM);
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0, RAM, shared, g, 0), 0);
	EXPECT(attrs(vm, 0, RAM, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), 0);
	v0 = io(vm, KVM_CREATE_VCPU, (void *)0);
	assert_true(v0 >= 0);
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_VCPU, 0, 0x809000), 0);
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), 0);       /* page 0 added */
	m = (struct cp_kvm_tdx_init_mem_region){ (uintptr_t)shared + 0x1000, 0x1000, 1 };
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), -EAGAIN); /* page 1 mapped, not added */
	EXPECT(tdx(vm, CP_KVM_TDX_FINALIZE_VM, 0, 0), -EINVAL);
	assert_non_null(strstr(kd_last_refusal(kd), "1 page(s) mapped"));
	EXPECT(tdx(v0, CP_KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&m), 0);       /* repeated: added */
	EXPECT(tdx(vm, CP_KVM_TDX_FINALIZE_VM, 0, 0), 0);
}

/* A firmware failure of SNP_LAUNCH_UPDATE (-EIO with the status in kvm_sev_cmd.error) is reported
 * by the driver with the op, the GFN and the status. */
static void fw_error_7(struct kd_config *c) { c->snp_update_fw_error = 7; }
static void double_with(void (*tweak)(struct kd_config *));
static void expect_launch_fails(struct cc_launch_cfg *cfg, int code, const char *needle);
static void test_driver_reports_update_firmware_error(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	double_with(fw_error_7);
	expect_launch_fails(&cfg, EIO, "Input/output error (firmware error 7)");
}

/* ---- sev_fd: the SNP launch commands reach the PSP through the /dev/sev fd they name ---- */

static void test_snp_commands_need_dev_sev(void **state)
{
	int vm = create_vm(CP_KVM_X86_SNP_VM), g, kvm = ops->open_dev(kd, "/dev/kvm");
	struct cp_kvm_sev_init in = { 0 };
	struct cp_kvm_sev_snp_launch_start st = { .policy = 0x30000 };
	struct cp_kvm_sev_snp_launch_update u = { .uaddr = (uintptr_t)shared, .len = 4096,
						  .type = CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL };
	struct cp_kvm_sev_snp_launch_finish f = { 0 };
	uint32_t error = 0;

	EXPECT(sev(vm, CP_KVM_SEV_INIT2, &in), 0);
	/* 0 (what an unfilled struct carries), a KVM fd and a closed fd are not /dev/sev. */
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_START, &st, 0, NULL), -ENOTTY);
	assert_non_null(strstr(kd_last_refusal(kd), "sev_fd 0 is not an open /dev/sev"));
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_START, &st, (uint32_t)kvm, NULL), -ENOTTY);
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_START, &st, (uint32_t)sevfd, NULL), 0);
	g = gmem(vm, RAM);
	EXPECT(region2(vm, 0, CP_KVM_MEM_GUEST_MEMFD, 0, RAM, shared, g, 0), 0);
	EXPECT(attrs(vm, 0, RAM, CP_KVM_MEMORY_ATTRIBUTE_PRIVATE, 0), 0);
	/* A populate failure is -EIO with the firmware status, 0 when the PSP was never reached. */
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_UPDATE, &u, 0, &error), -EIO);
	assert_int_equal(error, 0);
	assert_int_equal(u.len, 4096); /* nothing done */
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_UPDATE, &u, (uint32_t)sevfd, NULL), 0);
	assert_true(io(vm, KVM_CREATE_VCPU, (void *)0) >= 0);
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_FINISH, &f, 0, NULL), -EBADF);
	ops->close(kd, sevfd);
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_FINISH, &f, (uint32_t)sevfd, NULL), -EBADF); /* closed */
	sevfd = ops->open_dev(kd, "/dev/sev");
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_FINISH, &f, (uint32_t)sevfd, NULL), 0);
}

/* carapace opens /dev/sev for the launch, names it in every SNP launch command, and closes it
 * after LAUNCH_FINISH (nothing at run time needs it). Before the fix every command carried 0. */
static void test_driver_passes_and_closes_dev_sev(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 2);
	struct cc_vm vm;
	struct cp_err err = { 0 };

	if (cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0)
		fail_msg("cc_launch: %s (double: %s)", err.msg, kd_last_refusal(kd));
	assert_true(kd_sev_fd_uses(kd) >= 3); /* LAUNCH_START, the LAUNCH_UPDATEs, LAUNCH_FINISH */
	assert_int_equal(vm.sev_fd, -1);
	assert_int_equal(kd_open_fds(kd, "/dev/sev"), 1); /* only this test file's own */
	cc_vm_release(&vm);
}

/* A host whose /dev/sev cannot be opened: the launch says so by name, before any SEV command. */
static void test_driver_reports_missing_dev_sev(void **state)
{
	struct kd_config c;
	struct kvm_double *nosev;
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	enum cc_step steps[] = { CC_STEP_CREATE_VM, CC_STEP_INIT };
	int r = 0;

	kd_config_default(&c);
	c.sev_dev = false;
	nosev = kd_new(&c);
	assert_int_equal(cc_vm_init(&vm, &kd_ops, nosev, &cfg, &err), 0);
	for (size_t i = 0; i < 2 && r == 0; i++)
		r = cc_step(&vm, steps[i], &err);
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(err.msg, "cannot open /dev/sev"));
	cc_vm_release(&vm);
	kd_free(nosev);
}

/* ---- fail closed ---- */

static void test_unknown_ioctls_and_fds(void **state)
{
	int vm = create_vm(CP_KVM_X86_SNP_VM);
	EXPECT(io(vm, KVM_CREATE_PIT2, NULL), -ENOTTY);
	EXPECT(io(4242, KVM_RUN, NULL), -EBADF);
	{
		struct kd_config c;
		struct kvm_double *nosev;
		kd_config_default(&c);
		c.sev_dev = false;
		nosev = kd_new(&c);
		assert_non_null(nosev);
		EXPECT(ops->open_dev(nosev, "/dev/sev"), -ENOENT);
		kd_free(nosev);
	}
	assert_null(ops->mmap_run(kd, vm, 4096));
}

/* ---- a plain VM's set-up (runner/vm.c vm_create) ---- */

static void test_plain_vm_setup_rules(void **state)
{
	int vm = create_vm(CP_KVM_X86_DEFAULT_VM), snp = create_vm(CP_KVM_X86_SNP_VM);
	uint64_t idmap = 0xfeffc000;
	struct kvm_pit_config pit = { .flags = 0 };

	EXPECT(io(vm, KVM_SET_TSS_ADDR, (void *)0xfffbd000ul), 0);
	EXPECT(io(vm, KVM_SET_TSS_ADDR, (void *)0xfffffffdul), -EINVAL); /* above 4 GiB - 3 pages */
	EXPECT(io(vm, KVM_SET_IDENTITY_MAP_ADDR, NULL), -EFAULT);
	EXPECT(io(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap), 0);
	EXPECT(io(vm, KVM_CREATE_IRQCHIP, NULL), 0);
	EXPECT(io(vm, KVM_CREATE_PIT2, NULL), -EFAULT);
	EXPECT(io(vm, KVM_CREATE_PIT2, &pit), 0);
	EXPECT(io(vm, KVM_CREATE_PIT2, &pit), -EEXIST);
	assert_true(io(vm, KVM_CREATE_VCPU, (void *)0) >= 0);
	EXPECT(io(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap), -EINVAL); /* after a vCPU */
	/* The double's choice: none of them on a private-memory VM. */
	EXPECT(io(snp, KVM_SET_TSS_ADDR, (void *)0xfffbd000ul), -ENOTTY);
	EXPECT(io(snp, KVM_SET_IDENTITY_MAP_ADDR, &idmap), -ENOTTY);
	EXPECT(io(snp, KVM_CREATE_PIT2, &pit), -ENOTTY);
}

/* Closed fds are gone: a second close and an ioctl after close are caught, and so is an unmap of
 * a kvm_run area that is not mapped. */
static void test_fd_lifetimes(void **state)
{
	int kvm = ops->open_dev(kd, "/dev/kvm"), vm, vcpu;
	unsigned open0;
	void *run;

	assert_true(kvm >= 0);
	vm = io(kvm, KVM_CREATE_VM, (void *)0);
	assert_true(vm >= 0);
	vcpu = io(vm, KVM_CREATE_VCPU, (void *)0);
	assert_true(vcpu >= 0);
	run = ops->mmap_run(kd, vcpu, 4096);
	assert_non_null(run);
	assert_int_equal(kd_runs_mapped(kd), 1);
	open0 = kd_fds_open(kd);
	ops->munmap_run(kd, run, 4096);
	assert_int_equal(kd_runs_mapped(kd), 0);
	assert_int_equal(kd_bad_unmaps(kd), 0);
	ops->munmap_run(kd, run, 4096);
	assert_int_equal(kd_bad_unmaps(kd), 1);
	ops->close(kd, vcpu);
	ops->close(kd, vm);
	ops->close(kd, kvm);
	assert_int_equal(kd_fds_open(kd), open0 - 3);
	assert_int_equal(kd_bad_closes(kd), 0);
	EXPECT(io(vm, KVM_CREATE_VCPU, (void *)1), -EBADF);
	assert_null(ops->mmap_run(kd, vcpu, 4096));
	ops->close(kd, vm);
	ops->close(kd, kvm);
	ops->close(kd, 4242);
	assert_int_equal(kd_bad_closes(kd), 3);
}

/* ---- interrupts for virtio devices ---- */

static void test_irqchip_and_irqfd_rules(void **state)
{
	int snp = create_vm(CP_KVM_X86_SNP_VM), tdx;
	struct kvm_irqfd q = { .fd = 0, .gsi = 5 };
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };

	EXPECT(io(snp, KVM_IRQFD, &q), -EINVAL); /* no irqchip yet */
	EXPECT(io(snp, KVM_CREATE_IRQCHIP, NULL), 0);
	EXPECT(io(snp, KVM_CREATE_IRQCHIP, NULL), -EEXIST);
	EXPECT(io(snp, KVM_IRQFD, &q), 0);
	q.gsi = 24;
	EXPECT(io(snp, KVM_IRQFD, &q), -EINVAL);
	tdx = create_vm(CP_KVM_X86_TDX_VM);
	EXPECT(io(tdx, KVM_IRQFD, &q), -EINVAL); /* no irqchip at all yet */
	EXPECT(io(tdx, KVM_ENABLE_CAP, &split), 0);
	q.gsi = 5;
	EXPECT(io(tdx, KVM_IRQFD, &q), 0); /* routed later, by the user-space IOAPIC */
	{
		_Alignas(struct kvm_irq_routing) uint8_t buf[sizeof(struct kvm_irq_routing) +
							      sizeof(struct kvm_irq_routing_entry)] = { 0 };
		struct kvm_irq_routing *t = (struct kvm_irq_routing *)buf;
		struct kvm_msi m = { .address_lo = 0xfee00000u, .data = 0x31 };
		t->nr = 1;
		t->entries[0] = (struct kvm_irq_routing_entry){ .gsi = 5, .type = KVM_IRQ_ROUTING_IRQCHIP };
		EXPECT(io(tdx, KVM_SET_GSI_ROUTING, t), -EINVAL); /* no in-kernel IOAPIC pins on a split irqchip */
		t->entries[0] = (struct kvm_irq_routing_entry){ .gsi = 5, .type = KVM_IRQ_ROUTING_MSI,
								.u.msi = { .address_lo = 0x12345000u } };
		EXPECT(io(tdx, KVM_SET_GSI_ROUTING, t), -EINVAL); /* not an APIC message address */
		t->entries[0].u.msi.address_lo = 0xfee00000u;
		EXPECT(io(tdx, KVM_SET_GSI_ROUTING, t), 0);
		EXPECT(io(tdx, KVM_SIGNAL_MSI, &m), 1);
		m.flags = 1;
		EXPECT(io(tdx, KVM_SIGNAL_MSI, &m), -EINVAL);
	}
	{
		int late = create_vm(CP_KVM_X86_SNP_VM);
		assert_true(io(late, KVM_CREATE_VCPU, (void *)0) >= 0);
		EXPECT(io(late, KVM_CREATE_IRQCHIP, NULL), -EINVAL); /* after a vCPU */
	}
}

/* ---- through carapace's driver: the double's refusals come back with the ioctl's name ---- */

static void expect_launch_fails(struct cc_launch_cfg *cfg, int code, const char *needle)
{
	struct cc_vm vm;
	struct cp_err err = { 0 };
	int r = cc_launch(&kd_ops, kd, cfg, &vm, &err);

	if (r != -code || !strstr(err.msg, needle))
		fail_msg("cc_launch returned %d (%s), expected -%d with '%s'", r, err.msg, code, needle);
	print_message("refused as expected: %s\n", err.msg);
}

static void test_driver_reports_policy_refusal(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	cfg.snp_policy = 0x10000; /* bit 17 clear */
	expect_launch_fails(&cfg, EINVAL, "SNP_LAUNCH_START: Invalid argument");
}

static void test_driver_reports_init2_refusal(void **state)
{
	struct kd_config c;
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	kd_free(kd);
	kd_config_default(&c);
	c.vmsa_features_supported = 0; /* no DebugSwap on this "host" */
	kd = kd_new(&c);
	cfg.vmsa_features = 1u << 5;
	expect_launch_fails(&cfg, EINVAL, "KVM_SEV_INIT2: Invalid argument");
}

static void test_driver_no_snp_type(void **state)
{
	struct kd_config c;
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	kd_free(kd);
	kd_config_default(&c);
	c.vm_types = 1u << CP_KVM_X86_TDX_VM | 1;
	kd = kd_new(&c);
	expect_launch_fails(&cfg, ENOTSUP, "SEV-SNP launch is not available on this host");
}

static void test_driver_tdx_attribute_unsupported(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_TDX, 1);
	cfg.td_attributes = CP_TDX_ATTR_PERFMON;
	expect_launch_fails(&cfg, ENOTSUP, "not support");
}

static void double_with(void (*tweak)(struct kd_config *))
{
	struct kd_config c;
	kd_free(kd);
	kd_config_default(&c);
	tweak(&c);
	kd = kd_new(&c);
}

static void no_vm_tsc_control(struct kd_config *c) { c->vm_tsc_control = false; }
static void host_tsc_odd(struct kd_config *c) { c->host_tsc_khz = 2099998; }
static void fsgsbase_fixed0(struct kd_config *c)
{
	c->tdx_fixed0[0] = (struct kd_cpuid_bits){ .function = 7, .reg = 1, .bits = 1u << 0 | 1u << 3 };
}
static void many_fixed1(struct kd_config *c)
{
	/* Bits the module forces on that carapace never asked for, in leaves it never configured:
	 * more entries than the driver's first GET_CPUID buffer holds (-E2BIG, then a retry). */
	c->tdx_fixed1[1] = (struct kd_cpuid_bits){ .function = 0x1d, .reg = 1, .bits = 1 };
	c->tdx_fixed1[2] = (struct kd_cpuid_bits){ .function = 0x14, .reg = 1, .bits = 1 };
	c->tdx_fixed1[3] = (struct kd_cpuid_bits){ .function = 0x19, .reg = 1, .bits = 1 };
}

static void test_driver_tdx_no_vm_tsc_control(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_TDX, 1);
	double_with(no_vm_tsc_control);
	expect_launch_fails(&cfg, ENOTSUP, "KVM_CAP_VM_TSC_CONTROL absent: this kernel cannot set a TD's TSC frequency");
}

static void test_driver_tdx_host_tsc_not_25mhz(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_TDX, 1);
	struct kd_record rec;

	double_with(host_tsc_odd);
	expect_launch_fails(&cfg, EINVAL, "the host's TSC frequency (KVM_GET_TSC_KHZ) 2099998 kHz is not a multiple of "
			    "25 MHz (25000 kHz): the TDX module counts a TD's TSC in 25 MHz units and KVM would silently "
			    "run the TD at 2075000 kHz");
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_int_equal(rec.tsc_khz_set, 0); /* refused before anything was set */
	assert_false(rec.init_vm_cpuid_nent);
	/* The same host with the frequency given explicitly launches. */
	{
		struct cc_vm vm;
		struct cp_err err = { 0 };
		cfg.tsc_khz = 2100000;
		if (cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0)
			fail_msg("cc_launch: %s", err.msg);
		assert_int_equal(kd_record_get(kd, &rec), 0);
		assert_int_equal(rec.td_tsc_khz, 2100000);
		cc_vm_release(&vm);
	}
}

static void test_driver_tdx_tsc_config_refused(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_TDX, 1);
	struct kd_record rec;

	cfg.tsc_khz = 2010000;
	expect_launch_fails(&cfg, EINVAL, "TDX: the configured TSC frequency 2010000 kHz is not a multiple of 25 MHz");
	cfg.tsc_khz = 75000;
	expect_launch_fails(&cfg, EINVAL, "the configured TSC frequency 75000 kHz is outside what the TDX module accepts "
			    "(100000 .. 10000000 kHz)");
	cfg.tsc_khz = 10025000;
	expect_launch_fails(&cfg, EINVAL, "outside what the TDX module accepts");
	assert_int_equal(kd_record_get(kd, &rec), -ENOENT); /* refused before any VM existed */
	cfg = cfg_for(CC_SNP, 1);
	cfg.tsc_khz = 2000000;
	expect_launch_fails(&cfg, EINVAL, "a TSC frequency is for TDX guests only");
}

static void test_driver_tdx_cpuid_disagrees(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_TDX, 2);
	/* (EBX: the host model of the double's table, without INVPCID: the double offers no PCID, and a
	 * confidential launch now takes its CPUID from the same --cpu model as a plain VM, which drops a
	 * feature whose prerequisite is missing.) */
	double_with(fsgsbase_fixed0);
	expect_launch_fails(&cfg, ENOTSUP, "TDX launch, step 'vcpus': TDX: KVM_TDX_GET_CPUID on vCPU 0: CPUID leaf 0x7 "
			    "subleaf 0 EBX lacks bit(s) 0,3 (0x00000009) that KVM_TDX_INIT_VM asked for: carapace configured "
			    "0x219c03a9, the TD gets 0x219c03a0");
}

static void test_driver_tdx_forced_on_bits_accepted(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_TDX, 3);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	struct kd_record rec;

	double_with(many_fixed1);
	if (cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0)
		fail_msg("cc_launch: %s (double: %s)", err.msg, kd_last_refusal(kd));
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_int_equal(rec.get_cpuid_calls, 3);                   /* every vCPU checked */
	assert_true(kd_refusals(kd) >= 3);                          /* each first try was too small */
	assert_non_null(strstr(kd_last_refusal(kd), "KVM_TDX_GET_CPUID: cpuid.nent too small"));
	cc_vm_release(&vm);
}

/* ---- SNP CPUID page: the firmware's check, its corrections, and what carapace does with them ---- */

static void fsgsbase_not_allowed(struct kd_config *c)
{
	c->snp_cpuid_reject[0] = (struct kd_cpuid_bits){ .function = 7, .reg = 1, .bits = 1u << 0 };
}

/* The rule itself: a refused CPUID page comes back -EIO with INVALID_PARAM, corrected in place,
 * and the parameters untouched (sev.c snp_launch_update, sev_gmem_post_populate). */
static void test_snp_cpuid_page_refused_and_corrected(void **state)
{
	int vm = snp_vm(true);
	struct cp_kvm_sev_snp_launch_update u = { .gfn_start = 0, .uaddr = (uintptr_t)shared, .len = 4096,
						  .type = CP_KVM_SEV_SNP_PAGE_TYPE_CPUID };
	uint32_t error = 0;

	memset(shared, 0, 4096);
	cp_put_le32(shared, 1);                 /* one entry: leaf 0xD subleaf 0 for XCR0 = 1 */
	cp_put_le32(shared + 16, 0xd);
	cp_put_le64(shared + 16 + 8, 1);
	cp_put_le32(shared + 16 + 28, 0x340);   /* KVM's size for x87|SSE|AVX, not for XCR0 = 1 */
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_UPDATE, &u, (uint32_t)sevfd, &error), -EIO);
	assert_int_equal(error, CP_SEV_RET_INVALID_PARAM);
	assert_int_equal(cp_le32(shared + 16 + 28), 0x240); /* the firmware's correction, written back */
	assert_int_equal(u.len, 4096);                      /* nothing done */
	EXPECT(sev_with_fd(vm, CP_KVM_SEV_SNP_LAUNCH_UPDATE, &u, (uint32_t)sevfd, &error), 0); /* corrected: accepted */
	assert_int_equal(u.len, 0);
}

/* carapace fills 0xD.0/0xD.1 as QEMU does, so the firmware accepts its page as it is (before the
 * fix EBX carried KVM's size for all features and every SNP launch was refused here). */
static void test_driver_snp_cpuid_page_accepted(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	struct kd_record rec;

	if (cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0)
		fail_msg("cc_launch: %s (double: %s)", err.msg, kd_last_refusal(kd));
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_int_equal(rec.cpuid_page_refusals, 0);
	assert_string_equal(vm.cpuid_fixup, "");
	cc_vm_release(&vm);
}

/* A page the firmware refuses: every changed entry is named, and the launch stops unless the
 * configuration accepts the correction. */
static void test_driver_snp_cpuid_refusal_named(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	double_with(fsgsbase_not_allowed);
	expect_launch_fails(&cfg, EIO, "the firmware refused the CPUID page (INVALID_PARAM); it would change: leaf 0x7 "
			    "subleaf 0: EBX 0x219c03a9 -> 0x219c03a8 (not retried: the configuration does not accept a "
			    "corrected CPUID)");
}

static void test_driver_snp_cpuid_fixup_accepted_once(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	struct kd_record rec;

	cfg.snp_cpuid_fixup = true;
	double_with(fsgsbase_not_allowed);
	if (cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0)
		fail_msg("cc_launch: %s (double: %s)", err.msg, kd_last_refusal(kd));
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_int_equal(rec.cpuid_page_refusals, 1);
	assert_string_equal(vm.cpuid_fixup, "leaf 0x7 subleaf 0: EBX 0x219c03a9 -> 0x219c03a8");
	cc_vm_release(&vm);
}

static void test_driver_vcpu_limit_from_double(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 17); /* the double allows 16 */
	expect_launch_fails(&cfg, EINVAL, "KVM_CREATE_VCPU 16");
}

/* ---- the driver's own state machine ---- */

static void test_state_machine_refuses_out_of_order(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_launch_cfg tcfg = cfg_for(CC_TDX, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };

	assert_int_equal(cc_vm_init(&vm, &kd_ops, kd, &cfg, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_FINISH, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "step 'finish' refused in state 'new'"));
	cp_err_clear(&err);
	assert_int_equal(cc_step(&vm, CC_STEP_CREATE_VM, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_START, &err), -EBUSY); /* INIT2 first */
	assert_non_null(strstr(err.msg, "in state 'vm-created' (it needs state 'initialized')"));
	cp_err_clear(&err);
	assert_int_equal(cc_step(&vm, CC_STEP_INIT, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_INIT, &err), -EBUSY); /* once */
	cp_err_clear(&err);
	assert_int_equal(cc_step(&vm, CC_STEP_START, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_PAGES, &err), -EBUSY); /* memory and vCPUs first */
	assert_non_null(strstr(err.msg, "'launch-started'"));
	cc_vm_release(&vm);

	cp_err_clear(&err);
	assert_int_equal(cc_vm_init(&vm, &kd_ops, kd, &tcfg, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_CREATE_VM, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_START, &err), -EINVAL); /* no such step on TDX */
	assert_non_null(strstr(err.msg, "no step 'launch-start'"));
	cc_vm_release(&vm);
}

static void test_state_machine_failed_is_final(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };

	cfg.snp_policy = 0x10000;
	assert_int_equal(cc_vm_init(&vm, &kd_ops, kd, &cfg, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_CREATE_VM, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_INIT, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_START, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "SEV-SNP launch, step 'launch-start': SNP_LAUNCH_START"));
	assert_int_equal(vm.state, CC_ST_FAILED);
	cp_err_clear(&err);
	assert_int_equal(cc_step(&vm, CC_STEP_MEMORY, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "in state 'failed'"));
	cc_vm_release(&vm);
}

static void test_config_validation(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };

	cfg.vcpus = 0;
	assert_int_equal(cc_vm_init(&vm, &kd_ops, kd, &cfg, &err), -EINVAL);
	cfg = cfg_for(CC_SNP, 1);
	cfg.mem_size = 1 << 20;
	assert_int_equal(cc_vm_init(&vm, &kd_ops, kd, &cfg, &(struct cp_err){ 0 }), -EINVAL);
	cfg = cfg_for(CC_SNP, 1);
	cfg.vmsa_features = 1;
	assert_int_equal(cc_vm_init(&vm, &kd_ops, kd, &cfg, &err), -EINVAL);
	cfg = cfg_for(CC_SNP, 1);
	cfg.firmware_len = 4095;
	assert_int_equal(cc_vm_init(&vm, &kd_ops, kd, &cfg, &(struct cp_err){ 0 }), -EINVAL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_vm_type_must_be_offered),
		T(test_init2_rules),
		T(test_init2_only_types_2_to_4_and_before_vcpus),
		T(test_launch_start_needs_init2),
		T(test_launch_start_policy),
		T(test_guest_memfd_rules),
		T(test_memslot_rules),
		T(test_attribute_rules),
		T(test_update_before_start),
		T(test_update_only_private),
		T(test_update_alignment_type_uaddr),
		T(test_update_partial_and_eagain),
		T(test_finish_rules),
		T(test_tdx_capabilities_and_init_vm),
		T(test_tdx_irqchip_refused_at_vcpu_creation),
		T(test_tdx_vcpu_mem_finalize_order),
		T(test_tdx_apic_bus),
		T(test_plain_vm_setup_rules),
		T(test_fd_lifetimes),
		T(test_irqchip_and_irqfd_rules),
		T(test_tdx_tsc_rules),
		T(test_tdx_get_cpuid_rules),
		T(test_tdx_init_vm_busy_after_vcpu),
		T(test_tdx_finalize_needs_premapped_pages_added),
		T(test_driver_reports_update_firmware_error),
		T(test_snp_commands_need_dev_sev),
		T(test_driver_passes_and_closes_dev_sev),
		T(test_driver_reports_missing_dev_sev),
		T(test_unknown_ioctls_and_fds),
		T(test_driver_reports_policy_refusal),
		T(test_driver_reports_init2_refusal),
		T(test_driver_no_snp_type),
		T(test_driver_tdx_attribute_unsupported),
		T(test_driver_tdx_no_vm_tsc_control),
		T(test_driver_tdx_host_tsc_not_25mhz),
		T(test_driver_tdx_tsc_config_refused),
		T(test_driver_tdx_cpuid_disagrees),
		T(test_driver_tdx_forced_on_bits_accepted),
		T(test_snp_cpuid_page_refused_and_corrected),
		T(test_driver_snp_cpuid_page_accepted),
		T(test_driver_snp_cpuid_refusal_named),
		T(test_driver_snp_cpuid_fixup_accepted_once),
		T(test_driver_vcpu_limit_from_double),
		T(test_state_machine_refuses_out_of_order),
		T(test_state_machine_failed_is_final),
		T(test_config_validation),
	};
	ovmf_load_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
