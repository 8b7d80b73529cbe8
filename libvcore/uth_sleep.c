// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Sleeps and timed waits for uthreads: timers on one alarm of the alarm
 * service (vcore_alarm.h), armed for the earliest deadline.
 *
 * The timers are a doubly linked list in deadline order (insertion walks
 * from the latest end: O(n) in the timers armed, which are at most the
 * uthreads), under tlock, a vcore_pdr_lock taken with notifications off.
 * Nothing here allocates: timers live in their owners' frames, and
 * uth_timer_start() runs in vcore context (block callbacks).
 *
 * The alarm.  armed says the waiter was armed for armed_at and its
 * function has not yet taken tlock since; it may have fired meanwhile.
 * Under tlock, rearm() makes it fire no later than the head's deadline:
 * if it is armed for that or earlier, nothing; else unset it (a fired one
 * stays fired: its function still comes) and arm it anew.  The function
 * clears armed (which may be the new arming's: then the next rearm()
 * unsets that one first), takes the expired timers off, and calls
 * rearm() for the rest.
 * A timer expires when vcore_alarm_now() has reached its deadline, never
 * merely because the alarm fired.
 *
 * A timer's end (uthread_internal.h): the function moves it QUEUED ->
 * FIRING under tlock, calls fn without tlock, and stores DONE with
 * release as its last touch; uth_timer_stop() takes a QUEUED timer off
 * under tlock, or waits for DONE, so that the owner's frame outlives
 * every use.
 *
 * Lock order: a wait object's lock (uth_sync.c), then tlock, then the
 * alarm service's (which takes none).  fn runs with no tlock held and
 * takes wait objects' locks.
 */
#include <errno.h>
#include <time.h>

#include "vcore_alarm.h"
#include "vcore_ctx.h"
#include "uthread.h"
#include "uthread_internal.h"

static struct {
	unsigned int lock;
	struct uth_timer *head, *tail;	/* earliest first */
	bool armed;
	uint64_t armed_at;
	struct vcore_alarm_waiter waiter;
} tq;

static void sleep_alarm(struct vcore_alarm_waiter *w);

/* tlock held. */
static int rearm(void)
{
	struct uth_timer *t = tq.head;
	int err;

	if (!t || (tq.armed && tq.armed_at <= t->deadline))
		return 0;
	/*
	 * Whatever its last arming did (it may be armed although the
	 * function of an earlier one cleared armed), that ends it.
	 */
	if (tq.waiter.func)
		vcore_unset_alarm(&tq.waiter);
	else
		vcore_init_awaiter(&tq.waiter, sleep_alarm);
	tq.armed = false;
	vcore_set_awaiter_abs(&tq.waiter, t->deadline);
	err = vcore_set_alarm(&tq.waiter);
	if (err)
		return err;
	tq.armed = true;
	tq.armed_at = t->deadline;
	return 0;
}

static void unlink_timer(struct uth_timer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		tq.head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		tq.tail = t->prev;
	t->prev = t->next = NULL;
}

/* The alarm's function: vcore context. */
static void sleep_alarm(struct vcore_alarm_waiter *w)
{
	struct uth_timer *fired = NULL, **last = &fired, *t, *next;
	uint64_t now = vcore_alarm_now();

	(void)w;
	vcore_pdr_lock(&tq.lock);
	tq.armed = false;
	/* in deadline order: they become runnable in it */
	while ((t = tq.head) && t->deadline <= now) {
		unlink_timer(t);
		WRITE_ONCE(t->state, UTH_TIMER_FIRING);
		*last = t;
		last = &t->next;
	}
	/*
	 * If the module refuses now, the timers left wait for the next
	 * uth_timer_start() to arm again; there is no one to tell.
	 */
	rearm();
	vcore_pdr_unlock(&tq.lock);
	for (t = fired; t; t = next) {
		next = t->next;
		t->fn(t);
		smp_store_release(&t->state, UTH_TIMER_DONE);
	}
}

