// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Time-sliced uthreads on the real vcore.ko, in the VM: the per-vcore
 * alarm ticks of vcore_uthread_set_quantum(), preemption control, sleeps
 * and timed waits.  Phases, each printed with its counts:
 *
 *   starve   more never-yielding uthreads than vcores: with quantum 0 some
 *            never run (shown), with a quantum every one makes progress
 *   mutex    hundreds of uthreads add to a counter under a uth_mutex with
 *            a read, a spin and a write inside, under a short quantum and
 *            a storm of VCORE_IOC_PREEMPT (root; skipped otherwise): the
 *            count is exact
 *   simd     uthreads hold their own values in ymm0-15 across thousands of
 *            preemptions (and the storm) and find them intact
 *   disable  a uthread with preemption disabled is never switched out
 *            while ticks keep coming (they are deferred), and takes the
 *            preemption when it enables
 *   sleep    sleepers and timed waits (mutex, condition variable, ev_q)
 *            never return before their deadline, time out with
 *            -ETIMEDOUT, and return 0 when woken in time
 *
 *   vm_preempt [SCALE]     SCALE multiplies the amounts of work (1)
 *
 * No time is judged: waits for progress have a generous cap, and a phase
 * that hits it fails as stuck.  Prints "RESULT PASS" or "RESULT FAIL".
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "barrier.h"
#include "event.h"
#include "uthread.h"
#include "uthread_internal.h"
#include "vcore_alarm.h"
#include "vcore_ctx.h"

#define CAP_SECS	240	/* a phase stuck this long fails */

void ymm_hold(const void *in, void *out, unsigned long spin,
	      unsigned long *ctr);

static struct vcore_dev dev;
static double scale = 1;
static unsigned int nr_vc;		/* vcores we can have at once */
static int failed;

static double now_s(void)
{
	return (double)vcore_alarm_now() / 1e9;
}

static void check(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failed = 1;
}

static void pstats(struct vcore_uthread_preempt_stats *ps)
{
	vcore_uthread_get_preempt_stats(ps, sizeof(*ps));
}

static void print_pstats(const char *phase)
{
	struct vcore_uthread_preempt_stats ps;

	pstats(&ps);
	printf("%s: ticks %lu, preemptions %lu, deferred %lu (taken %lu), "
	       "idle %lu, arms %lu, disarms %lu, sleeps %lu, timeouts %lu\n",
	       phase, ps.ticks, ps.preemptions, ps.deferred,
	       ps.deferred_taken, ps.idle_ticks, ps.arms, ps.disarms,
	       ps.sleeps, ps.timeouts);
}

/* ---- A watchdog: a phase stuck for long dumps the vcores and fails ---- */

static unsigned int nr_woken;
static const char *phase = "setup";
static double phase_t0;

static void set_phase(const char *p)
{
	WRITE_ONCE(phase, p);
	phase_t0 = now_s();
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		sleep(30);
		print_pstats(phase);
		if (now_s() - phase_t0 < 2 * CAP_SECS)
			continue;
		printf("STUCK in %s\n", phase);
		for (unsigned int v = 0; v < vcore_max_vcores(); v++) {
			struct vcore_preempt_data *p = vcore_vcpd_of(v);

			printf("vc%u: mapped %d flags %#x notif_disabled %u "
			       "notif_pending %u uthread_ctx rip %#llx, "
			       "public mbox %s, private %s\n", v,
			       vcore_is_mapped(v), p->flags, p->notif_disabled,
			       p->notif_pending,
			       (unsigned long long)p->uthread_ctx.rip,
			       vcore_mbox_is_empty(&p->ev_mbox_public) ?
			       "empty" : "not empty",
			       vcore_mbox_is_empty(&p->ev_mbox_private) ?
			       "empty" : "not empty");
		}
		{
			struct vcore_stats ks;
			uint64_t head, at;
			uint32_t id;
			bool armed;

			uth_timers_state(&head, &armed, &at, &id);
			memset(&ks, 0, sizeof(ks));
			ioctl(dev.fd, VCORE_IOC_GET_STATS, &ks);
			printf("timers: head %llu, armed %d at %llu (alarm %#x), "
			       "now %llu; kernel: %llu alarm expiries; "
			       "%u sleepers woke\n", (unsigned long long)head,
			       armed, (unsigned long long)at, id,
			       (unsigned long long)vcore_alarm_now(),
			       (unsigned long long)ks.alarms_fired,
			       READ_ONCE(nr_woken));
			for (unsigned int r = 0; r < VCORE_STATS_MAX_DROP; r++)
				if (ks.dropped[r])
					printf("drops, reason %u: %llu\n", r,
					       (unsigned long long)ks.dropped[r]);
		}
		printf("procinfo: state %u num_vcores %u\nRESULT FAIL\n",
		       dev.kprocinfo->state, dev.kprocinfo->num_vcores);
		_exit(2);
	}
	return NULL;
}

