// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Uthreads on three fake vcores: create, yield, join (from a uthread and
 * from a plain thread), mutex, condition variable, blocking on two ev_qs
 * fed by the fake kernel, all while a thread keeps notifying the vcores;
 * uthreads keep every register across notifications; a uthread on a
 * preempted vcore is stolen by another vcore and goes on, registers
 * intact.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "barrier.h"
#include "event.h"
#include "lib/kernel_side.h"
#include "fake_kernel.h"
#include "internal.h"
#include "lib/hooks.h"
#include "tap.h"
#include "uthread.h"
#include "vcore_ctx.h"

unsigned long regs_torture(unsigned long rounds, unsigned long spin,
			   unsigned long mode, unsigned long *badmask);

#define NR_VCORES	3

static struct vcore_dev dev;

/* ---- the notifier: a kernel thread that keeps notifying vcores -------- */

static unsigned int notifier_on, notifier_quit;
static unsigned long notifier_sent;

static void *notifier(void *arg)
{
	struct event_msg msg = { .ev_type = EV_FREE_APPLE_PIE };
	unsigned long x = 0x2545f4914f6cdd1dUL;

	(void)arg;
	while (!READ_ONCE(notifier_quit)) {
		unsigned int v;

		if (!READ_ONCE(notifier_on)) {
			usleep(1000);
			continue;
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (unsigned int)(x % NR_VCORES);
		if (fake_vcore_online(v) && !fake_send_vc_msg(v, false, &msg))
			notifier_sent++;
		usleep(20);
	}
	return NULL;
}

/* Which vcores ran uthreads: a bit per vcore. */
static unsigned int vcores_seen;

static void seen(void)
{
	unsigned int v = vcore_id();

	if (v < 32)
		fetch_or(&vcores_seen, 1U << v);
}

/* ---- create, yield, join --------------------------------------------- */

#define NR_YIELDERS	16
#define NR_YIELDS	200

static unsigned long yields_done[NR_YIELDERS];
static unsigned int bad_ctx;

static void *yielder(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	double t0 = now_s();

	/*
	 * At least NR_YIELDS, and until two vcores have run some (the
	 * Linux scheduler decides when the other vcore threads run).
	 */
	for (int k = 0; k < NR_YIELDS ||
	     (__builtin_popcount(READ_ONCE(vcores_seen)) < 2 &&
	      now_s() - t0 < 5.0); k++) {
		if (vcore_in_vcore_context() || vcore_uthread_self() == NULL)
			bad_ctx++;
		seen();
		yields_done[i]++;
		vcore_uthread_yield();
	}
	return (void *)(i * 2 + 1);
}

TEST(uthreads_yield_and_join_across_vcores)
{
	struct uthread *u[NR_YIELDERS];
	void *ret;

	WRITE_ONCE(vcores_seen, 0);
	for (uintptr_t i = 0; i < NR_YIELDERS; i++) {
		u[i] = vcore_uthread_create(yielder, (void *)i);
		expect(u[i] != NULL);
	}
	for (uintptr_t i = 0; i < NR_YIELDERS; i++) {
		expect_eq(vcore_uthread_join(u[i], &ret), 0);
		expect(ret == (void *)(i * 2 + 1));
		expect(yields_done[i] >= NR_YIELDS);
	}
	expect_eq(bad_ctx, 0);
	diag("vcores that ran uthreads: %#x", READ_ONCE(vcores_seen));
	expect(__builtin_popcount(READ_ONCE(vcores_seen)) >= 2);
}

/* A uthread joins others: it blocks, and the exit wakes it. */
static void *child(void *arg)
{
	for (int k = 0; k < 10; k++)
		vcore_uthread_yield();
	return arg;
}

static void *parent(void *arg)
{
	struct uthread *c[8];
	uintptr_t sum = 0;
	void *r;

	(void)arg;
	for (uintptr_t i = 0; i < 8; i++)
		c[i] = vcore_uthread_create(child, (void *)(i + 1));
	for (int i = 0; i < 8; i++) {
		if (vcore_uthread_join(c[i], &r))
			return NULL;
		sum += (uintptr_t)r;
	}
	return (void *)sum;
}

TEST(a_uthread_joins_uthreads)
{
	struct uthread *p = vcore_uthread_create(parent, NULL);
	void *r;

	expect_eq(vcore_uthread_join(p, &r), 0);
	expect(r == (void *)36);
}

/* ---- mutex ------------------------------------------------------------ */

#define NR_LOCKERS	8
#define NR_LOCKS	400

static struct uth_mutex mtx = UTH_MUTEX_INIT;
static unsigned long counter, trylocks;

static void *locker(void *arg)
{
	(void)arg;
	for (int k = 0; k < NR_LOCKS; k++) {
		unsigned long c;

		if (k % 16 == 0 && vcore_uth_mutex_trylock(&mtx))
			trylocks++;
		else
			vcore_uth_mutex_lock(&mtx);
		c = counter;
		/* hold it across a switch now and then */
		if (k % 4 == 0)
			vcore_uthread_yield();
		counter = c + 1;
		vcore_uth_mutex_unlock(&mtx);
		if (k % 3 == 0)
			vcore_uthread_yield();
	}
	return NULL;
}

TEST(a_mutex_serialises_uthreads_on_several_vcores)
{
	struct uthread *u[NR_LOCKERS];

	counter = 0;
	WRITE_ONCE(notifier_on, 1);
	for (int i = 0; i < NR_LOCKERS; i++)
		u[i] = vcore_uthread_create(locker, NULL);
	for (int i = 0; i < NR_LOCKERS; i++)
		expect_eq(vcore_uthread_join(u[i], NULL), 0);
	WRITE_ONCE(notifier_on, 0);
	expect_eq(counter, NR_LOCKERS * NR_LOCKS);
	diag("%lu by trylock", trylocks);
}

/* ---- condition variable ------------------------------------------------ */

#define NR_PROD		3
#define NR_CONS		3
#define NR_ITEMS	300	/* per producer */
#define RING		4

static struct uth_mutex ring_mtx = UTH_MUTEX_INIT;
static struct uth_cond_var not_full = UTH_COND_VAR_INIT;
static struct uth_cond_var not_empty = UTH_COND_VAR_INIT;
static unsigned long ring[RING], ring_head, ring_tail;
static unsigned long consumed_sum, consumed_nr;
static unsigned int producers_left;

static void *producer(void *arg)
{
	uintptr_t p = (uintptr_t)arg;

	for (unsigned long k = 1; k <= NR_ITEMS; k++) {
		vcore_uth_mutex_lock(&ring_mtx);
		while (ring_head - ring_tail == RING)
			vcore_uth_cond_var_wait(&not_full, &ring_mtx);
		ring[ring_head++ % RING] = p * 1000000 + k;
		vcore_uth_cond_var_signal(&not_empty);
		vcore_uth_mutex_unlock(&ring_mtx);
	}
	vcore_uth_mutex_lock(&ring_mtx);
	if (!--producers_left)
		vcore_uth_cond_var_broadcast(&not_empty);
	vcore_uth_mutex_unlock(&ring_mtx);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	vcore_uth_mutex_lock(&ring_mtx);
	for (;;) {
		while (ring_head == ring_tail && producers_left)
			vcore_uth_cond_var_wait(&not_empty, &ring_mtx);
		if (ring_head == ring_tail)
			break;
		consumed_sum += ring[ring_tail++ % RING];
		consumed_nr++;
		vcore_uth_cond_var_signal(&not_full);
		if (consumed_nr % 7 == 0) {
			vcore_uth_mutex_unlock(&ring_mtx);
			vcore_uthread_yield();
			vcore_uth_mutex_lock(&ring_mtx);
		}
	}
	vcore_uth_mutex_unlock(&ring_mtx);
	return NULL;
}

TEST(condition_variables_pass_every_item_once)
{
	struct uthread *u[NR_PROD + NR_CONS];
	unsigned long want = 0;

	producers_left = NR_PROD;
	WRITE_ONCE(notifier_on, 1);
	for (uintptr_t i = 0; i < NR_CONS; i++)
		u[i] = vcore_uthread_create(consumer, NULL);
	for (uintptr_t i = 0; i < NR_PROD; i++)
		u[NR_CONS + i] = vcore_uthread_create(producer, (void *)(i + 1));
	for (int i = 0; i < NR_PROD + NR_CONS; i++)
		expect_eq(vcore_uthread_join(u[i], NULL), 0);
	WRITE_ONCE(notifier_on, 0);
	for (unsigned long p = 1; p <= NR_PROD; p++)
		want += p * 1000000 * NR_ITEMS + NR_ITEMS * (NR_ITEMS + 1) / 2;
	expect_eq(consumed_nr, NR_PROD * NR_ITEMS);
	expect_eq(consumed_sum, want);
}

/* ---- blocking on ev_qs ------------------------------------------------- */

#define NR_EV_MSGS	2000

static struct event_queue *evq[2];
static unsigned long got[2], order_bad;

static void *evq_waiter(void *arg)
{
	struct event_msg msg;
	unsigned long next[2] = { 1, 1 };

	(void)arg;
	while (got[0] + got[1] < NR_EV_MSGS) {
		int i = vcore_uth_blockon_evqs_arr(&msg, evq, 2);

		if (i < 0)
			return NULL;
		if (msg.ev_arg3 != next[i])
			order_bad++;
		next[i] = msg.ev_arg3 + 1;
		got[i]++;
	}
	return NULL;
}

TEST(a_uthread_blocks_on_two_ev_qs_until_either_has_a_message)
{
	unsigned long seq[2] = { 0, 0 }, x = 1234567;
	uint64_t drops0 = ks_dropped();
	struct uthread *u;

	for (int i = 0; i < 2; i++) {
		evq[i] = vcore_get_eventq(EV_MBOX_UCQ);
		expect(evq[i] != NULL);
		evq[i]->ev_vcore = (__u32)i;
		evq[i]->ev_flags = EVENT_WAKEUP;
		expect_eq(vcore_evq_attach_wakeup_ctlr(evq[i]), 0);
		expect(evq[i]->ev_flags & EVENT_INDIR);
	}
	u = vcore_uthread_create(evq_waiter, NULL);
	for (int k = 0; k < NR_EV_MSGS; k++) {
		struct event_msg m = { .ev_type = EV_USER_IPI };
		int i;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = (int)(x & 1);
		m.ev_arg3 = ++seq[i];
		fake_send_event(evq[i], &m);
		/* now and then let the waiter catch up and sleep */
		if (x % 8 == 0)
			usleep(100);
	}
	expect_eq(vcore_uthread_join(u, NULL), 0);
	expect_eq(got[0], seq[0]);
	expect_eq(got[1], seq[1]);
	expect_eq(order_bad, 0);
	expect_eq(ks_dropped(), drops0);
	for (int i = 0; i < 2; i++) {
		vcore_evq_remove_wakeup_ctlr(evq[i]);
		vcore_put_eventq(evq[i]);
	}
}

/* SEND_EVENT as the module's: a bad ev_q is -EFAULT, and one drop. */
TEST(send_event_to_an_ev_q_outside_the_regions_is_efault)
{
	struct vcore_send_event se = { .ev_q = 0x1000,
				       .msg = { .ev_type = EV_FREE_APPLE_PIE } };
	uint64_t drops0 = ks_dropped();

	expect_eq(ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se), -1);
	expect_eq(errno, EFAULT);
	expect_eq(ks_dropped(), drops0 + 1);
}

