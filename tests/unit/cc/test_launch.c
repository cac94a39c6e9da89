/* Measurement agreement: Debian's OVMF.fd launched on the strict double for SEV-SNP (1, 2, 4 vCPUs)
 * and TDX. Three independent values must be equal: the digest/MRTD the double recomputed from the
 * bytes and GPAs it was given, memenc_plan_measure() for the same inputs, and what
 * `carapace measure` prints. Partial progress and EAGAIN from the double change nothing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "common/cli.h"
#include "helpers.h"
#include "memenc/cli.h"
#include "memenc/hash.h"
#include "runner/kvm_cc_uapi.h"

/* Debian 12's ovmf 2022.11 OVMF.fd, and what virtee/sev-snp-measure @ 8f2b337 printed for it
 * (the values memenc's own tests pin): a fourth, fully independent implementation. */
#define DEBIAN_OVMF_SHA256 "7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773"
#define SSM_1CPU_800F12_F1 "11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3"
#define SSM_4CPU_A00F11_F21 "968824524f03c9ab191fbb02ac50d286a4aa1b5922ed74a422a806ce376a9e589d16c8dd8202c256834c0d4013e2584b"

static bool known_build(void)
{
	uint8_t d[32];
	char h[65];
	if (memenc_sha256(ovmf, ovmf_len, d, NULL) < 0)
		return false;
	cp_hex_encode(d, 32, h);
	return strcmp(h, DEBIAN_OVMF_SHA256) == 0;
}

static void hex(const uint8_t *d, size_t n, char *out) { cp_hex_encode(d, n, out); }

/* Run `carapace measure ARGS` in-process and return the last line it printed. */
static void cli_measure(char **argv, int argc, char *line, size_t cap)
{
	char path[] = "/tmp/carapace-cc-measure-XXXXXX";
	int fd = mkstemp(path), saved = dup(1), rc;
	FILE *f;
	char buf[512];

	assert_true(fd >= 0 && saved >= 0);
	fflush(stdout);
	dup2(fd, 1);
	rc = memenc_cli_measure(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(rc, CP_EXIT_OK);
	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	line[0] = '\0';
	while (fgets(buf, sizeof(buf), f)) {
		size_t n = strlen(buf);
		if (n >= cap)
			n = cap - 1;
		memcpy(line, buf, n);
		line[n] = '\0';
	}
	fclose(f);
	unlink(path);
	line[strcspn(line, "\n")] = '\0';
}

static void plan_measure(const struct memenc_launch_opts *o, uint8_t out[48])
{
	struct memenc_plan plan;
	struct cp_err err = { 0 };
	size_t n = 0;

	if (memenc_plan_build(&plan, ovmf, ovmf_len, o, &err) < 0 || memenc_plan_measure(&plan, out, &n, NULL, NULL, &err) < 0)
		fail_msg("memenc: %s", err.msg);
	assert_int_equal(n, 48);
	memenc_plan_free(&plan);
}

static void snp_agreement(unsigned vcpus, uint32_t sig, uint64_t vmsa_features, unsigned max_pages, unsigned eagain,
			  const char *ssm)
{
	struct kd_config kc;
	struct kvm_double *kd;
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, vcpus);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	struct memenc_launch_opts o = { .platform = MEMENC_PLATFORM_SNP, .vcpus = vcpus,
					.vcpu_sig = sig ? sig : 0x800f12, .guest_features = vmsa_features | 1 };
	uint8_t dbl[48], planned[48];
	char h_dbl[97], h_plan[97], h_drv[97], printed[256], vstr[16], sstr[16], fstr[24];
	char *argv[] = { "measure", "--platform", "snp", "--firmware", OVMF_PATH, "--vcpus", vstr, "--vcpu-sig", sstr,
			 "--guest-features", fstr };
	struct kd_record rec;

	kd_config_default(&kc);
	kc.max_pages_per_call = max_pages;
	kc.eagain_every = eagain;
	kd = kd_new(&kc);
	assert_non_null(kd);
	cfg.vcpu_sig = sig;
	cfg.vmsa_features = vmsa_features;
	if (cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0)
		fail_msg("cc_launch: %s (double: %s)", err.msg, kd_last_refusal(kd));
	assert_int_equal(vm.state, CC_ST_FINISHED);
	assert_int_equal(kd_snp_digest(kd, dbl), 0);
	plan_measure(&o, planned);
	snprintf(vstr, sizeof(vstr), "%u", vcpus);
	snprintf(sstr, sizeof(sstr), "0x%x", o.vcpu_sig);
	snprintf(fstr, sizeof(fstr), "0x%llx", (unsigned long long)o.guest_features);
	cli_measure(argv, (int)(sizeof(argv) / sizeof(argv[0])), printed, sizeof(printed));
	hex(dbl, 48, h_dbl);
	hex(planned, 48, h_plan);
	hex(vm.measurement, 48, h_drv);
	print_message("SNP %u vCPU(s) features 0x%llx: double %s\n", vcpus, (unsigned long long)o.guest_features, h_dbl);
	if (strcmp(h_dbl, h_plan) || strcmp(h_plan, printed) || strcmp(h_drv, h_plan))
		fail_msg("disagreement:\n double  %s\n plan    %s\n measure %s\n driver  %s", h_dbl, h_plan, printed, h_drv);
	if (ssm && known_build() && strcmp(h_dbl, ssm))
		fail_msg("double %s, sev-snp-measure printed %s for the same OVMF.fd", h_dbl, ssm);
	if (ssm && !known_build())
		print_message("(not Debian's known OVMF build: sev-snp-measure comparison not made)\n");
	/* What the double recorded is what the caller asked for. */
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_memory_equal(rec.host_data, cfg.host_data, 32);
	assert_int_equal(rec.snp_policy, 0x30000);
	assert_int_equal(rec.exit_hypercall_mask, 1u << 12);
	assert_int_equal(rec.vcpus, vcpus);
	assert_int_equal(rec.cpuid_page_count, 10); /* every leaf of vCPU 0's CPUID (the double offers 10) */
	if (max_pages || eagain)
		assert_true(rec.launch_update_calls > 10); /* the driver had to loop */
	cc_vm_release(&vm);
	kd_free(kd);
}

