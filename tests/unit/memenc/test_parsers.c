/* Unit tests for every error path of memenc's readers: the OVMF footer table, ASEV, TDVF, the
 * launch-plan builder and the CCEL event log, on synthetic inputs (one field changed per case). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "memenc/ccel.h"
#include "memenc/plan.h"
#include "fwimg.h"
#include "memenc/hash.h"
#include "memenc/pe.h"
#include "memenc/tdx_boot.h"
#include "peimg.h"

#define ASEV_SEC(i) (FWIMG_ASEV_OFF + 16 + 12 * (i))
#define TDVF_SEC(i) (FWIMG_TDVF_OFF + 16 + 32 * (i))

struct fw_case {
	const char *name;
	enum memenc_platform platform;
	const char *expect; /* substring of the error message */
};

/* Each case index changes one thing in the default image. */
static const struct fw_case fw_cases[] = {
	/* 0 */ { "no footer GUID", MEMENC_PLATFORM_SNP, "not an OVMF image" },
	/* 1 */ { "footer size < 18", MEMENC_PLATFORM_SNP, "footer table size 2" },
	/* 2 */ { "footer size beyond image", MEMENC_PLATFORM_SNP, "footer table size 65535" },
	/* 3 */ { "entry size < 18", MEMENC_PLATFORM_SNP, "has size 3" },
	/* 4 */ { "stray bytes", MEMENC_PLATFORM_SNP, "stray bytes" },
	/* 5 */ { "duplicate GUID", MEMENC_PLATFORM_SNP, "repeats a GUID" },
	/* 6 */ { "ASEV pointer outside", MEMENC_PLATFORM_SNP, "points outside" },
	/* 7 */ { "ASEV signature", MEMENC_PLATFORM_SNP, "not 'ASEV'" },
	/* 8 */ { "ASEV version", MEMENC_PLATFORM_SNP, "version 2" },
	/* 9 */ { "ASEV count", MEMENC_PLATFORM_SNP, "65 sections" },
	/* 10 */ { "ASEV size mismatch", MEMENC_PLATFORM_SNP, "size field 99" },
	/* 11 */ { "ASEV truncated", MEMENC_PLATFORM_SNP, "truncated table" },
	/* 12 */ { "ASEV unknown type", MEMENC_PLATFORM_SNP, "unknown type 0x7" },
	/* 13 */ { "ASEV unaligned", MEMENC_PLATFORM_SNP, "not a non-empty whole number" },
	/* 14 */ { "ASEV crosses 4G", MEMENC_PLATFORM_SNP, "crosses 4 GiB" },
	/* 15 */ { "ASEV secrets size", MEMENC_PLATFORM_SNP, "exactly one 4 KiB page" },
	/* 16 */ { "ASEV overlap", MEMENC_PLATFORM_SNP, "overlaps section 0" },
	/* 17 */ { "TDVF GUID", MEMENC_PLATFORM_TDX, "not preceded by GUID" },
	/* 18 */ { "TDVF signature", MEMENC_PLATFORM_TDX, "not 'TDVF'" },
	/* 19 */ { "TDVF version", MEMENC_PLATFORM_TDX, "version 3" },
	/* 20 */ { "TDVF count 0", MEMENC_PLATFORM_TDX, "0 sections" },
	/* 21 */ { "TDVF length", MEMENC_PLATFORM_TDX, "length 17" },
	/* 22 */ { "TDVF unknown type", MEMENC_PLATFORM_TDX, "unknown type 9" },
	/* 23 */ { "TDVF unknown attr", MEMENC_PLATFORM_TDX, "unknown attribute bits 0x4" },
	/* 24 */ { "TDVF extend+aug", MEMENC_PLATFORM_TDX, "MR_EXTEND and PAGE_AUG" },
	/* 25 */ { "TDVF unaligned", MEMENC_PLATFORM_TDX, "not a non-empty whole number" },
	/* 26 */ { "TDVF 52-bit", MEMENC_PLATFORM_TDX, "52-bit" },
	/* 27 */ { "TDVF raw > mem", MEMENC_PLATFORM_TDX, "exceeds MemoryDataSize" },
	/* 28 */ { "TDVF data past image", MEMENC_PLATFORM_TDX, "runs past the" },
	/* 29 */ { "TDVF BFV short", MEMENC_PLATFORM_TDX, "differs from MemoryDataSize" },
	/* 30 */ { "TDVF TEMP_MEM raw", MEMENC_PLATFORM_TDX, "must be 0" },
	/* 31 */ { "TDVF PERM_MEM no AUG", MEMENC_PLATFORM_TDX, "PAGE_AUG" },
	/* 32 */ { "TDVF payload", MEMENC_PLATFORM_TDX, "PAYLOAD is not supported" },
	/* 33 */ { "TDVF two HOBs", MEMENC_PLATFORM_TDX, "second TD_HOB" },
	/* 34 */ { "TDVF overlap", MEMENC_PLATFORM_TDX, "overlaps section" },
	/* 35 */ { "TDVF truncated", MEMENC_PLATFORM_TDX, "truncated table" },
	/* 36 */ { "no ASEV for SNP", MEMENC_PLATFORM_SNP, "no SEV metadata" },
	/* 37 */ { "no TDVF for TDX", MEMENC_PLATFORM_TDX, "no TDX metadata" },
	/* 38 */ { "no reset block", MEMENC_PLATFORM_SNP, "no SEV-ES reset block" },
	/* 39 */ { "reset block too short", MEMENC_PLATFORM_SEV_ES, "holds 2 bytes" },
	/* 40 */ { "HOB measured, none given", MEMENC_PLATFORM_TDX, "depends on the HOB" },
	/* 41 */ { "too many entries", MEMENC_PLATFORM_SEV, "more than 32 entries" },
	/* 42 */ { "ASEV pointer 0 (found by fuzz-memenc-ovmf)", MEMENC_PLATFORM_SNP, "offset-from-end 0x0" },
	/* 43 */ { "TDVF pointer 8", MEMENC_PLATFORM_TDX, "offset-from-end 0x8" },
};

