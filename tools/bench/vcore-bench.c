// SPDX-License-Identifier: GPL-2.0
/*
 * vcore-bench: vcore's event delivery and notification side by side with
 * what Linux offers, in one run on the same CPUs.
 *
 *   notify      send call -> first instruction of the target's vcore_entry
 *               (libvcore's entry stamp), the target vcore spinning in
 *               vcore context with notifications enabled, for SEND_EVENT
 *               (UCQ ev_q, EVENT_IPI), NOTIFY (EV_USER_IPI) and
 *               SELF_NOTIFY, and an eventfd write -> its fd tap (UCQ
 *               ev_q, EVENT_IPI); against
 *               pthread_kill() to a pinned spinning thread (stamp in the
 *               handler), eventfd -> epoll_wait, futex wake and a pipe to
 *               blocked waiters; and the floors (test=1 only): a bare IPI
 *               one way and a synchronous smp_call_function_single, both
 *               to the target vcore right before its rows, and the least
 *               a notification needs (an ioctl whose async IPI queues
 *               task work that sends a spinning thread to a user
 *               function, VCORE_TEST_IPI_TO_USER).  Every receiver spins
 *               the same way (receiver_spin()).
 *   wakeup      every vcore yielded (the process WAITING), SEND_EVENT
 *               through an EVENT_WAKEUP ev_q -> first instruction of the
 *               vcore_entry its grant starts; against a futex wake of a
 *               sleeping thread, measured just before.
 *   poll        SEND_EVENT -> message seen by a poller spinning on another
 *               CPU, for the UCQ, CEQ and bitmap mailboxes.
 *   throughput  kernel producers (test=1) on every CPU but the consumer's
 *               into one UCQ / CEQ, against eventfd and a pipe written by
 *               user threads on the same CPUs.
 *   alarm       an absolute CLOCK_MONOTONIC deadline -> the receiver runs:
 *               a per-vcore alarm (VCORE_IOC_ALARM_SET through libvcore's
 *               alarm service) to its handler in vcore context, against
 *               a timerfd -> epoll_wait and a timer_create() signal
 *               (SIGEV_THREAD_ID) to a pinned spinning thread; the same
 *               deadlines, ratios to both.
 *   batch       N = 1, 8, 64 SEND_EVENTs into one UCQ, then one SELF_NOTIFY
 *               -> the target vcore has taken all N; against N eventfd
 *               writes -> a blocked reader has read N.
 *   scaling     notify 1..N vcores at once (until the last one entered);
 *               the SEND_EVENT call's cost at each fallback depth (the
 *               vcore's own mbox, the online list, the bulk-preempted
 *               list, the inactive head, the ultimate fallback).
 *
 * Every time is read with rdtsc on both sides (the TSCs must agree across
 * CPUs: the run prints the skew it measures) and converted with a
 * frequency calibrated against
 * CLOCK_MONOTONIC.  Prints a table of p50 / p99 / p99.9 / max in ns and
 * ratios to signal delivery and to the IPI floor; writes OUTDIR/
 * vcore-bench.csv, the samples (vcore-bench-samples.dat) and a gnuplot
 * script (vcore-bench.gp) that draws vcore-bench.png from them.
 *
 *   vcore-bench [--quick | --smoke] [--out DIR] [--iters N]
 *
 * --quick: 300 samples a row (1000 by default) and fewer messages; --smoke:
 * 30 samples a row, to check that every row runs.
 *
 * Run it in the VM or on a host with vcore.ko loaded (its test build,
 * make module-test, with test=1 for the floors, the kernel producers and
 * the fallback depths; without them those rows are left out).  Exit status 0 when every row it could run ran.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <linux/futex.h>
#include <linux/vcore_test.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "barrier.h"
#include "event.h"
#include "vcore_alarm.h"
#include "vcore_ctx.h"
#include "vcore_tap.h"

#define MAX_SERIES	48
#define MAX_V		64

static inline uint64_t rdtsc_now(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

static double tsc_per_ns;
static unsigned int iters = 1000;
static unsigned int quick;
static const char *outdir = ".";

/* ---- samples and statistics ------------------------------------------ */

struct series {
	const char *group, *name;
	double *ns;			/* samples, sorted by finish() */
	unsigned int n, cap;
	double rate;			/* per second, throughput rows */
	unsigned long events;		/* throughput: events delivered */
	double p50, p99, p999, max, mean;
};

static struct series series[MAX_SERIES];
static unsigned int nr_series;

static struct series *new_series(const char *group, const char *name,
				 unsigned int cap)
{
	struct series *s = &series[nr_series++];

	s->group = group;
	s->name = name;
	s->cap = cap;
	s->ns = cap ? calloc(cap, sizeof(double)) : NULL;
	return s;
}

static void add_tsc(struct series *s, uint64_t ticks)
{
	if (s->n < s->cap)
		s->ns[s->n++] = (double)(int64_t)ticks / tsc_per_ns;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const struct series *s, double q)
{
	unsigned int i = (unsigned int)(q * s->n);

	return s->ns[i < s->n ? i : s->n - 1];
}

static void finish(struct series *s)
{
	double sum = 0;

	if (!s->n)
		return;
	qsort(s->ns, s->n, sizeof(double), cmp_double);
	for (unsigned int i = 0; i < s->n; i++)
		sum += s->ns[i];
	s->mean = sum / s->n;
	s->p50 = pct(s, 0.50);
	s->p99 = pct(s, 0.99);
	s->p999 = pct(s, 0.999);
	s->max = s->ns[s->n - 1];
}

static struct series *find(const char *name)
{
	for (unsigned int i = 0; i < nr_series; i++)
		if (!strcmp(series[i].name, name) && series[i].n)
			return &series[i];
	return NULL;
}

/* ---- CPUs, time ------------------------------------------------------- */

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void spin_ticks(uint64_t ticks)
{
	uint64_t t = rdtsc_now();

	while (rdtsc_now() - t < ticks)
		__builtin_ia32_pause();
}

static double mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void calibrate(void)
{
	struct timespec d = { 0, quick ? 100000000 : 250000000 };
	double n0 = mono_ns(), n1;
	uint64_t t0 = rdtsc_now(), t1;

	nanosleep(&d, NULL);
	t1 = rdtsc_now();
	n1 = mono_ns();
	tsc_per_ns = (double)(t1 - t0) / (n1 - n0);
}

static int ncpus;
static int cpu_send;		/* the sender's CPU: not a vcore's */
static int cpu_target;		/* the receiver's: a managed pcore */
static uint64_t gap;		/* between samples (200 us), in TSC ticks */

/*
 * Cross-CPU TSC check: cache-line ping-pong between the sender's and the
 * receiver's CPU, stamped on each side.  The smallest one-way figure in
 * each direction is transit plus or minus the skew; half their difference
 * is the skew itself (receiver's TSC minus the sender's).
 */
static uint64_t pp_stamp;
static unsigned int pp_turn;		/* atomic: 1 to the receiver, 2 back */

static void *pp_peer(void *arg)
{
	pin((int)(intptr_t)arg);
	for (unsigned int i = 0; i < 400; i++) {
		while (smp_load_acquire(&pp_turn) != 1)
			;
		pp_stamp = rdtsc_now();
		smp_store_release(&pp_turn, 2);
	}
	return NULL;
}

static void tsc_skew(int sender, int receiver)
{
	double ab = 1e18, ba = 1e18;
	pthread_t th;

	pin(sender);
	pthread_create(&th, NULL, pp_peer, (void *)(intptr_t)receiver);
	for (unsigned int i = 0; i < 400; i++) {
		uint64_t t0 = rdtsc_now(), t1;

		smp_store_release(&pp_turn, 1);
		while (smp_load_acquire(&pp_turn) != 2)
			;
		t1 = rdtsc_now();
		if ((double)(int64_t)(pp_stamp - t0) < ab)
			ab = (double)(int64_t)(pp_stamp - t0);
		if ((double)(int64_t)(t1 - pp_stamp) < ba)
			ba = (double)(int64_t)(t1 - pp_stamp);
	}
	pthread_join(th, NULL);
	printf("TSC CPU %d -> %d: one-way min %.0f ns there, %.0f ns back: "
	       "skew about %.0f ns\n", sender, receiver, ab / tsc_per_ns,
	       ba / tsc_per_ns, (ab - ba) / 2 / tsc_per_ns);
}

/* ---- the receiving side of the Linux baselines ------------------------ */

static volatile uint64_t recv_tsc;
static unsigned int recv_seq;		/* atomic */
static unsigned int stop;		/* atomic */
static pid_t waiter_tid;		/* atomic: a blocking receiver */

/*
 * Wait (up to 1 s) until the blocking receiver sleeps in the kernel
 * again: a wakeup sent before it blocks would measure a thread that is
 * still awake.
 */
