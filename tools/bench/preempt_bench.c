// SPDX-License-Identifier: GPL-2.0
/*
 * preempt-bench: time slicing of uthreads on vcores, with libvcore's
 * per-vcore alarm tick (vcore_uthread_set_quantum()) against a POSIX
 * timer signal per vcore thread whose handler preempts the same way
 * (uth_preempt_from_signal()).  Three parts, each run with both tick
 * sources at the same quantum:
 *
 *   cost   two spinning uthreads per vcore: from a tick's due time to
 *          the first instruction of the uthread that runs next on that
 *          vcore.  The due time is ev_arg4 of the EV_ALARM message for
 *          the alarm tick (a handler of ours, registered first, keeps
 *          it), and for the signal the scheduled expiry that queued
 *          it, less its overruns (kept by the signal handler before it
 *          preempts); split at the handler.
 *   spin   2 x vcores spinning uthreads, each counting loop iterations:
 *          iterations per second at quanta 5 us .. 1 ms against the
 *          cooperative run (no tick: only one uthread a vcore runs),
 *          best of three rounds.
 *   hol    an open-loop generator on a CPU no vcore gets draws Poisson
 *          arrivals of short requests (0.5% of them 100 times as long)
 *          and hands each to a parked worker uthread (or queues it, if
 *          all are busy): latency from the scheduled arrival to the end
 *          of the work, p50 / p99 / p99.9 of the short requests, and
 *          the requests served per second, for cooperative, alarm-tick
 *          and signal-tick scheduling at several loads.
 *
 * The signal source arms one CLOCK_MONOTONIC timer per vcore thread
 * (SIGEV_THREAD_ID, its id from libvcore) for the whole part, whether
 * the vcore runs uthreads or is idle; libvcore's tick is armed only
 * while the vcore runs uthreads.  Times are read with rdtsc and mapped
 * to CLOCK_MONOTONIC through anchors the main thread refreshes every few
 * milliseconds (tmap_read()).
 *
 *   preempt-bench [--quick | --smoke] [--out DIR] [--short-us N]
 *                 [--hol-quantum-us N] [--parts cost,spin,hol]
 *
 * --short-us: the short request's work (50 us by default, scaled up for
 * QEMU TCG; the long one is 100 times that).  --hol-quantum-us: the
 * quantum of the hol part (500 us by default).  --parts: only those
 * parts (all three by default).  --smoke: a little of
 * everything; prints RESULT PASS when every part ran: every request
 * served once, every spinner ran under both tick sources (liveness, no
 * time is judged).  Writes OUTDIR/preempt-bench.csv, the data files and
 * preempt-bench.gp, the gnuplot script that draws preempt-bench.png.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "barrier.h"
#include "event.h"
#include "uthread.h"
#include "uthread_internal.h"
#include "vcore_ctx.h"
#include "vcore_ctx_internal.h"

/* glibc before 2.35 names the field only inside its union */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id	_sigev_un._tid
#endif

#define MAX_V		64
#define MAX_SPIN	(2 * MAX_V)
#define NR_WORKERS	256
#define LONG_EVERY	200		/* 0.5% of the requests are long */
#define LONG_FACTOR	100
#define SWITCH_GAP_NS	2000		/* a longer hole in a spin loop */

enum source { SRC_COOP, SRC_ALARM, SRC_SIGNAL, NR_SRC };

static const char *const src_name[NR_SRC] = {
	"cooperative", "vcore alarm", "signal",
};

