/* Validating readers for the SEV-SNP attestation report and the extended-report certificate table.
 * Offsets and fields follow the SEV-SNP ABI specification (facts, see docs/attest-hw.md). */
#include <errno.h>
#include <string.h>

#include "attest/hw/snp_report.h"
#include "common/util.h"

/* Copy one fixed-size field out of the report. Out of line on purpose: GCC 12's -Warray-bounds
 * misjudges these copies under -fsanitize=address when they are inlined (a false positive). */
static __attribute__((noinline)) void field(uint8_t *dst, const uint8_t *report, size_t off, size_t len)
{
	memcpy(dst, report + off, len);
}

int attest_hw_snp_report_parse(const uint8_t *b, size_t len, struct attest_hw_snp_report *r,
			       struct cp_err *err)
{
	if (!b || len != ATTEST_HW_SNP_REPORT_SIZE)
		return cp_err_set(err, EINVAL, "snp report: size %zu, expected exactly %u (0x4A0) bytes", len,
				  ATTEST_HW_SNP_REPORT_SIZE);
	memset(r, 0, sizeof(*r));
	r->version = cp_le32(b + 0x00);
	if (r->version < 2 || r->version > 5)
		return cp_err_set(err, EINVAL, "snp report: version %u at offset 0x000 is not supported (2-5)", r->version);
	r->guest_svn = cp_le32(b + 0x04);
	r->policy = cp_le64(b + 0x08);
	field(r->family_id, b, 0x10, 16);
	field(r->image_id, b, 0x20, 16);
	r->vmpl = cp_le32(b + 0x30);
	r->signature_algo = cp_le32(b + 0x34);
	if (r->signature_algo != 1)
		return cp_err_set(err, EINVAL, "snp report: signature_algo %u at offset 0x034, expected 1 (ECDSA P-384 SHA-384)",
				  r->signature_algo);
	r->current_tcb = cp_le64(b + 0x38);
	r->platform_info = cp_le64(b + 0x40);
	r->signer_info = cp_le32(b + 0x48);
	field(r->report_data, b, 0x50, 64);
	field(r->measurement, b, 0x90, 48);
	field(r->host_data, b, 0xC0, 32);
	field(r->id_key_digest, b, 0xE0, 48);
	field(r->author_key_digest, b, 0x110, 48);
	field(r->report_id, b, 0x140, 32);
	field(r->report_id_ma, b, 0x160, 32);
	r->reported_tcb = cp_le64(b + 0x180);
	if (r->version >= 3) {
		r->cpuid_fam_id = b[0x188];
		r->cpuid_mod_id = b[0x189];
		r->cpuid_step = b[0x18A];
	}
	field(r->chip_id, b, 0x1A0, 64);
	r->committed_tcb = cp_le64(b + 0x1E0);
	r->current_build = b[0x1E8];
	r->current_minor = b[0x1E9];
	r->current_major = b[0x1EA];
	r->committed_build = b[0x1EC];
	r->committed_minor = b[0x1ED];
	r->committed_major = b[0x1EE];
	r->launch_tcb = cp_le64(b + 0x1F0);
	if (r->version >= 5) {
		r->launch_mit_vector = cp_le64(b + 0x1F8);
		r->current_mit_vector = cp_le64(b + 0x200);
	}
	field(r->sig_r, b, 0x2A0, ATTEST_HW_SNP_SIG_COMPONENT);
	field(r->sig_s, b, 0x2E8, ATTEST_HW_SNP_SIG_COMPONENT);
	return 0;
}

struct reserved_range {
	unsigned start, end; /* [start, end) */
	const char *what;
};