/* ---- The storm: VCORE_IOC_PREEMPT on single vcores and on all ---------- */

static unsigned int storm_on, storm_stop;
static unsigned long storm_preempted;

static void *storm(void *arg)
{
	unsigned int seed = 4321, n = vcore_max_vcores();

	(void)arg;
	while (!READ_ONCE(storm_stop)) {
		struct vcore_preempt p = {
			.target_fd = dev.fd,
			.vcoreid = rand_r(&seed) % n,
		};
		int ret;

		if (!READ_ONCE(storm_on)) {
			usleep(5000);
			continue;
		}
		if (rand_r(&seed) % 4 == 0)
			p.flags = VCORE_PREEMPT_ALL;
		ret = ioctl(dev.fd, VCORE_IOC_PREEMPT, &p);
		if (ret > 0)
			fetch_add(&storm_preempted, ret);
		usleep(1000 + rand_r(&seed) % 4000);
		if (rand_r(&seed) % 2)
			vcore_request_more(0);
	}
	return NULL;
}

/* Wait for cond() with a cap; false if the cap came first. */
static bool wait_for(bool (*cond)(void))
{
	double t0 = now_s();

	while (!cond()) {
		if (now_s() - t0 > CAP_SECS)
			return false;
		usleep(20000);
	}
	return true;
}

/* ---- starve -------------------------------------------------------------- */

#define MAX_SPIN	64

static unsigned int spin_stop, nr_spin, nr_started;
static unsigned long progress[MAX_SPIN];

static void *spinner(void *arg)
{
	unsigned long *p = arg;

	fetch_add(&nr_started, 1);
	while (!READ_ONCE(spin_stop))
		WRITE_ONCE(*p, *p + 1);		/* never yields */
	return NULL;
}

static bool all_progressed(void)
{
	for (unsigned int i = 0; i < nr_spin; i++)
		if (!READ_ONCE(progress[i]))
			return false;
	return true;
}

static struct uthread *spinners[MAX_SPIN];

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
		vcore_uthread_join(spinners[i], NULL);
}

static void phase_starve(void)
{
	unsigned int n = nr_vc + 2, last = 0, stable = 0, started;
	double t0 = now_s();

	check(vcore_uthread_set_quantum(0) == 0, "quantum 0 (cooperative)");
	start_spinners(n);
	/* the started count settles: every vcore we get holds a spinner */
	while (stable < 25 && now_s() - t0 < CAP_SECS) {
		usleep(20000);
		started = READ_ONCE(nr_started);
		stable = started == last ? stable + 1 : 0;
		last = started;
	}
	printf("starve: quantum 0, %u never-yielding uthreads on %u vcores: "
	       "%u ran, %u never did\n", n, vcore_num_vcores(), last, n - last);
	check(last < n, "cooperative: uthreads beyond the vcores starve");
	check(vcore_uthread_set_quantum(2000) == 0, "quantum 2000 us");
	check(vcore_uthread_quantum() == 2000, "vcore_uthread_quantum()");
	check(wait_for(all_progressed), "with a quantum every spinner runs");
	stop_spinners();
	print_pstats("starve");
}