static void mutate(struct fwimg *f, int c)
{
	uint8_t *img = f->img;
	size_t footer = f->len - 50;
	uint8_t *a = img + FWIMG_ASEV_OFF, *t = img + FWIMG_TDVF_OFF;

	switch (c) {
	case 0: img[footer + 2] ^= 1; break;
	case 1: cp_put_le16(img + footer, 2); break;
	case 2: cp_put_le16(img + footer, 0xffff); break;
	case 3: cp_put_le16(img + footer - 18, 3); break; /* the first (last-added) entry */
	case 4: cp_put_le16(img + footer, (uint16_t)(cp_le16(img + footer) + 5)); break;
	case 5: { /* add a copy of the reset block GUID */
		fwimg_entry_u32(f, MEMENC_GUID_SEV_ES_RESET_BLOCK, 1);
		break;
	}
	case 6: { /* the ASEV pointer entry is the 3rd added; rewrite all SEV_METADATA data */
		struct memenc_ovmf_table tab;
		memenc_ovmf_table_parse(img, f->len, &tab, NULL);
		cp_put_le32((uint8_t *)memenc_ovmf_table_find(&tab, MEMENC_GUID_SEV_METADATA)->data, 0x10000000);
		break;
	}
	case 7: a[0] = 'B'; break;
	case 8: cp_put_le32(a + 8, 2); break;
	case 9: cp_put_le32(a + 12, 65); break;
	case 10: cp_put_le32(a + 4, 99); break;
	case 11: { /* move the header into the last 32 bytes with two sections */
		struct memenc_ovmf_table tab;
		uint8_t *h = img + f->len - 32;
		memcpy(h, "ASEV", 4);
		cp_put_le32(h + 4, 40);
		cp_put_le32(h + 8, 1);
		cp_put_le32(h + 12, 2);
		memenc_ovmf_table_parse(img, f->len, &tab, NULL);
		cp_put_le32((uint8_t *)memenc_ovmf_table_find(&tab, MEMENC_GUID_SEV_METADATA)->data, 32);
		break;
	}
	case 12: cp_put_le32(img + ASEV_SEC(1) + 8, 7); break;
	case 13: cp_put_le32(img + ASEV_SEC(0) + 4, 0x9001); break;
	case 14: cp_put_le32(img + ASEV_SEC(0), 0xfffff000); cp_put_le32(img + ASEV_SEC(0) + 4, 0x2000); break;
	case 15: cp_put_le32(img + ASEV_SEC(1) + 4, 0x2000); break;
	case 16: cp_put_le32(img + ASEV_SEC(1), 0x801000); break;
	case 17: t[-1] ^= 1; break;
	case 18: t[0] = 'X'; break;
	case 19: cp_put_le32(t + 8, 3); break;
	case 20: cp_put_le32(t + 12, 0); break;
	case 21: cp_put_le32(t + 4, 17); break;
	case 22: cp_put_le32(img + TDVF_SEC(1) + 24, 9); break;
	case 23: cp_put_le32(img + TDVF_SEC(1) + 28, 4); break;
	case 24: cp_put_le32(img + TDVF_SEC(1) + 28, 3); break;
	case 25: cp_put_le64(img + TDVF_SEC(1) + 8, 0x800800); break;
	case 26: cp_put_le64(img + TDVF_SEC(1) + 8, 1ull << 52); break;
	case 27: cp_put_le32(img + TDVF_SEC(1) + 4, 0x3000); break;
	case 28: cp_put_le32(img + TDVF_SEC(0), 0x3000); cp_put_le32(img + TDVF_SEC(0) + 4, 0x2000);
		cp_put_le32(img + TDVF_SEC(0), (uint32_t)f->len - 0x1000); break;
	case 29: cp_put_le32(img + TDVF_SEC(0) + 4, 0x1000); break;
	case 30: cp_put_le32(img + TDVF_SEC(1) + 4, 0x1000); break;
	case 31: cp_put_le32(img + TDVF_SEC(1) + 24, 4); break;
	case 32: cp_put_le32(img + TDVF_SEC(1) + 24, 5); break;
	case 33: cp_put_le32(img + TDVF_SEC(1) + 24, 2); break;
	case 34: cp_put_le64(img + TDVF_SEC(2) + 8, 0x801000); break;
	case 35: { /* descriptor in the last 16 bytes (its GUID just before), one section */
		struct memenc_ovmf_table tab;
		size_t at = f->len - 16;
		uint8_t *h = img + at;
		memcpy(img + at - 16, MEMENC_GUID_TDVF_DESCRIPTOR, 16);
		memcpy(h, "TDVF", 4);
		cp_put_le32(h + 4, 48);
		cp_put_le32(h + 8, 1);
		cp_put_le32(h + 12, 1);
		memenc_ovmf_table_parse(img, f->len, &tab, NULL);
		cp_put_le32((uint8_t *)memenc_ovmf_table_find(&tab, MEMENC_GUID_TDX_METADATA)->data, 16);
		break;
	}
	case 36:
	case 37:
	case 38:
	case 39:
	case 41: {
		/* rebuild with only what the case keeps */
		free(f->img);
		fwimg_init(f);
		if (c == 36 || c == 37)
			fwimg_entry_u32(f, MEMENC_GUID_SEV_ES_RESET_BLOCK, 0xffffb004u);
		if (c == 38) {
			static const uint32_t secs[][3] = { { 0x800000, 0x1000, 1 } };
			fwimg_asev(f, secs, 1);
		}
		if (c == 39)
			fwimg_entry(f, MEMENC_GUID_SEV_ES_RESET_BLOCK, "\x04\xb0", 2);
		if (c == 41)
			for (int i = 0; i < 33; i++) {
				uint8_t g[16] = { 0 };
				g[0] = (uint8_t)i;
				fwimg_entry(f, g, NULL, 0);
			}
		break;
	}
	case 40: cp_put_le32(img + TDVF_SEC(2) + 28, 1); break;
	case 42:
	case 43: {
		struct memenc_ovmf_table tab;
		memenc_ovmf_table_parse(img, f->len, &tab, NULL);
		cp_put_le32((uint8_t *)memenc_ovmf_table_find(&tab, c == 42 ? MEMENC_GUID_SEV_METADATA :
								  MEMENC_GUID_TDX_METADATA)->data, c == 42 ? 0 : 8);
		break;
	}
	}
}

