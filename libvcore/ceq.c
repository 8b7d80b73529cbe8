// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * CEQ consumer: Akaros's coalescing event queue, user side.
 *
 * A CEQ is a dense array of struct ceq_event, one per event id, and a ring
 * of ids.  The kernel ORs or ADDs a message's ev_arg2 into the id's
 * coalesce word and, if the id is not already posted (idx_posted), posts
 * it to the ring; so N events of one id reach the consumer as one.  The
 * ring is only an index over the array: when it is full the kernel sets
 * ring_overflowed instead, and a consumer that finds the ring empty and the
 * flag set recovers by scanning the array up to max_event_ever.
 *
 * The ring is managed with three counters (free-running, masked by
 * ring_sz - 1): prod_idx, the next slot the kernel fills; cons_pvt_idx, the
 * next slot a consumer may claim; cons_pub_idx, below which every slot has
 * been consumed and reset to -1, so the kernel may reuse it.  The consumer
 * masks with ring_mask, its own copy of ring_sz - 1 made by
 * vcore_ceq_init(), which the kernel never reads.
 *
 * Ordering: ORDERING.md's CEQ table, whose labels the comments below
 * use.  The kernel's producer (kmod/core/ceq.c) has CEQ-1 to CEQ-4; this
 * file has CEQ-5 to CEQ-9 (ring claims, handing slots back, taking an
 * entry, overflow recovery).  The mbox is published by MBOX-1
 * (libvcore/mbox.c), which the kernel's MBOX-2 pairs with.
 *
 * Synchronization table, in the style of liburcu's wfcqueue: may the row
 * operation run concurrently with the column operation on one ceq?
 * ("-": yes; "X": the caller must exclude them.)
 *
 *                   kernel post  vcore_get_ceq_msg  vcore_ceq_is_empty  vcore_ceq_init  cleanup
 *   kernel post          -            -             -            X        X
 *   vcore_get_ceq_msg          -            -             -            X        X
 *   vcore_ceq_is_empty         -            -             -            X        X
 *   vcore_ceq_init             X            X             X            X        X
 *   vcore_ceq_cleanup          X            X             X            X        X
 *
 * Inside vcore_get_ceq_msg, ring claims are lock-free; recovery scans exclude
 * each other through u_lock, which also guards overflow_recovery and
 * last_recovered (vcore_ceq_is_empty reads them without it).
 *
 * Three departures from Akaros, all on the user side only: the consumer
 * loads cons_pvt_idx before prod_idx (CEQ-5; the other order can claim a slot
 * no producer owns, from a stale prod_idx); its fast path claims from
 * cons_pub_idx instead, so that a claim that succeeds is already in turn
 * (vcore_get_ceq_msg); and blob_data is left alone when consumed (clearing
 * it races with the kernel's next blob).
 *
 * Waits that cannot be bounded here are on the kernel (a claimed ring
 * slot being filled) or on other consumers (cons_pub_idx, u_lock); they
 * spin with cpu_relax() and yield the CPU now and then (spin_relax()), and
 * those on a consumer make sure that a consumer whose vcore was preempted
 * runs (internal.h: vcore_waits).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "ceq.h"
#include "internal.h"

static struct ceq_event *ceq_events(const struct ceq *ceq)
{
	return (struct ceq_event *)(uintptr_t)ceq->events;
}

static __s32 *ceq_ring(const struct ceq *ceq)
{
	return (__s32 *)(uintptr_t)ceq->ring;
}

/*
 * Ring slot idx, by integer arithmetic: vcore_get_ceq_msg() takes the
 * address before it knows the CEQ is set up (ring 0, ring_mask 0).
 */
static inline __s32 *ceq_slot(const struct ceq *ceq, __u32 idx)
{
	return (__s32 *)(uintptr_t)(ceq->ring +
				    (__u64)(idx & ceq->ring_mask) * sizeof(__s32));
}

int vcore_ceq_init(struct ceq *ceq, __u8 operation, unsigned int nr_events,
	     unsigned int ring_sz)
{
	struct ceq_event *events;
	__s32 *ring;
	int err;

	if ((operation != CEQ_OR && operation != CEQ_ADD) || !nr_events ||
	    nr_events > VCORE_CEQ_MAX_EVENTS || !ring_sz ||
	    ring_sz > VCORE_CEQ_MAX_RING_SZ || ring_sz & (ring_sz - 1))
		return -EINVAL;
	events = vcore_arena_zalloc((size_t)nr_events * sizeof(*events));
	if (!events)
		return -errno;
	ring = vcore_arena_zalloc((size_t)ring_sz * sizeof(*ring));
	if (!ring) {
		err = -errno;
		goto err_free_events;
	}
	/* -1 marks a ring slot the kernel has not filled. */
	memset(ring, 0xff, (size_t)ring_sz * sizeof(*ring));

	memset(ceq, 0, sizeof(*ceq));
	ceq->events = (uintptr_t)events;
	ceq->ring = (uintptr_t)ring;
	ceq->nr_events = nr_events;
	ceq->ring_sz = ring_sz;
	ceq->ring_mask = ring_sz - 1;
	ceq->operation = operation;
	return 0;

err_free_events:
	vcore_arena_free(events, (size_t)nr_events * sizeof(*events));
	return err;
}

void vcore_ceq_cleanup(struct ceq *ceq)
{
	if (ceq->events)
		vcore_arena_free(ceq_events(ceq),
				 (size_t)ceq->nr_events * sizeof(struct ceq_event));
	if (ceq->ring)
		vcore_arena_free(ceq_ring(ceq),
				 (size_t)ceq->ring_sz * sizeof(__s32));
	memset(ceq, 0, sizeof(*ceq));
}

/* Slots are handed back in order: wait for the consumers before us. */
static VCORE_COLD void ceq_wait_turn(struct ceq *ceq, __u32 pvt)
{
	unsigned int spins = 0;

	while (smp_load_acquire(&ceq->cons_pub_idx) != pvt)
		spin_relax_consumers(&spins);
}

/* CEQ-6's wait, then CEQ-7's, for slot pvt: out of line. */
static VCORE_COLD __s32 ceq_take_slot_wait(struct ceq *ceq, __u32 pvt)
{
	__s32 *slot = ceq_slot(ceq, pvt);
	unsigned int spins = 0;
	__s32 id;

	/*
	 * CEQ-6, pairs with CEQ-3 in kmod/core/ceq.c ceq_post(): the
	 * producer that won slot pvt is filling it.
	 */
	while ((id = smp_load_acquire(slot)) == -1)
		spin_relax(&spins);
	WRITE_ONCE(*slot, -1);
	inject_delay(INJ_CEQ_SLOT_TAKEN);
	ceq_wait_turn(ceq, pvt);
	/* CEQ-7, pairs with CEQ-2 in kmod/core/ceq.c ceq_post(). */
	smp_store_release(&ceq->cons_pub_idx, pvt + 1);
	return id;
}

/* Claim the next ring slot and return the id in it, or -1 if none. */
static __s32 ceq_get_ring_idx(struct ceq *ceq)
{
	__u32 pvt;

	/*
	 * CEQ-5: cons_pvt_idx, then prod_idx (moved by the kernel's claim,
	 * CEQ-2), then the claim of our own.
	 */
	pvt = smp_load_acquire(&ceq->cons_pvt_idx);
	do {
		inject_delay(INJ_CEQ_PVT_LOADED);
		if (pvt == smp_load_acquire(&ceq->prod_idx))
			return -1;
		/* Lock-free: a failed CAS is another consumer's claim. */
	} while (!try_cmpxchg(&ceq->cons_pvt_idx, &pvt, pvt + 1));
	return ceq_take_slot_wait(ceq, pvt);
}

/*
 * Take what entry id has collected, if it is posted.  CEQ-8, pairs with
 * CEQ-1 in kmod/core/ceq.c ceq_post(): idx_posted cleared, then the xchg;
 * once idx_posted is clear, a new post puts the id in the ring again, so
 * a value the xchg misses is never stranded.
 */
_Static_assert(VCORE_CEQ_MAX_EVENTS <= 1U << 16 &&
	       offsetof(struct event_msg, ev_type) == 0 &&
	       offsetof(struct event_msg, ev_arg1) == 2 &&
	       __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "an id is ev_type and ev_arg1, little-endian");

static inline bool ceq_extract(struct ceq *ceq, __u32 id, struct event_msg *msg)
{
	struct ceq_event *ev = &ceq_events(ceq)[id];
	__u64 coal;

	if (!READ_ONCE(ev->idx_posted))
		return false;
	WRITE_ONCE(ev->idx_posted, 0);		/* CEQ-8 */
	inject_delay(INJ_CEQ_UNPOSTED);
	coal = xchg(&ev->coalesce, 0);		/* CEQ-8: a full barrier */
	/* ev_type and ev_arg1 (0) in one store, id being below 1 << 16. */
	memcpy(&msg->ev_type, &id, sizeof(id));
	msg->ev_arg2 = (__u32)coal;
	msg->ev_arg3 = READ_ONCE(ev->blob_data);
	msg->ev_arg4 = coal;
	return true;
}

/*
 * The ring is empty but may have overflowed: scan the array.  One message
 * per call; overflow_recovery and last_recovered let the next consumer
 * carry on where this one stopped, so no posted id is skipped.
 */
static bool ceq_recover(struct ceq *ceq, struct event_msg *msg)
{
	__u32 nr_events = ceq->nr_events;
	bool found = false;
	__s64 max;

	/* CEQ-9 (the early look), pairs with CEQ-4 */
	if (!smp_load_acquire(&ceq->ring_overflowed) &&
	    !READ_ONCE(ceq->overflow_recovery))
		return false;
	u_spin_lock(&ceq->u_lock);
	if (!ceq->overflow_recovery) {
		WRITE_ONCE(ceq->last_recovered, 0);
		/* Before the clear: vcore_ceq_is_empty never sees both at 0. */
		WRITE_ONCE(ceq->overflow_recovery, 1);
		/*
		 * CEQ-9, pairs with CEQ-4 in kmod/core/ceq.c ceq_overflow():
		 * clear, full barrier, then scan.
		 */
		xchg(&ceq->ring_overflowed, 0);
		inject_delay(INJ_CEQ_RECOVERING);
	}
	max = READ_ONCE(ceq->max_event_ever);
	if (max >= (__s64)nr_events)
		max = (__s64)nr_events - 1;
	for (__s64 i = ceq->last_recovered; i <= max; i++) {
		WRITE_ONCE(ceq->last_recovered, (__u32)i + 1);
		if (ceq_extract(ceq, (__u32)i, msg)) {
			found = true;
			break;
		}
	}
	/*
	 * Scanned to the end: anything posted since is in the ring, or set
	 * ring_overflowed again and will be found by the next scan.
	 */
	if (!found)
		WRITE_ONCE(ceq->overflow_recovery, 0);
	u_spin_unlock(&ceq->u_lock);
	return found;
}

/* A ring slot named id: take what the entry holds, if id is one. */
static inline bool ceq_take_id(struct ceq *ceq, __s32 id,
			       struct event_msg *msg)
{
	return (__u32)id < ceq->nr_events && ceq_extract(ceq, (__u32)id, msg);
}

static VCORE_COLD bool ceq_get_msg_slow(struct ceq *ceq, struct event_msg *msg)
{
	__s32 id;

	if (!ceq->events)
		return false;
	/*
	 * An id whose value another consumer (or a recovery scan) already
	 * took is skipped.  The ring held at most ring_sz ids when we began,
	 * so ring_sz tries reach every one of them; ids posted later are not
	 * this call's to find (the kernel notifies again for them).
	 */
	for (__u32 tries = 0; tries < ceq->ring_sz; tries++) {
		id = ceq_get_ring_idx(ceq);
		if (id < 0)
			return ceq_recover(ceq, msg);
		if (ceq_take_id(ceq, id, msg))
			return true;
	}
	return false;
}

/*
 * Slot pvt is ours and is handed back in turn, but its id was not one to
 * take at once: -1 (the kernel has claimed the slot and not filled it
 * yet) or out of range.  Wait for it, hand it back, then on as the loop
 * above.
 */
static VCORE_COLD bool ceq_slot_then_slow(struct ceq *ceq,
					  struct event_msg *msg, __u32 pvt)
{
	return ceq_take_id(ceq, ceq_take_slot_wait(ceq, pvt), msg) ||
	       ceq_get_msg_slow(ceq, msg);
}

/*
 * The common case inline and call-free, so that it needs no stack frame:
 * no claim outstanding, a ring slot claimed at the first try, filled,
 * naming a posted id.  Anything else (an empty ring, recovery, another
 * consumer's claim, a slot not yet filled, a skipped id, a CEQ not set
 * up: its counters are all 0) goes out of line, by tail calls.
 *
 * The claim is made from cons_pub_idx, not from cons_pvt_idx (CEQ-5):
 * the cmpxchg of cons_pvt_idx from idx, the value read in cons_pub_idx,
 * succeeds only if no claim was outstanding when it ran (pub <= pvt
 * always, and pub moves past idx only once the claim at idx is handed
 * back, which needs a claim at idx: cons_pvt_idx past it).  So slot idx
 * is ours and it is already our turn: CEQ-7 needs no wait and no second
 * look at cons_pub_idx.  The slot is below the kernel's claims: the
 * consumer that handed back idx - 1 had read a prod_idx past it before
 * (CEQ-5) and released cons_pub_idx after; our acquire of cons_pub_idx
 * makes our later read of prod_idx at least that new, and it is not idx.
 * With a claim outstanding the cmpxchg fails and the slow path claims as
 * above; the cmpxchg has the ABA of the slow path's (2^32 claims while
 * this one stalls between its loads and its cmpxchg), no more.
 *
 * One compare takes both the unfilled slot (-1) and an id out of range:
 * nr_events is at most VCORE_CEQ_MAX_EVENTS, far below (__u32)-1.
 */
bool vcore_get_ceq_msg(struct ceq *ceq, struct event_msg *msg)
{
	/* CEQ-5: cons_pub_idx, then prod_idx, then the claim. */
	__u32 idx = smp_load_acquire(&ceq->cons_pub_idx);
	__u32 next = idx + 1;
	__s32 *slot = ceq_slot(ceq, idx);
	__s32 id;

	inject_delay(INJ_CEQ_PVT_LOADED);
	if (unlikely(idx == smp_load_acquire(&ceq->prod_idx)))
		return ceq_get_msg_slow(ceq, msg);
	if (unlikely(!try_cmpxchg(&ceq->cons_pvt_idx, &idx, next)))
		return ceq_get_msg_slow(ceq, msg);
	id = smp_load_acquire(slot);			/* CEQ-6 */
	if (unlikely((__u32)id >= ceq->nr_events))
		return ceq_slot_then_slow(ceq, msg, idx);
	WRITE_ONCE(*slot, -1);
	inject_delay(INJ_CEQ_SLOT_TAKEN);
	smp_store_release(&ceq->cons_pub_idx, next);	/* CEQ-7 */
	if (likely(ceq_extract(ceq, (__u32)id, msg)))
		return true;
	return ceq_get_msg_slow(ceq, msg);
}

bool vcore_ceq_is_empty(struct ceq *ceq)
{
	__u32 pvt = smp_load_acquire(&ceq->cons_pvt_idx);

	if (pvt != smp_load_acquire(&ceq->prod_idx))
		return false;
	/* ring_overflowed, then overflow_recovery: the reverse of CEQ-9. */
	if (smp_load_acquire(&ceq->ring_overflowed))
		return false;
	return !READ_ONCE(ceq->overflow_recovery) &&
	       !u_spin_is_locked(&ceq->u_lock);
}