static void wait_blocked(void)
{
	double t0 = mono_ns();
	char path[64], buf[256], *p;
	pid_t tid;
	FILE *f;

	while ((tid = READ_ONCE(waiter_tid)) && mono_ns() - t0 < 1e9) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		f = fopen(path, "r");
		if (!f)
			return;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (!p || (p[1] == ' ' && p[2] == 'S'))
			return;
	}
}

static void received(void)
{
	recv_tsc = rdtsc_now();
	smp_store_release(&recv_seq, recv_seq + 1);
}

/*
 * The sender spins while it waits for the receiver and between two
 * samples, except with several vcores spinning (sleepy): under QEMU every
 * spinning vCPU takes a host CPU, and the receivers need them more.  (A
 * sleeping sender is no faster for it: under TCG a CPU back from idle
 * pays for a cold software TLB in its next system call.)
 */
static int sleepy;

static void wait_a_little(void)
{
	struct timespec d = { 0, 20000 };

	if (sleepy)
		nanosleep(&d, NULL);
}

/* Wait until the receiver has counted past seq; 0 on a timeout (5 s). */
static int wait_seq(unsigned int *seqp, unsigned int seq)
{
	double t0 = mono_ns();

	while (smp_load_acquire(seqp) == seq) {
		if (mono_ns() - t0 > 5e9)
			return 0;
		wait_a_little();
	}
	return 1;
}

/* The pause between two samples, for the receiver to settle. */
static void pause_gap(void)
{
	struct timespec d = { 0, 200000 };

	if (sleepy)
		nanosleep(&d, NULL);
	else
		spin_ticks(gap);
}

static void on_signal(int sig)
{
	(void)sig;
	received();
}

/*
 * Every receiver spins this way, the vcores in vcore context and the
 * baselines' threads alike.  No PAUSE while one receiver spins: under
 * QEMU's TCG a PAUSE leaves the translated code and the vCPU then takes
 * QEMU's global lock, which the sender's write to the emulated APIC needs
 * too, so a receiver spinning with it makes every IPI to it slower, the
 * floor's included.  With several vcores spinning (sleepy) they spin with
 * PAUSE: there the vCPUs outnumber the host's CPUs, and without it a
 * spinning vCPU holds its host CPU for a whole host time slice.
 */

static void spin_until_stop(void)
{
	while (!READ_ONCE(stop))
		__asm__ volatile("" ::: "memory");
}

static void __attribute__((noreturn)) receiver_spin(void)
{
	for (;;) {
		if (READ_ONCE(sleepy))
			__builtin_ia32_pause();
		else
			__asm__ volatile("" ::: "memory");
	}
}

static void *spinner(void *arg)
{
	pin((int)(intptr_t)arg);
	spin_until_stop();
	return NULL;
}

static int efd, epfd, pfd[2];
static unsigned int futex_word;

/* Blocked in epoll_wait on epfd; reads the 8-byte count of the fd woken. */
static void *epoll_waiter(void *arg)
{
	struct epoll_event ev;
	uint64_t v;

	pin((int)(intptr_t)arg);
	WRITE_ONCE(waiter_tid, gettid());
	while (!READ_ONCE(stop)) {
		if (epoll_wait(epfd, &ev, 1, -1) != 1)
			continue;
		received();
		if (read(ev.data.fd, &v, sizeof(v)) < 0)
			break;
	}
	return NULL;
}

