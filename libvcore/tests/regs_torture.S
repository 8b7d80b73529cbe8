/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * unsigned long regs_torture(unsigned long rounds, unsigned long spin,
 *                            unsigned long mode, unsigned long *badmask)
 *
 * Each round fills every general register but rsp, DF, and the vector
 * registers with values derived from the round number, spins `spin` times
 * touching only one counter in memory (so a notification can land at any
 * point with every register live), then checks them all.  mode 0: xmm0-15;
 * 1: ymm0-15; 2: zmm0-31 and k1-k7.  Returns the number of rounds in which
 * something was wrong and ORs into *badmask which: bits 0-14 rax rbx rcx
 * rdx rsi rdi rbp r8-r15, bit 15 DF, bits 16-47 vector registers 0-31,
 * bits 49-55 k1-k7.
 */
#define T_ROUNDS	0
#define T_SPIN		8
#define T_SPINCTR	16
#define T_MODE		24
#define T_BADPTR	32
#define T_BADCNT	40
#define T_BAD		48
#define T_ROUND		56
#define T_G		64		/* 15 qwords, then T_K */
#define T_K		184		/* 8 qwords (k0 unused) */
#define T_SAVED_RSP	248
#define T_V		256		/* 32 x 64 bytes, 64-byte aligned */
#define T_SIZE		(T_V + 32 * 64)

	.text

/* xorshift64 step on %rax, using %rdx */
.macro XS
	movq	%rax, %rdx
	shlq	$13, %rdx
	xorq	%rdx, %rax
	movq	%rax, %rdx
	shrq	$7, %rdx
	xorq	%rdx, %rax
	movq	%rax, %rdx
	shlq	$17, %rdx
	xorq	%rdx, %rax
.endm

.macro CHKG reg, i
	cmpq	(T_G + 8 * \i)(%rsp), %\reg
	je	1f
	btsq	$\i, T_BAD(%rsp)
1:
.endm

	.globl	regs_torture
	.type	regs_torture, @function
	.p2align 4
regs_torture:
	.cfi_startproc
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rax
	subq	$T_SIZE, %rsp
	andq	$-64, %rsp
	movq	%rax, T_SAVED_RSP(%rsp)
	movq	%rdi, T_ROUNDS(%rsp)
	movq	%rsi, T_SPIN(%rsp)
	movq	%rdx, T_MODE(%rsp)
	movq	%rcx, T_BADPTR(%rsp)
	movq	$0, T_BADCNT(%rsp)
	movq	$0, T_ROUND(%rsp)
	testq	%rdi, %rdi
	jz	.Ldone

.Lround:
	movq	T_ROUND(%rsp), %rax
	movabsq	$0x9e3779b97f4a7c15, %rdx
	imulq	%rdx, %rax
	addq	$1, %rax
	leaq	T_G(%rsp), %rdi
	movl	$23, %ecx
1:	XS
	movq	%rax, (%rdi)
	addq	$8, %rdi
	decl	%ecx
	jnz	1b
	leaq	T_V(%rsp), %rdi
	movl	$256, %ecx
2:	XS
	movq	%rax, (%rdi)
	addq	$8, %rdi
	decl	%ecx
	jnz	2b
	movq	T_SPIN(%rsp), %rax
	movq	%rax, T_SPINCTR(%rsp)
	movq	$0, T_BAD(%rsp)

	cmpq	$2, T_MODE(%rsp)
	je	.Lload_zmm
	cmpq	$1, T_MODE(%rsp)
	je	.Lload_ymm
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqa	(T_V + 64 * \i)(%rsp), %xmm\i
	.endr
	jmp	.Lload_g
.Lload_ymm:
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa	(T_V + 64 * \i)(%rsp), %ymm\i
	.endr
	jmp	.Lload_g
.Lload_zmm:
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqa64 (T_V + 64 * \i)(%rsp), %zmm\i
	.endr
	.irp i, 1,2,3,4,5,6,7
	kmovw	(T_K + 8 * \i)(%rsp), %k\i
	.endr

