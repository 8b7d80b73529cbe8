// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * vcore_pop_user_ctx() never loses a notification.
 *
 * One vcore runs a user context that spins for a random while and then
 * enters vcore context voluntarily; vcore context pops it straight back,
 * without handling events (only a notification or the pop's own check may
 * lead to vcore_handle_events()).  So the vcore flips notif_disabled millions of
 * times.  Meanwhile another thread sends numbered messages through the
 * kernel's core: mcp_post_vcore_event() into the private mbox (the
 * message, then notif_pending), then mcp_notify(): notif_pending, full
 * barrier, then a look at notif_disabled (NOTIF-1); clear means the IPI
 * (the fake's signal), set means none, and the message number is
 * published as skipped.
 *
 * The check, made by the user context while it spins with notifications
 * enabled: every skipped message has been handled.  The firer saw
 * notif_disabled set after its notif_pending store, so the vcore's enable
 * (U1) came after that read, and the pop's look at notif_pending (U3,
 * after U2) must have seen the message's flag: the pop went back to vcore
 * context and handled it before this context ran.  A pop without U3 fails
 * the check at once (the negative control, test_pop_race_broken, built
 * from vcore_entry.S with VCORE_BROKEN_POP_NO_CHECK).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "barrier.h"
#include "event.h"
#include "internal.h"
#include "fake_kernel.h"
#include "lib/kernel_side.h"
#include "tap.h"
#include "vcore_ctx.h"

#define USTACK_SIZE	(256 * 1024)
#define IN_FLIGHT	4		/* messages the firer lets be unhandled */
#define MIN_SECS	1.0
/* posts go through the harness's hooked core: slow under ASan and load */
#define MAX_SECS	30.0
#define HARD_SECS	90.0		/* under tap_start()'s alarm */
/* a reordered store shows only while both threads run at once */
#define BROKEN_MAX_SECS	80.0
#define WANT_POPS	1000000UL
#define WANT_SKIPS	10000UL
#define FLOOR_POPS	(WANT_POPS / 4)
#define FLOOR_SKIPS	(WANT_SKIPS / 10)

/*
 * The negative controls (BROKEN: linked with a pop built without U2 or
 * without U3) run until the first violation, for up to BROKEN_MAX_SECS (on
 * a loaded machine the two threads seldom run at the same time, which the
 * missing barrier needs to show); the test proper until it has
 * done enough pops and skipped signals, or for MAX_SECS once it has done
 * the floors.  A loaded machine takes longer to reach the floors, up to
 * HARD_SECS.
 */
#ifdef BROKEN
#define EXPECT_VIOLATIONS	1
#else
#define EXPECT_VIOLATIONS	0
#endif

static struct vcore_dev dev;

/* the vcore's */
static struct vcore_user_ctx uctx;
static void *ufp;
static char *ustack_top;
static int user_live;
static unsigned long handled_max;	/* highest message handled */
static unsigned long pops, notifies, checks, violations;
static unsigned long first_violation;

/* the firer's, read by the vcore */
static unsigned long skip_max;		/* highest message not signalled */
static unsigned int stop, done;

static void msg_handler(struct event_msg *m, unsigned int t, void *d)
{
	(void)t;
	(void)d;
	/* messages come in order (one UCQ, one producer) */
	if (m->ev_arg3 > handled_max)
		WRITE_ONCE(handled_max, m->ev_arg3);
}

static void back(void *arg)
{
	(void)arg;
	pops++;
	vcore_pop_user_ctx(&uctx, ufp);
}

static void finish(void *arg)
{
	(void)arg;
	user_live = 0;
	smp_store_release(&done, 1);
	for (;;)
		vcore_yield(false);
}

