/* The bzImage test guest's protected-mode part, linked at pref_address (0x1000000). Offset 0
 * would be the 32-bit entry, which this guest does not have; the 64-bit entry is at 0x200
 * (boot.rst, 64-bit boot protocol): long mode, identity-mapped, RSI = boot_params. */
	.section .text.head, "ax"
	.code64
	.globl	bz_start
bz_start:
	ud2				/* 32-bit entry: not supported */
	.org	0x200, 0xcc
	.globl	startup_64
startup_64:
	cli
	leaq	bz_stack_top(%rip), %rsp
	movq	%rsi, %rdi
	call	bz_main
1:	hlt
	jmp	1b

/* An AP woken through the ACPI MP wakeup mailbox (TDX stub test mode) arrives here in long
 * mode with the stub's page tables and ESI = its vCPU index: it records the index and halts. */
	.globl	bz_ap_entry
bz_ap_entry:
	cli
	movl	%esi, bz_ap_arrived(%rip)
1:	hlt
	jmp	1b

	.section .bss
	.balign	4
	.globl	bz_ap_arrived
bz_ap_arrived:
	.long	0
	.balign	16
	.space	16384
bz_stack_top:

	.section .note.GNU-stack, "", @progbits
