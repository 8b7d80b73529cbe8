// SPDX-License-Identifier: GPL-2.0
/*
 * UCQ producer: an unbounded multi-producer queue of pages in user memory.
 *
 * An index is a page's user address ORed with a slot number.  Producers
 * claim slots with a fetch-add on prod_idx; the one that runs past the end
 * of a page links a new one under the MCP's ucq_lock (never a lock in user
 * memory), and keeps the new page's slot 0 for its own message, so whoever
 * does the fixing always gets to post.
 *
 * Ordering (ORDERING.md, UCQ): the consumer publishes the queue with
 * UCQ-1, which UCQ-2 here pairs with.  A claim is a fully ordered
 * fetch-add (UCQ-3).  Linking zeroes a page (taken from the spare, UCQ-4,
 * which pairs with the consumer's give-back UCQ-15), links it (UCQ-5,
 * read by UCQ-10) and only then moves prod_idx onto it (UCQ-6, read by
 * another producer's UCQ-3 and by the consumer's flip, UCQ-9), so no one
 * reaches the new page before it is zeroed and linked.  A message is
 * written and then published by UCQ-7, which UCQ-12 pairs with.
 *
 * Every index and link is user-writable: each is translated (whole page,
 * page-aligned) before use, and a bad one drops the message with
 * VCORE_DROP_UCQ_CORRUPT.  prod_idx can also overflow its 12 slot bits when
 * many producers pile onto a full page; prod_overflow sends latecomers to
 * the lock instead of the fetch-add to keep that rare, and a claim that
 * finds no page (arena full, no spare) puts prod_idx back at the page end.
 */
#include "arena.h"
#include "mbox.h"

#define UCQ_PAGE_MASK	(~(u64)VCORE_UCQ_SLOT_MASK)

static bool slot_is_good(u64 idx)
{
	return (idx & VCORE_UCQ_SLOT_MASK) < VCORE_UCQ_SLOTS_PER_PAGE;
}

static struct ucq_page *ucq_page_k(struct mcp *m, u64 idx)
{
	return mcp_translate(m, idx & UCQ_PAGE_MASK, VCORE_UCQ_PAGE_SIZE,
			     VCORE_UCQ_PAGE_SIZE);
}

/* A fresh page for the queue: the spare if user space left one. */
static int ucq_new_page(struct mcp *m, struct ucq *ucq, u64 *pg,
			struct ucq_page **pg_k)
{
	void *k;

	/* UCQ-4, pairs with UCQ-15 in libvcore/ucq.c ucq_flip_page() */
	*pg = vc_xchg64(&ucq->spare_pg, 0);
	if (*pg) {
		*pg_k = ucq_page_k(m, *pg);
		if (!*pg_k || (*pg & ~UCQ_PAGE_MASK))
			return VCORE_DROP_UCQ_CORRUPT;
		memset(*pg_k, 0, VCORE_UCQ_PAGE_SIZE);
		return 0;
	}
	/* on the node the queue itself lives on, when that slice has room */
	*pg = mcp_arena_alloc_pages_node(m, 1, vc_kaddr_node(ucq), &k);
	if (!*pg)
		return VCORE_DROP_UCQ_NOMEM;
	*pg_k = k;
	vc_inc64(&ucq->nr_extra_pgs);
	return 0;
}

/* Get a slot, linking a new page if the current one is full. */
static int __ucq_claim_or_link(struct mcp *m, struct ucq *ucq, u64 *slot)
	__must_hold(&m->ucq_lock)
{
	struct ucq_page *old_k, *new_k;
	u64 idx, new_pg;
	int err;

	vc_assert_held(&m->ucq_lock);
	/*
	 * Someone may have linked a page while we waited for the lock.
	 * UCQ-3, pairs with UCQ-6.
	 */
	idx = vc_fetch_add64(&ucq->prod_idx, 1);
	if (slot_is_good(idx)) {
		*slot = idx;
		return 0;
	}
	old_k = ucq_page_k(m, idx);
	if (!old_k)
		return VCORE_DROP_UCQ_CORRUPT;
	err = ucq_new_page(m, ucq, &new_pg, &new_k);
	if (err) {
		/*
		 * Give back the slots the failed claims took, or enough of
		 * them would carry into the page bits and aim prod_idx at a
		 * page that is not this queue's.  No ordering: it publishes
		 * nothing (libvcore's UCQ-9 just stops waiting).
		 */
		vc_store(&ucq->prod_idx,
			 (idx & UCQ_PAGE_MASK) | VCORE_UCQ_SLOTS_PER_PAGE);
		return err;
	}
	/* UCQ-5: the zeroed page, then the link; pairs with UCQ-10 */
	vc_store_release(&old_k->header.cons_next_pg, new_pg);
	/* UCQ-6: the link, then the index; pairs with UCQ-3 and UCQ-9 */
	vc_store_release(&ucq->prod_idx, new_pg + 1);
	*slot = new_pg;
	return 0;
}

/**
 * ucq_post() - post a message into a UCQ
 * @m: the owning MCP
 * @ucq: the kernel address of the UCQ
 * @msg: the message
 *
 * Any context.  Return: 0, or the drop reason.
 */
int ucq_post(struct mcp *m, struct ucq *ucq, const struct event_msg *msg)
{
	struct ucq_page *pg;
	struct ucq_msg_slot *s;
	unsigned long flags;
	u64 idx;
	int err;

	/* UCQ-2, pairs with UCQ-1 in libvcore/ucq.c vcore_ucq_init_raw() */
	if (!vc_load_acquire(&ucq->ucq_ready))
		return VCORE_DROP_UCQ_NOT_READY;
	/* prod_overflow is a hint: plain accesses */
	if (!vc_load(&ucq->prod_overflow)) {
		/* UCQ-3, pairs with UCQ-6 */
		idx = vc_fetch_add64(&ucq->prod_idx, 1);
		if (slot_is_good(idx))
			goto have_slot;
		vc_store(&ucq->prod_overflow, 1);
	}
	vc_lock_irqsave(&m->ucq_lock, flags);
	err = __ucq_claim_or_link(m, ucq, &idx);
	vc_store(&ucq->prod_overflow, 0);
	vc_unlock_irqrestore(&m->ucq_lock, flags);
	if (err)
		return err;
have_slot:
	pg = ucq_page_k(m, idx);
	if (!pg)
		return VCORE_DROP_UCQ_CORRUPT;
	s = &pg->msgs[idx & VCORE_UCQ_SLOT_MASK];
	s->ev_msg = *msg;
	/* UCQ-7, pairs with UCQ-12 in libvcore/ucq.c ucq_copy_out() */
	vc_store_release(&s->ready, 1);
	return 0;
}