int attest_hw_snp_report_check_reserved(const uint8_t *b, size_t len, struct cp_err *err)
{
	uint32_t version;
	/* Ranges the ABI reserves (MBZ) in every version we accept; version-dependent ones below.
	 * R and S are 72-byte fields holding 48-byte P-384 values: their top 24 bytes are zero. */
	struct reserved_range ranges[] = {
		{ 0x04C, 0x050, "reserved after SIGNER_INFO" },
		{ 0x188, 0x1A0, "reserved before CHIP_ID" }, /* start moves to 0x18B for version >= 3 */
		{ 0x1EB, 0x1EC, "reserved after CURRENT_MAJOR" },
		{ 0x1EF, 0x1F0, "reserved after COMMITTED_MAJOR" },
		{ 0x1F8, 0x2A0, "reserved before SIGNATURE" }, /* start moves to 0x208 for version >= 5 */
		{ 0x2A0 + 48, 0x2A0 + 72, "high bytes of signature R" },
		{ 0x2E8 + 48, 0x2E8 + 72, "high bytes of signature S" },
		{ 0x330, 0x4A0, "reserved tail of the signature block" },
	};

	if (!b || len != ATTEST_HW_SNP_REPORT_SIZE)
		return cp_err_set(err, EINVAL, "snp report: size %zu, expected exactly 1184 bytes", len);
	version = cp_le32(b);
	if (version >= 3)
		ranges[1].start = 0x18B;
	if (version >= 5)
		ranges[4].start = 0x208;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		for (unsigned off = ranges[i].start; off < ranges[i].end; off++)
			if (b[off])
				return cp_err_set(err, EINVAL, "snp report: byte 0x%03X (%s) is 0x%02X, must be zero", off,
						  ranges[i].what, b[off]);
	return 0;
}

int attest_hw_snp_tcb_decode(uint64_t raw, enum attest_hw_snp_product product, struct attest_hw_snp_tcb *t,
			     struct cp_err *err)
{
	uint8_t b[8];

	cp_put_le64(b, raw);
	memset(t, 0, sizeof(*t));
	switch (product) {
	case ATTEST_HW_SNP_PRODUCT_MILAN:
	case ATTEST_HW_SNP_PRODUCT_GENOA:
		if (b[2] | b[3] | b[4] | b[5])
			return cp_err_set(err, EINVAL, "TCB 0x%016llx: reserved bytes 2-5 are not zero",
					  (unsigned long long)raw);
		t->bl = b[0];
		t->tee = b[1];
		t->snp = b[6];
		t->ucode = b[7];
		return 0;
	case ATTEST_HW_SNP_PRODUCT_TURIN:
		if (b[4] | b[5] | b[6])
			return cp_err_set(err, EINVAL, "TCB 0x%016llx: reserved bytes 4-6 are not zero",
					  (unsigned long long)raw);
		t->fmc = b[0];
		t->bl = b[1];
		t->tee = b[2];
		t->snp = b[3];
		t->ucode = b[7];
		return 0;
	case ATTEST_HW_SNP_PRODUCT_UNKNOWN:
		break;
	}
	return cp_err_set(err, EINVAL, "TCB 0x%016llx: unknown product line, layout unknown", (unsigned long long)raw);
}

static const struct {
	const char *name;
	enum attest_hw_snp_product product;
} product_names[] = {
	{ "Milan", ATTEST_HW_SNP_PRODUCT_MILAN },
	{ "Genoa", ATTEST_HW_SNP_PRODUCT_GENOA },
	{ "Turin", ATTEST_HW_SNP_PRODUCT_TURIN },
};

enum attest_hw_snp_product attest_hw_snp_product_from_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(product_names) / sizeof(product_names[0]); i++) {
		size_t n = strlen(product_names[i].name);
		/* "Milan" or "Milan-B0" (stepping after a dash); "Milano" is not Milan. */
		if (!strncmp(name, product_names[i].name, n) && (name[n] == '\0' || name[n] == '-'))
			return product_names[i].product;
	}
	return ATTEST_HW_SNP_PRODUCT_UNKNOWN;
}

