/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvcore internals shared by the mailbox and arena files: spin waiting,
 * the consumers' spinlock, and functions that are not part of the API.
 * Not installed.
 */
#ifndef _VCORE_INTERNAL_H
#define _VCORE_INTERNAL_H

#include <sched.h>
#include <stddef.h>

#include "barrier.h"

#define VCORE_HIDDEN	__attribute__((visibility("hidden")))
/* a consumer's rare paths (waits, page flips, recovery): out of line */
#define VCORE_COLD	__attribute__((noinline, cold))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
/* the compiler forgets what it knows of var's value (as Linux's) */
#define OPTIMIZER_HIDE_VAR(var)	__asm__ ("" : "+r" (var))

#define VCORE_PAGE_SIZE	4096UL
#define VCORE_PAGE_MASK	(VCORE_PAGE_SIZE - 1)

/*
 * One step of a wait on another party.  A wait on the kernel (a slot's
 * ready flag, a page link) or on a peer consumer (nr_cons, cons_pub_idx, a
 * lock) cannot be bounded by the waiter: it ends when the other side makes
 * progress.  So spin politely, and every SPIN_YIELD_EVERY steps give the
 * CPU away, in case the party we wait for is a thread the Linux scheduler
 * has descheduled (a vcore thread sharing a CPU, or a test's simulated
 * kernel).  Akaros's cpu_relax_any() plays this role there.
 */
#define SPIN_YIELD_EVERY	128

static inline void spin_relax(unsigned int *spins)
{
	cpu_relax();
	if (++*spins % SPIN_YIELD_EVERY == 0)
		sched_yield();
}

/*
 * Waits on another consumer (a lock it holds, a copy it has not finished)
 * end when that consumer runs again.  If its vcore was preempted, that may
 * be never while the process sits at its fair share and every vcore it
 * still has is spinning here.  Akaros's PDR locks and cpu_relax_any() make
 * sure such a vcore gets to run (ensure_vcore_runs()), and so do these
 * waits: every WAIT_HELP_EVERY spins they hand the party they wait for to
 * vcore_waits.  The mailboxes link without the vcore layer (the unit
 * tests use them alone), so the layer that can change to another vcore
 * plugs in here when its scheduler starts (uthread.c); until then, or
 * without it, a wait only spins and yields.
 */
#define WAIT_HELP_EVERY	1024
#define WAIT_NOBODY	0xffffffffU	/* a lock word held by no vcore */

struct vcore_waits {
	/* what the caller leaves in a lock word it takes: vcore id + 1 */
	unsigned int (*self)(void);
	/* the holder of a lock word: if its vcore is preempted, run it */
	void (*help)(unsigned int holder);
	/* waiting on a consumer we cannot name: look at the next vcore */
	void (*help_any)(void);
	/* around a consumer lock: keep its holder from being switched out */
	void (*hold)(void);
	void (*release)(void);
};

extern const struct vcore_waits *vcore_waits VCORE_HIDDEN;

static inline unsigned int wait_self(void)
{
	const struct vcore_waits *w = READ_ONCE(vcore_waits);

	return w ? w->self() : WAIT_NOBODY;
}

static inline void wait_hold(void)
{
	const struct vcore_waits *w = READ_ONCE(vcore_waits);

	if (w)
		w->hold();
}

static inline void wait_release(void)
{
	const struct vcore_waits *w = READ_ONCE(vcore_waits);

	if (w)
		w->release();
}

static inline void wait_help(unsigned int holder, unsigned int spins)
{
	const struct vcore_waits *w;

	if (spins % WAIT_HELP_EVERY || !holder || holder == WAIT_NOBODY)
		return;
	w = READ_ONCE(vcore_waits);
	if (w)
		w->help(holder);
}

