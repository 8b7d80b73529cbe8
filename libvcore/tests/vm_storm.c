// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * A preemption storm against the real vcore.ko, in the VM: every way an
 * event can reach a vcore, while the process's vcores yield, are
 * preempted one at a time and all at once, and uthreads come and go.
 *
 *   vm_storm [SECONDS]                     (root, module loaded test=1)
 *
 * Event classes, one ev_q each, and one event type each per producer
 * round (EVT_BASE + round * NR_CLASSES + class):
 *
 *   spam       SPAM_PUBLIC|IPI              the message itself goes to
 *   must_run   SPAM_PUBLIC|VCORE_MUST_RUN|IPI   the public mbox of a vcore
 *   wakeup     SPAM_PUBLIC|WAKEUP               that will look, or of a
 *   appro      SPAM_PUBLIC|VCORE_APPRO|IPI      preempted one whose mbox
 *   rr         SPAM_PUBLIC|ROUNDROBIN|IPI|WAKEUP    recovery drains
 *   fallback   UCQ + INDIR|SPAM_INDIR|IPI|WAKEUP    the message in the
 *   indir_run  UCQ + INDIR|SPAM_INDIR|VCORE_MUST_RUN|IPI   ev_q's UCQ, the
 *                                               INDIR through the fallback
 *   indir_v0   UCQ + INDIR|IPI, ev_vcore 0      the INDIR in vcore 0's
 *                                               public mbox
 *   vcpd       VCPD public mbox|IPI|VCORE_APPRO the message in the chosen
 *                                               vcore's public mbox
 *   user_ipi   UCQ + INDIR|SPAM_INDIR|IPI|WAKEUP    as fallback; also the
 *                                               kernel_evts ev_q for
 *                                               EV_USER_IPI
 *
 * Akaros's guarantee for each: the message is handled by some vcore,
 * eventually; exactly once, except that a spammed one may be handled
 * twice (see may_repeat()).  INDIRs may be coalesced (one EV_EVENT for
 * many messages) but a message in the ev_q's UCQ is never left behind.  The
 * two targeted classes (indir_v0, vcpd) wait in one vcore's mbox until
 * that vcore runs or is recovered, so the end of the run asks for every
 * vcore before it counts.
 *
 * Producers: kernel kthreads and hrtimers (VCORE_IOC_TEST_PRODUCE) and
 * user threads (VCORE_IOC_SEND_EVENT) on every class.  A preemptor thread
 * preempts single vcores and all of them (VCORE_IOC_PREEMPT), and warns.
 * The main thread runs waves of uthreads (yield, mutex, condition
 * variable), joins every one, and lets the vcores go idle (yield, WAITING)
 * between waves.  A competing MCP (a child process) runs waves of its own
 * uthreads, so that the fair share preempts our vcores for it and the
 * provisioning passes hand pcores back and forth, and sends us
 * EV_USER_IPIs (VCORE_IOC_NOTIFY).  A watchdog fails the run if it hangs.
 *
 * Prints a SUMMARY line and "RESULT PASS" or "RESULT FAIL"; exit 0 or 1
 * (2 from the watchdog).  Without the test commands (not the test build
 * of vcore.ko, or no test=1) it prints "RESULT SKIP: why" and exits 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vcore_test.h>

#include "arena.h"
#include "barrier.h"
#include "event.h"
#include "uthread.h"
#include "vcore_ctx.h"

#define EVT_BASE	13		/* past Akaros's types */
#define NR_KPROD	2		/* kernel producers per class and round */
#define KROUNDS		3		/* rounds of kernel producers */
#define NR_UPROD	2		/* user SEND_EVENT threads */
#define KSLOTS		(KROUNDS * NR_KPROD)
#define CHILD_SLOT	(KSLOTS + NR_UPROD)	/* the competitor's EV_USER_IPIs */
#define MAX_PROD	(CHILD_SLOT + 1)
#define MAX_SEQ		(1 << 14)	/* messages per producer slot and class */
#define KMSGS		400		/* per kernel producer and round */
#define WAVE		12		/* uthreads per wave */
#define ROUNDS		40		/* per uthread */

