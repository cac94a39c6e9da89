/* The bzImage test guest's real-mode part: only the setup header (boot.rst) a 64-bit loader
 * reads. One setup sector after the boot sector: the protected-mode part starts at 1024. */
#define HDR(off) .org (off)
	.section .setup, "a"
	HDR(0x1f1)
	.byte	1			/* setup_sects */
	HDR(0x1fe)
	.word	0xaa55			/* boot_flag */
	HDR(0x200)
	.byte	0xeb, hdr_end - hdrs	/* jump over the header: its end for loaders */
	HDR(0x202)
hdrs:	.ascii	"HdrS"
	.word	0x020f			/* protocol 2.15 */
	HDR(0x211)
	.byte	0x01			/* loadflags: LOADED_HIGH */
	HDR(0x214)
	.long	0x1000000		/* code32_start (unused: only the 64-bit entry exists) */
	HDR(0x22c)
	.long	0x7fffffff		/* initrd_addr_max */
	.long	0x200000		/* kernel_alignment */
	.byte	0			/* relocatable_kernel: no, load at pref_address */
	.byte	0
	.word	0x0001			/* xloadflags: XLF_KERNEL_64 */
	.long	2047			/* cmdline_size */
	HDR(0x258)
	.quad	0x1000000		/* pref_address */
	.long	0x100000		/* init_size: image + bss + stack, checked by the build */
	.long	0			/* handover_offset */
hdr_end:
	.org	1024, 0

	.section .note.GNU-stack, "", @progbits
