// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Uthread synchronisation: mutexes, condition variables, and blocking on
 * ev_qs.  Each is a wait list under a vcore_pdr_lock, taken with notifications
 * disabled; a uthread blocks with vcore_uthread_block(), whose callback, run in
 * vcore context once the uthread is saved, queues it and drops the lock,
 * so that a waker never finds a waiter that is not yet saved.
 *
 * Timed waits add a timer (uth_sleep.c) that the callback starts under
 * the wait object's lock.  Its function takes that lock and, if the
 * waiter is still queued, takes it off and makes it runnable, marked
 * timed out; a waker that got there first took it off already.  Either
 * way the waiter, running again, stops the timer before its frame (which
 * holds the timer) goes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "vcore_alarm.h"
#include "vcore_ctx.h"
#include "uthread.h"
#include "uthread_internal.h"

/* A timed waiter: the timer first, for the timer function's cast. */
struct timed_wait {
	struct uth_timer t;
	struct uthread *u;
	/* the wait list of the mutex or condition variable, and its lock */
	unsigned int *lock;
	struct uthread **head, **tail;
	struct uth_mutex *m;		/* a condition variable's mutex */
	bool timed_out;
	int err;
};

/* The caller of a timed wait: a uthread, the alarm service running. */
static int timed_wait_prepare(struct timed_wait *w, uint64_t abs_ns,
			      void (*fn)(struct uth_timer *t))
{
	memset(w, 0, sizeof(*w));
	w->u = vcore_uthread_self();
	if (!w->u || vcore_in_vcore_context())
		return -EINVAL;
	w->t.deadline = abs_ns;
	w->t.fn = fn;
	return uth_timer_prepare();
}

/* The waiter runs again: its timer's end, and the answer. */
static int timed_wait_finish(struct timed_wait *w)
{
	uth_timer_stop(&w->t);
	if (w->err)
		return w->err;
	if (w->timed_out) {
		uth_count_sleep(true);
		return -ETIMEDOUT;
	}
	return 0;
}

/* ---- Wait lists, mutexes, condition variables ------------------------ */

void vcore_uth_mutex_init(struct uth_mutex *m)
{
	memset(m, 0, sizeof(*m));
}

static void mutex_block_cb(struct uthread *self, void *arg)
{
	struct uth_mutex *m = arg;

	wl_push(&m->wait_head, &m->wait_tail, self);
	vcore_pdr_unlock(&m->lock);
}

void vcore_uth_mutex_lock(struct uth_mutex *m)
{
	vcore_uth_disable_notifs();
	vcore_pdr_lock(&m->lock);
	if (!m->locked) {
		m->locked = 1;
		vcore_pdr_unlock(&m->lock);
		vcore_uth_enable_notifs();
		return;
	}
	/* unlock hands the mutex over: we own it when we run again */
	vcore_uthread_block(mutex_block_cb, m);
}

bool vcore_uth_mutex_trylock(struct uth_mutex *m)
{
	bool got = false;

	vcore_uth_disable_notifs();
	vcore_pdr_lock(&m->lock);
	if (!m->locked) {
		m->locked = 1;
		got = true;
	}
	vcore_pdr_unlock(&m->lock);
	vcore_uth_enable_notifs();
	return got;
}

/* Any context, notifications off. */
static void __mutex_unlock(struct uth_mutex *m)
{
	struct uthread *w;

	vcore_pdr_lock(&m->lock);
	w = wl_pop(&m->wait_head, &m->wait_tail);
	if (!w)
		m->locked = 0;
	vcore_pdr_unlock(&m->lock);
	if (w)
		vcore_uthread_runnable(w);
}

/*
 * The timer of a timed mutex lock or condition-variable wait: a waiter
 * still on the list times out; one already taken off was handed the
 * mutex or signalled, and its wait ends as the untimed one would.
 */
static void timed_wait_timeout(struct uth_timer *t)
{
	struct timed_wait *w = (struct timed_wait *)t;
	struct uthread *u = w->u;
	bool removed;

	vcore_pdr_lock(w->lock);
	removed = wl_remove(w->head, w->tail, u);
	if (removed)
		w->timed_out = true;
	vcore_pdr_unlock(w->lock);
	if (removed)
		vcore_uthread_runnable(u);
}

