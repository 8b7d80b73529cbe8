/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The access hook: every vc_* accessor, READ_ONCE/WRITE_ONCE, RCU pointer
 * access and lock operation in the core calls h_access() first, naming its
 * call site.  The hook is out of line and branch-free at the call site, so
 * it adds nothing to the core's branch coverage.  What it can do, per
 * thread unless said otherwise:
 *
 *   watchpoints   run a callback just before the Nth access to an address
 *                 range: a test plays user space (or another CPU) changing
 *                 shared memory at an exact point of a kernel operation.
 *   step budget   abort when one operation makes more hooked accesses than
 *                 a bound: a loop over shared state that does not end.
 *   interrupts    run a callback "in hard IRQ" at the Nth hook point at
 *                 which this thread has interrupts enabled.
 *   validation    a global callback that sees every access (the fuzzer
 *                 checks that writes land only in shared memory).
 *   injection     global: random spins and sched_yield()s at every point,
 *                 to widen race windows in the stress test.
 *   sites         global: which call sites were reached, and how often.
 */
#ifndef _H_HOOKS_H
#define _H_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum h_kind {
	H_LOAD = 1 << 0,
	H_STORE = 1 << 1,
	H_RMW = 1 << 2,
	H_FENCE = 1 << 3,
	H_LOCK = 1 << 4,
	H_UNLOCK = 1 << 5,
	H_RCU = 1 << 6,
};

#define H_MEM		(H_LOAD | H_STORE | H_RMW)
#define H_WRITES	(H_STORE | H_RMW)
#define H_ANY		0x7f

struct h_site {
	const char *file;
	int line;
	const char *what;
	unsigned long hits;		/* atomic */
	struct h_site *next;		/* in the registry, once hit */
	int listed;			/* atomic: pushed onto the registry */
};

#define H_SITE_INIT(what)	{ __FILE__, __LINE__, (what), 0, NULL, 0 }

void h_access(struct h_site *site, const volatile void *addr,
	      unsigned int kind);

#define H_HOOK(addr, kind, what)					\
	({ static struct h_site __hs = H_SITE_INIT(what);		\
	   h_access(&__hs, (const volatile void *)(addr), (kind)); })

/* ---- watchpoints (per thread) ---- */
typedef void (*h_watch_fn)(void *arg, const volatile void *addr,
			   unsigned int kind);

/*
 * Call fn(arg) before the (skip + 1)th access of a kind in kinds to any
 * byte of [addr, addr + len), and before each of the next times - 1 such
 * accesses (times 0: every one from then on).  Returns the watch id, or -1
 * when the table is full.  Callbacks run with the hook disabled, so what
 * they do to shared memory is not itself watched.
 */
int h_watch(const volatile void *addr, size_t len, unsigned int kinds,
	    unsigned int skip, unsigned int times, h_watch_fn fn, void *arg);
unsigned int h_watch_fired(int id);
void h_watch_clear(void);

/* ---- step budget (per thread) ---- */
/* Abort after more than steps hooked accesses; 0 lifts the bound. */
void h_budget_set(unsigned long steps);
unsigned long h_steps(void);
/* What to do when the budget runs out (default: report and abort). */
void h_budget_on_exceeded(void (*fn)(void));

/* ---- simulated interrupts (per thread) ---- */
/*
 * Run fn(arg) once, at the (after + 1)th hook point at which this thread
 * has interrupts enabled and is not already in the handler.  The handler
 * runs with interrupts disabled and h_in_irq() true.
 */
void h_irq_arm(unsigned int after, void (*fn)(void *), void *arg);
bool h_irq_fired(void);
void h_irq_disarm(void);
bool h_in_irq(void);

/* ---- validation (global) ---- */
void h_validate_set(void (*fn)(const struct h_site *site,
			       const volatile void *addr, unsigned int kind));

/* ---- delay injection (global) ---- */
/* Delay one hooked access in one_in; 0 turns injection off. */
void h_inject_set(unsigned int one_in);
unsigned long h_inject_count(void);

/* ---- sites (global) ---- */
unsigned int h_sites_hit(void);
void h_sites_report(FILE *f);

#endif /* _H_HOOKS_H */
