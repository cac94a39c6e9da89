/* The firmware-less direct boot carried out by the launch driver on the strict double: SEV-SNP
 * (long-mode VMSAs, every RAM page ZERO, CPUID and secrets pages) and TDX (the measured stub at
 * the top of 4 GiB, every data page MR.EXTENDed) run through LAUNCH_FINISH / FINALIZE_VM and
 * carapace's run loop to a vCPU run; the double's own recomputation of the launch digest / MRTD
 * from the bytes and registers it was given must equal memenc's prediction for the same inputs
 * (what `carapace measure --platform snp|tdx --kernel K --vcpus N --memory M --append S` prints).
 * A synthetic bzImage carries the setup header fields the layout reads; with
 * $CARAPACE_TEST_BZIMAGE the real kernel is launched too (a visible skip otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "helpers.h"
#include "common/cli.h"
#include "memenc/direct_boot.h"
#include "runner/cli_run.h"
#include "runner/vm.h"

#define KLEN (64 * 1024 + 512 * 5)
#define CMDLINE "console=ttyS0 quiet"

static uint8_t kimg[KLEN];

static void make_bzimage(uint16_t ver)
{
	cc_test_bzimage(kimg, sizeof(kimg), ver);
}

static struct cc_launch_cfg direct_cfg(enum cc_platform p, unsigned vcpus, uint64_t mem, const uint8_t *k, size_t klen)
{
	return cc_test_direct_cfg(p, vcpus, mem, k, klen, CMDLINE);
}

/* What `carapace measure` computes (memenc/cli_measure.c run_direct): the same plan builder with
 * its defaults (SNP guest features 0x1, the QEMU VMSA conventions, C-bit 51). */
static size_t predict_d(enum cc_platform p, unsigned vcpus, uint64_t mem, const uint8_t *k, size_t klen,
			enum db_snp_validate val, unsigned ndevs, uint8_t out[48])
{
	struct memenc_launch_opts o = { .platform = p == CC_SNP ? MEMENC_PLATFORM_SNP : MEMENC_PLATFORM_TDX,
					.vcpus = vcpus, .guest_features = 1, .vmm = MEMENC_VMM_QEMU };
	struct db_input in = { .kernel = k, .kernel_len = klen, .cmdline = CMDLINE, .vcpus = vcpus, .mem_size = mem,
			       .snp_validate = val, .ndevs = ndevs };
	struct memenc_plan plan;
	struct cp_err err = { 0 };
	size_t len = 0;

	if (memenc_plan_build_direct(&plan, &in, &o, &err) < 0 || memenc_plan_measure(&plan, out, &len, NULL, NULL, &err) < 0)
		fail_msg("memenc: %s", err.msg);
	memenc_plan_free(&plan);
	return len;
}

static size_t predict_v(enum cc_platform p, unsigned vcpus, uint64_t mem, const uint8_t *k, size_t klen,
			enum db_snp_validate val, uint8_t out[48])
{
	return predict_d(p, vcpus, mem, k, klen, val, 0, out);
}

/* How many virtio-mmio devices (LNRO0005) the plan's DSDT describes, each checked to sit in its
 * window of memenc/acpi.h. */
static unsigned dsdt_devices(const struct db_layout *l)
{
	const uint8_t *acpi = l->low + DB_ACPI;
	unsigned n = 0;

	for (unsigned i = 0; i < l->acpi.n; i++) {
		const struct acpi_table_ref *t = &l->acpi.t[i];
		if (memcmp(t->sig, "DSDT", 4))
			continue;
		for (uint32_t o = 0; o + 9 <= t->len; o++) {
			const uint8_t *h = acpi + t->off + o;
			if (memcmp(h, "LNRO0005", 9))
				continue;
			/* the _CRS that follows: Memory32Fixed base, then the interrupt's GSI */
			for (uint32_t c = o; c + 12 <= t->len; c++) {
				const uint8_t *m = acpi + t->off + c;
				if (m[0] == 0x86 && m[1] == 9 && m[2] == 0) {
					uint32_t base = (uint32_t)m[4] | (uint32_t)m[5] << 8 | (uint32_t)m[6] << 16 |
							(uint32_t)m[7] << 24;
					assert_int_equal(base, acpi_virtio_window(n).base);
					break;
				}
			}
			n++;
		}
	}
	return n;
}

