// SPDX-License-Identifier: GPL-2.0
/*
 * vcore-demo: events flowing to running vcores, with libvcore.
 *
 * Two vcores come online and spin in vcore context with notifications
 * enabled (vcore_idle).  The main thread then sends: messages into a UCQ
 * ev_q and events into a coalescing CEQ ev_q, each with EVENT_IPI to a
 * vcore; a SELF_NOTIFY into a vcore's private mbox; an EV_USER_IPI to the
 * process itself (VCORE_IOC_NOTIFY); and, with test=1, messages from
 * kernel threads on every CPU.  Each notification drops the target vcore
 * into vcore_entry, where the handlers registered for the event types log
 * what arrives; the main thread prints the log, then the per-vcore entry
 * counts and the module's counters.
 */
#define _GNU_SOURCE
#include <linux/vcore_test.h>
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
#include "vcore_ctx.h"

#define EV_DEMO_WORK	20	/* UCQ: a work item, ev_arg2 = its number */
#define EV_DEMO_KPROD	21	/* UCQ: from the kernel producers */
#define EV_DEMO_CEQ	30	/* CEQ ids 30..32: counters that coalesce */
#define NR_LOG		256
#define MAX_V		64

struct log_ent {
	unsigned int vcoreid, ev_type, arg2;
	const char *via;
};

static struct vcore_dev dev;
static struct event_queue *ucq_q, *ceq_q;
static struct log_ent log_ents[NR_LOG];
static unsigned long nr_log;			/* atomic */
static unsigned long kprod_got;		/* atomic */
static unsigned long entries[MAX_V][2];	/* START, NOTIFY */

static void log_event(const char *via, struct event_msg *msg)
{
	unsigned long i = fetch_add(&nr_log, 1);

	if (i < NR_LOG)
		log_ents[i] = (struct log_ent){
			.vcoreid = vcore_id(), .ev_type = msg->ev_type,
			.arg2 = msg->ev_arg2, .via = via,
		};
}

static void on_work(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	log_event(data, msg);
}

static void on_kprod(struct event_msg *msg, unsigned int type, void *data)
{
	(void)msg;
	(void)type;
	(void)data;
	fetch_add(&kprod_got, 1);
}

