// SPDX-License-Identifier: LGPL-2.1 OR MIT
/* The simulated kernel producer; see kernel_sim.h. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "barrier.h"
#include "inject.h"
#include "kernel_sim.h"

#define UCQ_PAGE_MASK	(~(__u64)VCORE_UCQ_SLOT_MASK)
#define CEQ_RING_TRIES	10

/* The MCP's ucq_lock: never a lock in user memory. */
static pthread_mutex_t ucq_lock = PTHREAD_MUTEX_INITIALIZER;

static bool slot_is_good(__u64 idx)
{
	return (idx & VCORE_UCQ_SLOT_MASK) < VCORE_UCQ_SLOTS_PER_PAGE;
}

static struct ucq_page *idx_page(__u64 idx)
{
	return (struct ucq_page *)(uintptr_t)(idx & UCQ_PAGE_MASK);
}

/* Under ucq_lock: claim a slot, linking a new page if this one is full. */
static int ucq_claim_or_link(struct ucq *ucq, __u64 *slot)
{
	struct ucq_page *old, *new_pg;
	__u64 idx;

	idx = fetch_add(&ucq->prod_idx, 1);
	if (slot_is_good(idx)) {
		*slot = idx;
		return 0;
	}
	old = idx_page(idx);
	/* C: the spare user space left, else a fresh arena page. */
	new_pg = (struct ucq_page *)(uintptr_t)xchg(&ucq->spare_pg, 0);
	if (new_pg) {
		memset(new_pg, 0, sizeof(*new_pg));
	} else {
		new_pg = vcore_arena_alloc_pages(1);	/* zeroed */
		if (!new_pg)
			return -1;
		fetch_add(&ucq->nr_extra_pgs, 1);
	}
	smp_store_release(&old->header.cons_next_pg,		/* E */
			  (__u64)(uintptr_t)new_pg);
	vcore_inject_delay(INJ_K_UCQ_LINKED);
	smp_store_release(&ucq->prod_idx,			/* G */
			  (__u64)(uintptr_t)new_pg + 1);
	*slot = (__u64)(uintptr_t)new_pg;
	return 0;
}

int sim_ucq_post(struct ucq *ucq, const struct event_msg *msg)
{
	struct ucq_msg_slot *s;
	__u64 idx;
	int err;

	if (!smp_load_acquire(&ucq->ucq_ready))			/* B */
		return -1;
	if (!READ_ONCE(ucq->prod_overflow)) {
		idx = fetch_add(&ucq->prod_idx, 1);
		if (slot_is_good(idx))
			goto have_slot;
		WRITE_ONCE(ucq->prod_overflow, 1);
	}
	pthread_mutex_lock(&ucq_lock);
	err = ucq_claim_or_link(ucq, &idx);
	WRITE_ONCE(ucq->prod_overflow, 0);
	pthread_mutex_unlock(&ucq_lock);
	if (err)
		return err;
have_slot:
	vcore_inject_delay(INJ_K_UCQ_CLAIMED);
	s = &idx_page(idx)->msgs[idx & VCORE_UCQ_SLOT_MASK];
	s->ev_msg = *msg;
	smp_store_release(&s->ready, 1);			/* I */
	return 0;
}

static void max_s32(__s32 *p, __s32 v)
{
	__s32 old = READ_ONCE(*p);

	while (old < v && !try_cmpxchg(p, &old, v))
		;
}