.Lload_g:
	std
	movq	(T_G + 8 * 0)(%rsp), %rax
	movq	(T_G + 8 * 1)(%rsp), %rbx
	movq	(T_G + 8 * 2)(%rsp), %rcx
	movq	(T_G + 8 * 3)(%rsp), %rdx
	movq	(T_G + 8 * 4)(%rsp), %rsi
	movq	(T_G + 8 * 5)(%rsp), %rdi
	movq	(T_G + 8 * 6)(%rsp), %rbp
	movq	(T_G + 8 * 7)(%rsp), %r8
	movq	(T_G + 8 * 8)(%rsp), %r9
	movq	(T_G + 8 * 9)(%rsp), %r10
	movq	(T_G + 8 * 10)(%rsp), %r11
	movq	(T_G + 8 * 11)(%rsp), %r12
	movq	(T_G + 8 * 12)(%rsp), %r13
	movq	(T_G + 8 * 13)(%rsp), %r14
	movq	(T_G + 8 * 14)(%rsp), %r15
.Lspin:
	decq	T_SPINCTR(%rsp)
	jnz	.Lspin

	CHKG	rax, 0
	CHKG	rbx, 1
	CHKG	rcx, 2
	CHKG	rdx, 3
	CHKG	rsi, 4
	CHKG	rdi, 5
	CHKG	rbp, 6
	CHKG	r8, 7
	CHKG	r9, 8
	CHKG	r10, 9
	CHKG	r11, 10
	CHKG	r12, 11
	CHKG	r13, 12
	CHKG	r14, 13
	CHKG	r15, 14
	pushfq
	popq	%rax
	cld
	testl	$0x400, %eax
	jnz	1f
	btsq	$15, T_BAD(%rsp)
1:
	cmpq	$2, T_MODE(%rsp)
	je	.Lcheck_zmm
	cmpq	$1, T_MODE(%rsp)
	je	.Lcheck_ymm
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	pcmpeqd	(T_V + 64 * \i)(%rsp), %xmm\i
	pmovmskb %xmm\i, %eax
	cmpl	$0xffff, %eax
	je	1f
	btsq	$(16 + \i), T_BAD(%rsp)
1:
	.endr
	jmp	.Lcheck_done
.Lcheck_ymm:
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vpcmpeqd (T_V + 64 * \i)(%rsp), %ymm\i, %ymm\i
	vpmovmskb %ymm\i, %eax
	cmpl	$-1, %eax
	je	1f
	btsq	$(16 + \i), T_BAD(%rsp)
1:
	.endr
	vzeroupper
	jmp	.Lcheck_done
.Lcheck_zmm:
	.irp i, 1,2,3,4,5,6,7
	kmovw	%k\i, %eax
	cmpw	(T_K + 8 * \i)(%rsp), %ax
	je	1f
	btsq	$(48 + \i), T_BAD(%rsp)
1:
	.endr
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vpcmpeqq (T_V + 64 * \i)(%rsp), %zmm\i, %k1
	kmovw	%k1, %eax
	cmpl	$0xff, %eax
	je	1f
	btsq	$(16 + \i), T_BAD(%rsp)
1:
	.endr
	vzeroupper

.Lcheck_done:
	movq	T_BAD(%rsp), %rax
	testq	%rax, %rax
	jz	2f
	incq	T_BADCNT(%rsp)
	movq	T_BADPTR(%rsp), %rdx
	orq	%rax, (%rdx)
2:	incq	T_ROUND(%rsp)
	movq	T_ROUND(%rsp), %rax
	cmpq	T_ROUNDS(%rsp), %rax
	jb	.Lround

.Ldone:
	movq	T_BADCNT(%rsp), %rax
	movq	T_SAVED_RSP(%rsp), %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret
	.cfi_endproc
	.size	regs_torture, . - regs_torture

	.section .note.GNU-stack, "", @progbits