static void test_snp_1(void **state) { snp_agreement(1, 0, 0, 0, 0, SSM_1CPU_800F12_F1); }
static void test_snp_2(void **state) { snp_agreement(2, 0, 0, 0, 0, NULL); }
static void test_snp_4(void **state) { snp_agreement(4, 0xa00f11, 0x20, 0, 0, SSM_4CPU_A00F11_F21); }
static void test_snp_partial_eagain(void **state) { snp_agreement(4, 0xa00f11, 0x20, 7, 3, SSM_4CPU_A00F11_F21); }
static void test_snp_one_page_per_call(void **state) { snp_agreement(1, 0, 0, 1, 0, SSM_1CPU_800F12_F1); }

static void tdx_agreement(unsigned vcpus, unsigned max_pages, unsigned eagain, uint32_t tsc_khz)
{
	struct kd_config kc;
	struct kvm_double *kd;
	struct cc_launch_cfg cfg = cfg_for(CC_TDX, vcpus);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	struct memenc_launch_opts o = { .platform = MEMENC_PLATFORM_TDX };
	uint8_t dbl[48], planned[48];
	char h_dbl[97], h_plan[97], printed[256];
	char *argv[] = { "measure", "--platform", "tdx", "--firmware", OVMF_PATH };
	struct kd_record rec;

	kd_config_default(&kc);
	kc.max_pages_per_call = max_pages;
	kc.eagain_every = eagain;
	kd = kd_new(&kc);
	memset(cfg.mrconfigid, 0x11, 48);
	memset(cfg.mrowner, 0x22, 48);
	memset(cfg.mrownerconfig, 0x33, 48);
	cfg.td_attributes = CP_TDX_ATTR_SEPT_VE_DISABLE;
	cfg.tsc_khz = tsc_khz;
	if (cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0)
		fail_msg("cc_launch: %s (double: %s)", err.msg, kd_last_refusal(kd));
	assert_int_equal(kd_tdx_mrtd(kd, dbl), 0);
	plan_measure(&o, planned);
	cli_measure(argv, 5, printed, sizeof(printed));
	hex(dbl, 48, h_dbl);
	hex(planned, 48, h_plan);
	print_message("TDX %u vCPU(s): double MRTD %s\n", vcpus, h_dbl);
	if (strcmp(h_dbl, h_plan) || strcmp(h_plan, printed) || memcmp(vm.measurement, planned, 48))
		fail_msg("disagreement:\n double  %s\n plan    %s\n measure %s", h_dbl, h_plan, printed);
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_memory_equal(rec.mrconfigid, cfg.mrconfigid, 48);
	assert_memory_equal(rec.mrowner, cfg.mrowner, 48);
	assert_memory_equal(rec.mrownerconfig, cfg.mrownerconfig, 48);
	assert_int_equal(rec.td_attributes, CP_TDX_ATTR_SEPT_VE_DISABLE);
	assert_int_equal(rec.td_xfam, 0x7); /* CPUID 0xD.0 EAX of the double's vCPU model: x87, SSE, AVX */
	/* Only exact (leaf, subleaf) capability entries, 0x80000008 among them: the double offers 5. */
	assert_int_equal(rec.init_vm_cpuid_nent, 5);
	assert_int_equal(rec.apic_bus_cycle_ns, 40);
	/* The TSC was set before INIT_VM (the host's 2.1 GHz of the double unless configured), and
	 * every vCPU's CPUID was read back and found as asked (the TSC is not in MRTD). */
	assert_int_equal(rec.tsc_khz_set, tsc_khz ? tsc_khz : 2100000);
	assert_int_equal(rec.td_tsc_khz, tsc_khz ? tsc_khz : 2100000);
	assert_int_equal(vm.tsc_khz, rec.td_tsc_khz);
	assert_int_equal(rec.get_cpuid_calls, vcpus);
	for (unsigned i = 0; i < vcpus; i++)
		assert_int_equal(rec.vcpu_init_rcx[i], vm.hob_gpa);
	assert_int_equal(vm.hob_gpa, 0x809000); /* the TD_HOB section of this OVMF */
	cc_vm_release(&vm);
	kd_free(kd);
}

