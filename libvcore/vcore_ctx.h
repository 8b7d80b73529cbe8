/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Vcore context: the user half of Akaros's vcore model on top of
 * /dev/vcore.
 *
 * vcore_lib_init() gives every vcore a transition stack and a thread.  The
 * thread attaches to its vcore (VCORE_IOC_VCORE_ATTACH) and from then on
 * *is* the vcore: whenever the kernel grants the vcore a pcore, notifies it
 * or restarts it after a preemption, the thread continues at libvcore's
 * vcore_entry on the vcore's transition stack, in "vcore context"
 * (notif_disabled set, the analogue of interrupts off), and libvcore calls
 * the entry hook given to vcore_lib_init().  The hook never returns in the
 * usual sense: it leaves vcore context by popping a saved user context
 * (vcore_pop_user_ctx()) or by yielding the vcore (vcore_yield()).
 *
 * A saved user context is a struct vcore_user_ctx and an FP area:
 *   VCORE_CTX_HW  every general register, rip and rflags (what the kernel
 *                 saves on a notification or a preemption); the FP/SIMD
 *                 state is in the FP area (an XSAVE image).
 *   VCORE_CTX_SW  what a voluntary switch keeps: rbx, rbp, r12-r15, rsp,
 *                 rip, mxcsr and the x87 control word.  The rest of the FP
 *                 state is dead at a call, by the ABI.
 *
 * Thread-local storage: there is one TLS block per vcore thread, and all
 * code that runs on a vcore (vcore context and every user context popped
 * there) uses that vcore's.  libvcore never changes fs_base, and ignores
 * the fs_base field of a context.  A context that moves to another vcore
 * (a uthread, see uthread.h) sees that vcore's TLS from then on, errno
 * included: code that may move must not keep the address of a TLS object
 * across a point where it may move.
 *
 * Errors: int functions return 0 (or a count) or a negative errno.
 */
#ifndef _VCORE_CTX_H
#define _VCORE_CTX_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/vcore.h>

#include "vcore.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Set the vcore layer up on an open device: per vcore, a transition stack
 * (mmap, with a guard page below it), libvcore's vcore_entry and the stack
 * top in the VCPD, and a thread that attaches to the vcore.  The vcores
 * then wait offline until vcore_request_total() or _more() asks for them.
 * entry is called in vcore context on every START and NOTIFY entry (see
 * vcore_entry_reason()); it should not return: if it does, the vcore
 * yields, and entry is called again if the yield is refused.
 *
 * Once per process; dev must stay open and unchanged for as long as vcores
 * run.  The event mailboxes of the VCPDs are the caller's (see
 * vcore_vcpd_mboxes_init()).  Returns 0, -EBUSY (already done), -EINVAL (no
 * vcores), -ENOMEM, -EOPNOTSUPP (the module lacks ATTACH, POKE or YIELD,
 * or the FP state does not fit in preempt_fp), or the error of a thread's
 * ATTACH that failed at once.  A failed init leaves attached vcores
 * attached: they hold nothing but their thread.
 */
int vcore_lib_init(struct vcore_dev *dev, void (*entry)(void));

/*
 * Vcore threads block every asynchronous signal (a handler would run on
 * whatever the vcore runs, a uthread or vcore context, and could take a
 * lock the interrupted code holds); process-directed signals reach the
 * process's other threads.  Faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGTRAP, SIGSYS) stay deliverable.  The @nr signal numbers in
 * @signals stay unblocked too.  Before vcore_lib_init().
 */
void vcore_unblock_signals(const int *signals, unsigned int nr);

/* The device vcore_lib_init() was given, or NULL before it. */
struct vcore_dev *vcore_lib_dev(void);

/*
 * The calling thread's vcore id; -1U on a thread that is not a vcore.  On
 * a context that may move between vcores (a uthread with notifications
 * enabled) the answer may be stale as soon as it is read.
 */
unsigned int vcore_id(void);