static void test_firmware_errors(void **state)
{
	for (size_t c = 0; c < sizeof(fw_cases) / sizeof(fw_cases[0]); c++) {
		struct fwimg f;
		struct memenc_plan plan;
		struct memenc_launch_opts o = { .platform = fw_cases[c].platform, .vcpus = 2, .vcpu_sig = 0x800f12 };
		struct cp_err err = { 0 };
		int r;

		fwimg_default(&f);
		mutate(&f, (int)c);
		r = memenc_plan_build(&plan, f.img, f.len, &o, &err);
		if (r >= 0 || !strstr(err.msg, fw_cases[c].expect)) {
			print_error("case %zu (%s): r=%d msg='%s', expected '%s'\n", c, fw_cases[c].name, r, err.msg,
				    fw_cases[c].expect);
			fail();
		}
		if (r == 0)
			memenc_plan_free(&plan);
		free(f.img);
	}
}

static void test_default_image_builds(void **state)
{
	/* The unmutated image must work on every platform, or the error cases prove nothing. */
	for (int p = 0; p <= MEMENC_PLATFORM_TDX; p++) {
		struct fwimg f;
		struct memenc_plan plan;
		struct memenc_launch_opts o = { .platform = (enum memenc_platform)p, .vcpus = 2, .vcpu_sig = 0x800f12,
						.guest_features = 1 };
		struct cp_err err = { 0 };
		uint8_t out[48];
		size_t n;

		fwimg_default(&f);
		assert_int_equal(memenc_plan_build(&plan, f.img, f.len, &o, &err), 0);
		assert_int_equal(memenc_plan_measure(&plan, out, &n, NULL, NULL, &err), 0);
		assert_int_equal(n, p == MEMENC_PLATFORM_SEV || p == MEMENC_PLATFORM_SEV_ES ? 32 : 48);
		memenc_plan_free(&plan);
		free(f.img);
	}
}