static void test_tdx_1(void **state) { tdx_agreement(1, 0, 0, 0); }
static void test_tdx_4_partial_eagain(void **state) { tdx_agreement(4, 5, 2, 0); }
static void test_tdx_2_tsc_configured(void **state) { tdx_agreement(2, 0, 0, 1800000); }

/* The double's digest follows the register state it was given: a vCPU moved after the driver set
 * it up yields a different launch digest than the one predicted (so agreement above means the
 * driver's vCPU state really matches memenc's VMSA model). */
static void test_snp_vcpu_state_drift_detected(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 2);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	struct kvm_regs regs;
	uint8_t dbl[48];

	assert_int_equal(cc_vm_init(&vm, &kd_ops, kd, &cfg, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_CREATE_VM, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_INIT, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_START, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_MEMORY, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_VCPUS, &err), 0);
	assert_int_equal(kd_ops.ioctl(kd, vm.vcpu_fd[1], KVM_GET_REGS, &regs), 0);
	regs.rip += 1;
	assert_int_equal(kd_ops.ioctl(kd, vm.vcpu_fd[1], KVM_SET_REGS, &regs), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_PAGES, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_FINISH, &err), 0);
	assert_int_equal(kd_snp_digest(kd, dbl), 0);
	assert_memory_not_equal(dbl, vm.measurement, 48);
	cc_vm_release(&vm);
	kd_free(kd);
}

/* A different host_data leaves the launch digest alone (it is reported beside it). */
static void test_snp_host_data_not_in_digest(void **state)
{
	uint8_t a[48], b[48];
	for (int k = 0; k < 2; k++) {
		struct kvm_double *kd = double_new();
		struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
		struct cc_vm vm;
		struct cp_err err = { 0 };
		struct kd_record rec;
		cfg.host_data[0] = (uint8_t)k;
		assert_true(cc_launch(&kd_ops, kd, &cfg, &vm, &err) >= 0);
		assert_int_equal(kd_snp_digest(kd, k ? b : a), 0);
		assert_int_equal(kd_record_get(kd, &rec), 0);
		assert_int_equal(rec.host_data[0], k);
		cc_vm_release(&vm);
		kd_free(kd);
	}
	assert_memory_equal(a, b, 48);
}