static size_t predict(enum cc_platform p, unsigned vcpus, uint64_t mem, const uint8_t *k, size_t klen, uint8_t out[48])
{
	return predict_v(p, vcpus, mem, k, klen, DB_VALIDATE_ZERO, out);
}

/* Launch on the double, compare the double's digest with the prediction, then run the VM in
 * carapace's run loop: every vCPU's KVM_RUN returns HLT (the double runs no guest code). */
static void launch_and_run(enum cc_platform p, unsigned vcpus, uint64_t mem, const uint8_t *k, size_t klen)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = direct_cfg(p, vcpus, mem, k, klen);
	struct cc_vm cvm;
	struct vm *vm = NULL;
	struct cp_err err = { 0 };
	uint8_t want[48], got[48];
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct run_opts plain = { .timeout_ms = 20000 };
	struct vm_config vc = cli_run_vm_config(&plain, &(struct run_console){ null_fd, -1, false }, SANDBOX_OFF, NULL,
						NULL, false);

	assert_int_equal(predict(p, vcpus, mem, k, klen, want), 48);
	if (cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0)
		fail_msg("launch: %s", err.msg);
	assert_int_equal(cvm.measurement_len, 48);
	assert_memory_equal(cvm.measurement, want, 48);
	assert_int_equal(p == CC_SNP ? kd_snp_digest(kd, got) : kd_tdx_mrtd(kd, got), 0);
	assert_memory_equal(got, want, 48);
	assert_true(cvm.plan.direct != NULL);
	if (vm_adopt_cc(&cvm, &vc, &vm, &err) < 0)
		fail_msg("adopt: %s", err.msg);
	assert_int_equal(vm_run(vm), CP_EXIT_OK);
	assert_non_null(strstr(vm->end_msg, "halted"));
	vm_destroy(vm);
	cc_vm_release(&cvm);
	kd_free(kd);
	close(null_fd);
}

static void test_snp_direct(void **state)
{
	(void)state;
	make_bzimage(0x020f);
	launch_and_run(CC_SNP, 1, 128ull << 20, kimg, KLEN);
	launch_and_run(CC_SNP, 4, 256ull << 20, kimg, KLEN);
}

static void test_tdx_direct(void **state)
{
	(void)state;
	make_bzimage(0x020f);
	launch_and_run(CC_TDX, 1, 128ull << 20, kimg, KLEN);
	launch_and_run(CC_TDX, 4, 256ull << 20, kimg, KLEN);
}

/* RAM above the 3 GiB hole: the e820 and the ZERO pages (SNP) / accept ranges (TDX) of the high
 * block, which the driver places in its own memory slot. */
static void test_direct_above_4g(void **state)
{
	(void)state;
	make_bzimage(0x020f);
	launch_and_run(CC_SNP, 2, 3584ull << 20, kimg, KLEN);
	launch_and_run(CC_TDX, 2, 3584ull << 20, kimg, KLEN);
}

/* The vCPU registers the driver gives KVM are the plan's: the BSP enters the kernel's 64-bit
 * entry with RSI = boot_params (before, the driver dropped RSI and the double's digest differed),
 * in long mode with the C-bit in CR3; the APs wait at the park loop. */
