/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Uthreads: user-level threads scheduled by the vcores, after Akaros's
 * parlib uthread layer.
 *
 * vcore_uthread_lib_init() sets up the vcore layer (vcore_ctx.h) with a
 * scheduler as its entry: on every START or NOTIFY entry a vcore takes
 * its interrupted uthread's context from the VCPD, handles its events,
 * then runs that uthread again (a notification does not reschedule) or,
 * if it has none, the next runnable one from one FIFO run queue per
 * process; with nothing to run it yields its pcore.  A uthread runs on its
 * own mmap'd stack with a guard page; it may be interrupted at any
 * instruction by a notification and resumes with every register intact.
 * It may move to another vcore whenever it blocks or yields, and when a
 * vcore that was preempted while running it is recovered by another.
 *
 * TLS: uthreads have none of their own.  A uthread uses the TLS of the
 * vcore thread it runs on (libvcore never switches fs_base), so a
 * __thread variable, errno included, is per vcore, not per uthread, and
 * may change under a uthread that moves.  libvcore keeps errno across
 * its own blocking calls; user code must not keep the address of a TLS
 * object across a call that may block, or across code that runs with
 * notifications enabled if another vcore may steal it.
 *
 * Preemption recovery follows Akaros: on EV_VCORE_PREEMPT for vcore r, a
 * vcore that finds r preempted in vcore context gives r its pcore
 * (VCORE_IOC_CHANGE_VCORE; without that command, it asks for more vcores
 * instead, so that the kernel grants r again); otherwise it steals r's
 * uthread (VC_UTHREAD_STEALING, then the context from uthread_ctx and the
 * FP state from preempt_fp) unless the uthread cannot move, and then stops
 * r receiving messages (VC_CAN_RCV_MSG) and drains r's public mbox,
 * having first sent itself EV_CHECK_MSGS about r.
 *
 * Locks: the run queue, mutexes, condition variables and wait
 * controllers are spinlocks held with notifications disabled; a waiter
 * that finds the holder's vcore preempted does the recovery above for it.
 * A uthread holds the mailboxes' consumer locks with notifications
 * disabled too, so that neither a notification's handlers nor a
 * time-slice tick come between it and the unlock.
 *
 * Scheduling is cooperative unless vcore_uthread_set_quantum() turns on
 * time slicing (below).
 *
 * Errors: int functions return 0 or a negative errno.
 */
#ifndef _VCORE_UTHREAD_H
#define _VCORE_UTHREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vcore.h>

#include "vcore.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uthread;

/*
 * Set up event mailboxes for every VCPD (the event arena must be set up),
 * the preemption handlers and their kernel event queues, and the vcore
 * layer with the uthread scheduler as its entry.  Vcores are requested as
 * uthreads become runnable.  Once per process.
 */
int vcore_uthread_lib_init(struct vcore_dev *dev);

/*
 * A new uthread that runs fn(arg) and exits with its return value; it is
 * runnable at once.  NULL with errno ENOMEM.  Any thread may create.
 */
struct uthread *vcore_uthread_create(void *(*fn)(void *), void *arg);

/* The calling uthread, or NULL outside one (in vcore context, too). */
struct uthread *vcore_uthread_self(void);

/* Go to the back of the run queue. */
void vcore_uthread_yield(void);

/*
 * Leave the CPU and block: once the caller's context is saved, cb(self,
 * arg) runs in vcore context and makes sure that someone will pass self to
 * vcore_uthread_runnable() (typically it queues self on a wait list and drops
 * the list's lock).  Returns when the uthread runs again, with
 * notifications enabled whatever the caller's vcore_uth_disable_notifs() depth.
 */
void vcore_uthread_block(void (*cb)(struct uthread *self, void *arg), void *arg);

/* Make a blocked (or new) uthread runnable; from any thread or context. */
void vcore_uthread_runnable(struct uthread *u);

/* End the calling uthread; vcore_uthread_join() gets retval. */
void vcore_uthread_exit(void *retval) __attribute__((__noreturn__));

/*
 * Wait for u to exit, take its return value and free it.  From a uthread
 * the caller blocks; from any other thread it polls.  -EINVAL if u is
 * detached.
 */
int vcore_uthread_join(struct uthread *u, void **retval);