static long futex(unsigned int *uaddr, int op, unsigned int val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void *futex_waiter(void *arg)
{
	pin((int)(intptr_t)arg);
	WRITE_ONCE(waiter_tid, gettid());
	while (!READ_ONCE(stop)) {
		while (!__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE))
			futex(&futex_word, FUTEX_WAIT_PRIVATE, 0);
		received();
		__atomic_store_n(&futex_word, 0, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *pipe_reader(void *arg)
{
	char c;

	pin((int)(intptr_t)arg);
	WRITE_ONCE(waiter_tid, gettid());
	while (!READ_ONCE(stop)) {
		if (read(pfd[0], &c, 1) != 1)
			break;
		received();
	}
	return NULL;
}

enum baseline { B_SIGNAL, B_EVENTFD, B_FUTEX, B_PIPE };

static void kick(enum baseline b, pthread_t th)
{
	uint64_t one = 1;

	switch (b) {
	case B_SIGNAL:
		pthread_kill(th, SIGUSR1);
		break;
	case B_EVENTFD:
		if (write(efd, &one, sizeof(one)) < 0)
			perror("eventfd");
		break;
	case B_FUTEX:
		__atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
		futex(&futex_word, FUTEX_WAKE_PRIVATE, 1);
		break;
	case B_PIPE:
		if (write(pfd[1], "x", 1) < 0)
			perror("pipe");
		break;
	}
}

static void run_baseline(enum baseline b, const char *name)
{
	static void *(*const fn[])(void *) = {
		spinner, epoll_waiter, futex_waiter, pipe_reader,
	};
	struct series *s = new_series("notify", name, iters);
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_t th;

	WRITE_ONCE(stop, 0);
	if (b == B_EVENTFD) {
		efd = eventfd(0, 0);
		epfd = epoll_create1(0);
		ev.data.fd = efd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev);
	} else if (b == B_PIPE && pipe(pfd)) {
		perror("pipe");
		return;
	}
	pthread_create(&th, NULL, fn[b], (void *)(intptr_t)cpu_target);
	spin_ticks(20 * gap);
	for (unsigned int i = 0; i < iters; i++) {
		unsigned int seq;
		uint64_t t0;

		if (b != B_SIGNAL)
			wait_blocked();
		seq = smp_load_acquire(&recv_seq);
		t0 = rdtsc_now();
		kick(b, th);
		if (!wait_seq(&recv_seq, seq)) {
			fprintf(stderr, "%s: no delivery\n", name);
			break;
		}
		add_tsc(s, recv_tsc - t0);
		pause_gap();
	}
	WRITE_ONCE(stop, 1);
	kick(b, th);
	pthread_join(th, NULL);
	WRITE_ONCE(waiter_tid, 0);
	if (b == B_EVENTFD) {
		close(epfd);
		close(efd);
	} else if (b == B_PIPE) {
		close(pfd[0]);
		close(pfd[1]);
	}
}

/* ---- alarms: deadline -> the receiver runs ---------------------------- */

/* How far ahead each sample's deadline is: past the arming call's cost. */
#define ALARM_LEAD_NS	500000ULL

/*
 * One sample's deadline, in CLOCK_MONOTONIC ns for the timer and in TSC
 * ticks for the receiver's stamp (read back to back).
 */
static uint64_t alarm_deadline(uint64_t *tsc)
{
	uint64_t m = (uint64_t)mono_ns();

	*tsc = rdtsc_now() + (uint64_t)(ALARM_LEAD_NS * tsc_per_ns);
	return m + ALARM_LEAD_NS;
}

/* older C libraries name only the union member */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id	_sigev_un._tid
#endif

static int tfd;
static pid_t spin_tid;		/* atomic */

static void *tid_spinner(void *arg)
{
	pin((int)(intptr_t)arg);
	WRITE_ONCE(spin_tid, gettid());
	spin_until_stop();
	return NULL;
}

/* Arm the baseline's timer for deadline ns; 0 or -1. */
static int arm_baseline(bool use_timerfd, timer_t t, uint64_t deadline)
{
	struct itimerspec its = {
		.it_value = { deadline / 1000000000ULL, deadline % 1000000000ULL },
	};

	if (use_timerfd)
		return timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
	return timer_settime(t, TIMER_ABSTIME, &its, NULL);
}

/*
 * A timerfd with a thread blocked in epoll_wait on it, or a POSIX timer
 * whose signal goes to a thread spinning (SIGEV_THREAD_ID), both on the
 * receiver's CPU: deadline -> the thread runs.
 */
static void run_alarm_baseline(bool use_timerfd, const char *name)
{
	struct series *s = new_series("alarm", name, iters);
	struct epoll_event ev = { .events = EPOLLIN };
	struct sigevent sev = { .sigev_signo = SIGUSR1,
				.sigev_notify = SIGEV_THREAD_ID };
	timer_t t = 0;
	pthread_t th;

	WRITE_ONCE(stop, 0);
	WRITE_ONCE(spin_tid, 0);
	if (use_timerfd) {
		tfd = timerfd_create(CLOCK_MONOTONIC, 0);
		epfd = epoll_create1(0);
		ev.data.fd = tfd;
		if (tfd < 0 || epfd < 0 ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev)) {
			perror(name);
			return;
		}
		pthread_create(&th, NULL, epoll_waiter,
			       (void *)(intptr_t)cpu_target);
	} else {
		pthread_create(&th, NULL, tid_spinner,
			       (void *)(intptr_t)cpu_target);
		while (!READ_ONCE(spin_tid))
			spin_ticks(gap);
		sev.sigev_notify_thread_id = READ_ONCE(spin_tid);
		if (timer_create(CLOCK_MONOTONIC, &sev, &t)) {
			perror(name);
			WRITE_ONCE(stop, 1);
			pthread_join(th, NULL);
			return;
		}
	}
	spin_ticks(20 * gap);
	for (unsigned int i = 0; i < iters; i++) {
		uint64_t dl, dl_tsc;
		unsigned int seq;

		if (use_timerfd)
			wait_blocked();
		seq = smp_load_acquire(&recv_seq);
		dl = alarm_deadline(&dl_tsc);
		if (arm_baseline(use_timerfd, t, dl)) {
			perror(name);
			break;
		}
		if (!wait_seq(&recv_seq, seq)) {
			fprintf(stderr, "%s: no expiry\n", name);
			break;
		}
		add_tsc(s, recv_tsc - dl_tsc);
		pause_gap();
	}
	WRITE_ONCE(stop, 1);
	if (use_timerfd) {
		/* one more expiry lets the waiter see stop */
		uint64_t dl_tsc;

		arm_baseline(true, t, alarm_deadline(&dl_tsc));
	}
	pthread_join(th, NULL);
	WRITE_ONCE(waiter_tid, 0);
	if (use_timerfd) {
		close(epfd);
		close(tfd);
	} else {
		timer_delete(t);
	}
}

/* ---- floors: a bare IPI (test=1) -------------------------------------- */

/*
 * Measured right before the vcore rows, to the vcore that is about to
 * receive them, spinning in vcore context: the same receiver in the same
 * state of the host.
 */
static void run_floors(struct vcore_dev *dev, int cpu)
{
	struct series *one = new_series("notify", "floor: IPI one way", iters);
	struct series *rt = new_series("notify",
				       "floor: smp_call_function_single RTT",
				       iters);

	for (unsigned int i = 0; i < iters; i++) {
		struct vcore_test_ipi t = { .cpu = cpu };

		if (ioctl(dev->fd, VCORE_IOC_TEST_IPI, &t)) {
			perror("VCORE_IOC_TEST_IPI");
			break;
		}
		add_tsc(one, t.tsc_recv - t.tsc_send);
		add_tsc(rt, t.tsc_done - t.tsc_send);
		pause_gap();
	}
}

/*
 * The least a notification needs, from the same send call: an ioctl whose
 * IPI handler queues task work that sends the spinning thread to
 * to_user_landing() on its way back to user space
 * (VCORE_TEST_IPI_TO_USER), stamped there as vcore_entry is.
 */
static char landing_stack[16384] __attribute__((aligned(64)));

__attribute__((noreturn, force_align_arg_pointer))
static void to_user_landing(void)
{
	received();
	spin_until_stop();
	/* its own stack is gone: leave without unwinding (join still works) */
	syscall(SYS_exit, 0);
	__builtin_unreachable();
}

static unsigned int landing_ready;	/* atomic */

static void *to_user_spinner(void *arg)
{
	pin((int)(intptr_t)arg);
	smp_store_release(&landing_ready, 1);
	spin_until_stop();
	return NULL;
}

static void run_floor_to_user(struct vcore_dev *dev)
{
	struct series *s = new_series("notify",
				      "floor: ioctl, IPI, task work to user",
				      iters);
	pthread_t th;

	WRITE_ONCE(stop, 0);
	WRITE_ONCE(landing_ready, 0);
	pthread_create(&th, NULL, to_user_spinner,
		       (void *)(intptr_t)cpu_target);
	while (!smp_load_acquire(&landing_ready))
		wait_a_little();
	spin_ticks(20 * gap);
	for (unsigned int i = 0; i < iters; i++) {
		struct vcore_test_ipi t = {
			.cpu = cpu_target,
			.flags = VCORE_TEST_IPI_TO_USER,
			.resv = { (uintptr_t)to_user_landing,
				  (uintptr_t)landing_stack +
				  sizeof(landing_stack) },
		};
		unsigned int seq = smp_load_acquire(&recv_seq);
		uint64_t t0 = rdtsc_now();

		if (ioctl(dev->fd, VCORE_IOC_TEST_IPI, &t)) {
			perror("VCORE_IOC_TEST_IPI");
			break;
		}
		if (!wait_seq(&recv_seq, seq)) {
			fprintf(stderr, "floor to user: no landing\n");
			break;
		}
		add_tsc(s, recv_tsc - t0);
		pause_gap();
	}
	WRITE_ONCE(stop, 1);
	pthread_join(th, NULL);
}

/* ---- poll mode: SEND_EVENT -> a poller's mailbox ---------------------- */

static struct event_mbox *poll_mbox;

static void *poller(void *arg)
{
	struct event_msg m;

	pin((int)(intptr_t)arg);
	while (!READ_ONCE(stop))
		if (vcore_extract_one_mbox_msg(poll_mbox, &m))
			received();
	return NULL;
}

static void run_poll(struct vcore_dev *dev, unsigned int type,
		     const char *name)
{
	struct series *s = new_series("poll", name, iters);
	struct event_queue *ev_q;
	pthread_t th;

	if (type == EV_MBOX_CEQ) {
		ev_q = vcore_get_eventq_raw();
		if (ev_q && vcore_event_mbox_init_ceq(event_q_mbox(ev_q), CEQ_OR,
						64, 64)) {
			vcore_put_eventq(ev_q);
			ev_q = NULL;
		}
	} else {
		ev_q = vcore_get_eventq(type);
	}
	if (!ev_q) {
		fprintf(stderr, "%s: no ev_q\n", name);
		return;
	}
	poll_mbox = event_q_mbox(ev_q);
	WRITE_ONCE(stop, 0);
	pthread_create(&th, NULL, poller, (void *)(intptr_t)cpu_target);
	spin_ticks(20 * gap);
	for (unsigned int i = 0; i < iters; i++) {
		struct vcore_send_event se = {
			.ev_q = (uintptr_t)ev_q,
			.msg = { .ev_type = 9, .ev_arg2 = 1 },
		};
		unsigned int seq = smp_load_acquire(&recv_seq);
		uint64_t t0 = rdtsc_now();

		if (ioctl(dev->fd, VCORE_IOC_SEND_EVENT, &se)) {
			perror("VCORE_IOC_SEND_EVENT");
			break;
		}
		if (!wait_seq(&recv_seq, seq)) {
			fprintf(stderr, "%s: no delivery\n", name);
			break;
		}
		add_tsc(s, recv_tsc - t0);
		pause_gap();
	}
	WRITE_ONCE(stop, 1);
	pthread_join(th, NULL);
	vcore_put_eventq(ev_q);
}

/* ---- throughput ------------------------------------------------------- */

struct tp_run {
	struct event_mbox *mbox;
	int kind;			/* EV_MBOX_*, or 0 eventfd, -1 pipe */
	unsigned long want;		/* UCQ, eventfd, pipe: stop here */
	unsigned long got;
	unsigned int producers_done;	/* atomic: CEQ stops when empty */
	uint64_t t_last;
};

static void *tp_consumer(void *arg)
{
	struct tp_run *r = arg;
	static char buf[65536];
	struct event_msg m;
	uint64_t v;
	ssize_t n;

	pin(ncpus - 1);
	for (;;) {
		if (r->kind == EV_MBOX_UCQ || r->kind == EV_MBOX_CEQ) {
			if (vcore_extract_one_mbox_msg(r->mbox, &m)) {
				r->got++;
				r->t_last = rdtsc_now();
			} else if (r->kind == EV_MBOX_CEQ &&
				   smp_load_acquire(&r->producers_done) &&
				   vcore_mbox_is_empty(r->mbox)) {
				break;
			}
			if (r->kind == EV_MBOX_UCQ && r->got >= r->want)
				break;
		} else if (r->kind == 0) {
			if (read(efd, &v, sizeof(v)) != sizeof(v))
				break;
			r->got += v;
			if (r->got >= r->want)
				break;
		} else {
			n = read(pfd[0], buf, sizeof(buf));
			if (n <= 0)
				break;
			r->got += n;
			if (r->got >= r->want * sizeof(struct event_msg))
				break;
		}
	}
	r->t_last = rdtsc_now();
	return NULL;
}

struct uprod {
	int cpu, kind;
	unsigned int n;
};

static void *tp_user_producer(void *arg)
{
	struct uprod *u = arg;
	struct event_msg m = { .ev_type = 20 };
	uint64_t one = 1;

	pin(u->cpu);
	for (unsigned int i = 0; i < u->n; i++) {
		m.ev_arg4 = i;
		if (u->kind == 0 ? write(efd, &one, sizeof(one)) < 0 :
		    write(pfd[1], &m, sizeof(m)) < 0)
			break;
	}
	return NULL;
}

static void tp_result(const char *name, unsigned long events, uint64_t ticks)
{
	struct series *s = new_series("throughput", name, 0);

	s->events = events;
	s->rate = events / ((double)ticks / tsc_per_ns / 1e9);
	s->n = 1;
}

static void run_tp_kernel(struct vcore_dev *dev, unsigned int type,
			  const char *name, unsigned int per_producer)
{
	unsigned int nprod = ncpus - 1;
	struct vcore_test_produce p = {
		.nr_producers = nprod, .nr_msgs = per_producer,
		.mode = VCORE_TEST_PRODUCE_KTHREAD,
	};
	struct tp_run r = { .kind = type };
	struct event_queue *ev_q;
	pthread_t th;
	uint64_t t0;

	if (type == EV_MBOX_CEQ) {
		ev_q = vcore_get_eventq_raw();
		if (ev_q && vcore_event_mbox_init_ceq(event_q_mbox(ev_q), CEQ_ADD,
						256, 256)) {
			vcore_put_eventq(ev_q);
			ev_q = NULL;
		}
		p.ev_type = 100;
		p.nr_types = 64;
	} else {
		ev_q = vcore_get_eventq(type);
		p.ev_type = 20;
	}
	if (!ev_q)
		return;
	r.mbox = event_q_mbox(ev_q);
	r.want = (unsigned long)nprod * per_producer;
	p.ev_q = (uintptr_t)ev_q;
	pthread_create(&th, NULL, tp_consumer, &r);
	usleep(20000);
	t0 = rdtsc_now();
	if (ioctl(dev->fd, VCORE_IOC_TEST_PRODUCE, &p))
		perror("VCORE_IOC_TEST_PRODUCE");
	smp_store_release(&r.producers_done, 1);
	pthread_join(th, NULL);
	tp_result(name, r.want, r.t_last - t0);
	if (type == EV_MBOX_CEQ)
		printf("  %s: %lu events coalesced into %lu reads\n", name,
		       r.want, r.got);
	vcore_put_eventq(ev_q);
}

static void run_tp_user(int kind, const char *name, unsigned int per_producer)
{
	unsigned int nprod = ncpus - 1;
	struct uprod u[MAX_V];
	pthread_t th, pt[MAX_V];
	struct tp_run r = { .kind = kind };
	uint64_t t0;

	if (kind == 0)
		efd = eventfd(0, 0);
	else if (pipe(pfd))
		return;
	r.want = (unsigned long)nprod * per_producer;
	pthread_create(&th, NULL, tp_consumer, &r);
	usleep(20000);
	t0 = rdtsc_now();
	for (unsigned int i = 0; i < nprod && i < MAX_V; i++) {
		u[i] = (struct uprod){ .cpu = i, .kind = kind,
				       .n = per_producer };
		pthread_create(&pt[i], NULL, tp_user_producer, &u[i]);
	}
	for (unsigned int i = 0; i < nprod && i < MAX_V; i++)
		pthread_join(pt[i], NULL);
	pthread_join(th, NULL);
	tp_result(name, r.want, r.t_last - t0);
	if (kind == 0) {
		close(efd);
	} else {
		close(pfd[0]);
		close(pfd[1]);
	}
}

/* ---- fallback depth: the SEND_EVENT call's cost (own MCP, test=1) ----- */

/*
 * In a child process, whose MCP the lists are arranged for: the parent's
 * vcores stay untouched.  Results come back through shared memory.
 */
struct depth_result {
	unsigned int n;
	double ns[];
};

static int arrange(struct vcore_dev *dev, unsigned int state,
		   unsigned int list, unsigned int head_msgable)
{
	struct vcore_test_arrange a = { .state = state };
	unsigned int nv = dev->api.max_vcores;

	for (unsigned int v = 0; v < nv; v++) {
		struct vcore_preempt_data *vcpd = vcore_dev_vcpd(dev, v);

		a.list_of[v] = list;
		a.order[v] = v;
		__atomic_fetch_and(&vcpd->flags, ~(__u32)VC_CAN_RCV_MSG,
				   __ATOMIC_SEQ_CST);
	}
	if (head_msgable != -1U)
		__atomic_fetch_or(&vcore_dev_vcpd(dev, head_msgable)->flags,
				  (__u32)VC_CAN_RCV_MSG, __ATOMIC_SEQ_CST);
	return ioctl(dev->fd, VCORE_IOC_TEST_ARRANGE, &a);
}

static const char *const depth_names[] = {
	"fallback: vcore's own mbox",
	"fallback: online list",
	"fallback: bulk-preempted list",
	"fallback: inactive head",
	"fallback: ultimate (locked)",
};
#define NR_DEPTHS	5

static void depth_child(double *out, unsigned int n)
{
	struct vcore_dev dev;
	struct event_queue *ev_q;
	unsigned int t;

	if (vcore_dev_open(&dev) || vcore_arena_setup(&dev, 4 << 20) ||
	    vcore_vcpd_mboxes_init(&dev))
		_exit(1);
	ev_q = vcore_get_eventq_slim();
	if (!ev_q || dev.api.max_vcores < 2)
		_exit(1);
	/* the suggested vcore is the last; the lists' heads are vcore 0 */
	t = dev.api.max_vcores - 1;
	ev_q->ev_flags = EVENT_SPAM_PUBLIC;
	ev_q->ev_vcore = t;
	pin(cpu_send);
	for (unsigned int d = 0; d < NR_DEPTHS; d++) {
		/* state, list, the vcore that looks (-1U: none) */
		const unsigned int how[NR_DEPTHS][3] = {
			{ VCORE_PROC_RUNNING_M, VCORE_TEST_ONLINE, t },
			{ VCORE_PROC_RUNNING_M, VCORE_TEST_ONLINE, -1U },
			{ VCORE_PROC_RUNNABLE_M, VCORE_TEST_BULK_PREEMPTED,
			  -1U },
			{ VCORE_PROC_RUNNABLE_M, VCORE_TEST_INACTIVE, 0 },
			{ VCORE_PROC_WAITING, VCORE_TEST_INACTIVE, -1U },
		};

		if (arrange(&dev, how[d][0], how[d][1], how[d][2]))
			_exit(2);
		for (unsigned int i = 0; i < n; i++) {
			struct vcore_send_event se = {
				.ev_q = (uintptr_t)ev_q,
				.msg = { .ev_type = 9 },
			};
			uint64_t t0 = rdtsc_now(), t1;

			if (ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se))
				_exit(3);
			t1 = rdtsc_now();
			out[d * n + i] = (double)(t1 - t0) / tsc_per_ns;
			if (i % 64 == 63)
				for (unsigned int v = 0;
				     v < dev.api.max_vcores; v++)
					vcore_handle_events(&dev, v);
			/* the ultimate fallback marks the head: undo it */
			if (d == 4)
				__atomic_fetch_and(&vcore_dev_vcpd(&dev, 0)->flags,
						   ~(__u32)VC_CAN_RCV_MSG,
						   __ATOMIC_SEQ_CST);
		}
	}
	_exit(0);
}