/* ---- registers, notifications and preemption -------------------------- */

#define NR_TORTURERS	4

static unsigned long torture_bad, torture_mask, torture_rounds;
static unsigned int torture_stop;

static void *torturer(void *arg)
{
	unsigned long mask = 0, mode = (uintptr_t)arg;

	while (!READ_ONCE(torture_stop)) {
		fetch_add(&torture_bad, regs_torture(50, 2000, mode, &mask));
		fetch_add(&torture_rounds, 50);
		seen();
		vcore_uthread_yield();
	}
	fetch_or(&torture_mask, mask);
	return NULL;
}

static unsigned long vector_mode(void)
{
	unsigned int lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 0xe6) == 0xe6 && __builtin_cpu_supports("avx512f"))
		return 2;
	return (lo & 6) == 6 && __builtin_cpu_supports("avx") ? 1 : 0;
}

static void run_torturers(double secs, bool preempt, unsigned long *preempts)
{
	struct uthread *u[NR_TORTURERS];
	double t0 = now_s();
	unsigned int v = 0;

	torture_stop = 0;
	torture_bad = torture_mask = torture_rounds = 0;
	for (int i = 0; i < NR_TORTURERS; i++)
		u[i] = vcore_uthread_create(torturer, (void *)vector_mode());
	WRITE_ONCE(notifier_on, 1);
	while (now_s() - t0 < secs) {
		if (preempt) {
			v = (v + 1) % NR_VCORES;
			if (!fake_preempt(v))
				(*preempts)++;
			usleep(2000);
			/* the kernel grants it again on the next poke */
			vcore_request_more(0);
		} else {
			usleep(10000);
		}
	}
	WRITE_ONCE(torture_stop, 1);
	for (int i = 0; i < NR_TORTURERS; i++)
		expect_eq(vcore_uthread_join(u[i], NULL), 0);
	WRITE_ONCE(notifier_on, 0);
}

