/* Debian's OVMF.fd (package ovmf 2022.11, carries ASEV and TDVF metadata) in every mode.
 * Values for the file whose SHA-256 is DEBIAN_OVMF_SHA256 were printed by virtee/sev-snp-measure
 * @ 8f2b337 run from its source tree on that file (an independent implementation); for any other
 * build only structure, stability and sanity are checked. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "common/util.h"
#include "memenc/hash.h"
#include "memenc/plan.h"

#define DEBIAN_OVMF_SHA256 "7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773"

static uint8_t *fw;
static size_t fw_len;
static bool known_build;

struct ref {
	struct memenc_launch_opts o;
	const char *digest; /* sev-snp-measure's output for the known build */
};

static const struct ref refs[] = {
	{ { .platform = MEMENC_PLATFORM_SNP, .vcpus = 1, .vcpu_sig = 0x800f12, .guest_features = 1 },
	  "11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3" },
	{ { .platform = MEMENC_PLATFORM_SNP, .vcpus = 4, .vcpu_sig = 0xa00f11, .guest_features = 0x21 },
	  "968824524f03c9ab191fbb02ac50d286a4aa1b5922ed74a422a806ce376a9e589d16c8dd8202c256834c0d4013e2584b" },
	{ { .platform = MEMENC_PLATFORM_SNP, .vcpus = 2, .vcpu_sig = 0xa10f10, .guest_features = 1,
	    .vmm = MEMENC_VMM_EC2 },
	  "7f6fef705ba886215518820a96b21feaa2f874814889d8b5a776b1abf0058c913ca457043ab5a3092f35847c3078c93c" },
	{ { .platform = MEMENC_PLATFORM_SNP, .vcpus = 1, .guest_features = 1, .vmm = MEMENC_VMM_GCE },
	  "6c5ed8d7d566801c36cf93c1e735e111d212d71892755cc9967a50c67f72e387909cfd3a3961b10d2799f7779f3beac6" },
	{ { .platform = MEMENC_PLATFORM_SEV_ES, .vcpus = 2, .vcpu_sig = 0x800f12 },
	  "5b1d28d8e8b3c2c9939d39bf18a7f05b16935279425c1c1e1ab19109acca9ffd" },
	{ { .platform = MEMENC_PLATFORM_SEV }, DEBIAN_OVMF_SHA256 },
};

static int measure(const struct memenc_launch_opts *o, uint8_t out[48], size_t *n, struct memenc_plan *keep)
{
	struct memenc_plan plan;
	struct cp_err err = { 0 };
	int r = memenc_plan_build(&plan, fw, fw_len, o, &err);

	if (r == 0)
		r = memenc_plan_measure(&plan, out, n, NULL, NULL, &err);
	if (r < 0)
		print_error("%s\n", err.msg);
	if (r == 0 && keep)
		*keep = plan;
	else if (r == 0)
		memenc_plan_free(&plan);
	return r;
}

static void test_sev_family_modes(void **state)
{
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		uint8_t a[48], b[48];
		size_t n;
		char hex[97];

		assert_int_equal(measure(&refs[i].o, a, &n, NULL), 0);
		assert_int_equal(measure(&refs[i].o, b, &n, NULL), 0);
		assert_memory_equal(a, b, n); /* stable */
		cp_hex_encode(a, n, hex);
		if (known_build && strcmp(hex, refs[i].digest) != 0)
			fail_msg("case %zu: got %s, sev-snp-measure printed %s", i, hex, refs[i].digest);
		/* sane: not all zero, differs from every other case */
		assert_memory_not_equal(a, (uint8_t[48]){ 0 }, n);
		for (size_t j = 0; j < i; j++) {
			uint8_t c[48];
			size_t m;
			assert_int_equal(measure(&refs[j].o, c, &m, NULL), 0);
			assert_false(m == n && memcmp(a, c, n) == 0);
		}
	}
}

static void test_snp_sections_match_reference(void **state)
{
	/* measurement-and-evidence.md: Debian 12's OVMF.fd SNP sections. */
	static const uint32_t expect[][3] = {
		{ 0x800000, 0x9000, 1 }, { 0x80a000, 0x3000, 1 }, { 0x80d000, 0x1000, 2 },
		{ 0x80e000, 0x1000, 3 }, { 0x80f000, 0x11000, 1 },
	};
	struct memenc_plan plan;
	uint8_t out[48];
	size_t n;

	assert_int_equal(measure(&refs[0].o, out, &n, &plan), 0);
	assert_true(plan.sev.present);
	assert_int_equal(plan.sev.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(plan.sev.s[i].gpa, expect[i][0]);
		assert_int_equal(plan.sev.s[i].size, expect[i][1]);
		assert_int_equal(plan.sev.s[i].type, expect[i][2]);
	}
	/* plan order: firmware, then sections in table order, then one VMSA per vCPU */
	assert_int_equal(plan.n, 1 + 5 + 1);
	assert_int_equal(plan.ops[0].type, MEMENC_OP_SNP_NORMAL);
	assert_true(plan.ops[0].gpa == 0x100000000ull - fw_len);
	assert_int_equal(plan.ops[1].type, MEMENC_OP_SNP_ZERO);
	assert_int_equal(plan.ops[3].type, MEMENC_OP_SNP_SECRETS);
	assert_int_equal(plan.ops[4].type, MEMENC_OP_SNP_CPUID);
	assert_int_equal(plan.ops[6].type, MEMENC_OP_SNP_VMSA);
	assert_true(plan.ops[6].gpa == MEMENC_SNP_VMSA_GPA);
	memenc_plan_free(&plan);
	/* no kernel-hashes section in this build: a kernel is refused */
	{
		struct memenc_launch_opts o = refs[0].o;
		struct cp_err err = { 0 };
		o.kernel = true;
		assert_true(memenc_plan_build(&plan, fw, fw_len, &o, &err) < 0);
		assert_non_null(strstr(err.msg, "SNP_KERNEL_HASHES"));
	}
}

