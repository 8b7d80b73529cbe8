// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The alarm service's bookkeeping (libvcore/alarm.c, included here) with
 * the module played by a fake ioctl that keeps the set of live kernel
 * alarms: every arming ends exactly once, by the handler or by an unset,
 * however the two race; a stale expiry (of an earlier arming, or after an
 * unset) never runs a function; slots and kernel alarms are all given
 * back.
 *
 *	test_alarm [rounds]
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <linux/vcore.h>

#include "tap.h"

/* The module: live alarm ids, and what was asked of it. */
#define FAKE_MAX	4096
static uint32_t live[FAKE_MAX];
static unsigned int nr_live, sets, cancels;
static int fail_next_set;
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;

static int live_find(uint32_t id)
{
	unsigned int i;

	for (i = 0; i < nr_live; i++)
		if (live[i] == id)
			return i;
	return -1;
}

static int fake_ioctl(int fd, unsigned long cmd, ...)
{
	va_list ap;
	void *arg;
	int i, ret = 0;

	(void)fd;
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	pthread_mutex_lock(&fake_lock);
	if (cmd == VCORE_IOC_ALARM_SET) {
		struct vcore_alarm *a = arg;

		if (fail_next_set) {
			fail_next_set = 0;
			errno = ENOSPC;
			ret = -1;
		} else if (live_find(a->id) < 0 && nr_live < FAKE_MAX) {
			live[nr_live++] = a->id;
			sets++;
		}
	} else if (cmd == VCORE_IOC_ALARM_CANCEL) {
		struct vcore_alarm_cancel *c = arg;

		i = live_find(c->id);
		if (i < 0) {
			errno = ENOENT;
			ret = -1;
		} else {
			live[i] = live[--nr_live];
			cancels++;
		}
	}
	pthread_mutex_unlock(&fake_lock);
	return ret;
}

#define ioctl fake_ioctl
#include "../alarm.c"
#undef ioctl

static struct vcore_dev dev;
static struct event_queue fake_evq;
static unsigned long ran;

static void count_run(struct vcore_alarm_waiter *w)
{
	(void)w;
	__atomic_fetch_add(&ran, 1, __ATOMIC_RELAXED);
}

static void fire(uint32_t id)
{
	struct event_msg m = { .ev_type = EV_ALARM, .ev_arg3 = id };

	handle_alarm(&m, EV_ALARM, NULL);
}

static unsigned int slots_used(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < VCORE_ALARM_SLOTS / 64; i++)
		n += __builtin_popcountll(svc.used[i]);
	return n;
}

static void setup(void)
{
	unsigned int v;

	dev.api.max_vcores = 4;
	svc.dev = &dev;
	svc.ev_q = &fake_evq;
	for (v = 0; v < 4; v++)
		svc.vc_evq[v] = &fake_evq;
	svc.state = SVC_READY;
}

TEST(fire_runs_once_and_frees_everything)
{
	struct vcore_alarm_waiter w;
	uint32_t id;

	ran = 0;
	vcore_init_awaiter(&w, count_run);
	vcore_set_awaiter_rel(&w, 1000);
	expect_eq(vcore_set_alarm(&w), 0);
	expect_eq(vcore_set_alarm(&w), -EBUSY);
	id = w.id;
	expect_eq(nr_live, 1);
	fire(id);
	fire(id);
	expect_eq(ran, 1);
	expect_eq(nr_live, 0);
	expect_eq(slots_used(), 0);
	/* fired: not armed, unset says so */
	expect(!vcore_unset_alarm(&w));
	/* and a stale expiry after a new arming runs nothing */
	expect_eq(vcore_set_alarm(&w), 0);
	expect(w.id != id);
	fire(id);
	expect_eq(ran, 1);
	expect(vcore_unset_alarm(&w));
	fire(w.id);
	expect_eq(ran, 1);
	expect_eq(nr_live, 0);
	expect_eq(slots_used(), 0);
}