/* ---- mutex ---------------------------------------------------------------- */

static struct uth_mutex cmtx = UTH_MUTEX_INIT;
static unsigned long counter;
static unsigned int incs;

static void *incrementer(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < incs; i++) {
		unsigned long v;

		vcore_uth_mutex_lock(&cmtx);
		v = READ_ONCE(counter);
		for (volatile unsigned int s = 0; s < 300; s++)
			;
		WRITE_ONCE(counter, v + 1);
		vcore_uth_mutex_unlock(&cmtx);
		for (volatile unsigned int s = 0; s < 300; s++)
			;
	}
	return NULL;
}

static void phase_mutex(void)
{
	unsigned int n = 200 * scale;
	struct uthread **u = calloc(n, sizeof(*u));
	struct vcore_uthread_preempt_stats a, b;

	incs = 100 * scale;
	counter = 0;
	pstats(&a);
	check(vcore_uthread_set_quantum(50) == 0, "quantum 50 us");
	WRITE_ONCE(storm_on, 1);
	for (unsigned int i = 0; i < n; i++)
		u[i] = vcore_uthread_create(incrementer, NULL);
	for (unsigned int i = 0; i < n; i++)
		vcore_uthread_join(u[i], NULL);
	WRITE_ONCE(storm_on, 0);
	pstats(&b);
	printf("mutex: %u uthreads x %u: counter %lu, %lu preemptions, "
	       "%lu vcores preempted by the storm\n", n, incs, counter,
	       b.preemptions - a.preemptions, READ_ONCE(storm_preempted));
	check(counter == (unsigned long)n * incs, "the counter is exact");
	check(b.preemptions > a.preemptions, "ticks preempted uthreads");
	free(u);
}

/* ---- simd ----------------------------------------------------------------- */

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
		ymm_hold(in, out, 20000, &ctr);
		if (memcmp(in, out, sizeof(in)))
			fetch_add(&simd_bad, 1);
		fetch_add(&simd_rounds, 1);
		r++;
	}
	return NULL;
}

static unsigned long simd_base, simd_want;

static bool enough_preemptions(void)
{
	struct vcore_uthread_preempt_stats ps;

	pstats(&ps);
	return ps.preemptions - simd_base >= simd_want;
}

static void phase_simd(void)
{
	unsigned int n = 2 * nr_vc + 1;
	struct uthread *u[2 * MAX_SPIN + 1];
	struct vcore_uthread_preempt_stats ps;
	bool done;

	if (!__builtin_cpu_supports("avx")) {
		printf("simd: no AVX, skipped\n");
		return;
	}
	if (n > 2 * MAX_SPIN + 1)
		n = 2 * MAX_SPIN + 1;
	pstats(&ps);
	simd_base = ps.preemptions;
	simd_want = 3000 * scale;
	check(vcore_uthread_set_quantum(20) == 0, "quantum 20 us");
	WRITE_ONCE(storm_on, 1);
	for (unsigned int i = 0; i < n; i++)
		u[i] = vcore_uthread_create(simd_holder, (void *)(uintptr_t)(i + 1));
	done = wait_for(enough_preemptions);
	WRITE_ONCE(simd_stop, 1);
	WRITE_ONCE(storm_on, 0);
	for (unsigned int i = 0; i < n; i++)
		vcore_uthread_join(u[i], NULL);
	pstats(&ps);
	printf("simd: %u uthreads, %lu rounds, %lu bad, %lu preemptions\n", n,
	       simd_rounds, simd_bad, ps.preemptions - simd_base);
	check(done, "thousands of preemptions happened");
	check(!simd_bad, "ymm0-15 survive every preemption");
}

/* ---- disable -------------------------------------------------------------- */

static unsigned int holder_done;
static int holder_ok = -1, holder_took = -1;
static unsigned long holder_deferred;

