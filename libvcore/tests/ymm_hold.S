/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * void ymm_hold(const void *in, void *out, unsigned long spin,
 *               unsigned long *ctr)
 *
 * Loads ymm0-15 from in (16 x 32 bytes), spins `spin` times incrementing
 * *ctr (no FP/SIMD instruction, so a preemption can land anywhere with
 * all sixteen live), then stores ymm0-15 to out.  The caller compares
 * out with in: a context switch that lost or mixed up the SIMD state
 * shows there.  Needs AVX.
 */
	.text
	.globl	ymm_hold
	.type	ymm_hold, @function
ymm_hold:
	vmovdqu	0*32(%rdi), %ymm0
	vmovdqu	1*32(%rdi), %ymm1
	vmovdqu	2*32(%rdi), %ymm2
	vmovdqu	3*32(%rdi), %ymm3
	vmovdqu	4*32(%rdi), %ymm4
	vmovdqu	5*32(%rdi), %ymm5
	vmovdqu	6*32(%rdi), %ymm6
	vmovdqu	7*32(%rdi), %ymm7
	vmovdqu	8*32(%rdi), %ymm8
	vmovdqu	9*32(%rdi), %ymm9
	vmovdqu	10*32(%rdi), %ymm10
	vmovdqu	11*32(%rdi), %ymm11
	vmovdqu	12*32(%rdi), %ymm12
	vmovdqu	13*32(%rdi), %ymm13
	vmovdqu	14*32(%rdi), %ymm14
	vmovdqu	15*32(%rdi), %ymm15
	testq	%rdx, %rdx
	jz	2f
1:	incq	(%rcx)
	decq	%rdx
	jnz	1b
2:	vmovdqu	%ymm0, 0*32(%rsi)
	vmovdqu	%ymm1, 1*32(%rsi)
	vmovdqu	%ymm2, 2*32(%rsi)
	vmovdqu	%ymm3, 3*32(%rsi)
	vmovdqu	%ymm4, 4*32(%rsi)
	vmovdqu	%ymm5, 5*32(%rsi)
	vmovdqu	%ymm6, 6*32(%rsi)
	vmovdqu	%ymm7, 7*32(%rsi)
	vmovdqu	%ymm8, 8*32(%rsi)
	vmovdqu	%ymm9, 9*32(%rsi)
	vmovdqu	%ymm10, 10*32(%rsi)
	vmovdqu	%ymm11, 11*32(%rsi)
	vmovdqu	%ymm12, 12*32(%rsi)
	vmovdqu	%ymm13, 13*32(%rsi)
	vmovdqu	%ymm14, 14*32(%rsi)
	vmovdqu	%ymm15, 15*32(%rsi)
	vzeroupper
	ret
	.size	ymm_hold, .-ymm_hold

	.section .note.GNU-stack, "", @progbits
