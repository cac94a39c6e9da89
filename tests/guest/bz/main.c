/* The bzImage test guest: entered by carapace's firmware-less direct-boot layout (docs/guest.md
 * "bzImage guest"), it checks boot_params, e820, setup_data and the ACPI tables with bzcheck.c,
 * prints what it found on COM1 and ends through the debug-exit port (0 = pass, 4 = a check
 * failed). Identity-mapped 4 GiB: guest-physical addresses are pointers. */
#include <stdint.h>

#include "bzcheck.h"

void bz_main(uint64_t boot_params);

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void uart_print(const char *s)
{
	for (; *s; s++) {
		for (int i = 0; i < 10000 && !(inb(0x3fd) & 0x20); i++)
			;
		outb(0x3f8, (uint8_t)*s);
	}
}

static void debug_exit(uint32_t status)
{
	__asm__ volatile("outl %0, %1" : : "a"(status), "Nd"((uint16_t)0xf4));
}

void bz_main(uint64_t boot_params)
{
	struct bz_mem m = { .base = 0, .limit = 1ull << 32, .print = uart_print };
	struct bz_report r;

	uart_print("carapace-test-bzimage: 64-bit entry reached\n");
	if (bz_check(&m, boot_params, &r) == 0) {
		uart_print("carapace-test-bzimage: PASS\n");
		debug_exit(0);
	}
	debug_exit(4);
}