/* An ID block and its auth block reach SNP_LAUNCH_FINISH; an auth block alone is refused. */
static void test_snp_id_block(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	struct kd_record rec;
	static uint8_t idb[96], auth[4096];

	/* An ID block for this launch: its digest (measured first), version 1, the launch's policy. */
	{
		struct cc_vm probe;
		assert_int_equal(cc_vm_init(&probe, &kd_ops, kd, &cfg, &err), 0);
		assert_int_equal(cc_step(&probe, CC_STEP_CREATE_VM, &err), 0);
		for (size_t i = 0; i < sizeof(idb); i++)
			idb[i] = (uint8_t)(i * 7);
		cp_put_le32(auth + 4, 1); /* AUTH_KEY_ALGO: an author key is present */
		memcpy(idb, probe.measurement, 48);
		cp_put_le32(idb + 80, 1);
		cp_put_le64(idb + 88, 0x30000);
		cc_vm_release(&probe);
	}
	cfg.id_block = idb;
	cfg.id_auth = auth;
	if (cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0)
		fail_msg("cc_launch: %s", err.msg);
	assert_int_equal(kd_record_get(kd, &rec), 0);
	assert_true(rec.id_block_en);
	assert_true(rec.auth_key_en);
	assert_memory_equal(rec.id_block, idb, 96);
	cc_vm_release(&vm);
	kd_free(kd);

	/* Blocks that do not name this launch are refused before anything is created, field by field. */
	{
		static const struct { unsigned off; uint8_t flip; const char *msg; } bad[] = {
			{ 0, 1, "launch digest" }, { 80, 2, "version" }, { 88, 1, "guest policy" } };
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			kd = double_new();
			idb[bad[k].off] ^= bad[k].flip;
			assert_int_equal(cc_launch(&kd_ops, kd, &cfg, &vm, &err), -EINVAL);
			if (!strstr(err.msg, bad[k].msg))
				fail_msg("'%s' lacks '%s'", err.msg, bad[k].msg);
			/* No SNP VM was created (host-info's probe may have made a TDX one). */
			assert_true(kd_record_get(kd, &rec) < 0 || rec.vm_type != CP_KVM_X86_SNP_VM);
			idb[bad[k].off] ^= bad[k].flip;
			memset(&err, 0, sizeof(err));
			kd_free(kd);
		}
	}

	kd = double_new();
	cfg.id_block = NULL;
	assert_int_equal(cc_launch(&kd_ops, kd, &cfg, &vm, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "an ID auth block needs an ID block"));
	kd_free(kd);

	/* An ID block alone: KVM would copy id_auth_uaddr 0 and fail with EFAULT; carapace says why
	 * before anything is created. */
	kd = double_new();
	cfg.id_block = idb;
	cfg.id_auth = NULL;
	memset(&err, 0, sizeof(err));
	assert_int_equal(cc_launch(&kd_ops, kd, &cfg, &vm, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "an ID block needs its ID auth block"));
	assert_int_equal(kd_record_get(kd, &rec), -ENOENT);
	kd_free(kd);
}

/* AUTH_KEY_EN follows the auth block: set only when it carries an author key (AUTH_KEY_ALGO). */
static void test_snp_id_auth_author_key(void **state)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	static uint8_t idb[96], auth[4096];
	struct cp_err err = { 0 };

	for (int with_key = 0; with_key < 2; with_key++) {
		struct kvm_double *kd = double_new();
		struct cc_vm probe, vm;
		struct kd_record rec;
		assert_int_equal(cc_vm_init(&probe, &kd_ops, kd, &cfg, &err), 0);
		assert_int_equal(cc_step(&probe, CC_STEP_CREATE_VM, &err), 0);
		memcpy(idb, probe.measurement, 48);
		cp_put_le32(idb + 80, 1);
		cp_put_le64(idb + 88, 0x30000);
		cc_vm_release(&probe);
		cp_put_le32(auth + 4, with_key ? 1 : 0); /* AUTH_KEY_ALGO: 1 = ECDSA P-384 with SHA-384 */
		cfg.id_block = idb;
		cfg.id_auth = auth;
		if (cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0)
			fail_msg("cc_launch: %s", err.msg);
		assert_int_equal(kd_record_get(kd, &rec), 0);
		assert_true(rec.id_block_en);
		assert_int_equal(rec.auth_key_en, with_key);
		cc_vm_release(&vm);
		kd_free(kd);
	}
}

/* The shared memfd holds nothing of the launch once it is finished (the firmware copy is gone). */
static void test_shared_copies_dropped(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	static uint8_t buf[1 << 16];
	ssize_t n;

	assert_true(cc_launch(&kd_ops, kd, &cfg, &vm, &err) >= 0);
	for (off_t off = 0; off < (off_t)vm.shared_size; off += (off_t)sizeof(buf)) {
		n = pread(vm.shared_fd, buf, sizeof(buf), off);
		assert_true(n > 0);
		for (ssize_t i = 0; i < n; i++)
			if (buf[i])
				fail_msg("shared memfd byte 0x%llx is 0x%02x after the launch", (unsigned long long)(off + i), buf[i]);
	}
	cc_vm_release(&vm);
	kd_free(kd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_1),
		cmocka_unit_test(test_snp_2),
		cmocka_unit_test(test_snp_4),
		cmocka_unit_test(test_snp_partial_eagain),
		cmocka_unit_test(test_snp_one_page_per_call),
		cmocka_unit_test(test_tdx_1),
		cmocka_unit_test(test_tdx_4_partial_eagain),
		cmocka_unit_test(test_tdx_2_tsc_configured),
		cmocka_unit_test(test_snp_vcpu_state_drift_detected),
		cmocka_unit_test(test_snp_host_data_not_in_digest),
		cmocka_unit_test(test_shared_copies_dropped),
		cmocka_unit_test(test_snp_id_block),
		cmocka_unit_test(test_snp_id_auth_author_key),
	};
	ovmf_load_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
