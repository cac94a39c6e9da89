/* Shared declarations of the freestanding PVH test guest: port I/O, console, start info,
 * the scenario table entry type and the debug-exit status codes (the guest's public contract). */
#ifndef CARAPACE_TEST_GUEST_H
#define CARAPACE_TEST_GUEST_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

/* Status written to the debug-exit port; the VMM exits with (status << 1) | 1.
 * Each kind of in-guest failure has its own value so a host test can tell them apart. */
enum guest_status {
	GUEST_PASS = 0,
	GUEST_BAD_START_INFO = 1,   /* hvm_start_info missing, bad magic or version */
	GUEST_UNKNOWN_SCENARIO = 2, /* first cmdline word names no scenario */
	GUEST_BAD_ARGUMENT = 3,     /* a key=value argument is malformed or unknown */
	GUEST_CHECK_FAILED = 4,     /* a scenario's own check failed (see the FAIL line) */
	GUEST_SMP_FAILED = 5,       /* no CPU table, or APs did not check in */
	GUEST_EXCEPTION = 6,        /* an unexpected CPU exception reached the guest's IDT */
	GUEST_VIRTIO_FAILED = 7,    /* a virtio-mmio device misbehaved */
	GUEST_HOSTILE_SURVIVED = 8, /* a hostile action returned control to the guest */
};

/* Test-only devices and fixed addresses used by the guest. */
#define GUEST_UART_BASE      0x3f8
#define GUEST_UART_THR       (GUEST_UART_BASE + 0)
#define GUEST_UART_LSR       (GUEST_UART_BASE + 5)
#define GUEST_UART_SCR       (GUEST_UART_BASE + 7)
#define GUEST_UART_LSR_THRE  0x20
#define GUEST_DEBUG_EXIT_PORT 0xf4
#define GUEST_I8042_DATA_PORT 0x60
#define GUEST_I8042_CMD_PORT 0x64
#define GUEST_I8042_RESET    0xfe
#define GUEST_UNMAPPED_ADDR  0xd0000000u
#define GUEST_LAPIC_BASE     0xfee00000u
#define GUEST_IMAGE_BASE     0x100000u

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
/* Physical memory is identity-mapped (no paging): a physical address is a pointer. */
static inline volatile uint32_t *phys32(uint32_t paddr) { return (volatile uint32_t *)(uintptr_t)paddr; }

/* console.c: polled 16550 output; every line is printed whole under one lock (APs print too). */
void console_putc_raw(char c);
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_vprintf(const char *fmt, va_list ap); /* caller holds the lock */
void console_puts(const char *s);                   /* caller holds the lock */
void console_lock(void);
void console_unlock(void);

/* lib.c: the few string helpers a freestanding build needs. */
size_t str_len(const char *s);
bool str_eq(const char *a, const char *b);
bool str_eq_n(const char *a, size_t alen, const char *b);
bool mem_eq(const void *a, const void *b, size_t n);
void mem_copy(void *dst, const void *src, size_t n);
void mem_set(void *dst, int c, size_t n);
uint8_t mem_sum8(const void *p, size_t n);
/* Parses a decimal or 0x-hex number of exactly len chars; false on junk or overflow. */
bool parse_u32(const char *s, size_t len, uint32_t *out);
bool parse_u64(const char *s, size_t len, uint64_t *out);

/* The version 1 PVH start info, as the guest has validated and copied it. */
struct guest_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
#define GUEST_E820_RAM 1
#define GUEST_MAX_MEMMAP 64
#define GUEST_MAX_CMDLINE 1024
#define GUEST_MAX_ARGS 32 /* 16 virtio-mmio devices on the command line plus the scenario's own */

struct guest_arg {
	const char *key;
	size_t key_len;
	const char *value; /* NULL for a bare word */
	size_t value_len;
};