struct evclass {
	const char *name;
	unsigned int flags;
	unsigned int mbox;		/* 0: VCPD / spam; else own UCQ */
	struct event_queue *q;
};

/*
 * A spammed message (SPAM_PUBLIC) may be handled twice: a lockless try of
 * the fallback that loses its race (the vcore stopped looking, or left the
 * list head, after the post) posts the message again to the next
 * candidate, and the first copy is still found by whoever handles that
 * mbox.  Akaros's fallback does the same; such events must be idempotent.
 * Everything else is exactly once.
 */
static bool may_repeat(const struct evclass *k)
{
	return k->flags & EVENT_SPAM_PUBLIC;
}

static struct evclass classes[] = {
	{ "spam", EVENT_SPAM_PUBLIC | EVENT_IPI, 0, NULL },
	{ "must_run", EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN | EVENT_IPI, 0,
	  NULL },
	{ "wakeup", EVENT_SPAM_PUBLIC | EVENT_WAKEUP, 0, NULL },
	{ "appro", EVENT_SPAM_PUBLIC | EVENT_VCORE_APPRO | EVENT_IPI, 0, NULL },
	{ "rr", EVENT_SPAM_PUBLIC | EVENT_ROUNDROBIN | EVENT_IPI | EVENT_WAKEUP,
	  0, NULL },
	{ "fallback", EVENT_INDIR | EVENT_SPAM_INDIR | EVENT_IPI | EVENT_WAKEUP,
	  1, NULL },
	{ "indir_run", EVENT_INDIR | EVENT_SPAM_INDIR | EVENT_VCORE_MUST_RUN |
	  EVENT_IPI, 1, NULL },
	{ "indir_v0", EVENT_INDIR | EVENT_IPI, 1, NULL },
	{ "vcpd", EVENT_IPI | EVENT_VCORE_APPRO, 0, NULL },
	/* also kernel_evts[EV_USER_IPI], fed by the competitor too */
	{ "user_ipi", EVENT_INDIR | EVENT_SPAM_INDIR | EVENT_IPI | EVENT_WAKEUP,
	  1, NULL },
};
#define UIPI_CLASS	9
#define NR_CLASSES	(sizeof(classes) / sizeof(classes[0]))

static struct vcore_dev dev;
static struct event_queue *wake_q;	/* EVENT_WAKEUP, a bitmap nobody reads */
static unsigned int stop_producing, stop_preempting, done;
/* seen[class][producer][seq]: how often each message was handled */
static unsigned char (*seen)[MAX_PROD][MAX_SEQ];
static unsigned int sent[NR_CLASSES][MAX_PROD];	/* next seq per producer */
static unsigned long received, bogus;
static unsigned long preempts_single, preempts_bulk, warns, preempted, pokes;
static unsigned long counter, cv_rounds;
static struct uth_mutex mtx = UTH_MUTEX_INIT;
static struct uth_cond_var cv = UTH_COND_VAR_INIT;
static unsigned long tokens;
static double t_start, t_limit;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned int scale(void)
{
	const char *s = getenv("VCORE_TEST_TIME_SCALE");
	int n = s ? atoi(s) : 1;

	return n > 0 && n <= 100 ? n : 1;
}

/* In vcore context: count one message; data is its class. */
static void on_event(struct event_msg *msg, unsigned int type, void *data)
{
	unsigned int c = (uintptr_t)data, p = msg->ev_arg2;
	unsigned long long i = msg->ev_arg4;

	/* a kernel round's types: its producer slots */
	if (type >= EVT_BASE + NR_CLASSES) {
		if (p >= NR_KPROD) {
			fetch_add(&bogus, 1);
			return;
		}
		p += (type - EVT_BASE) / NR_CLASSES * NR_KPROD;
	}
	if (c >= NR_CLASSES || p >= MAX_PROD || i >= MAX_SEQ) {
		fetch_add(&bogus, 1);
		return;
	}
	if (!fetch_add(&seen[c][p][i], 1))
		fetch_add(&received, 1);
}

