// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * UCQ consumer: Akaros's unbounded concurrent queue, user side.
 *
 * A UCQ is a chain of 4 KiB arena pages of VCORE_UCQ_SLOTS_PER_PAGE message
 * slots.  prod_idx and cons_idx each hold "page address | slot number".
 * Producers (the kernel, any CPU) claim slots with a fetch-add on prod_idx;
 * the one that runs off the end of a page links the next page (the spare
 * user space left, or a fresh arena page) and keeps slot 0 of it for
 * itself.  Consumers (any number of threads) claim slots with a CAS on
 * cons_idx, wait for the slot's ready flag, copy the message out and count
 * it in the page's nr_cons.  The consumer that finds cons_idx at the end of
 * a page flips it to the next page under u_lock, once the producers have
 * moved there, waits until every slot of the old page has been copied out,
 * and recycles the old page as the spare.
 *
 * Ordering: ORDERING.md's UCQ table, whose labels the comments below
 * use.  The kernel's producer (kmod/core/ucq.c) has UCQ-2 to UCQ-7; this
 * file has UCQ-1 (publishing the queue) and UCQ-8 to UCQ-15 (claims,
 * page flips, giving a page back).
 *
 * Synchronization table, in the style of liburcu's wfcqueue: may the row
 * operation run concurrently with the column operation on one ucq?
 * ("-": yes; "X": the caller must exclude them.)
 *
 *                   kernel post  vcore_get_ucq_msg  vcore_ucq_is_empty  vcore_ucq_init  vcore_ucq_free
 *   kernel post          -            -             -            X         X
 *   vcore_get_ucq_msg          -            -             -            X         X
 *   vcore_ucq_is_empty         -            -             -            X         X
 *   vcore_ucq_init             X            X             X            X         X
 *   vcore_ucq_free             X            X             X            X         X
 *
 * Inside vcore_get_ucq_msg, page flips exclude each other through u_lock; slot
 * claims are lock-free (a failed CAS means another consumer claimed).
 *
 * Consumers do not pass the producers.  "cons != prod" means "a producer
 * owns slot cons" only while cons_idx never runs ahead of prod_idx.  The
 * kernel links the next page (UCQ-5) before it moves prod_idx there
 * (UCQ-6), so a flip that followed the link alone would put cons_idx on the new page
 * while prod_idx still pointed past the end of the old one: a consumer
 * would take slot 0 (the linking producer's own), the next would take
 * slot 1, which no producer owns, and wait there until the kernel posted
 * again; or, having taken the page to its end, flip and wait under u_lock
 * for a link that only a later post brings.  So the flip waits for
 * prod_idx to leave the old page (UCQ-9) before it moves cons_idx.  And a
 * producer whose claim finds no page (no spare, arena full) puts prod_idx
 * back at the page end: the flip that was waiting for it gives up, and the
 * caller finds the queue empty.
 *
 * The flip count.  cons_idx is user-only, and this file keeps a count of
 * page flips in its bits 48..63 (arena addresses are below 2^48; the
 * arena layer refuses anything else).  Pages are recycled, so without it
 * a consumer that loaded cons_idx and then stalled while the queue went
 * round its pages could later CAS successfully against the same
 * page | slot value in a later life of that page, having checked
 * emptiness against the old one: it would claim a slot no producer owns
 * and spin until the kernel happened to post again.  With the count, such
 * a stall must span 65536 flips (8.3 million messages).  Akaros has the
 * same race and no count (tests/test_ucq.c stages it).  prod_idx is
 * compared with the address bits only.
 *
 * Waits that cannot be bounded here are on the kernel (ready, prod_idx
 * leaving a full page, the page link) or on another consumer (nr_cons,
 * u_lock); they spin with cpu_relax() and yield the CPU now and then
 * (spin_relax()), and those on a consumer make sure that a consumer whose
 * vcore was preempted runs (internal.h: vcore_waits).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "internal.h"
#include "ucq.h"

#define UCQ_SLOTS	VCORE_UCQ_SLOTS_PER_PAGE
#define UCQ_FLIP_SHIFT	48
#define UCQ_ADDR_MASK	((1ULL << UCQ_FLIP_SHIFT) - 1)

/* page | slot, without the flip count: comparable with prod_idx. */
static __u64 idx_pos(__u64 idx)
{
	return idx & UCQ_ADDR_MASK;
}

static struct ucq_page *idx_page(__u64 idx)
{
	return (struct ucq_page *)(uintptr_t)(idx_pos(idx) &
					      ~(__u64)VCORE_UCQ_SLOT_MASK);
}

static unsigned int idx_slot(__u64 idx)
{
	return idx & VCORE_UCQ_SLOT_MASK;
}

static bool slot_is_good(__u64 idx)
{
	return idx_slot(idx) < UCQ_SLOTS;
}

static bool ucq_page_ok(const void *pg)
{
	uintptr_t a = (uintptr_t)pg;

	return a && !(a & VCORE_PAGE_MASK) && a <= UCQ_ADDR_MASK;
}

int vcore_ucq_init_raw(struct ucq *ucq, void *pg1, void *pg2)
{
	if (!ucq_page_ok(pg1) || !ucq_page_ok(pg2) || pg1 == pg2)
		return -EINVAL;
	memset(pg1, 0, VCORE_PAGE_SIZE);
	memset(pg2, 0, VCORE_PAGE_SIZE);
	WRITE_ONCE(ucq->ucq_ready, 0);
	/* Producer and consumer both start at slot 0: equal means empty. */
	WRITE_ONCE(ucq->prod_idx, (__u64)(uintptr_t)pg1);
	WRITE_ONCE(ucq->cons_idx, (__u64)(uintptr_t)pg1);
	WRITE_ONCE(ucq->spare_pg, (__u64)(uintptr_t)pg2);
	WRITE_ONCE(ucq->nr_extra_pgs, 0);
	WRITE_ONCE(ucq->prod_overflow, 0);
	WRITE_ONCE(ucq->u_lock, 0);
	ucq->resv = 0;
	/* UCQ-1, pairs with UCQ-2 in kmod/core/ucq.c ucq_post() */
	smp_store_release(&ucq->ucq_ready, 1);
	return 0;
}

int vcore_ucq_init(struct ucq *ucq)
{
	void *pg1, *pg2;
	int err;

	/* Two single pages: the kernel frees and links UCQ pages one by one. */
	pg1 = vcore_arena_alloc_pages(1);
	if (!pg1)
		return -errno;
	pg2 = vcore_arena_alloc_pages(1);
	if (!pg2) {
		err = -errno;
		goto err_free_pg1;
	}
	err = vcore_ucq_init_raw(ucq, pg1, pg2);
	if (err)
		goto err_free_pg2;
	return 0;

err_free_pg2:
	vcore_arena_free_pages(pg2, 1);
err_free_pg1:
	vcore_arena_free_pages(pg1, 1);
	return err;
}

void vcore_ucq_free(struct ucq *ucq)
{
	struct ucq_page *pg;
	__u64 spare, nr_pgs;

	if (!READ_ONCE(ucq->ucq_ready))
		return;
	WRITE_ONCE(ucq->ucq_ready, 0);
	/*
	 * The ucq owns 2 + nr_extra_pgs pages: the chain from the consumer's
	 * page to the producer's, and the spare.  The count bounds the walk.
	 */
	nr_pgs = 2 + READ_ONCE(ucq->nr_extra_pgs);
	pg = idx_page(READ_ONCE(ucq->cons_idx));
	for (__u64 n = 0; pg && n < nr_pgs; n++) {
		struct ucq_page *next = (struct ucq_page *)(uintptr_t)
			READ_ONCE(pg->header.cons_next_pg);

		vcore_arena_free_pages(pg, 1);
		pg = next;
	}
	spare = xchg(&ucq->spare_pg, 0);
	if (spare)
		vcore_arena_free_pages((void *)(uintptr_t)spare, 1);
	memset(ucq, 0, sizeof(*ucq));
}

/*
 * cons_idx was seen at the end of its page while prod_idx was elsewhere:
 * move the consumers to the next page and recycle the old one.  Returns
 * with cons_idx changed, by us or by whoever held u_lock before us, or
 * with prod_idx given back to seen (the queue is empty).
 */
static VCORE_COLD void ucq_flip_page(struct ucq *ucq, __u64 seen)
{
	struct ucq_page *old = idx_page(seen);
	unsigned int spins = 0;
	__u64 prod, next, spare, flips;

	u_spin_lock(&ucq->u_lock);
	/* Flipped while we waited: the caller re-checks the new index. */
	if (READ_ONCE(ucq->cons_idx) != seen)
		goto out_unlock;
	/*
	 * UCQ-9, pairs with UCQ-6 in kmod/core/ucq.c
	 * __ucq_claim_or_link().  prod_idx moved past this page's last slot, so a
	 * producer is linking the next page; it does so without sleeping.
	 * Until it has moved prod_idx there too, a consumer on the new page
	 * could claim a slot no producer owns.  prod_idx back at the page
	 * end: the claim found no page and gave its slots back.
	 */
	while (idx_page(prod = smp_load_acquire(&ucq->prod_idx)) == old) {
		if (prod == idx_pos(seen))
			goto out_unlock;
		spin_relax(&spins);
	}
	/*
	 * UCQ-10, pairs with UCQ-5 in kmod/core/ucq.c: the link was stored
	 * before UCQ-6, which UCQ-9 saw.
	 */
	while (!(next = smp_load_acquire(&old->header.cons_next_pg)))
		spin_relax(&spins);
	flips = ((seen >> UCQ_FLIP_SHIFT) + 1) << UCQ_FLIP_SHIFT;
	/*
	 * Nobody can CAS from seen (its slot is bad), so a store will do.
	 * UCQ-11, pairs with UCQ-8: a consumer that loads the new index
	 * also sees the kernel's zeroing of the page that UCQ-10 observed.
	 */
	smp_store_release(&ucq->cons_idx, flips | idx_pos(next));
	inject_delay(INJ_UCQ_FLIPPED);

	/* UCQ-14, pairs with UCQ-13: wait for the consumers copying out. */
	while (smp_load_acquire(&old->header.nr_cons) < UCQ_SLOTS)
		spin_relax_consumers(&spins);
	WRITE_ONCE(old->header.cons_next_pg, 0);
	WRITE_ONCE(old->header.nr_cons, 0);
	/*
	 * UCQ-15, pairs with UCQ-4 in kmod/core/ucq.c ucq_new_page().  The
	 * old page becomes the spare.  If the kernel
	 * has not taken the previous spare, that one is a page too many.
	 */
	spare = xchg(&ucq->spare_pg, (__u64)(uintptr_t)old);
	if (spare) {
		vcore_arena_free_pages((void *)(uintptr_t)spare, 1);
		fetch_sub(&ucq->nr_extra_pgs, 1);
	}
out_unlock:
	u_spin_unlock(&ucq->u_lock);
}

/* The filled slot is ours: copy its message out, give the slot back. */
static inline bool ucq_take(struct ucq_page *pg, struct ucq_msg_slot *slot,
			    struct event_msg *msg)
{
	*msg = slot->ev_msg;
	WRITE_ONCE(slot->ready, 0);
	inject_delay(INJ_UCQ_COPIED);
	/* UCQ-13, pairs with UCQ-14: done with the page. */
	fetch_add_release(&pg->header.nr_cons, 1);
	return true;
}

/*
 * UCQ-12, pairs with UCQ-7 in kmod/core/ucq.c ucq_post(): the producer
 * that owns the slot is filling it.
 */
static VCORE_COLD bool ucq_wait_and_take(struct ucq_page *pg,
					 struct ucq_msg_slot *slot,
					 struct event_msg *msg)
{
	unsigned int spins = 0;

	while (!smp_load_acquire(&slot->ready))
		spin_relax(&spins);
	return ucq_take(pg, slot, msg);
}

/* The slot at pos (an index without its flip count) is ours. */
static inline bool ucq_copy_out(__u64 pos, struct event_msg *msg)
{
	struct ucq_page *pg = idx_page(pos);
	struct ucq_msg_slot *slot = &pg->msgs[idx_slot(pos)];

	/* one address for the flag and the message (instruction count) */
	OPTIMIZER_HIDE_VAR(slot);
	inject_delay(INJ_UCQ_CLAIMED);
	/* UCQ-12, pairs with UCQ-7 */
	if (unlikely(!smp_load_acquire(&slot->ready)))
		return ucq_wait_and_take(pg, slot, msg);
	return ucq_take(pg, slot, msg);
}

/* The claim when the first try did not do: a page end, or a lost CAS. */
static VCORE_COLD bool ucq_get_msg_slow(struct ucq *ucq, struct event_msg *msg)
{
	__u64 idx = smp_load_acquire(&ucq->cons_idx);	/* UCQ-8 */

	for (;;) {
		inject_delay(INJ_UCQ_CONS_LOADED);
		if (idx_pos(idx) == READ_ONCE(ucq->prod_idx))
			return false;
		if (!slot_is_good(idx)) {
			ucq_flip_page(ucq, idx);
			idx = smp_load_acquire(&ucq->cons_idx);
			continue;
		}
		/*
		 * Lock-free retry: a failed CAS means another consumer took
		 * the slot; it reloads idx (fully ordered, so UCQ-8 holds).
		 */
		inject_delay(INJ_UCQ_CHECKED);
		if (try_cmpxchg(&ucq->cons_idx, &idx, idx + 1))
			return ucq_copy_out(idx_pos(idx), msg);
	}
}

/*
 * The common case inline and call-free, so that it needs no stack frame:
 * a good slot, claimed at the first try, already filled.  Everything else
 * goes out of line, by tail calls.
 */
bool vcore_get_ucq_msg(struct ucq *ucq, struct event_msg *msg)
{
	/* UCQ-8: cons_idx before prod_idx; pairs with UCQ-11. */
	__u64 idx = smp_load_acquire(&ucq->cons_idx);
	__u64 pos = idx_pos(idx);

	inject_delay(INJ_UCQ_CONS_LOADED);
	if (pos == READ_ONCE(ucq->prod_idx))
		return false;
	if (unlikely(!slot_is_good(pos)))
		return ucq_get_msg_slow(ucq, msg);
	inject_delay(INJ_UCQ_CHECKED);
	if (unlikely(!try_cmpxchg(&ucq->cons_idx, &idx, idx + 1)))
		return ucq_get_msg_slow(ucq, msg);
	return ucq_copy_out(pos, msg);
}

bool vcore_ucq_is_empty(struct ucq *ucq)
{
	/* UCQ-8 */
	__u64 cons = smp_load_acquire(&ucq->cons_idx);

	return idx_pos(cons) == READ_ONCE(ucq->prod_idx);
}
