/* Test helper: a small synthetic PE32+ image (3 sections, 16 data directories, trailing
 * data), so the Authenticode reader's paths can be reached without a real kernel. */
#ifndef CARAPACE_TEST_MEMENC_PEIMG_H
#define CARAPACE_TEST_MEMENC_PEIMG_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define PEIMG_LFANEW 0x80u
#define PEIMG_OPT (PEIMG_LFANEW + 24u)
#define PEIMG_OPT_SIZE 240u
#define PEIMG_SECTAB (PEIMG_OPT + PEIMG_OPT_SIZE)
#define PEIMG_HEADERS 0x400u
#define PEIMG_LEN (PEIMG_HEADERS + 3 * 0x200u + 0x30u)

/* len = PEIMG_LEN: headers, sections at 0x400 (listed last), 0x600, 0x800, then 0x30 bytes of
 * trailing data. */
static inline uint8_t *peimg_build(size_t *len)
{
	uint8_t *p = calloc(1, PEIMG_LEN), *o = p + PEIMG_OPT;
	static const uint32_t ptrs[3] = { 0x800, 0x400, 0x600 };

	p[0] = 'M';
	p[1] = 'Z';
	cp_put_le32(p + 0x3c, PEIMG_LFANEW);
	memcpy(p + PEIMG_LFANEW, "PE\0\0", 4);
	cp_put_le16(p + PEIMG_LFANEW + 4, 0x8664);         /* machine x86-64 */
	cp_put_le16(p + PEIMG_LFANEW + 6, 3);              /* sections */
	cp_put_le16(p + PEIMG_LFANEW + 20, PEIMG_OPT_SIZE); /* optional header size */
	cp_put_le16(p + PEIMG_LFANEW + 22, 0x22);          /* characteristics: executable, large address */
	cp_put_le16(o, 0x20b);
	cp_put_le32(o + 16, 0x1000);       /* entry point */
	cp_put_le64(o + 24, 0x140000000ull); /* image base */
	cp_put_le32(o + 32, 0x1000);       /* section alignment */
	cp_put_le32(o + 36, 0x200);        /* file alignment */
	cp_put_le16(o + 48, 6);            /* subsystem version */
	cp_put_le32(o + 56, 0x4000);       /* size of image */
	cp_put_le32(o + 60, PEIMG_HEADERS); /* size of headers */
	cp_put_le32(o + 64, 0x12345678);   /* checksum: excluded from the digest */
	cp_put_le16(o + 68, 10);           /* subsystem EFI application */
	cp_put_le32(o + 108, 16);          /* NumberOfRvaAndSizes */
	for (int i = 0; i < 3; i++) {
		uint8_t *s = p + PEIMG_SECTAB + 40 * i;
		memcpy(s, i == 0 ? ".data" : i == 1 ? ".text" : ".rdata", 6);
		cp_put_le32(s + 8, 0x200);                 /* virtual size */
		cp_put_le32(s + 12, 0x1000 * (uint32_t)(i + 1)); /* virtual address */
		cp_put_le32(s + 16, 0x200);                /* raw size */
		cp_put_le32(s + 20, ptrs[i]);              /* raw pointer */
		cp_put_le32(s + 36, 0x60000020);
		for (int k = 0; k < 0x200; k++)
			p[ptrs[i] + k] = (uint8_t)(k * (i + 3) + i);
	}
	for (int k = 0; k < 0x30; k++)
		p[PEIMG_HEADERS + 0x600 + k] = (uint8_t)(0xa0 + k);
	*len = PEIMG_LEN;
	return p;
}

#endif