static void test_plan_option_errors(void **state)
{
	struct fwimg f;
	struct memenc_plan plan;
	struct memenc_launch_opts o = { .platform = MEMENC_PLATFORM_SNP, .vcpus = 0 };
	struct cp_err err = { 0 };
	uint8_t hob[16] = { 1 };

	fwimg_default(&f);
	assert_int_equal(memenc_plan_build(&plan, f.img, f.len, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--vcpus: 0"));
	cp_err_clear(&err);
	o.vcpus = 1;
	assert_int_equal(memenc_plan_build(&plan, f.img, 4095, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "multiple of 4 KiB"));
	cp_err_clear(&err);
	assert_int_equal(memenc_plan_build(&plan, f.img, 0, &o, &err), -EINVAL);
	cp_err_clear(&err);
	/* too small for a footer: a 4 KiB image of zeros */
	{
		uint8_t small[4096] = { 0 };
		assert_int_equal(memenc_plan_build(&plan, small, sizeof(small), &o, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "not an OVMF image"));
		cp_err_clear(&err);
	}
	/* SEV with a kernel and a hashes table GPA of zero */
	o.platform = MEMENC_PLATFORM_SEV;
	o.kernel = true;
	free(f.img);
	fwimg_init(&f);
	fwimg_entry_u32(&f, MEMENC_GUID_SEV_HASH_TABLE_RV, 0);
	assert_int_equal(memenc_plan_build(&plan, f.img, f.len, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no SEV hashes table"));
	cp_err_clear(&err);
	/* TDX HOB larger than its section */
	free(f.img);
	fwimg_default(&f);
	o.platform = MEMENC_PLATFORM_TDX;
	o.kernel = false;
	{
		uint8_t *big = calloc(1, 0x2000);
		o.td_hob = big;
		o.td_hob_len = 0x2000;
		assert_int_equal(memenc_plan_build(&plan, f.img, f.len, &o, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "exceeds the TD_HOB section"));
		cp_err_clear(&err);
		free(big);
	}
	/* a measured HOB changes MRTD; an unmeasured one does not */
	{
		uint8_t a[48], b[48];
		size_t n;
		o.td_hob = NULL;
		o.td_hob_len = 0;
		assert_int_equal(memenc_plan_build(&plan, f.img, f.len, &o, &err), 0);
		assert_int_equal(memenc_plan_measure(&plan, a, &n, NULL, NULL, &err), 0);
		memenc_plan_free(&plan);
		o.td_hob = hob;
		o.td_hob_len = sizeof(hob);
		assert_int_equal(memenc_plan_build(&plan, f.img, f.len, &o, &err), 0);
		assert_int_equal(memenc_plan_measure(&plan, b, &n, NULL, NULL, &err), 0);
		assert_memory_equal(a, b, 48);
		memenc_plan_free(&plan);
		cp_put_le32(f.img + TDVF_SEC(2) + 28, 1); /* TD_HOB gets MR_EXTEND */
		assert_int_equal(memenc_plan_build(&plan, f.img, f.len, &o, &err), 0);
		assert_int_equal(memenc_plan_measure(&plan, b, &n, NULL, NULL, &err), 0);
		assert_memory_not_equal(a, b, 48);
		memenc_plan_free(&plan);
	}
	free(f.img);
}

static void test_table_direct(void **state)
{
	struct fwimg f;
	struct memenc_ovmf_table t;
	struct cp_err err = { 0 };
	uint32_t v;
	char g[37];

	fwimg_default(&f);
	assert_int_equal(memenc_ovmf_table_parse(f.img, 49, &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "too small"));
	cp_err_clear(&err);
	assert_int_equal(memenc_ovmf_table_parse(f.img, f.len, &t, &err), 0);
	assert_int_equal(t.n, 4);
	assert_int_equal(memenc_ovmf_sev_es_reset_eip(&t, &v, &err), 0);
	assert_int_equal(v, 0xffffb004u);
	assert_int_equal(memenc_ovmf_sev_hashes_gpa(&t, &v, &err), 0);
	assert_int_equal(v, 0x80b400u);
	memenc_guid_format(MEMENC_GUID_OVMF_FOOTER, g);
	assert_string_equal(g, "96b582de-1fb2-45f7-baea-a366c55a082d");
	free(f.img);
}

/* ---- CCEL ---- */

/* A minimal log: Spec ID event declaring SHA-256 and SHA-384, then events. */
struct logbuf {
	uint8_t b[2048];
	size_t n;
};

static void put32(struct logbuf *l, uint32_t v) { cp_put_le32(l->b + l->n, v); l->n += 4; }
static void put16(struct logbuf *l, uint16_t v) { cp_put_le16(l->b + l->n, v); l->n += 2; }
static void putn(struct logbuf *l, const void *p, size_t n) { memcpy(l->b + l->n, p, n); l->n += n; }

static void log_spec(struct logbuf *l)
{
	memset(l, 0, sizeof(*l));
	put32(l, 0);
	put32(l, MEMENC_EV_NO_ACTION);
	l->n += 20;
	put32(l, 16 + 4 + 4 + 4 + 8 + 1);
	putn(l, "Spec ID Event03", 16);
	put32(l, 0);
	put32(l, 0x00020000);
	put32(l, 2);
	put16(l, 0x000b); put16(l, 32);
	put16(l, 0x000c); put16(l, 48);
	l->b[l->n++] = 0;
}

static void log_event(struct logbuf *l, uint32_t mr, uint32_t type, uint8_t fill)
{
	uint8_t d[48];
	memset(d, fill, sizeof(d));
	put32(l, mr);
	put32(l, type);
	put32(l, 2);
	put16(l, 0x000b); putn(l, d, 32);
	put16(l, 0x000c); putn(l, d, 48);
	put32(l, 3);
	putn(l, "abc", 3);
}

static void test_ccel_good(void **state)
{
	struct logbuf l;
	uint8_t rtmr[4][48], expect[48] = { 0 }, d[48];
	struct cp_err err = { 0 };
	size_t n;

	log_spec(&l);
	log_event(&l, 1, 0x80000001, 0xaa);
	log_event(&l, 3, MEMENC_EV_NO_ACTION, 0xbb); /* skipped */
	log_event(&l, 4, 0xd, 0xcc);
	memset(l.b + l.n, 0xff, 64);
	assert_int_equal(memenc_ccel_replay(l.b, l.n + 64, rtmr, &n, &err), 0);
	assert_int_equal(n, 2);
	memset(d, 0xaa, 48);
	assert_int_equal(memenc_rtmr_extend(expect, d, &err), 0);
	assert_memory_equal(rtmr[0], expect, 48);
	memset(expect, 0, 48);
	assert_memory_equal(rtmr[2], expect, 48);
	memset(d, 0xcc, 48);
	assert_int_equal(memenc_rtmr_extend(expect, d, &err), 0);
	assert_memory_equal(rtmr[3], expect, 48);
	/* exact end of buffer also ends the log */
	assert_int_equal(memenc_ccel_replay(l.b, l.n, rtmr, &n, &err), 0);
	assert_int_equal(n, 2);
}

struct ccel_case {
	const char *expect;
	size_t cut; /* nonzero: truncate the log to this many bytes */
};

static void test_ccel_errors(void **state)
{
	static const char *const expect[] = {
		"too short", "expected EV_NO_ACTION", "Spec ID event size", "Spec ID Event03",
		"0 digest algorithms", "do not fit", "digest size 0", "listed twice", "SHA-384 with digest size 32",
		"does not list SHA-384", "vendor info size", "header truncated", "digest count 0",
		"not declared", "digest 1 truncated", "event size truncated", "runs past the log end",
		"two SHA-384 digests", "MR index 5", "no SHA-384 digest", "digest count 3",
	};
	for (size_t c = 0; c < sizeof(expect) / sizeof(expect[0]); c++) {
		struct logbuf l;
		uint8_t rtmr[4][48];
		struct cp_err err = { 0 };
		size_t len, spec_end;
		int r;

		log_spec(&l);
		spec_end = l.n;
		log_event(&l, 1, 0x5, 0x11);
		len = l.n;
		switch (c) {
		case 0: len = 20; break;
		case 1: cp_put_le32(l.b + 4, 5); break;
		case 2: cp_put_le32(l.b + 28, 1000); break;
		case 3: l.b[32] = 'X'; break;
		case 4: cp_put_le32(l.b + 32 + 24, 0); break;
		case 5: cp_put_le32(l.b + 32 + 24, 8); break;
		case 6: cp_put_le16(l.b + 32 + 30, 0); break;
		case 7: cp_put_le16(l.b + 32 + 32, 0x000b); break;
		case 8: cp_put_le16(l.b + 32 + 34, 32); break;
		case 9: cp_put_le16(l.b + 32 + 32, 0x000d); cp_put_le16(l.b + 32 + 34, 64); break;
		case 10: l.b[32 + 36] = 3; break;
		case 11: len = spec_end + 10; break;
		case 12: cp_put_le32(l.b + spec_end + 8, 0); break;
		case 13: cp_put_le16(l.b + spec_end + 12, 0x0004); break;
		case 14: len = spec_end + 12 + 34 + 10; break;
		case 15: len = spec_end + 12 + 34 + 50 + 2; break;
		case 16: cp_put_le32(l.b + spec_end + 12 + 34 + 50, 100); break;
		case 17: cp_put_le16(l.b + spec_end + 12, 0x000c); cp_put_le16(l.b + spec_end + 12, 0x000c);
			/* make the first digest a SHA-384 too: two 48-byte digests no longer line up, so
			 * rewrite the event with two SHA-384 digests */
			l.n = spec_end;
			put32(&l, 1); put32(&l, 5); put32(&l, 2);
			{ uint8_t d[48] = { 0 }; put16(&l, 0x000c); putn(&l, d, 48); put16(&l, 0x000c); putn(&l, d, 48); }
			put32(&l, 0);
			len = l.n;
			break;
		case 18: cp_put_le32(l.b + spec_end, 5); break;
		case 19: /* only the SHA-256 digest */
			l.n = spec_end;
			put32(&l, 1); put32(&l, 5); put32(&l, 1);
			{ uint8_t d[32] = { 0 }; put16(&l, 0x000b); putn(&l, d, 32); }
			put32(&l, 0);
			len = l.n;
			break;
		case 20: cp_put_le32(l.b + spec_end + 8, 3); break;
		}
		r = memenc_ccel_replay(l.b, len, rtmr, NULL, &err);
		if (r >= 0 || !strstr(err.msg, expect[c])) {
			print_error("ccel case %zu: r=%d msg='%s', expected '%s'\n", c, r, err.msg, expect[c]);
			fail();
		}
	}
}

/* ---- PE / Authenticode ---- */

static void test_pe_good_and_order(void **state)
{
	size_t len;
	uint8_t *pe = peimg_build(&len), a[48], b[48];
	struct cp_err err = { 0 };

	assert_int_equal(memenc_pe_authenticode(pe, len, memenc_md_sha384(), a, &err), 0);
	/* CheckSum and the certificate directory are not covered; section contents are */
	cp_put_le32(pe + PEIMG_OPT + 64, 0);
	assert_int_equal(memenc_pe_authenticode(pe, len, memenc_md_sha384(), b, &err), 0);
	assert_memory_equal(a, b, 48);
	pe[0x400 + 5] ^= 1;
	assert_int_equal(memenc_pe_authenticode(pe, len, memenc_md_sha384(), b, &err), 0);
	assert_memory_not_equal(a, b, 48);
	pe[0x400 + 5] ^= 1;
	/* an appended certificate table (declared in directory 4) is excluded */
	{
		uint8_t *big = calloc(1, len + 64);
		memcpy(big, pe, len);
		cp_put_le32(big + PEIMG_OPT + 112 + 32, (uint32_t)len);
		cp_put_le32(big + PEIMG_OPT + 112 + 36, 64);
		memset(big + len, 0x77, 64);
		assert_int_equal(memenc_pe_authenticode(big, len + 64, memenc_md_sha384(), b, &err), 0);
		assert_memory_equal(a, b, 48);
		free(big);
	}
	/* the direct-boot events: RTMR1 starts with the Authenticode digest, RTMR2 has two events */
	{
		struct memenc_tdx_boot tb;
		assert_int_equal(memenc_tdx_direct_boot(pe, len, (const uint8_t *)"RD", 2, "quiet", &tb, &err), 0);
		assert_int_equal(tb.n, 7);
		assert_memory_equal(tb.ev[0].digest, a, 48);
		assert_int_equal(tb.ev[5].rtmr, 2);
		{
			/* LoadOptions: UTF-16LE "initrd=initrd quiet" + NUL */
			static const char s8[] = "initrd=initrd quiet";
			uint8_t u16[2 * sizeof(s8)] = { 0 }, d[48];
			for (size_t i = 0; i < sizeof(s8) - 1; i++)
				u16[2 * i] = (uint8_t)s8[i];
			memenc_sha384(u16, sizeof(u16), d, &err);
			assert_memory_equal(tb.ev[5].digest, d, 48);
		}
		assert_int_equal(memenc_tdx_direct_boot(pe, len, NULL, 0, NULL, &tb, &err), 0);
		assert_int_equal(tb.n, 5); /* no LoadOptions, no initrd */
		assert_int_equal(memenc_tdx_direct_boot(pe, len, (const uint8_t *)"", 0, NULL, &tb, &err), 0);
		assert_int_equal(tb.n, 5); /* an empty initrd is no initrd */
		assert_memory_equal(tb.rtmr2, (uint8_t[48]){ 0 }, 48);
		assert_int_equal(memenc_tdx_direct_boot(pe, len, NULL, 0, "caf\xc3\xa9", &tb, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "not ASCII"));
	}
	free(pe);
}

static void test_pe_errors(void **state)
{
	static const char *const expect[] = {
		"no MZ header", "does not point at a PE signature", "97 sections, at most 96", "optional header of 65535 bytes",
		"optional header magic 0x10c", "is too short", "SizeOfHeaders 0x10", "certificate table directory",
		"section table of 3 entries", "section 1 (header at", "certificate table of 0x10000 bytes",
	};
	for (size_t c = 0; c < sizeof(expect) / sizeof(expect[0]); c++) {
		size_t len;
		uint8_t *pe = peimg_build(&len), out[48];
		struct cp_err err = { 0 };
		int r;

		switch (c) {
		case 0: pe[0] = 'X'; break;
		case 1: cp_put_le32(pe + 0x3c, 0x10000); break;
		case 2: cp_put_le16(pe + PEIMG_LFANEW + 6, 97); break;
		case 3: cp_put_le16(pe + PEIMG_LFANEW + 20, 0xffff); break;
		case 4: cp_put_le16(pe + PEIMG_OPT, 0x10c); break;
		case 5: cp_put_le16(pe + PEIMG_LFANEW + 20, 100); break;
		case 6: cp_put_le32(pe + PEIMG_OPT + 60, 0x10); break;
		case 7: cp_put_le32(pe + PEIMG_OPT + 60, PEIMG_OPT + 120); break;
		case 8: len = PEIMG_SECTAB + 50; cp_put_le32(pe + PEIMG_OPT + 60, PEIMG_OPT + 152); break;
		case 9: cp_put_le32(pe + PEIMG_SECTAB + 40 + 20, (uint32_t)len - 0x100); break;
		case 10: cp_put_le32(pe + PEIMG_OPT + 112 + 36, 0x10000); break;
		}
		r = memenc_pe_authenticode(pe, len, memenc_md_sha384(), out, &err);
		if (r >= 0 || !strstr(err.msg, expect[c])) {
			print_error("pe case %zu: r=%d msg='%s', expected '%s'\n", c, r, err.msg, expect[c]);
			fail();
		}
		free(pe);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_image_builds), cmocka_unit_test(test_firmware_errors),
		cmocka_unit_test(test_plan_option_errors), cmocka_unit_test(test_table_direct),
		cmocka_unit_test(test_ccel_good), cmocka_unit_test(test_ccel_errors),
		cmocka_unit_test(test_pe_good_and_order), cmocka_unit_test(test_pe_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
