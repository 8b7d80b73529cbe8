// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Time-sliced uthreads on the fake kernel, with its alarms
 * (fake_kernel_enable_alarms()) as the per-vcore ticks and, in one test,
 * a signal as the tick source (uth_preempt_from_signal()):
 *
 *   - more never-yielding uthreads than vcores: some never run with
 *     quantum 0, all progress with one, and with the signal tick;
 *   - a uth_mutex-protected read-spin-write counter stays exact under a
 *     short quantum and the fake's preemptions;
 *   - ymm0-15 survive thousands of preemptions;
 *   - a uthread with preemption disabled is never switched out while its
 *     ticks are deferred, and takes the preemption when it enables;
 *   - sleeps and timed waits never return early, time out with
 *     -ETIMEDOUT, return 0 when woken in time.
 *
 * Uthreads run on NR_VCORES vcores with TEST_PCORES pcores (2; 1 in
 * test_preempt_one, where the one vcore online runs the run queue in
 * order, and sleepers must wake in deadline order).
 *
 *	test_preempt [PCORES]
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "barrier.h"
#include "event.h"
#include "fake_kernel.h"
#include "lib/kernel_side.h"
#include "tap.h"
#include "uthread.h"
#include "uthread_internal.h"
#include "vcore_alarm.h"
#include "vcore_ctx.h"

#define NR_VCORES	3
#define CAP_SECS	60.0	/* a wait for progress this long fails */

void ymm_hold(const void *in, void *out, unsigned long spin,
	      unsigned long *ctr);

#ifndef TEST_PCORES
#define TEST_PCORES	2
#endif

static struct vcore_dev dev;
static unsigned int nr_pcores = TEST_PCORES;

static struct vcore_uthread_preempt_stats ps(void)
{
	struct vcore_uthread_preempt_stats s;

	vcore_uthread_get_preempt_stats(&s, sizeof(s));
	return s;
}

static bool wait_for(bool (*cond)(void))
{
	double t0 = now_s();

	while (!cond()) {
		if (now_s() - t0 > CAP_SECS)
			return false;
		usleep(5000);
	}
	return true;
}

/* ---- never-yielding spinners ------------------------------------------ */

#define MAX_SPIN	16

static unsigned int spin_stop, nr_spin, nr_started;
static unsigned long progress[MAX_SPIN];
static struct uthread *spinners[MAX_SPIN];

static void *spinner(void *arg)
{
	unsigned long *p = arg;

	fetch_add(&nr_started, 1);
	while (!READ_ONCE(spin_stop))
		WRITE_ONCE(*p, *p + 1);
	return NULL;
}

static void start_spinners(unsigned int n)
{
	nr_spin = n;
	nr_started = 0;
	spin_stop = 0;
	memset(progress, 0, sizeof(progress));
	for (unsigned int i = 0; i < n; i++)
		spinners[i] = vcore_uthread_create(spinner, &progress[i]);
}

static void stop_spinners(void)
{
	WRITE_ONCE(spin_stop, 1);
	for (unsigned int i = 0; i < nr_spin; i++)
		expect_eq(vcore_uthread_join(spinners[i], NULL), 0);
}

static bool all_progressed(void)
{
	for (unsigned int i = 0; i < nr_spin; i++)
		if (!READ_ONCE(progress[i]))
			return false;
	return true;
}

/* The started count once it has not moved for a while. */
static unsigned int settled_started(void)
{
	unsigned int last = ~0U, stable = 0;
	double t0 = now_s();

	while (stable < 20 && now_s() - t0 < CAP_SECS) {
		unsigned int s = READ_ONCE(nr_started);

		stable = s == last ? stable + 1 : 0;
		last = s;
		usleep(10000);
	}
	return last;
}

TEST(the_quantum_is_checked)
{
	expect_eq(vcore_uthread_set_quantum(9), -EINVAL);
	expect_eq(vcore_uthread_quantum(), 0);
	expect_eq(vcore_uthread_set_quantum(10), 0);
	expect_eq(vcore_uthread_quantum(), 10);
	expect_eq(vcore_uthread_set_quantum(0), 0);
	expect_eq(vcore_uthread_get_preempt_stats(NULL, 8), -EINVAL);
}