/* spin_relax() for a wait on other consumers, whoever they are. */
static inline void spin_relax_consumers(unsigned int *spins)
{
	const struct vcore_waits *w;

	spin_relax(spins);
	if (*spins % WAIT_HELP_EVERY)
		return;
	w = READ_ONCE(vcore_waits);
	if (w)
		w->help_any();
}

/*
 * The consumers' lock (ucq.u_lock, ceq.u_lock): a test-and-test-and-set
 * spinlock on a user-only word of either width, holding its holder's
 * wait_self(), so that a waiter can see a holder whose vcore was preempted
 * and get it running (wait_help()).  Acquire on lock, release on unlock.
 * A uthread holds it with notifications disabled (wait_hold(), from the
 * uthread layer), as Akaros's PDR locks do: no notification handler
 * that takes the same lock, and no time-slice tick, can come between it
 * and its unlock, and its vcore id is in the word.
 */
#define u_spin_lock(l)							\
	do {								\
		unsigned int __spins = 0, __me;				\
									\
		wait_hold();						\
		__me = wait_self();					\
		for (;;) {						\
			__typeof__(*(l)) __old = READ_ONCE(*(l));	\
									\
			if (!__old) {					\
				if (try_cmpxchg((l), &__old, __me))	\
					break;				\
				continue;				\
			}						\
			spin_relax(&__spins);				\
			wait_help((unsigned int)__old, __spins);	\
		}							\
	} while (0)

#define u_spin_unlock(l)						\
	do {								\
		smp_store_release((l), 0);				\
		wait_release();						\
	} while (0)
#define u_spin_is_locked(l)	(READ_ONCE(*(l)) != 0)

/*
 * A fork()ed child starts with the library as a new process has it: each
 * layer forgets the parent's state in its pthread_atfork() child handler,
 * registered when the layer is first set up.
 */
void vcore_arena_slabs_forget(void) VCORE_HIDDEN;

/*
 * Delay injection, as in rseq's selftests: numbered points inside the
 * lock-free protocols where a test build (-DVCORE_INJECT_DELAYS) calls a
 * hook the test harness provides, which may spin or yield to widen the
 * race window there.  In the library proper they compile to nothing.
 */
enum vcore_inject_point {
	INJ_UCQ_CONS_LOADED = 1,	/* between H's two loads */
	INJ_UCQ_CHECKED,		/* found a slot to claim, no CAS yet */
	INJ_UCQ_CLAIMED,		/* slot claimed, ready not yet seen */
	INJ_UCQ_COPIED,			/* message copied, nr_cons not yet */
	INJ_UCQ_FLIPPED,		/* cons_idx moved, old page not free */
	INJ_CEQ_PVT_LOADED,		/* between M's two loads */
	INJ_CEQ_SLOT_TAKEN,		/* ring entry read, pub not advanced */
	INJ_CEQ_UNPOSTED,		/* between E and F */
	INJ_CEQ_RECOVERING,		/* overflow cleared, scan not begun */
	INJ_EVBM_CLEARED,		/* check_bits cleared, no look yet */
	INJ_EVBM_LOOKED,		/* looked and found no bit */
	INJ_EV_ALERT_CLEARED,		/* ev_alert_pending cleared */
	INJ_NR_USER_POINTS,
};

#ifdef VCORE_INJECT_DELAYS
void vcore_inject_delay(unsigned int point);
#define inject_delay(point)	vcore_inject_delay(point)
#else
#define inject_delay(point)	do { } while (0)
#endif

/* The size class of a sub-page arena object, 0 if p is not one (arena.c). */
VCORE_HIDDEN size_t vcore_arena_obj_size(const void *p);

/* numa.c: prefer node for the untouched pages of [p, p + len) */
struct vcore_dev;
VCORE_HIDDEN void vcore_numa_place(const struct vcore_dev *dev, void *p,
				   size_t len, int node);
/* the node of the caller's vcore's pcore, or of its CPU; -1 unknown */
VCORE_HIDDEN int vcore_numa_current_node(void);

#endif /* _VCORE_INTERNAL_H */
