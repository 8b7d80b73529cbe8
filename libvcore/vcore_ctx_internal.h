/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The vcore layer's private state, shared by vcore_lib.c and the entry
 * code in vcore_entry.S.  Not installed.
 *
 * Each vcore has one mapping: a guard page, its transition stack, and above
 * the stack's top the vcore's block (struct vcore_blk), so that VCPD's
 * vcore_stack is the address of the block and the entry code, which starts
 * with rsp = vcore_stack, finds the block at (%rsp) without touching any
 * other memory or trusting rdi.
 *
 *   map                                                    map + len
 *   | guard | transition stack ...... | vcore_blk, scratch FP area |
 *                                     ^ vcore_stack
 *
 * The offsets below are used by the assembler; vcore_lib.c checks every
 * one against the C layouts.
 */
#ifndef _VCORE_CTX_INTERNAL_H
#define _VCORE_CTX_INTERNAL_H

/* struct vcore_user_ctx */
#define VC_CTX_TYPE		0
#define VC_CTX_RAX		8
#define VC_CTX_RBX		16
#define VC_CTX_RCX		24
#define VC_CTX_RDX		32
#define VC_CTX_RSI		40
#define VC_CTX_RDI		48
#define VC_CTX_RBP		56
#define VC_CTX_RSP		64
#define VC_CTX_R8		72
#define VC_CTX_R9		80
#define VC_CTX_R10		88
#define VC_CTX_R11		96
#define VC_CTX_R12		104
#define VC_CTX_R13		112
#define VC_CTX_R14		120
#define VC_CTX_R15		128
#define VC_CTX_RIP		136
#define VC_CTX_RFLAGS		144
#define VC_CTX_MXCSR		168
#define VC_CTX_FPUCW		172

/* struct vcore_preempt_data */
#define VC_VCPD_PREEMPT_FP	0
#define VC_VCPD_VCORE_CTX	4096
#define VC_VCPD_RACY_FLAGS	4636
#define VC_VCPD_NOTIF_DISABLED	4640
#define VC_VCPD_NOTIF_PENDING	4641

/* struct vcore_blk */
#define VC_BLK_VCPD		0
#define VC_BLK_NOTIF_FP		8
#define VC_BLK_FD		16
#define VC_BLK_SN_CMD		24
#define VC_BLK_SN_ARG		32
#define VC_BLK_START_FP		40
#define VC_BLK_ENTRY_TSC	136
#define VC_BLK_SCRATCH_FP	192

/*
 * The pop frame, built on the target stack below its red zone: four words
 * for the pop's own use, then the registers in pop order, rflags, rip.
 */
#define VC_F_VCPD		0
#define VC_F_FD			8
#define VC_F_CMD		16
#define VC_F_ARG		24
#define VC_F_HDR		32
#define VC_F_R15		32
#define VC_F_R14		40
#define VC_F_R13		48
#define VC_F_R12		56
#define VC_F_R11		64
#define VC_F_R10		72
#define VC_F_R9			80
#define VC_F_R8			88
#define VC_F_RBP		96
#define VC_F_RDI		104
#define VC_F_RSI		112
#define VC_F_RDX		120
#define VC_F_RCX		128
#define VC_F_RBX		136
#define VC_F_RAX		144
#define VC_F_RFLAGS		152
#define VC_F_RIP		160
#define VC_F_SIZE		168
#define VC_RED_ZONE		128

/* vcore_fp_mode */
#define VC_FP_FXSAVE		0
#define VC_FP_XSAVE		1

#define VC_DEFAULT_MXCSR	0x1f80
#define VC_DEFAULT_FPUCW	0x037f
#define VC_RFLAGS_SW		0x202	/* IF (user mode cannot change it) */

#ifndef __ASSEMBLER__

#include <stddef.h>

#include <linux/vcore.h>

#include "internal.h"