/* In vcore context: count the entry, run the handlers, wait for more. */
static void demo_entry(void)
{
	unsigned int v = vcore_id();

	if (v < MAX_V)
		entries[v][vcore_entry_reason() == VCORE_ENTRY_NOTIFY]++;
	for (;;) {
		vcore_handle_events(&dev, v);
		vcore_handle_event_q(ucq_q);
		vcore_handle_event_q(ceq_q);
		vcore_idle();		/* returns if it found more */
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait (up to 10 s) until *count reaches want; print the new log lines. */
static unsigned int shown;

static void wait_for(unsigned long *count, unsigned long want)
{
	double t0 = now();

	while (READ_ONCE(*count) < want && now() - t0 < 10)
		usleep(1000);
	usleep(20000);
	for (unsigned int n = READ_ONCE(nr_log); shown < n && shown < NR_LOG;
	     shown++) {
		struct log_ent *e = &log_ents[shown];

		printf("    vcore %u <- %-14s ev_type %2u  ev_arg2 %u\n",
		       e->vcoreid, e->via, e->ev_type, e->arg2);
	}
}

static unsigned long logged(void)
{
	return READ_ONCE(nr_log);
}

static void send(struct event_queue *q, unsigned int type, unsigned int arg2)
{
	struct vcore_send_event se = {
		.ev_q = (uintptr_t)q,
		.msg = { .ev_type = type, .ev_arg2 = arg2 },
	};

	if (ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se))
		perror("VCORE_IOC_SEND_EVENT");
}

int main(void)
{
	struct vcore_notify nt = { .msg = { .ev_type = EV_USER_IPI } };
	struct event_msg pie = { .ev_type = EV_FREE_APPLE_PIE, .ev_arg2 = 42 };
	struct event_queue *uipi;
	unsigned int want, nv, v0, v1, test;
	struct vcore_stats st;
	unsigned long n;
	double t0;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = vcore_dev_open(&dev);
	if (err) {
		fprintf(stderr, "cannot open /dev/vcore (%s): is vcore.ko loaded?\n",
			strerror(-err));
		return 1;
	}
	test = !!(dev.api.features & VCORE_FEAT_TEST);
	err = vcore_arena_setup(&dev, 4 << 20);
	if (!err)
		err = vcore_lib_init(&dev, demo_entry);
	if (!err)
		err = vcore_vcpd_mboxes_init(&dev);
	ucq_q = vcore_get_eventq(EV_MBOX_UCQ);
	ceq_q = vcore_get_eventq_raw();
	if (err || !ucq_q || !ceq_q ||
	    vcore_event_mbox_init_ceq(event_q_mbox(ceq_q), CEQ_ADD, 64, 64)) {
		fprintf(stderr, "setup failed: %s\n", strerror(-err));
		return 1;
	}
	vcore_register_ev_handler(EV_DEMO_WORK, on_work, "UCQ");
	vcore_register_ev_handler(EV_DEMO_KPROD, on_kprod, NULL);
	for (unsigned int t = EV_DEMO_CEQ; t < EV_DEMO_CEQ + 3; t++)
		vcore_register_ev_handler(t, on_work, "CEQ (summed)");
	vcore_register_ev_handler(EV_FREE_APPLE_PIE, on_work, "private mbox");
	vcore_register_ev_handler(EV_USER_IPI, on_work, "EV_USER_IPI");

	want = dev.api.max_vcores < 2 ? 1 : 2;
	printf("vcore-demo: %u managed pcores, %u vcores possible%s\n",
	       dev.api.nr_pcores, dev.api.max_vcores,
	       test ? ", test commands on" : "");
	vcore_request_total(want);
	t0 = now();
	while (vcore_num_vcores() < want && now() - t0 < 10)
		usleep(1000);
	nv = vcore_num_vcores();
	if (!nv) {
		fprintf(stderr, "no vcore came online\n");
		return 1;
	}
	v0 = v1 = -1U;
	for (unsigned int v = 0; v < vcore_max_vcores(); v++) {
		if (!vcore_is_mapped(v))
			continue;
		printf("vcore %u online on CPU %d\n", v, vcore_pcoreid(v));
		if (v0 == -1U)
			v0 = v;
		else if (v1 == -1U)
			v1 = v;
	}
	if (v1 == -1U)
		v1 = v0;
	usleep(50000);

	printf("\n1. five work items into a UCQ ev_q, EVENT_IPI to vcore %u\n",
	       v0);
	ucq_q->ev_flags = EVENT_IPI;
	ucq_q->ev_vcore = v0;
	n = logged();
	for (unsigned int i = 0; i < 5; i++)
		send(ucq_q, EV_DEMO_WORK, i);
	wait_for(&nr_log, n + 5);

	printf("\n2. 3 x 10 events into a CEQ ev_q (CEQ_ADD), EVENT_IPI to "
	       "vcore %u: they coalesce per id\n", v1);
	ceq_q->ev_flags = EVENT_IPI;
	ceq_q->ev_vcore = v1;
	n = logged();
	for (unsigned int i = 0; i < 30; i++)
		send(ceq_q, EV_DEMO_CEQ + i % 3, 1 + i / 3);
	/* each id's sum reaches the consumer, in one event or a few */
	wait_for(&nr_log, n + 3);

	printf("\n3. SELF_NOTIFY: EV_FREE_APPLE_PIE into vcore %u's private "
	       "mbox\n", v1);
	n = logged();
	if (vcore_self_notify(v1, &pie, true))
		perror("VCORE_IOC_SELF_NOTIFY");
	wait_for(&nr_log, n + 1);

	printf("\n4. NOTIFY: EV_USER_IPI to ourselves, through kernel_evts[] "
	       "to vcore %u's public mbox\n", v0);
	uipi = vcore_get_eventq_vcpd(v0, EVENT_IPI);
	n = logged();
	if (uipi && !vcore_register_kevent_q(&dev, uipi, EV_USER_IPI)) {
		nt.target_fd = dev.fd;
		if (ioctl(dev.fd, VCORE_IOC_NOTIFY, &nt))
			perror("VCORE_IOC_NOTIFY");
		wait_for(&nr_log, n + 1);
	}

	if (test) {
		struct vcore_test_produce p = {
			.ev_q = (uintptr_t)ucq_q, .nr_msgs = 1000,
			.mode = VCORE_TEST_PRODUCE_KTHREAD,
			.ev_type = EV_DEMO_KPROD,
		};
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		p.nr_producers = cpus > 64 ? 64 : cpus;
		printf("\n5. kernel threads on %u CPUs send 1000 messages each "
		       "into the UCQ, EVENT_IPI to vcore %u\n",
		       p.nr_producers, v0);
		if (ioctl(dev.fd, VCORE_IOC_TEST_PRODUCE, &p))
			perror("VCORE_IOC_TEST_PRODUCE");
		wait_for(&kprod_got, 1000UL * p.nr_producers);
		printf("    vcore %u handled %lu of %lu\n", v0,
		       READ_ONCE(kprod_got), 1000UL * p.nr_producers);
	}

	printf("\nvcore entries (start / notification):");
	for (unsigned int v = 0; v < vcore_max_vcores() && v < MAX_V; v++)
		if (entries[v][0] || entries[v][1])
			printf("  vcore %u: %lu / %lu", v, entries[v][0],
			       entries[v][1]);
	printf("\n");
	if (!ioctl(dev.fd, VCORE_IOC_GET_STATS, &st)) {
		unsigned long long drops = 0;

		for (unsigned int i = 0; i < VCORE_DROP_NR; i++)
			drops += st.dropped[i];
		printf("module counters: sent %llu, posted UCQ %llu bitmap %llu "
		       "CEQ %llu, notification IPIs %llu, INDIRs %llu, "
		       "spams %llu, dropped %llu\n",
		       (unsigned long long)st.sent,
		       (unsigned long long)st.posted[EV_MBOX_UCQ],
		       (unsigned long long)st.posted[EV_MBOX_BITMAP],
		       (unsigned long long)st.posted[EV_MBOX_CEQ],
		       (unsigned long long)st.notifs,
		       (unsigned long long)st.indirs,
		       (unsigned long long)st.spams, drops);
	}
	/* the vcores spin until we exit; the module cleans up */
	fflush(stdout);
	_exit(0);
}
