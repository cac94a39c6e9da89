/* A user-space I/O APIC (82093AA register model) for VMs whose irqchip is split: KVM keeps the
 * local APICs, the VMM keeps the IOAPIC. TDX requires this. The model is pure: guest register
 * accesses in, and for each pin the MSI that KVM should deliver (KVM_SET_GSI_ROUTING for irqfds,
 * KVM_SIGNAL_MSI for interrupts the VMM raises itself). Nothing the guest writes is trusted:
 * unknown registers read 0 and ignore writes, read-only bits stay as the model sets them. */
#ifndef CARAPACE_RUNNER_IOAPIC_H
#define CARAPACE_RUNNER_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_SIZE 0x1000ull
#define IOAPIC_PINS 24

struct ioapic {
	uint32_t ioregsel;
	uint32_t id;
	uint64_t redir[IOAPIC_PINS];
	uint32_t level;     /* current line level per pin (what the devices assert) */
};

/* The MSI a pin is routed to (Intel SDM "Message Address/Data" for an IOAPIC-originated MSI). */
struct ioapic_msi {
	uint32_t address_lo, address_hi, data;
};

void ioapic_reset(struct ioapic *io);

/* A guest access at `offset` within the IOAPIC page (len 1..8). Writes that change a redirection
 * entry set *routes_changed (the caller re-programs KVM's routing). Returns false for an access
 * the model refuses (not a 32-bit access to IOREGSEL/IOWIN): reads then return 0. */
bool ioapic_access(struct ioapic *io, uint64_t offset, bool is_write, uint8_t *data, unsigned len,
		   bool *routes_changed);

/* Pin -> MSI, or false when the pin is masked or its delivery mode cannot be an MSI (ExtINT). */
bool ioapic_pin_msi(const struct ioapic *io, unsigned pin, struct ioapic_msi *out);

/* A device drives `pin` to `level`. Returns true when an interrupt must be delivered now (a
 * rising edge on an unmasked pin, or a level on an unmasked level-triggered pin), with its MSI. */
bool ioapic_set_level(struct ioapic *io, unsigned pin, bool level, struct ioapic_msi *out);

/* The guest's EOI for `vector` (KVM_EXIT_IOAPIC_EOI): clears Remote IRR of level-triggered pins
 * with that vector; returns a bitmask of pins whose line is still high and must be delivered
 * again (ioapic_pin_msi gives their MSI). */
uint32_t ioapic_eoi(struct ioapic *io, uint8_t vector);

#endif