/* Free u when it exits; it may not be joined.  -EINVAL if already. */
int vcore_uthread_detach(struct uthread *u);

/*
 * Notifications off and on for the calling uthread, nestable.  While off,
 * the uthread stays on its vcore (it is marked as one that cannot move)
 * and is not interrupted.  In vcore context and outside vcores they do
 * nothing.
 */
void vcore_uth_disable_notifs(void);
void vcore_uth_enable_notifs(void);

/* A blocking mutex (FIFO hand-off) and a condition variable. */
struct uth_mutex {
	unsigned int lock;		/* the spinlock guarding the rest */
	unsigned int locked;
	struct uthread *wait_head, *wait_tail;
};

struct uth_cond_var {
	unsigned int lock;
	unsigned int resv;
	struct uthread *wait_head, *wait_tail;
};

#define UTH_MUTEX_INIT		{ 0, 0, 0, 0 }
#define UTH_COND_VAR_INIT	{ 0, 0, 0, 0 }

void vcore_uth_mutex_init(struct uth_mutex *m);
void vcore_uth_mutex_lock(struct uth_mutex *m);
bool vcore_uth_mutex_trylock(struct uth_mutex *m);
void vcore_uth_mutex_unlock(struct uth_mutex *m);

void vcore_uth_cond_var_init(struct uth_cond_var *cv);
/* Unlock m, sleep until signalled, lock m again.  m must be held. */
void vcore_uth_cond_var_wait(struct uth_cond_var *cv, struct uth_mutex *m);
void vcore_uth_cond_var_signal(struct uth_cond_var *cv);
void vcore_uth_cond_var_broadcast(struct uth_cond_var *cv);

/*
 * Blocking on event queues.  vcore_evq_attach_wakeup_ctlr() makes ev_q's own
 * handler (ev_handler, ev_udata) wake the uthreads blocked on it, and sets
 * EVENT_INDIR, EVENT_SPAM_INDIR, EVENT_IPI and EVENT_WAKEUP in its flags:
 * the kernel then tells a vcore that will look (through the fallback, and
 * waking the process if every vcore has yielded) that the ev_q has
 * messages, and that vcore's vcore_handle_events() wakes the waiters.  The
 * ev_q's mbox is left to the waiters.  -ENOMEM, -EBUSY (it has a handler).
 * vcore_evq_remove_wakeup_ctlr() undoes it; nobody may be blocked on ev_q.
 */
int vcore_evq_attach_wakeup_ctlr(struct event_queue *ev_q);
void vcore_evq_remove_wakeup_ctlr(struct event_queue *ev_q);

/*
 * Take a message from one of the nr ev_qs (each with a wakeup controller),
 * blocking the calling uthread until one has a message.  Returns the
 * index of the ev_q it came from; -EINVAL (nr 0, or not a uthread).
 */
int vcore_uth_blockon_evqs_arr(struct event_msg *msg, struct event_queue **evqs,
			 size_t nr);

/* What the uthread layer has done so far, for tests and tools. */
struct uthread_stats {
	unsigned long created;
	unsigned long exited;
	unsigned long steals;		/* uthreads taken from preempted vcores */
	unsigned long changes;		/* CHANGE_VCORE to a preempted vcore */
	unsigned long change_fallbacks;	/* ... refused: asked for vcores */
	unsigned long remote_drains;	/* other vcores' public mboxes drained */
	unsigned long vcore_yields;	/* idle vcores that yielded their pcore */
	unsigned long kicks;		/* yielding vcores told of new work */
	unsigned long requests;		/* vcore requests for runnable work */
	unsigned long wakeups;		/* ... that had to wake a WAITING process */
};

void vcore_uthread_get_stats(struct uthread_stats *st);

