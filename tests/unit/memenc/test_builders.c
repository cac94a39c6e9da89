/* Unit tests for the pure builders the runner reuses: VMSA pages, vCPU signatures, the SEV
 * hashes table/page, and the SNP ID block (signatures checked with OpenSSL's verifier). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "common/util.h"
#include "memenc/hash.h"
#include "memenc/id_block.h"
#include "memenc/sev_hashes.h"
#include "memenc/vmsa.h"

static void test_cpu_sig(void **state)
{
	uint32_t sig;
	struct cp_err err = { 0 };

	/* measurement-and-evidence.md: EPYC-v4 is 0x800F12. */
	assert_int_equal(memenc_cpu_sig_by_name("EPYC-v4", &sig, &err), 0);
	assert_int_equal(sig, 0x800f12);
	assert_int_equal(memenc_cpu_sig_by_name("EPYC-Milan", &sig, &err), 0);
	assert_int_equal(sig, 0xa00f11);
	assert_int_equal(memenc_cpu_sig_by_name("EPYC-Genoa", &sig, &err), 0);
	assert_int_equal(sig, 0xa10f10);
	assert_int_equal(memenc_cpu_sig_by_name("EPYC-Turin", &sig, &err), 0);
	assert_int_equal(sig, 0xb00f00);
	assert_int_equal(memenc_cpu_sig(23, 49, 0), 0x830f10);
	assert_int_equal(memenc_cpu_sig(6, 0x55, 4), 0x50654); /* family <= 15: no extended family */
	assert_int_equal(memenc_cpu_sig_by_name("Skylake", &sig, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "unknown vCPU type 'Skylake'"));
	for (size_t i = 0; memenc_cpu_names[i]; i++)
		assert_int_equal(memenc_cpu_sig_by_name(memenc_cpu_names[i], &sig, &err), 0);
}

