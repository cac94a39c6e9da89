/* E820 map construction. */
#include "runner/e820.h"

#include "runner/layout.h"

static void add(struct e820_map *m, uint64_t addr, uint64_t size, uint32_t type)
{
	if (m->n < E820_MAX && size)
		m->e[m->n++] = (struct e820_entry){ addr, size, type };
}

void e820_build(uint64_t ram_size, struct e820_map *map)
{
	uint64_t low = ram_size < GP_MMIO_HOLE ? ram_size : GP_MMIO_HOLE;

	map->n = 0;
	add(map, 0, GP_EBDA, E820_RAM);
	add(map, GP_EBDA, GP_EBDA_END - GP_EBDA, E820_RESERVED);
	add(map, GP_BIOS, GP_HIGH_START - GP_BIOS, E820_RESERVED);
	add(map, GP_HIGH_START, low - GP_HIGH_START, E820_RAM);
	if (ram_size > GP_MMIO_HOLE)
		add(map, GP_4G, ram_size - GP_MMIO_HOLE, E820_RAM);
}

int e820_is_ram(const struct e820_map *map, uint64_t gpa, uint64_t len)
{
	for (size_t i = 0; i < map->n; i++) {
		const struct e820_entry *e = &map->e[i];
		if (e->type == E820_RAM && gpa >= e->addr && len <= e->size && gpa - e->addr <= e->size - len)
			return 1;
	}
	return 0;
}