/* Entered with w->lock held: on the list, the timer started, then unlock. */
static void timed_wait_block_cb(struct uthread *self, void *arg)
{
	struct timed_wait *w = arg;

	wl_push(w->head, w->tail, self);
	w->err = uth_timer_start(&w->t);
	if (w->err)
		wl_remove(w->head, w->tail, self);
	vcore_pdr_unlock(w->lock);
	if (w->m)
		__mutex_unlock(w->m);
	if (w->err)
		vcore_uthread_runnable(self);
}

int vcore_uth_mutex_timedlock(struct uth_mutex *m, uint64_t abs_ns)
{
	struct timed_wait w;
	int err;

	if (vcore_uth_mutex_trylock(m))
		return 0;
	err = timed_wait_prepare(&w, abs_ns, timed_wait_timeout);
	if (err)
		return err;
	w.lock = &m->lock;
	w.head = &m->wait_head;
	w.tail = &m->wait_tail;
	vcore_uth_disable_notifs();
	vcore_pdr_lock(&m->lock);
	if (!m->locked) {
		m->locked = 1;
		vcore_pdr_unlock(&m->lock);
		vcore_uth_enable_notifs();
		return 0;
	}
	if (vcore_alarm_now() >= abs_ns) {
		vcore_pdr_unlock(&m->lock);
		vcore_uth_enable_notifs();
		uth_count_sleep(true);
		return -ETIMEDOUT;
	}
	uth_count_sleep(false);
	/* unlock hands the mutex over, unless the timer took us off first */
	vcore_uthread_block(timed_wait_block_cb, &w);
	return timed_wait_finish(&w);
}

void vcore_uth_mutex_unlock(struct uth_mutex *m)
{
	vcore_uth_disable_notifs();
	__mutex_unlock(m);
	vcore_uth_enable_notifs();
}

void vcore_uth_cond_var_init(struct uth_cond_var *cv)
{
	memset(cv, 0, sizeof(*cv));
}

struct cv_wait {
	struct uth_cond_var *cv;
	struct uth_mutex *m;
};

static void cv_block_cb(struct uthread *self, void *arg)
{
	struct cv_wait *cw = arg;
	struct uth_cond_var *cv = cw->cv;
	struct uth_mutex *m = cw->m;

	/* cw is on self's stack: done with it before self can run again */
	wl_push(&cv->wait_head, &cv->wait_tail, self);
	vcore_pdr_unlock(&cv->lock);
	__mutex_unlock(m);
}

void vcore_uth_cond_var_wait(struct uth_cond_var *cv, struct uth_mutex *m)
{
	struct cv_wait cw = { cv, m };

	vcore_uth_disable_notifs();
	vcore_pdr_lock(&cv->lock);
	vcore_uthread_block(cv_block_cb, &cw);
	vcore_uth_mutex_lock(m);
}

int vcore_uth_cond_var_timedwait(struct uth_cond_var *cv, struct uth_mutex *m,
				 uint64_t abs_ns)
{
	struct timed_wait w;
	int err;

	err = timed_wait_prepare(&w, abs_ns, timed_wait_timeout);
	if (err)
		return err;
	if (vcore_alarm_now() >= abs_ns) {
		uth_count_sleep(true);
		return -ETIMEDOUT;		/* m still held */
	}
	w.lock = &cv->lock;
	w.head = &cv->wait_head;
	w.tail = &cv->wait_tail;
	w.m = m;
	uth_count_sleep(false);
	vcore_uth_disable_notifs();
	vcore_pdr_lock(&cv->lock);
	vcore_uthread_block(timed_wait_block_cb, &w);
	err = timed_wait_finish(&w);
	vcore_uth_mutex_lock(m);
	return err;
}

void vcore_uth_cond_var_signal(struct uth_cond_var *cv)
{
	struct uthread *w;

	vcore_uth_disable_notifs();
	vcore_pdr_lock(&cv->lock);
	w = wl_pop(&cv->wait_head, &cv->wait_tail);
	vcore_pdr_unlock(&cv->lock);
	if (w)
		vcore_uthread_runnable(w);
	vcore_uth_enable_notifs();
}