/* xorshift, per context */
static unsigned long rnd(unsigned long *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void user_main(void)
{
	unsigned long x = 0x9e3779b97f4a7c15UL;

	while (!READ_ONCE(stop)) {
		unsigned long n = rnd(&x) % 16;

		for (unsigned long i = 0; i <= n; i++) {
			unsigned long s = smp_load_acquire(&skip_max);

			checks++;
			if (s > READ_ONCE(handled_max)) {
				if (!violations++)
					first_violation = s;
				/* handle it, or every later check fails too */
				vcore_disable_notifs(0);
				vcore_handle_events(&dev, 0);
				vcore_enable_notifs(0);
			}
			cpu_relax();
		}
		vcore_disable_notifs(0);
		vcore_save_ctx_and_call(&uctx, back, NULL);
	}
	vcore_disable_notifs(0);
	vcore_save_ctx_and_call(NULL, finish, NULL);
}

static void hook(void)
{
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(0);

	if (vcore_entry_reason() == VCORE_ENTRY_NOTIFY) {
		notifies++;
		vcore_handle_events(&dev, 0);
		if (user_live)
			vcore_pop_user_ctx(&vcpd->uthread_ctx, ufp);
		return;
	}
	vcore_handle_events(&dev, 0);
	if (!user_live && !READ_ONCE(done)) {
		vcore_init_sw_ctx(&uctx, user_main, ustack_top);
		user_live = 1;
		vcore_pop_user_ctx(&uctx, ufp);
	}
}

static bool enough(double t0, unsigned long skips)
{
	double t = now_s() - t0;

	if (t >= HARD_SECS)
		return true;
	if (EXPECT_VIOLATIONS)
		return READ_ONCE(violations) > 0 || t >= BROKEN_MAX_SECS;
	if (t >= MAX_SECS)
		return READ_ONCE(pops) >= FLOOR_POPS && skips >= FLOOR_SKIPS;
	return t >= MIN_SECS && READ_ONCE(pops) >= WANT_POPS &&
	       skips >= WANT_SKIPS;
}

static void race(void)
{
	struct event_msg msg = { .ev_type = EV_ALARM };
	unsigned long seq = 0, ipis = 0, skips = 0;
	unsigned long x = 88172645463325252UL;
	struct fake_stats st0, st;
	double t0;

	fake_get_stats(&st0);
	/* 0 if the vcore has not attached yet: ATTACH grants then */
	expect(vcore_request_total(1) >= 0);
	t0 = now_s();
	while (!enough(t0, skips)) {
		unsigned int spins = 0;

		/* bounded: the vcore handles them as it is told */
		while (seq - READ_ONCE(handled_max) >= IN_FLIGHT &&
		       now_s() - t0 < HARD_SECS)
			spin_relax(&spins);
		msg.ev_arg3 = ++seq;
		/* NOTIF-2: the message, then notif_pending */
		expect(ks_post_vcore_event(&msg, 0, EVENT_VCORE_PRIVATE));
		/* NOTIF-1: notif_pending, full barrier, notif_disabled */
		if (fake_notify(0)) {
			ipis++;
		} else {
			smp_store_release(&skip_max, seq);
			skips++;
		}
		for (unsigned long i = rnd(&x) % 256; i; i--)
			cpu_relax();
	}
	WRITE_ONCE(stop, 1);
	while (!smp_load_acquire(&done))
		sched_yield();
	fake_get_stats(&st);
	diag("%.1f s: %lu pops, %lu notified entries, %lu checks; "
	     "%lu messages: %lu signalled, %lu skipped (notifs disabled); "
	     "%lu pops went back (SELF_NOTIFY); %lu violations "
	     "(first: message %lu)", now_s() - t0, pops, notifies, checks,
	     seq, ipis, skips, st.self_notifies - st0.self_notifies,
	     violations, first_violation);
	if (EXPECT_VIOLATIONS) {
		expect(violations > 0);
	} else {
		expect_eq(violations, 0);
		expect(pops >= FLOOR_POPS);
		expect(skips >= FLOOR_SKIPS);
		expect(st.self_notifies - st0.self_notifies > 0);
	}
}

#ifdef BROKEN
TEST(the_check_catches_a_pop_without_its_barrier_or_check)
{
	race();
}
#else
TEST(pop_never_loses_a_notification)
{
	race();
}
#endif

int main(void)
{
	void *stk;
	int err;

	tap_start(120);
	err = ks_init(1, 256);
	if (!err)
		err = fake_kernel_init(&dev, 1, 1);
	if (!err)
		err = vcore_vcpd_mboxes_init(&dev);
	if (!err)
		err = vcore_register_ev_handler(EV_ALARM, msg_handler, NULL);
	if (!err)
		err = vcore_lib_init(&dev, hook);
	stk = mmap(NULL, USTACK_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ufp = vcore_fp_alloc();
	if (err || stk == MAP_FAILED || !ufp) {
		printf("Bail out! setup: %d\n", err);
		return 1;
	}
	ustack_top = (char *)stk + USTACK_SIZE;
#ifdef BROKEN
	RUN(the_check_catches_a_pop_without_its_barrier_or_check);
#else
	RUN(pop_never_loses_a_notification);
#endif
	return tap_done();
}