static void run_depths(void)
{
	unsigned int n = iters;
	size_t len = NR_DEPTHS * n * sizeof(double);
	double *out = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int st;
	pid_t pid;

	if (out == MAP_FAILED)
		return;
	pid = fork();
	if (!pid)
		depth_child(out, n);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "fallback depths: child failed (%#x)\n", st);
	} else {
		for (unsigned int d = 0; d < NR_DEPTHS; d++) {
			struct series *s = new_series("scaling",
						      depth_names[d], n);

			memcpy(s->ns, out + d * n, n * sizeof(double));
			s->n = n;
		}
	}
	munmap(out, len);
}

/* ---- notifications into running vcores -------------------------------- */

static struct vcore_dev dev;
static unsigned int nv;			/* vcores online */
static struct event_queue *vc_evq[MAX_V];	/* SEND_EVENT, per vcore */
static volatile uint64_t vc_recv[MAX_V];
static unsigned int vc_seq[MAX_V];	/* atomic */
static unsigned int vc_idle[MAX_V];	/* atomic */

/*
 * What the entry hook does (atomic; changed only while every vcore idles
 * or has yielded): the notify rows', a batch's or a wakeup's.
 */
enum bench_mode { M_NOTIFY, M_BATCH, M_WAKE };
static unsigned int bench_mode;

/* ---- the hook's share of the batch and wakeup rows -------------------- */

static struct event_queue *batch_evq;	/* no alert: the batch's UCQ */
static struct event_queue *wake_evq;	/* EVENT_WAKEUP, its own UCQ */
static unsigned int batch_n;		/* messages in the batch being sent */
static unsigned int batch_got[MAX_V];
static volatile uint64_t batch_done[MAX_V];
static volatile uint64_t wake_tsc;
static unsigned int wake_seq;		/* atomic */

/* Notifications enabled, spinning, until the next entry. */
static void __attribute__((noreturn)) idle_spin(unsigned int v)
{
	if (v < MAX_V)
		smp_store_release(&vc_idle[v], 1);
	vcore_enable_notifs(v);
	receiver_spin();
}

