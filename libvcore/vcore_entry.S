/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The vcore's way in and out of vcore context, x86-64.
 *
 * __vcore_entry      where the kernel sends a vcore thread (VCPD
 *                    vcore_entry): rsp = vcore_stack (our struct vcore_blk),
 *                    rdi = vcoreid, rsi = VCORE_ENTRY_*, notif_disabled set.
 * __vcore_pop        leave vcore context for a saved context (vcore_pop_user_ctx).
 * __vcore_save_and_call
 *                    a user context's voluntary way in: save a SW context,
 *                    switch to the transition stack, call into C.
 *
 * Entry.  NOTIFY: the kernel saved the general registers in uthread_ctx and
 * left the FP/SIMD state live, so the FP state is saved into the area the
 * block names (blk->notif_fp) before any C runs; then, as for START, the
 * FP control state is reset (fninit, default MXCSR, vzeroupper) and C is
 * called on the transition stack.  RESUME: the vcore was preempted in vcore
 * context, whose frames are live on this very stack below vcore_stack, so
 * nothing is pushed: the FP state comes back from preempt_fp and the
 * registers from vcore_ctx through a frame built below vcore_ctx's rsp
 * (and its red zone), as a pop does.  DF is cleared on every path that
 * runs C: the interrupted code may have had it set.
 *
 * preempt_fp and vcore_ctx are single slots that the next preemption
 * overwrites, and a vcore can be preempted again as soon as it runs.  So
 * each entry takes what it needs from them first, with no FP register in
 * use (rep movsb, xrstor), and then says so: START copies preempt_fp
 * (the FP state of a user context preempted on this vcore, if that is why
 * we start) to the block's start_fp; RESUME restores from it; both then
 * clear VC_FPU_SAVED in racy_flags, and RESUME sets vcore_ctx's type to
 * VCORE_CTX_NONE once it has switched to the frame it built.  A kernel
 * that preempts the vcore again before that must keep the slots as they
 * are (an unconsumed vcore_ctx still says VCORE_CTX_HW); a restart then
 * simply runs the entry again.
 *
 * FP state is saved with XSAVE (not XSAVEOPT) under vcore_fp_mask.
 * XSAVEOPT's modified optimisation skips components the CPU believes
 * unchanged since its last XRSTOR from the same address; an FP area
 * follows its uthread from CPU to CPU and is rewritten on other CPUs in
 * between, so that belief can be wrong.
 *
 * The pop.  The context is copied, with the four words the pop needs, onto
 * the target stack below its 128-byte red zone, and rsp moves there:
 *
 *   ctx.rsp - 128 - 168:  vcpd fd cmd arg | r15 ... rax | rflags | rip
 *
 * Then notifications are enabled, and from that store on a notification
 * may interrupt any instruction: the kernel saves the registers as they
 * are (uthread_ctx), and whoever runs that context later resumes the pop
 * exactly there.  So every instruction after the store uses only this
 * frame (on the popped context's own stack, which moves with it) and
 * registers (which the kernel saves): nothing in vcore context, no other
 * memory.  The one read outside is notif_pending, through the VCPD pointer
 * in the frame; if the context has moved to another vcore meanwhile, that
 * VCPD is stale, which is harmless (see below).
 *
 * A pop of a context stopped in that tail does not build a frame below
 * the old one: a notification in every pop would then grow the stack
 * without bound.  The tail loads the registers with rsp at the frame, and
 * the frame still holds the whole context, so the pop finds the frame
 * from the saved rip (rsp is the frame up to __vcore_pop_popf, and a
 * known distance into it at __vcore_pop_popf and __vcore_pop_ret),
 * rewrites its four words for this vcore and runs the tail again from U1.
 * The same rule tells where such a context will really go on
 * (vcore_ctx_resume_pc()): the rip in its frame.
 *
 * Ordering: NOTIF-3 in ORDERING.md, done here in three steps, U1 to U3;
 * it pairs with the kernel's NOTIF-1 (kmod/core/event.c mcp_notify():
 * notif_pending = 1, full barrier, then look at notif_disabled and IPI
 * if clear; on the vcore's CPU the IPI's task work looks again, NOTIF-6,
 * saves the user registers into uthread_ctx, sets notif_disabled and
 * enters vcore_entry (NOTIFY)):
 *
 *   [U1] notif_disabled = 0
 *   [U2] full barrier (lock or)
 *   [U3] if notif_pending: self-notify
 *
 *   Store buffering: NOTIF-1 reads notif_disabled clear and the kernel
 *   interrupts us, or U3 reads 1 and we go back ourselves; both may
 *   happen.  Without U2 the store U1 could wait in the store buffer
 *   while U3 reads an old 0, and NOTIF-1 read the old 1: a message with
 *   nobody told.
 *
 * Going back when U3 sees notif_pending: user space cannot both save the
 * context and disable notifications atomically with respect to a
 * notification (and after a move, the VCPD in the frame is not ours), so
 * it asks the kernel: ioctl(fd, VCORE_IOC_SELF_NOTIFY, {our vcore,
 * private, EV_NONE}).  The kernel sees notifications enabled and, on the
 * way out of the ioctl, saves the registers (rip just after the syscall,
 * rax the ioctl's return) into uthread_ctx and enters vcore_entry: the
 * popped context is saved, as though a notification had landed there, and
 * resuming it finishes the pop.  The syscall clobbers rax, rcx, r11 and its
 * argument registers, all scratch here: the context's values are in the
 * frame.  If the context moved between U1 and U3 (a notification, then a
 * steal after a preemption), the new vcore ran its own pop with its own
 * U1-U3 before resuming it, so the stale VCPD can only cause a spurious
 * self-notify of the old vcore, which just handles its events.
 *
 * The last instructions load the registers, pop rflags, and `ret $128`
 * jumps to rip with rsp back at ctx.rsp: the red zone is never touched.
 *
 * VCORE_BROKEN_POP_NO_MB and VCORE_BROKEN_POP_NO_CHECK build a pop without
 * U2 or without U3, for the unit tests' negative controls only.
 */
#include <sys/syscall.h>

#include "vcore_ctx_internal.h"

#define VCORE_ENTRY_START	0
#define VCORE_ENTRY_NOTIFY	1
#define VCORE_ENTRY_RESUME	2
#define VCORE_CTX_NONE		0
#define VCORE_CTX_HW		1
#define VCORE_CTX_SW		2
#define VC_FPU_SAVED		0x01

	.text

/* Save the live FP state to (\area) (64-byte aligned); uses rax, rdx. */
.macro FP_SAVE area
	cmpb	$VC_FP_FXSAVE, vcore_fp_mode(%rip)
	je	1f
	movl	vcore_fp_mask(%rip), %eax
	movl	vcore_fp_mask+4(%rip), %edx
	xsave64	(\area)
	jmp	2f
1:	fxsave64 (\area)
2:
.endm

/* Load the FP state from (\area); uses rax, rdx. */
.macro FP_RESTORE area
	cmpb	$VC_FP_FXSAVE, vcore_fp_mode(%rip)
	je	1f
	movl	vcore_fp_mask(%rip), %eax
	movl	vcore_fp_mask+4(%rip), %edx
	xrstor64 (\area)
	jmp	2f
1:	fxrstor64 (\area)
2:
.endm

/* One register from the context at (%rdi) to the frame at (%rax). */
.macro CP ctx_off, f_off
	movq	\ctx_off(%rdi), %rdx
	movq	%rdx, \f_off(%rax)
.endm

/* The whole HW context at (%rdi) into a frame at (%rax); uses rdx. */
.macro HW_FRAME
	CP	VC_CTX_R15, VC_F_R15
	CP	VC_CTX_R14, VC_F_R14
	CP	VC_CTX_R13, VC_F_R13
	CP	VC_CTX_R12, VC_F_R12
	CP	VC_CTX_R11, VC_F_R11
	CP	VC_CTX_R10, VC_F_R10
	CP	VC_CTX_R9, VC_F_R9
	CP	VC_CTX_R8, VC_F_R8
	CP	VC_CTX_RBP, VC_F_RBP
	CP	VC_CTX_RDI, VC_F_RDI
	CP	VC_CTX_RSI, VC_F_RSI
	CP	VC_CTX_RDX, VC_F_RDX
	CP	VC_CTX_RCX, VC_F_RCX
	CP	VC_CTX_RBX, VC_F_RBX
	CP	VC_CTX_RAX, VC_F_RAX
	CP	VC_CTX_RFLAGS, VC_F_RFLAGS
	CP	VC_CTX_RIP, VC_F_RIP
.endm

/*
 * void __vcore_entry(void): rsp = vcore_stack, rdi = vcoreid,
 * rsi = VCORE_ENTRY_*.  Nothing may be written below rsp before the
 * reason is known: on RESUME the live frames are there.
 */
	.globl	__vcore_entry
	.hidden	__vcore_entry
	.type	__vcore_entry, @function
	.p2align 4
__vcore_entry:
	.cfi_startproc
	.cfi_undefined rip
	/*
	 * The benchmarks' stamp, when enabled: the TSC at the first
	 * instruction, into the block above rsp (rax and rdx are free on
	 * every entry).
	 */
	cmpb	$0, vcore_entry_stamp(%rip)
	je	.Lno_stamp
	rdtsc
	movl	%eax, VC_BLK_ENTRY_TSC(%rsp)
	movl	%edx, (VC_BLK_ENTRY_TSC + 4)(%rsp)
.Lno_stamp:
	cld
	cmpl	$VCORE_ENTRY_NOTIFY, %esi
	je	.Lentry_notify
	cmpl	$VCORE_ENTRY_RESUME, %esi
	je	.Lentry_resume
	/* START: take preempt_fp before anything can overwrite it */
	movq	%rdi, %r8
	movq	%rsi, %r9
	movq	VC_BLK_VCPD(%rsp), %rsi
	leaq	VC_VCPD_PREEMPT_FP(%rsi), %rsi
	movq	VC_BLK_START_FP(%rsp), %rdi
	movq	vcore_fp_bytes(%rip), %rcx
	rep movsb
	movq	VC_BLK_VCPD(%rsp), %rax
	lock andl $~VC_FPU_SAVED, VC_VCPD_RACY_FLAGS(%rax)
	movq	%r8, %rdi
	movq	%r9, %rsi
.Lentry_c:
	/* The FP control state the interrupted code left is not ours. */
	fninit
	ldmxcsr	vcore_default_mxcsr(%rip)
	cmpb	$0, vcore_fp_avx(%rip)
	je	1f
	vzeroupper
1:	xorl	%ebp, %ebp		/* the end of the frame chain */
	/* rsp is 16-byte aligned here: 16n + 8 at the callee's entry */
	call	__vcore_entry_c
	ud2

.Lentry_notify:
	movq	VC_BLK_NOTIF_FP(%rsp), %rcx
	FP_SAVE	%rcx
	jmp	.Lentry_c

.Lentry_resume:
	movq	VC_BLK_VCPD(%rsp), %rbx
	/*
	 * A kernel that preempted an earlier RESUME before it took
	 * vcore_ctx has saved that RESUME over it: the context is gone.
	 * Say so rather than resume the RESUME.
	 */
	cmpl	$VCORE_ENTRY_RESUME, (VC_VCPD_VCORE_CTX + VC_CTX_RSI)(%rbx)
	jne	1f
	movq	(VC_VCPD_VCORE_CTX + VC_CTX_RIP)(%rbx), %rax
	leaq	__vcore_entry(%rip), %rdx
	cmpq	%rdx, %rax
	jb	1f
	leaq	.Lresume_taken(%rip), %rdx
	cmpq	%rdx, %rax
	jae	1f
	call	__vcore_resume_lost
1:	leaq	VC_VCPD_PREEMPT_FP(%rbx), %rcx
	FP_RESTORE %rcx
	leaq	VC_VCPD_VCORE_CTX(%rbx), %rdi
	movq	VC_CTX_RSP(%rdi), %rax
	subq	$(VC_RED_ZONE + VC_F_SIZE), %rax
	HW_FRAME
	movq	%rax, %rsp
	/* consumed: from here a preemption saves this, restartable, state */
	movl	$VCORE_CTX_NONE, VC_CTX_TYPE(%rdi)
.Lresume_taken:
	lock andl $~VC_FPU_SAVED, VC_VCPD_RACY_FLAGS(%rbx)
	/* still in vcore context: no enable, straight to the registers */
	jmp	.Lpop_regs
	.cfi_endproc
	.size	__vcore_entry, . - __vcore_entry

/*
 * void __vcore_pop(struct vcore_user_ctx *ctx, void *fp,
 *                  struct vcore_blk *blk): in vcore context, notifs
 * disabled, no C after the FP restore.
 */
	.globl	__vcore_pop
	.hidden	__vcore_pop
	.type	__vcore_pop, @function
	.p2align 4
__vcore_pop:
	.cfi_startproc
	movq	%rdx, %r8
	cmpl	$VCORE_CTX_SW, VC_CTX_TYPE(%rdi)
	je	.Lpop_sw
	/* HW: every register from ctx, the FP state from fp (if any) */
	testq	%rsi, %rsi
	jz	1f
	FP_RESTORE %rsi
1:	movq	VC_CTX_RSP(%rdi), %rax
	/* a context stopped in a pop's tail: its frame is still there */
	movq	VC_CTX_RIP(%rdi), %rdx
	leaq	__vcore_pop_enabled(%rip), %rcx
	cmpq	%rcx, %rdx
	jb	2f
	leaq	__vcore_pop_popf(%rip), %rcx
	cmpq	%rcx, %rdx
	jb	.Lpop_hdr
	je	3f
	leaq	__vcore_pop_ret(%rip), %rcx
	cmpq	%rcx, %rdx
	je	4f
	leaq	__vcore_pop_end(%rip), %rcx
	cmpq	%rcx, %rdx
	jb	.Lpop_hdr
2:	subq	$(VC_RED_ZONE + VC_F_SIZE), %rax
	HW_FRAME
	jmp	.Lpop_hdr
3:	subq	$VC_F_RFLAGS, %rax
	jmp	.Lpop_hdr
4:	subq	$VC_F_RIP, %rax
	jmp	.Lpop_hdr

.Lpop_sw:
	/* SW: the callee-saved state; the caller-saved registers are dead */
	ldmxcsr	VC_CTX_MXCSR(%rdi)
	fldcw	VC_CTX_FPUCW(%rdi)
	movq	VC_CTX_RSP(%rdi), %rax
	subq	$(VC_RED_ZONE + VC_F_SIZE), %rax
	CP	VC_CTX_R15, VC_F_R15
	CP	VC_CTX_R14, VC_F_R14
	CP	VC_CTX_R13, VC_F_R13
	CP	VC_CTX_R12, VC_F_R12
	CP	VC_CTX_RBP, VC_F_RBP
	CP	VC_CTX_RBX, VC_F_RBX
	CP	VC_CTX_RIP, VC_F_RIP
	xorl	%edx, %edx
	movq	%rdx, VC_F_R11(%rax)
	movq	%rdx, VC_F_R10(%rax)
	movq	%rdx, VC_F_R9(%rax)
	movq	%rdx, VC_F_R8(%rax)
	movq	%rdx, VC_F_RDI(%rax)
	movq	%rdx, VC_F_RSI(%rax)
	movq	%rdx, VC_F_RDX(%rax)
	movq	%rdx, VC_F_RCX(%rax)
	movq	%rdx, VC_F_RAX(%rax)
	movq	$VC_RFLAGS_SW, VC_F_RFLAGS(%rax)

.Lpop_hdr:
	movq	VC_BLK_VCPD(%r8), %rdx
	movq	%rdx, VC_F_VCPD(%rax)
	movq	VC_BLK_FD(%r8), %rdx
	movq	%rdx, VC_F_FD(%rax)
	movq	VC_BLK_SN_CMD(%r8), %rdx
	movq	%rdx, VC_F_CMD(%rax)
	movq	VC_BLK_SN_ARG(%r8), %rdx
	movq	%rdx, VC_F_ARG(%rax)
	movq	%rax, %rsp
	.cfi_undefined rip
	movq	VC_F_VCPD(%rsp), %rax
	/* U1: enable.  From here on: only this frame and registers. */
	movb	$0, VC_VCPD_NOTIF_DISABLED(%rax)
	.globl	__vcore_pop_enabled
	.hidden	__vcore_pop_enabled
__vcore_pop_enabled:
#ifndef VCORE_BROKEN_POP_NO_MB
	/* U2 (NOTIF-3): pairs with NOTIF-1; the enable before U3's load */
	lock orq $0, (%rsp)
#endif
#ifndef VCORE_BROKEN_POP_NO_CHECK
	/* U3 */
	cmpb	$0, VC_VCPD_NOTIF_PENDING(%rax)
	jne	.Lpop_pending
#endif
.Lpop_regs:
	/* rsp stays at the frame until every register is loaded */
	movq	VC_F_R15(%rsp), %r15
	movq	VC_F_R14(%rsp), %r14
	movq	VC_F_R13(%rsp), %r13
	movq	VC_F_R12(%rsp), %r12
	movq	VC_F_R11(%rsp), %r11
	movq	VC_F_R10(%rsp), %r10
	movq	VC_F_R9(%rsp), %r9
	movq	VC_F_R8(%rsp), %r8
	movq	VC_F_RBP(%rsp), %rbp
	movq	VC_F_RDI(%rsp), %rdi
	movq	VC_F_RSI(%rsp), %rsi
	movq	VC_F_RDX(%rsp), %rdx
	movq	VC_F_RCX(%rsp), %rcx
	movq	VC_F_RBX(%rsp), %rbx
	movq	VC_F_RAX(%rsp), %rax
	leaq	VC_F_RFLAGS(%rsp), %rsp
	.globl	__vcore_pop_popf
	.hidden	__vcore_pop_popf
__vcore_pop_popf:
	popfq
	.globl	__vcore_pop_ret
	.hidden	__vcore_pop_ret
__vcore_pop_ret:
	/* to rip, and rsp past the red zone to ctx.rsp */
	ret	$VC_RED_ZONE

.Lpop_pending:
	/* Back to vcore context through the kernel: see above. */
	movl	$SYS_ioctl, %eax
	movq	VC_F_FD(%rsp), %rdi
	movq	VC_F_CMD(%rsp), %rsi
	movq	VC_F_ARG(%rsp), %rdx
	syscall
	jmp	.Lpop_regs
	.globl	__vcore_pop_end
	.hidden	__vcore_pop_end
__vcore_pop_end:
	.cfi_endproc
	.size	__vcore_pop, . - __vcore_pop

/*
 * void __vcore_save_and_call(struct vcore_user_ctx *save,
 *                            void (*fn)(void *), void *arg,
 *                            struct vcore_blk *blk): notifs disabled.
 */
	.globl	__vcore_save_and_call
	.hidden	__vcore_save_and_call
	.type	__vcore_save_and_call, @function
	.p2align 4
__vcore_save_and_call:
	.cfi_startproc
	testq	%rdi, %rdi
	jz	1f
	movq	(%rsp), %rax
	movq	%rax, VC_CTX_RIP(%rdi)
	leaq	8(%rsp), %rax
	movq	%rax, VC_CTX_RSP(%rdi)
	movq	%rbx, VC_CTX_RBX(%rdi)
	movq	%rbp, VC_CTX_RBP(%rdi)
	movq	%r12, VC_CTX_R12(%rdi)
	movq	%r13, VC_CTX_R13(%rdi)
	movq	%r14, VC_CTX_R14(%rdi)
	movq	%r15, VC_CTX_R15(%rdi)
	stmxcsr	VC_CTX_MXCSR(%rdi)
	fnstcw	VC_CTX_FPUCW(%rdi)
	movl	$VCORE_CTX_SW, VC_CTX_TYPE(%rdi)
1:	movq	%rcx, %rsp		/* the transition stack's top */
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%rsi, %rdi		/* fn */
	movq	%rdx, %rsi		/* arg */
	call	__vcore_switch_landing
	ud2
	.cfi_endproc
	.size	__vcore_save_and_call, . - __vcore_save_and_call

	.section .note.GNU-stack, "", @progbits
