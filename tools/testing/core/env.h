/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The user-space harness's replacement for kmod/core/env.h.
 *
 * The portable core (kmod/core/arena.c, event.c, ucq.c, ceq.c, evbitmap.c,
 * vcores.c and their headers) takes every include from "env.h".  The
 * harness force-includes this file first (-include), so its include guard
 * is already defined when the core's own #include "env.h" comes along, and
 * the kernel's version is skipped whole.  The core then compiles unchanged
 * against:
 *
 *   shared memory   vc_load/vc_store/... as GCC __atomic builtins with the
 *                   kernel's ordering; every one calls the access hook
 *                   (lib/hooks.h) first: delay injection, watchpoints that
 *                   play a racing user space, a step budget that catches
 *                   unbounded loops, and simulated interrupts.
 *   locks           pthread spinlocks with irqsave emulated per thread,
 *                   owner tracking for vc_assert_held(), and a lock-order
 *                   check (lib/spinlock.h).
 *   RCU             liburcu (urcu-memb) read-side sections, with a
 *                   per-thread nesting check; rcu_dereference() is an
 *                   acquire load (lib/rculist.h).
 *   lists, bitmaps  written for the harness (lib/list.h, lib/bitmap.h).
 *   allocation      a counting allocator that reports leaks and fails on
 *                   request (lib/alloc.h).
 *   logging         printk and friends to stderr, warnings counted.
 *
 * Everything a core file may use must be here; a core file that needs a
 * kernel API the harness lacks fails to build, which is the point.
 */
#ifndef _VCORE_ENV_H
#define _VCORE_ENV_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/types.h>
#include <linux/vcore.h>

typedef __s8 s8;
typedef __u8 u8;
typedef __s16 s16;
typedef __u16 u16;
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;

#include "lib/compiler.h"
#include "lib/hooks.h"
#include "lib/printk.h"
#include "lib/atomic.h"
#include "lib/bitmap.h"
#include "lib/list.h"
#include "lib/rculist.h"
#include "lib/spinlock.h"
#include "lib/alloc.h"

/*
 * The vc_* layer of kmod/core/env.h, one to one.  Each names its call site
 * to the access hook; the operation itself is the builtin with the ordering
 * the kernel's memory model promises for the primitive, not the stronger
 * one x86-64 happens to give (a void RMW is a locked instruction there,
 * relaxed here; smp_wmb/smp_rmb are compiler barriers there, here
 * release/acquire fences), so a core that leans on x86 alone shows.
 * ORDERING.md names each ordering point the core relies on.
 *
 * Where C11 has no exact match the model errs weak, never strong, except
 * for two fences:
 *   vc_load/vc_store      relaxed: READ_ONCE's dependency ordering is
 *                         not modelled (weaker)
 *   value-returning RMWs  seq_cst; Linux's are fully ordered, a barrier
 *                         on each side, which a seq_cst RMW is not for
 *                         the relaxed accesses around it (weaker)
 *   failed vc_cas32       relaxed, as a failed cmpxchg (equal)
 *   void RMWs             relaxed, as in Linux (equal); ordered only by
 *                         a following vc_mb__after_atomic (a seq_cst
 *                         fence, equal)
 *   vc_wmb, vc_rmb        release and acquire fences: a release fence
 *                         also orders earlier loads before later stores,
 *                         which smp_wmb does not (stronger; C11 has no
 *                         store-store fence).  No ORDERING.md row leans
 *                         on that: every vc_wmb in the core orders
 *                         stores before a store.  Under TSan both are
 *                         compiler barriers only (weaker, see below).
 *   RCU                   rcu_dereference is an acquire (stronger than
 *                         dependency ordering; lib/rculist.h)
 */
#define vc_load(p)							\
	({ H_HOOK((p), H_LOAD, "vc_load");				\
	   __atomic_load_n((p), __ATOMIC_RELAXED); })
#define vc_store(p, v)							\
	({ H_HOOK((p), H_STORE, "vc_store");				\
	   __atomic_store_n((p), (v), __ATOMIC_RELAXED); })
