/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * A fake vcore.ko for the vcore-context tests: the module's Linux side
 * (kmod/vcore_run.c, kick.c, provision.c, ioctl.c) played in user space
 * over the real portable core (lib/kernel_side.h), so that libvcore's
 * real entry, pop and uthread code runs unchanged against the kernel's
 * own vcore lists and event routing.
 *
 *   the core   owns what it owns in the module: the online, bulk-preempted
 *              and inactive lists, attach, grants, yield (its refusals and
 *              its second look at notif_pending), preemption, change_vcore,
 *              the process state and procinfo's maps, and every message:
 *              posts, send_event with its INDIR, SPAM_PUBLIC/SPAM_INDIR
 *              fallback and wakeup, kernel_evts, notif_pending and the
 *              decision to notify.  Its two calls into the Linux side come
 *              here: the notification IPI (a signal) and the grant after a
 *              wakeup.
 *   device     a fake struct vcore_dev over the kernel's MCP (its procinfo
 *              and procdata); the fd is /dev/null dup'ed to FAKE_KERNEL_FD.
 *   ioctls     a seccomp filter traps every ioctl on that fd; the SIGSYS
 *              handler does what the module would (ATTACH, POKE, YIELD,
 *              SELF_NOTIFY, SEND_EVENT, CHANGE_VCORE), calling the core as
 *              the module does, and, like the module's return to user
 *              space, rewrites the trapped thread's registers to enter
 *              vcore_entry on its transition stack.
 *   pcores     nr_pcores of them, handed out as provision.c does: one per
 *              vcore the core says the process wants, on ATTACH, POKE or
 *              a wakeup; one given up (yield, preemption) comes back only
 *              when the process asks again (the module's hold-off).  A
 *              vcore thread waits offline until a grant names its pcore.
 *   notify     a signal (FAKE_SIG_NOTIFY) stands in for the IPI; its
 *              handler does the module's task work: if the vcore is mapped
 *              and notif_disabled is clear, copy the interrupted general
 *              registers, rip, rflags and fs_base into uthread_ctx (type
 *              HW), set notif_disabled, and return into vcore_entry with
 *              rdi = vcoreid, rsi = VCORE_ENTRY_NOTIFY, rsp = vcore_stack.
 *              The FP state stays live: sigreturn restores what the
 *              interrupted code had.
 *   preempt    fake_preempt() signals the vcore (FAKE_SIG_PREEMPT); the
 *              handler saves the context into vcore_ctx or uthread_ctx
 *              (by notif_disabled) and the interrupted FP state, from the
 *              signal frame's XSAVE image, into preempt_fp (unless
 *              VC_UTHREAD_STEALING), sets VC_PREEMPTED, goes offline
 *              through the core and waits for a grant; it restarts with
 *              RESUME (vcore context) or START.  Two rules here go beyond
 *              kmod as it stands, and are what libvcore needs from it
 *              (vcore_entry.S): a vcore context save leaves a vcore_ctx
 *              whose type is still VCORE_CTX_HW alone (a RESUME has not
 *              taken it yet), and the FP save sets VC_FPU_SAVED in
 *              racy_flags and is skipped while that is still set (the
 *              entry has not taken preempt_fp yet).  With
 *              VCORE_FAKE_UNPROTECTED=1 in the environment the fake saves
 *              over them as kmod does today, and the preemption tests fail
 *              (a vcore preempted again before its entry took the slots
 *              loses its context).
 *   change     CHANGE_VCORE as the module's: the core swaps the vcores,
 *              the caller's context goes to vcore_ctx (returning 0), and
 *              the target hears about it through the kernel_evts ev_q.  A
 *              test that clears the command's bit in dev->api.ioctls gets
 *              ENOTTY, as from a module without it.
 *
 * The fake has no threads that exit (detach) and no bulk preemption.
 * Signal handlers run on a per-vcore alternate stack, so the fake writes
 * nothing on the stacks the library uses (the module writes none either).
 */
#ifndef _VCORE_TEST_FAKE_KERNEL_H
#define _VCORE_TEST_FAKE_KERNEL_H

#include <stdbool.h>
#include <signal.h>
#include <sys/types.h>

