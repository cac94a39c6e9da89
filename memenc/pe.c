/* PE/COFF Authenticode digest. Offsets follow the PE format specification: e_lfanew at 0x3c,
 * "PE\0\0", COFF header (NumberOfSections @2, SizeOfOptionalHeader @16), optional header
 * (magic 0x10b PE32 / 0x20b PE32+, CheckSum @64, SizeOfHeaders @60, NumberOfRvaAndSizes @92/108,
 * data directories @96/112, entry 4 = certificate table {file offset, size}). */
#include "memenc/pe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct pe_section {
	uint32_t ptr, size;
};

static int cmp_section(const void *a, const void *b)
{
	const struct pe_section *x = a, *y = b;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

static bool in(size_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

int memenc_pe_authenticode(const uint8_t *img, size_t len, const EVP_MD *md, uint8_t *out,
			   struct cp_err *err)
{
	struct pe_section sec[MEMENC_PE_MAX_SECTIONS];
	uint32_t lfanew, size_of_headers, nrva, cert_size = 0;
	uint16_t nsec, opt_size, magic;
	size_t coff, opt, checksum, secdir, table, hashed;
	EVP_MD_CTX *ctx;
	size_t n = 0;
	int r = 0;

	if (len < 0x40 || img[0] != 'M' || img[1] != 'Z')
		return cp_err_set(err, EINVAL, "kernel: not a PE image (no MZ header at offset 0)");
	lfanew = cp_le32(img + 0x3c);
	if (!in(len, lfanew, 24) || memcmp(img + lfanew, "PE\0\0", 4) != 0)
		return cp_err_set(err, EINVAL, "kernel: offset 0x3c: e_lfanew 0x%x does not point at a PE signature "
				  "(a bzImage without the EFI stub cannot be measured by UEFI)", lfanew);
	coff = lfanew + 4;
	nsec = cp_le16(img + coff + 2);
	opt_size = cp_le16(img + coff + 16);
	opt = coff + 20;
	if (nsec > MEMENC_PE_MAX_SECTIONS)
		return cp_err_set(err, EINVAL, "kernel: offset 0x%zx: %u sections, at most %d", coff + 2, nsec,
				  MEMENC_PE_MAX_SECTIONS);
	if (!in(len, opt, opt_size) || opt_size < 2)
		return cp_err_set(err, EINVAL, "kernel: offset 0x%zx: optional header of %u bytes runs past the image",
				  coff + 16, opt_size);
	magic = cp_le16(img + opt);
	if (magic != 0x10b && magic != 0x20b)
		return cp_err_set(err, EINVAL, "kernel: offset 0x%zx: optional header magic 0x%x (PE32 0x10b or "
				  "PE32+ 0x20b expected)", opt, magic);
	if (opt_size < (magic == 0x20b ? 112 : 96))
		return cp_err_set(err, EINVAL, "kernel: offset 0x%zx: optional header of %u bytes is too short",
				  coff + 16, opt_size);
	checksum = opt + 64;
	size_of_headers = cp_le32(img + opt + 60);
	nrva = cp_le32(img + opt + (magic == 0x20b ? 108 : 92));
	secdir = opt + (magic == 0x20b ? 112 : 96) + 4 * 8;
	if (size_of_headers > len || size_of_headers < checksum + 4)
		return cp_err_set(err, EINVAL, "kernel: offset 0x%zx: SizeOfHeaders 0x%x outside 0x%zx..0x%zx",
				  opt + 60, size_of_headers, checksum + 4, len);
	if (nrva > 4) {
		if (secdir + 8 > opt + opt_size || size_of_headers < secdir + 8)
			return cp_err_set(err, EINVAL, "kernel: offset 0x%zx: certificate table directory outside the "
					  "headers", secdir);
		cert_size = cp_le32(img + secdir + 4);
	}
	table = opt + opt_size;
	if (!in(len, table, (uint64_t)nsec * 40))
		return cp_err_set(err, EINVAL, "kernel: offset 0x%zx: section table of %u entries runs past the image",
				  table, nsec);
	hashed = size_of_headers;
	for (uint16_t i = 0; i < nsec; i++) {
		uint32_t size = cp_le32(img + table + 40 * (size_t)i + 16), ptr = cp_le32(img + table + 40 * (size_t)i + 20);
		if (size == 0)
			continue;
		if (!in(len, ptr, size))
			return cp_err_set(err, EINVAL, "kernel: section %u (header at 0x%zx): raw data 0x%x+0x%x runs past "
					  "the image", i, table + 40 * (size_t)i, ptr, size);
		sec[n].ptr = ptr;
		sec[n].size = size;
		n++;
		hashed += size;
	}
	/* edk2 sorts with a stable insertion sort; equal offsets in one image would be malformed. */
	qsort(sec, n, sizeof(sec[0]), cmp_section);
	if (len > hashed && len - hashed < cert_size)
		return cp_err_set(err, EINVAL, "kernel: certificate table of 0x%x bytes exceeds the 0x%zx trailing "
				  "bytes", cert_size, len - hashed);
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex2(ctx, md, NULL) != 1)
		r = cp_err_set(err, ENOMEM, "kernel: digest context");
	else {
		int ok = EVP_DigestUpdate(ctx, img, checksum);
		if (nrva > 4) {
			ok &= EVP_DigestUpdate(ctx, img + checksum + 4, secdir - checksum - 4);
			ok &= EVP_DigestUpdate(ctx, img + secdir + 8, size_of_headers - secdir - 8);
		} else {
			ok &= EVP_DigestUpdate(ctx, img + checksum + 4, size_of_headers - checksum - 4);
		}
		for (size_t i = 0; i < n; i++)
			ok &= EVP_DigestUpdate(ctx, img + sec[i].ptr, sec[i].size);
		if (len > hashed)
			ok &= EVP_DigestUpdate(ctx, img + hashed, len - hashed - cert_size);
		if (!ok || EVP_DigestFinal_ex(ctx, out, NULL) != 1)
			r = cp_err_set(err, EIO, "kernel: OpenSSL digest failed");
	}
	EVP_MD_CTX_free(ctx);
	return r;
}