TEST(uthreads_keep_their_registers_across_notifications)
{
	struct fake_stats st0, st;

	fake_get_stats(&st0);
	run_torturers(1.0, false, NULL);
	fake_get_stats(&st);
	diag("%lu rounds, %lu bad (%#lx), %lu notifications entered",
	     torture_rounds, torture_bad, torture_mask,
	     st.notified - st0.notified);
	expect_eq(torture_bad, 0);
	expect(torture_rounds > 0);
	expect(st.notified - st0.notified > 0);
}

static void preempt_run(const char *what, struct uthread_stats *d)
{
	struct uthread_stats us0, us;
	unsigned long preempts = 0;

	vcore_uthread_get_stats(&us0);
	/*
	 * A steal needs a preemption to land while its vcore runs a
	 * uthread, not vcore context: on a loaded machine 1.5 s may see
	 * none, so go on (up to 30 s) until one did.
	 */
	for (int round = 0; round < 20; round++) {
		run_torturers(1.5, true, &preempts);
		vcore_uthread_get_stats(&us);
		if (torture_bad || us.steals != us0.steals)
			break;
	}
	d->steals = us.steals - us0.steals;
	d->changes = us.changes - us0.changes;
	d->change_fallbacks = us.change_fallbacks - us0.change_fallbacks;
	diag("%s: %lu preemptions: %lu uthreads stolen, %lu mboxes drained, "
	     "%lu CHANGE_VCORE, %lu fallbacks (asked for vcores instead); "
	     "%lu rounds, %lu bad (%#lx)", what, preempts, d->steals,
	     us.remote_drains - us0.remote_drains, d->changes,
	     d->change_fallbacks, torture_rounds, torture_bad, torture_mask);
	expect_eq(torture_bad, 0);
	expect(preempts > 0);
	expect(d->steals > 0);
}