/*
 * A batch: take the batch's messages, all posted before the notification
 * that entered us, then stamp.  An entry that finds none (not the
 * batch's) is no sample; one that finds fewer than the batch gives up
 * after 200 ms and reports the count (the sender says so).
 */
static void __attribute__((noreturn)) batch_entry(unsigned int v)
{
	struct event_mbox *mb = event_q_mbox(batch_evq);
	unsigned int want = READ_ONCE(batch_n), n = 0;
	uint64_t t0 = rdtsc_now();
	struct event_msg m;

	smp_store_mb(vcore_vcpd_of(v)->notif_pending, 0);
	while (n < want) {
		if (vcore_extract_one_mbox_msg(mb, &m))
			n++;
		else if (!n || rdtsc_now() - t0 > 1000 * gap)
			break;
	}
	if (n && v < MAX_V) {
		batch_done[v] = rdtsc_now();
		batch_got[v] = n;
		smp_store_release(&vc_seq[v], vc_seq[v] + 1);
	}
	vcore_handle_events(&dev, v);
	idle_spin(v);
}

/*
 * A wakeup: stamp every entry (the sender reads the stamp only of the
 * entry its wakeup started), drain, then yield until the mode changes
 * (vcore_yield() returns only when the kernel refused, with messages to
 * handle).  The last vcore out leaves the process WAITING.
 */
static void __attribute__((noreturn)) wake_entry(unsigned int v)
{
	struct event_msg m;

	wake_tsc = vcore_entry_tsc();
	smp_store_release(&wake_seq, wake_seq + 1);
	while (READ_ONCE(bench_mode) == M_WAKE) {
		while (vcore_extract_one_mbox_msg(event_q_mbox(wake_evq), &m))
			;
		vcore_handle_events(&dev, v);
		vcore_yield(false);
	}
	vcore_handle_events(&dev, v);
	idle_spin(v);
}

/*
 * The vcores' entry hook: stamp, drain, then spin in vcore context with
 * notifications enabled, as vcore_idle() does, until the next one
 * (vcore_idle() itself would drain again first, and a message it found
 * there would arrive without an entry to stamp).
 */
static void bench_entry(void)
{
	unsigned int v = vcore_id();
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(v);
	struct event_msg m;

	if (READ_ONCE(bench_mode) == M_BATCH)
		batch_entry(v);
	if (READ_ONCE(bench_mode) == M_WAKE)
		wake_entry(v);
	if (vcore_entry_reason() == VCORE_ENTRY_NOTIFY && v < MAX_V) {
		vc_recv[v] = vcore_entry_tsc();
		smp_store_release(&vc_seq[v], vc_seq[v] + 1);
	}
	/* as vcore_handle_events(): clear, full barrier, then look */
	smp_store_mb(vcpd->notif_pending, 0);
	if (v < MAX_V && vc_evq[v])
		while (vcore_extract_one_mbox_msg(event_q_mbox(vc_evq[v]), &m))
			;
	vcore_handle_mbox(&vcpd->ev_mbox_private);
	vcore_handle_mbox(&vcpd->ev_mbox_public);
	if (v < MAX_V)
		smp_store_release(&vc_idle[v], 1);
	vcore_enable_notifs(v);
	receiver_spin();
}

enum vsend { V_SELF_NOTIFY, V_SEND_EVENT, V_NOTIFY, V_TAP };

/* An eventfd tapped into the target vcore's ev_q (V_TAP). */
static int tap_efd = -1;

static int vsend(enum vsend how, unsigned int v)
{
	struct vcore_self_notify sn = {
		.vcoreid = v, .msg = { .ev_type = EV_FREE_APPLE_PIE },
	};
	struct vcore_send_event se = {
		.ev_q = (uintptr_t)vc_evq[v],
		.msg = { .ev_type = EV_FREE_APPLE_PIE },
	};
	struct vcore_notify nt = {
		.target_fd = dev.fd, .msg = { .ev_type = EV_USER_IPI },
	};

	uint64_t one = 1;

	switch (how) {
	case V_TAP:
		return write(tap_efd, &one, sizeof(one)) == sizeof(one) ? 0 : -1;
	case V_SELF_NOTIFY:
		return ioctl(dev.fd, VCORE_IOC_SELF_NOTIFY, &sn);
	case V_SEND_EVENT:
		return ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se);
	default:
		return ioctl(dev.fd, VCORE_IOC_NOTIFY, &nt);
	}
}

/* Wait until vcores 0..n-1 idle; 0 on a timeout. */
static int wait_idle(const unsigned int *vs, unsigned int n)
{
	double t0 = mono_ns();

	for (unsigned int i = 0; i < n; i++)
		while (!smp_load_acquire(&vc_idle[vs[i]])) {
			if (mono_ns() - t0 > 5e9)
				return 0;
			wait_a_little();
		}
	for (unsigned int i = 0; i < n; i++)
		WRITE_ONCE(vc_idle[vs[i]], 0);
	return 1;
}

/*
 * For tools/bench/notify-trace.sh --stages: with VCORE_BENCH_STAMPS set to
 * a file name, every one-target notify sample is written there with its
 * send call and its entry on CLOCK_MONOTONIC, the clock perf -k mono
 * stamps the kernel's tracepoints with.  The TSC is mapped to it by a
 * bracket taken just before the sample (TSC, clock_gettime, TSC): the
 * mapping is off by at most half the bracket, which is written too.
 */
static FILE *stamps;
static unsigned int stamps_row;

struct stamp_map {
	uint64_t tsc;			/* the bracket's middle */
	double mono, width;		/* ns */
};

static void stamp_bracket(struct stamp_map *sm)
{
	uint64_t a = rdtsc_now(), b;
	double m = mono_ns();

	b = rdtsc_now();
	sm->tsc = a + (b - a) / 2;
	sm->mono = m;
	sm->width = (double)(b - a) / tsc_per_ns;
}

static double stamp_mono(const struct stamp_map *sm, uint64_t tsc)
{
	return sm->mono + (double)(int64_t)(tsc - sm->tsc) / tsc_per_ns;
}

static void stamps_begin(const char *name)
{
	const char *path = getenv("VCORE_BENCH_STAMPS");

	if (!stamps && path && *path) {
		stamps = fopen(path, "w");
		if (!stamps)
			perror(path);
		else
			fprintf(stamps, "# sender_cpu %d\n", cpu_send);
	}
	if (stamps)
		fprintf(stamps, "R\t%u\t%s\n", ++stamps_row, name);
}

/* Notify vcores vs[0..n-1] back to back; sample: until the last entered. */
static int run_vnotify(struct series *s, enum vsend how,
		       const unsigned int *vs, unsigned int n)
{
	unsigned int seq[MAX_V], warm = s->cap / 10 + 10;
	uint64_t send_sum = 0;
	struct stamp_map sm = { 0 };

	if (n == 1)
		stamps_begin(s->name);

	/* the first rounds warm up (QEMU translates code on first use) */
	for (unsigned int i = 0; i < s->cap + warm; i++) {
		uint64_t t0, t1, last = 0;

		if (!wait_idle(vs, n)) {
			fprintf(stderr, "%s: a vcore never went idle\n",
				s->name);
			return -1;
		}
		/* let the hook enable notifications and spin */
		pause_gap();
		for (unsigned int k = 0; k < n; k++)
			seq[k] = smp_load_acquire(&vc_seq[vs[k]]);
		if (stamps && n == 1)
			stamp_bracket(&sm);
		t0 = rdtsc_now();
		for (unsigned int k = 0; k < n; k++)
			if (vsend(how, vs[k])) {
				perror(s->name);
				return -1;
			}
		t1 = rdtsc_now();
		for (unsigned int k = 0; k < n; k++) {
			if (!wait_seq(&vc_seq[vs[k]], seq[k])) {
				fprintf(stderr, "%s: vcore %u not notified\n",
					s->name, vs[k]);
				return -1;
			}
			if (vc_recv[vs[k]] - t0 > last)
				last = vc_recv[vs[k]] - t0;
		}
		if (i < warm)
			continue;
		if (stamps && n == 1)
			fprintf(stamps, "S\t%u\t%.0f\t%.0f\t%.0f\t%.0f\n",
				stamps_row, stamp_mono(&sm, t0),
				stamp_mono(&sm, t0 + last),
				(double)last / tsc_per_ns, sm.width);
		add_tsc(s, last);
		send_sum += t1 - t0;
	}
	printf("  %s: the send call%s took %.0f ns on average\n", s->name,
	       n > 1 ? "s" : "", send_sum / tsc_per_ns / s->cap);
	return 0;
}

/* The alarm's function, in vcore context on the target vcore. */
static void bench_alarm_fn(struct vcore_alarm_waiter *w)
{
	(void)w;
	received();
}

/*
 * A per-vcore alarm on vcore v, spinning in vcore context with
 * notifications enabled: deadline -> its function runs there (the
 * kernel's hrtimer, EV_ALARM into v's private mbox, the IPI, the entry,
 * libvcore's dispatch).
 */