/*
 * Time slicing (Akaros's pthread 2LS on pvcalarms).  With a quantum, each
 * vcore that runs uthreads has a per-vcore alarm (vcore_alarm.h's
 * VCORE_ALARM_VCORE, periodic, counting only the vcore's online time)
 * that ticks every quantum: armed when the vcore starts running
 * uthreads, cancelled when it finds nothing to run and yields its pcore.
 * A tick notifies the vcore; in vcore context, if the uthread it
 * interrupted may be preempted and the run queue is not empty, that
 * uthread (its registers and FP/SIMD state saved by the notification)
 * goes to the back of the run queue and the vcore runs the next one.  A
 * uthread that may not be preempted now (preemption or notifications
 * disabled) is marked instead, and yields when it enables them again.
 *
 * vcore_uthread_set_quantum(): usec microseconds, 0 for cooperative
 * scheduling (the default).  Vcores take a new quantum at their next
 * scheduling point; the call notifies the online ones so that they do so
 * at once.  -EINVAL (usec below 10, the module's shortest period),
 * -ENXIO (before vcore_uthread_lib_init()), -ENOTTY (the module has no
 * alarms), -ENOMEM.  Each vcore that runs uthreads holds one of the
 * module's alarms (alarms_max) while it does.
 * vcore_uthread_quantum(): the quantum now, 0 if none.
 */
/*
 * The ticks are the module's alarms with ids 0 .. max_vcores - 1 (the
 * alarm service leaves those free); a program setting raw alarms must
 * keep clear of them.
 */
int vcore_uthread_set_quantum(unsigned int usec);
unsigned int vcore_uthread_quantum(void);

/*
 * Preemption off and on for the calling uthread, nestable: while off, a
 * tick does not switch it out (it is remembered, and the last
 * vcore_uth_preempt_enable() yields to take it).  Unlike
 * vcore_uth_disable_notifs(), the uthread still hears notifications and
 * may move to another vcore when its own is preempted by the kernel; it
 * may block.  Outside a uthread they do nothing.
 */
void vcore_uth_preempt_disable(void);
void vcore_uth_preempt_enable(void);

/*
 * Sleeps on CLOCK_MONOTONIC (vcore_alarm_now()): the calling uthread
 * blocks, and no earlier than abs_ns (or ns from now) it is runnable
 * again.  They start the alarm service (vcore_alarm_service_init()) on the
 * uthreads' device if it is not running; sleepers share one of its
 * alarms, armed for the earliest.  From a thread that is no uthread (not
 * vcore context) they sleep with clock_nanosleep().  0, -EINVAL (vcore
 * context), or the alarm service's error (the uthread did not sleep).
 */
int vcore_uthread_sleep_until(uint64_t abs_ns);
int vcore_uthread_sleep_ns(uint64_t ns);

/*
 * The blocking calls with a CLOCK_MONOTONIC deadline: 0 (as the untimed
 * call), or -ETIMEDOUT once abs_ns has passed (a deadline already past
 * still tries once).  vcore_uth_cond_var_timedwait() holds m again on
 * return either way.  vcore_uth_blockon_evqs_timed() returns the ev_q's
 * index as vcore_uth_blockon_evqs_arr() does.  Besides, -EINVAL (not a
 * uthread) and the alarm service's errors, as for the sleeps.
 */
int vcore_uth_mutex_timedlock(struct uth_mutex *m, uint64_t abs_ns);
int vcore_uth_cond_var_timedwait(struct uth_cond_var *cv, struct uth_mutex *m,
				 uint64_t abs_ns);
int vcore_uth_blockon_evqs_timed(struct event_msg *msg,
				 struct event_queue **evqs, size_t nr,
				 uint64_t abs_ns);

/*
 * What time slicing has done so far.  The struct may grow at its end: a
 * caller passes sizeof() of its own, and gets that much (the rest of a
 * larger one zeroed).  0, or -EINVAL (st NULL).
 */
struct vcore_uthread_preempt_stats {
	unsigned long ticks;		/* ticks a vcore took (alarm or signal) */
	unsigned long preemptions;	/* uthreads switched out by a tick */
	unsigned long deferred;		/* ticks that found preemption off, or the
					 * uthread in libc (vcore_uthread(3)) */
	unsigned long deferred_taken;	/* ... taken when it came back on */
	unsigned long idle_ticks;	/* no uthread, or nothing else to run */
	unsigned long arms;		/* tick alarms armed (or re-armed) */
	unsigned long disarms;		/* ... cancelled */
	unsigned long sleeps;		/* sleeps and timed waits begun */
	unsigned long timeouts;		/* timed waits that timed out */
};

int vcore_uthread_get_preempt_stats(struct vcore_uthread_preempt_stats *st,
				    size_t size);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_UTHREAD_H */
