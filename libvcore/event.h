/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Events, user side: mailboxes, event queues, handlers, and the handling
 * of a vcore's VCPD mailboxes, with Akaros's names and semantics.
 *
 * Memory the kernel writes (ev_qs, mboxes and what hangs off them) comes
 * from the event arena (arena.h), which must be set up first.  The
 * mailbox consumers themselves are in ucq.h, ceq.h and evbitmap.h.
 *
 * Errors: int functions return 0 (or a count) or a negative errno;
 * pointer functions return NULL and set errno.
 *
 * Consumers and the arena allocator spin on short internal locks and on
 * each other; from uthread context, disable notifications around them if
 * a notification's handlers may use the same mbox or allocate (Akaros
 * does the same).
 */
#ifndef _VCORE_EVENT_H
#define _VCORE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/vcore.h>

#include "arena.h"
#include "ceq.h"
#include "evbitmap.h"
#include "ucq.h"
#include "vcore.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Geometry of a CEQ made by vcore_event_mbox_init(): Akaros's defaults. */
#define VCORE_CEQ_DEFAULT_SZ		128

/* A handler for one event type; data is what it was registered with. */
typedef void (*handle_event_t)(struct event_msg *ev_msg,
			       unsigned int ev_type, void *data);

/* An ev_q's own handler (ev_q->ev_handler), replacing vcore_handle_mbox(). */
typedef void (*handle_event_q_t)(struct event_queue *ev_q);

static inline struct event_mbox *event_q_mbox(const struct event_queue *ev_q)
{
	return (struct event_mbox *)(uintptr_t)ev_q->ev_mbox;
}

static inline void event_q_set_handler(struct event_queue *ev_q,
				       handle_event_q_t handler, void *udata)
{
	ev_q->ev_udata = (uintptr_t)udata;
	ev_q->ev_handler = (uintptr_t)handler;
}

/* ---- Mailboxes (mbox.c) ---------------------------------------------- */

/*
 * Initialise mbox as EV_MBOX_UCQ, _BITMAP or _CEQ (CEQ_OR, VCORE_CEQ_DEFAULT_SZ
 * events and ring slots), then publish its type to the kernel.  The mbox
 * must not be in use.  -EINVAL (unknown type), or the allocation's error.
 */
int vcore_event_mbox_init(struct event_mbox *mbox, unsigned int type);

/* The same for a CEQ of a chosen geometry; see vcore_ceq_init(). */
int vcore_event_mbox_init_ceq(struct event_mbox *mbox, __u8 operation,
			unsigned int nr_events, unsigned int ring_sz);

/*
 * Unpublish mbox (type 0, so the kernel drops posts) and free what it
 * holds.  Nothing may post to or consume from it any more.
 */
void vcore_event_mbox_cleanup(struct event_mbox *mbox);

/* One message from any kind of mbox; false if empty or not initialised. */
bool vcore_extract_one_mbox_msg(struct event_mbox *mbox, struct event_msg *msg);

/* Whether mbox looks empty (an uninitialised one is). */
bool vcore_mbox_is_empty(struct event_mbox *mbox);

/* ---- Event queues (event.c) ------------------------------------------ */

/*
 * A big ev_q (struct event_queue_big) whose ev_mbox points at its own
 * mbox, initialised as mbox_type.  ev_flags, ev_vcore, the handler: the
 * caller's.
 */
struct event_queue *vcore_get_eventq(unsigned int mbox_type);

/* The same with the mbox left uninitialised (e.g. for a custom CEQ). */
struct event_queue *vcore_get_eventq_raw(void);

/* A slim ev_q (struct event_queue) with ev_mbox 0: point it somewhere. */
struct event_queue *vcore_get_eventq_slim(void);

/*
 * A slim ev_q that delivers to vcoreid's VCPD mbox: ev_mbox = 0 (the
 * target's VCPD mbox, chosen by the kernel), ev_vcore = vcoreid, ev_flags
 * = ev_flags (EVENT_VCORE_PRIVATE picks the private mbox).  EINVAL.
 */
