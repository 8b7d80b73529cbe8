// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Event mailboxes: one interface over the three kinds.
 *
 * The kernel finds an mbox through an ev_q (or a VCPD) and reads its type
 * first: 0 means "not initialised", and the post is dropped.  So an mbox
 * is built with type 0, and its type is published last with a release
 * (MBOX-1 in ORDERING.md), which the kernel's acquire of the type pairs
 * with (MBOX-2, mcp_mbox_post() in kmod/core/event.c); a UCQ is in
 * addition gated by its own ucq_ready (UCQ-1).  Cleanup unpublishes the
 * type before freeing anything.
 */
#include <errno.h>

#include "event.h"
#include "internal.h"

/* Set by the scheduler once it can run other vcores (internal.h). */
const struct vcore_waits *vcore_waits;

static int mbox_publish(struct event_mbox *mbox, unsigned int type)
{
	mbox->resv0 = 0;
	/* MBOX-1, pairs with MBOX-2 in kmod/core/event.c mcp_mbox_post() */
	smp_store_release(&mbox->type, type);
	return 0;
}

int vcore_event_mbox_init(struct event_mbox *mbox, unsigned int type)
{
	int err;

	WRITE_ONCE(mbox->type, 0);
	switch (type) {
	case EV_MBOX_UCQ:
		err = vcore_ucq_init(&mbox->ucq);
		break;
	case EV_MBOX_BITMAP:
		vcore_evbitmap_init(&mbox->evbm);
		err = 0;
		break;
	case EV_MBOX_CEQ:
		err = vcore_ceq_init(&mbox->ceq, CEQ_OR, VCORE_CEQ_DEFAULT_SZ,
			       VCORE_CEQ_DEFAULT_SZ);
		break;
	default:
		return -EINVAL;
	}
	if (err)
		return err;
	return mbox_publish(mbox, type);
}

int vcore_event_mbox_init_ceq(struct event_mbox *mbox, __u8 operation,
			unsigned int nr_events, unsigned int ring_sz)
{
	int err;

	WRITE_ONCE(mbox->type, 0);
	err = vcore_ceq_init(&mbox->ceq, operation, nr_events, ring_sz);
	if (err)
		return err;
	return mbox_publish(mbox, EV_MBOX_CEQ);
}

void vcore_event_mbox_cleanup(struct event_mbox *mbox)
{
	switch (xchg(&mbox->type, 0)) {
	case EV_MBOX_UCQ:
		vcore_ucq_free(&mbox->ucq);
		break;
	case EV_MBOX_BITMAP:
		vcore_evbitmap_cleanup(&mbox->evbm);
		break;
	case EV_MBOX_CEQ:
		vcore_ceq_cleanup(&mbox->ceq);
		break;
	default:
		break;
	}
}

bool vcore_extract_one_mbox_msg(struct event_mbox *mbox, struct event_msg *msg)
{
	/* pairs with MBOX-1 */
	switch (smp_load_acquire(&mbox->type)) {
	case EV_MBOX_UCQ:
		return vcore_get_ucq_msg(&mbox->ucq, msg);
	case EV_MBOX_BITMAP:
		return vcore_get_evbitmap_msg(&mbox->evbm, msg);
	case EV_MBOX_CEQ:
		return vcore_get_ceq_msg(&mbox->ceq, msg);
	default:
		return false;
	}
}

bool vcore_mbox_is_empty(struct event_mbox *mbox)
{
	/* pairs with MBOX-1 */
	switch (smp_load_acquire(&mbox->type)) {
	case EV_MBOX_UCQ:
		return vcore_ucq_is_empty(&mbox->ucq);
	case EV_MBOX_BITMAP:
		return vcore_evbitmap_is_empty(&mbox->evbm);
	case EV_MBOX_CEQ:
		return vcore_ceq_is_empty(&mbox->ceq);
	default:
		return true;
	}
}