static int setup_classes(void)
{
	for (unsigned int c = 0; c < NR_CLASSES; c++) {
		struct evclass *k = &classes[c];

		k->q = k->mbox ? vcore_get_eventq(EV_MBOX_UCQ) : vcore_get_eventq_slim();
		if (!k->q)
			return -ENOMEM;
		k->q->ev_flags = k->flags;
		k->q->ev_vcore = 0;
		for (unsigned int r = 0; r < KROUNDS; r++)
			if (vcore_register_ev_handler(EVT_BASE + r * NR_CLASSES + c,
						on_event, (void *)(uintptr_t)c))
				return -ENOMEM;
	}
	wake_q = vcore_get_eventq(EV_MBOX_BITMAP);
	if (!wake_q)
		return -ENOMEM;
	wake_q->ev_flags = EVENT_WAKEUP;
	if (vcore_register_ev_handler(EV_USER_IPI, on_event,
				(void *)(uintptr_t)UIPI_CLASS))
		return -ENOMEM;
	return vcore_register_kevent_q(&dev, classes[UIPI_CLASS].q, EV_USER_IPI);
}

/* ---- The competitor: another MCP, in a child process ------------------- */

/* shared with the child: what it was told and what it did */
static volatile struct {
	unsigned int ready, stop;
	unsigned int sent, waves, bad;
	/* the child's state, for a report if it hangs */
	unsigned long created, exited;
	unsigned int state, num_vcores, amt_wanted;
	unsigned int flags[VCORE_MAX_VCORES], pending[VCORE_MAX_VCORES];
	unsigned int mapped[VCORE_MAX_VCORES];
} *cshared;

static struct vcore_dev *cdevp;
static pid_t watched_child;

/* In the child: publish its state every 20 ms. */
static void *child_monitor(void *arg)
{
	(void)arg;
	for (;;) {
		struct uthread_stats us;

		vcore_uthread_get_stats(&us);
		cshared->created = us.created;
		cshared->exited = us.exited;
		cshared->state = cdevp->kprocinfo->state;
		cshared->num_vcores = cdevp->kprocinfo->num_vcores;
		cshared->amt_wanted =
			cdevp->procdata->res_req[VCORE_RES_CORES].amt_wanted;
		for (unsigned int v = 0; v < vcore_max_vcores(); v++) {
			cshared->flags[v] = vcore_vcpd_of(v)->flags;
			cshared->pending[v] = vcore_vcpd_of(v)->notif_pending;
			cshared->mapped[v] = vcore_is_mapped(v);
		}
		usleep(20000);
	}
	return NULL;
}

static void report_child(void)
{
	printf("competitor: %lu uthreads created, %lu exited, %u waves; "
	       "state %u num_vcores %u amt_wanted %u\n", cshared->created,
	       cshared->exited, cshared->waves, cshared->state,
	       cshared->num_vcores, cshared->amt_wanted);
	for (unsigned int v = 0; v < vcore_max_vcores(); v++)
		printf("competitor vc%u: mapped %u flags %#x notif_pending %u\n",
		       v, cshared->mapped[v], cshared->flags[v],
		       cshared->pending[v]);
}

static void *busy(void *arg)
{
	for (unsigned int r = 0; r < 20; r++) {
		for (volatile unsigned int s = 0; s < 50000; s++)
			;
		vcore_uthread_yield();
	}
	return arg;
}

/*
 * Waves of busy uthreads that want every vcore (the fair share then takes
 * vcores from the parent, and gives them back when the child idles
 * between waves), and EV_USER_IPIs to the parent (VCORE_IOC_NOTIFY).
 */