static inline uint64_t rdtsc_now(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct vcore_dev dev;
static unsigned int nv;			/* vcores: the managed pcores */
static unsigned int quick;		/* 1 --quick, 2 --smoke */
static const char *outdir = ".";
static double tsc_per_ns;
static unsigned int short_us = 50, hol_quantum_us = 500;
static int failed;
static unsigned int parts = 7;		/* 1 cost, 2 spin, 4 hol */

static void fail(const char *why)
{
	printf("FAIL: %s\n", why);
	failed = 1;
}

static void calibrate(void)
{
	struct timespec d = { 0, quick == 2 ? 50000000 : 250000000 };
	uint64_t n0 = mono_ns(), t0 = rdtsc_now(), n1, t1;

	nanosleep(&d, NULL);
	t1 = rdtsc_now();
	n1 = mono_ns();
	tsc_per_ns = (double)(t1 - t0) / (double)(n1 - n0);
}

/*
 * TSC -> CLOCK_MONOTONIC.  A calibration over a fraction of a second is
 * off by a few parts in 10^4 under QEMU, hundreds of microseconds over a
 * part: the main thread takes a fresh anchor every few milliseconds
 * while a part runs (the offset), and the slope is that from the first
 * anchor to the latest.  Only the main thread writes, under a sequence
 * count; vcores and their signal handlers read.
 */
struct tmap {
	uint64_t tsc, mono;
	double tpn;			/* TSC ticks per ns */
};

static struct tmap tmap_first, tmap_cur;
static unsigned int tmap_seq;

static void anchor(void)
{
	uint64_t best = UINT64_MAX, tsc = 0, mono = 0;
	struct tmap m;

	for (int i = 0; i < 8; i++) {
		uint64_t a = rdtsc_now(), n = mono_ns(), b = rdtsc_now();

		if (b - a < best) {
			best = b - a;
			tsc = a + (b - a) / 2;
			mono = n;
		}
	}
	if (!tmap_first.tsc)
		tmap_first = (struct tmap){ tsc, mono, tsc_per_ns };
	m.tsc = tsc;
	m.mono = mono;
	m.tpn = mono - tmap_first.mono > 200000000ULL ?
		(double)(tsc - tmap_first.tsc) /
		(double)(mono - tmap_first.mono) : tsc_per_ns;
	WRITE_ONCE(tmap_seq, tmap_seq + 1);
	smp_wmb();
	tmap_cur = m;
	smp_wmb();
	WRITE_ONCE(tmap_seq, tmap_seq + 1);
}

static struct tmap tmap_read(void)
{
	struct tmap m;
	unsigned int seq;

	do {
		seq = smp_load_acquire(&tmap_seq);
		m = tmap_cur;
		smp_rmb();
	} while ((seq & 1) || seq != READ_ONCE(tmap_seq));
	return m;
}

static uint64_t mono_to_tsc(uint64_t mono)
{
	struct tmap m = tmap_read();

	return m.tsc + (uint64_t)(int64_t)((double)(int64_t)(mono - m.mono) *
					   m.tpn);
}

static uint64_t tsc_to_mono(uint64_t tsc)
{
	struct tmap m = tmap_read();

	return m.mono + (uint64_t)(int64_t)((double)(int64_t)(tsc - m.tsc) /
					    m.tpn);
}

static uint64_t ns_to_tsc(double ns)
{
	return (uint64_t)(ns * tsc_per_ns);
}

static double tsc_to_ns(uint64_t t)
{
	return (double)t / tsc_per_ns;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ---- samples ---------------------------------------------------------- */

struct samples {
	double *ns;
	unsigned int n, cap;
};

static void samples_init(struct samples *s, unsigned int cap)
{
	s->ns = calloc(cap, sizeof(double));
	s->n = 0;
	s->cap = s->ns ? cap : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const struct samples *s, double p)
{
	size_t i;

	if (!s->n)
		return 0;
	i = (size_t)(p * (s->n - 1) + 0.5);
	return s->ns[i];
}

static void samples_sort(struct samples *s)
{
	qsort(s->ns, s->n, sizeof(double), cmp_double);
}

/* ---- tick sources ----------------------------------------------------- */

/*
 * The due time (CLOCK_MONOTONIC ns) of the last tick seen on each vcore,
 * written by the tick's handler on that vcore before it preempts, read
 * by the uthread that runs next there.
 */
static uint64_t last_due[MAX_V];
static uint64_t last_handler_tsc[MAX_V];	/* when that handler ran */
static unsigned long ticks_seen[NR_SRC];

static int tick_sig;
static timer_t sig_timer[MAX_V];
static uint64_t sig_t0, sig_period;	/* the signal ticks' schedule */

/*
 * EV_ALARM, registered before libvcore's own handlers so that it runs
 * first: libvcore's tick may leave the handler for another uthread.
 */
static void on_alarm(struct event_msg *msg, unsigned int type, void *data)
{
	unsigned int v = vcore_id();

	(void)type;
	(void)data;
	if (v < MAX_V) {
		WRITE_ONCE(last_handler_tsc[v], rdtsc_now());
		WRITE_ONCE(last_due[v], msg->ev_arg4);
	}
	fetch_add(&ticks_seen[SRC_ALARM], 1);
}

/*
 * The signal stays blocked while its handler runs (no SA_NODEFER): under
 * QEMU a signal costs more than the shortest quanta, and with SA_NODEFER
 * the kernel stacks frame on frame for the expiries that come while it
 * delivers one, until the stack runs out.  A handler that switches its
 * uthread out leaves its thread with the tick blocked, though, and the
 * next uthread there may not start from inside a handler of its own
 * (whose return unblocks it): one that starts fresh or from a block
 * unblocks it itself (tick_unblock()) if the thread's last handler had
 * not returned.
 */
static __thread unsigned int tick_blocked;

static void tick_unblock(void)
{
	sigset_t set;

	if (!tick_blocked)
		return;
	tick_blocked = 0;
	sigemptyset(&set);
	sigaddset(&set, tick_sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* The signal tick, on the vcore thread it was aimed at. */
static void on_tick_signal(int sig, siginfo_t *si, void *uc)
{
	uint64_t period = READ_ONCE(sig_period), now;
	unsigned int v = vcore_id();

	(void)sig;
	/*
	 * The expiry that queued this signal: the last one due before now,
	 * less those that passed while it waited (si_overrun), as the
	 * alarm's ev_arg4 is the expiry that fired.
	 */
	if (v < MAX_V && period) {
		uint64_t tsc = rdtsc_now(), k, over = (unsigned int)si->si_overrun;

		now = tsc_to_mono(tsc);
		if (now >= sig_t0) {
			k = (now - sig_t0) / period;
			WRITE_ONCE(last_handler_tsc[v], tsc);
			WRITE_ONCE(last_due[v],
				   sig_t0 + (k > over ? k - over : 0) * period);
		}
	}
	fetch_add(&ticks_seen[SRC_SIGNAL], 1);
	tick_blocked = 1;
	/*
	 * It may return much later, on another vcore thread; the return
	 * from this handler unblocks the tick on that one.
	 */
	uth_preempt_from_signal(uc);
	tick_blocked = 0;
}

static int signal_source_init(void)
{
	struct sigaction sa = { .sa_sigaction = on_tick_signal,
				.sa_flags = SA_SIGINFO | SA_RESTART };

	for (unsigned int v = 0; v < nv; v++) {
		struct sigevent sev = { .sigev_signo = tick_sig,
					.sigev_notify = SIGEV_THREAD_ID };

		sev.sigev_notify_thread_id = vcore_thread_tid(v);
		if (sev.sigev_notify_thread_id <= 0 ||
		    timer_create(CLOCK_MONOTONIC, &sev, &sig_timer[v])) {
			perror("timer_create");
			return -1;
		}
	}
	sigemptyset(&sa.sa_mask);
	return sigaction(tick_sig, &sa, NULL);
}

/* Every vcore thread's timer: period_ns from one common start, or off. */
static void signal_source_arm(uint64_t period_ns)
{
	struct itimerspec its = { 0 };
	uint64_t t0 = 0;

	if (period_ns) {
		t0 = mono_ns() + 1000000;
		its.it_value.tv_sec = t0 / 1000000000ULL;
		its.it_value.tv_nsec = t0 % 1000000000ULL;
		its.it_interval.tv_sec = period_ns / 1000000000ULL;
		its.it_interval.tv_nsec = period_ns % 1000000000ULL;
	}
	/* the schedule first: a handler reads it */
	WRITE_ONCE(sig_t0, t0);
	WRITE_ONCE(sig_period, period_ns);
	for (unsigned int v = 0; v < nv; v++)
		timer_settime(sig_timer[v], TIMER_ABSTIME, &its, NULL);
}

/* 0, or -EINVAL if the alarm tick cannot be that short. */
static int source_set(enum source src, unsigned int quantum_us)
{
	int err;

	anchor();
	memset(last_due, 0, sizeof(last_due));
	memset(last_handler_tsc, 0, sizeof(last_handler_tsc));
	err = vcore_uthread_set_quantum(src == SRC_ALARM ? quantum_us : 0);
	if (err == -EINVAL && src == SRC_ALARM)
		return err;
	if (err) {
		printf("vcore_uthread_set_quantum(%u): %s\n", quantum_us,
		       strerror(-err));
		fail("set_quantum");
	}
	signal_source_arm(src == SRC_SIGNAL ? quantum_us * 1000ULL : 0);
	return 0;
}

/* ---- spinners: cost and spin ------------------------------------------ */

struct spinner {
	unsigned long iters;
	unsigned long switches;		/* holes: it was off the CPU */
	char pad[48];
} __attribute__((aligned(64)));

static struct spinner spinners[MAX_SPIN];
static unsigned int spin_stop;
/* the whole cost, and its two halves: due -> handler -> next uthread */
static struct samples *cost_out, *cost_hdl_out, *cost_sw_out;
static unsigned int cost_lock;

static void cost_record(double ns, double hdl_ns, double sw_ns)
{
	vcore_uth_disable_notifs();
	vcore_pdr_lock(&cost_lock);
	if (cost_out && cost_out->n < cost_out->cap) {
		cost_out->ns[cost_out->n++] = ns;
		cost_hdl_out->ns[cost_hdl_out->n++] = hdl_ns;
		cost_sw_out->ns[cost_sw_out->n++] = sw_ns;
	}
	vcore_pdr_unlock(&cost_lock);
	vcore_uth_enable_notifs();
}

/*
 * Spins and counts; a hole longer than SWITCH_GAP_NS between two reads
 * of the TSC is a time it did not run.  Resuming after one, it looks up
 * the last tick on the vcore it now runs on: due after it stopped and
 * before now, that tick is what put it back on the CPU.
 */
static void *spin_fn(void *arg)
{
	struct spinner *s = arg;
	uint64_t gap = ns_to_tsc(SWITCH_GAP_NS), last = rdtsc_now();

	tick_unblock();
	while (!READ_ONCE(spin_stop)) {
		uint64_t now = rdtsc_now();

		if (now - last > gap) {
			tick_unblock();
			unsigned int v = vcore_id();
			uint64_t due = v < MAX_V ? READ_ONCE(last_due[v]) : 0;
			uint64_t hdl = v < MAX_V ?
				       READ_ONCE(last_handler_tsc[v]) : 0;
			uint64_t due_tsc = due ? mono_to_tsc(due) : 0;

			s->switches++;
			if (cost_out && due && due_tsc > last && due_tsc <= now &&
			    hdl >= due_tsc && hdl <= now)
				cost_record(tsc_to_ns(now - due_tsc),
					    tsc_to_ns(hdl - due_tsc),
					    tsc_to_ns(now - hdl));
		}
		last = now;
		WRITE_ONCE(s->iters, s->iters + 1);
	}
	return NULL;
}

static unsigned long spin_total(unsigned int n)
{
	unsigned long t = 0;

	for (unsigned int i = 0; i < n; i++)
		t += READ_ONCE(spinners[i].iters);
	return t;
}

static unsigned int spin_ran(unsigned int n)
{
	unsigned int r = 0;

	for (unsigned int i = 0; i < n; i++)
		r += READ_ONCE(spinners[i].iters) > 0;
	return r;
}

/* Sleep, refreshing the TSC anchor every 5 ms. */
static void sleep_ns(uint64_t ns)
{
	while (ns) {
		uint64_t d = ns < 5000000 ? ns : 5000000;
		struct timespec ts = { 0, (long)d };

		nanosleep(&ts, NULL);
		anchor();
		ns -= d;
	}
}

struct spin_result {
	double per_s;			/* iterations per second */
	double switches_per_s;
	double preempts_per_s;		/* libvcore's count of tick switches */
	unsigned int ran;		/* spinners that ran at all */
	bool skipped;			/* the source cannot tick that fast */
};

static unsigned long preemptions(void)
{
	struct vcore_uthread_preempt_stats st;

	if (vcore_uthread_get_preempt_stats(&st, sizeof(st)))
		return 0;
	return st.preemptions;
}

/*
 * n spinners for run_ns under src: iterations per second after a
 * warm-up.  With a tick, keep going (up to 20 times run_ns, and at least
 * 30 s: a liveness bound, not a timing) until every spinner has run
 * once.
 */
static struct spin_result spin_phase(enum source src, unsigned int q_us,
				     unsigned int n, uint64_t run_ns)
{
	struct uthread *u[MAX_SPIN];
	struct spin_result r = { 0 };
	unsigned long i0, i1, s0 = 0, s1 = 0, p0, p1;
	uint64_t t0, t1, waited = 0;

	memset(spinners, 0, sizeof(spinners));
	WRITE_ONCE(spin_stop, 0);
	if (source_set(src, q_us)) {
		r.skipped = true;
		return r;
	}
	for (unsigned int i = 0; i < n; i++) {
		u[i] = vcore_uthread_create(spin_fn, &spinners[i]);
		if (!u[i]) {
			fail("uthread_create");
			n = i;
			break;
		}
	}
	sleep_ns(run_ns / 5);			/* warm-up */
	t0 = rdtsc_now();
	p0 = preemptions();
	i0 = spin_total(n);
	for (unsigned int i = 0; i < n; i++)
		s0 += READ_ONCE(spinners[i].switches);
	sleep_ns(run_ns);
	t1 = rdtsc_now();
	p1 = preemptions();
	i1 = spin_total(n);
	for (unsigned int i = 0; i < n; i++)
		s1 += READ_ONCE(spinners[i].switches);
	while (src != SRC_COOP && spin_ran(n) < n &&
	       (waited < 20 * run_ns || waited < 30000000000ULL)) {
		sleep_ns(run_ns / 10);
		waited += run_ns / 10;
	}
	r.ran = spin_ran(n);
	WRITE_ONCE(spin_stop, 1);
	for (unsigned int i = 0; i < n; i++)
		vcore_uthread_join(u[i], NULL);
	source_set(SRC_COOP, 0);
	r.per_s = (double)(i1 - i0) / (tsc_to_ns(t1 - t0) / 1e9);
	r.switches_per_s = (double)(s1 - s0) / (tsc_to_ns(t1 - t0) / 1e9);
	r.preempts_per_s = (double)(p1 - p0) / (tsc_to_ns(t1 - t0) / 1e9);
	return r;
}

/* ---- hol: requests handed to worker uthreads -------------------------- */

struct request {
	uint64_t arrive_tsc;		/* scheduled arrival */
	uint64_t handed_tsc;		/* the generator handed it on */
	uint64_t handoff_tsc;		/* hand_off() took that long */
	uint64_t done_tsc;
	uint64_t work;			/* loop iterations */
	unsigned int served;
	bool is_long;
};

struct worker {
	struct uthread *u;
	struct request *req;		/* NULL: exit */
	struct worker *next;
};

static struct {
	unsigned int lock;		/* vcore_pdr_lock, notifs off */
	struct worker *idle;		/* parked workers */
	struct request **pend;		/* FIFO when every worker is busy */
	unsigned int pend_head, pend_tail, pend_cap;
	unsigned int nr_idle;
} pool;

static struct worker workers[NR_WORKERS];
static double iters_per_ns;		/* calibrated work loop */
static unsigned long served_total;

static void work_loop(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		__asm__ volatile("" ::: "memory");
}

static void park_cb(struct uthread *u, void *arg)
{
	struct worker *w = arg;

	(void)u;
	w->next = pool.idle;
	pool.idle = w;
	pool.nr_idle++;
	vcore_pdr_unlock(&pool.lock);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;

	tick_unblock();
	for (;;) {
		struct request *r = NULL;

		vcore_uth_disable_notifs();
		vcore_pdr_lock(&pool.lock);
		if (pool.pend_head != pool.pend_tail)
			r = pool.pend[pool.pend_head++ % pool.pend_cap];
		if (r) {
			vcore_pdr_unlock(&pool.lock);
			vcore_uth_enable_notifs();
		} else {
			/* the lock is dropped once we are parked */
			vcore_uthread_block(park_cb, w);
			tick_unblock();
			r = w->req;
			if (!r)
				return NULL;
		}
		work_loop(r->work);
		r->done_tsc = rdtsc_now();
		fetch_add(&r->served, 1);
		fetch_add(&served_total, 1);
	}
}

/* Hand r to a parked worker, or queue it. */
static void hand_off(struct request *r)
{
	struct worker *w;

	vcore_pdr_lock(&pool.lock);
	w = pool.idle;
	if (w) {
		pool.idle = w->next;
		pool.nr_idle--;
		w->req = r;
	} else {
		pool.pend[pool.pend_tail++ % pool.pend_cap] = r;
	}
	vcore_pdr_unlock(&pool.lock);
	if (w)
		vcore_uthread_runnable(w->u);
}

static void wait_idle_workers(unsigned int n)
{
	while (READ_ONCE(pool.nr_idle) < n)
		sleep_ns(100000);
}

static int pool_start(unsigned int nreq)
{
	memset(&pool, 0, sizeof(pool));
	pool.pend_cap = nreq + 1;
	pool.pend = calloc(pool.pend_cap, sizeof(*pool.pend));
	if (!pool.pend)
		return -1;
	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		workers[i].req = NULL;
		workers[i].u = vcore_uthread_create(worker_fn, &workers[i]);
		if (!workers[i].u)
			return -1;
	}
	wait_idle_workers(NR_WORKERS);
	return 0;
}

static void pool_stop(void)
{
	wait_idle_workers(NR_WORKERS);
	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		struct worker *w;

		vcore_pdr_lock(&pool.lock);
		w = pool.idle;
		pool.idle = w->next;
		pool.nr_idle--;
		w->req = NULL;
		vcore_pdr_unlock(&pool.lock);
		vcore_uthread_runnable(w->u);
	}
	for (unsigned int i = 0; i < NR_WORKERS; i++)
		vcore_uthread_join(workers[i].u, NULL);
	free(pool.pend);
	pool.pend = NULL;
}

/*
 * Calibrate work_loop() on a vcore: iterations per ns, the median of 21
 * runs (under QEMU on a shared host the fastest is far from typical).
 */
static void *calib_fn(void *arg)
{
	uint64_t n = 200000, t0;
	double ns[21];

	(void)arg;
	for (int i = 0; i < 21; i++) {
		t0 = rdtsc_now();
		work_loop(n);
		ns[i] = tsc_to_ns(rdtsc_now() - t0);
	}
	qsort(ns, 21, sizeof(ns[0]), cmp_double);
	iters_per_ns = (double)n / ns[10];
	return NULL;
}

/* xorshift64*: the arrivals and the long requests, the same each run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static double rng_unit(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 0x2545f4914f6cdd1dULL) >> 11) /
	       (double)(1ULL << 53);
}

struct hol_result {
	struct samples shorts, longs;
	double per_s;			/* requests served per second */
	double lag_p99_ns;		/* generator: scheduled -> handed */
	double handoff_p50_ns;		/* generator: one hand_off() */
	unsigned long bad;		/* requests not served exactly once */
};

static struct hol_result hol_phase(enum source src, double load,
				   unsigned int nreq)
{
	struct hol_result res = { 0 };
	struct request *reqs = calloc(nreq, sizeof(*reqs));
	double short_ns = short_us * 1000.0;
	double mean_ns = short_ns * (1.0 - 1.0 / LONG_EVERY) +
			 short_ns * LONG_FACTOR / LONG_EVERY;
	/* load = arrival rate x mean work / vcores */
	double gap_ns = mean_ns / (load * nv);
	struct vcore_uthread_preempt_stats p0, p1;
	struct uthread_stats u0, u1;
	struct samples lag;
	uint64_t t, first, last_done = 0;

	samples_init(&res.shorts, nreq);
	samples_init(&res.longs, nreq / LONG_EVERY + 16);
	samples_init(&lag, nreq);
	if (!reqs || !res.shorts.cap || !lag.cap || pool_start(nreq)) {
		fail("hol: no memory");
		free(reqs);
		return res;
	}
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (unsigned int i = 0; i < nreq; i++) {
		reqs[i].is_long = rng_unit() < 1.0 / LONG_EVERY;
		reqs[i].work = (uint64_t)(short_ns * iters_per_ns *
					  (reqs[i].is_long ? LONG_FACTOR : 1));
	}
	source_set(src, hol_quantum_us);
	sleep_ns(20000000);
	vcore_uthread_get_preempt_stats(&p0, sizeof(p0));
	vcore_uthread_get_stats(&u0);
	first = t = rdtsc_now() + ns_to_tsc(1e6);
	for (unsigned int i = 0; i < nreq; i++) {
		t += ns_to_tsc(-log(1.0 - rng_unit()) * gap_ns);
		reqs[i].arrive_tsc = t;
		while (rdtsc_now() < t)
			cpu_relax();
		reqs[i].handed_tsc = rdtsc_now();
		hand_off(&reqs[i]);
		reqs[i].handoff_tsc = rdtsc_now() - reqs[i].handed_tsc;
	}
	wait_idle_workers(NR_WORKERS);
	vcore_uthread_get_preempt_stats(&p1, sizeof(p1));
	vcore_uthread_get_stats(&u1);
	pool_stop();
	source_set(SRC_COOP, 0);
	printf("  %s: ticks %lu, preemptions %lu, deferred %lu, idle ticks "
	       "%lu, tick arms %lu; vcore yields %lu, kicks %lu, requests "
	       "%lu\n", src_name[src], p1.ticks - p0.ticks,
	       p1.preemptions - p0.preemptions, p1.deferred - p0.deferred,
	       p1.idle_ticks - p0.idle_ticks, p1.arms - p0.arms,
	       u1.vcore_yields - u0.vcore_yields, u1.kicks - u0.kicks,
	       u1.requests - u0.requests);
	for (unsigned int i = 0; i < nreq; i++) {
		struct request *r = &reqs[i];
		struct samples *s = r->is_long ? &res.longs : &res.shorts;

		if (r->served != 1) {
			res.bad++;
			continue;
		}
		if (s->n < s->cap)
			s->ns[s->n++] = tsc_to_ns(r->done_tsc - r->arrive_tsc);
		lag.ns[lag.n++] = tsc_to_ns(r->handed_tsc - r->arrive_tsc);
		if (r->done_tsc > last_done)
			last_done = r->done_tsc;
	}
	samples_sort(&res.shorts);
	samples_sort(&res.longs);
	samples_sort(&lag);
	res.lag_p99_ns = pct(&lag, 0.99);
	lag.n = 0;
	for (unsigned int i = 0; i < nreq; i++)
		lag.ns[lag.n++] = tsc_to_ns(reqs[i].handoff_tsc);
	samples_sort(&lag);
	res.handoff_p50_ns = pct(&lag, 0.5);
	if (last_done > first)
		res.per_s = (double)(nreq - res.bad) /
			    (tsc_to_ns(last_done - first) / 1e9);
	free(lag.ns);
	free(reqs);
	return res;
}

/* ---- the run ---------------------------------------------------------- */

static const unsigned int quanta_full[] = {
	5, 10, 20, 50, 100, 200, 500, 1000,
};
static const unsigned int quanta_smoke[] = { 100, 1000 };
static const double loads_full[] = { 0.2, 0.4, 0.6, 0.8 };
static const double loads_smoke[] = { 0.4 };

static FILE *open_out(const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "w");
	if (!f)
		perror(path);
	return f;
}