static int run_valarm(struct series *s, unsigned int v)
{
	unsigned int warm = s->cap / 10 + 10;
	struct vcore_alarm_waiter w;
	int err;

	err = vcore_alarm_service_init(&dev);
	if (err) {
		fprintf(stderr, "%s: %s\n", s->name, strerror(-err));
		return -1;
	}
	vcore_init_awaiter(&w, bench_alarm_fn);
	for (unsigned int i = 0; i < s->cap + warm; i++) {
		uint64_t dl_tsc;
		unsigned int seq;

		if (!wait_idle(&v, 1)) {
			fprintf(stderr, "%s: the vcore never went idle\n",
				s->name);
			return -1;
		}
		pause_gap();
		seq = smp_load_acquire(&recv_seq);
		vcore_set_awaiter_abs(&w, alarm_deadline(&dl_tsc));
		err = vcore_set_pvc_alarm(&w, v, false);
		if (err) {
			fprintf(stderr, "%s: %s\n", s->name, strerror(-err));
			return -1;
		}
		if (!wait_seq(&recv_seq, seq)) {
			fprintf(stderr, "%s: no expiry\n", s->name);
			return -1;
		}
		if (i >= warm)
			add_tsc(s, recv_tsc - dl_tsc);
	}
	return 0;
}

/* ---- batches, and waking a WAITING process --------------------------- */

/*
 * batch: N events into one UCQ (SEND_EVENT through an ev_q that alerts no
 * one), then one notification (SELF_NOTIFY); a sample runs from the first
 * send call until the target vcore, spinning in vcore context, has taken
 * all N.  Against N eventfd writes of 1 to a thread blocked in read()
 * until it has read N in all.  The rows give the batch's p50 and p99,
 * the p50 per event and events/s at the p50.
 */
static const unsigned int batch_sizes[] = { 1, 8, 64 };
#define NR_BATCHES	(sizeof(batch_sizes) / sizeof(batch_sizes[0]))

static struct series *new_batch_series(const char *fmt, unsigned int n)
{
	static char names[2 * NR_BATCHES][48];
	static unsigned int nr_names;
	char *name = names[nr_names++ % (2 * NR_BATCHES)];

	snprintf(name, sizeof(names[0]), fmt, n);
	return new_series("batch", name, iters);
}

static void *batch_reader(void *arg)
{
	uint64_t v, got = 0;

	pin((int)(intptr_t)arg);
	WRITE_ONCE(waiter_tid, gettid());
	while (!READ_ONCE(stop)) {
		if (read(efd, &v, sizeof(v)) != sizeof(v))
			break;
		got += v;
		if (got >= READ_ONCE(batch_n)) {
			got = 0;
			received();
		}
	}
	return NULL;
}

static void run_batch_eventfd(void)
{
	unsigned int warm = iters / 10 + 10;
	uint64_t one = 1;

	for (unsigned int b = 0; b < NR_BATCHES; b++) {
		unsigned int n = batch_sizes[b];
		struct series *s = new_batch_series("eventfd: %u writes", n);
		pthread_t th;

		s->events = n;
		WRITE_ONCE(batch_n, n);
		WRITE_ONCE(stop, 0);
		efd = eventfd(0, 0);
		pthread_create(&th, NULL, batch_reader,
			       (void *)(intptr_t)cpu_target);
		spin_ticks(20 * gap);
		for (unsigned int i = 0; i < iters + warm; i++) {
			unsigned int seq;
			uint64_t t0;

			wait_blocked();
			seq = smp_load_acquire(&recv_seq);
			t0 = rdtsc_now();
			for (unsigned int k = 0; k < n; k++)
				if (write(efd, &one, sizeof(one)) < 0)
					perror("eventfd");
			if (!wait_seq(&recv_seq, seq)) {
				fprintf(stderr, "%s: no delivery\n", s->name);
				break;
			}
			if (i >= warm)
				add_tsc(s, recv_tsc - t0);
			pause_gap();
		}
		WRITE_ONCE(stop, 1);
		if (write(efd, &one, sizeof(one)) < 0)
			perror("eventfd");
		pthread_join(th, NULL);
		WRITE_ONCE(waiter_tid, 0);
		close(efd);
	}
}

/* The batch rows into vcore @v, which idles in vcore context. */
static void run_batch_vcore(unsigned int v)
{
	unsigned int warm = iters / 10 + 10;

	batch_evq = vcore_get_eventq(EV_MBOX_UCQ);
	if (!batch_evq || v >= MAX_V)
		return;
	batch_evq->ev_flags = 0;
	WRITE_ONCE(bench_mode, M_BATCH);
	for (unsigned int b = 0; b < NR_BATCHES; b++) {
		unsigned int n = batch_sizes[b];
		struct series *s = new_batch_series("vcore: %u into a UCQ + "
						    "SELF_NOTIFY", n);
		struct vcore_send_event se = {
			.ev_q = (uintptr_t)batch_evq,
			.msg = { .ev_type = EV_FREE_APPLE_PIE },
		};

		s->events = n;
		WRITE_ONCE(batch_n, n);
		for (unsigned int i = 0; i < iters + warm; i++) {
			unsigned int seq;
			uint64_t t0;

			if (!wait_idle(&v, 1)) {
				fprintf(stderr, "%s: the vcore never went "
					"idle\n", s->name);
				goto out;
			}
			pause_gap();
			seq = smp_load_acquire(&vc_seq[v]);
			t0 = rdtsc_now();
			for (unsigned int k = 0; k < n; k++)
				if (ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se)) {
					perror(s->name);
					goto out;
				}
			if (vsend(V_SELF_NOTIFY, v)) {
				perror(s->name);
				goto out;
			}
			if (!wait_seq(&vc_seq[v], seq)) {
				fprintf(stderr, "%s: not notified\n", s->name);
				goto out;
			}
			if (batch_got[v] != n) {
				fprintf(stderr, "%s: %u of %u messages\n",
					s->name, batch_got[v], n);
				goto out;
			}
			if (i >= warm)
				add_tsc(s, batch_done[v] - t0);
		}
	}
out:
	/* the vcore idles (or never will): the next entry is a notify row's */
	WRITE_ONCE(bench_mode, M_NOTIFY);
}

/* Wait (up to 5 s) until every vcore has yielded: the process WAITING. */
static int wait_waiting(void)
{
	double t0 = mono_ns();

	while (READ_ONCE(dev.kprocinfo->state) != VCORE_PROC_WAITING ||
	       vcore_num_vcores()) {
		if (mono_ns() - t0 > 5e9)
			return 0;
		wait_a_little();
	}
	return 1;
}

/*
 * wakeup: every vcore has yielded, so the process is WAITING; a sample
 * runs from a SEND_EVENT through an EVENT_WAKEUP ev_q until the first
 * instruction of the vcore_entry that the wakeup's grant starts (the
 * vcore yields again from there).  Against a futex wake of a thread
 * asleep on the target CPU, measured just before, while the vcores'
 * pcores idle.  Last of all: the process ends WAITING.
 */
static void run_wakeup(void)
{
	unsigned int warm = iters / 10 + 10;
	struct vcore_send_event se = { .msg = { .ev_type = EV_FREE_APPLE_PIE } };
	struct series *s;

	wake_evq = vcore_get_eventq(EV_MBOX_UCQ);
	if (!wake_evq)
		return;
	wake_evq->ev_flags = EVENT_WAKEUP;
	se.ev_q = (uintptr_t)wake_evq;
	sleepy = 0;
	/* every idle vcore yields from its next entry on */
	WRITE_ONCE(bench_mode, M_WAKE);
	for (unsigned int v = 0; v < dev.api.max_vcores && v < MAX_V; v++)
		if (vcore_is_mapped(v))
			vsend(V_SELF_NOTIFY, v);
	if (!wait_waiting()) {
		fprintf(stderr, "wakeup: the process never went WAITING\n");
		return;
	}
	run_baseline(B_FUTEX, "futex wake (sleeping thread)");
	series[nr_series - 1].group = "wakeup";
	s = new_series("wakeup", "vcore: EVENT_WAKEUP (WAITING -> entry)",
		       iters);
	for (unsigned int i = 0; i < iters + warm; i++) {
		unsigned int seq;
		uint64_t t0;

		if (!wait_waiting()) {
			fprintf(stderr, "%s: the process never went WAITING "
				"again\n", s->name);
			return;
		}
		pause_gap();
		seq = smp_load_acquire(&wake_seq);
		t0 = rdtsc_now();
		if (ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se)) {
			perror(s->name);
			return;
		}
		if (!wait_seq(&wake_seq, seq)) {
			fprintf(stderr, "%s: no vcore started\n", s->name);
			return;
		}
		if (i >= warm)
			add_tsc(s, wake_tsc - t0);
	}
}