static void competitor(pid_t parent)
{
	struct vcore_dev cdev;
	unsigned int seq = 0;
	pthread_t mon;

	while (!cshared->ready)
		usleep(1000);
	if (vcore_dev_open(&cdev) || vcore_arena_setup(&cdev, 4 << 20) ||
	    vcore_uthread_lib_init(&cdev))
		_exit(1);
	cdevp = &cdev;
	pthread_create(&mon, NULL, child_monitor, NULL);
	while (!cshared->stop) {
		struct uthread *u[6];

		for (unsigned int i = 0; i < 6; i++)
			u[i] = vcore_uthread_create(busy, NULL);
		for (unsigned int k = 0; k < 40 && seq < MAX_SEQ; k++) {
			struct vcore_notify n = {
				.target_fd = -1, .target_pid = parent,
				.msg = { .ev_type = EV_USER_IPI,
					 .ev_arg2 = CHILD_SLOT,
					 .ev_arg4 = seq },
			};

			if (!ioctl(cdev.fd, VCORE_IOC_NOTIFY, &n))
				cshared->sent = ++seq;
			usleep(300);
		}
		for (unsigned int i = 0; i < 6; i++)
			if (!u[i] || vcore_uthread_join(u[i], NULL))
				cshared->bad++;
		cshared->waves++;
		usleep(20000);
	}
	_exit(0);
}

/* ---- Producers (plain threads, not vcores) ---------------------------- */

/*
 * Kernel producers number their messages 0 .. KMSGS - 1 under ids 0 ..
 * NR_KPROD - 1 in every call, so each round uses its own event types
 * (EVT_BASE + round * NR_CLASSES + class) and its own producer slots
 * (round * NR_KPROD + id).  Rounds alternate kthreads and hrtimers (hard
 * IRQ); every round sends to every class.
 */
static void *kernel_producers(void *arg)
{
	(void)arg;
	for (unsigned int r = 0; r < KROUNDS; r++) {
		for (unsigned int c = 0; c < NR_CLASSES; c++) {
			struct vcore_test_produce pr = {
				.ev_q = (uintptr_t)classes[c].q,
				.nr_producers = NR_KPROD,
				.nr_msgs = KMSGS,
				.mode = (r + c) % 2 ?
					VCORE_TEST_PRODUCE_HRTIMER :
					VCORE_TEST_PRODUCE_KTHREAD,
				.ev_type = EVT_BASE + r * NR_CLASSES + c,
			};

			if (ioctl(dev.fd, VCORE_IOC_TEST_PRODUCE, &pr)) {
				printf("TEST_PRODUCE class %s: %d\n",
				       classes[c].name, -errno);
				continue;
			}
			for (unsigned int p = 0; p < NR_KPROD; p++)
				WRITE_ONCE(sent[c][r * NR_KPROD + p], KMSGS);
		}
		usleep(20000);
	}
	return NULL;
}

/* User producers: slots KSLOTS .., every class, random vcore hints. */
static void *user_producer(void *arg)
{
	unsigned int id = KSLOTS + (uintptr_t)arg, seed = id * 7919;

	while (!READ_ONCE(stop_producing)) {
		for (unsigned int c = 0; c < NR_CLASSES; c++) {
			unsigned int i = sent[c][id];
			struct vcore_send_event se = {
				.ev_q = (uintptr_t)classes[c].q,
				.msg = { .ev_type = EVT_BASE + c,
					 .ev_arg2 = id, .ev_arg4 = i },
				.vcoreid = rand_r(&seed) % vcore_max_vcores(),
			};

			if (i >= MAX_SEQ)
				continue;
			if (ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se)) {
				printf("SEND_EVENT: %d\n", -errno);
				continue;
			}
			WRITE_ONCE(sent[c][id], i + 1);
		}
		usleep(rand_r(&seed) % 300);
	}
	return NULL;
}

/* ---- The preemptor ------------------------------------------------------ */