/* Whether the caller runs in vcore context (set at vcore_entry). */
bool vcore_in_vcore_context(void);

/* api.max_vcores: the VCPDs, the vcore ids 0 .. vcore_max_vcores() - 1. */
unsigned int vcore_max_vcores(void);

/* Vcores online now, from procinfo (a snapshot). */
unsigned int vcore_num_vcores(void);

/* Whether vcoreid is mapped to a pcore now, and which (-1: not mapped). */
bool vcore_is_mapped(unsigned int vcoreid);
int vcore_pcoreid(unsigned int vcoreid);

/* Whether vcoreid's VCPD says VC_PREEMPTED. */
bool vcore_is_preempted(unsigned int vcoreid);

/* vcoreid's VCPD, or NULL. */
struct vcore_preempt_data *vcore_vcpd_of(unsigned int vcoreid);

/*
 * Ask for nr vcores in all (amt_wanted = nr, at most vcore_max_vcores()), or for
 * nr more than are online or already wanted, then poke the kernel, which
 * grants offline vcores free pcores up to amt_wanted.  Any thread may ask;
 * from a thread that is no vcore, a request for at least one vcore also
 * wakes a process whose vcores have all yielded (WAITING).  Returns the
 * number of vcores online after the poke, or a negative errno.
 */
int vcore_request_total(unsigned long nr);
int vcore_request_more(unsigned long nr);

/*
 * Notifications of vcoreid, which must be the caller's own vcore for as
 * long as the call runs (a uthread uses vcore_uth_disable_notifs()).
 *
 * vcore_disable_notifs(): set notif_disabled; the kernel then only sets
 * notif_pending.  vcore_enable_notifs(): clear notif_disabled, full barrier, look
 * at notif_pending, and if it is set have the kernel notify us now
 * (VCORE_IOC_SELF_NOTIFY): the caller's context is saved as the kernel
 * saves an interrupted one, and the vcore enters vcore context.  In vcore
 * context, vcore_enable_notifs() is only for vcore_idle()'s purpose: the next
 * notification restarts the vcore at vcore_entry and the enabling context
 * is dropped.
 */
void vcore_enable_notifs(unsigned int vcoreid);
void vcore_disable_notifs(unsigned int vcoreid);

/*
 * Akaros's vcore_yield(), in vcore context: stop being a vcore that checks
 * its public mbox (clear VC_CAN_RCV_MSG), handle what is already there (if
 * anything was, take the flag back and return: the caller has work), lower
 * amt_wanted by one unless preempt_pending, and yield the pcore (with
 * VCORE_YIELD_BEING_NICE if preempt_pending).  A granted vcore starts
 * afresh at vcore_entry.  It returns when the kernel refused (EAGAIN: a
 * notification is pending; the caller must handle events) with
 * VC_CAN_RCV_MSG set again.
 */
void vcore_yield(bool preempt_pending);

/*
 * Akaros's vcore_idle(), in vcore context with no user context to keep:
 * return at once if vcore_handle_events() found anything, else enable
 * notifications and wait (spinning) until a notification restarts the
 * vcore at vcore_entry.  The vcore keeps its pcore.
 */
void vcore_idle(void);

/*
 * Why the running vcore_entry was entered: VCORE_ENTRY_START (granted, or
 * restarted after a yield or after a preemption in a user context, which
 * is then in uthread_ctx and preempt_fp) or VCORE_ENTRY_NOTIFY (the
 * interrupted context is in the VCPD's uthread_ctx, its FP state in the FP
 * area the last vcore_pop_user_ctx() on this vcore named, or in the vcore's own
 * scratch area if none).  VCORE_ENTRY_RESUME never reaches the hook: the
 * entry code resumes vcore_ctx itself.
 */
unsigned int vcore_entry_reason(void);

/*
 * For benchmarks: with vcore_entry_tsc_enable(true), every entry into
 * vcore_entry reads the TSC at its first instruction (a load and a branch
 * when off), and vcore_entry_tsc() returns the stamp of the calling
 * vcore's latest entry (0 on a thread that is not a vcore, or before).
 */