static void test_snp_entry_registers(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = direct_cfg(CC_SNP, 2, 128ull << 20, kimg, KLEN);
	struct cc_vm cvm;
	struct cp_err err = { 0 };
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	(void)state;
	make_bzimage(0x020f);
	assert_int_equal(cc_vm_init(&cvm, &kd_ops, kd, &cfg, &err), 0);
	for (enum cc_step s = CC_STEP_CREATE_VM; s <= CC_STEP_VCPUS; s++)
		if (cc_step(&cvm, s, &err) < 0)
			fail_msg("%s", err.msg);
	assert_int_equal(kd_ops.ioctl(kd, cvm.vcpu_fd[0], KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rip, cvm.plan.direct->entry.rip);
	assert_int_equal(regs.rsi, DB_ZERO_PAGE);
	assert_int_equal(regs.rflags, 2);
	assert_int_equal(kd_ops.ioctl(kd, cvm.vcpu_fd[0], KVM_GET_SREGS, &sregs), 0);
	assert_int_equal(sregs.cs.selector, 0x10);
	assert_int_equal(sregs.cs.l, 1);
	assert_true(sregs.efer & 0x400); /* LMA */
	assert_int_equal(sregs.cr3, DB_PML4 | 1ull << 51); /* the C-bit (the double: 51) */
	assert_int_equal(kd_ops.ioctl(kd, cvm.vcpu_fd[1], KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rip, cvm.plan.direct->entry.ap_rip);
	assert_int_equal(regs.rsi, 0);
	cc_vm_release(&cvm);
	kd_free(kd);
}

/* SNP AP creation (the guest starts its APs; KVM handles it: sev.c sev_snp_ap_creation). An AP's
 * KVM_RUN blocks in the kernel until the BSP creates it, then runs; carapace issues nothing for it. */
struct ap_run {
	struct kvm_double *kd;
	int fd, ret;
	uint32_t reason;
	void *run;
};

static void *ap_thread(void *arg)
{
	struct ap_run *a = arg;
	a->ret = kd_ops.ioctl(a->kd, a->fd, KVM_RUN, NULL);
	a->reason = ((struct kvm_run *)a->run)->exit_reason;
	return NULL;
}

static void snp_launch2(struct kvm_double *kd, struct cc_launch_cfg *cfg, struct cc_vm *cvm)
{
	struct cp_err err = { 0 };
	make_bzimage(0x020f);
	*cfg = direct_cfg(CC_SNP, 2, 128ull << 20, kimg, KLEN);
	if (cc_launch(&kd_ops, kd, cfg, cvm, &err) < 0)
		fail_msg("launch: %s", err.msg);
}

static void test_snp_ap_creation(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg;
	struct cc_vm cvm;
	struct ap_run a = { .kd = kd };
	struct kd_record rec;
	pthread_t t;

	(void)state;
	snp_launch2(kd, &cfg, &cvm);
	a.fd = cvm.vcpu_fd[1];
	a.run = cvm.run[1];
	assert_int_equal(pthread_create(&t, NULL, ap_thread, &a), 0);
	/* Wait (no deadline: the test's own timeout bounds it) until the AP is blocked in KVM_RUN. */
	do {
		sched_yield();
		assert_int_equal(kd_record_get(kd, &rec), 0);
	} while (__atomic_load_n(&rec.ap_blocked_runs, __ATOMIC_SEQ_CST) == 0);
	assert_int_equal(rec.aps_started, 0);
	/* The BSP's guest creates AP 1 with a VMSA at 0x10000 and the VM's SEV features; KVM takes it
	 * in the kernel, so the BSP's KVM_RUN goes on to its next exit (HLT here). */
	assert_int_equal(kd_script_snp_ap_creation(kd, 0, 1, 1, 0x10000, cfg.vmsa_features | 1), 0);
	assert_int_equal(kd_ops.ioctl(kd, cvm.vcpu_fd[0], KVM_RUN, NULL), 0);
	assert_int_equal(((struct kvm_run *)cvm.run[0])->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.ret, 0);
	assert_int_equal(a.reason, KVM_EXIT_HLT);
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_int_equal(rec.ap_creations, 1);
	assert_int_equal(rec.aps_started, 1);
	assert_int_equal(rec.ap_creations_refused, 0);
	cc_vm_release(&cvm);
	kd_free(kd);
}

/* Requests KVM refuses (back to the guest) leave the AP blocked; carapace's run loop still ends
 * the VM when the BSP halts: the blocked AP's KVM_RUN is interrupted by the kick (-EINTR). */
static void test_snp_ap_refused_and_blocked_ap_ended(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg;
	struct cc_vm cvm;
	struct vm *vm = NULL;
	struct kd_record rec;
	struct cp_err err = { 0 };
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct run_opts plain = { .timeout_ms = 20000 };
	struct vm_config vc = cli_run_vm_config(&plain, &(struct run_console){ null_fd, -1, false }, SANDBOX_OFF, NULL,
						NULL, false);

	(void)state;
	snp_launch2(kd, &cfg, &cvm);
	assert_int_equal(kd_script_snp_ap_creation(kd, 0, 1, 1, 0x10000, 0x21), 0); /* other SEV features */
	assert_int_equal(kd_script_snp_ap_creation(kd, 0, 1, 5, 0x10000, 1), 0);    /* no such APIC ID */
	assert_int_equal(kd_script_snp_ap_creation(kd, 0, 1, 1, 0x10010, 1), 0);    /* VMSA not a page */
	assert_int_equal(kd_script_snp_ap_creation(kd, 0, 7, 1, 0x10000, 1), 0);    /* no such request */
	assert_int_equal(kd_script_wait_ap_blocked(kd, 0, 1), 0); /* the AP is in KVM_RUN, then the BSP halts */
	if (vm_adopt_cc(&cvm, &vc, &vm, &err) < 0)
		fail_msg("adopt: %s", err.msg);
	assert_int_equal(vm_run(vm), CP_EXIT_OK);
	assert_non_null(strstr(vm->end_msg, "vCPU 0 halted"));
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_int_equal(rec.ap_creations_refused, 4);
	assert_int_equal(rec.ap_creations, 0);
	assert_int_equal(rec.aps_started, 0);
	/* The AP was blocked in KVM_RUN when the BSP halted; the kick ended it with -EINTR (else
	 * vm_run would never return). */
	assert_int_equal(rec.ap_blocked_runs, 1);
	assert_true(rec.eintr_runs >= 1);
	vm_destroy(vm);
	cc_vm_release(&cvm);
	kd_free(kd);
	close(null_fd);
}

/* Bad input: named, before anything is created. */
static void test_direct_bad_input(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = direct_cfg(CC_SNP, 1, 128ull << 20, kimg, KLEN);
	struct cc_vm cvm;
	struct cp_err err = { 0 };

	(void)state;
	make_bzimage(0x020b); /* protocol 2.11: no 64-bit entry guarantee */
	assert_true(cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0);
	assert_non_null(strstr(err.msg, "create-vm"));
	printf("# too old: %s\n", err.msg);
	make_bzimage(0x020f);
	cfg.mem_size = 32ull << 20; /* below the layout's 64 MiB */
	memset(&err, 0, sizeof(err));
	assert_true(cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0);
	printf("# too small: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "MiB"));
	cfg = direct_cfg(CC_TDX, 1, 128ull << 20, NULL, 0);
	memset(&err, 0, sizeof(err));
	assert_true(cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0);
	assert_non_null(strstr(err.msg, "no firmware and no kernel"));
	cfg = direct_cfg(CC_SNP, 1, 128ull << 20, kimg, KLEN);
	cfg.firmware_len = 4096;
	memset(&err, 0, sizeof(err));
	assert_true(cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0);
	assert_non_null(strstr(err.msg, "without a firmware"));
	kd_free(kd);
}

/* `carapace run --confidential required --platform snp|tdx --kernel K` (no --firmware) builds
 * the firmware-less launch, with the same constructor as the CLI, and it runs on the double with
 * the predicted digest; with --firmware the OVMF measured-direct-boot path stays reachable. */
static void test_cli_boot_source(void **state)
{
	struct run_opts o = { .kernel = "k", .cmdline = CMDLINE, .memory = 128ull << 20, .vcpus = 2, .ndevices = 3 };
	struct cp_err err = { 0 };
	uint8_t *fw = NULL;

	(void)state;
	make_bzimage(0x020f);
	for (int p = CC_SNP; p <= CC_TDX; p++) {
		struct kvm_double *kd = double_new();
		struct cc_launch_cfg cfg = cfg_for((enum cc_platform)p, (unsigned)o.vcpus);
		struct cc_vm cvm;
		uint8_t want[48], got[48];

		cfg.mem_size = o.memory;
		assert_int_equal(cli_run_cc_boot(&o, kimg, KLEN, NULL, 0, &cfg, &fw, &err), 0);
		assert_null(fw);
		assert_null(cfg.firmware);
		assert_string_equal(cfg.cmdline, CMDLINE);
		if (cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0)
			fail_msg("launch: %s", err.msg);
		/* The CLI's default validation (DB_VALIDATE_DEFAULT on SNP), as `carapace measure`'s. */
		assert_int_equal(cfg.snp_validate, p == CC_SNP ? DB_VALIDATE_DEFAULT : DB_VALIDATE_ZERO);
		/* The devices are in the measured DSDT (a hardware-reduced FADT leaves the command line's
		 * virtio_mmio.device= unusable), counted as `carapace measure --virtio-devices 3`. */
		assert_int_equal(cfg.ndevs, 3);
		assert_int_equal(dsdt_devices(cvm.plan.direct), 3);
		predict_d((enum cc_platform)p, 2, o.memory, kimg, KLEN, p == CC_SNP ? DB_VALIDATE_DEFAULT : DB_VALIDATE_ZERO,
			  3, want);
		assert_int_equal(p == CC_SNP ? kd_snp_digest(kd, got) : kd_tdx_mrtd(kd, got), 0);
		assert_memory_equal(got, want, 48);
		predict_d((enum cc_platform)p, 2, o.memory, kimg, KLEN, p == CC_SNP ? DB_VALIDATE_DEFAULT : DB_VALIDATE_ZERO,
			  0, want);
		assert_memory_not_equal(got, want, 48);
		cc_vm_release(&cvm);
		kd_free(kd);
	}
	/* --firmware: the image is read, the kernel goes the fw_cfg way. */
	o.firmware = "/nonexistent/OVMF.fd";
	{
		struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
		assert_true(cli_run_cc_boot(&o, kimg, KLEN, NULL, 0, &cfg, &fw, &err) < 0);
		assert_non_null(strstr(err.msg, "firmware: "));
		if (access(OVMF_PATH, R_OK) == 0) {
			o.firmware = OVMF_PATH;
			assert_int_equal(cli_run_cc_boot(&o, kimg, KLEN, NULL, 0, &cfg, &fw, &err), 0);
			assert_non_null(fw);
			assert_ptr_equal(cfg.firmware, fw);
			assert_ptr_equal(cfg.kernel, kimg);
			free(fw);
		} else {
			printf("# SKIP the --firmware half: %s is absent\n", OVMF_PATH);
		}
	}
}

/* The real kernel, when given: both platforms to vCPU run with the digest predicted. */
static void test_real_kernel(void **state)
{
	const char *path = getenv("CARAPACE_TEST_BZIMAGE");
	uint8_t *k = NULL;
	size_t klen = 0;
	struct cp_err err = { 0 };

	(void)state;
	if (!path || !*path) {
		printf("# SKIP test_real_kernel: CARAPACE_TEST_BZIMAGE is not set\n");
		skip();
	}
	if (cp_file_read(path, 256u << 20, &k, &klen, &err) < 0)
		fail_msg("%s: %s", path, err.msg);
	launch_and_run(CC_SNP, 2, 512ull << 20, k, klen);
	launch_and_run(CC_TDX, 2, 512ull << 20, k, klen);
	free(k);
}

/* --snp-validate stub (issue 16): the RAM the launch leaves out is validated in the guest by the
 * measured stub. On the double: the launch digest is memenc's for the stub plan (and differs from
 * the ZERO plan's); no RAM page is in the launch; the BSP enters the stub, whose parameter block
 * names the kernel entry, boot_params and the RAM ranges; the stub's GHCB MSR Page State Change
 * for a page reaches carapace's run loop as KVM_EXIT_HYPERCALL(MAP_GPA_RANGE), which answers it,
 * and its PVALIDATE of that page then succeeds (private, never validated by the launch). */
/* cfg must outlive the VM (the launched VM keeps a pointer to it). */
static void stub_launch(struct kvm_double *kd, enum db_snp_validate val, uint64_t mem, struct cc_launch_cfg *cfg,
			struct cc_vm *cvm)
{
	struct cp_err err = { 0 };
	uint8_t want[48], got[48];

	*cfg = direct_cfg(CC_SNP, 2, mem, kimg, KLEN);
	cfg->snp_validate = val;
	assert_int_equal(predict_v(CC_SNP, 2, mem, kimg, KLEN, val, want), 48);
	if (cc_launch(&kd_ops, kd, cfg, cvm, &err) < 0)
		fail_msg("launch: %s", err.msg);
	assert_int_equal(kd_snp_digest(kd, got), 0);
	assert_memory_equal(got, want, 48);
	assert_memory_equal(cvm->measurement, want, 48);
}

static void run_to_halt(struct cc_vm *cvm)
{
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct run_opts plain = { .timeout_ms = 20000 };
	struct vm_config vc = cli_run_vm_config(&plain, &(struct run_console){ null_fd, -1, false }, SANDBOX_OFF, NULL,
						NULL, false);
	struct vm *vm = NULL;
	struct cp_err err = { 0 };

	if (vm_adopt_cc(cvm, &vc, &vm, &err) < 0)
		fail_msg("adopt: %s", err.msg);
	assert_int_equal(vm_run(vm), CP_EXIT_OK);
	assert_non_null(strstr(vm->end_msg, "halted"));
	vm_destroy(vm);
	close(null_fd);
}

static void test_snp_validate_stub(void **state)
{
	const uint64_t mem = 3584ull << 20; /* RAM above 4 GiB too: the stub's 1 GiB mappings */
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg;
	struct cc_vm cvm;
	struct kd_record rec;
	const struct db_layout *l;
	const uint8_t *params;
	uint8_t zero_digest[48];
	uint64_t n = 0, high = 0, low = 0;

	(void)state;
	make_bzimage(0x020f);
	assert_int_equal(predict_v(CC_SNP, 2, mem, kimg, KLEN, DB_VALIDATE_ZERO, zero_digest), 48);
	stub_launch(kd, DB_VALIDATE_STUB, mem, &cfg, &cvm);
	assert_memory_not_equal(cvm.measurement, zero_digest, 48);
	l = cvm.plan.direct;
	assert_false(l->ram_in_launch);
	assert_int_equal(l->entry.rip, DB_SNP_STUB);
	for (size_t i = 0; i < cvm.plan.n; i++)
		assert_int_not_equal(cvm.plan.ops[i].type, MEMENC_OP_SNP_ZERO);
	/* The stub page in the plan, with its parameters: kernel entry, boot_params, every RAM range. */
	params = NULL;
	for (size_t i = 0; i < cvm.plan.n; i++)
		if (cvm.plan.ops[i].gpa == DB_SNP_STUB)
			params = cvm.plan.ops[i].data + DB_STUB_PARAMS;
	assert_non_null(params);
	assert_memory_equal(params, "CPSNPSTB", 8);
	assert_int_equal(cp_le64(params + 8), l->kernel_gpa + 0x200);
	assert_int_equal(cp_le64(params + 16), DB_ZERO_PAGE);
	for (size_t i = 0; i < l->n; i++)
		if (l->r[i].kind == DB_ZERO) {
			assert_int_equal(cp_le64(params + 0x30 + 16 * n), l->r[i].gpa);
			assert_int_equal(cp_le64(params + 0x38 + 16 * n), l->r[i].gpa + l->r[i].len);
			if (l->r[i].gpa >= DB_4G)
				high = l->r[i].gpa;
			else if (!low && l->r[i].len >= 8 * 4096)
				low = l->r[i].gpa;
			n++;
		}
	assert_int_equal(cp_le64(params + 0x28), n);
	assert_true(n >= 3 && high == DB_4G && low != 0);
	/* The page tables map the RAM above 4 GiB (1 GiB pages, C-bit 51) for PVALIDATE. */
	assert_int_equal(cp_le64(l->low + DB_PML4 + 4096 + 8 * 4), DB_4G | 1ull << 51 | 0x83);
	assert_int_equal(kd_record_get(kd, &rec), 0);
	/* Launch pages: the layout's data pages only (no RAM), plus the 2 VMSAs. */
	assert_true(rec.pages_measured < 2048);

	/* The stub's loop over 8 pages of a low RAM range and 4 of the high one. */
	assert_int_equal(kd_script_snp_psc_msr(kd, 0, low, 8, 1), 0);
	assert_int_equal(kd_script_snp_psc_msr(kd, 0, high, 4, 1), 0);
	run_to_halt(&cvm);
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_int_equal(rec.psc_msr_exits, 12);
	assert_int_equal(rec.psc_msr_errors, 0);
	assert_int_equal(rec.psc_msr_last_resp, 0x015);
	assert_int_equal(rec.pvalidated, 12);
	assert_int_equal(rec.pvalidate_failed, 0);
	assert_true(kd_gpa_private(kd, high));
	cc_vm_release(&cvm);
	kd_free(kd);
}

/* The double's PSC rules have teeth: under --snp-validate zero a RAM page was validated by the
 * launch, so the same stub loop's PVALIDATE gets "no update" and stops; an op the kernel does not
 * know is answered with PSC_RESP_ERROR in the kernel, without an exit. */
static void test_snp_psc_refusals(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg;
	struct cc_vm cvm;
	struct kd_record rec;
	uint64_t ram = 0;

	(void)state;
	make_bzimage(0x020f);
	stub_launch(kd, DB_VALIDATE_ZERO, 128ull << 20, &cfg, &cvm);
	for (size_t i = 0; i < cvm.plan.n && !ram; i++)
		if (cvm.plan.ops[i].type == MEMENC_OP_SNP_ZERO)
			ram = cvm.plan.ops[i].gpa;
	assert_true(ram != 0);
	assert_int_equal(kd_script_snp_psc_msr(kd, 0, ram, 4, 1), 0);
	assert_int_equal(kd_script_snp_psc_msr(kd, 0, ram, 1, 3), 0);
	run_to_halt(&cvm);
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_int_equal(rec.psc_msr_exits, 1);     /* the first page, then the stub stopped */
	assert_int_equal(rec.pvalidate_failed, 1);
	assert_int_equal(rec.pvalidated, 0);
	assert_int_equal(rec.psc_msr_errors, 1);    /* op 3 */
	assert_int_equal(rec.psc_msr_last_resp, 1ull << 63 | 0x015);
	cc_vm_release(&cvm);
	kd_free(kd);
}

/* --snp-validate stub belongs to the SNP firmware-less boot only. */
static void test_snp_validate_misuse(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = direct_cfg(CC_TDX, 1, 128ull << 20, kimg, KLEN);
	struct cc_vm cvm;
	struct cp_err err = { 0 };

	(void)state;
	make_bzimage(0x020f);
	cfg.snp_validate = DB_VALIDATE_STUB;
	assert_true(cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0);
	assert_non_null(strstr(err.msg, "--snp-validate stub"));
	kd_free(kd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_direct),	    cmocka_unit_test(test_tdx_direct),
		cmocka_unit_test(test_direct_above_4g),	    cmocka_unit_test(test_snp_entry_registers),
		cmocka_unit_test(test_direct_bad_input),    cmocka_unit_test(test_real_kernel),
		cmocka_unit_test(test_cli_boot_source),
		cmocka_unit_test(test_snp_ap_creation),
		cmocka_unit_test(test_snp_ap_refused_and_blocked_ap_ended),
		cmocka_unit_test(test_snp_validate_stub),
		cmocka_unit_test(test_snp_psc_refusals),
		cmocka_unit_test(test_snp_validate_misuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