static void *preemptor(void *arg)
{
	unsigned int seed = 12345, n = vcore_max_vcores();

	(void)arg;
	while (!READ_ONCE(stop_preempting)) {
		struct vcore_preempt p = {
			.target_fd = dev.fd,
			.vcoreid = rand_r(&seed) % n,
		};
		unsigned int r = rand_r(&seed) % 10;
		int ret;

		if (r < 6) {
			fetch_add(&preempts_single, 1);
		} else if (r < 9) {
			p.flags = VCORE_PREEMPT_ALL;
			fetch_add(&preempts_bulk, 1);
		} else {
			p.flags = VCORE_PREEMPT_WARN;
			p.warn_ns = 1000000;
			fetch_add(&warns, 1);
		}
		ret = ioctl(dev.fd, VCORE_IOC_PREEMPT, &p);
		if (ret > 0 && !(p.flags & VCORE_PREEMPT_WARN))
			fetch_add(&preempted, ret);
		usleep(500 + rand_r(&seed) % 3000);
		/*
		 * Half the time the vcores are asked back at once; else the
		 * kernel gives them back when the hold-off after a
		 * preemption ends, or the uthreads' own requests do.
		 */
		if (rand_r(&seed) % 2) {
			vcore_request_more(0);
			fetch_add(&pokes, 1);
		}
	}
	return NULL;
}

/* ---- Uthreads ----------------------------------------------------------- */

static void *worker(void *arg)
{
	unsigned long id = (uintptr_t)arg;

	for (unsigned int r = 0; r < ROUNDS; r++) {
		for (volatile unsigned int s = 0; s < 20000; s++)
			;
		vcore_uth_mutex_lock(&mtx);
		counter++;
		/*
		 * Condition variable: uthreads 0, 4, 8, .. of a wave hand
		 * out tokens that 2, 6, 10, .. wait for, as many each.
		 */
		if (id % 4 == 0 && r % 8 == 0) {
			tokens++;
			vcore_uth_cond_var_signal(&cv);
		} else if (id % 4 == 2 && r % 8 == 0) {
			while (!tokens)
				vcore_uth_cond_var_wait(&cv, &mtx);
			tokens--;
			cv_rounds++;
		}
		vcore_uth_mutex_unlock(&mtx);
		vcore_uthread_yield();
	}
	return (void *)(id + 1);
}

static unsigned long total_sent(void);

/* What is still missing, per class, and the kernel's drops. */
static void report_missing(void)
{
	struct vcore_stats st;

	for (unsigned int c = 0; c < NR_CLASSES; c++) {
		unsigned long miss = 0;
		int fp = -1, fi = -1;

		for (unsigned int p = 0; p < MAX_PROD; p++)
			for (unsigned int i = 0; i < sent[c][p]; i++)
				if (!seen[c][p][i] && !miss++) {
					fp = p;
					fi = i;
				}
		if (miss)
			printf("missing %s: %lu (first: slot %d seq %d)\n",
			       classes[c].name, miss, fp, fi);
	}
	if (!ioctl(dev.fd, VCORE_IOC_GET_STATS, &st))
		for (unsigned int i = 0; i < VCORE_DROP_NR; i++)
			if (st.dropped[i])
				printf("kernel dropped %llu (reason %u)\n",
				       (unsigned long long)st.dropped[i], i);
}

static void *watchdog(void *arg)
{
	(void)arg;
	while (!READ_ONCE(done)) {
		if (now() - t_start > t_limit) {
			struct uthread_stats us;

			vcore_uthread_get_stats(&us);
			printf("WATCHDOG: stuck after %.0f s: %lu uthreads "
			       "created, %lu exited, %lu of %lu events "
			       "received\n", now() - t_start, us.created,
			       us.exited, READ_ONCE(received), total_sent());
			for (unsigned int v = 0; v < vcore_max_vcores(); v++) {
				struct vcore_preempt_data *d = vcore_vcpd_of(v);

				printf("vc%u: mapped %d flags %#x "
				       "notif_disabled %u notif_pending %u\n",
				       v, vcore_is_mapped(v), d->flags,
				       d->notif_disabled, d->notif_pending);
			}
			printf("procinfo: state %u num_vcores %u\n",
			       dev.kprocinfo->state, dev.kprocinfo->num_vcores);
			report_missing();
			report_child();
			kill(watched_child, SIGKILL);
			printf("RESULT FAIL\n");
			fflush(stdout);
			_exit(2);
		}
		usleep(100000);
	}
	return NULL;
}

