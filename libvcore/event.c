// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Event queues and event handling, user side.
 *
 * ev_qs live in the arena, where the kernel can reach them: a big ev_q
 * (struct event_queue_big, 192 bytes) embeds its own mbox, a slim one (64
 * bytes) points elsewhere or at nothing (ev_mbox 0: the target vcore's
 * VCPD mbox, chosen by the kernel).  The arena's size classes tell the two
 * apart when they are freed.
 *
 * Handling follows Akaros.  vcore_handle_events() is what a vcore runs on
 * entering vcore context: it clears notif_pending and drains its VCPD
 * mboxes.  Messages are dispatched to the handlers of their type; an
 * EV_EVENT (INDIR) message names an ev_q to handle in turn.
 *
 * Ordering of the two flags user space clears: ORDERING.md's NOTIF and
 * EVQ tables.  The kernel posts a message, then sets notif_pending
 * (NOTIF-2, kmod/core/event.c post_vc_msg()); vcore_handle_events()
 * clears it with a full barrier and then drains (NOTIF-4): either the
 * exchange reads the kernel's 1 and the drain sees the message, or the 1
 * lands after the exchange and the flag stays set for a second look.
 * The kernel posts to an ev_q's mbox, then xchg()s ev_alert_pending to 1
 * and sends an INDIR if it was 0 (EVQ-1); vcore_handle_ev_ev() clears it
 * with a full barrier and then handles the ev_q (EVQ-2): either the
 * handling sees the message, or the kernel reads 0 and sends a new
 * INDIR.  A release would not do for NOTIF-4 or EVQ-2: the drain's loads
 * could pass the clear.
 */
#include <errno.h>
#include <stdint.h>

#include "event.h"
#include "ev_handler.h"
#include "internal.h"

_Static_assert(sizeof(struct event_queue) != sizeof(struct event_queue_big),
	       "vcore_put_eventq() tells ev_qs apart by size");

struct event_queue *vcore_get_eventq_raw(void)
{
	struct event_queue_big *big = vcore_arena_zalloc(sizeof(*big));

	if (!big)
		return NULL;
	big->ev_q.ev_mbox = (uintptr_t)&big->ev_imbox;
	return &big->ev_q;
}

struct event_queue *vcore_get_eventq(unsigned int mbox_type)
{
	struct event_queue *ev_q = vcore_get_eventq_raw();
	int err;

	if (!ev_q)
		return NULL;
	err = vcore_event_mbox_init(event_q_mbox(ev_q), mbox_type);
	if (err) {
		vcore_put_eventq(ev_q);
		errno = -err;
		return NULL;
	}
	return ev_q;
}

struct event_queue *vcore_get_eventq_slim(void)
{
	return vcore_arena_zalloc(sizeof(struct event_queue));
}

struct event_queue *vcore_get_eventq_vcpd(unsigned int vcoreid,
				    unsigned int ev_flags)
{
	struct event_queue *ev_q;

	if (vcoreid >= VCORE_MAX_VCORES || ev_flags & ~EVENT_FLAGS_ALL) {
		errno = EINVAL;
		return NULL;
	}
	ev_q = vcore_get_eventq_slim();
	if (!ev_q)
		return NULL;
	ev_q->ev_flags = ev_flags;
	ev_q->ev_vcore = vcoreid;
	return ev_q;
}

void vcore_put_eventq(struct event_queue *ev_q)
{
	size_t size;

	if (!ev_q)
		return;
	size = vcore_arena_obj_size(ev_q);
	if (size == sizeof(struct event_queue_big)) {
		struct event_queue_big *big = (struct event_queue_big *)ev_q;

		vcore_event_mbox_cleanup(&big->ev_imbox);
	}
	/* Not an arena object (size 0): vcore_arena_free() says so. */
	vcore_arena_free(ev_q, size);
}

int vcore_register_kevent_q(const struct vcore_dev *dev, struct event_queue *ev_q,
		      unsigned int ev_type)
{
	if (ev_type >= VCORE_MAX_NR_EVENT)
		return -EINVAL;
	/*
	 * EVQ-3, pairs with EVQ-4 in kmod/core/event.c
	 * mcp_send_kernel_event(): the ev_q is complete before the kernel
	 * can find it.
	 */
	smp_store_release(&dev->procdata->kernel_evts[ev_type],
			  (__u64)(uintptr_t)ev_q);
	return 0;
}

