// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The event handler table: for each event type, a list of (handler, data)
 * run in registration order for every message of that type.
 *
 * Readers (dispatch, from any thread or vcore, at any time) take no lock:
 * they walk a list with acquire loads.  Writers serialise on
 * ev_handlers_lock.  A handler is published whole with a release store of
 * the link that makes it reachable; it is never changed afterwards.
 * Deregistration unlinks a handler but never frees it (there is no
 * user-level RCU here to say when the last reader has left): its own next
 * link stays as it was, so a reader standing on it walks on into the
 * list.  Unlinked handlers are kept on a retired list, so they stay
 * reachable; each costs 32 bytes, once per deregistration.
 *
 *   dispatch              register / deregister
 *   ---------------------------------------------------------------------
 *   h = smp_load_acquire  (under ev_handlers_lock) fill h; append with
 *       (&list head or        smp_store_release(&tail->next, h); unlink
 *        &prev->next)         with smp_store_release(&prev->next,
 *                             h->next).  Each pairs with the reader's
 *                             acquire: what a link points at is whole.
 *
 * Synchronization: dispatch runs concurrently with everything;
 * registrations exclude each other through the lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "ev_handler.h"
#include "internal.h"

struct ev_handler {
	struct ev_handler *next;	/* the type's list */
	handle_event_t func;
	void *data;
	struct ev_handler *retired;	/* the retired list, once unlinked */
};

static __u32 ev_handlers_lock;		/* guards every list and retired */
static struct ev_handler *retired;

static struct ev_handler ev_ev_handler = { .func = vcore_handle_ev_ev };

static struct ev_handler *ev_handlers[VCORE_MAX_NR_EVENT] = {
	[EV_EVENT] = &ev_ev_handler,
};

/* A fork()ed child: the handlers the parent registered are gone. */
static void vcore_ev_handlers_forget(void)
{
	memset(ev_handlers, 0, sizeof(ev_handlers));
	ev_handlers[EV_EVENT] = &ev_ev_handler;
	ev_handlers_lock = 0;
	retired = NULL;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, vcore_ev_handlers_forget);
}

int vcore_register_ev_handler(unsigned int ev_type, handle_event_t handler,
			void *data)
{
	struct ev_handler *h, **link;

	if (ev_type >= VCORE_MAX_NR_EVENT || !handler)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->func = handler;
	h->data = data;

	pthread_once(&atfork_once, atfork_register);
	u_spin_lock(&ev_handlers_lock);
	/* Bounded: the list holds what was registered and not removed. */
	for (link = &ev_handlers[ev_type]; *link; link = &(*link)->next)
		;
	smp_store_release(link, h);
	u_spin_unlock(&ev_handlers_lock);
	return 0;
}

int vcore_deregister_ev_handler(unsigned int ev_type, handle_event_t handler,
			  void *data)
{
	struct ev_handler *h, **link;

	if (ev_type >= VCORE_MAX_NR_EVENT)
		return -EINVAL;
	u_spin_lock(&ev_handlers_lock);
	for (link = &ev_handlers[ev_type]; (h = *link); link = &h->next)
		if (h->func == handler && h->data == data)
			break;
	if (!h) {
		u_spin_unlock(&ev_handlers_lock);
		return -ENOENT;
	}
	/*
	 * h->next stays: a reader on h still finds the rest of the list.  A
	 * release, like every store of a link: a reader that arrives at
	 * h->next through this link must see it whole too.
	 */
	smp_store_release(link, h->next);
	h->retired = retired;
	retired = h;
	u_spin_unlock(&ev_handlers_lock);
	return 0;
}

void vcore_run_ev_handlers(unsigned int ev_type, struct event_msg *ev_msg)
{
	struct ev_handler *h;

	if (ev_type >= VCORE_MAX_NR_EVENT)
		return;
	for (h = smp_load_acquire(&ev_handlers[ev_type]); h;
	     h = smp_load_acquire(&h->next))
		h->func(ev_msg, ev_type, h->data);
}