TEST(spinners_beyond_the_vcores_starve_without_a_quantum_and_run_with_one)
{
	unsigned int n = nr_pcores + 2, ran;
	struct vcore_uthread_preempt_stats a = ps(), b;

	expect_eq(vcore_uthread_set_quantum(0), 0);
	start_spinners(n);
	ran = settled_started();
	diag("quantum 0: %u of %u never-yielding uthreads ran on %u pcores",
	     ran, n, nr_pcores);
	expect(ran < n);
	expect_eq(vcore_uthread_set_quantum(500), 0);
	expect(wait_for(all_progressed));
	stop_spinners();
	b = ps();
	diag("%lu ticks, %lu preemptions, %lu idle, %lu arms, %lu disarms",
	     b.ticks - a.ticks, b.preemptions - a.preemptions,
	     b.idle_ticks - a.idle_ticks, b.arms - a.arms,
	     b.disarms - a.disarms);
	expect(b.preemptions > a.preemptions);
	expect(b.arms > a.arms);
	expect_eq(vcore_uthread_set_quantum(0), 0);
}

/* ---- the counter ------------------------------------------------------ */

static struct uth_mutex cmtx = UTH_MUTEX_INIT;
static unsigned long counter;

#define NR_INCS		50

static void *incrementer(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < NR_INCS; i++) {
		unsigned long v;

		vcore_uth_mutex_lock(&cmtx);
		v = READ_ONCE(counter);
		for (volatile unsigned int s = 0; s < 2000; s++)
			;
		WRITE_ONCE(counter, v + 1);
		vcore_uth_mutex_unlock(&cmtx);
	}
	return NULL;
}

/* The fake preempts vcores in turn until *stop. */
static unsigned long preempt_storm(const unsigned int *stop)
{
	unsigned long n = 0;
	unsigned int v = 0;

	while (!READ_ONCE(*stop)) {
		v = (v + 1) % NR_VCORES;
		if (!fake_preempt(v))
			n++;
		usleep(3000);
		vcore_request_more(0);
	}
	return n;
}

static struct uthread *incs[200];
static unsigned int incs_done;

static void *join_incrementers(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < 200; i++)
		vcore_uthread_join(incs[i], NULL);
	WRITE_ONCE(incs_done, 1);
	return NULL;
}

TEST(a_mutex_counter_is_exact_under_ticks_and_preemptions)
{
	struct vcore_uthread_preempt_stats a = ps(), b;
	unsigned long storms;
	pthread_t j;

	counter = 0;
	incs_done = 0;
	expect_eq(vcore_uthread_set_quantum(50), 0);
	for (unsigned int i = 0; i < 200; i++)
		incs[i] = vcore_uthread_create(incrementer, NULL);
	pthread_create(&j, NULL, join_incrementers, NULL);
	storms = preempt_storm(&incs_done);
	pthread_join(j, NULL);
	b = ps();
	diag("counter %lu, %lu preemptions by ticks, %lu by the fake",
	     counter, b.preemptions - a.preemptions, storms);
	expect_eq(counter, 200UL * NR_INCS);
	expect_eq(vcore_uthread_set_quantum(0), 0);
}

/* ---- SIMD --------------------------------------------------------------- */

static unsigned int simd_stop;
static unsigned long simd_bad, simd_rounds;

static void *simd_holder(void *arg)
{
	unsigned long seed = (uintptr_t)arg, ctr = 0, r = 0;
	uint64_t in[64] __attribute__((aligned(32)));
	uint64_t out[64] __attribute__((aligned(32)));

	while (!READ_ONCE(simd_stop)) {
		for (unsigned int i = 0; i < 64; i++)
			in[i] = seed << 40 ^ r << 8 ^ i;
		ymm_hold(in, out, 50000, &ctr);
		if (memcmp(in, out, sizeof(in)))
			fetch_add(&simd_bad, 1);
		fetch_add(&simd_rounds, 1);
		r++;
	}
	return NULL;
}

static unsigned long simd_base;

static bool thousands_of_preemptions(void)
{
	return ps().preemptions - simd_base >= 2000;
}

