/* bzImage test guest checker (see bzcheck.h). Offsets: Linux Documentation/arch/x86/zero-page.rst
 * and boot.rst; ACPI 6.5 chapter 5. Every read is bounds-checked against m->limit. */
#include "bzcheck.h"

struct rd {
	const struct bz_mem *m;
	int bad;
};

static int in_range(const struct bz_mem *m, uint64_t gpa, uint64_t len)
{
	return gpa < m->limit && len <= m->limit - gpa;
}

static uint64_t rd(struct rd *r, uint64_t gpa, unsigned n)
{
	uint64_t v = 0;
	if (!in_range(r->m, gpa, n)) {
		r->bad = 1;
		return 0;
	}
	const volatile uint8_t *p = (const volatile uint8_t *)(r->m->base + (uintptr_t)gpa);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static unsigned sum8(struct rd *r, uint64_t gpa, uint64_t len)
{
	unsigned s = 0;
	for (uint64_t i = 0; i < len; i++)
		s += (unsigned)rd(r, gpa + i, 1);
	return s & 0xff;
}

static void put(const struct bz_mem *m, const char *s) { if (m->print) m->print(s); }

static void put_u64(const struct bz_mem *m, uint64_t v, int hex)
{
	char buf[24], *p = buf + sizeof(buf) - 1;
	*p = 0;
	do {
		unsigned d = hex ? (unsigned)(v & 15) : 0;
		if (hex) {
			v >>= 4;
		} else {
			/* decimal without 64-bit division helpers: subtract powers of ten */
			uint64_t q = 0, t = v;
			for (int b = 63; b >= 0; b--) {
				if ((t >> b) >= 10) {
					t -= 10ull << b;
					q |= 1ull << b;
				}
			}
			d = (unsigned)t;
			v = q;
		}
		*--p = (char)(d < 10 ? '0' + d : 'a' + d - 10);
	} while (v);
	if (hex) {
		*--p = 'x';
		*--p = '0';
	}
	put(m, p);
}

static int fail(const struct bz_mem *m, int code, const char *what)
{
	put(m, "bz: FAIL: ");
	put(m, what);
	put(m, "\n");
	return code;
}

static int sig_is(struct rd *r, uint64_t gpa, const char *s)
{
	for (int i = 0; i < 4; i++)
		if (rd(r, gpa + i, 1) != (uint8_t)s[i])
			return 0;
	return 1;
}

int bz_check(const struct bz_mem *m, uint64_t bp, struct bz_report *rep)
{
	struct rd r = { m, 0 };
	uint64_t sd, rsdp, xsdt, fadt = 0, madt = 0, dsdt;
	unsigned n;

	for (unsigned i = 0; i < sizeof(*rep); i++)
		((volatile uint8_t *)rep)[i] = 0;
	/* boot_params: our own setup header came through */
	if (!sig_is(&r, bp + 0x202, "HdrS") || rd(&r, bp + 0x1fe, 2) != 0xaa55)
		return fail(m, -1, "boot_params has no setup header (HdrS, 0xaa55)");
	if (rd(&r, bp + 0x228, 4) == 0)
		return fail(m, -2, "boot_params.cmd_line_ptr is 0");
	/* e820 */
	n = (unsigned)rd(&r, bp + 0x1e8, 1);
	if (n == 0 || n > 128)
		return fail(m, -3, "e820_entries is 0 or above 128");
	for (unsigned i = 0; i < n; i++) {
		uint64_t e = bp + 0x2d0 + 20 * i, a = rd(&r, e, 8), s = rd(&r, e + 8, 8);
		uint32_t t = (uint32_t)rd(&r, e + 16, 4);
		if (s == 0 || a + s < a)
			return fail(m, -4, "an e820 entry is empty or wraps");
		if (i && a < rd(&r, e - 20, 8) + rd(&r, e - 12, 8))
			return fail(m, -5, "e820 entries overlap or are unsorted");
		if (t == 1)
			rep->ram_bytes += s;
	}
	rep->e820_entries = n;
	put(m, "bz: e820: ");
	put_u64(m, n, 0);
	put(m, " entries, RAM ");
	put_u64(m, rep->ram_bytes >> 20, 0);
	put(m, " MiB\n");
	/* setup_data chain */
	for (sd = rd(&r, bp + 0x250, 8); sd; sd = rd(&r, sd, 8)) {
		uint32_t type = (uint32_t)rd(&r, sd + 8, 4), len = (uint32_t)rd(&r, sd + 12, 4);
		if (++rep->setup_data_nodes > 16 || r.bad)
			return fail(m, -6, "setup_data chain is longer than 16 or leaves memory");
		put(m, "bz: setup_data type ");
		put_u64(m, type, 0);
		put(m, "\n");
		if (type == 7 && len >= 4) { /* SETUP_CC_BLOB */
			rep->cc_blob = rd(&r, sd + 16, 4);
			rep->cc_blob_ok = rd(&r, rep->cc_blob, 4) == 0x45444d41u && rd(&r, rep->cc_blob + 16, 4) == 4096 &&
					  rd(&r, rep->cc_blob + 32, 4) == 4096;
			if (!rep->cc_blob_ok)
				return fail(m, -7, "SETUP_CC_BLOB does not point at an AMDE cc_blob_sev_info");
			put(m, "bz: cc_blob_sev_info: AMDE, secrets ");
			put_u64(m, rd(&r, rep->cc_blob + 8, 8), 1);
			put(m, ", cpuid ");
			put_u64(m, rd(&r, rep->cc_blob + 24, 8), 1);
			put(m, "\n");
		}
	}
	/* ACPI: RSDP (boot_params.acpi_rsdp_addr) -> XSDT -> FACP, APIC */
	rsdp = rd(&r, bp + 0x070, 8);
	rep->rsdp = rsdp;
	if (!rsdp || !sig_is(&r, rsdp, "RSD ") || !sig_is(&r, rsdp + 4, "PTR ") || sum8(&r, rsdp, 20) ||
	    rd(&r, rsdp + 15, 1) < 2 || sum8(&r, rsdp, 36))
		return fail(m, -8, "no valid ACPI 2.0 RSDP at boot_params.acpi_rsdp_addr");
	xsdt = rd(&r, rsdp + 24, 8);
	if (!sig_is(&r, xsdt, "XSDT") || sum8(&r, xsdt, rd(&r, xsdt + 4, 4)))
		return fail(m, -9, "XSDT signature or checksum is wrong");
	put(m, "bz: ACPI: XSDT");
	for (uint64_t p = xsdt + 36; p + 8 <= xsdt + rd(&r, xsdt + 4, 4); p += 8) {
		uint64_t t = rd(&r, p, 8);
		uint64_t len = rd(&r, t + 4, 4);
		if (len < 36 || len > 0x100000 || sum8(&r, t, len))
			return fail(m, -10, "a table listed in the XSDT has a bad length or checksum");
		if (sig_is(&r, t, "FACP"))
			fadt = t;
		if (sig_is(&r, t, "APIC"))
			madt = t;
		char s[6] = { ' ', (char)rd(&r, t, 1), (char)rd(&r, t + 1, 1), (char)rd(&r, t + 2, 1), (char)rd(&r, t + 3, 1), 0 };
		put(m, s);
	}
	put(m, "\n");
	if (!fadt || !madt)
		return fail(m, -11, "the XSDT lists no FACP or no APIC");
	rep->hw_reduced = (rd(&r, fadt + 112, 4) >> 20) & 1;
	dsdt = rd(&r, fadt + 140, 8);
	if (!sig_is(&r, dsdt, "DSDT") || sum8(&r, dsdt, rd(&r, dsdt + 4, 4)))
		return fail(m, -12, "FADT.X_DSDT does not point at a valid DSDT");
	for (uint64_t p = dsdt + 36; p + 8 <= dsdt + rd(&r, dsdt + 4, 4); p++)
		if (sig_is(&r, p, "LNRO") && sig_is(&r, p + 4, "0005"))
			rep->virtio_devices++;
	/* MADT entries */
	for (uint64_t p = madt + 44, end = madt + rd(&r, madt + 4, 4); p < end;) {
		unsigned type = (unsigned)rd(&r, p, 1), len = (unsigned)rd(&r, p + 1, 1);
		if (len < 2 || p + len > end)
			return fail(m, -13, "a MADT entry has a bad length");
		if (type == 0 && (rd(&r, p + 4, 4) & 1))
			rep->cpus++;
		if (type == 9 && (rd(&r, p + 8, 4) & 1)) {
			rep->cpus++;
			rep->x2apic_cpus++;
		}
		if (type == 1)
			rep->ioapics++;
		if (type == 0x10 && len >= 16) {
			rep->mp_wakeup++;
			rep->mailbox = rd(&r, p + 8, 8);
		}
		p += len;
	}
	if (r.bad)
		return fail(m, -14, "a pointer led outside guest memory");
	put(m, "bz: MADT: ");
	put_u64(m, rep->cpus, 0);
	put(m, " CPUs, ");
	put_u64(m, rep->ioapics, 0);
	put(m, " IOAPIC");
	if (rep->mp_wakeup) {
		put(m, ", MP wakeup mailbox ");
		put_u64(m, rep->mailbox, 1);
	}
	put(m, "; FADT hardware-reduced ");
	put_u64(m, (uint64_t)rep->hw_reduced, 0);
	put(m, "; DSDT virtio-mmio devices ");
	put_u64(m, (uint64_t)rep->virtio_devices, 0);
	put(m, "\n");
	if (!rep->cpus || rep->ioapics != 1)
		return fail(m, -15, "the MADT lists no CPU or not exactly one IOAPIC");
	return 0;
}