int uth_timer_prepare(void)
{
	struct vcore_dev *d = vcore_lib_dev();

	if (!d)
		return -ENXIO;
	return vcore_alarm_service_init(d);
}

int uth_timer_start(struct uth_timer *t)
{
	struct uth_timer *p;
	int err;

	t->state = UTH_TIMER_QUEUED;
	vcore_pdr_lock(&tq.lock);
	for (p = tq.tail; p && p->deadline > t->deadline; p = p->prev)
		;
	t->prev = p;
	t->next = p ? p->next : tq.head;
	if (t->next)
		t->next->prev = t;
	else
		tq.tail = t;
	if (p)
		p->next = t;
	else
		tq.head = t;
	err = rearm();
	if (err) {
		unlink_timer(t);
		t->state = UTH_TIMER_IDLE;
	}
	vcore_pdr_unlock(&tq.lock);
	return err;
}

bool uth_timer_stop(struct uth_timer *t)
{
	bool removed = false;

	vcore_uth_disable_notifs();
	vcore_pdr_lock(&tq.lock);
	if (READ_ONCE(t->state) == UTH_TIMER_QUEUED) {
		unlink_timer(t);
		t->state = UTH_TIMER_IDLE;
		removed = true;
	}
	vcore_pdr_unlock(&tq.lock);
	vcore_uth_enable_notifs();
	/* its fn runs on another vcore, briefly; it may be ours, preempted */
	while (smp_load_acquire(&t->state) == UTH_TIMER_FIRING) {
		if (vcore_uthread_self())
			vcore_uthread_yield();
		else
			cpu_relax();
	}
	return removed;
}

void uth_timers_state(uint64_t *head, bool *armed, uint64_t *armed_at,
		      uint32_t *alarm_id)
{
	struct uth_timer *t = READ_ONCE(tq.head);

	*head = t ? READ_ONCE(t->deadline) : 0;
	*armed = READ_ONCE(tq.armed);
	*armed_at = READ_ONCE(tq.armed_at);
	*alarm_id = READ_ONCE(tq.waiter.id);
}

void uth_timers_forget(void)
{
	tq.lock = 0;
	tq.head = tq.tail = NULL;
	tq.armed = false;
	tq.waiter.func = NULL;
}

/* ---- Sleeps ------------------------------------------------------------ */

struct sleeper {
	struct uth_timer t;
	struct uthread *u;
	int err;
};

static void sleeper_wake(struct uth_timer *t)
{
	struct sleeper *s = (struct sleeper *)t;

	vcore_uthread_runnable(s->u);
}

static void sleep_cb(struct uthread *self, void *arg)
{
	struct sleeper *s = arg;

	(void)self;
	s->err = uth_timer_start(&s->t);
	if (s->err)
		vcore_uthread_runnable(s->u);
}

static int sleep_plain(uint64_t abs_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(abs_ns / 1000000000ULL),
		.tv_nsec = (long)(abs_ns % 1000000000ULL),
	};
	int err;

	do {
		err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	} while (err == EINTR);
	return -err;
}

int vcore_uthread_sleep_until(uint64_t abs_ns)
{
	struct uthread *self = vcore_uthread_self();
	struct sleeper s = { .t = { .deadline = abs_ns, .fn = sleeper_wake },
			     .u = self };
	int err;

	if (vcore_in_vcore_context())
		return -EINVAL;
	if (!self)
		return sleep_plain(abs_ns);
	if (vcore_alarm_now() >= abs_ns)
		return 0;
	err = uth_timer_prepare();
	if (err)
		return err;
	uth_count_sleep(false);
	vcore_uthread_block(sleep_cb, &s);
	/* woken by the timer, or by a failed start */
	uth_timer_stop(&s.t);
	return s.err;
}

int vcore_uthread_sleep_ns(uint64_t ns)
{
	uint64_t now = vcore_alarm_now();

	return vcore_uthread_sleep_until(ns > UINT64_MAX - now ? UINT64_MAX :
					 now + ns);
}