TEST(a_preempted_vcores_uthread_is_stolen_and_goes_on)
{
	struct fake_stats f0, f;
	struct uthread_stats d;

	fake_get_stats(&f0);
	preempt_run("with CHANGE_VCORE", &d);
	/* a few may still fall back: not while our own uthread is stolen */
	expect(d.changes > 0);
	/*
	 * A recovering vcore's reminder to itself goes to its public mbox
	 * (Akaros's send_self_vc_msg()): preempted before it finishes the
	 * drain, it leaves the rest to whoever recovers it.
	 */
	fake_get_stats(&f);
	expect(f.check_msgs_public > f0.check_msgs_public);
	expect_eq(f.check_msgs_private, f0.check_msgs_private);
	/*
	 * Recovery puts our uthread away and changes with enable_my_notif,
	 * as Akaros's change_to_vcore: the changer restarts afresh.
	 */
	diag("%lu changes, %lu restarting", f.changes - f0.changes,
	     f.change_restarts - f0.change_restarts);
	expect(f.change_restarts > f0.change_restarts);
}

TEST(without_change_vcore_recovery_asks_for_vcores)
{
	__u64 bit = 1ULL << VCORE_IOC_NR_CHANGE_VCORE;
	struct uthread_stats d;

	dev.api.ioctls[0] &= ~bit;
	preempt_run("without CHANGE_VCORE", &d);
	dev.api.ioctls[0] |= bit;
	expect_eq(d.changes, 0);
	expect(d.change_fallbacks > 0);
}