TEST(errors_leave_nothing_behind)
{
	struct vcore_alarm_waiter w;

	vcore_init_awaiter(&w, count_run);
	expect_eq(vcore_set_pvc_alarm(&w, 4, false), -EINVAL);
	fail_next_set = 1;
	expect_eq(vcore_set_alarm(&w), -ENOSPC);
	expect_eq(slots_used(), 0);
	expect(!vcore_unset_alarm(&w));
	expect_eq(vcore_set_pvc_alarm(&w, 3, true), 0);
	expect_eq(w.flags, VCORE_ALARM_VCORE | VCORE_ALARM_WALL);
	/* reset keeps it per-vcore */
	expect(vcore_reset_alarm_abs(&w, 5));
	expect_eq(w.flags, VCORE_ALARM_VCORE | VCORE_ALARM_WALL);
	expect_eq(w.vcoreid, 3);
	expect_eq(w.wake_up_time, 5);
	expect(vcore_unset_alarm(&w));
	expect_eq(nr_live, 0);
	expect_eq(slots_used(), 0);
}

TEST(slots_run_out_and_come_back)
{
	static struct vcore_alarm_waiter w[VCORE_ALARM_SLOTS + 1];
	unsigned int i;

	for (i = 0; i < VCORE_ALARM_SLOTS; i++) {
		vcore_init_awaiter(&w[i], count_run);
		expect_eq(vcore_set_alarm(&w[i]), 0);
	}
	vcore_init_awaiter(&w[i], count_run);
	expect_eq(vcore_set_alarm(&w[i]), -ENOSPC);
	expect(vcore_unset_alarm(&w[7]));
	expect_eq(vcore_set_alarm(&w[i]), 0);
	for (i = 0; i <= VCORE_ALARM_SLOTS; i++)
		if (i != 7)
			expect(vcore_unset_alarm(&w[i]));
	expect_eq(nr_live, 0);
	expect_eq(slots_used(), 0);
}

/* The handler on one thread, unset on another: exactly one ends it. */
static struct vcore_alarm_waiter race_w;
static uint32_t race_id;
static volatile int race_go, race_done;
static unsigned long handler_won;

static void *race_handler(void *arg)
{
	unsigned int seen = 0;

	(void)arg;
	while (!__atomic_load_n(&race_done, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) == (int)seen + 1) {
			unsigned long before = ran;

			fire(__atomic_load_n(&race_id, __ATOMIC_ACQUIRE));
			handler_won += ran != before;
			seen++;
			__atomic_store_n(&race_go, -(int)seen, __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

TEST(handler_and_unset_race_one_winner)
{
	unsigned int rounds = UNDER_TSAN ? 2000 : 20000, r, unset_won = 0;
	pthread_t t;

	ran = 0;
	handler_won = 0;
	vcore_init_awaiter(&race_w, count_run);
	pthread_create(&t, NULL, race_handler, NULL);
	for (r = 1; r <= rounds; r++) {
		expect_eq(vcore_set_alarm(&race_w), 0);
		__atomic_store_n(&race_id, race_w.id, __ATOMIC_RELEASE);
		__atomic_store_n(&race_go, (int)r, __ATOMIC_RELEASE);
		unset_won += vcore_unset_alarm(&race_w);
		while (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) != -(int)r)
			;
	}
	__atomic_store_n(&race_done, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	expect_eq(unset_won + handler_won, rounds);
	expect_eq(ran, handler_won);
	expect_eq(nr_live, 0);
	expect_eq(slots_used(), 0);
	diag("%u rounds: unset won %u, the handler %lu", rounds, unset_won,
	     handler_won);
}

int main(void)
{
	tap_start(120);
	setup();
	RUN(fire_runs_once_and_frees_everything);
	RUN(errors_leave_nothing_behind);
	RUN(slots_run_out_and_come_back);
	RUN(handler_and_unset_race_one_winner);
	return tap_done();
}
