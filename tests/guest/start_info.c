/* The guest's one reader of what the VMM hands it: struct hvm_start_info (PVH ABI), its memory
 * map (version 1) and the command line, validated and copied into struct guest_boot. */
#include "guest.h"

#define HVM_START_MAGIC 0x336ec578u

/* Offsets of struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h). */
#define SI_MAGIC          0
#define SI_VERSION        4
#define SI_FLAGS          8
#define SI_NR_MODULES    12
#define SI_CMDLINE_PADDR 24
#define SI_RSDP_PADDR    32
#define SI_MEMMAP_PADDR  40
#define SI_MEMMAP_ENTRIES 48

static uint32_t rd32(uint32_t paddr) { return *phys32(paddr); }
static uint64_t rd64(uint32_t paddr) { return rd32(paddr) | ((uint64_t)rd32(paddr + 4) << 32); }

/* Without a valid start info there is no scenario name: the first line says "?". */
__attribute__((noreturn, format(printf, 1, 2)))
static void boot_fail(const char *fmt, ...)
{
	va_list ap;
	console_printf("carapace-test-guest: scenario ?\n");
	va_start(ap, fmt);
	guest_vfail(GUEST_BAD_START_INFO, "hvm_start_info: ", fmt, ap);
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Splits the copied command line: the first word is the scenario, the rest key=value words. */
static void boot_split_cmdline(struct guest_boot *boot)
{
	const char *p = boot->cmdline;
	bool first = true;

	while (*p) {
		const char *w;
		size_t len;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && !is_space(*p))
			p++;
		len = (size_t)(p - w);
		if (first) {
			if (len >= sizeof(boot->scenario))
				boot_fail("scenario word of %u bytes is too long (limit %llu)",
				                  (uint32_t)len, (uint64_t)sizeof(boot->scenario) - 1);
			mem_copy(boot->scenario, w, len);
			boot->scenario[len] = '\0';
			first = false;
		} else {
			struct guest_arg *a;
			size_t k = 0;

			if (boot->nargs == GUEST_MAX_ARGS)
				boot_fail("more than %u command line arguments (word at offset %llu)",
				                  GUEST_MAX_ARGS, (uint64_t)(w - boot->cmdline));
			a = &boot->args[boot->nargs++];
			while (k < len && w[k] != '=')
				k++;
			a->key = w;
			a->key_len = k;
			a->value = k < len ? w + k + 1 : NULL;
			a->value_len = k < len ? len - k - 1 : 0;
		}
	}
	if (first)
		mem_copy(boot->scenario, "demo", 5);
}

void guest_boot_parse(uint32_t paddr, struct guest_boot *boot)
{
	uint64_t cmdline, memmap;
	uint32_t magic, i, n;

	boot->start_info_paddr = paddr;
	/* Without paging only the low 4 GiB are reachable; 0 means the VMM passed nothing. */
	if (paddr == 0 || paddr > 0xffffffffu - 56)
		boot_fail("EBX = 0x%x is not a usable start info address", paddr);
	magic = rd32(paddr + SI_MAGIC);
	if (magic != HVM_START_MAGIC)
		boot_fail("bad magic 0x%x at offset 0 (want 0x336ec578)", magic);
	boot->version = rd32(paddr + SI_VERSION);
	if (boot->version < 1)
		boot_fail("version %u at offset 4 has no memory map (want >= 1)",
		                  boot->version);
	boot->flags = rd32(paddr + SI_FLAGS);
	boot->nr_modules = rd32(paddr + SI_NR_MODULES);
	boot->rsdp_paddr = rd64(paddr + SI_RSDP_PADDR);

	cmdline = rd64(paddr + SI_CMDLINE_PADDR);
	if (cmdline > 0xffffffffu - GUEST_MAX_CMDLINE)
		boot_fail("cmdline_paddr at offset %u is above 4 GiB: 0x%llx", SI_CMDLINE_PADDR,
		                  cmdline);
	if (cmdline) {
		const volatile char *src = (const volatile char *)(uintptr_t)cmdline;
		for (i = 0; src[i]; i++) {
			if (i == GUEST_MAX_CMDLINE - 1)
				boot_fail("command line longer than %u bytes at 0x%llx",
				                  GUEST_MAX_CMDLINE - 1, cmdline);
			boot->cmdline[i] = src[i];
		}
		boot->cmdline[i] = '\0';
	}

	memmap = rd64(paddr + SI_MEMMAP_PADDR);
	n = rd32(paddr + SI_MEMMAP_ENTRIES);
	if (n > GUEST_MAX_MEMMAP)
		boot_fail("memmap_entries %u at offset 48 exceeds the guest's limit %llu", n,
		                  (uint64_t)GUEST_MAX_MEMMAP);
	if (n && (memmap == 0 || memmap > 0xffffffffu - GUEST_MAX_MEMMAP * 24))
		boot_fail("memmap_paddr at offset %u is not below 4 GiB: 0x%llx", SI_MEMMAP_PADDR,
		                  memmap);
	boot->memmap_entries = n;
	for (i = 0; i < n; i++) {
		uint32_t e = (uint32_t)memmap + i * 24;
		boot->memmap[i].addr = rd64(e);
		boot->memmap[i].size = rd64(e + 8);
		boot->memmap[i].type = rd32(e + 16);
	}
	boot_split_cmdline(boot);
}

uint64_t guest_boot_ram_total(const struct guest_boot *boot)
{
	uint64_t total = 0;
	uint32_t i;
	for (i = 0; i < boot->memmap_entries; i++)
		if (boot->memmap[i].type == GUEST_E820_RAM)
			total += boot->memmap[i].size;
	return total;
}

/* True when one RAM entry covers [addr, addr + len): what the guest needs before using memory. */
bool guest_boot_is_ram(const struct guest_boot *boot, uint64_t addr, uint64_t len)
{
	uint32_t i;
	for (i = 0; i < boot->memmap_entries; i++) {
		const struct guest_memmap_entry *e = &boot->memmap[i];
		if (e->type == GUEST_E820_RAM && addr >= e->addr && addr + len <= e->addr + e->size &&
		    addr + len >= addr)
			return true;
	}
	return false;
}

const struct guest_arg *guest_boot_arg(const struct guest_boot *boot, const char *key)
{
	unsigned i;
	for (i = 0; i < boot->nargs; i++)
		if (boot->args[i].value && str_eq_n(boot->args[i].key, boot->args[i].key_len, key))
			return &boot->args[i];
	return NULL;
}

bool guest_boot_count(const struct guest_boot *boot, uint32_t dflt, uint32_t *out)
{
	const struct guest_arg *a = guest_boot_arg(boot, "count");

	*out = dflt;
	if (a)
		return parse_u32(a->value, a->value_len, out);
	if (boot->nargs && !boot->args[0].value)
		return parse_u32(boot->args[0].key, boot->args[0].key_len, out);
	return true;
}