/*
 * A vcore that changed to another is at the head of the inactive list: a
 * grant may name it again before its thread waits for one (the module's
 * vcore_change() clears the old grant with a compare and swap for that).
 * Preemptions and grants while every change takes a while.
 */
TEST(a_vcore_granted_again_while_it_changes_takes_the_grant)
{
	struct fake_stats f0, f;
	struct uthread_stats d;

	fake_get_stats(&f0);
	fake_set_change_window(1000);
	preempt_run("with slow changes", &d);
	fake_set_change_window(0);
	fake_get_stats(&f);
	diag("%lu changes", f.changes - f0.changes);
	expect(f.changes > f0.changes);
}

/* ---- EV_CHECK_MSGS --------------------------------------------------- */

static unsigned int spin_stop;

static void *spinner(void *arg)
{
	(void)arg;
	while (!READ_ONCE(spin_stop))
		cpu_relax();
	return NULL;
}

static bool wait_flags(unsigned int v, __u32 mask, __u32 want)
{
	double t0 = now_s();

	while ((READ_ONCE(vcore_vcpd_of(v)->flags) & mask) != want)
		if (now_s() - t0 > 5)
			return false;
	return true;
}

/* Wait (up to 5 s) until a mailbox drain after the first `since'. */
static bool wait_drains(unsigned long since, struct uthread_stats *st)
{
	double t0 = now_s();

	do {
		vcore_uthread_get_stats(st);
		if (st->remote_drains > since)
			return true;
		usleep(1000);
	} while (now_s() - t0 < 5);
	return false;
}

/*
 * Wait (up to 5 s) until all vcores but one are online; the first offline
 * vcore seen last (NR_VCORES: none).
 */
static unsigned int wait_one_idle(void)
{
	unsigned int off = NR_VCORES;
	double t0 = now_s();

	while (now_s() - t0 < 5) {
		for (off = 0; off < NR_VCORES && fake_vcore_online(off); off++)
			;
		if (fake_online() == NR_VCORES - 1 && off < NR_VCORES)
			return off;
		usleep(1000);
	}
	return off;
}

/*
 * As Akaros's handler: EV_CHECK_MSGS about a vcore that is still
 * preempted turns its VC_CAN_RCV_MSG off (so the kernel spams elsewhere)
 * and drains its public mbox; about a vcore that runs, it does neither.
 * The preempted vcore is staged: an offline vcore given the flags a
 * CHANGE_VCORE leaves its caller with (VC_PREEMPTED, VC_CAN_RCV_MSG
 * still set; the kernel sends only EV_CHECK_MSGS about it).
 */
TEST(check_msgs_about_a_preempted_vcore_turns_its_mailbox_off)
{
	struct event_msg check = { .ev_type = EV_CHECK_MSGS };
	struct uthread *u[NR_VCORES - 1];
	unsigned int off = NR_VCORES, on = NR_VCORES, v;
	struct uthread_stats before, after;

	WRITE_ONCE(spin_stop, 0);
	for (v = 0; v < NR_VCORES - 1; v++)
		u[v] = vcore_uthread_create(spinner, NULL);
	/* two vcores run the spinners; the third idles and yields */
	off = wait_one_idle();
	expect(off < NR_VCORES);
	on = (off + 1) % NR_VCORES;
	expect(fake_vcore_online(on));
	if (off >= NR_VCORES || !fake_vcore_online(on))
		goto out;
	fetch_or(&vcore_vcpd_of(off)->flags, (__u32)(VC_PREEMPTED | VC_CAN_RCV_MSG));
	vcore_uthread_get_stats(&before);
	check.ev_arg2 = off;
	expect_eq(fake_send_vc_msg(on, false, &check), 0);
	expect(wait_flags(off, VC_PREEMPTED | VC_CAN_RCV_MSG, VC_PREEMPTED));
	/* the drain is counted just after the flag goes: wait for it too */
	expect(wait_drains(before.remote_drains, &after));
	fetch_and(&vcore_vcpd_of(off)->flags, ~(__u32)VC_PREEMPTED);

	/* about a vcore that runs: its flag stays, its mbox is its own */
	v = (off + 2) % NR_VCORES;
	fetch_or(&vcore_vcpd_of(v)->flags, (__u32)VC_CAN_RCV_MSG);
	vcore_uthread_get_stats(&before);
	check.ev_arg2 = v;
	expect_eq(fake_send_vc_msg(on, false, &check), 0);
	usleep(100000);
	expect(READ_ONCE(vcore_vcpd_of(v)->flags) & VC_CAN_RCV_MSG);
	vcore_uthread_get_stats(&after);
	expect_eq(after.remote_drains, before.remote_drains);
out:
	WRITE_ONCE(spin_stop, 1);
	for (v = 0; v < NR_VCORES - 1; v++)
		expect_eq(vcore_uthread_join(u[v], NULL), 0);
}

