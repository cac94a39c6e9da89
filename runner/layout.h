/* Guest-physical memory layout of a plain (non-confidential) carapace VM. */
#ifndef CARAPACE_RUNNER_LAYOUT_H
#define CARAPACE_RUNNER_LAYOUT_H

#define GP_ZERO_PAGE      0x00007000ull /* Linux boot_params */
#define GP_GDT            0x00000500ull /* 4 GDT entries */
#define GP_PVH_START_INFO 0x00005000ull /* struct hvm_start_info */
#define GP_PVH_MEMMAP     0x00005100ull /* hvm_memmap_table_entry[], up to 64 */
#define GP_PVH_MODLIST    0x00005900ull /* hvm_modlist_entry[1] */
#define GP_PML4           0x00009000ull /* identity page tables for 64-bit Linux entry */
#define GP_PDPT           0x0000a000ull
#define GP_PD             0x0000b000ull /* 4 pages: 4 GiB in 2 MiB pages */
#define GP_CMDLINE        0x00020000ull
#define GP_CMDLINE_MAX    0x00010000ull /* 64 KiB, bigger than any kernel accepts */
#define GP_EBDA           0x0009fc00ull /* MP tables live in the EBDA */
#define GP_EBDA_END       0x000a0000ull
#define GP_BIOS           0x000f0000ull /* reserved (legacy BIOS area) */
#define GP_HIGH_START     0x00100000ull /* kernels load at 1 MiB */
#define GP_MMIO_HOLE      0xc0000000ull /* RAM above 3 GiB moves above 4 GiB */
#define GP_4G             0x100000000ull
#define GP_VIRTIO_MMIO    0xfeb00000ull /* as QEMU microvm: 512-byte windows, RUN_MAX_DEVICES of them */
#define GP_VIRTIO_MMIO_SZ 0x200ull
#define GP_IOAPIC         0xfec00000ull
#define GP_LAPIC          0xfee00000ull
#define GP_TSS            0xfffbd000ull /* KVM_SET_TSS_ADDR: 3 pages below the BIOS ROM alias */
#define GP_IDENTITY_MAP   0xfffbc000ull

#define GUEST_MEM_MIN     (16ull << 20)
#define GUEST_MEM_MAX     (1ull << 40)

#endif