static void test_tdx_mrtd(void **state)
{
	struct memenc_launch_opts o = { .platform = MEMENC_PLATFORM_TDX };
	struct memenc_plan plan;
	uint8_t a[48], b[48];
	size_t n, extend_pages = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_int_equal(measure(&o, a, &n, &plan), 0);
	assert_int_equal(n, 48);
	assert_true(plan.tdvf.present);
	assert_true(plan.tdvf.n >= 2);
	/* BFV: the code volume, measured (MR_EXTEND), ends at 4 GiB */
	assert_int_equal(plan.tdvf.s[0].type, 0);
	assert_true(plan.tdvf.s[0].attributes & 1);
	assert_true(plan.tdvf.s[0].gpa + plan.tdvf.s[0].mem_size == 0x100000000ull);
	/* Recompute from the section list the straightforward way, two passes forbidden: per page
	 * PAGE.ADD then its 16 MR.EXTENDs; the plan must give the same stream. */
	assert_int_equal(EVP_DigestInit_ex2(ctx, EVP_sha384(), NULL), 1);
	for (size_t i = 0; i < plan.tdvf.n; i++) {
		const struct memenc_tdvf_section *s = &plan.tdvf.s[i];
		for (uint64_t off = 0; off < s->mem_size; off += 4096) {
			uint8_t rec[128] = { 0 };
			memcpy(rec, "MEM.PAGE.ADD", 12);
			cp_put_le64(rec + 16, s->gpa + off);
			EVP_DigestUpdate(ctx, rec, 128);
			if (!(s->attributes & 1))
				continue;
			extend_pages++;
			for (int c = 0; c < 16; c++) {
				memset(rec, 0, 128);
				memcpy(rec, "MR.EXTEND", 9);
				cp_put_le64(rec + 16, s->gpa + off + 256 * (uint64_t)c);
				EVP_DigestUpdate(ctx, rec, 128);
				EVP_DigestUpdate(ctx, fw + s->data_offset + off + 256 * (uint64_t)c, 256);
			}
		}
	}
	assert_int_equal(EVP_DigestFinal_ex(ctx, b, NULL), 1);
	EVP_MD_CTX_free(ctx);
	assert_true(extend_pages > 0);
	assert_memory_equal(a, b, 48);
	memenc_plan_free(&plan);
	assert_int_equal(measure(&o, b, &n, NULL), 0);
	assert_memory_equal(a, b, 48); /* stable */
}

static void test_snp_ovmf_hash_seed(void **state)
{
	/* sev-snp-measure --mode snp:ovmf-hash printed this for the known build; seeding the walk
	 * with it must give the full digest. */
	static const char *const fw_only =
		"ba2c811512ef868474f239a21f7d7057d65a20de87a003c4f116e4fb1573183bfbcd75c3e99b2f558575a5d0094f73c6";
	struct memenc_plan plan;
	struct cp_err err = { 0 };
	uint8_t seed[48], full[48], out[48];
	size_t n;

	assert_int_equal(memenc_plan_build(&plan, fw, fw_len, &refs[0].o, &err), 0);
	assert_int_equal(memenc_plan_measure(&plan, full, &n, NULL, NULL, &err), 0);
	plan.n = 1;
	assert_int_equal(memenc_plan_measure(&plan, seed, &n, NULL, NULL, &err), 0);
	if (known_build) {
		uint8_t ref[48];
		assert_int_equal(cp_hex_decode(fw_only, ref, 48, &err), 0);
		assert_memory_equal(seed, ref, 48);
	}
	memenc_plan_free(&plan);
	assert_int_equal(memenc_plan_build(&plan, fw, fw_len, &refs[0].o, &err), 0);
	assert_int_equal(memenc_plan_measure_snp_from(&plan, seed, out, NULL, NULL, &err), 0);
	assert_memory_equal(out, full, 48);
	memenc_plan_free(&plan);
}

int main(void)
{
	const char *path = getenv("CARAPACE_OVMF") ? getenv("CARAPACE_OVMF") : "/usr/share/ovmf/OVMF.fd";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sev_family_modes), cmocka_unit_test(test_snp_sections_match_reference),
		cmocka_unit_test(test_tdx_mrtd), cmocka_unit_test(test_snp_ovmf_hash_seed),
	};
	struct cp_err err = { 0 };
	uint8_t sum[32];
	char hex[65];
	int r;

	if (cp_file_read(path, 64u << 20, &fw, &fw_len, &err) < 0) {
		printf("SKIP: %s (install Debian's ovmf package or set CARAPACE_OVMF)\n", err.msg);
		return 77;
	}
	memenc_sha256(fw, fw_len, sum, &err);
	cp_hex_encode(sum, 32, hex);
	known_build = strcmp(hex, DEBIAN_OVMF_SHA256) == 0;
	if (!known_build)
		printf("note: %s is not the build the reference values were taken from (sha256 %s); checking "
		       "structure and stability only\n", path, hex);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	free(fw);
	return r;
}