static unsigned int storm_stop;

static void *storm_thread(void *arg)
{
	*(unsigned long *)arg = preempt_storm(&storm_stop);
	return NULL;
}

TEST(ymm_registers_survive_thousands_of_preemptions)
{
	struct uthread *u[6];
	unsigned long storms = 0;
	pthread_t st;
	bool done;

	if (!__builtin_cpu_supports("avx")) {
		diag("no AVX");
		return;
	}
	simd_stop = storm_stop = 0;
	simd_base = ps().preemptions;
	expect_eq(vcore_uthread_set_quantum(20), 0);
	for (unsigned int i = 0; i < 6; i++)
		u[i] = vcore_uthread_create(simd_holder,
					    (void *)(uintptr_t)(i + 1));
	pthread_create(&st, NULL, storm_thread, &storms);
	done = wait_for(thousands_of_preemptions);
	WRITE_ONCE(simd_stop, 1);
	WRITE_ONCE(storm_stop, 1);
	pthread_join(st, NULL);
	for (unsigned int i = 0; i < 6; i++)
		expect_eq(vcore_uthread_join(u[i], NULL), 0);
	diag("%lu rounds, %lu bad, %lu preemptions by ticks, %lu by the fake",
	     simd_rounds, simd_bad, ps().preemptions - simd_base, storms);
	expect(done);
	expect_eq(simd_bad, 0);
	expect_eq(vcore_uthread_set_quantum(0), 0);
}

/* ---- preemption control ------------------------------------------------- */

static unsigned int holder_done;
static unsigned long holder_deferred, holder_switched, holder_took;
static bool holder_pending;

static void *holder(void *arg)
{
	struct uthread *self = vcore_uthread_self();
	struct vcore_uthread_preempt_stats a, b;
	unsigned long before;
	double t0 = now_s();

	(void)arg;
	vcore_uth_preempt_disable();
	vcore_uth_preempt_disable();
	vcore_uth_preempt_enable();		/* still off: nested */
	before = READ_ONCE(self->nr_preempted);
	a = ps();
	do {
		b = ps();
	} while (b.deferred - a.deferred < 20 && now_s() - t0 < CAP_SECS);
	holder_deferred = b.deferred - a.deferred;
	holder_switched = READ_ONCE(self->nr_preempted) - before;
	holder_pending = READ_ONCE(self->preempt_pending);
	vcore_uth_preempt_enable();
	/* taken here (and perhaps a tick's since: we may be preempted now) */
	holder_took = ps().deferred_taken - b.deferred_taken;
	WRITE_ONCE(holder_done, 1);
	return NULL;
}

static bool holder_finished(void)
{
	return READ_ONCE(holder_done);
}

TEST(a_preempt_disabled_uthread_is_never_switched_out)
{
	struct uthread *h;

	holder_done = 0;
	expect_eq(vcore_uthread_set_quantum(100), 0);
	start_spinners(nr_pcores + 1);
	h = vcore_uthread_create(holder, NULL);
	expect(wait_for(holder_finished));
	stop_spinners();
	expect_eq(vcore_uthread_join(h, NULL), 0);
	diag("%lu ticks deferred, switched out %lu times while off, "
	     "pending %d, %lu taken at enable", holder_deferred,
	     holder_switched, holder_pending, holder_took);
	expect(holder_deferred >= 20);
	expect_eq(holder_switched, 0);
	expect(holder_pending);
	expect(holder_took >= 1);
	expect_eq(vcore_uthread_set_quantum(0), 0);
}

/* ---- the signal tick ---------------------------------------------------- */

static unsigned int ticker_stop;
static unsigned long ticks_sent;

/*
 * One tick at a time per vcore thread, as a POSIX timer queues its signal
 * (overruns are counted, not queued): tgkill() queues every instance of
 * a real-time signal, and a thread that had the tick blocked a while (in
 * the fake's kernel) would take the whole backlog at once, each nested in
 * the last on the uthread's stack (SA_NODEFER) until it overflows.
 */
static int tick_pending[NR_VCORES];
/* ticks that switched out the uthread they interrupted */
static unsigned long sig_switches;

