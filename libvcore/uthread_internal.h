/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * What uthread.c shares with uth_sync.c: the uthread itself, the lock
 * that knows its holder, wait lists.  Not installed.
 */
#ifndef _VCORE_UTHREAD_INTERNAL_H
#define _VCORE_UTHREAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vcore.h>

#include "internal.h"
#include "uthread.h"

/* struct uthread.flags */
#define UTH_DONT_MIGRATE	0x1	/* notifs disabled: stays on its vcore */

/* struct uthread.state */
#define UTH_LIVE		0
#define UTH_EXITED		1

struct uthread {
	struct vcore_user_ctx ctx;	/* saved when not running */
	void *fp;			/* FP area, vcore_fp_size() bytes */
	unsigned int flags;		/* UTH_* (atomic) */
	unsigned int notif_depth;	/* vcore_uth_disable_notifs() nesting */
	unsigned int preempt_depth;	/* vcore_uth_preempt_disable() nesting */
	unsigned int preempt_pending;	/* a tick found preemption off */
	unsigned long nr_preempted;	/* times a tick switched it out */
	struct uthread *next;		/* run queue or one wait list */
	void (*block_cb)(struct uthread *, void *);
	void *block_arg;
	void *(*fn)(void *);
	void *arg;
	void *retval;
	char *map;			/* stack mapping, guard page first */
	size_t map_len;
	unsigned int lock;		/* guards state, joiner, detached */
	int state;
	bool detached;
	struct uthread *joiner;
};

/*
 * A spinlock that records its holder's vcore (uthread.c); held only with
 * notifications disabled.
 */
VCORE_HIDDEN void vcore_pdr_lock(unsigned int *l);
VCORE_HIDDEN void vcore_pdr_unlock(unsigned int *l);

/*
 * The signal tick source (a benchmark's alternative to the per-vcore
 * alarms): call it from a signal handler on a vcore thread.  If the signal
 * interrupted a uthread that may be preempted now (not vcore context,
 * notifications enabled, preemption enabled) and the run queue is not
 * empty, the uthread goes to the back of the run queue and the vcore runs
 * the next one; the call returns when the uthread runs again (perhaps on
 * another vcore thread, whose handler frame this is then).  Otherwise the
 * preemption is remembered, and taken at vcore_uth_preempt_enable() or
 * vcore_uth_enable_notifs() (or, in vcore context, before the vcore
 * resumes its uthread), and it returns at once.  The same policy and
 * counters as the alarm ticks.  The signal must be one the vcore threads
 * take (vcore_unblock_signals(), before vcore_uthread_lib_init()) and its
 * handler must run on the interrupted stack (no SA_ONSTACK); ucontext is
 * the handler's third argument (SA_SIGINFO), whose uc_stack is set to the
 * returning thread's own alternate stack (NULL: the caller does that, or
 * no vcore thread has one; ASan gives every thread one).  A vcore
 * thread whose uthread was switched out inside the handler keeps the
 * signal blocked (the frame's mask comes back only with that uthread's
 * sigreturn, on whatever thread it then runs): the caller unblocks it
 * when the thread next runs a uthread that is not inside the handler.
 * SA_NODEFER would avoid that, but lets ticks that come faster than the
 * handler runs stack frame on frame (tools/bench/preempt_bench.c).
 */
VCORE_HIDDEN void uth_preempt_from_signal(void *ucontext);

/* Time slicing's counters, for uth_sleep.c. */
VCORE_HIDDEN void uth_count_sleep(bool timed_out);

/*
 * Timers for sleeps and timed waits (uth_sleep.c): a list ordered by
 * deadline, under one vcore_pdr_lock, and one alarm of the alarm service
 * armed for the earliest.  The alarm's function, in vcore context, takes
 * the expired timers off the list (state FIRING), calls their fn, and
 * then sets them DONE; fn must not block, and may make uthreads runnable
 * and take vcore_pdr_locks (no timer's lock is held while it runs).
 *
 * uth_timer_prepare(): from a uthread, before it blocks (the alarm
 * service's start allocates).  uth_timer_start(): arm t (state IDLE) for
 * t->deadline, in any context with notifications off; 0, or the alarm
 * service's error (t is not armed).  uth_timer_stop(): from the owner,
 * notifications on or off; returns with t IDLE or DONE (its fn has
 * returned), true if it took t off the list before it fired.
 */
#define UTH_TIMER_IDLE		0
#define UTH_TIMER_QUEUED	1
#define UTH_TIMER_FIRING	2
#define UTH_TIMER_DONE		3

struct uth_timer {
	uint64_t deadline;		/* CLOCK_MONOTONIC ns */
	void (*fn)(struct uth_timer *t);
	struct uth_timer *prev, *next;	/* the list, under its lock */
	unsigned int state;		/* UTH_TIMER_*; atomic */
};

VCORE_HIDDEN int uth_timer_prepare(void);
VCORE_HIDDEN int uth_timer_start(struct uth_timer *t);
VCORE_HIDDEN bool uth_timer_stop(struct uth_timer *t);
VCORE_HIDDEN void uth_timers_forget(void);
/* For a test's dump when it is stuck: a racy look at the timers. */
VCORE_HIDDEN void uth_timers_state(uint64_t *head, bool *armed,
				   uint64_t *armed_at, uint32_t *alarm_id);

/* FIFO wait lists through uthread.next, under their owner's lock. */
static inline void wl_push(struct uthread **head, struct uthread **tail,
			   struct uthread *u)
{
	u->next = NULL;
	if (*tail)
		(*tail)->next = u;
	else
		*head = u;
	*tail = u;
}

/* Take u off a wait list if it is there; true if it was. */
static inline bool wl_remove(struct uthread **head, struct uthread **tail,
			     struct uthread *u)
{
	struct uthread *prev = NULL, *w;

	for (w = *head; w && w != u; w = w->next)
		prev = w;
	if (!w)
		return false;
	if (prev)
		prev->next = u->next;
	else
		*head = u->next;
	if (*tail == u)
		*tail = prev;
	u->next = NULL;
	return true;
}

static inline struct uthread *wl_pop(struct uthread **head,
				     struct uthread **tail)
{
	struct uthread *u = *head;

	if (u) {
		*head = u->next;
		if (!*head)
			*tail = NULL;
	}
	return u;
}

#endif /* _VCORE_UTHREAD_INTERNAL_H */