static int run_vcores(void)
{
	struct event_queue *uipi;
	unsigned int want, target = 0, vs[MAX_V];
	double t0;
	int err;

	err = vcore_lib_init(&dev, bench_entry);
	if (!err)
		err = vcore_vcpd_mboxes_init(&dev);
	if (err) {
		fprintf(stderr, "vcore_lib_init: %s\n", strerror(-err));
		return -1;
	}
	want = dev.api.max_vcores;
	if (want > (unsigned int)ncpus - 1)
		want = ncpus - 1;
	if (want > MAX_V)
		want = MAX_V;
	for (unsigned int v = 0; v < want; v++) {
		vc_evq[v] = vcore_get_eventq(EV_MBOX_UCQ);
		if (!vc_evq[v])
			return -1;
		vc_evq[v]->ev_flags = EVENT_IPI;
		vc_evq[v]->ev_vcore = v;
	}
	vcore_entry_tsc_enable(true);
	/*
	 * One vcore for the one-target rows: under QEMU every spinning vcore
	 * takes a host CPU.
	 */
	vcore_request_total(1);
	t0 = mono_ns();
	while (vcore_num_vcores() < 1 && mono_ns() - t0 < 10e9)
		usleep(1000);
	for (unsigned int v = 0; v < want; v++)
		if (vcore_is_mapped(v))
			target = v;
	if (!vcore_is_mapped(target)) {
		fprintf(stderr, "no vcore came online\n");
		return -1;
	}
	printf("vcore %u online on CPU %d\n", target, vcore_pcoreid(target));
	/* EV_USER_IPI to ourselves lands in target's VCPD mbox, notified */
	uipi = vcore_get_eventq_vcpd(target, EVENT_IPI);
	if (uipi)
		vcore_register_kevent_q(&dev, uipi, EV_USER_IPI);

	vs[0] = target;
	if (dev.api.features & VCORE_FEAT_TEST)
		run_floors(&dev, vcore_pcoreid(target));
	run_vnotify(new_series("notify", "vcore: SEND_EVENT (UCQ, IPI)",
			       iters), V_SEND_EVENT, vs, 1);
	if (uipi)
		run_vnotify(new_series("notify", "vcore: NOTIFY (EV_USER_IPI)",
				       iters), V_NOTIFY, vs, 1);
	run_vnotify(new_series("notify", "vcore: SELF_NOTIFY", iters),
		    V_SELF_NOTIFY, vs, 1);
	/* fd readiness: the sender's eventfd write, the tap, the IPI */
	tap_efd = eventfd(0, EFD_NONBLOCK);
	if (tap_efd >= 0 &&
	    !vcore_tap_fd(&dev, tap_efd, VCORE_TAP_READABLE, vc_evq[target],
			  EV_FREE_APPLE_PIE, 0, 0))
		run_vnotify(new_series("notify",
				       "vcore: eventfd write -> fd tap",
				       iters), V_TAP, vs, 1);
	run_valarm(new_series("alarm", "alarm: vcore handler (per-vcore)",
			      iters), target);
	run_batch_vcore(target);
	vcore_request_total(want);
	t0 = mono_ns();
	while (vcore_num_vcores() < want && mono_ns() - t0 < 10e9)
		usleep(1000);
	nv = vcore_num_vcores();
	printf("vcores online: %u\n", nv);
	for (unsigned int n = 1; n <= nv; n++) {
		static char names[MAX_V][40];
		unsigned int k = 0;

		for (unsigned int v = 0; v < want && k < n; v++)
			if (vcore_is_mapped(v))
				vs[k++] = v;
		sleepy = n > 1;
		snprintf(names[n - 1], sizeof(names[0]),
			 "notify %u vcore%s (last entry)", n, n > 1 ? "s" : "");
		run_vnotify(new_series("scaling", names[n - 1], iters / 2),
			    V_SELF_NOTIFY, vs, n);
	}
	run_wakeup();
	return 0;
}

/* ---- output ----------------------------------------------------------- */

static void print_batch_header(void)
{
	printf("\n%-40s %9s %9s %9s %12s %9s\n",
	       "[batch: N events, then 1 notification]", "p50 ns", "p99 ns",
	       "ns/event", "events/s", "x eventfd");
}

/* A batch row: per batch, per event at the p50, against eventfd's N. */
static void print_batch_row(FILE *csv, const struct series *s)
{
	double rate = s->events * 1e9 / s->p50, xe = 0;

	for (unsigned int i = 0; i < nr_series; i++) {
		const struct series *e = &series[i];

		if (e->n && e->events == s->events &&
		    !strcmp(e->group, "batch") &&
		    !strncmp(e->name, "eventfd", 7))
			xe = rate / (e->events * 1e9 / e->p50);
	}
	printf("%-40s %9.0f %9.0f %9.0f %12.0f %9.2f\n", s->name, s->p50,
	       s->p99, s->p50 / s->events, rate, xe);
	fprintf(csv, "%s,%s,%u,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,,\n", s->group,
		s->name, s->n, s->p50, s->p99, s->p999, s->max, s->mean, rate);
}

static void print_wakeup_header(void)
{
	printf("\n%-40s %9s %9s %9s %9s %8s %8s\n",
	       "[wakeup: send -> a sleeper runs]", "p50 ns", "p99 ns",
	       "p99.9 ns", "max ns", "x signal", "x floor");
}

static void print_wakeup_ratio(const struct series *s)
{
	const struct series *f = find("futex wake (sleeping thread)");

	if (f && f != s)
		printf("%-40s x futex wake (p50): %.2f\n", "", s->p50 / f->p50);
}


