/* carapace's measured SEV-SNP validation stub (--snp-validate stub): one 4 KiB page at DB_SNP_STUB
 * (memenc/direct_boot.h), a NORMAL page of the launch. The BSP's launch VMSA enters it in long
 * mode with the layout's identity map (C-bit set; with this stub it also maps every GiB of RAM
 * above 4 GiB, in 1 GiB pages). For every RAM range of the parameter block (the RAM the launch
 * left out) and every 4 KiB page in it, the stub
 *   1. asks the host to make the page private with the GHCB MSR protocol's Page State Change
 *      (GHCB MSR 0xc0010130 = GFN << 12 | op 1 (private) << 52 | 0x014, VMGEXIT; the answer is
 *      0x015 with GHCBData[63:32] = 0; Linux arch/x86/boot/compressed/sev.c __page_state_change,
 *      KVM arch/x86/kvm/svm/sev.c snp_begin_psc_msr -> KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE)),
 *   2. validates it with PVALIDATE (RAX = the page's address, ECX = 0: 4 KiB, EDX = 1: validate;
 *      RAX = 0 and CF clear on success; CF set means the page was already validated, which the
 *      stub treats as an error as Linux does),
 * then jumps to the kernel's 64-bit entry with RSI = boot_params. On any failure it asks the host
 * to terminate the guest (GHCB MSR 0x100, reason set 1, code 1 = PSC, 2 = PVALIDATE, as Linux's
 * GHCB_TERM_PSC / GHCB_TERM_PVALIDATE) and halts. No stack, no SSE/x87, no interrupts, only
 * RIP-relative references: the page has no relocations. The parameter block at 0xe00 is written
 * by memenc/direct_boot.c and measured with the page. */

#define MSR_GHCB 0xc0010130
#define P_OFF 0xe00

	.text
	.code64
	.globl snp_stub_start
snp_stub_start:
	cli
	cld
	movq	p_nranges(%rip), %r12
	leaq	p_ranges(%rip), %r13
next_range:
	testq	%r12, %r12
	jz	enter_kernel
	movq	(%r13), %r14			/* cur */
	movq	8(%r13), %r15			/* end */
page_loop:
	cmpq	%r15, %r14
	jae	range_done
	/* Page State Change request: GFN << 12 is the page address itself. */
	movq	%r14, %rax
	btsq	$52, %rax			/* op 1: make private */
	orq	$0x014, %rax
	movq	%rax, %rdx
	shrq	$32, %rdx
	movl	$MSR_GHCB, %ecx
	wrmsr
	.byte	0xf3, 0x0f, 0x01, 0xd9		/* vmgexit (rep vmmcall) */
	movl	$MSR_GHCB, %ecx
	rdmsr
	andl	$0xfff, %eax
	cmpl	$0x015, %eax			/* PSC response */
	jne	psc_failed
	testl	%edx, %edx			/* GHCBData[63:32]: 0 = done */
	jnz	psc_failed
	/* PVALIDATE the page (identity mapped, so its address is its virtual address). */
	movq	%r14, %rax
	xorl	%ecx, %ecx			/* 4 KiB */
	movl	$1, %edx			/* validate */
	.byte	0xf2, 0x0f, 0x01, 0xff		/* pvalidate */
	jc	pvalidate_failed		/* no RMP change: already validated */
	testl	%eax, %eax
	jnz	pvalidate_failed
	addq	$0x1000, %r14
	jmp	page_loop
range_done:
	addq	$16, %r13
	decq	%r12
	jmp	next_range

enter_kernel:
	movq	p_bootp(%rip), %rsi
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	xorl	%ebx, %ebx
	jmpq	*p_entry(%rip)

psc_failed:
	movl	$0x00011100, %eax		/* terminate: reason set 1, code 1 (PSC) */
	jmp	terminate
pvalidate_failed:
	movl	$0x00021100, %eax		/* terminate: reason set 1, code 2 (PVALIDATE) */
terminate:
	xorl	%edx, %edx
	movl	$MSR_GHCB, %ecx
	wrmsr
	.byte	0xf3, 0x0f, 0x01, 0xd9		/* vmgexit */
1:	hlt
	jmp	1b

	/* The parameter block (filled by the layout builder), the TDX stub's offsets. */
	.org	P_OFF, 0
params:
p_magic:	.ascii	"CPSNPSTB"
p_entry:	.quad	0			/* kernel 64-bit entry */
p_bootp:	.quad	0			/* boot_params */
p_unused:	.quad	0, 0			/* (the TDX stub's mailbox and CR3) */
p_nranges:	.quad	0			/* RAM ranges to validate, then {start, end} x 16 */
p_ranges:	.fill	32, 8, 0
	.org	0x1000, 0xf4