#include "event.h"
#include "vcore.h"

#define FAKE_KERNEL_FD		900
#define FAKE_SIG_NOTIFY		SIGUSR1
#define FAKE_SIG_PREEMPT	SIGUSR2
/*
 * A test's time-slice tick (uth_preempt_from_signal()): blocked while a
 * vcore thread is in the fake's kernel, as signals wait for the return to
 * user space.
 */
#define FAKE_SIG_TICK		(SIGRTMIN + 3)

struct fake_stats {
	unsigned long ipis;		/* notifications signalled */
	unsigned long notified;		/* ... that entered vcore_entry */
	unsigned long ignored;		/* ... that found notifs disabled */
	unsigned long self_notifies;	/* SELF_NOTIFY ioctls */
	unsigned long yields;		/* YIELDs that went offline */
	unsigned long yields_refused;
	unsigned long grants;
	unsigned long pokes;
	unsigned long preempts;
	unsigned long changes;		/* CHANGE_VCORE */
	unsigned long change_restarts;	/* ... with enable_my_notif */
	unsigned long resumes;		/* restarts with RESUME */
	/* EV_CHECK_MSGS a vcore sent itself, to each mbox */
	unsigned long check_msgs_public, check_msgs_private;
};

/*
 * Set up dev as a device with nr_vcores vcores and nr_pcores pcores to
 * grant (at most that many vcores online at once), and install the
 * traps.  Once per process, before any thread is created.  The kernel
 * must be set up first, with at least nr_vcores vcores (ks_init()).  0 or
 * -errno.
 */
int fake_kernel_init(struct vcore_dev *dev, unsigned int nr_vcores,
		     unsigned int nr_pcores);

/*
 * mcp_notify() on the core: notif_pending, and the IPI if it is due.
 * Whether this call sent the IPI (the vcore was mapped and
 * notif_disabled was clear when the core looked, after its barrier).
 */
bool fake_notify(unsigned int vcoreid);

/*
 * The core's mcp_post_vcore_event() into vcoreid's public or private mbox,
 * then mcp_notify(), as SELF_NOTIFY does.  0, or -1 if the core could not
 * post (counted as a drop).
 */
int fake_send_vc_msg(unsigned int vcoreid, bool priv,
		     const struct event_msg *msg);

/* The core's mcp_send_event() on ev_q; failures are the core's drops. */
void fake_send_event(struct event_queue *ev_q, const struct event_msg *msg);

/*
 * Preempt an online vcore and wait until it is offline with its context
 * saved, then, if any vcore was still online as it went, send
 * EV_VCORE_PREEMPT (ev_arg2 = vcoreid) through the core's kernel_evts
 * ev_q.  Returns 0, or -1 if the vcore was not online (or went offline
 * by itself first).
 */
int fake_preempt(unsigned int vcoreid);

/*
 * Widen CHANGE_VCORE's window between the core's change and the caller's
 * wait for a grant (where the module sends the kernel event, with no
 * lock held) by usec: a grant or a preemption of the caller may land in
 * it.  0 (the default) turns it off.
 */
void fake_set_change_window(unsigned int usec);

/* Online vcores now, and whether vcoreid is online: the core's. */
unsigned int fake_online(void);
bool fake_vcore_online(unsigned int vcoreid);

/* The vcore the calling thread plays, or -1. */
int fake_current_vcore(void);

void fake_get_stats(struct fake_stats *st);

/*
 * VCORE_IOC_ALARM_SET and VCORE_IOC_ALARM_CANCEL as the module's (one
 * shot and periodic, SET modifying, CANCEL synchronous), sent from one
 * thread of the fake's; every alarm counts wall-clock time (a per-vcore
 * one keeps counting while its vcore is offline).  Called after
 * fake_kernel_init(), before the library looks at dev->api.  0 or -errno.
 */
int fake_kernel_enable_alarms(void);
/* Expiries sent so far. */
unsigned long fake_alarms_fired(void);

/* The thread that plays vcoreid, 0 until it attached. */
pid_t fake_vcore_tid(unsigned int vcoreid);

#endif /* _VCORE_TEST_FAKE_KERNEL_H */