void vcore_entry_tsc_enable(bool on);
__u64 vcore_entry_tsc(void);

/*
 * FP areas: fp_size bytes, 64-byte aligned, zeroed when allocated.  The
 * layout is the standard (non-compacted) XSAVE format of preempt_fp for
 * the components libvcore saves: those XCR0 enables, less PKRU (thread
 * state, like fs_base) and AMX tile data; FXSAVE's 512 bytes if the CPU
 * has no XSAVE.
 */
size_t vcore_fp_size(void);
void *vcore_fp_alloc(void);
void vcore_fp_free(void *fp);

/*
 * The FP state of a user context the kernel preempted, into fp.  For the
 * caller's own vcore: preempt_fp as this vcore's START entry found it (the
 * entry code copies it before anything can overwrite it; meaningful when
 * the vcore starts because a user context of its was preempted).  For
 * another vcore: its preempt_fp now, which the caller must keep stable by
 * holding VC_UTHREAD_STEALING on that vcore.  Uses no FP register.
 */
void vcore_fp_from_preempt(unsigned int vcoreid, void *fp);

/*
 * Leave vcore context for ctx, from vcore context on this vcore, notifs
 * disabled.  A HW context gets its FP state from fp first (fp may be NULL
 * to keep the live state); a SW one gets mxcsr and the x87 control word
 * from ctx.  Either way fp (or, if NULL, the vcore's scratch area) is
 * where a notification saves the FP state while ctx runs.
 *
 * Notifications are enabled on the way out, and if one is pending the
 * vcore goes back into vcore context at once, with ctx saved as though it
 * had been interrupted at its first instruction (see vcore_entry.S for how,
 * and why a notification at any instruction of the pop is safe).  ctx is
 * copied before that: it may be reused as soon as the popped context runs.
 */
void vcore_pop_user_ctx(struct vcore_user_ctx *ctx, void *fp) __attribute__((__noreturn__));

/*
 * From a user context on a vcore, notifications disabled: save the caller
 * as a SW context in *save (skipped if save is NULL), switch to this
 * vcore's transition stack and call fn(arg) there, in vcore context.  fn
 * must not return.  Popping *save later returns from this call, on
 * whichever vcore popped it.
 */
void vcore_save_ctx_and_call(struct vcore_user_ctx *save,
			     void (*fn)(void *arg), void *arg);

/*
 * A fresh SW context that starts fn on the stack whose (16-byte aligned)
 * top is stack_top: fn is entered as if called, with rbp 0, mxcsr and the
 * x87 control word at their defaults.  fn must not return.
 */
void vcore_init_sw_ctx(struct vcore_user_ctx *ctx, void (*fn)(void),
		       void *stack_top);

/*
 * VCORE_IOC_SELF_NOTIFY: post msg (EV_NONE if NULL) to vcoreid's private
 * (priv) or public VCPD mbox and notify it.  Any thread may send.
 */
int vcore_self_notify(unsigned int vcoreid, const struct event_msg *msg,
		      bool priv);

/*
 * VCORE_IOC_CHANGE_VCORE from vcore context: give our pcore to the
 * preempted vcoreid, which hears EV_VCORE_PREEMPT about us.  Returns 0
 * when this vcore runs again (resumed where it left), or -ENOTTY (the
 * module lacks the command), -EBUSY, -EAGAIN, -EINVAL as the kernel says.
 */
int vcore_change_to(unsigned int vcoreid);

/*
 * The same with enable_my_notif: vcoreid hears EV_CHECK_MSGS about us,
 * and this vcore, holding nothing it needs (no current uthread whose
 * context is only in the VCPD), starts afresh at its vcore_entry when it
 * runs again.  Returns only on failure, with vcore_change_to()'s errors.
 */
int vcore_change_and_restart(unsigned int vcoreid);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_CTX_H */