static void on_tick(int sig, siginfo_t *si, void *ucv)
{
	int v = (int)vcore_id();
	struct uthread *u;
	unsigned long n;

	(void)sig;
	(void)si;
	if (v >= 0 && v < NR_VCORES)
		__atomic_store_n(&tick_pending[v], 0, __ATOMIC_SEQ_CST);
	u = vcore_in_vcore_context() ? NULL : vcore_uthread_self();
	n = u ? READ_ONCE(u->nr_preempted) : 0;
	uth_preempt_from_signal(ucv);
	if (u && READ_ONCE(u->nr_preempted) != n)
		fetch_add(&sig_switches, 1);
}

static bool progressed_and_switched(void)
{
	return all_progressed() && READ_ONCE(sig_switches);
}

static void *ticker(void *arg)
{
	(void)arg;
	while (!READ_ONCE(ticker_stop)) {
		for (unsigned int v = 0; v < NR_VCORES; v++) {
			pid_t tid = fake_vcore_tid(v);

			if (tid && fake_vcore_online(v) &&
			    !__atomic_exchange_n(&tick_pending[v], 1,
						 __ATOMIC_SEQ_CST)) {
				syscall(SYS_tgkill, getpid(), tid,
					FAKE_SIG_TICK);
				ticks_sent++;
			}
		}
		usleep(500);
	}
	return NULL;
}

TEST(the_signal_tick_preempts_as_the_alarm_does)
{
	struct sigaction sa = { .sa_sigaction = on_tick,
				.sa_flags = SA_SIGINFO | SA_NODEFER |
					    SA_RESTART };
	struct vcore_uthread_preempt_stats a = ps(), b;
	unsigned long fired = fake_alarms_fired();
	struct uthread *u[4];
	pthread_t t;
	unsigned int ran;

	sigemptyset(&sa.sa_mask);
	sigaction(FAKE_SIG_TICK, &sa, NULL);
	expect_eq(vcore_uthread_set_quantum(0), 0);
	start_spinners(nr_pcores + 2);
	ran = settled_started();
	expect(ran < nr_spin);
	simd_stop = 0;
	simd_bad = 0;
	for (unsigned int i = 0; i < 4; i++)
		u[i] = vcore_uthread_create(simd_holder,
					    (void *)(uintptr_t)(i + 100));
	ticker_stop = 0;
	memset(tick_pending, 0, sizeof(tick_pending));
	sig_switches = 0;
	pthread_create(&t, NULL, ticker, NULL);
	expect(wait_for(progressed_and_switched));
	WRITE_ONCE(simd_stop, 1);
	stop_spinners();
	for (unsigned int i = 0; i < 4; i++)
		expect_eq(vcore_uthread_join(u[i], NULL), 0);
	WRITE_ONCE(ticker_stop, 1);
	pthread_join(t, NULL);
	b = ps();
	fired = fake_alarms_fired() - fired;
	diag("%lu signals: %lu ticks, %lu preemptions (%lu by the signal), "
	     "%lu deferred, %lu SIMD bad; %lu alarm expiries "
	     "(offline vcores' leftovers)",
	     ticks_sent, b.ticks - a.ticks, b.preemptions - a.preemptions,
	     sig_switches, b.deferred - a.deferred, simd_bad, fired);
	/*
	 * The offline vcores' leftover expiries preempt too, as many as
	 * they like: the signals' own switches are counted in the handler.
	 */
	expect(sig_switches > 0);
	expect_eq(simd_bad, 0);
}

/* ---- sleeps and timed waits --------------------------------------------- */

#define NR_SLEEPERS	30

static uint64_t sleep_base;
static unsigned int early, sleep_errs, order[NR_SLEEPERS], nr_woken;
static bool late[NR_SLEEPERS];	/* created after its deadline (a loaded host) */