struct vcore_blk {
	struct vcore_preempt_data *vcpd;
	/* where a NOTIFY entry saves the live FP state (entry code only) */
	void *notif_fp;
	/* the pop's VCORE_IOC_SELF_NOTIFY: ioctl(fd, sn_cmd, sn_arg) */
	__u64 fd;
	__u64 sn_cmd;
	struct vcore_self_notify *sn_arg;
	/* preempt_fp as a START entry found it (copied before any C) */
	void *start_fp;
	unsigned int vcoreid;
	unsigned int entry_reason;	/* VCORE_ENTRY_* of the running entry */
	char *stack_lo;			/* lowest byte of the transition stack */
	void *map;			/* the whole mapping */
	size_t map_len;
	int thread_state;		/* VC_THREAD_* (atomic) */
	int attach_err;			/* errno of a failed ATTACH */
	struct vcore_self_notify sn;	/* EV_NONE to our private mbox */
	/* TSC at the entry's first instruction, if vcore_entry_stamp */
	__u64 entry_tsc;
	int tid;			/* the thread's kernel id, set at start */
	/*
	 * The vcore's own FP area, then start_fp's: vcore_fp_size() bytes
	 * each.
	 */
	unsigned char scratch_fp[] __attribute__((aligned(64)));
};

#define VC_THREAD_NONE		0
#define VC_THREAD_ATTACHING	1
#define VC_THREAD_FAILED	2

/* The FP save and restore the entry code uses (vcore_lib.c sets them). */
extern VCORE_HIDDEN unsigned char vcore_fp_mode;
extern VCORE_HIDDEN unsigned char vcore_fp_avx;
extern VCORE_HIDDEN __u64 vcore_fp_mask;
extern VCORE_HIDDEN __u64 vcore_fp_bytes;
extern VCORE_HIDDEN const __u32 vcore_default_mxcsr;
/* whether the entry code stamps entry_tsc (vcore_entry_tsc_enable()) */
extern VCORE_HIDDEN unsigned char vcore_entry_stamp;

/*
 * The kernel thread id of vcore @vcoreid's thread, for a timer or signal
 * aimed at that one thread (SIGEV_THREAD_ID, tgkill); -1 before
 * vcore_lib_init() or for an id out of range.
 */
VCORE_HIDDEN int vcore_thread_tid(unsigned int vcoreid);

/* vcore_entry.S */
VCORE_HIDDEN void __vcore_entry(void);
VCORE_HIDDEN __attribute__((__noreturn__))
void __vcore_pop(struct vcore_user_ctx *ctx, void *fp, struct vcore_blk *blk);
VCORE_HIDDEN void __vcore_save_and_call(struct vcore_user_ctx *save,
					void (*fn)(void *), void *arg,
					struct vcore_blk *blk);

/*
 * Where the saved uthread context @ctx goes on when it is resumed: its
 * rip, or for one stopped in a pop's tail (vcore_entry.S), the rip in its
 * pop frame, which the tail jumps to.  What a tick must judge: a context
 * stopped in the tail is still in whatever code it was popped into.
 */
VCORE_HIDDEN uintptr_t vcore_ctx_resume_pc(const struct vcore_user_ctx *ctx);
/* The same, for a context given as its rip and rsp (a signal frame's). */
VCORE_HIDDEN uintptr_t vcore_resume_pc(uintptr_t rip, uintptr_t rsp);

/* vcore_lib.c, called by the entry code on the transition stack */
VCORE_HIDDEN __attribute__((__noreturn__))
void __vcore_entry_c(unsigned int vcoreid, unsigned int reason);
VCORE_HIDDEN __attribute__((__noreturn__))
void __vcore_switch_landing(void (*fn)(void *), void *arg);
VCORE_HIDDEN __attribute__((__noreturn__))
void __vcore_resume_lost(unsigned int vcoreid);

/*
 * Memory the sanitizer may think poisoned: a stack whose frames were left
 * without returning (a transition stack at every entry, a freed uthread
 * stack).  A no-op outside AddressSanitizer builds.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define vcore_san_unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define vcore_san_unpoison(p, n)	((void)(p), (void)(n))
#endif

#endif /* __ASSEMBLER__ */

#endif /* _VCORE_CTX_INTERNAL_H */