#define vc_load_acquire(p)						\
	({ H_HOOK((p), H_LOAD, "vc_load_acquire");			\
	   __atomic_load_n((p), __ATOMIC_ACQUIRE); })
#define vc_store_release(p, v)						\
	({ H_HOOK((p), H_STORE, "vc_store_release");			\
	   __atomic_store_n((p), (v), __ATOMIC_RELEASE); })
/*
 * ThreadSanitizer does not model stand-alone fences (GCC refuses them under
 * -fsanitize=thread), so there they are compiler barriers only: TSan then
 * sees no ordering the core gets from a fence alone, and would report a
 * plain access that depends on one.  Nothing is invented that the real
 * fence would not give (a global RMW would add edges between unrelated
 * CPUs).  On x86-64 every fence but vc_mb() is a compiler barrier anyway.
 */
#ifdef __SANITIZE_THREAD__
#define h_fence(order)		__atomic_signal_fence(order)
#else
#define h_fence(order)		__atomic_thread_fence(order)
#endif

#define vc_mb()								\
	({ H_HOOK(NULL, H_FENCE, "vc_mb"); h_fence(__ATOMIC_SEQ_CST); })
#define vc_wmb()							\
	({ H_HOOK(NULL, H_FENCE, "vc_wmb"); h_fence(__ATOMIC_RELEASE); })
#define vc_rmb()							\
	({ H_HOOK(NULL, H_FENCE, "vc_rmb"); h_fence(__ATOMIC_ACQUIRE); })
#define vc_mb__after_atomic()						\
	({ H_HOOK(NULL, H_FENCE, "vc_mb__after_atomic");		\
	   h_fence(__ATOMIC_SEQ_CST); })

/*
 * Read-modify-writes, ordered as the kernel's memory model orders them
 * (Documentation/atomic_t.txt), not as x86's locked instructions happen
 * to: those that return a value (fetch_add, xchg, a cmpxchg that
 * succeeds) are fully ordered, the void ones (add, inc, or, and) are
 * relaxed; a caller that needs one ordered follows it with
 * vc_mb__after_atomic(), as in the kernel.
 */
