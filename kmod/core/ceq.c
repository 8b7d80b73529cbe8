// SPDX-License-Identifier: GPL-2.0
/*
 * CEQ producer: a coalescing event queue.  One entry per event type
 * accumulates ev_arg2 (OR or ADD, chosen by user space at init) and keeps
 * the last ev_arg3; a ring of event types tells the consumer which entries
 * to look at.  An entry is put on the ring only when it is not on it
 * already (idx_posted), so the ring never needs more slots than there are
 * types.  A full ring is not an error: ring_overflowed tells the consumer
 * to scan every entry up to max_event_ever instead.
 *
 * Ordering (ORDERING.md, CEQ): the coalesce, then idx_posted (CEQ-1,
 * store buffering against the consumer's CEQ-8); the slot is claimed
 * only once the consumer has handed it back (CEQ-2, pairs with CEQ-7);
 * the id is published into the ring (CEQ-3, pairs with CEQ-6) or, when
 * the ring is full, ring_overflowed is (CEQ-4, pairs with CEQ-9).
 *
 * The consumer's cons_pub_idx and every address are user-writable: the
 * ring is translated as a whole once its size is known, the entry before
 * use, and the claim loop is bounded (giving up sets ring_overflowed,
 * which only costs the consumer a scan).
 */
#include "arena.h"
#include "mbox.h"

#define CEQ_RING_TRIES		10
#define CEQ_MAX_RING_SZ		(1U << 20)

/*
 * CEQ-4, pairs with CEQ-9 in libvcore/ceq.c ceq_recover(): a release, so
 * that the coalesced value and idx_posted (CEQ-1) are visible to a
 * consumer whose xchg of ring_overflowed sees the flag and then scans.
 */
static void ceq_overflow(struct ceq *ceq)
{
	vc_store_release(&ceq->ring_overflowed, 1);
}

/**
 * ceq_post() - post a message into a CEQ
 * @m: the owning MCP
 * @ceq: the kernel address of the CEQ
 * @msg: the message; ev_type picks the entry
 *
 * Any context.  Return: 0, or the drop reason.
 */
int ceq_post(struct mcp *m, struct ceq *ceq, const struct event_msg *msg)
{
	u64 events = vc_load(&ceq->events), ring = vc_load(&ceq->ring);
	u32 nr_events = vc_load(&ceq->nr_events);
	u32 ring_sz = vc_load(&ceq->ring_sz);
	u8 op = vc_load(&ceq->operation);
	u32 type = msg->ev_type, prod, cons;
	struct ceq_event *ev;
	__s32 *ring_k;
	int tries;

	if (op != CEQ_OR && op != CEQ_ADD)
		return VCORE_DROP_CEQ_CORRUPT;
	if (!ring_sz || ring_sz > CEQ_MAX_RING_SZ || (ring_sz & (ring_sz - 1)))
		return VCORE_DROP_CEQ_CORRUPT;
	if (type >= nr_events)
		return VCORE_DROP_BAD_EV_TYPE;
	ev = mcp_translate(m, events + (u64)type * sizeof(*ev), sizeof(*ev),
			   sizeof(__u64));
	ring_k = mcp_translate(m, ring, (u64)ring_sz * sizeof(*ring_k),
			       sizeof(*ring_k));
	if (!ev || !ring_k)
		return VCORE_DROP_CEQ_CORRUPT;

	vc_max_s32(&ceq->max_event_ever, type);
	vc_store(&ev->blob_data, msg->ev_arg3);
	/*
	 * CEQ-1, pairs with CEQ-8 in libvcore/ceq.c ceq_extract(): the
	 * coalesce, a full barrier, then idx_posted.  Either the consumer's
	 * xchg takes this value, or idx_posted is seen clear and the id
	 * goes on the ring again.  The void RMW alone orders nothing.
	 */
	if (op == CEQ_OR)
		vc_or64(&ev->coalesce, msg->ev_arg2);
	else
		vc_add64(&ev->coalesce, msg->ev_arg2);
	vc_mb__after_atomic();
	if (vc_load(&ev->idx_posted))
		return 0;
	/* published by CEQ-3 or CEQ-4's release */
	vc_store(&ev->idx_posted, 1);

	for (tries = 0;; tries++) {
		prod = vc_load(&ceq->prod_idx);
		/*
		 * CEQ-2, pairs with CEQ-7 in libvcore/ceq.c
		 * vcore_get_ceq_msg(): the consumer reset the slot to -1
		 * before its release of cons_pub_idx, so CEQ-3 below lands
		 * after the reset.  (The claim's cmpxchg is fully ordered
		 * too, but it may fail and retry; the acquire says what is
		 * meant, and on x86 it is a plain load.)
		 */
		cons = vc_load_acquire(&ceq->cons_pub_idx);
		if (prod - cons >= ring_sz || tries == CEQ_RING_TRIES) {
			ceq_overflow(ceq);
			return 0;
		}
		/* fully ordered on success: the claim CEQ-5 reads */
		if (vc_cas32(&ceq->prod_idx, prod, prod + 1))
			break;
	}
	/* CEQ-3, pairs with CEQ-6 in libvcore/ceq.c vcore_get_ceq_msg() */
	vc_store_release(&ring_k[prod & (ring_sz - 1)], (__s32)type);
	return 0;
}