static void test_vmm_type(void **state)
{
	enum memenc_vmm_type t;
	struct cp_err err = { 0 };

	assert_int_equal(memenc_vmm_type_parse("QEMU", &t, &err), 0);
	assert_int_equal(t, MEMENC_VMM_QEMU);
	assert_int_equal(memenc_vmm_type_parse("ec2", &t, &err), 0);
	assert_int_equal(t, MEMENC_VMM_EC2);
	assert_int_equal(memenc_vmm_type_parse("gce", &t, &err), 0);
	assert_int_equal(memenc_vmm_type_parse("xen", &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown VMM type 'xen'"));
}

static void test_vmsa_layout(void **state)
{
	struct memenc_vmsa_params p = { .eip = MEMENC_VMSA_BSP_EIP, .sev_features = 0x21, .vcpu_sig = 0x800f12,
					.vmm = MEMENC_VMM_QEMU };
	uint8_t page[4096];

	memenc_vmsa_build(&p, page);
	/* cs {0xf000, 0x9b, 0xffff, eip & 0xffff0000} */
	assert_int_equal(cp_le16(page + 0x10), 0xf000);
	assert_int_equal(cp_le16(page + 0x12), 0x9b);
	assert_int_equal(cp_le32(page + 0x14), 0xffff);
	assert_true(cp_le64(page + 0x18) == 0xffff0000u);
	assert_int_equal(cp_le16(page + 0x72), 0x82); /* ldtr */
	assert_int_equal(cp_le16(page + 0x92), 0x8b); /* tr */
	assert_true(cp_le64(page + 0xd0) == 0x1000);
	assert_true(cp_le64(page + 0x148) == 0x40);
	assert_true(cp_le64(page + 0x158) == 0x10);
	assert_true(cp_le64(page + 0x160) == 0x400);
	assert_true(cp_le64(page + 0x168) == 0xffff0ff0);
	assert_true(cp_le64(page + 0x170) == 2);
	assert_true(cp_le64(page + 0x178) == 0xfff0);
	assert_true(cp_le64(page + 0x268) == 0x0007040600070406ull);
	assert_true(cp_le64(page + 0x310) == 0x800f12);
	assert_true(cp_le64(page + 0x3b0) == 0x21);
	assert_true(cp_le64(page + 0x3e8) == 1);
	assert_int_equal(cp_le32(page + 0x408), 0x1f80);
	assert_int_equal(cp_le16(page + 0x410), 0x37f);
	for (size_t i = 0x418; i < 4096; i++)
		assert_int_equal(page[i], 0);

	/* EC2: BSP cs attribute 0x9a, ss 0x92, tr 0x83, RDX 0x600, no MXCSR/FCW */
	p.vmm = MEMENC_VMM_EC2;
	memenc_vmsa_build(&p, page);
	assert_int_equal(cp_le16(page + 0x12), 0x9a);
	assert_int_equal(cp_le16(page + 0x22), 0x92);
	assert_int_equal(cp_le16(page + 0x92), 0x83);
	assert_true(cp_le64(page + 0x310) == 0x600);
	assert_int_equal(cp_le32(page + 0x408), 0);
	/* an EC2 AP keeps 0x9b and its reset block segment */
	p.eip = 0xffffb004u;
	memenc_vmsa_build(&p, page);
	assert_int_equal(cp_le16(page + 0x12), 0x9b);
	assert_true(cp_le64(page + 0x18) == 0xffff0000u);
	assert_true(cp_le64(page + 0x178) == 0xb004);
	/* GCE: its own PAT */
	p.vmm = MEMENC_VMM_GCE;
	memenc_vmsa_build(&p, page);
	assert_true(cp_le64(page + 0x268) == 0x00070106ull);
	assert_true(cp_le64(page + 0x310) == 0x600);
}

static void test_sev_hashes(void **state)
{
	struct memenc_sev_hashes h;
	struct cp_err err = { 0 };
	uint8_t table[MEMENC_SEV_HASHES_TABLE_LEN], page[4096], empty[32], cmd[32];

	assert_int_equal(memenc_sev_hashes_compute((const uint8_t *)"K", 1, NULL, 0, "quiet", &h, &err), 0);
	memenc_sha256("", 0, empty, &err);
	memenc_sha256("quiet", 6, cmd, &err); /* with the NUL */
	assert_memory_equal(h.initrd, empty, 32);
	assert_memory_equal(h.cmdline, cmd, 32);
	memenc_sev_hashes_table(&h, table);
	/* header GUID 9438d606-... little-endian, u16 168 */
	assert_int_equal(cp_le32(table), 0x9438d606u);
	assert_int_equal(cp_le16(table + 16), 168);
	/* entries: cmdline, initrd, kernel, each u16 50 */
	assert_int_equal(cp_le32(table + 18), 0x97d02dd8u);
	assert_int_equal(cp_le16(table + 18 + 16), 50);
	assert_memory_equal(table + 18 + 18, cmd, 32);
	assert_int_equal(cp_le32(table + 68), 0x44baf731u);
	assert_int_equal(cp_le32(table + 118), 0x4de79437u);
	assert_memory_equal(table + 118 + 18, h.kernel, 32);
	for (size_t i = 168; i < sizeof(table); i++)
		assert_int_equal(table[i], 0);
	assert_int_equal(memenc_sev_hashes_page(&h, 0xc00, page, &err), 0);
	assert_memory_equal(page + 0xc00, table, sizeof(table));
	assert_int_equal(page[0xbff], 0);
	assert_int_equal(memenc_sev_hashes_page(&h, 4096 - 175, page, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "cross the page end"));
	/* no command line hashes "\0" */
	assert_int_equal(memenc_sev_hashes_compute((const uint8_t *)"K", 1, NULL, 0, NULL, &h, &err), 0);
	memenc_sha256("", 1, cmd, &err);
	assert_memory_equal(h.cmdline, cmd, 32);
}

static uint8_t *pem_of(EVP_PKEY *k, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	uint8_t *out;
	long n;

	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &p);
	out = malloc((size_t)n);
	memcpy(out, p, (size_t)n);
	*len = (size_t)n;
	BIO_free(b);
	return out;
}

/* Check an SNP-format signature (R, S little-endian 72 bytes) with OpenSSL's ECDSA verifier. */
static bool snp_verify(EVP_PKEY *k, const uint8_t *msg, size_t len, const uint8_t *sig)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	unsigned char *der = NULL;
	int der_len, ok;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	ECDSA_SIG_set0(s, BN_lebin2bn(sig, 72, NULL), BN_lebin2bn(sig + 72, 72, NULL));
	der_len = i2d_ECDSA_SIG(s, &der);
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, k) == 1 &&
	     EVP_DigestVerify(ctx, der, (size_t)der_len, msg, len) == 1;
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(ctx);
	return ok;
}

