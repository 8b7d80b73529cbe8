// SPDX-License-Identifier: GPL-2.0
/* User space's reading side for the unit tests; see reader.h. */
#include <stdio.h>

#include "reader.h"

#define SLOTS	VCORE_UCQ_SLOTS_PER_PAGE

static unsigned int errors;

#define ERR(...)	do { fprintf(stderr, "# reader: " __VA_ARGS__); \
			     errors++; } while (0)

unsigned int h_reader_errors(void)
{
	return errors;
}

static struct ucq_page *page_k(struct h_mcp *h, u64 idx)
{
	return h_u2k_rw(h, idx & ~(u64)VCORE_UCQ_SLOT_MASK, VCORE_UCQ_PAGE_SIZE,
			PAGE_SIZE);
}

bool h_ucq_take(struct h_mcp *h, struct ucq *ucq, struct event_msg *msg)
{
	struct ucq_msg_slot *slot;
	struct ucq_page *pg;
	u64 idx = ucq->cons_idx, next;
	unsigned int flips = 0;

	for (;; flips++) {
		if (flips > 2) {
			ERR("ucq at %#llx: a loop of empty pages\n",
			    (unsigned long long)idx);
			return false;
		}
		if (idx == ucq->prod_idx)
			return false;
		if ((idx & VCORE_UCQ_SLOT_MASK) < SLOTS)
			break;
		pg = page_k(h, idx);
		next = pg ? pg->header.cons_next_pg : 0;
		if (!pg || !next || !page_k(h, next)) {
			ERR("ucq at %#llx: no next page\n",
			    (unsigned long long)idx);
			return false;
		}
		memset(pg, 0, sizeof(*pg));
		if (ucq->spare_pg) {
			mcp_arena_free_pages(&h->m, idx & ~(u64)VCORE_UCQ_SLOT_MASK,
					     1);
			ucq->nr_extra_pgs--;
		} else {
			ucq->spare_pg = idx & ~(u64)VCORE_UCQ_SLOT_MASK;
		}
		idx = next;
		ucq->cons_idx = idx;
	}
	pg = page_k(h, idx);
	if (!pg) {
		ERR("ucq cons_idx %#llx outside the arena\n",
		    (unsigned long long)idx);
		return false;
	}
	slot = &pg->msgs[idx & VCORE_UCQ_SLOT_MASK];
	if (!slot->ready) {
		ERR("ucq slot %#llx claimed but not ready\n",
		    (unsigned long long)idx);
		return false;
	}
	*msg = slot->ev_msg;
	slot->ready = 0;
	pg->header.nr_cons++;
	ucq->cons_idx = idx + 1;
	return true;
}

unsigned int h_ucq_count(struct h_mcp *h, struct ucq *ucq)
{
	u64 idx = ucq->cons_idx;
	unsigned int n = 0, hops = 0;

	while (idx != ucq->prod_idx && hops < 100000) {
		struct ucq_page *pg = page_k(h, idx);

		if (!pg)
			break;
		if ((idx & VCORE_UCQ_SLOT_MASK) >= SLOTS) {
			idx = pg->header.cons_next_pg;
			hops++;
			continue;
		}
		n += pg->msgs[idx & VCORE_UCQ_SLOT_MASK].ready != 0;
		idx++;
	}
	return n;
}

static bool ceq_extract(struct ceq_event *ev, u32 id, struct event_msg *msg)
{
	if (!ev->idx_posted)
		return false;
	ev->idx_posted = 0;
	memset(msg, 0, sizeof(*msg));
	msg->ev_type = (u16)id;
	msg->ev_arg4 = ev->coalesce;
	msg->ev_arg2 = (u32)ev->coalesce;
	msg->ev_arg3 = ev->blob_data;
	ev->coalesce = 0;
	return true;
}

bool h_ceq_take(struct h_mcp *h, struct ceq *ceq, struct event_msg *msg)
{
	/* fields read once: the arrays may overlap the ceq itself */
	u32 nr_events = ceq->nr_events, ring_sz = ceq->ring_sz, n;
	s32 max = ceq->max_event_ever, id, i;
	struct ceq_event *evs = h_u2k_rw(h, ceq->events, (u64)nr_events *
					 sizeof(struct ceq_event), 8);
	__s32 *ring = h_u2k_rw(h, ceq->ring, (u64)ring_sz * sizeof(__s32), 4);

	if (!evs || !ring || !ring_sz) {
		ERR("ceq arrays outside the arena\n");
		return false;
	}
	for (n = 0; ceq->cons_pvt_idx != ceq->prod_idx && n < ring_sz; n++) {
		u32 at = ceq->cons_pvt_idx++ & (ring_sz - 1);

		if (at >= ring_sz)
			break;		/* ring_sz not a power of two */
		id = ring[at];
		ring[at] = -1;
		ceq->cons_pub_idx = ceq->cons_pvt_idx;
		if (id < 0 || (u32)id >= nr_events) {
			ERR("ceq ring slot %u holds %d\n", at, id);
			continue;
		}
		if (ceq_extract(&evs[id], (u32)id, msg))
			return true;
	}
	if (!ceq->ring_overflowed)
		return false;
	for (i = 0; i <= max && (u32)i < nr_events; i++)
		if (ceq_extract(&evs[i], (u32)i, msg))
			return true;
	ceq->ring_overflowed = 0;
	return false;
}

bool h_evbitmap_take(struct evbitmap *bm, struct event_msg *msg)
{
	unsigned int t;

	for (t = 0; t < VCORE_EVBITMAP_WORDS * 64; t++) {
		u64 bit = 1ULL << (t % 64);

		if (bm->bitmap[t / 64] & bit) {
			bm->bitmap[t / 64] &= ~bit;
			memset(msg, 0, sizeof(*msg));
			msg->ev_type = (u16)t;
			return true;
		}
	}
	bm->check_bits = 0;
	return false;
}

bool h_mbox_take(struct h_mcp *h, struct event_mbox *mbox,
		 struct event_msg *msg)
{
	switch (mbox->type) {
	case EV_MBOX_UCQ:
		return h_ucq_take(h, &mbox->ucq, msg);
	case EV_MBOX_CEQ:
		return h_ceq_take(h, &mbox->ceq, msg);
	case EV_MBOX_BITMAP:
		return h_evbitmap_take(&mbox->evbm, msg);
	default:
		return false;
	}
}

unsigned int h_mbox_drain(struct h_mcp *h, struct event_mbox *mbox,
			  struct event_msg *msgs, unsigned int max)
{
	struct event_msg m;
	unsigned int n = 0;

	while (h_mbox_take(h, mbox, &m)) {
		if (n < max)
			msgs[n] = m;
		n++;
	}
	return n;
}

struct event_mbox *h_vcpd_mbox(struct h_mcp *h, u32 v, bool private_mbox)
{
	struct vcore_preempt_data *vcpd = h_vcpd(h, v);

	return private_mbox ? &vcpd->ev_mbox_private : &vcpd->ev_mbox_public;
}