static void *holder(void *arg)
{
	struct uthread *self = vcore_uthread_self();
	struct vcore_uthread_preempt_stats a, b;
	unsigned long before;
	double t0 = now_s();

	(void)arg;
	vcore_uth_preempt_disable();
	vcore_uth_preempt_disable();		/* nested */
	vcore_uth_preempt_enable();
	before = READ_ONCE(self->nr_preempted);
	pstats(&a);
	do {
		pstats(&b);
	} while (b.deferred - a.deferred < 30 && now_s() - t0 < CAP_SECS);
	holder_deferred = b.deferred - a.deferred;
	holder_ok = READ_ONCE(self->nr_preempted) == before &&
		    READ_ONCE(self->preempt_pending);
	vcore_uth_preempt_enable();		/* takes the deferred one */
	/* (and, preemptible again, perhaps a tick's since) */
	pstats(&a);
	holder_took = READ_ONCE(self->nr_preempted) > before &&
		      a.deferred_taken > b.deferred_taken;
	WRITE_ONCE(holder_done, 1);
	return NULL;
}

static bool holder_finished(void)
{
	return READ_ONCE(holder_done);
}

static void phase_disable(void)
{
	struct uthread *h;
	bool done;

	check(vcore_uthread_set_quantum(100) == 0, "quantum 100 us");
	start_spinners(nr_vc + 1);
	h = vcore_uthread_create(holder, NULL);
	done = wait_for(holder_finished);
	stop_spinners();
	vcore_uthread_join(h, NULL);
	printf("disable: %lu ticks deferred while preemption was off\n",
	       holder_deferred);
	check(done && holder_deferred >= 30, "ticks came and were deferred");
	check(holder_ok == 1, "never switched out with preemption off, "
	      "the tick remembered");
	check(holder_took == 1, "preempt_enable took the deferred preemption");
	print_pstats("disable");
}

/* ---- sleep ---------------------------------------------------------------- */

#define NR_SLEEPERS	40

static uint64_t sleep_base;
static unsigned int early, sleep_errs, woken_order[NR_SLEEPERS];

/* what is left to d: 0 once it passed (not a wrapped-around ns count) */
static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void *sleeper(void *arg)
{
	unsigned int i = (uintptr_t)arg;
	uint64_t d = sleep_base + (uint64_t)i * 3000000, t;
	int err;

	if (i % 2)
		err = vcore_uthread_sleep_until(d);
	else
		err = vcore_uthread_sleep_ns(d - min_u64(d, vcore_alarm_now()));
	t = vcore_alarm_now();
	if (err)
		fetch_add(&sleep_errs, 1);
	if (t < d)
		fetch_add(&early, 1);
	woken_order[fetch_add(&nr_woken, 1)] = i;
	return NULL;
}

static struct uth_mutex tmtx = UTH_MUTEX_INIT;
static struct uth_cond_var tcv = UTH_COND_VAR_INIT;
static struct event_queue *tevq;
static unsigned int timed_bad, cv_flag;
static int got_lock, got_cv, got_evq;

static void timed_expect(int ret, int want, uint64_t deadline)
{
	if (ret != want || (want == -ETIMEDOUT && vcore_alarm_now() < deadline)) {
		printf("timed wait: %d, wanted %d\n", ret, want);
		fetch_add(&timed_bad, 1);
	}
}

static void *timed_waiter(void *arg)
{
	unsigned int i = (uintptr_t)arg;
	uint64_t d = vcore_alarm_now() + 5000000 + i * 1000000ULL;
	struct event_msg m;

	/* tmtx is held by the main uthread: time out on it */
	timed_expect(vcore_uth_mutex_timedlock(&tmtx, d), -ETIMEDOUT, d);
	d = vcore_alarm_now() + 3000000;
	timed_expect(vcore_uth_blockon_evqs_timed(&m, &tevq, 1, d),
		     -ETIMEDOUT, d);
	return NULL;
}

