/* ACPI table builder (pure). Layouts: ACPI 6.5 chapter 5 (RSDP 5.2.5, XSDT 5.2.8, FADT 5.2.9,
 * MADT 5.2.12 incl. the multiprocessor wakeup structure 5.2.12.19, AML grammar 20.2, resource
 * descriptors 6.4). Trusts only its configuration, which the caller validated. */
#include "memenc/acpi.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

#define HDR 36
#define ALIGN16(x) (((x) + 15u) & ~(size_t)15u)

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define MADT_X2APIC 9
#define MADT_X2APIC_NMI 0xa
#define MADT_MP_WAKEUP 0x10

/* Where KVM's IOAPIC and local APICs are (runner/layout.h has the same values for plain VMs). */
#define ACPI_LAPIC_GPA 0xfee00000u
#define ACPI_IOAPIC_GPA 0xfec00000u

/* FADT (ACPI 6.5 table 5.9) */
#define FADT_LEN 276
#define FADT_FLAG_WBINVD (1u << 0)
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define FADT_FLAG_HW_REDUCED (1u << 20)
#define FADT_BOOT_NO_VGA (1u << 2)
#define FADT_BOOT_NO_CMOS_RTC (1u << 5)

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	cp_put_le32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "CRPACE", 6);
	memcpy(t + 16, "CARAPACE", 8);
	cp_put_le32(t + 24, 1);
	memcpy(t + 28, "CRPC", 4);
	cp_put_le32(t + 32, 1);
	t[9] = 0;
	t[9] = (uint8_t)-acpi_sum(t, len);
}

static size_t madt_size(const struct acpi_config *c)
{
	size_t n = HDR + 8;
	for (unsigned i = 0; i < c->ncpus; i++)
		n += i < 255 ? 8 : 16;
	n += 12 + 10 + 6;             /* IOAPIC, ISO for IRQ 0, LAPIC NMI */
	if (c->ncpus > 255)
		n += 12;                  /* x2APIC NMI */
	if (c->mp_wakeup)
		n += 16;
	return n;
}

/* AML: one virtio-mmio device is at most this many bytes (see dsdt_device). */
#define DSDT_DEV_MAX 96

size_t acpi_size(const struct acpi_config *c)
{
	return 64 + ALIGN16(HDR + 8 * 3) + ALIGN16(FADT_LEN) + ALIGN16(HDR + 16 + DSDT_DEV_MAX * (size_t)c->ndevs) +
	       ALIGN16(madt_size(c));
}

/* ---- AML (ACPI 6.5 section 20.2) ---- */

struct aml {
	uint8_t *p;
	size_t n, cap;
};

static void aml_byte(struct aml *a, uint8_t b)
{
	if (a->n < a->cap)
		a->p[a->n] = b;
	a->n++;
}

static void aml_bytes(struct aml *a, const void *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		aml_byte(a, ((const uint8_t *)s)[i]);
}

/* PkgLength (20.2.4) for a package whose contents after the PkgLength are `body` bytes: the
 * encoded length counts itself. Returns the bytes written. */
static void aml_pkglen(struct aml *a, size_t body)
{
	size_t total = body + 1;
	if (total < 0x40) {
		aml_byte(a, (uint8_t)total);
		return;
	}
	total = body + 2;
	if (total < 0x1000) {
		aml_byte(a, (uint8_t)(0x40 | (total & 0xf)));
		aml_byte(a, (uint8_t)(total >> 4));
		return;
	}
	total = body + 3;
	aml_byte(a, (uint8_t)(0x80 | (total & 0xf)));
	aml_byte(a, (uint8_t)(total >> 4));
	aml_byte(a, (uint8_t)(total >> 12));
}