int sim_ceq_post(struct ceq *ceq, const struct event_msg *msg)
{
	struct ceq_event *ev;
	__u32 ring_sz = READ_ONCE(ceq->ring_sz), type = msg->ev_type;
	__u32 prod, cons;
	__s32 *ring;

	if (type >= READ_ONCE(ceq->nr_events))
		return -1;
	ev = &((struct ceq_event *)(uintptr_t)READ_ONCE(ceq->events))[type];
	ring = (__s32 *)(uintptr_t)READ_ONCE(ceq->ring);

	max_s32(&ceq->max_event_ever, (__s32)type);
	WRITE_ONCE(ev->blob_data, msg->ev_arg3);
	if (READ_ONCE(ceq->operation) == CEQ_OR)		/* C */
		fetch_or(&ev->coalesce, msg->ev_arg2);
	else
		fetch_add(&ev->coalesce, msg->ev_arg2);
	vcore_inject_delay(INJ_K_CEQ_COALESCED);
	if (READ_ONCE(ev->idx_posted))				/* D */
		return 0;
	WRITE_ONCE(ev->idx_posted, 1);
	vcore_inject_delay(INJ_K_CEQ_MARKED);

	for (int tries = 0;; tries++) {
		prod = READ_ONCE(ceq->prod_idx);
		cons = smp_load_acquire(&ceq->cons_pub_idx);	/* G */
		if (prod - cons >= ring_sz || tries == CEQ_RING_TRIES) {
			smp_store_release(&ceq->ring_overflowed, 1);	/* K */
			return 0;
		}
		if (try_cmpxchg(&ceq->prod_idx, &prod, prod + 1))
			break;
	}
	vcore_inject_delay(INJ_K_CEQ_CLAIMED);
	smp_store_release(&ring[prod & (ring_sz - 1)], (__s32)type);	/* I */
	return 0;
}

int sim_evbitmap_post(struct evbitmap *bm, const struct event_msg *msg,
		      bool *newly_set)
{
	__u32 type = msg->ev_type;
	__u64 bit = 1ULL << (type % 64), old;

	if (type >= VCORE_MAX_NR_EVENT)
		return -1;
	old = fetch_or(&bm->bitmap[type / 64], bit);		/* A */
	vcore_inject_delay(INJ_K_EVBM_SET);
	smp_store_release(&bm->check_bits, 1);			/* B */
	if (newly_set)
		*newly_set = !(old & bit);
	return 0;
}

int sim_mbox_post(struct event_mbox *mbox, const struct event_msg *msg)
{
	switch (smp_load_acquire(&mbox->type)) {
	case EV_MBOX_UCQ:
		return sim_ucq_post(&mbox->ucq, msg);
	case EV_MBOX_BITMAP:
		return sim_evbitmap_post(&mbox->evbm, msg, NULL);
	case EV_MBOX_CEQ:
		return sim_ceq_post(&mbox->ceq, msg);
	default:
		return -1;
	}
}

int sim_post_vc_msg(struct vcore_preempt_data *vcpd, bool private_mbox,
		    const struct event_msg *msg)
{
	struct event_mbox *mbox = private_mbox ? &vcpd->ev_mbox_private :
						 &vcpd->ev_mbox_public;

	if (sim_mbox_post(mbox, msg))
		return -1;
	vcore_inject_delay(INJ_K_VC_POSTED);
	smp_store_release(&vcpd->notif_pending, 1);		/* event.c A */
	return 0;
}

int sim_send_event(const struct vcore_dev *dev, struct event_queue *ev_q,
		   const struct event_msg *msg)
{
	__u32 flags = READ_ONCE(ev_q->ev_flags);
	struct vcore_preempt_data *vcpd;
	struct event_msg indir = { .ev_type = EV_EVENT };
	struct event_mbox *mbox;

	vcpd = vcore_dev_vcpd(dev, READ_ONCE(ev_q->ev_vcore));
	if (!vcpd)
		return -1;
	mbox = (struct event_mbox *)(uintptr_t)READ_ONCE(ev_q->ev_mbox);
	if (!mbox) {
		if (sim_post_vc_msg(vcpd, flags & EVENT_VCORE_PRIVATE, msg))
			return -1;
	} else if (sim_mbox_post(mbox, msg)) {
		return -1;
	}
	if (!(flags & EVENT_INDIR))
		return 0;
	/* event.c C: the throttle; user space clears it before it looks. */
	if (!(flags & EVENT_NOTHROTTLE) && xchg(&ev_q->ev_alert_pending, 1))
		return 0;
	indir.ev_arg3 = (__u64)(uintptr_t)ev_q;
	return sim_post_vc_msg(vcpd, false, &indir);
}
