/* libFuzzer target: guest accesses to the user-space IOAPIC (offset, size, direction, value),
 * device line changes and EOIs in any order. Every MSI the model produces must carry an APIC
 * message address, and read-only bits must never be set by the guest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/ioapic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ioapic *io)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		struct ioapic_msi m;
		if (ioapic_pin_msi(io, pin, &m) && (m.address_lo & 0xfff00000u) != 0xfee00000u)
			abort();
		if ((io->redir[pin] & (1ull << 14)) && !(io->redir[pin] & (1ull << 15)))
			abort(); /* Remote IRR on an edge pin */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ioapic io;
	ioapic_reset(&io);
	while (size >= 7) {
		uint8_t op = data[0], buf[8];
		uint16_t off = (uint16_t)(data[1] | data[2] << 8) & 0xfff;
		bool changed;
		struct ioapic_msi m;
		memcpy(buf, data + 3, 4);
		memset(buf + 4, 0, 4);
		switch (op & 3) {
		case 0:
			(void)ioapic_access(&io, off, op & 4, buf, 1u + ((op >> 3) & 7), &changed);
			break;
		case 1:
			(void)ioapic_set_level(&io, data[1] % 30, data[2] & 1, &m);
			break;
		case 2:
			(void)ioapic_eoi(&io, data[1]);
			break;
		default:
			(void)ioapic_pin_msi(&io, data[1] % 30, &m);
			break;
		}
		check(&io);
		data += 7;
		size -= 7;
	}
	return 0;
}