static void write_gnuplot(void)
{
	FILE *gp = open_out("preempt-bench.gp");

	if (!gp)
		return;
	fprintf(gp, "%s",
		"# gnuplot preempt-bench.gp, in the directory of the data\n"
		"set terminal pngcairo size 1500,480 noenhanced\n"
		"set output 'preempt-bench.png'\n"
		"set multiplot layout 1,3 title 'preempt-bench (QEMU TCG: "
		"read the ratios)'\n"
		"set grid\n"
		"set key bottom right\n"
		"set title 'cost of one preemption: tick due -> next uthread'\n"
		"set xlabel 'us'\nset ylabel 'fraction of preemptions'\n"
		"set logscale x\n"
		"plot 'preempt-bench-cost.dat' index 0 using ($1/1000):2 "
		"with lines lw 2 lc rgb '#8b00c8' title 'vcore alarm', "
		"'' index 1 using ($1/1000):2 with lines lw 2 lc rgb '#009e73' "
		"title 'signal'\n"
		"set title 'spinning uthreads: throughput lost to the tick'\n"
		"set xlabel 'quantum (us)'\nset ylabel 'percent of cooperative'\n"
		"set key top right\n"
		"set yrange [0:100]\n"
		"plot 'preempt-bench-spin.dat' using 1:2 with linespoints "
		"lw 2 lc rgb '#8b00c8' title 'vcore alarm', '' using 1:3 with "
		"linespoints lw 2 lc rgb '#009e73' title 'signal'\n"
		"set title 'short requests behind rare long ones: p99'\n"
		"set xlabel 'load'\nset ylabel 'p99 latency (us)'\n"
		"unset logscale x\nset logscale y\nset autoscale y\n"
		"set key top left\n"
		"plot 'preempt-bench-hol.dat' using 1:2 with linespoints lw 2 "
		"lc rgb '#555555' title 'cooperative', '' using 1:3 with "
		"linespoints lw 2 lc rgb '#8b00c8' title 'vcore alarm', '' "
		"using 1:4 with linespoints lw 2 lc rgb '#009e73' "
		"title 'signal'\n"
		"unset multiplot\n");
	fclose(gp);
}