/* what is left to d: 0 once it passed (not a wrapped-around ns count) */
static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void *sleeper(void *arg)
{
	unsigned int i = (uintptr_t)arg;
	uint64_t d = sleep_base + (uint64_t)i * 200000;
	int err;

	late[i] = vcore_alarm_now() >= d;
	if (i % 2)
		err = vcore_uthread_sleep_until(d);
	else
		err = vcore_uthread_sleep_ns(d - min_u64(d, vcore_alarm_now()));
	if (err)
		fetch_add(&sleep_errs, 1);
	if (vcore_alarm_now() < d)
		fetch_add(&early, 1);
	order[fetch_add(&nr_woken, 1)] = i;
	return NULL;
}

TEST(sleepers_wake_no_earlier_than_asked)
{
	struct uthread *u[NR_SLEEPERS];
	unsigned int inversions = 0;

	/* with one pcore, no tick between a wakeup and its record */
	expect_eq(vcore_uthread_set_quantum(nr_pcores == 1 ? 0 : 200), 0);
	nr_woken = early = sleep_errs = 0;
	/*
	 * Far enough ahead that every sleeper's timer is in before the
	 * first deadline: one that goes in after a later sleeper's deadline
	 * (its vcore thread descheduled between its look at the clock and
	 * its timer's start) wakes out of order, and rightly.
	 */
	sleep_base = vcore_alarm_now() + 100000000;
	for (unsigned int k = 0; k < NR_SLEEPERS; k++) {
		unsigned int i = (k * 7) % NR_SLEEPERS;

		u[i] = vcore_uthread_create(sleeper, (void *)(uintptr_t)i);
	}
	for (unsigned int i = 0; i < NR_SLEEPERS; i++)
		expect_eq(vcore_uthread_join(u[i], NULL), 0);
	/* among the sleepers that slept: one that came late wakes at once */
	for (unsigned int k = 0, prev = NR_SLEEPERS; k < NR_SLEEPERS; k++) {
		if (late[order[k]])
			continue;
		inversions += prev < NR_SLEEPERS && order[k] < prev;
		prev = order[k];
	}
	diag("%u early, %u errors, %u out of order (%u pcores)", early,
	     sleep_errs, inversions, nr_pcores);
	expect_eq(early, 0);
	expect_eq(sleep_errs, 0);
	expect_eq(nr_woken, NR_SLEEPERS);
	/* one vcore runs them as the timers made them runnable */
	if (nr_pcores == 1)
		expect_eq(inversions, 0);
	/* from a plain thread: clock_nanosleep */
	{
		uint64_t d = vcore_alarm_now() + 1000000;

		expect_eq(vcore_uthread_sleep_until(d), 0);
		expect(vcore_alarm_now() >= d);
	}
	expect_eq(vcore_uthread_set_quantum(0), 0);
}

static struct uth_mutex tmtx = UTH_MUTEX_INIT;
static struct uth_cond_var tcv = UTH_COND_VAR_INIT;
static struct event_queue *tevq;
static unsigned int timed_bad, flag;
static bool got_lock, got_cv, got_evq, cv_held;

static void expect_timeout(int ret, uint64_t d)
{
	if (ret != -ETIMEDOUT || vcore_alarm_now() < d)
		fetch_add(&timed_bad, 1);
}

static void *times_out(void *arg)
{
	uint64_t d = vcore_alarm_now() + 2000000 + (uintptr_t)arg * 500000;
	struct event_msg m;

	expect_timeout(vcore_uth_mutex_timedlock(&tmtx, d), d);
	d = vcore_alarm_now() + 1000000;
	expect_timeout(vcore_uth_blockon_evqs_timed(&m, &tevq, 1, d), d);
	return NULL;
}

static void *late_locker(void *arg)
{
	(void)arg;
	got_lock = vcore_uth_mutex_timedlock(&tmtx, UINT64_MAX) == 0;
	vcore_uth_mutex_unlock(&tmtx);
	return NULL;
}

static void *cv_waiter(void *arg)
{
	uint64_t d;
	int ret = 0;

	(void)arg;
	vcore_uth_mutex_lock(&tmtx);
	d = vcore_alarm_now() + 2000000;
	expect_timeout(vcore_uth_cond_var_timedwait(&tcv, &tmtx, d), d);
	cv_held = tmtx.locked;
	while (!flag && !ret)
		ret = vcore_uth_cond_var_timedwait(&tcv, &tmtx, UINT64_MAX);
	got_cv = !ret && flag;
	vcore_uth_mutex_unlock(&tmtx);
	return NULL;
}

