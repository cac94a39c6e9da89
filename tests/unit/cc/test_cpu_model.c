/* --cpu for confidential launches (issue 17), on the strict double: the SEV-SNP CPUID page, the
 * TDX INIT_VM CPUID configuration and every vCPU's KVM_SET_CPUID2 come from the same model as a
 * plain VM's (guest_cpuid_build), as the double saw them; a model that removes a feature the TDX
 * module forces on is refused naming it; the model is in neither the SNP launch digest (the CPUID
 * page is measured without its contents) nor MRTD, so `carapace measure` needs no --cpu. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"
#include "memenc/direct_boot.h"

#define KLEN (64 * 1024 + 512 * 5)
#define CMDLINE "console=ttyS0"
#define POPCNT (1u << 23) /* CPUID 1 ECX */
#define AVX2 (1u << 5)    /* CPUID 7.0 EBX */
#define FSGSBASE (1u << 0) /* CPUID 7.0 EBX */

static uint8_t kimg[KLEN];

static void make_bzimage(void)
{
	cc_test_bzimage(kimg, sizeof(kimg), 0x020f);
}

static struct cc_launch_cfg direct(enum cc_platform p, const char *cpu)
{
	struct cc_launch_cfg c = cc_test_direct_cfg(p, 2, 128ull << 20, kimg, KLEN, CMDLINE);
	c.cpu = cpu;
	return c;
}

/* Launch; returns the double (caller frees) and fills the digest / MRTD. */
static struct kvm_double *launch(enum cc_platform p, const char *cpu, uint8_t digest[48])
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = direct(p, cpu);
	struct cc_vm cvm;
	struct cp_err err = { 0 };

	if (cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0)
		fail_msg("launch with --cpu %s: %s", cpu ? cpu : "(host)", err.msg);
	assert_int_equal(p == CC_SNP ? kd_snp_digest(kd, digest) : kd_tdx_mrtd(kd, digest), 0);
	cc_vm_release(&cvm);
	return kd;
}

static uint32_t reg(struct kvm_double *kd, enum kd_cpuid_src src, unsigned vcpu, uint32_t leaf, int r)
{
	uint32_t v[4];
	assert_int_equal(kd_cpuid_seen(kd, src, vcpu, leaf, 0, v), 0);
	return v[r];
}

static void test_snp_cpuid_page_follows_model(void **state)
{
	uint8_t host[48], model[48];
	struct kvm_double *a, *b;

	(void)state;
	make_bzimage();
	a = launch(CC_SNP, NULL, host);
	b = launch(CC_SNP, "host,-popcnt,-avx2", model);
	/* The host model keeps them (the double offers both); the model's page and vCPUs do not. */
	assert_true(reg(a, KD_CPUID_SNP_PAGE, 0, 1, 2) & POPCNT);
	assert_true(reg(a, KD_CPUID_SNP_PAGE, 0, 7, 1) & AVX2);
	assert_false(reg(b, KD_CPUID_SNP_PAGE, 0, 1, 2) & POPCNT);
	assert_false(reg(b, KD_CPUID_SNP_PAGE, 0, 7, 1) & AVX2);
	for (unsigned i = 0; i < 2; i++) {
		assert_false(reg(b, KD_CPUID_SET_CPUID2, i, 1, 2) & POPCNT);
		assert_false(reg(b, KD_CPUID_SET_CPUID2, i, 7, 1) & AVX2);
		assert_int_equal(reg(b, KD_CPUID_SET_CPUID2, i, 1, 1) >> 24, i); /* the per-vCPU filter too */
	}
	/* The page and vCPU 0 agree: one model, one table. */
	assert_int_equal(reg(b, KD_CPUID_SNP_PAGE, 0, 1, 2), reg(b, KD_CPUID_SET_CPUID2, 0, 1, 2));
	assert_int_equal(reg(b, KD_CPUID_SNP_PAGE, 0, 7, 1), reg(b, KD_CPUID_SET_CPUID2, 0, 7, 1));
	/* The CPUID page is measured without its contents: the digest does not depend on the model. */
	assert_memory_equal(host, model, 48);
	kd_free(a);
	kd_free(b);
}

static void test_tdx_init_vm_follows_model(void **state)
{
	uint8_t host[48], model[48];
	struct kvm_double *a, *b;

	(void)state;
	make_bzimage();
	a = launch(CC_TDX, NULL, host);
	b = launch(CC_TDX, "host,-avx2,-fsgsbase", model);
	assert_true(reg(a, KD_CPUID_TDX_INIT_VM, 0, 7, 1) & (AVX2 | FSGSBASE));
	/* No AVX2 or FSGSBASE in leaf 7 (INIT_VM and every vCPU), POPCNT kept. (The double's KVM
	 * offers no x2APIC, so the named x86-64-vN models, which need it, cannot launch on it.) */
	assert_false(reg(b, KD_CPUID_TDX_INIT_VM, 0, 7, 1) & (AVX2 | FSGSBASE));
	assert_false(reg(b, KD_CPUID_SET_CPUID2, 1, 7, 1) & (AVX2 | FSGSBASE));
	assert_true(reg(b, KD_CPUID_SET_CPUID2, 1, 1, 2) & POPCNT);
	/* CPUID configuration is not in MRTD. */
	assert_memory_equal(host, model, 48);
	kd_free(a);
	kd_free(b);
}

/* A TDX module that forces AVX2 on (a fixed-1 bit, kd_config.tdx_fixed1): a model without it
 * would promise a CPU the TD does not get. Without --cpu the same forced bit is accepted as
 * before (cc-double_rules test_driver_tdx_forced_on_bits_accepted). */
static void test_tdx_forced_feature_refused(void **state)
{
	struct kd_config kc;
	struct kvm_double *kd;
	struct cc_launch_cfg cfg;
	struct cc_vm cvm;
	struct cp_err err = { 0 };
	uint8_t d[48];

	(void)state;
	make_bzimage();
	kd_config_default(&kc);
	kc.tdx_fixed1[1] = (struct kd_cpuid_bits){ .function = 7, .index = 0, .reg = 1, .bits = AVX2 };
	kd = kd_new(&kc);
	cfg = direct(CC_TDX, "host,-avx2");
	assert_int_equal(cc_launch(&kd_ops, kd, &cfg, &cvm, &err), -ENOTSUP);
	printf("# refused: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "removes avx2"));
	assert_non_null(strstr(err.msg, "forces it on"));
	kd_free(kd);
	/* Another feature removed from the same host: launches. */
	kd = kd_new(&kc);
	cfg = direct(CC_TDX, "host,-popcnt");
	if (cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0)
		fail_msg("%s", err.msg);
	cc_vm_release(&cvm);
	kd_free(kd);
	/* SNP has no fixed-1 bits: -avx2 launches there (the double's default firmware allows it). */
	kd = launch(CC_SNP, "host,-avx2", d);
	assert_false(reg(kd, KD_CPUID_SNP_PAGE, 0, 7, 1) & AVX2);
	kd_free(kd);
}

static void test_bad_model_refused(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg;
	struct cc_vm cvm;
	struct cp_err err = { 0 };

	(void)state;
	make_bzimage();
	cfg = direct(CC_SNP, "host,-nosuchfeature");
	assert_int_equal(cc_launch(&kd_ops, kd, &cfg, &cvm, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nosuchfeature"));
	kd_free(kd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_cpuid_page_follows_model),
		cmocka_unit_test(test_tdx_init_vm_follows_model),
		cmocka_unit_test(test_tdx_forced_feature_refused),
		cmocka_unit_test(test_bad_model_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