const char *attest_hw_snp_product_name(enum attest_hw_snp_product p)
{
	for (size_t i = 0; i < sizeof(product_names) / sizeof(product_names[0]); i++)
		if (product_names[i].product == p)
			return product_names[i].name;
	return "unknown";
}

enum attest_hw_snp_product attest_hw_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
	/* Family 19h: Milan models 0x00-0x0F, Genoa (and Bergamo/Siena) 0x10-0x1F and 0xA0-0xAF;
	 * family 1Ah: Turin models 0x00-0x1F. */
	if (family == 0x19 && model <= 0x0F)
		return ATTEST_HW_SNP_PRODUCT_MILAN;
	if (family == 0x19 && ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF)))
		return ATTEST_HW_SNP_PRODUCT_GENOA;
	if (family == 0x1A && model <= 0x1F)
		return ATTEST_HW_SNP_PRODUCT_TURIN;
	return ATTEST_HW_SNP_PRODUCT_UNKNOWN;
}

/* GUIDs in RFC 4122 (big-endian) byte order, as the GHCB specification's table carries them. */
static const uint8_t guid_vcek[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
				       0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
static const uint8_t guid_vlek[16] = { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
				       0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 };
static const uint8_t guid_ask[16] = { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
				      0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 };
static const uint8_t guid_ark[16] = { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
				      0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae };

#define CERTTABLE_ENTRY 24
#define CERTTABLE_MAX_ENTRIES 64

int attest_hw_snp_certtable_parse(const uint8_t *b, size_t len, struct attest_hw_snp_certs *out,
				  struct cp_err *err)
{
	static const uint8_t zero[CERTTABLE_ENTRY];
	const struct {
		const uint8_t *guid;
		const char *name;
		size_t slot;
	} known[] = {
		{ guid_vcek, "VCEK", offsetof(struct attest_hw_snp_certs, vcek) },
		{ guid_vlek, "VLEK", offsetof(struct attest_hw_snp_certs, vlek) },
		{ guid_ask, "ASK", offsetof(struct attest_hw_snp_certs, ask) },
		{ guid_ark, "ARK", offsetof(struct attest_hw_snp_certs, ark) },
	};
	size_t off = 0, n = 0, table_end;

	memset(out, 0, sizeof(*out));
	if (!b)
		return cp_err_set(err, EINVAL, "cert table: no data");
	/* First pass: find the terminator so every offset can be checked against the table's end. */
	for (;; off += CERTTABLE_ENTRY, n++) {
		if (n >= CERTTABLE_MAX_ENTRIES)
			return cp_err_set(err, EINVAL, "cert table: more than %d entries", CERTTABLE_MAX_ENTRIES);
		if (off > len || len - off < CERTTABLE_ENTRY)
			return cp_err_set(err, EINVAL, "cert table: entry %zu at offset %zu truncated (table is %zu bytes, "
					  "no all-zero terminator)", n, off, len);
		if (!memcmp(b + off, zero, CERTTABLE_ENTRY))
			break;
	}
	table_end = off + CERTTABLE_ENTRY;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = b + i * CERTTABLE_ENTRY;
		uint32_t o = cp_le32(e + 16), l = cp_le32(e + 20);
		struct attest_hw_snp_cert_slice *slot = NULL;
		const char *name = NULL;

		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (!memcmp(e, known[k].guid, 16)) {
				slot = (struct attest_hw_snp_cert_slice *)((uint8_t *)out + known[k].slot);
				name = known[k].name;
			}
		if (!slot)
			continue; /* other GUIDs (e.g. a CRL) are not used here; they are never trusted */
		if (slot->der)
			return cp_err_set(err, EINVAL, "cert table: entry %zu: duplicate %s entry", i, name);
		if (l == 0 || o < table_end || o > len || l > len - o)
			return cp_err_set(err, EINVAL, "cert table: entry %zu (%s): offset %u length %u outside data "
					  "[%zu, %zu)", i, name, o, l, table_end, len);
		slot->der = b + o;
		slot->len = l;
	}
	return 0;
}