static void write_cdf(FILE *f, const struct samples *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		fprintf(f, "%.0f %.5f\n", s->ns[i], (i + 1.0) / s->n);
	if (!s->n)
		fprintf(f, "1 0\n");
	fprintf(f, "\n\n");
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--quick | --smoke] [--out DIR] "
		"[--short-us N] [--hol-quantum-us N] [--parts cost,spin,hol]\n",
		argv0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "smoke", no_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "short-us", required_argument, NULL, 'w' },
		{ "hol-quantum-us", required_argument, NULL, 'Q' },
		{ "parts", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const unsigned int *quanta;
	const double *loads;
	unsigned int nq, nl, nreq, cost_q_us = 1000, spins, rows = 0,
		     rows_expected, skipped = 0, reps;
	struct samples cost[NR_SRC], cost_hdl[NR_SRC], cost_sw[NR_SRC];
	struct spin_result coop, sr[NR_SRC][8];
	struct hol_result hol[NR_SRC][4];
	uint64_t spin_ns, cost_ns;
	int cpu_gen = -1, c, sigs[1];
	struct uthread *cu;
	FILE *csv, *dat;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "qso:w:Q:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quick = 1;
			break;
		case 's':
			quick = 2;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'w':
			short_us = strtoul(optarg, NULL, 0);
			break;
		case 'Q':
			hol_quantum_us = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			parts = (strstr(optarg, "cost") ? 1 : 0) |
				(strstr(optarg, "spin") ? 2 : 0) |
				(strstr(optarg, "hol") ? 4 : 0);
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 1;
		}
	}
	if (!short_us || !hol_quantum_us) {
		usage(argv[0]);
		return 1;
	}
	quanta = quick == 2 ? quanta_smoke : quanta_full;
	nq = quick == 2 ? 2 : 8;
	loads = quick == 2 ? loads_smoke : loads_full;
	nl = quick == 2 ? 1 : 4;
	reps = quick == 2 ? 1 : 3;
	nreq = quick == 2 ? 2000 : quick ? 8000 : 30000;
	spin_ns = quick == 2 ? 200000000ULL : quick ? 500000000ULL :
		  1500000000ULL;
	cost_ns = quick == 2 ? 300000000ULL : quick ? 1000000000ULL :
		  3000000000ULL;

	if (vcore_dev_open(&dev)) {
		fprintf(stderr, "cannot open /dev/vcore: is vcore.ko loaded?\n");
		return 1;
	}
	for (unsigned int i = 0; i < dev.kprocinfo->nr_pcores; i++) {
		if (dev.kprocinfo->pcoremap[i].managed)
			nv++;
		else if (cpu_gen < 0)
			cpu_gen = (int)i;
	}
	if (nv > dev.api.max_vcores)
		nv = dev.api.max_vcores;
	if (nv > MAX_V)
		nv = MAX_V;
	if (!nv || cpu_gen < 0) {
		fprintf(stderr, "needs a managed pcore and a CPU that is not\n");
		return 1;
	}
	pin_self(cpu_gen);
	calibrate();
	anchor();
	if (vcore_arena_setup(&dev, 16 << 20)) {
		fprintf(stderr, "arena setup failed\n");
		return 1;
	}
	tick_sig = SIGRTMIN + 2;
	sigs[0] = tick_sig;
	vcore_unblock_signals(sigs, 1);
	if (vcore_register_ev_handler(EV_ALARM, on_alarm, NULL) ||
	    vcore_uthread_lib_init(&dev) || signal_source_init()) {
		fprintf(stderr, "libvcore setup failed\n");
		return 1;
	}
	c = vcore_uthread_set_quantum(hol_quantum_us);
	if (c == -ENOTTY) {
		printf("RESULT SKIP: the module has no alarms\n");
		return 0;
	}
	vcore_uthread_set_quantum(0);
	spins = 2 * nv;
	printf("preempt-bench: %u vcores, generator on CPU %d, TSC %.3f GHz, "
	       "%s; short requests %u us, long %u us, hol quantum %u us\n",
	       nv, cpu_gen, tsc_per_ns, quick == 2 ? "smoke" :
	       quick ? "quick" : "full", short_us, short_us * LONG_FACTOR,
	       hol_quantum_us);

	/* cost */
	memset(cost, 0, sizeof(cost));
	memset(cost_hdl, 0, sizeof(cost_hdl));
	memset(cost_sw, 0, sizeof(cost_sw));
	for (int s = SRC_ALARM; s <= SRC_SIGNAL && (parts & 1); s++) {
		struct spin_result r;

		samples_init(&cost[s], 200000);
		samples_init(&cost_hdl[s], 200000);
		samples_init(&cost_sw[s], 200000);
		cost_lock = 0;
		cost_hdl_out = &cost_hdl[s];
		cost_sw_out = &cost_sw[s];
		WRITE_ONCE(cost_out, &cost[s]);
		r = spin_phase(s, cost_q_us, spins, cost_ns);
		WRITE_ONCE(cost_out, NULL);
		samples_sort(&cost[s]);
		samples_sort(&cost_hdl[s]);
		samples_sort(&cost_sw[s]);
		printf("cost, %-12s quantum %u us: %u preemptions seen "
		       "(libvcore: %.0f preemptions/s), p50 %.0f ns, "
		       "p99 %.0f ns; due -> handler p50 %.0f p99 %.0f, "
		       "handler -> next uthread p50 %.0f p99 %.0f\n",
		       src_name[s], cost_q_us, cost[s].n, r.preempts_per_s,
		       pct(&cost[s], 0.5), pct(&cost[s], 0.99),
		       pct(&cost_hdl[s], 0.5), pct(&cost_hdl[s], 0.99),
		       pct(&cost_sw[s], 0.5), pct(&cost_sw[s], 0.99));
		if (!cost[s].n)
			fail("cost: no preemption seen");
	}

	/*
	 * spin: best of reps rounds, each the cooperative run and then
	 * every quantum with both sources, so that a stretch of the host
	 * taking our vCPUs away spoils one round, not one row
	 */
	memset(sr, 0, sizeof(sr));
	memset(&coop, 0, sizeof(coop));
	for (unsigned int rep = 0; rep < reps && (parts & 2); rep++) {
		struct spin_result r = spin_phase(SRC_COOP, 0, spins, spin_ns);

		printf("spin, round %u, cooperative: %.0f iterations/s, %u of "
		       "%u spinners ran\n", rep + 1, r.per_s, r.ran, spins);
		if (r.per_s > coop.per_s)
			coop = r;
		for (unsigned int i = 0; i < nq; i++) {
			for (int s = SRC_ALARM; s <= SRC_SIGNAL; s++) {
				r = spin_phase(s, quanta[i], spins, spin_ns);
				if (r.skipped) {
					if (!rep)
						printf("spin, %-12s quantum %4u us: "
						       "below its shortest period, "
						       "left out\n", src_name[s],
						       quanta[i]);
					sr[s][i].skipped = true;
					continue;
				}
				if (r.ran != spins)
					fail("spin: a spinner never ran under a "
					     "tick");
				if (r.per_s > sr[s][i].per_s)
					sr[s][i] = r;
			}
		}
	}
	for (unsigned int i = 0; i < nq && (parts & 2); i++) {
		for (int s = SRC_ALARM; s <= SRC_SIGNAL; s++) {
			struct spin_result *r = &sr[s][i];

			if (r->skipped) {
				skipped++;
				continue;
			}
			printf("spin, %-12s quantum %4u us: %.0f iterations/s, "
			       "lost %.1f%%, %.0f preemptions/s, %u of %u ran\n",
			       src_name[s], quanta[i], r->per_s,
			       100.0 * (1.0 - r->per_s / coop.per_s),
			       r->preempts_per_s, r->ran, spins);
		}
	}

	/* hol */
	cu = vcore_uthread_create(calib_fn, NULL);
	if (!cu || vcore_uthread_join(cu, NULL) || iters_per_ns <= 0) {
		fprintf(stderr, "work calibration failed\n");
		return 1;
	}
	memset(hol, 0, sizeof(hol));
	for (unsigned int l = 0; l < nl && (parts & 4); l++) {
		for (int s = SRC_COOP; s <= SRC_SIGNAL; s++) {
			struct hol_result *h = &hol[s][l];

			*h = hol_phase(s, loads[l], nreq);
			printf("hol, load %.1f, %-12s short p50 %.0f p99 %.0f "
			       "p99.9 %.0f ns, long p50 %.0f ns, %.0f req/s; "
			       "generator: lag p99 %.0f ns, hand-off p50 "
			       "%.0f ns\n", loads[l],
			       src_name[s], pct(&h->shorts, 0.5),
			       pct(&h->shorts, 0.99), pct(&h->shorts, 0.999),
			       pct(&h->longs, 0.5), h->per_s, h->lag_p99_ns,
			       h->handoff_p50_ns);
			if (h->bad)
				fail("hol: a request not served exactly once");
			if (!h->shorts.n)
				fail("hol: no short request served");
		}
	}

	/* the table and the plot's data */
	csv = open_out("preempt-bench.csv");
	if (!csv)
		return 1;
	fprintf(csv, "part,source,quantum_us,load,samples,p50_ns,p99_ns,"
		"p99.9_ns,per_s,x_ref\n");
	for (int s = SRC_ALARM; s <= SRC_SIGNAL && (parts & 1); s++) {
		fprintf(csv, "cost,%s,%u,,%u,%.0f,%.0f,%.0f,,%.3f\n",
			src_name[s], cost_q_us, cost[s].n, pct(&cost[s], 0.5),
			pct(&cost[s], 0.99), pct(&cost[s], 0.999),
			pct(&cost[SRC_SIGNAL], 0.5) > 0 ?
			pct(&cost[s], 0.5) / pct(&cost[SRC_SIGNAL], 0.5) : 0);
		rows += cost[s].n > 0;
	}
	if (parts & 2)
		fprintf(csv, "spin,cooperative,0,,,,,,%.0f,1.000\n",
			coop.per_s);
	rows += coop.per_s > 0;
	for (unsigned int i = 0; i < nq && (parts & 2); i++)
		for (int s = SRC_ALARM; s <= SRC_SIGNAL; s++) {
			if (sr[s][i].skipped)
				continue;
			fprintf(csv, "spin,%s,%u,,,,,,%.0f,%.3f\n", src_name[s],
				quanta[i], sr[s][i].per_s,
				sr[s][i].per_s / coop.per_s);
			rows += sr[s][i].per_s > 0;
		}
	for (unsigned int l = 0; l < nl && (parts & 4); l++)
		for (int s = SRC_COOP; s <= SRC_SIGNAL; s++) {
			const struct hol_result *h = &hol[s][l];
			double ref = pct(&hol[SRC_COOP][l].shorts, 0.99);

			fprintf(csv, "hol,%s,%u,%.1f,%u,%.0f,%.0f,%.0f,%.0f,%.3f\n",
				src_name[s], s == SRC_COOP ? 0 : hol_quantum_us,
				loads[l], h->shorts.n, pct(&h->shorts, 0.5),
				pct(&h->shorts, 0.99), pct(&h->shorts, 0.999),
				h->per_s, ref > 0 ? pct(&h->shorts, 0.99) / ref : 0);
			rows += h->shorts.n > 0;
		}
	fclose(csv);
	dat = open_out("preempt-bench-cost.dat");
	if (dat) {
		write_cdf(dat, &cost[SRC_ALARM]);
		write_cdf(dat, &cost[SRC_SIGNAL]);
		fclose(dat);
	}
	dat = open_out("preempt-bench-spin.dat");
	if (dat) {
		fprintf(dat, "# quantum_us lost_alarm_pct lost_signal_pct\n");
		for (unsigned int i = 0; i < nq; i++) {
			fprintf(dat, "%u ", quanta[i]);
			for (int s = SRC_ALARM; s <= SRC_SIGNAL; s++)
				if (sr[s][i].skipped)
					fprintf(dat, " NaN");
				else
					fprintf(dat, " %.2f", 100.0 *
						(1.0 - sr[s][i].per_s /
						 coop.per_s));
			fprintf(dat, "\n");
		}
		fclose(dat);
	}
	dat = open_out("preempt-bench-hol.dat");
	if (dat) {
		fprintf(dat, "# load short_p99_us: cooperative alarm signal\n");
		for (unsigned int l = 0; l < nl; l++)
			fprintf(dat, "%.2f %.1f %.1f %.1f\n", loads[l],
				pct(&hol[SRC_COOP][l].shorts, 0.99) / 1e3,
				pct(&hol[SRC_ALARM][l].shorts, 0.99) / 1e3,
				pct(&hol[SRC_SIGNAL][l].shorts, 0.99) / 1e3);
		fclose(dat);
	}
	write_gnuplot();

	/* the targets */
	if (pct(&cost[SRC_SIGNAL], 0.5) > 0)
		printf("target: vcore preemption <= 1/3 of a signal one: "
		       "p50 %.2fx, p99 %.2fx of the signal's\n",
		       pct(&cost[SRC_ALARM], 0.5) / pct(&cost[SRC_SIGNAL], 0.5),
		       pct(&cost[SRC_ALARM], 0.99) /
		       pct(&cost[SRC_SIGNAL], 0.99));
	for (unsigned int l = 0; l < nl; l++) {
		double ref = pct(&hol[SRC_COOP][l].shorts, 0.99);

		if (ref > 0 && pct(&hol[SRC_ALARM][l].shorts, 0.99) > 0)
			printf("target: short p99 >= 5x lower with preemption, "
			       "load %.1f: vcore alarm %.1fx, signal %.1fx "
			       "lower\n", loads[l],
			       ref / pct(&hol[SRC_ALARM][l].shorts, 0.99),
			       ref / pct(&hol[SRC_SIGNAL][l].shorts, 0.99));
	}
	rows_expected = (parts & 1 ? 2 : 0) +
			(parts & 2 ? 1 + 2 * nq - skipped : 0) +
			(parts & 4 ? 3 * nl : 0);
	printf("wrote %s/preempt-bench.csv, the .dat files and "
	       "preempt-bench.gp\nrows: %u of %u\n", outdir, rows,
	       rows_expected);
	if (rows != rows_expected)
		fail("a row has no data");
	printf(failed ? "RESULT FAIL\n" : "RESULT PASS\n");
	fflush(stdout);
	/* the vcores idle until the process exits; the module cleans up */
	_exit(failed ? 2 : 0);
}