struct event_queue *vcore_clear_kevent_q(const struct vcore_dev *dev,
				   unsigned int ev_type)
{
	if (ev_type >= VCORE_MAX_NR_EVENT)
		return NULL;
	return (struct event_queue *)(uintptr_t)
		xchg(&dev->procdata->kernel_evts[ev_type], 0);
}

int vcore_handle_one_mbox_msg(struct event_mbox *mbox)
{
	struct event_msg msg;

	if (!vcore_extract_one_mbox_msg(mbox, &msg))
		return 0;
	vcore_run_ev_handlers(msg.ev_type, &msg);
	return 1;
}

int vcore_handle_mbox(struct event_mbox *mbox)
{
	int n = 0;

	/* Ends when the mbox is found empty: the producer bounds it. */
	while (vcore_handle_one_mbox_msg(mbox))
		n++;
	return n;
}

int vcore_handle_event_q(struct event_queue *ev_q)
{
	handle_event_q_t handler;
	struct event_mbox *mbox;

	handler = (handle_event_q_t)(uintptr_t)READ_ONCE(ev_q->ev_handler);
	if (handler) {
		handler(ev_q);
		return 0;
	}
	mbox = (struct event_mbox *)(uintptr_t)READ_ONCE(ev_q->ev_mbox);
	if (!mbox)
		return 0;
	return vcore_handle_mbox(mbox);
}

void vcore_handle_ev_ev(struct event_msg *ev_msg, unsigned int ev_type, void *data)
{
	struct event_queue *ev_q;

	(void)ev_type;
	(void)data;
	ev_q = (struct event_queue *)(uintptr_t)ev_msg->ev_arg3;
	/* An EV_EVENT from a bitmap mbox carries no ev_q: nothing to do. */
	if (!ev_q)
		return;
	/*
	 * EVQ-2, pairs with EVQ-1 in kmod/core/event.c send_indir().  Clear
	 * before handling, not after: the ev_q's
	 * handler may not return (it may yield the vcore), and a message
	 * posted behind our look must bring a new INDIR.
	 */
	smp_store_mb(ev_q->ev_alert_pending, 0);
	inject_delay(INJ_EV_ALERT_CLEARED);
	vcore_handle_event_q(ev_q);
}

static int vcpd_mbox_init(struct event_mbox *mbox)
{
	/*
	 * Already set up (pairs with MBOX-1): leave it, the kernel may be
	 * posting to it.
	 */
	if (smp_load_acquire(&mbox->type))
		return 0;
	return vcore_event_mbox_init(mbox, EV_MBOX_UCQ);
}

static unsigned int nr_vcpds(const struct vcore_dev *dev)
{
	return dev->api.max_vcores < VCORE_MAX_VCORES ?
	       dev->api.max_vcores : VCORE_MAX_VCORES;
}

int vcore_vcpd_mboxes_init(const struct vcore_dev *dev)
{
	unsigned int n = nr_vcpds(dev);
	int err;

	for (unsigned int v = 0; v < n; v++) {
		struct vcore_preempt_data *vcpd = vcore_dev_vcpd(dev, v);

		err = vcpd_mbox_init(&vcpd->ev_mbox_public);
		if (err)
			goto err_cleanup;
		err = vcpd_mbox_init(&vcpd->ev_mbox_private);
		if (err)
			goto err_cleanup;
	}
	return 0;

err_cleanup:
	vcore_vcpd_mboxes_cleanup(dev);
	return err;
}

void vcore_vcpd_mboxes_cleanup(const struct vcore_dev *dev)
{
	unsigned int n = nr_vcpds(dev);

	for (unsigned int v = 0; v < n; v++) {
		struct vcore_preempt_data *vcpd = vcore_dev_vcpd(dev, v);

		vcore_event_mbox_cleanup(&vcpd->ev_mbox_public);
		vcore_event_mbox_cleanup(&vcpd->ev_mbox_private);
	}
}

int vcore_handle_events(const struct vcore_dev *dev, unsigned int vcoreid)
{
	struct vcore_preempt_data *vcpd = vcore_dev_vcpd(dev, vcoreid);
	int n;

	if (!vcpd)
		return -EINVAL;
	/*
	 * NOTIF-4, pairs with NOTIF-2 in kmod/core/event.c post_vc_msg():
	 * clear, full barrier, then look.
	 */
	smp_store_mb(vcpd->notif_pending, 0);
	n = vcore_handle_mbox(&vcpd->ev_mbox_private);
	n += vcore_handle_mbox(&vcpd->ev_mbox_public);
	return n;
}
