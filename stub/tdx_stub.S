/* carapace's measured TDX boot stub: one 4 KiB page at 0xfffff000 (the reset vector at
 * 0xfffffff0 jumps into it). Every TD vCPU starts here in 32-bit protected mode, paging off,
 * with ESI = its vCPU index (TDX module spec, TD vCPU initial state; td-shim doc/tdshim_spec.md).
 * The stub:
 *   1. loads its GDT, turns on PAE + long mode + paging with the layout's measured identity map
 *      (CR3 from the parameter block), far-jumps to 64-bit code;
 *   2. BSP (index 0): if CPUID leaf 0x21 says "IntelTDX", accepts every RAM range of the
 *      parameter block with TDG.MEM.PAGE.ACCEPT (TDCALL leaf 6; 2 MiB where aligned, else 4 KiB);
 *      otherwise (plain KVM test mode) skips the accept and says so on COM1 and in the mailbox
 *      page ("NOTD" at offset 0x800); then jumps to the kernel's 64-bit entry with RSI =
 *      boot_params;
 *   3. APs: park on the ACPI multiprocessor wakeup mailbox (ACPI 6.4 5.2.12.19; Linux
 *      arch/x86/kernel/acpi/madt_wakeup.c): wait for command 1 (WAKEUP) with their APIC ID
 *      (= vCPU index, as the MADT says), clear the command (Linux waits for that), jump to the
 *      wakeup vector in long mode.
 * No stack, no SSE/x87, no interrupts. Assembled position-dependent by address arithmetic
 * (STUB_BASE + offset), so the page has no relocations. The parameter block at 0xe00 is
 * written by memenc/direct_boot.c and measured with the page. */

#define STUB_BASE 0xfffff000
#define A(x) (STUB_BASE + ((x) - stub_start))

/* Parameter block offsets (memenc/direct_boot.c writes them): see `params` below. */
#define P_OFF 0xe00

	.text
	.code32
	.globl stub_start
stub_start:
	cli
	cld
	lgdt	A(gdt_desc)
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%cr4, %eax
	orl	$0x20, %eax			/* PAE */
	movl	%eax, %cr4
	movl	A(p_cr3), %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx		/* EFER: a TD starts with LME set and may not write it */
	rdmsr
	testl	$0x100, %eax
	jnz	1f
	orl	$0x100, %eax
	wrmsr
1:	movl	%cr0, %eax
	orl	$0x80000001, %eax		/* PG | PE */
	movl	%eax, %cr0
	ljmpl	$0x10, $A(long_mode)

	.code64
long_mode:
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	testl	%esi, %esi
	jnz	ap_park

bsp:
	/* A TD? CPUID.0 max leaf >= 0x21 and leaf 0x21 = "IntelTDX    " (EBX, EDX, ECX). */
	xorl	%eax, %eax
	cpuid
	cmpl	$0x21, %eax
	jb	not_td
	movl	$0x21, %eax
	xorl	%ecx, %ecx
	cpuid
	cmpl	$0x65746e49, %ebx		/* "Inte" */
	jne	not_td
	cmpl	$0x5844546c, %edx		/* "lTDX" */
	jne	not_td
	cmpl	$0x20202020, %ecx		/* "    " */
	jne	not_td

	/* Accept each [start, end) range: 2 MiB pages where aligned, 4 KiB otherwise. The loop
	 * state lives in R12-R15, which no TDCALL leaf uses for outputs (RAX, RCX, RDX, R8-R11). */
	/* 64-bit code addresses the page RIP-relative: a disp32/imm32 of 0xfffffxxx would be
	 * sign-extended. */
	movq	p_nranges(%rip), %r12
	leaq	p_ranges(%rip), %r13
next_range:
	testq	%r12, %r12
	jz	enter_kernel
	movq	(%r13), %r14			/* cur */
	movq	8(%r13), %r15			/* end */
accept_loop:
	cmpq	%r15, %r14
	jae	range_done
	testq	$0x1fffff, %r14
	jnz	accept_4k
	leaq	0x200000(%r14), %rax
	cmpq	%r15, %rax
	ja	accept_4k
	movq	%r14, %rcx
	orq	$1, %rcx			/* level 1: 2 MiB */
	movl	$6, %eax			/* TDG.MEM.PAGE.ACCEPT */
	.byte	0x66, 0x0f, 0x01, 0xcc		/* tdcall */
	testq	%rax, %rax
	jnz	accept_4k			/* e.g. the host backs it with 4 KiB pages */
	addq	$0x200000, %r14
	jmp	accept_loop
accept_4k:
	movq	%r14, %rcx			/* level 0: 4 KiB */
	movl	$6, %eax
	.byte	0x66, 0x0f, 0x01, 0xcc		/* tdcall */
	testq	%rax, %rax
	jnz	accept_failed
	addq	$0x1000, %r14
	jmp	accept_loop
range_done:
	addq	$16, %r13
	decq	%r12
	jmp	next_range
accept_failed:
	ud2					/* a TD that cannot accept its RAM must not boot */

not_td:
	/* Plain KVM test mode: nothing to accept. Say so where the test guest and the log see it. */
	movq	p_mailbox(%rip), %rdi
	movl	$0x44544f4e, 0x800(%rdi)	/* "NOTD" in the mailbox's firmware-reserved half */
	leaq	msg(%rip), %rdi
	movw	$0x3f8, %dx
1:	movb	(%rdi), %al
	testb	%al, %al
	jz	enter_kernel
	outb	%al, %dx
	incq	%rdi
	jmp	1b

enter_kernel:
	movq	p_bootp(%rip), %rsi
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	xorl	%ebx, %ebx
	jmpq	*p_entry(%rip)

ap_park:
	movq	p_mailbox(%rip), %rdi
1:	pause
	cmpw	$1, (%rdi)			/* command: 1 = wakeup */
	jne	1b
	cmpl	%esi, 4(%rdi)			/* for this APIC ID? */
	jne	1b
	movq	8(%rdi), %rax			/* wakeup vector */
	movw	$0, (%rdi)			/* acknowledge: Linux waits for command 0 */
	jmpq	*%rax

msg:
	.asciz	"carapace-tdx-stub: not a TD (CPUID 0x21): page accept skipped\n"

	.balign	8
gdt:
	.quad	0
	.quad	0x00cf9b000000ffff		/* 0x08 code32 */
	.quad	0x00af9b000000ffff		/* 0x10 code64 */
	.quad	0x00cf93000000ffff		/* 0x18 data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	A(gdt)

	/* The parameter block (filled by the layout builder) and the reset vector. */
	.org	P_OFF, 0
params:
p_magic:	.ascii	"CPTDXSTB"
p_entry:	.quad	0			/* kernel 64-bit entry */
p_bootp:	.quad	0			/* boot_params */
p_mailbox:	.quad	0			/* MP wakeup mailbox (4 KiB) */
p_cr3:		.quad	0			/* identity page tables, below 4 GiB */
p_nranges:	.quad	0			/* RAM ranges to accept, then {start, end} x 16 */
p_ranges:	.fill	32, 8, 0
	.org	0xff0, 0
reset_vector:
	.code32
	jmp	stub_start			/* EIP 0xfffffff0: near jump back into this page */
	.org	0x1000, 0xf4