static void *evq_waiter(void *arg)
{
	struct event_msg m;

	(void)arg;
	got_evq = vcore_uth_blockon_evqs_timed(&m, &tevq, 1, UINT64_MAX) == 0 &&
		  m.ev_arg2 == 55;
	return NULL;
}

static void *timed_main(void *arg)
{
	struct uthread *w[6], *c;
	struct event_msg m = { .ev_type = EV_FREE_APPLE_PIE, .ev_arg2 = 55 };

	(void)arg;
	vcore_uth_mutex_lock(&tmtx);
	for (unsigned int i = 0; i < 6; i++)
		w[i] = vcore_uthread_create(times_out, (void *)(uintptr_t)i);
	for (unsigned int i = 0; i < 6; i++)
		vcore_uthread_join(w[i], NULL);
	c = vcore_uthread_create(late_locker, NULL);
	vcore_uthread_sleep_ns(5000000);
	vcore_uth_mutex_unlock(&tmtx);
	vcore_uthread_join(c, NULL);
	c = vcore_uthread_create(cv_waiter, NULL);
	vcore_uthread_sleep_ns(10000000);
	vcore_uth_mutex_lock(&tmtx);
	flag = 1;
	vcore_uth_cond_var_signal(&tcv);
	vcore_uth_mutex_unlock(&tmtx);
	vcore_uthread_join(c, NULL);
	c = vcore_uthread_create(evq_waiter, NULL);
	vcore_uthread_sleep_ns(5000000);
	fake_send_event(tevq, &m);
	vcore_uthread_join(c, NULL);
	return NULL;
}

TEST(timed_waits_time_out_or_return_when_woken)
{
	struct event_msg m;
	struct uthread *t;

	expect_eq(vcore_uth_mutex_timedlock(&tmtx, 0), 0);	/* free */
	vcore_uth_mutex_unlock(&tmtx);
	expect_eq(vcore_uth_blockon_evqs_timed(&m, &tevq, 1, 0), -EINVAL);
	tevq = vcore_get_eventq(EV_MBOX_UCQ);
	expect(tevq && vcore_evq_attach_wakeup_ctlr(tevq) == 0);
	t = vcore_uthread_create(timed_main, NULL);
	expect_eq(vcore_uthread_join(t, NULL), 0);
	expect_eq(timed_bad, 0);
	expect(got_lock);
	expect(cv_held);
	expect(got_cv);
	expect(got_evq);
	vcore_evq_remove_wakeup_ctlr(tevq);
	vcore_put_eventq(tevq);
}

int main(int argc, char **argv)
{
	int err;

	if (argc > 1)
		nr_pcores = (unsigned int)atoi(argv[1]);
	if (nr_pcores < 1 || nr_pcores > NR_VCORES)
		nr_pcores = TEST_PCORES;
	tap_start(400);
	err = ks_init(NR_VCORES, 1024);
	if (!err)
		err = fake_kernel_init(&dev, NR_VCORES, nr_pcores);
	if (!err)
		err = fake_kernel_enable_alarms();
	if (!err)
		err = vcore_uthread_lib_init(&dev);
	if (err) {
		printf("Bail out! setup: %d\n", err);
		return 1;
	}
	diag("%u vcores, %u pcores", NR_VCORES, nr_pcores);
	RUN(the_quantum_is_checked);
	RUN(spinners_beyond_the_vcores_starve_without_a_quantum_and_run_with_one);
	RUN(a_mutex_counter_is_exact_under_ticks_and_preemptions);
	RUN(ymm_registers_survive_thousands_of_preemptions);
	RUN(a_preempt_disabled_uthread_is_never_switched_out);
	RUN(sleepers_wake_no_earlier_than_asked);
	RUN(timed_waits_time_out_or_return_when_woken);
	/* last: the signal ticks' leftovers stay out of the other tests */
	RUN(the_signal_tick_preempts_as_the_alarm_does);
	diag("%lu alarm expiries", fake_alarms_fired());
	return tap_done();
}