/* ---- the core's fallback, staged -------------------------------------- */

static struct event_queue *fb_evq;
static unsigned int fb_blocking, fb_got;

static void *fb_waiter(void *arg)
{
	struct event_msg msg;

	(void)arg;
	WRITE_ONCE(fb_blocking, 1);
	if (vcore_uth_blockon_evqs_arr(&msg, &fb_evq, 1) == 0)
		WRITE_ONCE(fb_got, 1);
	return NULL;
}

/* User space, between the core's check of VC_CAN_RCV_MSG and its post. */
static void stop_looking(void *arg, const volatile void *addr,
			 unsigned int kind)
{
	unsigned int v = (unsigned int)(uintptr_t)arg;

	(void)addr;
	(void)kind;
	fetch_and(&vcore_vcpd_of(v)->flags, ~(__u32)VC_CAN_RCV_MSG);
}

/*
 * A uthread blocks on an ev_q whose INDIR goes to an offline vcore that
 * says it will look (VC_CAN_RCV_MSG, as a preempted one has it); the
 * other vcores spin, so none asks the kernel for more.  The vcore stops
 * looking just after the kernel checked the flag and before it posts:
 * the core's check again (FB-1) sends the INDIR on to a vcore that runs,
 * which wakes the uthread.  A core that trusted its first look would
 * leave it in the offline vcore's mbox, and the uthread asleep.
 */
TEST(an_indir_to_a_vcore_that_stops_looking_goes_to_one_that_runs)
{
	struct event_msg m = { .ev_type = EV_USER_IPI, .ev_arg3 = 1 };
	struct uthread *u[NR_VCORES - 1], *w;
	unsigned int off = NR_VCORES, v;
	double t0;
	int id;

	fb_evq = vcore_get_eventq(EV_MBOX_UCQ);
	expect(fb_evq != NULL);
	if (!fb_evq)
		return;
	fb_evq->ev_flags = EVENT_WAKEUP;
	expect_eq(vcore_evq_attach_wakeup_ctlr(fb_evq), 0);
	expect(fb_evq->ev_flags & EVENT_SPAM_INDIR);
	WRITE_ONCE(spin_stop, 0);
	w = vcore_uthread_create(fb_waiter, NULL);
	t0 = now_s();
	while (!READ_ONCE(fb_blocking) && now_s() - t0 < 5)
		usleep(1000);
	for (v = 0; v < NR_VCORES - 1; v++)
		u[v] = vcore_uthread_create(spinner, NULL);
	/* two vcores spin; the one left idles and yields */
	off = wait_one_idle();
	expect(off < NR_VCORES);
	if (off >= NR_VCORES)
		goto out;
	/* let the waiter's vcore get to its block, then stage */
	usleep(100000);
	expect(!READ_ONCE(fb_got));
	fb_evq->ev_vcore = off;
	fetch_or(&vcore_vcpd_of(off)->flags, (__u32)VC_CAN_RCV_MSG);
	id = h_watch(&vcore_vcpd_of(off)->ev_mbox_public,
		     sizeof(struct event_mbox), H_ANY, 0, 1, stop_looking,
		     (void *)(uintptr_t)off);
	fake_send_event(fb_evq, &m);
	expect_eq(h_watch_fired(id), 1);
	h_watch_clear();
	t0 = now_s();
	while (!READ_ONCE(fb_got) && now_s() - t0 < 5)
		usleep(1000);
	expect(READ_ONCE(fb_got));
	if (!READ_ONCE(fb_got)) {
		/* the INDIR is lost: open the throttle and send again */
		WRITE_ONCE(fb_evq->ev_alert_pending, 0);
		fake_send_event(fb_evq, &m);
	}
out:
	WRITE_ONCE(spin_stop, 1);
	for (v = 0; v < NR_VCORES - 1; v++)
		expect_eq(vcore_uthread_join(u[v], NULL), 0);
	expect_eq(vcore_uthread_join(w, NULL), 0);
	vcore_evq_remove_wakeup_ctlr(fb_evq);
	vcore_put_eventq(fb_evq);
}