static void *cv_waiter(void *arg)
{
	uint64_t d;
	int ret;

	(void)arg;
	/* timed out, holding tmtx again */
	vcore_uth_mutex_lock(&tmtx);
	d = vcore_alarm_now() + 4000000;
	timed_expect(vcore_uth_cond_var_timedwait(&tcv, &tmtx, d), -ETIMEDOUT,
		     d);
	timed_expect(tmtx.locked ? 0 : -1, 0, 0);
	/* signalled in time */
	d = vcore_alarm_now() + 60000000000ULL;
	ret = 0;
	while (!cv_flag && !ret)
		ret = vcore_uth_cond_var_timedwait(&tcv, &tmtx, d);
	got_cv = ret == 0 && cv_flag;
	vcore_uth_mutex_unlock(&tmtx);
	return NULL;
}

static void *late_locker(void *arg)
{
	uint64_t d = vcore_alarm_now() + 60000000000ULL;

	(void)arg;
	got_lock = vcore_uth_mutex_timedlock(&tmtx, d) == 0;
	vcore_uth_mutex_unlock(&tmtx);
	return NULL;
}

static void *evq_late_waiter(void *arg)
{
	uint64_t d = vcore_alarm_now() + 60000000000ULL;
	struct event_msg m;

	(void)arg;
	got_evq = vcore_uth_blockon_evqs_timed(&m, &tevq, 1, d) == 0 &&
		  m.ev_arg2 == 77;
	return NULL;
}

static void *timed_main(void *arg)
{
	struct uthread *w[8], *c;

	(void)arg;
	vcore_uth_mutex_lock(&tmtx);
	for (unsigned int i = 0; i < 8; i++)
		w[i] = vcore_uthread_create(timed_waiter, (void *)(uintptr_t)i);
	for (unsigned int i = 0; i < 8; i++)
		vcore_uthread_join(w[i], NULL);
	/* a timed lock that gets the mutex in time */
	vcore_uth_mutex_unlock(&tmtx);
	c = vcore_uthread_create(cv_waiter, NULL);
	vcore_uthread_sleep_ns(20000000);
	vcore_uth_mutex_lock(&tmtx);
	cv_flag = 1;
	vcore_uth_cond_var_signal(&tcv);
	vcore_uth_mutex_unlock(&tmtx);
	vcore_uthread_join(c, NULL);
	/* a timed lock that blocks, and gets the mutex in time */
	vcore_uth_mutex_lock(&tmtx);
	c = vcore_uthread_create(late_locker, NULL);
	vcore_uthread_sleep_ns(10000000);
	vcore_uth_mutex_unlock(&tmtx);
	vcore_uthread_join(c, NULL);
	/* a timed ev_q wait that blocks, and gets a message in time */
	c = vcore_uthread_create(evq_late_waiter, NULL);
	vcore_uthread_sleep_ns(10000000);
	{
		struct vcore_send_event se = { .ev_q = (uintptr_t)tevq };

		se.msg.ev_type = EV_FREE_APPLE_PIE;
		se.msg.ev_arg2 = 77;
		if (ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se))
			printf("SEND_EVENT: %d\n", -errno);
	}
	vcore_uthread_join(c, NULL);
	return NULL;
}

static void phase_sleep_only(void)
{
	struct uthread *u[NR_SLEEPERS];
	unsigned int inversions = 0;

	check(vcore_uthread_set_quantum(100) == 0, "quantum 100 us");
	sleep_base = vcore_alarm_now() + 30000000;
	for (unsigned int k = 0; k < NR_SLEEPERS; k++) {
		unsigned int i = (k * 17) % NR_SLEEPERS;

		u[i] = vcore_uthread_create(sleeper, (void *)(uintptr_t)i);
	}
	for (unsigned int i = 0; i < NR_SLEEPERS; i++)
		vcore_uthread_join(u[i], NULL);
	for (unsigned int k = 1; k < NR_SLEEPERS; k++)
		inversions += woken_order[k] < woken_order[k - 1];
	printf("sleep: %u sleepers, %u early, %u errors, %u out of deadline "
	       "order\n", NR_SLEEPERS, early, sleep_errs, inversions);
	check(!early && !sleep_errs, "no sleeper woke before its deadline");
}

