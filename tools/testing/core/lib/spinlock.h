/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Spinlocks with interrupts "disabled": a pthread spinlock plus checks in
 * the spirit of lockdep.
 *
 *   irqsave      each thread has an interrupts-enabled flag; the irqsave
 *                lock saves it in flags and clears it, the restore puts
 *                back what flags says (and checks that interrupts were
 *                off).  Simulated interrupts (hooks.h) only fire while it
 *                is set, as on a CPU.
 *   ownership    vc_assert_held() checks that the caller holds the lock;
 *                unlocking a lock one does not hold, or taking one again,
 *                is reported at once instead of deadlocking.
 *   order        locks get a class from the text of their initialiser
 *                (vc_lock_init(&m->lock) is class "&m->lock"); taking B
 *                while holding A records A -> B, and B -> A later is an
 *                inversion.  Two locks of one class held at once are
 *                reported too (the core never nests them).
 *
 * A report prints both sites and aborts (tests run under a watchdog, the
 * fuzzer sees a crash).
 */
#ifndef _H_SPINLOCK_H
#define _H_SPINLOCK_H

#include <pthread.h>

struct h_spinlock {
	pthread_spinlock_t lock;
	unsigned int cls;		/* index into the class table */
	pthread_t owner;		/* valid while held; written by owner */
	int held;
};

typedef struct h_spinlock spinlock_t;

void h_spin_init(struct h_spinlock *l, const char *name);
unsigned long h_spin_lock_irqsave(struct h_spinlock *l);
void h_spin_unlock_irqrestore(struct h_spinlock *l, unsigned long flags);
void h_spin_lock(struct h_spinlock *l);
void h_spin_unlock(struct h_spinlock *l);
void h_assert_held(struct h_spinlock *l, const char *file, int line);

#define spin_lock_init(l)		h_spin_init((l), #l)
#define spin_lock(l)			h_spin_lock(l)
#define spin_unlock(l)			h_spin_unlock(l)
#define spin_lock_irqsave(l, f)		((f) = h_spin_lock_irqsave(l))
#define spin_unlock_irqrestore(l, f)	h_spin_unlock_irqrestore((l), (f))

/* Per-thread interrupt state. */
unsigned long h_local_irq_save(void);
void h_local_irq_restore(unsigned long flags);
bool h_irqs_disabled(void);

#define local_irq_save(f)		((f) = h_local_irq_save())
#define local_irq_restore(f)		h_local_irq_restore(f)
#define irqs_disabled()			h_irqs_disabled()

/* Locks this thread holds now. */
int h_locks_held(void);
void h_preempt_count_add(int d);
int h_preempt_count(void);

#endif /* _H_SPINLOCK_H */