static inline u64 h_fetch_add64(__u64 *p, u64 v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

static inline void h_add64(__u64 *p, u64 v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static inline void h_or64(__u64 *p, u64 v)
{
	__atomic_fetch_or(p, v, __ATOMIC_RELAXED);
}

static inline bool h_test_and_set_bit64(__u64 *p, unsigned int nr)
{
	u64 bit = 1ULL << nr;

	return __atomic_fetch_or(p, bit, __ATOMIC_SEQ_CST) & bit;
}

static inline u64 h_xchg64(__u64 *p, u64 v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

static inline u32 h_xchg32(__u32 *p, u32 v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

static inline bool h_cas32(__u32 *p, u32 old, u32 new)
{
	return __atomic_compare_exchange_n(p, &old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

static inline void h_or32(__u32 *p, u32 v)
{
	__atomic_fetch_or(p, v, __ATOMIC_RELAXED);
}

static inline void h_and32(__u32 *p, u32 v)
{
	__atomic_fetch_and(p, v, __ATOMIC_RELAXED);
}

#define vc_fetch_add64(p, v)						\
	({ H_HOOK((p), H_RMW, "vc_fetch_add64"); h_fetch_add64((p), (v)); })
#define vc_add64(p, v)							\
	({ H_HOOK((p), H_RMW, "vc_add64"); h_add64((p), (v)); })
#define vc_or64(p, v)							\
	({ H_HOOK((p), H_RMW, "vc_or64"); h_or64((p), (v)); })
#define vc_test_and_set_bit64(p, nr)					\
	({ H_HOOK((p), H_RMW, "vc_test_and_set_bit64");			\
	   h_test_and_set_bit64((p), (nr)); })
#define vc_xchg64(p, v)							\
	({ H_HOOK((p), H_RMW, "vc_xchg64"); h_xchg64((p), (v)); })
#define vc_xchg32(p, v)							\
	({ H_HOOK((p), H_RMW, "vc_xchg32"); h_xchg32((p), (v)); })
#define vc_cas32(p, o, n)						\
	({ H_HOOK((p), H_RMW, "vc_cas32"); h_cas32((p), (o), (n)); })
#define vc_or32(p, v)							\
	({ H_HOOK((p), H_RMW, "vc_or32"); h_or32((p), (v)); })
#define vc_and32(p, v)							\
	({ H_HOOK((p), H_RMW, "vc_and32"); h_and32((p), (v)); })
#define vc_inc64(p)							\
	({ H_HOOK((p), H_RMW, "vc_inc64"); h_add64((p), 1); })

/*
 * Raises *p to at least v; gives up after a few lost races with user
 * space, as the kernel's does.  Each attempt is its own hook point, so a
 * watchpoint can make it lose.
 */
static inline void h_max_s32(struct h_site *site, __s32 *p, s32 v)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		s32 old;

		h_access(site, p, H_RMW);
		old = __atomic_load_n(p, __ATOMIC_RELAXED);
		if (old >= v ||
		    __atomic_compare_exchange_n(p, &old, v, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			return;
	}
}

#define vc_max_s32(p, v)						\
	({ static struct h_site __hs = H_SITE_INIT("vc_max_s32");	\
	   h_max_s32(&__hs, (p), (v)); })

#define vc_lock_t			struct h_spinlock
#define vc_lock_init(l)			h_spin_init((l), #l)
#define vc_lock_irqsave(l, f)						\
	({ H_HOOK((l), H_LOCK, "vc_lock_irqsave");			\
	   (f) = h_spin_lock_irqsave(l); })
#define vc_unlock_irqrestore(l, f)					\
	({ h_spin_unlock_irqrestore((l), (f));				\
	   H_HOOK((l), H_UNLOCK, "vc_unlock_irqrestore"); })
#define vc_assert_held(l)		h_assert_held((l), __FILE__, __LINE__)

#define vc_rcu_read_lock()						\
	({ H_HOOK(NULL, H_RCU, "vc_rcu_read_lock"); h_rcu_read_lock(); })
#define vc_rcu_read_unlock()						\
	({ h_rcu_read_unlock(); H_HOOK(NULL, H_RCU, "vc_rcu_read_unlock"); })

#define vc_warn_ratelimited(fmt, ...)					\
	pr_warn_ratelimited("vcore: " fmt, ##__VA_ARGS__)

/* Every page of procdata and the arena is on an unknown node here. */
#define vc_kaddr_node(k)		((void)(k), -1)

/*
 * The Linux side's hooks, kmod/kick.c's vcore_notify_ipi() and
 * kmod/provision.c's vcore_wakeup_grant(): counted, and passed on to the
 * callbacks h_linux_side_set() installed, if any (libvcore's fake kernel
 * installs its signals and grants through lib/kernel_side.h).  As in the
 * module they may be called from any context: the IPI with mcp.lock held
 * (the fallback's last resort), so a callback takes no core lock.
 */
struct mcp;
typedef void (*h_notify_ipi_fn)(struct mcp *m, u32 vcoreid);
typedef void (*h_wakeup_grant_fn)(struct mcp *m);
void h_notify_ipi(struct mcp *m, u32 vcoreid);
void h_wakeup_grant(struct mcp *m);
void h_linux_side_set(h_notify_ipi_fn notify_ipi,
		      h_wakeup_grant_fn wakeup_grant);
unsigned long h_notify_ipis(void);
unsigned long h_wakeup_grants(void);
#define vc_notify_ipi(m, vcoreid)	h_notify_ipi((m), (vcoreid))
#define vc_wakeup_grant(m)		h_wakeup_grant(m)

/* Tracepoints: nothing to fire in user space. */
#define vc_trace_send(m, ev_q, msg, vcoreid)				\
	((void)(m), (void)(ev_q), (void)(msg), (void)(vcoreid))
#define vc_trace_post(m, type, msg)	((void)(m), (void)(type), (void)(msg))
#define vc_trace_wakeup(m)		((void)(m))

#define VC_PAGE_SIZE			4096UL
#define PAGE_SIZE			VC_PAGE_SIZE
#define PAGE_ALIGN(x)			(((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))

#endif /* _VCORE_ENV_H */
