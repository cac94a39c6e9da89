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
#include "memenc/hash.h"
#include "memenc/vmsa.h"
#include "runner/exits.h"
#include "runner/vm.h"
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
/* An SEV-SNP launch of `fw` with 64 MiB of RAM. */
static struct cc_launch_cfg snp_cfg(const uint8_t *fw, size_t fw_len, unsigned vcpus)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, vcpus);
	cfg.firmware = fw;
	cfg.firmware_len = fw_len;
	return cfg;
}

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
		cfg = snp_cfg(fw, fw_len, v.vcpus);
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
		cfg = snp_cfg(fw, fw_len, 1);
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

/* One port access by vCPU 0 through the VMM's exit table. */
static void guest_pio(struct vm *vm, uint16_t port, bool write, unsigned size, uint8_t *data)
{
	struct vcpu *v = &vm->vcpus[0];
	struct kvm_run *run = vcpu_run(v);
	uint8_t *buf = (uint8_t *)run + 0x1000;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = write ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	run->io.size = (uint8_t)size;
	run->io.port = port;
	run->io.count = 1;
	run->io.data_offset = 0x1000;
	if (write)
		memcpy(buf, data, size);
	assert_int_equal(exits_dispatch(v), EXIT_CONTINUE);
	if (!write)
		memcpy(data, buf, size);
}

static uint32_t guest_dma(struct vm *vm, uint8_t *shared, uint64_t desc, uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t b[4];
	cp_put_be32(shared + desc, control);
	cp_put_be32(shared + desc + 4, len);
	cp_put_be64(shared + desc + 8, addr);
	cp_put_be32(b, 0);
	guest_pio(vm, 0x514, true, 4, b);
	cp_put_be32(b, (uint32_t)desc);
	guest_pio(vm, 0x518, true, 4, b);
	return cp_be32(shared + desc);
}

/* What the firmware fetches through fw_cfg is exactly what the launch measured: setup + kernel
 * from fw_cfg hash to the kernel hash in the measured page; DMA reaches shared RAM only. */
static void test_fw_cfg_serves_the_measured_kernel(void **state)
{
	static uint8_t bz[12288], back[sizeof(bz)];
	uint8_t *fw, h[32], b[4];
	size_t fw_len;
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg;
	struct cc_vm cvm;
	struct vm_config vc;
	struct vm *vm = NULL;
	struct cp_err err = { 0 };

	for (size_t i = 0; i < sizeof(bz); i++)
		bz[i] = (uint8_t)(i * 31 + 7);
	bz[0x1f1] = 0; /* setup_sects 0 means 4: 2560 bytes of setup */
	memcpy(bz + 0x202, "HdrS", 4);
	fw = vector_read(vdir, "sev-snp-measure/ovmf_AmdSev_suffix.bin", &fw_len);
	assert_non_null(fw);
	cfg = snp_cfg(fw, fw_len, 1);
	cfg.kernel = bz;
	cfg.kernel_len = sizeof(bz);
	cfg.cmdline = "console=ttyS0";
	assert_true(cc_launch(&kd_ops, kd, &cfg, &cvm, &err) >= 0);
	memset(&vc, 0, sizeof(vc));
	vc.console_out_fd = vc.console_in_fd = -1;
	assert_int_equal(vm_adopt_cc(&cvm, &vc, &vm, &err), 0);
	assert_non_null(vm->fw_cfg);

	cp_put_le16(b, FW_CFG_SIGNATURE);
	guest_pio(vm, 0x510, true, 2, b);
	for (int i = 0; i < 4; i++)
		guest_pio(vm, 0x511, false, 1, b + i);
	assert_memory_equal(b, "QEMU", 4);

	/* The guest shares a bounce buffer, then fetches setup and kernel by DMA. */
	assert_int_equal(cc_mem_convert(&cvm, 0x300000, 0x10000, false, &err), 0);
	assert_int_equal(guest_dma(vm, cvm.shared, 0x300000, FW_CFG_SETUP_DATA << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
				   2560, 0x301000), 0);
	assert_int_equal(guest_dma(vm, cvm.shared, 0x300000, FW_CFG_KERNEL_DATA << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
				   sizeof(bz) - 2560, 0x301000 + 2560), 0);
	memcpy(back, cvm.shared + 0x301000, sizeof(bz));
	assert_memory_equal(back, bz, sizeof(bz));
	assert_int_equal(memenc_sha256(back, sizeof(back), h, &err), 0);
	assert_memory_equal(h, cvm.opts.hashes.kernel, 32); /* the hash the launch measured */

	/* DMA into a private page: the error bit, and nothing lands in its shared copy. */
	assert_int_equal(guest_dma(vm, cvm.shared, 0x300000, FW_CFG_KERNEL_DATA << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
				   64, 0x400000), FW_CFG_DMA_ERROR);
	for (int i = 0; i < 64; i++)
		assert_int_equal(cvm.shared[0x400000 + i], 0);
	/* A descriptor in private memory is not even read. */
	assert_int_equal(vm->fw_cfg->dma_errors, 1);

	vm_destroy(vm);
	cc_vm_release(&cvm);
	kd_free(kd);
	free(fw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_launches_match_sev_snp_measure),
		cmocka_unit_test(test_cmdline_changes_the_digest),
		cmocka_unit_test(test_initrd_without_kernel_refused),
		cmocka_unit_test(test_fw_cfg_serves_the_measured_kernel),
	};
	vdir = vectors_dir_or_skip("sev-snp-measure/expected.txt");
	return cmocka_run_group_tests_name("cc-direct-boot", tests, NULL, NULL);
}