struct guest_boot {
	uint32_t start_info_paddr;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t rsdp_paddr;
	uint32_t memmap_entries;
	struct guest_memmap_entry memmap[GUEST_MAX_MEMMAP];
	char cmdline[GUEST_MAX_CMDLINE];
	char scenario[32];
	unsigned nargs;
	struct guest_arg args[GUEST_MAX_ARGS];
};

/* start_info.c: fills boot, or prints why it cannot and exits with GUEST_BAD_START_INFO. */
void guest_boot_parse(uint32_t start_info_paddr, struct guest_boot *boot);
uint64_t guest_boot_ram_total(const struct guest_boot *boot);
bool guest_boot_is_ram(const struct guest_boot *boot, uint64_t addr, uint64_t len);
/* The first key=value argument with this key (value not NUL-terminated), or NULL. */
const struct guest_arg *guest_boot_arg(const struct guest_boot *boot, const char *key);
/* count=N or a bare number (the second word); dflt when absent; false on a bad number. */
bool guest_boot_count(const struct guest_boot *boot, uint32_t dflt, uint32_t *out);

/* main.c: ending a scenario. */
__attribute__((noreturn)) void guest_exit(enum guest_status s);
__attribute__((noreturn)) void guest_pass(void);
__attribute__((noreturn)) void guest_fail(enum guest_status s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints "carapace-test-guest: FAIL: " + prefix + the message as one line, then exits. */
__attribute__((noreturn)) void guest_vfail(enum guest_status s, const char *prefix, const char *fmt,
                                           va_list ap);
void guest_debug_exit_write(uint32_t status);

/* entry.S */
__attribute__((noreturn)) void guest_triple_fault(void);
extern char ap_trampoline_start[], ap_trampoline_end[];

/* Scenarios: each ends the VM itself (guest_pass / guest_fail / a hostile action). */
struct guest_scenario {
	const char *name;
	void (*run)(const struct guest_boot *boot);
	const char *summary;
};
void scenario_hello(const struct guest_boot *boot);
void scenario_demo(const struct guest_boot *boot);
void scenario_reset(const struct guest_boot *boot);
void scenario_ctrl_alt_del(const struct guest_boot *boot);
void scenario_memmap(const struct guest_boot *boot);
void scenario_cmdline(const struct guest_boot *boot);
void scenario_cpuid(const struct guest_boot *boot);
void scenario_smp(const struct guest_boot *boot);
void scenario_triple_fault(const struct guest_boot *boot);
void scenario_ud(const struct guest_boot *boot);
void scenario_bad_insn(const struct guest_boot *boot);
void scenario_mmio_read(const struct guest_boot *boot);
void scenario_mmio_write(const struct guest_boot *boot);
void scenario_oob_write(const struct guest_boot *boot);
void scenario_uart_flood(const struct guest_boot *boot);
void scenario_spin(const struct guest_boot *boot);
void scenario_io_loop(const struct guest_boot *boot);
void scenario_hlt(const struct guest_boot *boot);
void scenario_virtio_blk(const struct guest_boot *boot);
void scenario_virtio_blk_hotplug(const struct guest_boot *boot);
void scenario_virtio_rng(const struct guest_boot *boot);
void scenario_virtio_console(const struct guest_boot *boot);
void scenario_virtio_vsock(const struct guest_boot *boot);
/* The demo's use of whatever virtio devices were given (none: nothing printed). */
void demo_virtio(const struct guest_boot *boot);

/* smp.c: also used by demo to report the vCPU count (0 when no table was found). */
struct guest_cpus {
	unsigned count;
	uint8_t apic_ids[16]; /* entry.S AP_MAX + the BSP */
	const char *source; /* "MP table" or "ACPI MADT" */
	bool too_many;      /* a table listed more CPUs (or larger ids) than the guest handles */
};
bool guest_cpus_find(const struct guest_boot *boot, struct guest_cpus *cpus, bool verbose);

/* AP entry from the trampoline (entry.S), with the AP's ticket (1..N). */
__attribute__((noreturn)) void smp_ap_main(uint32_t ticket);

#endif