static void test_id_block(void **state)
{
	EVP_PKEY *id_gen = EVP_EC_gen("P-384"), *au_gen = EVP_EC_gen("P-384"), *p256 = EVP_EC_gen("P-256");
	EVP_PKEY *id = NULL, *au = NULL, *bad = NULL;
	struct memenc_id_block_params p = { .policy = MEMENC_SNP_POLICY_DEFAULT, .guest_svn = 7 };
	uint8_t block[96], auth[4096], idd[48], ad[48], pub[0x404], d[48];
	struct cp_err err = { 0 };
	size_t len;
	uint8_t *pem;

	memset(p.launch_digest, 0xab, 48);
	memset(p.family_id, 0x01, 16);
	pem = pem_of(id_gen, &len);
	assert_int_equal(memenc_id_key_load(pem, len, &id, &err), 0);
	free(pem);
	pem = pem_of(au_gen, &len);
	assert_int_equal(memenc_id_key_load(pem, len, &au, &err), 0);
	free(pem);
	pem = pem_of(p256, &len);
	assert_int_equal(memenc_id_key_load(pem, len, &bad, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "only ECDSA P-384"));
	free(pem);
	cp_err_clear(&err);
	assert_int_equal(memenc_id_key_load((const uint8_t *)"junk", 4, &bad, &err), -EINVAL);
	cp_err_clear(&err);

	assert_int_equal(memenc_id_block_build(&p, id, au, block, auth, idd, ad, &err), 0);
	assert_memory_equal(block, p.launch_digest, 48);
	assert_int_equal(cp_le32(block + 80), 1);
	assert_int_equal(cp_le32(block + 84), 7);
	assert_true(cp_le64(block + 88) == 0x30000);
	assert_int_equal(cp_le32(auth), 1);
	assert_int_equal(cp_le32(auth + 4), 1);
	assert_true(snp_verify(id_gen, block, 96, auth + 0x40));
	assert_true(snp_verify(au_gen, auth + 0x240, 0x404, auth + 0x680));
	block[0] ^= 1;
	assert_false(snp_verify(id_gen, block, 96, auth + 0x40));
	/* public key structure: curve 2, Qx/Qy little-endian; digest = SHA-384 of it */
	assert_int_equal(memenc_snp_pubkey_marshal(id_gen, pub, &err), 0);
	assert_int_equal(cp_le32(pub), 2);
	assert_memory_equal(auth + 0x240, pub, 0x404);
	memenc_sha384(pub, sizeof(pub), d, &err);
	assert_memory_equal(idd, d, 48);
	assert_int_equal(memenc_snp_key_digest(au_gen, d, &err), 0);
	assert_memory_equal(ad, d, 48);
	{
		BIGNUM *x = NULL;
		uint8_t be[48];
		EVP_PKEY_get_bn_param(id_gen, "qx", &x);
		BN_bn2binpad(x, be, 48);
		for (int i = 0; i < 48; i++)
			assert_int_equal(pub[4 + i], be[47 - i]);
		BN_free(x);
	}
	/* without an author key: author fields stay zero */
	assert_int_equal(memenc_id_block_build(&p, id, NULL, block, auth, idd, ad, &err), 0);
	assert_int_equal(cp_le32(auth + 4), 0);
	assert_memory_equal(ad, (uint8_t[48]){ 0 }, 48);
	EVP_PKEY_free(id);
	EVP_PKEY_free(au);
	EVP_PKEY_free(id_gen);
	EVP_PKEY_free(au_gen);
	EVP_PKEY_free(p256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_sig), cmocka_unit_test(test_vmm_type), cmocka_unit_test(test_vmsa_layout),
		cmocka_unit_test(test_sev_hashes), cmocka_unit_test(test_id_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
