/* Minimal PVH entry for the carapace test guest (placeholder; the full guest replaces it). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18          /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long pvh_start

	.text
	.code32
	.globl pvh_start
pvh_start:
	cli
	mov $msg, %esi
1:	lodsb
	test %al, %al
	jz 2f
	mov $0x3f8, %dx
	out %al, %dx
	jmp 1b
2:	mov $0xfe, %al
	out %al, $0x64
3:	hlt
	jmp 3b

	.section .rodata
msg:	.asciz "carapace test guest: hello\n"
