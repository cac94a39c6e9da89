/* smp: finds the CPUs from the MP table (or, without one, ACPI RSDP -> RSDT/XSDT -> MADT),
 * validating each table it reads, then starts every AP with INIT-SIPI-SIPI through a real-mode
 * trampoline below 1 MiB. APs check in with a locked increment and print under the console lock. */
#include "guest.h"

#define TRAMPOLINE_PADDR 0x8000u              /* SIPI vector 0x08 */
#define LAPIC_ID     0x020
#define LAPIC_SVR    0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_INIT     0x00004500u              /* INIT, level assert */
#define ICR_SIPI     0x00004600u              /* start-up, vector in the low byte */
#define ICR_BUSY     (1u << 12)
#define MSR_APIC_BASE 0x1b
/* Bounded waits in TSC cycles: about 0.3 s and 1 s at 3 GHz. An AP needs a few thousand
 * instructions to check in, far less even under KVM's instruction emulator. */
#define WAIT_FIRST_SIPI (1ull << 30)
#define WAIT_SECOND_SIPI (1ull << 32)

static volatile uint32_t ap_checked_in;
static volatile uint8_t ap_apic_id[16];

static uint8_t rd8(uint32_t p) { return *(const volatile uint8_t *)(uintptr_t)p; }
static uint16_t rd16(uint32_t p) { return (uint16_t)(rd8(p) | (rd8(p + 1) << 8)); }
static uint32_t rd32(uint32_t p) { return *phys32(p); }
static uint64_t rd64(uint32_t p) { return rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

/* The guest reads only memory the VMM listed in its memory map (any type): a table pointer to
 * anywhere else is the VMM's bug, reported rather than followed into unmapped space. */
static bool smp_listed(const struct guest_boot *boot, uint64_t addr, uint64_t len)
{
	uint32_t i;
	if (addr + len < addr || addr + len > 0xfec00000ull)
		return false;
	for (i = 0; i < boot->memmap_entries; i++) {
		const struct guest_memmap_entry *e = &boot->memmap[i];
		if (addr >= e->addr && addr + len <= e->addr + e->size)
			return true;
	}
	return false;
}

static bool cpus_add(struct guest_cpus *cpus, uint32_t apic_id, bool verbose)
{
	if (apic_id > 0xff || cpus->count == sizeof(cpus->apic_ids)) {
		cpus->too_many = true;
		if (verbose)
			console_printf("info: smp: cannot handle APIC id %u (limit %u CPUs, ids < 256)\n",
			               apic_id, (unsigned)sizeof(cpus->apic_ids));
		return false;
	}
	cpus->apic_ids[cpus->count++] = (uint8_t)apic_id;
	return true;
}

/* MP spec 1.4: the floating pointer is on a 16-byte boundary in the first KiB of the EBDA, or
 * (no EBDA) the last KiB of base memory, or the BIOS area 0xf0000-0xfffff. A VMM without a BIOS
 * leaves the BIOS data area zero: then the last KiB below 640 KiB is scanned, as Linux does. */
static uint32_t mp_find_floating(const struct guest_boot *boot)
{
	uint32_t areas[3][2] = { { 0, 1024 }, { 0x9fc00, 1024 }, { 0xf0000, 0x10000 } };
	uint32_t a, p;

	if (smp_listed(boot, 0x400, 0x100)) {
		uint32_t ebda = (uint32_t)rd16(0x40e) << 4, base_kib = rd16(0x413);
		if (ebda >= 0x1000)
			areas[0][0] = ebda;
		if (base_kib > 4 && base_kib <= 640)
			areas[1][0] = (base_kib - 1) << 10;
	}
	for (a = 0; a < 3; a++) {
		uint32_t base = areas[a][0], len = areas[a][1];
		if (base == 0 || !smp_listed(boot, base, len))
			continue;
		for (p = base; p + 16 <= base + len; p += 16)
			if (rd32(p) == 0x5f504d5fu /* "_MP_" */ && rd8(p + 8) == 1 &&
			    mem_sum8((void *)(uintptr_t)p, 16) == 0)
				return p;
	}
	return 0;
}

static bool mp_parse(const struct guest_boot *boot, uint32_t fp, struct guest_cpus *cpus, bool verbose)
{
	uint32_t cfg = rd32(fp + 4), len, off, n, i;

	if (rd8(fp + 11) != 0) {
		if (verbose)
			console_printf("info: smp: MP floating pointer at 0x%x asks for default configuration %u\n",
			               fp, rd8(fp + 11));
		return false;
	}
	if (!smp_listed(boot, cfg, 44) || rd32(cfg) != 0x504d4350u /* "PCMP" */) {
		if (verbose)
			console_printf("info: smp: MP configuration table at 0x%x is not in listed memory or lacks PCMP\n", cfg);
		return false;
	}
	len = rd16(cfg + 4);
	n = rd16(cfg + 34);
	if (len < 44 || !smp_listed(boot, cfg, len) || mem_sum8((void *)(uintptr_t)cfg, len) != 0) {
		if (verbose)
			console_printf("info: smp: MP configuration table at 0x%x: bad length %u or checksum\n", cfg, len);
		return false;
	}
	/* Walked by the base table length, like Linux: some firmware (qboot) leaves the entry
	 * count at 0. */
	if (verbose && n == 0)
		console_printf("info: smp: MP configuration table at 0x%x has entry count 0\n", cfg);
	for (i = 0, off = 44; off < len; i++) {
		uint8_t type;
		uint32_t elen;
		type = rd8(cfg + off);
		elen = type == 0 ? 20 : 8;
		if (type > 4 || off + elen > len) {
			if (type > 4 && verbose)
				console_printf("info: smp: MP entry %u at offset %u has unknown type %u\n", i, off, type);
			if (type > 4)
				return false;
			goto truncated;
		}
		if (type == 0 && verbose)
			console_printf("info: smp: MP processor entry %u: APIC id %u flags 0x%x\n", i,
			               rd8(cfg + off + 1), rd8(cfg + off + 3));
		if (type == 0 && (rd8(cfg + off + 3) & 1) && !cpus_add(cpus, rd8(cfg + off + 1), verbose))
			return false;
		off += elen;
	}
	cpus->source = "MP table";
	return cpus->count > 0;
truncated:
	if (verbose)
		console_printf("info: smp: MP configuration table at 0x%x: entry %u runs past length %u\n", cfg, i, len);
	return false;
}

/* Validates an ACPI table header at paddr (listed memory, sane length, checksum). */
static uint32_t acpi_table_len(const struct guest_boot *boot, uint32_t paddr, bool verbose)
{
	uint32_t len;
	if (!smp_listed(boot, paddr, 36))
		goto bad;
	len = rd32(paddr + 4);
	if (len < 36 || len > 0x100000 || !smp_listed(boot, paddr, len) ||
	    mem_sum8((void *)(uintptr_t)paddr, len) != 0)
		goto bad;
	return len;
bad:
	if (verbose)
		console_printf("info: smp: ACPI table at 0x%x: not in listed memory, bad length or checksum\n", paddr);
	return 0;
}

static bool madt_parse(uint32_t madt, uint32_t len, struct guest_cpus *cpus, bool verbose)
{
	uint32_t off = 44;

	while (off + 2 <= len) {
		uint8_t type = rd8(madt + off), elen = rd8(madt + off + 1);
		if (elen < 2 || off + elen > len) {
			if (verbose)
				console_printf("info: smp: MADT entry at offset %u has bad length %u\n", off, elen);
			return false;
		}
		if (type == 0 && elen >= 8 && (rd32(madt + off + 4) & 1) &&
		    !cpus_add(cpus, rd8(madt + off + 3), verbose))
			return false;
		if (type == 9 && elen >= 16 && (rd32(madt + off + 8) & 1) &&
		    !cpus_add(cpus, rd32(madt + off + 4), verbose))
			return false;
		off += elen;
	}
	cpus->source = "ACPI MADT";
	return cpus->count > 0;
}

static bool acpi_parse(const struct guest_boot *boot, struct guest_cpus *cpus, bool verbose)
{
	uint64_t rsdp = boot->rsdp_paddr, root;
	uint32_t rlen, esize, i;

	if (rsdp == 0 || !smp_listed(boot, rsdp, 20) || rd32((uint32_t)rsdp) != 0x20445352u ||
	    rd32((uint32_t)rsdp + 4) != 0x20525450u /* "RSD PTR " */ ||
	    mem_sum8((void *)(uintptr_t)rsdp, 20) != 0) {
		if (verbose)
			console_printf("info: smp: no valid RSDP at rsdp_paddr 0x%llx\n", (unsigned long long)rsdp);
		return false;
	}
	root = rd32((uint32_t)rsdp + 16);
	esize = 4;
	if (rd8((uint32_t)rsdp + 15) >= 2 && smp_listed(boot, rsdp, 36) &&
	    mem_sum8((void *)(uintptr_t)rsdp, 36) == 0 && rd64((uint32_t)rsdp + 24) &&
	    rd64((uint32_t)rsdp + 24) < 0xfec00000ull) {
		root = rd64((uint32_t)rsdp + 24);
		esize = 8;
	}
	rlen = acpi_table_len(boot, (uint32_t)root, verbose);
	if (!rlen)
		return false;
	for (i = 36; i + esize <= rlen; i += esize) {
		uint64_t t = esize == 8 ? rd64((uint32_t)root + i) : rd32((uint32_t)root + i);
		uint32_t tlen;
		if (t >= 0xfec00000ull || !smp_listed(boot, t, 36) || rd32((uint32_t)t) != 0x43495041u /* "APIC" */)
			continue;
		tlen = acpi_table_len(boot, (uint32_t)t, verbose);
		return tlen >= 44 && madt_parse((uint32_t)t, tlen, cpus, verbose);
	}
	if (verbose)
		console_printf("info: smp: no MADT in the %s at 0x%llx\n", esize == 8 ? "XSDT" : "RSDT",
		               (unsigned long long)root);
	return false;
}

bool guest_cpus_find(const struct guest_boot *boot, struct guest_cpus *cpus, bool verbose)
{
	const struct guest_arg *a = guest_boot_arg(boot, "cpus");
	uint32_t fp;

	/* cpus=mp or cpus=acpi forces one source, so a test can cover both on one VMM. */
	mem_set(cpus, 0, sizeof(*cpus));
	if (a && str_eq_n(a->value, a->value_len, "acpi"))
		return acpi_parse(boot, cpus, verbose);
	fp = mp_find_floating(boot);
	if (a && str_eq_n(a->value, a->value_len, "mp")) {
		if (!fp && verbose)
			console_printf("info: smp: no MP floating pointer\n");
		return fp && mp_parse(boot, fp, cpus, verbose);
	}
	if (fp) {
		if (verbose)
			console_printf("info: smp: MP floating pointer at 0x%x\n", fp);
		if (mp_parse(boot, fp, cpus, verbose))
			return true;
		mem_set(cpus, 0, sizeof(*cpus));
	} else if (verbose) {
		console_printf("info: smp: no MP floating pointer\n");
	}
	return acpi_parse(boot, cpus, verbose);
}

static volatile uint32_t *lapic(uint32_t reg) { return phys32(GUEST_LAPIC_BASE + reg); }

static bool lapic_send(uint32_t apic_id, uint32_t icr)
{
	uint32_t i;
	*lapic(LAPIC_ICR_HI) = apic_id << 24;
	*lapic(LAPIC_ICR_LO) = icr;
	for (i = 0; i < 1000; i++)
		if (!(*lapic(LAPIC_ICR_LO) & ICR_BUSY))
			return true;
	return false;
}

static bool wait_checked_in(uint32_t want, uint64_t cycles)
{
	uint64_t start = rdtsc();
	while (ap_checked_in < want)
		if (rdtsc() - start > cycles)
			return false;
		else
			cpu_relax();
	return true;
}

void smp_ap_main(uint32_t ticket)
{
	uint32_t id = *lapic(LAPIC_ID) >> 24;

	if (ticket < sizeof(ap_apic_id))
		ap_apic_id[ticket] = (uint8_t)id;
	console_printf("info: smp: AP with APIC id %u checked in (ticket %u)\n", id, ticket);
	__asm__ volatile("lock incl %0" : "+m"(ap_checked_in) : : "memory");
	for (;;)
		__asm__ volatile("cli; hlt");
}

void scenario_smp(const struct guest_boot *boot)
{
	struct guest_cpus cpus;
	uint32_t tramp_len = (uint32_t)(ap_trampoline_end - ap_trampoline_start);
	uint32_t bsp_id, lo, hi, i, started = 0;
	bool bsp_listed = false;

	const struct guest_arg *a = guest_boot_arg(boot, "cpus");

	if (a && !str_eq_n(a->value, a->value_len, "mp") && !str_eq_n(a->value, a->value_len, "acpi"))
		guest_fail(GUEST_BAD_ARGUMENT, "cpus=%.*s: want cpus=mp or cpus=acpi", (int)a->value_len,
		           a->value);
	if (!guest_cpus_find(boot, &cpus, true)) {
		if (cpus.too_many)
			guest_fail(GUEST_SMP_FAILED, "smp: more CPUs than the guest handles (16, APIC ids < 256)");
		guest_fail(GUEST_SMP_FAILED, "smp: no usable %s", !a ? "MP table or ACPI MADT" :
		           str_eq_n(a->value, a->value_len, "mp") ? "MP table" : "ACPI MADT");
	}
	console_printf("info: smp: %u CPUs from the %s, APIC ids:", cpus.count, cpus.source);
	for (i = 0; i < cpus.count; i++)
		console_printf(" %u", cpus.apic_ids[i]);
	console_printf("\n");
	console_printf("smp: %u CPUs\n", cpus.count);

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_APIC_BASE));
	if (!(lo & (1u << 11)) || (lo & 0xfffff000u) != GUEST_LAPIC_BASE || hi)
		guest_fail(GUEST_SMP_FAILED, "smp: APIC_BASE MSR 0x%x%08x: local APIC disabled or not at 0x%x",
		           hi, lo, GUEST_LAPIC_BASE);
	bsp_id = *lapic(LAPIC_ID) >> 24;
	for (i = 0; i < cpus.count; i++)
		bsp_listed |= cpus.apic_ids[i] == bsp_id;
	if (!bsp_listed)
		guest_fail(GUEST_SMP_FAILED, "smp: the BSP's APIC id %u is not in the %s", bsp_id, cpus.source);
	if (!guest_boot_is_ram(boot, TRAMPOLINE_PADDR, 4096))
		guest_fail(GUEST_SMP_FAILED, "smp: no RAM at 0x%x for the AP trampoline", TRAMPOLINE_PADDR);
	mem_copy((void *)(uintptr_t)TRAMPOLINE_PADDR, ap_trampoline_start, tramp_len);
	*lapic(LAPIC_SVR) = *lapic(LAPIC_SVR) | 0x1ff; /* software enable, spurious vector 0xff */

	/* One AP at a time: the check-in order (and so the transcript) is the table's order. */
	for (i = 0; i < cpus.count; i++) {
		uint32_t id = cpus.apic_ids[i];
		if (id == bsp_id)
			continue;
		started++;
		if (!lapic_send(id, ICR_INIT) || !lapic_send(id, ICR_SIPI | (TRAMPOLINE_PADDR >> 12)))
			guest_fail(GUEST_SMP_FAILED, "smp: the IPI to APIC id %u stayed pending", id);
		if (!wait_checked_in(started, WAIT_FIRST_SIPI)) {
			if (!lapic_send(id, ICR_SIPI | (TRAMPOLINE_PADDR >> 12)) ||
			    !wait_checked_in(started, WAIT_SECOND_SIPI))
				guest_fail(GUEST_SMP_FAILED, "smp: AP with APIC id %u did not check in", id);
		}
		if (ap_apic_id[started] != id)
			guest_fail(GUEST_SMP_FAILED, "smp: started APIC id %u but APIC id %u checked in", id,
			           ap_apic_id[started]);
	}
	console_printf("smp: all %u APs checked in\n", started);
	guest_pass();
}
