/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The kernel's side of the mailbox protocols, simulated in user space for
 * the unit tests: each function follows vcore.ko's producer step by step
 * (the orderings lettered in ucq.c, ceq.c, evbitmap.c and event.c), with
 * a pthread mutex for the MCP's ucq_lock and the fake arena for the pages
 * the kernel takes.  Any number of threads may post at once.
 *
 * Each returns 0 if the message was posted, -1 if the kernel would have
 * dropped it (mbox not ready, bad type, arena full).
 */
#ifndef _VCORE_KERNEL_SIM_H
#define _VCORE_KERNEL_SIM_H

#include <stdbool.h>

#include "event.h"

int sim_ucq_post(struct ucq *ucq, const struct event_msg *msg);
int sim_ceq_post(struct ceq *ceq, const struct event_msg *msg);
/* *newly_set (if not NULL): whether this post set a clear bit. */
int sim_evbitmap_post(struct evbitmap *bm, const struct event_msg *msg,
		      bool *newly_set);
int sim_mbox_post(struct event_mbox *mbox, const struct event_msg *msg);

/* post_vc_msg: post to a VCPD mbox, then set notif_pending. */
int sim_post_vc_msg(struct vcore_preempt_data *vcpd, bool private_mbox,
		    const struct event_msg *msg);

/*
 * send_event, reduced to what the user side sees: post to ev_q's mbox (or
 * the VCPD mbox of ev_vcore when ev_mbox is 0), then, with EVENT_INDIR,
 * send EV_EVENT(ev_q) to ev_vcore's public VCPD mbox unless
 * ev_alert_pending throttles it.
 */
int sim_send_event(const struct vcore_dev *dev, struct event_queue *ev_q,
		   const struct event_msg *msg);

#endif /* _VCORE_KERNEL_SIM_H */