/* The uthreads of one wave run, are all joined, and count right. */
static int run_wave(unsigned long base, unsigned long *joined)
{
	struct uthread *u[WAVE];
	int bad = 0;

	for (unsigned int i = 0; i < WAVE; i++) {
		u[i] = vcore_uthread_create(worker, (void *)(base + i));
		if (!u[i]) {
			printf("vcore_uthread_create failed\n");
			return 1;
		}
	}
	for (unsigned int i = 0; i < WAVE; i++) {
		void *ret = NULL;

		if (vcore_uthread_join(u[i], &ret) ||
		    ret != (void *)(uintptr_t)(base + i + 1))
			bad++;
		else
			(*joined)++;
	}
	return bad;
}

static unsigned long total_sent(void)
{
	unsigned long n = 0;

	for (unsigned int c = 0; c < NR_CLASSES; c++)
		for (unsigned int p = 0; p < MAX_PROD; p++)
			n += READ_ONCE(sent[c][p]);
	return n;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 10;
	pthread_t kp, up[NR_UPROD], pt, wd;
	unsigned long joined = 0, waves = 0, lost = 0, dups = 0, repeats = 0;
	unsigned long nsent;
	struct uthread_stats us;
	struct vcore_stats st;
	unsigned long dropped = 0;
	int bad = 0, err, status;
	pid_t child;

	setvbuf(stdout, NULL, _IOLBF, 0);
	cshared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cshared == MAP_FAILED)
		return 1;
	child = fork();
	if (!child)
		competitor(getppid());
	watched_child = child;
	seen = calloc(NR_CLASSES, sizeof(*seen));
	err = seen ? vcore_dev_open(&dev) : -ENOMEM;
	if (!err && !(dev.api.features & VCORE_FEAT_TEST)) {
		printf("RESULT SKIP: needs the test build of vcore.ko, test=1\n");
		kill(child, SIGKILL);
		return 0;
	}
	if (!err)
		err = vcore_arena_setup(&dev, 16 << 20);
	if (!err)
		err = vcore_uthread_lib_init(&dev);
	if (!err)
		err = setup_classes();
	if (err) {
		printf("setup: %d\nRESULT FAIL\n", err);
		kill(child, SIGKILL);
		return 1;
	}
	printf("max_vcores %u, %zu event classes, %.0f s\n", vcore_max_vcores(),
	       NR_CLASSES, secs);
	cshared->ready = 1;
	t_start = now();
	t_limit = secs + 120.0 * scale();
	pthread_create(&wd, NULL, watchdog, NULL);
	pthread_create(&pt, NULL, preemptor, NULL);
	pthread_create(&kp, NULL, kernel_producers, NULL);
	for (unsigned long i = 0; i < NR_UPROD; i++)
		pthread_create(&up[i], NULL, user_producer, (void *)i);

	/* waves of uthreads; between them the vcores go idle and yield */
	while (now() - t_start < secs) {
		bad += run_wave(waves * WAVE, &joined);
		waves++;
		usleep(waves % 3 ? 2000 : 30000);
	}
	WRITE_ONCE(stop_producing, 1);
	cshared->stop = 1;
	status = -1;
	while (waitpid(child, &status, WNOHANG) == 0 &&
	       now() - t_start < t_limit - 10)
		usleep(10000);
	if (status == -1) {
		printf("competitor stuck\n");
		report_child();
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		status = -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) || cshared->bad) {
		printf("competitor failed: status %#x, %u bad joins\n", status,
		       cshared->bad);
		bad++;
	}
	sent[UIPI_CLASS][CHILD_SLOT] = cshared->sent;
	printf("competitor: %u waves, %u EV_USER_IPIs sent\n",
	       cshared->waves, cshared->sent);
	pthread_join(kp, NULL);
	for (unsigned int i = 0; i < NR_UPROD; i++)
		pthread_join(up[i], NULL);
	/* one last wave with the storm still on, then calm */
	bad += run_wave(waves++ * WAVE, &joined);
	WRITE_ONCE(stop_preempting, 1);
	pthread_join(pt, NULL);

	/*
	 * Every message must show up.  Messages for one vcore (indir_v0,
	 * vcpd) wait until that vcore runs, which for a yielded vcore of a
	 * WAITING process (no WAKEUP) is whenever it is woken: wake it
	 * (EVENT_WAKEUP) and ask for every vcore now and then; each handles
	 * its mboxes when it starts.
	 */
	nsent = total_sent();
	for (unsigned int k = 0; READ_ONCE(received) < nsent &&
	     now() - t_start < t_limit - 5; k++) {
		if (k % 50 == 0) {
			struct vcore_send_event se = {
				.ev_q = (uintptr_t)wake_q,
			};

			ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se);
			vcore_request_total(vcore_max_vcores());
		}
		usleep(10000);
	}
	WRITE_ONCE(done, 1);
	pthread_join(wd, NULL);

	for (unsigned int c = 0; c < NR_CLASSES; c++) {
		unsigned long cs = 0, cl = 0, cd = 0;

		for (unsigned int p = 0; p < MAX_PROD; p++) {
			for (unsigned int i = 0; i < sent[c][p]; i++) {
				cs++;
				if (!seen[c][p][i])
					cl++;
				else if (seen[c][p][i] > 1)
					cd++;
			}
			for (unsigned int i = sent[c][p]; i < MAX_SEQ; i++)
				if (seen[c][p][i])
					bogus++;
		}
		printf("class %-9s flags %#05x: sent %lu lost %lu %s %lu\n",
		       classes[c].name, classes[c].flags, cs, cl,
		       may_repeat(&classes[c]) ? "repeated (allowed)" :
						 "dup", cd);
		lost += cl;
		if (may_repeat(&classes[c]))
			repeats += cd;
		else
			dups += cd;
	}
	ioctl(dev.fd, VCORE_IOC_GET_STATS, &st);
	for (unsigned int i = 0; i < VCORE_DROP_NR; i++)
		dropped += st.dropped[i];
	vcore_uthread_get_stats(&us);
	printf("uthreads: %lu created, %lu exited, %lu joined in %lu waves, "
	       "%lu bad; counter %lu of %lu, %lu cond var turns\n",
	       us.created, us.exited, joined, waves, (unsigned long)bad,
	       counter, joined * ROUNDS, cv_rounds);
	printf("recovery: %lu stolen, %lu CHANGE_VCORE, %lu fallbacks, "
	       "%lu mboxes drained, %lu vcore yields, %lu requests, "
	       "%lu self-wakeups\n", us.steals, us.changes,
	       us.change_fallbacks, us.remote_drains, us.vcore_yields,
	       us.requests, us.wakeups);
	printf("preemptor: %lu single, %lu bulk (%lu vcores preempted), "
	       "%lu warnings, %lu pokes\n", preempts_single, preempts_bulk,
	       preempted, warns, pokes);
	printf("kernel: %llu sent, %llu IPIs, %llu INDIRs, %llu spams, "
	       "%lu dropped\n", (unsigned long long)st.sent,
	       (unsigned long long)st.notifs, (unsigned long long)st.indirs,
	       (unsigned long long)st.spams, dropped);
	bad += lost || dups || bogus || dropped || counter != joined * ROUNDS ||
	       us.created != joined || us.exited != joined;
	printf("SUMMARY sent %lu received %lu lost %lu dup %lu repeated %lu "
	       "bogus %lu "
	       "preempt_single %lu preempt_bulk %lu warn %lu vcores_preempted "
	       "%lu uthreads %lu joined %lu\n", nsent, received, lost, dups,
	       repeats, bogus, preempts_single, preempts_bulk, warns, preempted,
	       us.created, joined);
	printf("RESULT %s\n", bad ? "FAIL" : "PASS");
	return bad ? 1 : 0;
}