void vcore_uth_cond_var_broadcast(struct uth_cond_var *cv)
{
	struct uthread *head, *w;

	vcore_uth_disable_notifs();
	vcore_pdr_lock(&cv->lock);
	head = cv->wait_head;
	cv->wait_head = cv->wait_tail = NULL;
	vcore_pdr_unlock(&cv->lock);
	while ((w = head)) {
		head = w->next;
		vcore_uthread_runnable(w);
	}
	vcore_uth_enable_notifs();
}

/* ---- Blocking on ev_qs ----------------------------------------------- */

/*
 * A waiter is linked into the controller of each ev_q it waits on.  The
 * handshake with the kernel's INDIR:
 *
 *   waiter                              kernel, then a vcore's handler
 *   ----------------------------------  ---------------------------------
 *   [W1] link into every controller     [EVQ-1] post the message, then
 *   [W2] smp_mb(), every mbox empty?         (if ev_alert_pending was
 *        else take a message                 clear) EV_EVENT(ev_q)
 *   [W3] block: state WAITING ->        [H1] vcore_handle_ev_ev() clears
 *        SLEEPING under the waiter's         ev_alert_pending (EVQ-2),
 *        lock, unless already WOKEN          calls the ev_q's handler:
 *                                       [H2] every linked waiter: WOKEN,
 *                                            runnable if it was SLEEPING
 *
 *   W1-W3 and H1-H2 are this file's own (user-only) steps; EVQ-1 and
 *   EVQ-2 are ORDERING.md's.  A message posted before W1 is seen at W2
 *   (or its INDIR, handled after W1, wakes us); one posted after W2's
 *   look finds ev_alert_pending clear (H1 cleared it before any
 *   handling) or an INDIR still pending, and H2 then runs after W1.  W3
 *   and H2 agree through the waiter's lock.
 */
struct evq_waiter {
	struct uth_timer t;		/* a timed wait's; first, for the cast */
	unsigned int lock;
	int state;
	bool timed_out;			/* the timer fired (under lock) */
	struct uthread *u;
};

#define W_WAITING	0
#define W_SLEEPING	1
#define W_WOKEN		2

struct evq_link {
	struct evq_link *next;
	struct evq_waiter *w;
};

struct evq_wait_ctlr {
	unsigned int lock;
	struct evq_link *links;
};

static void evq_wake(struct evq_waiter *w, bool timeout)
{
	struct uthread *u = w->u;
	bool run;

	vcore_pdr_lock(&w->lock);
	run = w->state == W_SLEEPING;
	w->state = W_WOKEN;
	if (timeout)
		w->timed_out = true;
	vcore_pdr_unlock(&w->lock);
	if (run)
		vcore_uthread_runnable(u);
}

static void evq_timeout(struct uth_timer *t)
{
	evq_wake((struct evq_waiter *)t, true);
}

static void evq_wakeup_handler(struct event_queue *ev_q)
{
	struct evq_wait_ctlr *c = (void *)(uintptr_t)READ_ONCE(ev_q->ev_udata);

	if (!c)
		return;
	vcore_pdr_lock(&c->lock);					/* H2 */
	for (struct evq_link *l = c->links; l; l = l->next)
		evq_wake(l->w, false);
	vcore_pdr_unlock(&c->lock);
}

int vcore_evq_attach_wakeup_ctlr(struct event_queue *ev_q)
{
	struct evq_wait_ctlr *c;

	if (READ_ONCE(ev_q->ev_handler))
		return -EBUSY;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	event_q_set_handler(ev_q, evq_wakeup_handler, c);
	fetch_or(&ev_q->ev_flags, (__u32)(EVENT_INDIR | EVENT_SPAM_INDIR |
					  EVENT_IPI | EVENT_WAKEUP));
	return 0;
}

void vcore_evq_remove_wakeup_ctlr(struct event_queue *ev_q)
{
	void *c = (void *)(uintptr_t)READ_ONCE(ev_q->ev_udata);

	WRITE_ONCE(ev_q->ev_handler, 0);
	WRITE_ONCE(ev_q->ev_udata, 0);
	free(c);
}

