/* Measured direct boot and the launch driver against an independent reference: the SEV-SNP
 * launches of virtee/sev-snp-measure's fixtures (the last 4 KiB of edk2's AmdSevX64 and OvmfX64
 * builds, from $CARAPACE_TEST_VECTORS) are carried out on the strict double, which recomputes
 * the launch digest from the pages it was given; it must equal what that tool printed, including
 * the kernel-hashes page of a directly booted kernel. The firmware that cannot measure a kernel
 * is refused with the reason. Skips visibly without the vectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"
#include "memenc/vmsa.h"
#include "tests/unit/memenc/vectors.h"

static const char *vdir;

struct vec {
	char fixture[64], expect[128];
	unsigned vcpus;
	uint32_t sig;
	uint64_t features;
	bool kernel, other_vmm;
	char append[64];
};

/* One expected.txt line for --mode snp; false for other modes. */
static bool parse(char *line, struct vec *v)
{
	char *p1 = strchr(line, '|'), *p2 = p1 ? strchr(p1 + 1, '|') : NULL, *save = NULL, *tok;
	bool snp = false;
	struct cp_err err = { 0 };

	memset(v, 0, sizeof(*v));
	v->features = 1;
	v->vcpus = 1;
	assert_non_null(p2);
	*p1 = *p2 = '\0';
	sscanf(line, "%63s", v->fixture);
	sscanf(p2 + 1, " %127[^\n]", v->expect);
	for (tok = strtok_r(p1 + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *val = strtok_r(NULL, " ", &save);
		assert_non_null(val);
		if (!strcmp(tok, "--mode"))
			snp = !strcmp(val, "snp");
		else if (!strcmp(tok, "--vcpus"))
			v->vcpus = (unsigned)atoi(val);
		else if (!strcmp(tok, "--vcpu-type"))
			assert_int_equal(memenc_cpu_sig_by_name(val, &v->sig, &err), 0);
		else if (!strcmp(tok, "--guest-features"))
			v->features = strtoull(val, NULL, 0);
		else if (!strcmp(tok, "--vmm-type"))
			v->other_vmm = strcmp(val, "qemu") != 0;
		else if (!strcmp(tok, "--kernel"))
			v->kernel = true;
		else if (!strcmp(tok, "--append"))
			snprintf(v->append, sizeof(v->append), "%s", val);
	}
	return snp;
}

static void test_snp_launches_match_sev_snp_measure(void **state)
{
	size_t len, launched = 0, refused = 0;
	char *text = (char *)vector_read(vdir, "sev-snp-measure/expected.txt", &len), *save = NULL, *line;

	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct vec v;
		struct kvm_double *kd;
		struct cc_launch_cfg cfg;
		struct cc_vm vm;
		struct cp_err err = { 0 };
		uint8_t *fw, digest[48];
		char name[128], hex[97];
		size_t fw_len;
		int r;

		if (line[0] == '#' || !parse(line, &v) || v.other_vmm)
			continue; /* carapace launches as QEMU does: the ec2/gce VMSA variants are measure-only */
		snprintf(name, sizeof(name), "sev-snp-measure/%s", v.fixture);
		fw = vector_read(vdir, name, &fw_len);
		assert_non_null(fw);
		kd = double_new();
		memset(&cfg, 0, sizeof(cfg));
		cfg.platform = CC_SNP;
		cfg.firmware = fw;
		cfg.firmware_len = fw_len;
		cfg.mem_size = 64ull << 20;
		cfg.vcpus = v.vcpus;
		cfg.vcpu_sig = v.sig;
		cfg.vmsa_features = v.features & ~1ull;
		if (v.kernel) { /* /dev/null kernel and initrd: empty blobs */
			cfg.kernel = (const uint8_t *)"";
			cfg.initrd = (const uint8_t *)"";
			cfg.cmdline = v.append;
		}
		r = cc_launch(&kd_ops, kd, &cfg, &vm, &err);
		if (!strncmp(v.expect, "Error:", 6)) {
			assert_true(r < 0);
			assert_non_null(strstr(err.msg, "no SNP_KERNEL_HASHES section"));
			refused++;
		} else {
			if (r < 0)
				fail_msg("%s | %u vCPUs%s: %s", v.fixture, v.vcpus, v.kernel ? " + kernel" : "", err.msg);
			assert_int_equal(kd_snp_digest(kd, digest), 0);
			cp_hex_encode(digest, 48, hex);
			if (strcmp(hex, v.expect))
				fail_msg("%s | %u vCPUs%s: the double measured %s, sev-snp-measure printed %s", v.fixture, v.vcpus,
					 v.kernel ? " + kernel" : "", hex, v.expect);
			cc_vm_release(&vm);
			launched++;
		}
		kd_free(kd);
		free(fw);
	}
	free(text);
	assert_int_equal(launched, 5); /* AmdSev x3 (one with a kernel), OvmfX64 x2 */
	assert_int_equal(refused, 1);
}

/* The kernel-hashes page is really part of the launch: another command line, another digest. */
static void test_cmdline_changes_the_digest(void **state)
{
	uint8_t *fw, a[48], b[48];
	size_t fw_len;
	const char *lines[2] = { "console=ttyS0", "console=ttyS1" };
	uint8_t *out[2] = { a, b };

	fw = vector_read(vdir, "sev-snp-measure/ovmf_AmdSev_suffix.bin", &fw_len);
	assert_non_null(fw);
	for (int i = 0; i < 2; i++) {
		struct kvm_double *kd = double_new();
		struct cc_launch_cfg cfg;
		struct cc_vm vm;
		struct cp_err err = { 0 };
		memset(&cfg, 0, sizeof(cfg));
		cfg.platform = CC_SNP;
		cfg.firmware = fw;
		cfg.firmware_len = fw_len;
		cfg.mem_size = 64ull << 20;
		cfg.vcpus = 1;
		cfg.kernel = (const uint8_t *)"kernel";
		cfg.kernel_len = 6;
		cfg.cmdline = lines[i];
		assert_true(cc_launch(&kd_ops, kd, &cfg, &vm, &err) >= 0);
		assert_int_equal(kd_snp_digest(kd, out[i]), 0);
		cc_vm_release(&vm);
		kd_free(kd);
	}
	assert_memory_not_equal(a, b, 48);
	free(fw);
}

static void test_initrd_without_kernel_refused(void **state)
{
	static uint8_t fw[4096];
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };

	cfg.firmware = fw;
	cfg.firmware_len = sizeof(fw);
	cfg.cmdline = "quiet";
	assert_int_equal(cc_vm_init(&vm, &kd_ops, NULL, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "needs a kernel"));
	cc_vm_release(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_launches_match_sev_snp_measure),
		cmocka_unit_test(test_cmdline_changes_the_digest),
		cmocka_unit_test(test_initrd_without_kernel_refused),
	};
	vdir = vectors_dir_or_skip("sev-snp-measure/expected.txt");
	return cmocka_run_group_tests_name("cc-direct-boot", tests, NULL, NULL);
}
