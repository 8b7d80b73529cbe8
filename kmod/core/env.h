/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The environment of vcore's portable core (event routing, the mailbox
 * producers, the vcore lists): every include the core files make comes
 * through here.  The user-space test harness supplies its own version of
 * this header under the same include guard.
 *
 * Shared-memory fields are plain __u32/__u64 in the uapi structs; the vc_*
 * helpers below are the only way the core touches them, so every access to
 * memory user space can write is visibly a single load, store or atomic.
 */
#ifndef _VCORE_ENV_H
#define _VCORE_ENV_H

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/rculist.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/tracepoint-defs.h>
#include <linux/types.h>
#include <linux/vcore.h>
#include <linux/vmalloc.h>

#define vc_load(p)			READ_ONCE(*(p))
#define vc_store(p, v)			WRITE_ONCE(*(p), (v))
/* Barriers: the callers say what each one orders and what it pairs with. */
#define vc_load_acquire(p)		smp_load_acquire(p)	/* see callers */
#define vc_store_release(p, v)		smp_store_release((p), (v)) /* ditto */
#define vc_mb()				smp_mb()		/* ditto */
#define vc_wmb()			smp_wmb()		/* ditto */
#define vc_rmb()			smp_rmb()		/* ditto */
#define vc_mb__after_atomic()		smp_mb__after_atomic()	/* ditto */

/* x86: these are single locked instructions, never retry loops. */
static inline u64 vc_fetch_add64(__u64 *p, u64 v)
{
	return atomic64_fetch_add(v, (atomic64_t *)p);
}

static inline void vc_add64(__u64 *p, u64 v)
{
	atomic64_add(v, (atomic64_t *)p);
}

static inline void vc_or64(__u64 *p, u64 v)
{
	atomic64_or(v, (atomic64_t *)p);
}

/* Sets bit @nr (0..63) of *p; returns whether it was set before. */
static inline bool vc_test_and_set_bit64(__u64 *p, unsigned int nr)
{
	static_assert(sizeof(unsigned long) == sizeof(*p));
	return test_and_set_bit(nr, (unsigned long *)p);
}

static inline u64 vc_xchg64(__u64 *p, u64 v)
{
	return xchg(p, v);
}

static inline u32 vc_xchg32(__u32 *p, u32 v)
{
	return xchg(p, v);
}

static inline bool vc_cas32(__u32 *p, u32 old, u32 new)
{
	return cmpxchg(p, old, new) == old;
}

static inline void vc_or32(__u32 *p, u32 v)
{
	atomic_or(v, (atomic_t *)p);
}

static inline void vc_and32(__u32 *p, u32 v)
{
	atomic_and(v, (atomic_t *)p);
}

static inline void vc_inc64(__u64 *p)
{
	atomic64_inc((atomic64_t *)p);
}

/* Raises *p to at least v; gives up (harmlessly) if user space races it. */
static inline void vc_max_s32(__s32 *p, s32 v)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		s32 old = READ_ONCE(*p);

		if (old >= v || cmpxchg(p, old, v) == old)
			return;
	}
}

#define vc_lock_t			spinlock_t
#define vc_lock_init(l)			spin_lock_init(l)
#define vc_lock_irqsave(l, f)		spin_lock_irqsave((l), (f))
#define vc_unlock_irqrestore(l, f)	spin_unlock_irqrestore((l), (f))
#define vc_assert_held(l)		lockdep_assert_held(l)

#define vc_rcu_read_lock()		rcu_read_lock()
#define vc_rcu_read_unlock()		rcu_read_unlock()

#define vc_warn_ratelimited(fmt, ...) \
	pr_warn_ratelimited("vcore: " fmt, ##__VA_ARGS__)

#define VC_PAGE_SIZE			PAGE_SIZE

/* The NUMA node of a byte of procdata or the arena (vmap()ed pages). */
#define vc_kaddr_node(k)		page_to_nid(vmalloc_to_page(k))

/*
 * What the core asks of the Linux side: interrupt an online vcore into
 * vcore context (kmod/kick.c), and grant pcores to a process that just
 * left WAITING (kmod/provision.c).  Both may be called from any context.
 */
struct mcp;
void vcore_notify_ipi(struct mcp *m, u32 vcoreid);
void vcore_wakeup_grant(struct mcp *m);
#define vc_notify_ipi(m, vcoreid)	vcore_notify_ipi((m), (vcoreid))
#define vc_wakeup_grant(m)		vcore_wakeup_grant(m)

/*
 * Tracepoints (kmod/trace.c): a static branch here, the call only when the
 * tracepoint is enabled.
 */
DECLARE_TRACEPOINT(vcore_send);
DECLARE_TRACEPOINT(vcore_post);
DECLARE_TRACEPOINT(vcore_wakeup);
void vcore_trace_send(struct mcp *m, u64 ev_q, const struct event_msg *msg,
		      u32 vcoreid);
void vcore_trace_post(struct mcp *m, u32 mbox_type,
		      const struct event_msg *msg);
void vcore_trace_wakeup(struct mcp *m);
#define vc_trace_send(m, ev_q, msg, vcoreid) do {			\
	if (tracepoint_enabled(vcore_send))				\
		vcore_trace_send((m), (ev_q), (msg), (vcoreid));	\
} while (0)
#define vc_trace_post(m, type, msg) do {				\
	if (tracepoint_enabled(vcore_post))				\
		vcore_trace_post((m), (type), (msg));			\
} while (0)
#define vc_trace_wakeup(m) do {						\
	if (tracepoint_enabled(vcore_wakeup))				\
		vcore_trace_wakeup(m);					\
} while (0)

#endif /* _VCORE_ENV_H */
