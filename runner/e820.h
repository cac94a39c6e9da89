/* The guest's memory map (E820 for Linux, the PVH memmap): pure, computed from RAM size. */
#ifndef CARAPACE_RUNNER_E820_H
#define CARAPACE_RUNNER_E820_H

#include <stddef.h>
#include <stdint.h>

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX 8

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

struct e820_map {
	size_t n;
	struct e820_entry e[E820_MAX];
};

/* Fill map for a guest with ram_size bytes; RAM above 3 GiB is relocated above 4 GiB. */
void e820_build(uint64_t ram_size, struct e820_map *map);

/* True when [gpa, gpa+len) lies entirely inside one E820_RAM entry. */
int e820_is_ram(const struct e820_map *map, uint64_t gpa, uint64_t len);

#endif
