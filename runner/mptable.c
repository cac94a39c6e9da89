/* MP table writer (pure). Layout per the MultiProcessor Specification 1.4, chapter 4. */
#include "runner/mptable.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "runner/ioapic.h"
#include "runner/layout.h"

#define MPF_SIZE 16
#define MPC_HDR_SIZE 44
#define MP_PROC_SIZE 20
#define MP_BUS_SIZE 8
#define MP_IOAPIC_SIZE 8
#define MP_INTSRC_SIZE 8
/* Every IOAPIC pin gets an assignment, ISA IRQ n -> pin n as KVM routes them by default
 * (kvm_setup_default_irq_routing): pins 16-23 carry virtio devices (runner/vdev.c). */
#define MP_IRQS IOAPIC_PINS

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)-s;
}

int mptable_build(uint8_t *buf, size_t buf_len, uint64_t gpa, unsigned ncpus, struct cp_err *err)
{
	size_t cfg_len = MPC_HDR_SIZE + ncpus * MP_PROC_SIZE + MP_BUS_SIZE + MP_IOAPIC_SIZE +
			 (MP_IRQS + 2) * MP_INTSRC_SIZE;
	size_t total = MPF_SIZE + cfg_len;
	uint8_t *mpf = buf, *mpc = buf + MPF_SIZE, *p;
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint16_t entries = 0;

	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS)
		return cp_err_set(err, EINVAL, "MP table: %u CPUs is out of range 1..%u", ncpus, MPTABLE_MAX_CPUS);
	if (total > buf_len)
		return cp_err_set(err, ENOSPC, "MP table: %zu bytes do not fit in %zu", total, buf_len);
	memset(buf, 0, total);

	/* Floating pointer structure. */
	memcpy(mpf, "_MP_", 4);
	cp_put_le32(mpf + 4, (uint32_t)(gpa + MPF_SIZE));
	mpf[8] = 1;     /* length in 16-byte units */
	mpf[9] = 4;     /* spec revision 1.4 */
	mpf[10] = checksum(mpf, MPF_SIZE);

	/* Configuration table header; checksum filled in last. */
	memcpy(mpc, "PCMP", 4);
	cp_put_le16(mpc + 4, (uint16_t)cfg_len);
	mpc[6] = 4;
	memcpy(mpc + 8, "CARAPACE", 8);
	memcpy(mpc + 16, "KVM VM      ", 12);
	cp_put_le32(mpc + 36, (uint32_t)GP_LAPIC);
	p = mpc + MPC_HDR_SIZE;

	for (unsigned i = 0; i < ncpus; i++, entries++) {
		p[0] = 0;                      /* processor entry */
		p[1] = (uint8_t)i;             /* local APIC id */
		p[2] = 0x14;                   /* local APIC version */
		p[3] = (uint8_t)(1 | (i == 0 ? 2 : 0)); /* enabled, BSP */
		cp_put_le32(p + 4, 0x600);     /* CPU signature (family 6) */
		cp_put_le32(p + 8, 0x201);     /* features: FPU, APIC */
		p += MP_PROC_SIZE;
	}
	p[0] = 1; p[1] = 0; memcpy(p + 2, "ISA   ", 6); /* bus 0: ISA */
	p += MP_BUS_SIZE; entries++;
	p[0] = 2; p[1] = ioapic_id; p[2] = 0x11; p[3] = 1; /* IOAPIC, enabled */
	cp_put_le32(p + 4, (uint32_t)GP_IOAPIC);
	p += MP_IOAPIC_SIZE; entries++;
	for (unsigned irq = 0; irq < MP_IRQS; irq++, entries++) {
		p[0] = 3;                  /* I/O interrupt assignment */
		p[1] = 0;                  /* vectored interrupt (INT) */
		cp_put_le16(p + 2, 0);     /* conforming polarity/trigger (ISA: edge, high) */
		p[4] = 0;                  /* source bus */
		p[5] = (uint8_t)irq;
		p[6] = ioapic_id;
		p[7] = (uint8_t)irq;
		p += MP_INTSRC_SIZE;
	}
	/* Local interrupt assignments: ExtINT on LINT0, NMI on LINT1, to all local APICs. */
	p[0] = 4; p[1] = 3; p[4] = 0; p[5] = 0; p[6] = 0xff; p[7] = 0;
	p += MP_INTSRC_SIZE; entries++;
	p[0] = 4; p[1] = 1; p[4] = 0; p[5] = 0; p[6] = 0xff; p[7] = 1;
	p += MP_INTSRC_SIZE; entries++;

	cp_put_le16(mpc + 34, entries);
	mpc[7] = checksum(mpc, cfg_len);
	return (int)total;
}