/* ---- change_to_vcore pauses the uthread it leaves --------------------- */

static unsigned int pinned_vcore = -1U, pin_release;
static unsigned long progress;

static void *pinned_spinner(void *arg)
{
	(void)arg;
	vcore_uth_disable_notifs();
	WRITE_ONCE(pinned_vcore, vcore_id());
	while (!READ_ONCE(pin_release))
		cpu_relax();
	vcore_uth_enable_notifs();
	return NULL;
}

static void *count_up(void *arg)
{
	(void)arg;
	while (!READ_ONCE(spin_stop))
		fetch_add(&progress, 1);
	return NULL;
}

/*
 * A vcore notified out of a uthread recovers a preempted vcore whose
 * uthread cannot move, by giving it its pcore (CHANGE_VCORE).  The
 * uthread it interrupted goes back to the run queue first and runs on
 * another vcore; it does not wait for this one to be granted again
 * (nothing here asks the kernel for it).
 */
TEST(a_vcore_changing_to_another_leaves_its_uthread_to_the_others)
{
	struct uthread *pin, *cnt;
	unsigned long p0;
	double t0;

	WRITE_ONCE(spin_stop, 0);
	WRITE_ONCE(pin_release, 0);
	pin = vcore_uthread_create(pinned_spinner, NULL);
	cnt = vcore_uthread_create(count_up, NULL);
	t0 = now_s();
	while ((READ_ONCE(pinned_vcore) == -1U || !READ_ONCE(progress) ||
		fake_online() != 2) && now_s() - t0 < 5)
		usleep(1000);
	expect_eq(fake_online(), 2);
	expect_eq(fake_preempt(READ_ONCE(pinned_vcore)), 0);
	/* the recovering vcore gives it its pcore (a change returns only
	 * when the changer runs again, so look at the preempted one)
	 */
	t0 = now_s();
	while (!fake_vcore_online(READ_ONCE(pinned_vcore)) &&
	       now_s() - t0 < 5)
		usleep(1000);
	expect(fake_vcore_online(READ_ONCE(pinned_vcore)));
	/*
	 * The pinned one spins on: does the counter still count?  Given up
	 * to 5 s (a loaded machine may not run it for a while); a uthread
	 * left on the changed vcore never counts again.
	 */
	usleep(50000);
	p0 = READ_ONCE(progress);
	t0 = now_s();
	while (READ_ONCE(progress) == p0 && now_s() - t0 < 5)
		usleep(1000);
	expect(READ_ONCE(progress) > p0);
	WRITE_ONCE(pin_release, 1);
	WRITE_ONCE(spin_stop, 1);
	vcore_request_more(0);
	expect_eq(vcore_uthread_join(pin, NULL), 0);
	expect_eq(vcore_uthread_join(cnt, NULL), 0);
}

/* ---- a mailbox consumer lock held by a preempted vcore ----------------- */

static __u64 cons_lock;			/* a ucq.u_lock */
static unsigned int holder_vcore = -1U, release_lock, nr_spinning;
static unsigned int nr_locked;

static void *lock_holder(void *arg)
{
	(void)arg;
	vcore_uth_disable_notifs();
	u_spin_lock(&cons_lock);
	WRITE_ONCE(holder_vcore, vcore_id());
	while (!READ_ONCE(release_lock))
		cpu_relax();
	u_spin_unlock(&cons_lock);
	vcore_uth_enable_notifs();
	fetch_add(&nr_locked, 1);
	return NULL;
}

static void *lock_waiter(void *arg)
{
	(void)arg;
	while (READ_ONCE(holder_vcore) == -1U)
		vcore_uthread_yield();
	vcore_uth_disable_notifs();
	fetch_add(&nr_spinning, 1);
	u_spin_lock(&cons_lock);
	u_spin_unlock(&cons_lock);
	vcore_uth_enable_notifs();
	fetch_add(&nr_locked, 1);
	return NULL;
}