struct event_queue *vcore_get_eventq_vcpd(unsigned int vcoreid,
				    unsigned int ev_flags);

/*
 * Free any ev_q from vcore_get_eventq*() (a big one's own mbox is cleaned up
 * first).  It must be unregistered and idle.  NULL is ignored.
 */
void vcore_put_eventq(struct event_queue *ev_q);

/* Make ev_q the receiver of kernel events of ev_type (procdata). */
int vcore_register_kevent_q(const struct vcore_dev *dev, struct event_queue *ev_q,
		      unsigned int ev_type);

/* Unregister ev_type's ev_q and return it (NULL if none or bad type). */
struct event_queue *vcore_clear_kevent_q(const struct vcore_dev *dev,
				   unsigned int ev_type);

/* ---- Handlers (ev_handler.c) ----------------------------------------- */

/*
 * Add handler (with data) to ev_type's list; handlers of one type run in
 * registration order, and the same pair may be registered twice.  Safe at
 * any time, also while messages are being handled.  EV_EVENT comes with
 * vcore_handle_ev_ev() registered.  -EINVAL (bad type, NULL handler), -ENOMEM.
 */
int vcore_register_ev_handler(unsigned int ev_type, handle_event_t handler,
			void *data);

/*
 * Remove the first registration of (handler, data) for ev_type.  There is
 * no grace period: a dispatch already under way may still call it once,
 * so data must stay valid.  -EINVAL, -ENOENT.
 */
int vcore_deregister_ev_handler(unsigned int ev_type, handle_event_t handler,
			  void *data);

/* ---- Handling (event.c) ---------------------------------------------- */

/*
 * The EV_EVENT (INDIR) handler: ev_arg3 is an ev_q to check.  Clears the
 * ev_q's ev_alert_pending, with a full barrier, before handling it, so a
 * message posted behind the look brings a new INDIR.
 */
void vcore_handle_ev_ev(struct event_msg *ev_msg, unsigned int ev_type, void *data);

/*
 * Take one message from mbox and run the handlers of its type.  1 if a
 * message was taken, 0 if mbox was empty.  Types at or past
 * VCORE_MAX_NR_EVENT (ids of a large CEQ) have no handlers.
 */
int vcore_handle_one_mbox_msg(struct event_mbox *mbox);

/*
 * Drain mbox, dispatching every message; returns how many.  It returns
 * when the mbox is found empty, so a producer that never stops keeps it
 * here.
 */
int vcore_handle_mbox(struct event_mbox *mbox);

/*
 * Handle an ev_q: its own ev_handler if set (returns 0), else
 * vcore_handle_mbox() on its mbox (returns the count; 0 for an ev_q bound to a
 * VCPD mbox, which vcore_handle_events() drains).
 */
int vcore_handle_event_q(struct event_queue *ev_q);

/*
 * Initialise every VCPD's public and private mbox as a UCQ (4 arena pages
 * per vcore), so the kernel can post to them; mboxes already initialised
 * are left alone.  Once, before vcores run.  On error everything is
 * cleaned up.  -ENOMEM, -ENXIO.
 */
int vcore_vcpd_mboxes_init(const struct vcore_dev *dev);

/* Undo vcore_vcpd_mboxes_init(); the kernel must no longer post to them. */
void vcore_vcpd_mboxes_cleanup(const struct vcore_dev *dev);

/*
 * Akaros's vcore_handle_events(): clear vcoreid's notif_pending, full barrier,
 * then drain its private, then its public VCPD mbox.  Returns the number
 * of messages handled, or -EINVAL for a bad vcoreid.  The kernel may set
 * notif_pending again at any point; whoever leaves vcore context must
 * check it again (with notifications enabled) and come back here.
 */
int vcore_handle_events(const struct vcore_dev *dev, unsigned int vcoreid);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_EVENT_H */