static void aml_name_int(struct aml *a, const char seg[4], uint32_t v)
{
	aml_byte(a, 0x08); /* NameOp */
	aml_bytes(a, seg, 4);
	if (v <= 1) {
		aml_byte(a, (uint8_t)v); /* ZeroOp / OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a);
		aml_byte(a, (uint8_t)v);
	} else {
		uint8_t b[4];
		cp_put_le32(b, v);
		aml_byte(a, 0x0c);
		aml_bytes(a, b, 4);
	}
}

static const uint32_t virtio_gsis[ACPI_MAX_DEVICES] = { 5, 6, 7, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 21, 22, 23 };

struct acpi_mmio_dev acpi_virtio_window(unsigned idx)
{
	if (idx >= ACPI_MAX_DEVICES)
		return (struct acpi_mmio_dev){ 0, 0, 0 };
	return (struct acpi_mmio_dev){ ACPI_VIRTIO_BASE + (uint64_t)idx * ACPI_VIRTIO_SIZE, ACPI_VIRTIO_SIZE,
				       virtio_gsis[idx] };
}

/* Device (VRnn) { _HID "LNRO0005", _UID n, _CCA 1, _CRS { Memory32Fixed, Interrupt } }: what
 * QEMU's microvm declares (hw/virtio/virtio-acpi.c) and Linux's virtio_mmio binds through its
 * ACPI match table. The interrupt is edge-triggered, active high: carapace signals it through
 * an irqfd on an ISA GSI, the same semantics the virtio_mmio.device= command line gives. */
static void dsdt_device(struct aml *a, unsigned idx, const struct acpi_mmio_dev *d)
{
	uint8_t crs[9 + 3 + 9 + 2 + 2], *r = crs; /* Memory32Fixed, Extended IRQ, End tag */
	char name[5] = { 'V', 'R', (char)('0' + idx / 10), (char)('0' + idx % 10), 0 };
	size_t body;

	*r++ = 0x86; cp_put_le16(r, 9); r += 2;     /* Memory32Fixed, read/write */
	*r++ = 1; cp_put_le32(r, (uint32_t)d->base); r += 4; cp_put_le32(r, d->size); r += 4;
	*r++ = 0x89; cp_put_le16(r, 6); r += 2;     /* Extended Interrupt */
	*r++ = 0x03;                                /* consumer, edge, active high, exclusive */
	*r++ = 1; cp_put_le32(r, d->gsi); r += 4;
	*r++ = 0x79; *r++ = 0;                      /* End tag, checksum 0 = "not computed" */

	/* _CRS buffer object: BufferOp PkgLength BufferSize(ByteConst) bytes */
	size_t crs_len = (size_t)(r - crs);
	size_t buf_body = 2 + crs_len;              /* BytePrefix + size byte + bytes */
	size_t buf_obj = 1 + 1 + buf_body;          /* BufferOp + 1-byte PkgLength (< 64) */
	body = 4                                    /* NameSeg */
	       + 1 + 4 + 1 + 9                      /* Name(_HID, "LNRO0005") */
	       + 1 + 4 + (idx <= 1 ? 1 : 2)         /* Name(_UID, idx) */
	       + 1 + 4 + 1                          /* Name(_CCA, One) */
	       + 1 + 4 + buf_obj;                   /* Name(_CRS, Buffer) */
	aml_byte(a, 0x5b);
	aml_byte(a, 0x82); /* DeviceOp */
	aml_pkglen(a, body);
	aml_bytes(a, name, 4);
	aml_byte(a, 0x08);
	aml_bytes(a, "_HID", 4);
	aml_byte(a, 0x0d); /* StringPrefix */
	aml_bytes(a, "LNRO0005", 9);
	aml_name_int(a, "_UID", idx);
	aml_name_int(a, "_CCA", 1);
	aml_byte(a, 0x08);
	aml_bytes(a, "_CRS", 4);
	aml_byte(a, 0x11); /* BufferOp */
	aml_pkglen(a, buf_body);
	aml_byte(a, 0x0a);
	aml_byte(a, (uint8_t)crs_len);
	aml_bytes(a, crs, crs_len);
}

static size_t build_dsdt(const struct acpi_config *c, uint8_t *t, size_t cap)
{
	struct aml a = { .p = t + HDR, .n = 0, .cap = cap - HDR };
	struct aml probe = { .p = NULL, .n = 0, .cap = 0 };

	if (c->ndevs) {
		/* Scope (\_SB) { devices }: measure the body first for the PkgLength. */
		for (unsigned i = 0; i < c->ndevs; i++)
			dsdt_device(&probe, i, &c->devs[i]);
		aml_byte(&a, 0x10); /* ScopeOp */
		aml_pkglen(&a, 5 + probe.n);
		aml_bytes(&a, "\\_SB_", 5);
		for (unsigned i = 0; i < c->ndevs; i++)
			dsdt_device(&a, i, &c->devs[i]);
	}
	header(t, "DSDT", (uint32_t)(HDR + a.n), 2);
	return HDR + a.n;
}

static void build_fadt(uint8_t *t, uint64_t dsdt)
{
	/* Hardware-reduced ACPI (5.2.9, flag bit 20): carapace has no PM1/GPE register blocks, no
	 * PM timer and no SCI to emulate; Linux supports this model (it is what QEMU's microvm
	 * uses), and it keeps the VM's port I/O surface to what exits.c already answers. Reset
	 * goes through the i8042 command port carapace handles: write 0xfe to I/O 0x64. */
	cp_put_le32(t + 40, (uint32_t)dsdt);
	cp_put_le16(t + 109, FADT_BOOT_NO_VGA | FADT_BOOT_NO_CMOS_RTC);
	cp_put_le32(t + 112, FADT_FLAG_WBINVD | FADT_FLAG_RESET_REG_SUP | FADT_FLAG_HW_REDUCED);
	t[116] = 1;       /* RESET_REG: System I/O */
	t[117] = 8;       /* bit width */
	t[118] = 0;       /* bit offset */
	t[119] = 1;       /* byte access */
	cp_put_le64(t + 120, 0x64);
	t[128] = 0xfe;    /* RESET_VALUE */
	t[131] = 5;       /* FADT minor version: ACPI 6.5 */
	cp_put_le64(t + 140, dsdt);
	header(t, "FACP", FADT_LEN, 6);
}

static void build_madt(const struct acpi_config *c, uint8_t *t)
{
	uint8_t *p = t + HDR;
	uint8_t ioapic_id = c->ncpus < 255 ? (uint8_t)c->ncpus : 0xfe; /* as runner/mptable.c */

	cp_put_le32(p, ACPI_LAPIC_GPA);
	cp_put_le32(p + 4, c->legacy_pic ? 1 : 0); /* PCAT_COMPAT: dual 8259 present */
	p += 8;
	for (unsigned i = 0; i < c->ncpus; i++) {
		if (i < 255) {
			/* Processor local APIC: UID i, APIC ID i, enabled. */
			p[0] = MADT_LAPIC; p[1] = 8; p[2] = (uint8_t)i; p[3] = (uint8_t)i;
			cp_put_le32(p + 4, 1);
			p += 8;
		} else {
			/* IDs from 255 need the x2APIC entry (an xAPIC ID of 0xff is the broadcast ID). */
			p[0] = MADT_X2APIC; p[1] = 16;
			cp_put_le32(p + 4, i);
			cp_put_le32(p + 8, 1);
			cp_put_le32(p + 12, i);
			p += 16;
		}
	}
	p[0] = MADT_IOAPIC; p[1] = 12; p[2] = ioapic_id;
	cp_put_le32(p + 4, ACPI_IOAPIC_GPA);
	cp_put_le32(p + 8, 0); /* GSI base */
	p += 12;
	/* ISA IRQ 0 -> GSI 0, conforming: KVM's default GSI routing (arch/x86/kvm/irq_comm.c,
	 * default_routing[]) wires the in-kernel PIT to IOAPIC pin 0, not pin 2 as a PC chipset
	 * does, and carapace keeps that routing; without this entry a reader expecting the PC
	 * convention could guess pin 2. The other ISA IRQs (the virtio GSIs 5..13) are identity
	 * mapped, edge, active high: the ISA default, so they need no override. */
	p[0] = MADT_ISO; p[1] = 10; p[2] = 0; p[3] = 0;
	cp_put_le32(p + 4, 0);
	cp_put_le16(p + 8, 0);
	p += 10;
	/* NMI on LINT1 of every local APIC (UID 0xff = all), edge, active high: as the MP table. */
	p[0] = MADT_LAPIC_NMI; p[1] = 6; p[2] = 0xff;
	cp_put_le16(p + 3, 0x5);
	p[5] = 1;
	p += 6;
	if (c->ncpus > 255) {
		p[0] = MADT_X2APIC_NMI; p[1] = 12;
		cp_put_le16(p + 2, 0x5);
		cp_put_le32(p + 4, 0xffffffffu);
		p[8] = 1;
		p += 12;
	}
	if (c->mp_wakeup) {
		/* Multiprocessor wakeup structure, mailbox version 0 (ACPI 6.4+ 5.2.12.19): how TDX
		 * Linux starts APs (arch/x86/kernel/acpi/madt_wakeup.c) */
		p[0] = MADT_MP_WAKEUP; p[1] = 16;
		cp_put_le16(p + 2, 0);
		cp_put_le64(p + 8, c->mp_mailbox_gpa);
		p += 16;
	}
	header(t, "APIC", (uint32_t)(p - t), 5);
}

static void add_ref(struct acpi_tables *o, const char *sig, uint64_t gpa, size_t off, size_t len)
{
	struct acpi_table_ref *r = &o->t[o->n++];
	memcpy(r->sig, sig, 4);
	r->sig[4] = 0;
	r->gpa = gpa + off;
	r->off = (uint32_t)off;
	r->len = (uint32_t)len;
}

int acpi_build(const struct acpi_config *c, uint8_t *buf, size_t cap, uint64_t gpa, struct acpi_tables *out,
	       struct cp_err *err)
{
	size_t need, xsdt, fadt, dsdt, madt, dsdt_len, madt_len;

	memset(out, 0, sizeof(*out));
	if (c->ncpus == 0 || c->ncpus > ACPI_MAX_CPUS)
		return cp_err_set(err, EINVAL, "ACPI: %u vCPUs is out of range 1..%u (the MADT layout)", c->ncpus,
				  ACPI_MAX_CPUS);
	if (c->ndevs > ACPI_MAX_DEVICES)
		return cp_err_set(err, EINVAL, "ACPI: %u devices; the DSDT holds at most %u", c->ndevs,
				  ACPI_MAX_DEVICES);
	for (unsigned i = 0; i < c->ndevs; i++)
		if (c->devs[i].base >= 0x100000000ull || c->devs[i].size == 0 ||
		    c->devs[i].size > 0x100000000ull - c->devs[i].base)
			return cp_err_set(err, EINVAL, "ACPI: device %u window [0x%llx, +0x%x) is not below 4 GiB", i,
					  (unsigned long long)c->devs[i].base, c->devs[i].size);
	if (c->mp_wakeup && (c->mp_mailbox_gpa & 0xfff || c->mp_mailbox_gpa == 0))
		return cp_err_set(err, EINVAL, "ACPI: MP wakeup mailbox 0x%llx is not a 4 KiB aligned page",
				  (unsigned long long)c->mp_mailbox_gpa);
	need = acpi_size(c);
	if (gpa & 15 || gpa >= 0x100000000ull || need > 0x100000000ull - gpa)
		return cp_err_set(err, EINVAL, "ACPI: tables at 0x%llx must be 16-byte aligned and below 4 GiB",
				  (unsigned long long)gpa);
	if (need > cap)
		return cp_err_set(err, ENOSPC, "ACPI: the tables need %zu bytes, the layout reserves %zu", need, cap);
	memset(buf, 0, cap);

	xsdt = 64;
	fadt = xsdt + ALIGN16(HDR + 8 * 3);
	dsdt = fadt + ALIGN16(FADT_LEN);
	dsdt_len = build_dsdt(c, buf + dsdt, cap - dsdt);
	madt = dsdt + ALIGN16(dsdt_len);
	build_madt(c, buf + madt);
	madt_len = madt_size(c);
	build_fadt(buf + fadt, gpa + dsdt);

	cp_put_le64(buf + xsdt + HDR, gpa + fadt);
	cp_put_le64(buf + xsdt + HDR + 8, gpa + madt);
	header(buf + xsdt, "XSDT", HDR + 8 * 2, 1);

	/* RSDP revision 2: no RSDT (RsdtAddress 0); ACPI 2.0+ readers take the XSDT. */
	memcpy(buf, "RSD PTR ", 8);
	memcpy(buf + 9, "CRPACE", 6);
	buf[15] = 2;
	cp_put_le32(buf + 20, 36);
	cp_put_le64(buf + 24, gpa + xsdt);
	buf[8] = (uint8_t)-acpi_sum(buf, 20);
	buf[32] = (uint8_t)-acpi_sum(buf, 36);

	out->rsdp_gpa = gpa;
	add_ref(out, "RSDP", gpa, 0, 36);
	add_ref(out, "XSDT", gpa, xsdt, HDR + 16);
	add_ref(out, "FACP", gpa, fadt, FADT_LEN);
	add_ref(out, "DSDT", gpa, dsdt, dsdt_len);
	add_ref(out, "APIC", gpa, madt, madt_len);
	out->len = madt + madt_len;
	return 0;
}