/*
 * Every vcore left online spins, notifications off, on a consumer lock
 * whose holder's vcore is preempted, and nobody asks the kernel for more:
 * only the spinners can get the holder running (Akaros's PDR lock).
 * Last: a plain spinlock never returns here.
 */
TEST(a_consumer_lock_held_by_a_preempted_vcore_gets_it_running)
{
	struct uthread *u[NR_VCORES];
	struct uthread_stats before, after;
	struct fake_stats f0, f;
	double t0;
	int i;

	fake_get_stats(&f0);
	vcore_uthread_get_stats(&before);
	u[0] = vcore_uthread_create(lock_holder, NULL);
	for (i = 1; i < NR_VCORES; i++)
		u[i] = vcore_uthread_create(lock_waiter, NULL);
	t0 = now_s();
	while ((READ_ONCE(nr_spinning) < NR_VCORES - 1 ||
		READ_ONCE(holder_vcore) == -1U) && now_s() - t0 < 10)
		usleep(1000);
	expect_eq(READ_ONCE(nr_spinning), NR_VCORES - 1);
	expect_eq(fake_preempt(READ_ONCE(holder_vcore)), 0);
	WRITE_ONCE(release_lock, 1);
	t0 = now_s();
	while (READ_ONCE(nr_locked) < NR_VCORES && now_s() - t0 < 10)
		usleep(1000);
	expect_eq(READ_ONCE(nr_locked), NR_VCORES);
	if (READ_ONCE(nr_locked) < NR_VCORES)
		return;		/* the spinners hold their vcores for good */
	for (i = 0; i < NR_VCORES; i++)
		expect_eq(vcore_uthread_join(u[i], NULL), 0);
	vcore_uthread_get_stats(&after);
	expect(after.changes > before.changes);
	/* a lock waiter comes back to its wait (Akaros's ensure_vcore_runs) */
	fake_get_stats(&f);
	expect(f.changes - f.change_restarts >
	       f0.changes - f0.change_restarts);
	expect(f.resumes > f0.resumes);
}

int main(void)
{
	struct uthread_stats us;
	struct fake_stats st;
	pthread_t nt;
	int err;

	tap_start(150);
	err = ks_init(NR_VCORES, 1024);
	if (!err)
		err = fake_kernel_init(&dev, NR_VCORES, NR_VCORES);
	if (!err)
		err = vcore_uthread_lib_init(&dev);
	if (!err)
		err = -pthread_create(&nt, NULL, notifier, NULL);
	if (err) {
		printf("Bail out! setup: %d\n", err);
		return 1;
	}
	RUN(uthreads_yield_and_join_across_vcores);
	RUN(a_uthread_joins_uthreads);
	RUN(a_mutex_serialises_uthreads_on_several_vcores);
	RUN(condition_variables_pass_every_item_once);
	RUN(a_uthread_blocks_on_two_ev_qs_until_either_has_a_message);
	RUN(send_event_to_an_ev_q_outside_the_regions_is_efault);
	RUN(uthreads_keep_their_registers_across_notifications);
	RUN(a_preempted_vcores_uthread_is_stolen_and_goes_on);
	RUN(without_change_vcore_recovery_asks_for_vcores);
	RUN(a_vcore_granted_again_while_it_changes_takes_the_grant);
	RUN(check_msgs_about_a_preempted_vcore_turns_its_mailbox_off);
	RUN(an_indir_to_a_vcore_that_stops_looking_goes_to_one_that_runs);
	RUN(a_vcore_changing_to_another_leaves_its_uthread_to_the_others);
	RUN(a_consumer_lock_held_by_a_preempted_vcore_gets_it_running);
	WRITE_ONCE(notifier_quit, 1);
	pthread_join(nt, NULL);
	vcore_uthread_get_stats(&us);
	fake_get_stats(&st);
	diag("uthreads: %lu created, %lu exited; vcores: %lu yields, %lu "
	     "kicks, %lu requests; kernel: %lu grants, %lu notifications "
	     "(%lu entered, %lu found notifs off), %lu SELF_NOTIFY",
	     us.created, us.exited, us.vcore_yields, us.kicks, us.requests,
	     st.grants, st.ipis, st.notified, st.ignored, st.self_notifies);
	return tap_done();
}
