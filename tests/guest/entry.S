/* Assembly of the test guest: the PVH ELF note and 32-bit entry, the guest's own GDT and IDT
 * (exception stubs), the deliberate triple fault, and the real-mode AP trampoline for smp. */

	/* Names the file symbol: without it gas names it after gcc's random temporary object. */
	.file "entry.S"

#define GUEST_CS 0x08
#define GUEST_DS 0x10
#define BSP_STACK_SIZE 8192
#define AP_STACK_SHIFT 10               /* 1 KiB per AP: ap_main prints one line, nothing more */
#define AP_MAX 15                       /* with the BSP: 16 CPUs, guest_cpus.apic_ids[] */

	/* XEN_ELFNOTE_PHYS32_ENTRY (18): the 32-bit physical entry point of the PVH boot ABI. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18
	.asciz "Xen"
	.balign 4
	.long pvh_start

	.text
	.code32
	.globl pvh_start
pvh_start:
	/* PVH entry: flat 32-bit protected mode, paging off, EBX = hvm_start_info. The loader's
	 * GDT is not guaranteed to stay valid, so load ours before touching a segment register. */
	cli
	cld
	lgdt gdt_desc
	ljmp $GUEST_CS, $1f
1:	mov $GUEST_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	/* Zero .bss ourselves (it holds the stack): a loader that skips memsz > filesz still works. */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx                    /* the link map aligns .bss to 16 */
	xor %eax, %eax
	rep stosl
	mov $bsp_stack + BSP_STACK_SIZE, %esp
	call idt_fill
	lidt idt_desc
	push %ebx
	call guest_main
2:	cli
	hlt
	jmp 2b

	/* Writes the 32 exception gates: interrupt gates in our code segment, ring 0. */
idt_fill:
	xor %ecx, %ecx
1:	mov exc_stubs(,%ecx,4), %eax
	mov %eax, %edx
	and $0xffff, %eax
	or $(GUEST_CS << 16), %eax
	and $0xffff0000, %edx
	or $0x8e00, %edx
	mov %eax, idt(,%ecx,8)
	mov %edx, idt+4(,%ecx,8)
	inc %ecx
	cmp $32, %ecx
	jb 1b
	ret

	/* Exception stubs: the same frame for every vector (vector, error code, then the CPU's EIP),
	 * so exc_common can hand the three words straight to guest_exception() as cdecl arguments. */
	.macro EXC_NOERR vec
exc_\vec:
	push $0
	push $\vec
	jmp exc_common
	.endm
	.macro EXC_ERR vec
exc_\vec:
	push $\vec
	jmp exc_common
	.endm
	EXC_NOERR 0
	EXC_NOERR 1
	EXC_NOERR 2
	EXC_NOERR 3
	EXC_NOERR 4
	EXC_NOERR 5
	EXC_NOERR 6
	EXC_NOERR 7
	EXC_ERR 8
	EXC_NOERR 9
	EXC_ERR 10
	EXC_ERR 11
	EXC_ERR 12
	EXC_ERR 13
	EXC_ERR 14
	EXC_NOERR 15
	EXC_NOERR 16
	EXC_ERR 17
	EXC_NOERR 18
	EXC_NOERR 19
	EXC_NOERR 20
	EXC_ERR 21
	EXC_NOERR 22
	EXC_NOERR 23
	EXC_NOERR 24
	EXC_NOERR 25
	EXC_NOERR 26
	EXC_NOERR 27
	EXC_NOERR 28
	EXC_ERR 29
	EXC_ERR 30
	EXC_NOERR 31
exc_common:
	call guest_exception
3:	cli
	hlt
	jmp 3b

	/* The triple-fault scenario (and the reset fallback): with an IDT limit of 0 every
	 * exception is a #GP while delivering, then a double fault, then the shutdown. */
	.globl guest_triple_fault
guest_triple_fault:
	cli
	lidt empty_idt_desc
	ud2
	int3
	jmp guest_triple_fault

	/* 32-bit AP entry, reached from the trampoline with a flat CS. Each AP takes a ticket
	 * (1..AP_MAX) with a locked xadd and uses it to pick its own stack. */
	.globl ap_entry32
ap_entry32:
	mov $GUEST_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	lidt idt_desc
	mov $1, %eax
	lock xadd %eax, ap_stack_ticket
	inc %eax
	cmp $AP_MAX, %eax
	ja 4f
	mov %eax, %esp
	shl $AP_STACK_SHIFT, %esp
	add $ap_stacks, %esp
	push %eax
	call smp_ap_main
4:	cli
	hlt
	jmp 4b

	.section .rodata
	.balign 8
exc_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long exc_\v
	.endr

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff        /* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: flat 32-bit data */
gdt_end:
	.balign 4
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
	.word 0
idt_desc:
	.word 32 * 8 - 1
	.long idt
	.word 0
empty_idt_desc:
	.word 0
	.long 0

	/* The AP trampoline: copied by smp.c to a page below 1 MiB and started by a SIPI whose
	 * vector is that page number, so CS = page << 8 and IP = 0. Position independent: only
	 * CS-relative offsets, then a far jump to ap_entry32 in the loaded image. */
	.balign 16
	.globl ap_trampoline_start, ap_trampoline_end
	.code16
ap_trampoline_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl (ap_gdt_desc - ap_trampoline_start)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $GUEST_CS, $ap_entry32
	.balign 4
	.word 0
ap_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
ap_trampoline_end:
	.code32

	.data
	.balign 4
	.globl ap_stack_ticket
ap_stack_ticket:
	.long 0

	.section .note.GNU-stack, "", @progbits

	.bss
	.balign 16
bsp_stack:
	.skip BSP_STACK_SIZE
ap_stacks:
	.skip (AP_MAX << AP_STACK_SHIFT)
	.balign 8
idt:
	.skip 32 * 8
