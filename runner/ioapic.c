/* User-space I/O APIC: see ioapic.h. Register model after the 82093AA datasheet and QEMU/KVM's
 * IOAPIC (version 0x11, 24 pins): IOREGSEL at 0x00, IOWIN at 0x10; index 0 ID, 1 version,
 * 2 arbitration ID, 0x10 + 2n / 0x11 + 2n the low / high dword of redirection entry n. */
#include "runner/ioapic.h"

#include <string.h>

#include "common/util.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_VERSION (0x11u | ((IOAPIC_PINS - 1u) << 16))

/* Redirection entry bits */
#define RE_VECTOR 0xffull
#define RE_DELIVERY_SHIFT 8
#define RE_DESTMODE (1ull << 11)
#define RE_DELIVS (1ull << 12)   /* read-only */
#define RE_POLARITY (1ull << 13)
#define RE_REMOTE_IRR (1ull << 14) /* read-only */
#define RE_TRIGGER_LEVEL (1ull << 15)
#define RE_MASK (1ull << 16)
#define RE_DEST_SHIFT 56
#define RE_RO (RE_DELIVS | RE_REMOTE_IRR)
/* What the guest may set: vector, delivery mode, dest mode, polarity, trigger, mask, dest. */
#define RE_WRITABLE (RE_VECTOR | (7ull << RE_DELIVERY_SHIFT) | RE_DESTMODE | RE_POLARITY | RE_TRIGGER_LEVEL | \
		     RE_MASK | (0xffull << RE_DEST_SHIFT))

enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_EXTINT = 7 };

void ioapic_reset(struct ioapic *io)
{
	memset(io, 0, sizeof(*io));
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->redir[i] = RE_MASK;
}

static uint32_t read_index(const struct ioapic *io, uint32_t idx)
{
	if (idx == 0x00)
		return io->id << 24;
	if (idx == 0x01)
		return IOAPIC_VERSION;
	if (idx == 0x02)
		return io->id << 24;
	if (idx >= 0x10 && idx < 0x10 + 2 * IOAPIC_PINS) {
		uint64_t e = io->redir[(idx - 0x10) / 2];
		return (idx & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	return 0;
}

static bool write_index(struct ioapic *io, uint32_t idx, uint32_t v)
{
	if (idx == 0x00) {
		io->id = (v >> 24) & 0xf;
		return false;
	}
	if (idx >= 0x10 && idx < 0x10 + 2 * IOAPIC_PINS) {
		unsigned pin = (idx - 0x10) / 2;
		uint64_t old = io->redir[pin], e = old;
		if (idx & 1)
			e = (e & 0xffffffffull) | (uint64_t)v << 32;
		else
			e = (e & ~0xffffffffull) | v;
		e = (e & RE_WRITABLE) | (old & RE_RO);
		/* An edge-triggered pin has no Remote IRR. */
		if (!(e & RE_TRIGGER_LEVEL))
			e &= ~RE_REMOTE_IRR;
		io->redir[pin] = e;
		return e != old;
	}
	return false; /* version and arbitration are read-only */
}

bool ioapic_access(struct ioapic *io, uint64_t offset, bool is_write, uint8_t *data, unsigned len,
		   bool *routes_changed)
{
	*routes_changed = false;
	/* Software must use 32-bit accesses to these two registers (82093AA 3.0). IOREGSEL is
	 * commonly written with a byte access too: accept 1 or 4 bytes there. */
	if (offset == IOREGSEL && (len == 4 || len == 1)) {
		if (is_write)
			io->ioregsel = data[0];
		else {
			memset(data, 0, len);
			data[0] = (uint8_t)io->ioregsel;
		}
		return true;
	}
	if (offset == IOWIN && len == 4) {
		if (is_write)
			*routes_changed = write_index(io, io->ioregsel, cp_le32(data));
		else
			cp_put_le32(data, read_index(io, io->ioregsel));
		return true;
	}
	if (!is_write)
		memset(data, 0, len);
	return false;
}

bool ioapic_pin_msi(const struct ioapic *io, unsigned pin, struct ioapic_msi *out)
{
	uint64_t e;
	unsigned dm;

	if (pin >= IOAPIC_PINS)
		return false;
	e = io->redir[pin];
	dm = (unsigned)(e >> RE_DELIVERY_SHIFT) & 7;
	if ((e & RE_MASK) || dm == DM_EXTINT || dm == 3 || dm == 6)
		return false;
	/* Address: 0xFEE, destination ID in 19:12, destination mode (logical) in bit 2. Data: vector,
	 * delivery mode in 10:8, level-assert in 14 and trigger mode in 15 for level pins. */
	out->address_lo = 0xfee00000u | (uint32_t)((e >> RE_DEST_SHIFT) & 0xff) << 12 | ((e & RE_DESTMODE) ? 1u << 2 : 0);
	out->address_hi = 0;
	out->data = (uint32_t)(e & RE_VECTOR) | dm << 8 | ((e & RE_TRIGGER_LEVEL) ? (1u << 15 | 1u << 14) : 0);
	return true;
}

bool ioapic_set_level(struct ioapic *io, unsigned pin, bool level, struct ioapic_msi *out)
{
	bool was;
	uint64_t *e;

	if (pin >= IOAPIC_PINS)
		return false;
	was = io->level & (1u << pin);
	if (level)
		io->level |= 1u << pin;
	else
		io->level &= ~(1u << pin);
	e = &io->redir[pin];
	if (!level || !ioapic_pin_msi(io, pin, out))
		return false;
	if (*e & RE_TRIGGER_LEVEL) {
		if (*e & RE_REMOTE_IRR)
			return false; /* delivered, not yet EOI'd */
		*e |= RE_REMOTE_IRR;
		return true;
	}
	return !was; /* edge: the rising edge only */
}

uint32_t ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	uint32_t again = 0;

	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t *e = &io->redir[pin];
		if ((*e & RE_VECTOR) != vector || !(*e & RE_TRIGGER_LEVEL) || !(*e & RE_REMOTE_IRR))
			continue;
		*e &= ~RE_REMOTE_IRR;
		if ((io->level & (1u << pin)) && !(*e & RE_MASK)) {
			*e |= RE_REMOTE_IRR;
			again |= 1u << pin;
		}
	}
	return again;
}