static void evq_block_cb(struct uthread *self, void *arg)
{
	struct evq_waiter *w = arg;
	bool woken;

	(void)self;
	vcore_pdr_lock(&w->lock);					/* W3 */
	woken = w->state == W_WOKEN;
	if (!woken)
		w->state = W_SLEEPING;
	vcore_pdr_unlock(&w->lock);
	if (woken)
		vcore_uthread_runnable(w->u);
}

static struct evq_wait_ctlr *ctlr_of(struct event_queue *ev_q)
{
	return (struct evq_wait_ctlr *)(uintptr_t)READ_ONCE(ev_q->ev_udata);
}

static void evq_links(struct event_queue **evqs, struct evq_link *links,
		      size_t nr, bool add)
{
	for (size_t i = 0; i < nr; i++) {
		struct evq_wait_ctlr *c = ctlr_of(evqs[i]);
		struct evq_link **p;

		vcore_pdr_lock(&c->lock);
		if (add) {
			links[i].next = c->links;
			c->links = &links[i];
		} else {
			for (p = &c->links; *p && *p != &links[i];
			     p = &(*p)->next)
				;
			if (*p)
				*p = links[i].next;
		}
		vcore_pdr_unlock(&c->lock);
	}
}

/*
 * The waiter (with timed, its timer) lives for the whole call: the timer
 * may fire between two rounds, and its WOKEN then ends the next block at
 * once.  A round starts again WAITING only while the timer has not fired
 * (under the waiter's lock, which the timer's function takes).
 */
static int blockon_evqs(struct event_msg *msg, struct event_queue **evqs,
			size_t nr, bool timed, uint64_t abs_ns)
{
	struct uthread *self = vcore_uthread_self();
	struct evq_link links[nr ? nr : 1];
	struct evq_waiter w = { .u = self };
	bool any, started = false, timed_out;
	int ret;

	if (!nr || !self || vcore_in_vcore_context())
		return -EINVAL;
	for (size_t i = 0; i < nr; i++)
		if (!ctlr_of(evqs[i]))
			return -EINVAL;
	if (timed) {
		ret = uth_timer_prepare();
		if (ret)
			return ret;
		w.t.deadline = abs_ns;
		w.t.fn = evq_timeout;
	}
	for (size_t i = 0; i < nr; i++)
		links[i].w = &w;
	for (;;) {
		/* consumers spin on their locks: no notification inside */
		vcore_uth_disable_notifs();
		for (size_t i = 0; i < nr; i++) {
			if (vcore_extract_one_mbox_msg(event_q_mbox(evqs[i]), msg)) {
				vcore_uth_enable_notifs();
				ret = (int)i;
				goto out;
			}
		}
		vcore_pdr_lock(&w.lock);
		timed_out = w.timed_out;
		if (!timed_out)
			w.state = W_WAITING;
		vcore_pdr_unlock(&w.lock);
		if (timed && (timed_out || vcore_alarm_now() >= abs_ns)) {
			vcore_uth_enable_notifs();
			uth_count_sleep(true);
			ret = -ETIMEDOUT;
			goto out;
		}
		if (timed && !started) {
			ret = uth_timer_start(&w.t);
			if (ret) {
				vcore_uth_enable_notifs();
				return ret;
			}
			started = true;
			uth_count_sleep(false);
		}
		evq_links(evqs, links, nr, true);		/* W1 */
		smp_mb();					/* W2 */
		any = false;
		for (size_t i = 0; i < nr; i++)
			any |= !vcore_mbox_is_empty(event_q_mbox(evqs[i]));
		if (any)
			vcore_uth_enable_notifs();
		else
			vcore_uthread_block(evq_block_cb, &w);	/* W3 */
		vcore_uth_disable_notifs();
		evq_links(evqs, links, nr, false);
		vcore_uth_enable_notifs();
	}
out:
	if (started)
		uth_timer_stop(&w.t);
	return ret;
}

int vcore_uth_blockon_evqs_arr(struct event_msg *msg, struct event_queue **evqs,
			 size_t nr)
{
	return blockon_evqs(msg, evqs, nr, false, 0);
}

int vcore_uth_blockon_evqs_timed(struct event_msg *msg,
				 struct event_queue **evqs, size_t nr,
				 uint64_t abs_ns)
{
	return blockon_evqs(msg, evqs, nr, true, abs_ns);
}