static void print_and_write(void)
{
	struct series *sig = find("signal: pthread_kill"),
		      *ipi = find("floor: IPI one way"),
		      *atfd = find("alarm: timerfd -> epoll_wait"),
		      *asig = find("alarm: timer_create signal");
	char path[4096];
	FILE *csv, *dat, *gp;
	const char *group = "";
	unsigned int blocks = 0, nr_notify = 0;

	snprintf(path, sizeof(path), "%s/vcore-bench.csv", outdir);
	csv = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/vcore-bench-samples.dat", outdir);
	dat = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/vcore-bench.gp", outdir);
	gp = fopen(path, "w");
	if (!csv || !dat || !gp) {
		perror(path);
		exit(1);
	}
	fprintf(csv, "group,name,samples,p50_ns,p99_ns,p99.9_ns,max_ns,"
		"mean_ns,per_second,x_signal_p50,x_ipi_floor_p50\n");
	static const char *const groups[] = {
		"notify", "wakeup", "poll", "throughput", "batch", "scaling",
		"alarm",
	};
	const unsigned int nr_groups = sizeof(groups) / sizeof(groups[0]);

	for (unsigned int i = 0; i < nr_groups * nr_series; i++) {
		struct series *s = &series[i % nr_series];
		double xs = 0, xf = 0;

		if (!s->n || strcmp(s->group, groups[i / nr_series]))
			continue;
		if (strcmp(group, s->group)) {
			group = s->group;
			if (!strcmp(group, "throughput"))
				printf("\n%-40s %14s %12s\n", "[throughput]",
				       "events/s", "x eventfd");
			else if (!strcmp(group, "alarm"))
				printf("\n%-40s %9s %9s %9s %9s %8s %8s\n",
				       "[alarm: deadline -> receiver runs]",
				       "p50 ns", "p99 ns", "p99.9 ns", "max ns",
				       "x tsig", "x tfd");
			else if (!strcmp(group, "batch"))
				print_batch_header();
			else if (!strcmp(group, "wakeup"))
				print_wakeup_header();
			else
				printf("\n%-40s %9s %9s %9s %9s %8s %8s\n",
				       group[0] == 'n' ? "[notify: send -> "
				       "receiver runs]" : group[0] == 'p' ?
				       "[poll: send -> message seen]" :
				       "[scaling: fallback = the send call]", "p50 ns", "p99 ns",
				       "p99.9 ns", "max ns", "x signal",
				       "x floor");
		}
		if (!strcmp(s->group, "throughput")) {
			struct series *e = find("eventfd, user producers");

			xs = e ? s->rate / e->rate : 0;
			printf("%-40s %14.0f %12.2f\n", s->name, s->rate, xs);
			fprintf(csv, "%s,%s,%lu,,,,,,%.0f,%.3f,\n", s->group,
				s->name, s->events, s->rate, xs);
			continue;
		}
		if (!strcmp(s->group, "batch")) {
			print_batch_row(csv, s);
			continue;
		}
		/*
		 * a send call's cost is no delivery: no ratio; an alarm's is
		 * to the timer signal and the timerfd (in the CSV: the
		 * signal's column, and no floor)
		 */
		if (!strcmp(s->group, "alarm")) {
			xs = asig ? s->p50 / asig->p50 : 0;
			xf = atfd ? s->p50 / atfd->p50 : 0;
			printf("%-40s %9.0f %9.0f %9.0f %9.0f %8.2f %8.2f\n",
			       s->name, s->p50, s->p99, s->p999, s->max, xs,
			       xf);
			if (atfd && asig && !strncmp(s->name, "alarm: vcore", 12))
				printf("%-40s p99 x tsig %.2f, x tfd %.2f\n", "",
				       s->p99 / asig->p99, s->p99 / atfd->p99);
			fprintf(csv, "%s,%s,%u,%.0f,%.0f,%.0f,%.0f,%.0f,,%.3f,\n",
				s->group, s->name, s->n, s->p50, s->p99,
				s->p999, s->max, s->mean, xs);
			continue;
		} else if (strncmp(s->name, "fallback", 8)) {
			xs = sig ? s->p50 / sig->p50 : 0;
			xf = ipi ? s->p50 / ipi->p50 : 0;
		}
		printf("%-40s %9.0f %9.0f %9.0f %9.0f", s->name, s->p50,
		       s->p99, s->p999, s->max);
		if (xs > 0 && xf > 0)
			printf(" %8.2f %8.2f", xs, xf);
		printf("\n");
		fprintf(csv, "%s,%s,%u,%.0f,%.0f,%.0f,%.0f,%.0f,,", s->group,
			s->name, s->n, s->p50, s->p99, s->p999, s->max,
			s->mean);
		if (xs > 0 && xf > 0)
			fprintf(csv, "%.3f,%.3f", xs, xf);
		fprintf(csv, "\n");
		if (!strcmp(s->group, "wakeup"))
			print_wakeup_ratio(s);
		if (strcmp(s->group, "notify") && strcmp(s->group, "poll"))
			continue;
		/* the distribution, as an empirical CDF */
		fprintf(dat, "\"%s\"\n", s->name);
		for (unsigned int k = 0; k < s->n; k++)
			fprintf(dat, "%.1f %.5f\n", s->ns[k],
				(k + 1.0) / s->n);
		fprintf(dat, "\n\n");
		blocks++;
		if (!strcmp(s->group, "notify"))
			nr_notify++;
	}
	/* notify rows solid, poll rows dashed, each its own colour */
	fprintf(gp,
		"# gnuplot vcore-bench.gp, in %s\n"
		"set terminal pngcairo size 1100,650 noenhanced\n"
		"set output 'vcore-bench.png'\n"
		"set title 'vcore-bench: latency distributions (%u samples "
		"each; dashed: poll mode)'\n"
		"set logscale x\nset xlabel 'latency, ns (log)'\n"
		"set ylabel 'fraction of samples at or below'\n"
		"set key right bottom font ',9'\nset grid\n"
		"colors = '#7b1fa2 #00897b #29b6f6 #ef6c00 #fdd835 #1565c0 "
		"#e53935 #000000 #8d6e63 #43a047 #ec407a #757575 #9e9d24 "
		"#5c6bc0 #26c6da #d81b60'\n"
		"plot for [i=0:%u] 'vcore-bench-samples.dat' index i using 1:2 "
		"with lines lw 2 lc rgb word(colors, i + 1) "
		"title columnheader(1)", outdir, iters, nr_notify - 1);
	if (blocks > nr_notify)
		fprintf(gp, ", \\\n     for [i=%u:%u] "
			"'vcore-bench-samples.dat' index i using 1:2 with "
			"lines lw 2 dt 2 lc rgb word(colors, i + 1) "
			"title columnheader(1)", nr_notify, blocks - 1);
	fprintf(gp, "\n");
	fclose(csv);
	fclose(dat);
	fclose(gp);
	printf("\nwrote %s/vcore-bench.csv, vcore-bench-samples.dat, "
	       "vcore-bench.gp\n", outdir);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "smoke", no_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "iters", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int tp_msgs, test, expected;
	struct sigaction sa = { .sa_handler = on_signal };
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "qso:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quick = 1;
			iters = 300;
			break;
		case 's':
			quick = 2;
			iters = 30;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'n':
			iters = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [--quick | --smoke] "
				"[--out DIR] [--iters N]\n", argv[0]);
			return c == 'h' ? 0 : 1;
		}
	}
	if (iters < 10)
		iters = 10;
	tp_msgs = quick == 2 ? 1000 : quick ? 5000 : 30000;
	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus < 2) {
		fprintf(stderr, "needs two CPUs\n");
		return 1;
	}
	if (vcore_dev_open(&dev)) {
		fprintf(stderr, "cannot open /dev/vcore: is vcore.ko loaded?\n");
		return 1;
	}
	test = !!(dev.api.features & VCORE_FEAT_TEST);
	/* target: the first managed pcore; sender: a CPU no vcore gets */
	cpu_target = -1;
	cpu_send = -1;
	for (unsigned int i = 0; i < dev.kprocinfo->nr_pcores; i++) {
		const struct vcore_pcoremap_entry *pc =
			&dev.kprocinfo->pcoremap[i];

		if (pc->managed && cpu_target < 0)
			cpu_target = i;
		if (!pc->managed && cpu_send < 0)
			cpu_send = i;
	}
	if (cpu_target < 0)
		cpu_target = 1;
	if (cpu_send < 0 || cpu_send == cpu_target)
		cpu_send = cpu_target ? 0 : 1;
	pin(cpu_send);
	calibrate();
	gap = (uint64_t)(200e3 * tsc_per_ns);	/* 200 us between samples */
	sigaction(SIGUSR1, &sa, NULL);
	printf("vcore-bench: %d CPUs, sender on CPU %d, receiver on CPU %d, "
	       "TSC %.3f GHz (procinfo says %.3f), %u samples a row%s\n",
	       ncpus, cpu_send, cpu_target, tsc_per_ns,
	       dev.kprocinfo->tsc_freq / 1e9, iters,
	       test ? "" : "; no test commands (the test build of vcore.ko, "
	       "test=1): no floors, kernel producers or fallback depths");
	if (test) {
		/* a child MCP of its own: close ours while it runs */
		printf("fallback depths...\n");
		vcore_dev_close(&dev);
		run_depths();
		if (vcore_dev_open(&dev)) {
			fprintf(stderr, "cannot open /dev/vcore again\n");
			return 1;
		}
	}
	tsc_skew(cpu_send, cpu_target);
	if (vcore_arena_setup(&dev, 16 << 20)) {
		fprintf(stderr, "arena setup failed\n");
		return 1;
	}

	printf("notify baselines...\n");
	run_baseline(B_SIGNAL, "signal: pthread_kill");
	run_baseline(B_EVENTFD, "eventfd -> epoll_wait");
	run_baseline(B_FUTEX, "futex wake");
	run_baseline(B_PIPE, "pipe write -> read");
	printf("alarm baselines...\n");
	run_alarm_baseline(true, "alarm: timerfd -> epoll_wait");
	run_alarm_baseline(false, "alarm: timer_create signal");
	run_batch_eventfd();
	if (test)
		run_floor_to_user(&dev);
	printf("poll mode...\n");
	run_poll(&dev, EV_MBOX_UCQ, "UCQ");
	run_poll(&dev, EV_MBOX_CEQ, "CEQ");
	run_poll(&dev, EV_MBOX_BITMAP, "bitmap");
	printf("throughput...\n");
	if (test) {
		run_tp_kernel(&dev, EV_MBOX_UCQ, "UCQ, kernel producers",
			      tp_msgs);
		run_tp_kernel(&dev, EV_MBOX_CEQ, "CEQ, kernel producers",
			      tp_msgs);
	}
	run_tp_user(0, "eventfd, user producers", tp_msgs);
	run_tp_user(-1, "pipe, user producers", tp_msgs);
	printf("vcore notifications...\n");
	run_vcores();

	for (unsigned int i = 0; i < nr_series; i++)
		if (strcmp(series[i].group, "throughput"))
			finish(&series[i]);
	print_and_write();
	if (find("vcore: eventfd write -> fd tap") &&
	    find("eventfd -> epoll_wait")) {
		const struct series *t = find("vcore: eventfd write -> fd tap"),
				    *e = find("eventfd -> epoll_wait");

		if (t->n && e->n && e->p50 > 0 && e->p99 > 0)
			printf("fd readiness: tap to vcore_entry / eventfd to "
			       "epoll_wait: p50 %.2fx, p99 %.2fx\n",
			       t->p50 / e->p50, t->p99 / e->p99);
	}
	/* every row this configuration can run */
	expected = 4 + 3 + 2 + 2 + NR_BATCHES +
		   (nv ? 5 + nv + NR_BATCHES + 2 : 0) +
		   (test ? 3 + 2 + NR_DEPTHS : 0);
	c = 0;
	for (unsigned int i = 0; i < nr_series; i++)
		c += series[i].n > 0;
	printf("rows: %d of %u\n", c, expected);
	/* the vcores spin until the process exits; the module cleans up */
	if (stamps)
		fclose(stamps);
	fflush(stdout);
	_exit(c == (int)expected && nv ? 0 : 2);
}