static void phase_sleep(void)
{
	struct uthread *u[NR_SLEEPERS], *t;
	unsigned int inversions = 0;

	check(vcore_uthread_set_quantum(100) == 0, "quantum 100 us");
	sleep_base = vcore_alarm_now() + 30000000;
	/* created in an order unlike their deadlines' */
	for (unsigned int k = 0; k < NR_SLEEPERS; k++) {
		unsigned int i = (k * 17) % NR_SLEEPERS;

		u[i] = vcore_uthread_create(sleeper, (void *)(uintptr_t)i);
	}
	for (unsigned int i = 0; i < NR_SLEEPERS; i++)
		vcore_uthread_join(u[i], NULL);
	for (unsigned int k = 1; k < NR_SLEEPERS; k++)
		inversions += woken_order[k] < woken_order[k - 1];
	printf("sleep: %u sleepers, %u early, %u errors, %u out of deadline "
	       "order (vcores run them concurrently)\n", NR_SLEEPERS, early,
	       sleep_errs, inversions);
	check(!early && !sleep_errs, "no sleeper woke before its deadline");

	set_phase("timed waits");
	tevq = vcore_get_eventq(EV_MBOX_UCQ);
	check(tevq && vcore_evq_attach_wakeup_ctlr(tevq) == 0,
	      "an ev_q with a wakeup controller");
	t = vcore_uthread_create(timed_main, NULL);
	vcore_uthread_join(t, NULL);
	check(!timed_bad, "timed waits time out with -ETIMEDOUT, never early");
	check(got_lock, "a timed lock gets a mutex released in time");
	check(got_cv, "a timed wait signalled in time returns 0");
	check(got_evq, "a timed ev_q wait gets a message sent in time");
	print_pstats("sleep");
}

int main(int argc, char **argv)
{
	pthread_t st, wd;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		scale = atof(argv[1]);
	if (scale <= 0)
		scale = 1;
	err = vcore_dev_open(&dev);
	if (!err)
		err = vcore_arena_setup(&dev, 8 << 20);
	if (!err)
		err = vcore_uthread_lib_init(&dev);
	if (err) {
		printf("setup: %d\nRESULT FAIL\n", err);
		return 1;
	}
	if (!vcore_dev_has_ioctl(&dev, VCORE_IOC_NR_ALARM_SET)) {
		printf("RESULT SKIP: the module has no alarms\n");
		return 0;
	}
	nr_vc = dev.api.nr_pcores < dev.api.max_vcores ? dev.api.nr_pcores :
							 dev.api.max_vcores;
	if (nr_vc + 2 > MAX_SPIN)
		nr_vc = MAX_SPIN - 2;
	printf("max_vcores %u, pcores %u\n", dev.api.max_vcores,
	       dev.api.nr_pcores);
	check(vcore_uthread_set_quantum(5) == -EINVAL, "quantum 5 us: -EINVAL");
	if (geteuid() == 0)
		pthread_create(&st, NULL, storm, NULL);
	else
		printf("not root: no preemption storm\n");
	pthread_create(&wd, NULL, watchdog, NULL);
	if (argc > 2 && !strcmp(argv[2], "sleep")) {
		/* only the sleepers, again and again */
		for (int i = 0; i < 20; i++) {
			set_phase("sleep");
			early = sleep_errs = nr_woken = 0;
			phase_sleep_only();
		}
		goto out;
	}
	set_phase("starve");
	phase_starve();
	set_phase("mutex");
	phase_mutex();
	set_phase("simd");
	phase_simd();
	set_phase("disable");
	phase_disable();
	set_phase("sleep");
	phase_sleep();
	set_phase("end");
out:
	check(vcore_uthread_set_quantum(0) == 0, "back to cooperative");
	WRITE_ONCE(storm_stop, 1);
	if (geteuid() == 0)
		pthread_join(st, NULL);
	print_pstats("total");
	printf("RESULT %s\n", failed ? "FAIL" : "PASS");
	return failed;
}
