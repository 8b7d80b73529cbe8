// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * ev_qs, mboxes, the handler table, INDIR and VCPD handling, against the
 * kernel (the core, kernel_side.h) and a device whose procdata is the
 * kernel's MCP's, with no module behind it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "barrier.h"
#include "event.h"
#include "inject.h"
#include "lib/kernel_side.h"
#include "tap.h"

#define NR_VCORES	4

static struct vcore_dev dev;

/* The device over the kernel's MCP, as vcore_dev_open() would set it up. */
static void fake_dev_init(void)
{
	dev.fd = -1;
	dev.procdata = ks_procdata();
	dev.kprocinfo = ks_procinfo();
	dev.api.vcpd_offset = sizeof(struct vcore_procdata);
	dev.api.vcpd_size = sizeof(struct vcore_preempt_data);
	dev.api.max_vcores = NR_VCORES;
	dev.api.max_nr_event = VCORE_MAX_NR_EVENT;
}

/* A handler that logs (type, data, arg2) into a small journal. */
struct journal {
	unsigned int n;
	struct {
		unsigned int type;
		void *data;
		__u32 arg2;
		__u32 alert_pending;	/* of the ev_q being watched */
	} e[64];
	struct event_queue *watch;
};

static struct journal jr;

static void journal_handler(struct event_msg *m, unsigned int type, void *d)
{
	if (jr.n >= 64)
		return;
	jr.e[jr.n].type = type;
	jr.e[jr.n].data = d;
	jr.e[jr.n].arg2 = m->ev_arg2;
	jr.e[jr.n].alert_pending = jr.watch ?
		READ_ONCE(jr.watch->ev_alert_pending) : 0;
	jr.n++;
}

static void *tag(unsigned int i)
{
	return (void *)(uintptr_t)(0x1000 + i);
}

/* mcp_send_event() through ev_q, which must drop nothing. */
static void post(struct event_queue *ev_q, unsigned int type, __u32 arg2)
{
	struct event_msg m = { .ev_type = (__u16)type, .ev_arg2 = arg2 };
	uint64_t dropped = ks_dropped();

	ks_send_event((uintptr_t)ev_q, &m, 0);
	expect_eq(ks_dropped(), dropped);
}

TEST(several_handlers_per_type_run_in_order_with_their_data)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_UCQ);

	memset(&jr, 0, sizeof(jr));
	expect(ev_q != NULL);
	for (unsigned int i = 0; i < 3; i++)
		expect_eq(vcore_register_ev_handler(EV_ALARM, journal_handler,
					      tag(i)), 0);
	expect_eq(vcore_register_ev_handler(EV_SYSCALL, journal_handler, tag(9)), 0);
	post(ev_q, EV_ALARM, 1);
	post(ev_q, EV_SYSCALL, 2);
	post(ev_q, EV_USER_IPI, 3);		/* no handler: consumed */
	expect_eq(vcore_handle_event_q(ev_q), 3);
	expect_eq(jr.n, 4);
	for (unsigned int i = 0; i < 3; i++) {
		expect_eq(jr.e[i].type, EV_ALARM);
		expect(jr.e[i].data == tag(i));
		expect_eq(jr.e[i].arg2, 1);
	}
	expect(jr.e[3].type == EV_SYSCALL && jr.e[3].data == tag(9));
	expect(vcore_mbox_is_empty(event_q_mbox(ev_q)));

	/* Deregistration removes one registration, the one named. */
	expect_eq(vcore_deregister_ev_handler(EV_ALARM, journal_handler, tag(1)), 0);
	expect_eq(vcore_deregister_ev_handler(EV_ALARM, journal_handler, tag(1)),
		  -ENOENT);
	jr.n = 0;
	post(ev_q, EV_ALARM, 5);
	expect_eq(vcore_handle_event_q(ev_q), 1);
	expect(jr.n == 2 && jr.e[0].data == tag(0) && jr.e[1].data == tag(2));

	expect_eq(vcore_deregister_ev_handler(EV_ALARM, journal_handler, tag(0)), 0);
	expect_eq(vcore_deregister_ev_handler(EV_ALARM, journal_handler, tag(2)), 0);
	expect_eq(vcore_deregister_ev_handler(EV_SYSCALL, journal_handler, tag(9)),
		  0);
	vcore_put_eventq(ev_q);
}

TEST(handler_registration_rejects_bad_arguments)
{
	expect_eq(vcore_register_ev_handler(VCORE_MAX_NR_EVENT, journal_handler,
				      NULL), -EINVAL);
	expect_eq(vcore_register_ev_handler(EV_ALARM, NULL, NULL), -EINVAL);
	expect_eq(vcore_deregister_ev_handler(VCORE_MAX_NR_EVENT, journal_handler,
					NULL), -EINVAL);
}

/* Registration while another thread dispatches: no lock on the reader. */
static unsigned long calls;
static unsigned int stop;

static void count_handler(struct event_msg *m, unsigned int t, void *d)
{
	(void)m;
	(void)t;
	(void)d;
	fetch_add(&calls, 1);
}

static void *dispatcher(void *arg)
{
	struct event_mbox *mbox = arg;
	struct event_msg m = { .ev_type = EV_FREE_APPLE_PIE };

	while (!smp_load_acquire(&stop)) {
		ks_mbox_post(mbox, &m);
		vcore_handle_mbox(mbox);
	}
	return NULL;
}

TEST(handlers_change_while_messages_are_dispatched)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_UCQ);
	pthread_t t;
	unsigned int rounds = UNDER_TSAN ? 200 : 2000;

	expect(ev_q != NULL);
	pthread_create(&t, NULL, dispatcher, event_q_mbox(ev_q));
	for (unsigned int i = 0; i < rounds; i++) {
		expect_eq(vcore_register_ev_handler(EV_FREE_APPLE_PIE, count_handler,
					      tag(i % 4)), 0);
		if (i % 3 == 2)
			expect_eq(vcore_deregister_ev_handler(EV_FREE_APPLE_PIE,
							count_handler,
							tag((i - 2) % 4)), 0);
		if (i % 64 == 0)
			sched_yield();
	}
	smp_store_release(&stop, 1);
	pthread_join(t, NULL);
	diag("%lu handler calls during %u registrations", calls, rounds);
	/* Remove what is left; then nothing runs. */
	for (unsigned int i = 0; i < 4; i++)
		while (!vcore_deregister_ev_handler(EV_FREE_APPLE_PIE, count_handler,
					      tag(i)))
			;
	calls = 0;
	post(ev_q, EV_FREE_APPLE_PIE, 0);
	expect_eq(vcore_handle_event_q(ev_q), 1);
	expect_eq(calls, 0);
	vcore_put_eventq(ev_q);
}

TEST(get_eventq_gives_each_mbox_type_its_own_published_mbox)
{
	static const unsigned int types[] = {
		EV_MBOX_UCQ, EV_MBOX_BITMAP, EV_MBOX_CEQ,
	};
	unsigned long base = ks_arena_used();

	for (unsigned int i = 0; i < 3; i++) {
		struct event_queue *ev_q = vcore_get_eventq(types[i]);
		struct event_queue_big *big = (struct event_queue_big *)ev_q;

		expect(ev_q != NULL);
		if (!ev_q)
			continue;
		expect_eq(((uintptr_t)ev_q) % 64, 0);
		expect(event_q_mbox(ev_q) == &big->ev_imbox);
		expect_eq(big->ev_imbox.type, types[i]);
		expect(vcore_arena_contains(ev_q, sizeof(*big)));
		expect(vcore_mbox_is_empty(event_q_mbox(ev_q)));
		vcore_put_eventq(ev_q);
	}
	errno = 0;
	expect(vcore_get_eventq(7) == NULL && errno == EINVAL);
	/* Every UCQ page and CEQ array went back (class pages stay). */
	expect(ks_arena_used() - base <= 3);
}

TEST(get_eventq_reports_a_full_arena)
{
	ks_arena_fail_after(0);
	errno = 0;
	/* The ev_q comes from a class page already there; the UCQ fails. */
	expect(vcore_get_eventq(EV_MBOX_UCQ) == NULL && errno == ENOMEM);
	ks_arena_fail_after(-1);
}

TEST(get_eventq_vcpd_is_slim_and_points_nowhere)
{
	struct event_queue *ev_q = vcore_get_eventq_vcpd(2, EVENT_IPI |
						   EVENT_VCORE_PRIVATE);

	expect(ev_q != NULL);
	expect_eq(ev_q->ev_mbox, 0);
	expect_eq(ev_q->ev_vcore, 2);
	expect_eq(ev_q->ev_flags, EVENT_IPI | EVENT_VCORE_PRIVATE);
	vcore_put_eventq(ev_q);
	errno = 0;
	expect(vcore_get_eventq_vcpd(0, 0x400) == NULL && errno == EINVAL);
	expect(vcore_get_eventq_vcpd(VCORE_MAX_VCORES, 0) == NULL);
}

TEST(raw_ev_q_takes_a_custom_ceq)
{
	struct event_queue *ev_q = vcore_get_eventq_raw();
	struct event_msg m = { .ev_type = 100, .ev_arg2 = 3 };

	expect(ev_q != NULL);
	expect_eq(vcore_event_mbox_init_ceq(event_q_mbox(ev_q), CEQ_ADD, 200, 8), 0);
	expect(ks_mbox_post(event_q_mbox(ev_q), &m));
	expect(ks_mbox_post(event_q_mbox(ev_q), &m));
	/* Id 100 is past the handler table: consumed, not dispatched. */
	expect_eq(vcore_handle_event_q(ev_q), 1);
	vcore_put_eventq(ev_q);
}

static unsigned int own_handler_calls;

static void own_handler(struct event_queue *ev_q)
{
	own_handler_calls += ev_q->ev_udata == 42;
}

TEST(handle_event_q_prefers_the_ev_qs_own_handler)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_UCQ);

	event_q_set_handler(ev_q, own_handler, (void *)42);
	post(ev_q, EV_ALARM, 1);
	expect_eq(vcore_handle_event_q(ev_q), 0);
	expect_eq(own_handler_calls, 1);
	/* The message is still there for the handler to take. */
	expect(!vcore_mbox_is_empty(event_q_mbox(ev_q)));
	event_q_set_handler(ev_q, NULL, NULL);
	expect_eq(vcore_handle_event_q(ev_q), 1);
	vcore_put_eventq(ev_q);
}

TEST(vcpd_mboxes_init_makes_every_vcpd_mbox_a_ready_ucq)
{
	unsigned long base = ks_arena_used();

	expect_eq(vcore_vcpd_mboxes_init(&dev), 0);
	for (unsigned int v = 0; v < NR_VCORES; v++) {
		struct vcore_preempt_data *vcpd = vcore_dev_vcpd(&dev, v);

		expect_eq(vcpd->ev_mbox_public.type, EV_MBOX_UCQ);
		expect_eq(vcpd->ev_mbox_public.ucq.ucq_ready, 1);
		expect_eq(vcpd->ev_mbox_private.type, EV_MBOX_UCQ);
		expect_eq(vcpd->ev_mbox_private.ucq.ucq_ready, 1);
	}
	expect_eq(ks_arena_used() - base, 4 * NR_VCORES);
	/* Again: nothing changes. */
	expect_eq(vcore_vcpd_mboxes_init(&dev), 0);
	expect_eq(ks_arena_used() - base, 4 * NR_VCORES);
	vcore_vcpd_mboxes_cleanup(&dev);
	expect_eq(ks_arena_used(), base);
}

TEST(vcpd_mboxes_init_unwinds_when_the_arena_runs_out)
{
	unsigned long base = ks_arena_used();

	ks_arena_fail_after(4 * NR_VCORES - 3);
	expect_eq(vcore_vcpd_mboxes_init(&dev), -ENOMEM);
	ks_arena_fail_after(-1);
	expect_eq(ks_arena_used(), base);
	expect_eq(vcore_dev_vcpd(&dev, 0)->ev_mbox_public.type, 0);
	expect_eq(vcore_vcpd_mboxes_init(&dev), 0);
}

/*
 * INDIR: the kernel posts to an ev_q's mbox and EV_EVENT(ev_q) to a VCPD
 * public mbox, throttled by ev_alert_pending.  vcore_handle_events() must clear
 * notif_pending, and vcore_handle_ev_ev() must clear ev_alert_pending before
 * the ev_q's messages are handled.
 */
TEST(indir_clears_ev_alert_pending_before_draining_the_ev_q)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_UCQ);
	struct vcore_preempt_data *vcpd = vcore_dev_vcpd(&dev, 1);

	memset(&jr, 0, sizeof(jr));
	jr.watch = ev_q;
	expect_eq(vcore_register_ev_handler(EV_USER_IPI, journal_handler, tag(1)), 0);
	ev_q->ev_flags = EVENT_INDIR;
	ev_q->ev_vcore = 1;

	post(ev_q, EV_USER_IPI, 10);
	post(ev_q, EV_USER_IPI, 11);		/* throttled: one INDIR */
	expect_eq(ev_q->ev_alert_pending, 1);
	expect_eq(vcpd->notif_pending, 1);

	/* One EV_EVENT; its handler handles the two messages. */
	expect_eq(vcore_handle_events(&dev, 1), 1);
	expect_eq(vcpd->notif_pending, 0);
	expect_eq(jr.n, 2);
	expect(jr.e[0].arg2 == 10 && jr.e[1].arg2 == 11);
	expect_eq(jr.e[0].alert_pending, 0);
	expect_eq(ev_q->ev_alert_pending, 0);

	/* Unthrottled again: the next post brings a new INDIR. */
	post(ev_q, EV_USER_IPI, 12);
	expect_eq(ev_q->ev_alert_pending, 1);
	expect_eq(vcore_handle_events(&dev, 1), 1);
	expect_eq(jr.n, 3);

	expect_eq(vcore_deregister_ev_handler(EV_USER_IPI, journal_handler, tag(1)),
		  0);
	jr.watch = NULL;
	vcore_put_eventq(ev_q);
}

/*
 * INDIR under fire.  Producers send to an INDIR ev_q in rounds; a "vcore"
 * runs vcore_handle_events() and then, like a real one, waits for a reason to
 * come back: notif_pending.  At each round's end (producers done, flag
 * clear) every message sent must have been handled.  The throttle
 * (ev_alert_pending) and notif_pending are the only signals, so a message
 * left behind is one of them losing a race.
 */
#define INDIR_PRODUCERS	3

static struct event_queue *indir_q;
static unsigned char *indir_seen;
static unsigned long indir_per_round, indir_rounds, indir_dups, indir_got;
static unsigned int indir_done;
static pthread_barrier_t indir_round_end;

static void indir_handler(struct event_msg *m, unsigned int t, void *d)
{
	unsigned long n = indir_rounds * indir_per_round;
	unsigned long k = m->ev_arg1 * n + m->ev_arg2;

	(void)t;
	(void)d;
	if (m->ev_arg1 >= INDIR_PRODUCERS || m->ev_arg2 >= n ||
	    xchg(&indir_seen[k], 1))
		indir_dups++;
	indir_got++;
}

static void *indir_producer(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	__u32 seq = 0;

	for (unsigned long r = 0; r < indir_rounds; r++) {
		for (unsigned long i = 0; i < indir_per_round; i++) {
			struct event_msg m = { .ev_type = EV_SYSCALL,
					       .ev_arg1 = (__u16)id,
					       .ev_arg2 = seq++ };

			ks_send_event((uintptr_t)indir_q, &m, 0);
		}
		fetch_add(&indir_done, 1);
		pthread_barrier_wait(&indir_round_end);
	}
	return NULL;
}

static void run_indir(unsigned long rounds, unsigned long per_round,
		      unsigned int inject_one_in)
{
	struct vcore_preempt_data *vcpd = vcore_dev_vcpd(&dev, 3);
	pthread_t t[INDIR_PRODUCERS];
	unsigned long passes = 0, bad_rounds = 0;

	indir_rounds = rounds;
	indir_per_round = per_round;
	indir_seen = calloc(INDIR_PRODUCERS * rounds * per_round, 1);
	indir_dups = indir_got = 0;
	indir_done = 0;
	pthread_barrier_init(&indir_round_end, NULL, INDIR_PRODUCERS + 1);
	indir_q = vcore_get_eventq(EV_MBOX_UCQ);
	indir_q->ev_flags = EVENT_INDIR;
	indir_q->ev_vcore = 3;
	expect_eq(vcore_register_ev_handler(EV_SYSCALL, indir_handler, NULL), 0);
	inject_set_rate(inject_one_in);
	for (unsigned int p = 0; p < INDIR_PRODUCERS; p++)
		pthread_create(&t[p], NULL, indir_producer,
			       (void *)(uintptr_t)p);
	for (unsigned long r = 0; r < rounds; r++) {
		unsigned int all = INDIR_PRODUCERS * (unsigned int)(r + 1);

		for (;;) {
			vcore_handle_events(&dev, 3);
			passes++;
			/* Come back only when notified, or when it is over. */
			while (!smp_load_acquire(&vcpd->notif_pending) &&
			       smp_load_acquire(&indir_done) != all)
				sched_yield();
			if (smp_load_acquire(&indir_done) == all &&
			    !smp_load_acquire(&vcpd->notif_pending))
				break;
		}
		if (indir_got != all * per_round && bad_rounds++ < 3)
			diag("round %lu: %lu of %lu handled", r, indir_got,
			     all * per_round);
		pthread_barrier_wait(&indir_round_end);
	}
	for (unsigned int p = 0; p < INDIR_PRODUCERS; p++)
		pthread_join(t[p], NULL);
	inject_set_rate(0);
	pthread_barrier_destroy(&indir_round_end);
	expect_eq(bad_rounds, 0);
	expect_eq(indir_dups, 0);
	expect_eq(indir_got, INDIR_PRODUCERS * rounds * per_round);
	diag("%u producers x %lu rounds x %lu INDIR sends: %lu handled in "
	     "%lu passes, %lu delays injected at %u points", INDIR_PRODUCERS,
	     rounds, per_round, indir_got, passes, inject_delays(),
	     inject_points_hit());
	/* Leave nothing behind for the next test. */
	vcore_handle_events(&dev, 3);
	expect_eq(vcore_deregister_ev_handler(EV_SYSCALL, indir_handler, NULL), 0);
	vcore_put_eventq(indir_q);
	free(indir_seen);
}

TEST(indir_throttle_loses_nothing_under_concurrent_sends)
{
	run_indir(UNDER_TSAN ? 100 : 1000, 50, 0);
}

TEST(indir_throttle_loses_nothing_with_injected_delays)
{
	run_indir(UNDER_TSAN ? 100 : 1000, 10, 4);
}

TEST(handle_events_drains_private_before_public)
{
	struct event_queue *pub = vcore_get_eventq_vcpd(2, 0);
	struct event_queue *priv = vcore_get_eventq_vcpd(2, EVENT_VCORE_PRIVATE);

	memset(&jr, 0, sizeof(jr));
	expect_eq(vcore_register_ev_handler(EV_ALARM, journal_handler, NULL), 0);
	post(pub, EV_ALARM, 1);
	post(priv, EV_ALARM, 2);
	post(pub, EV_ALARM, 3);
	expect_eq(vcore_handle_events(&dev, 2), 3);
	expect(jr.n == 3 && jr.e[0].arg2 == 2 && jr.e[1].arg2 == 1 &&
	       jr.e[2].arg2 == 3);
	expect_eq(vcore_handle_events(&dev, 2), 0);
	expect_eq(vcore_handle_events(&dev, NR_VCORES), -EINVAL);
	expect_eq(vcore_deregister_ev_handler(EV_ALARM, journal_handler, NULL), 0);
	vcore_put_eventq(pub);
	vcore_put_eventq(priv);
}

TEST(kevent_registration_goes_to_procdata)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_BITMAP);

	expect_eq(vcore_register_kevent_q(&dev, ev_q, EV_PREEMPT_PENDING), 0);
	expect_eq(dev.procdata->kernel_evts[EV_PREEMPT_PENDING],
		  (uintptr_t)ev_q);
	expect(vcore_clear_kevent_q(&dev, EV_PREEMPT_PENDING) == ev_q);
	expect_eq(dev.procdata->kernel_evts[EV_PREEMPT_PENDING], 0);
	expect_eq(vcore_register_kevent_q(&dev, ev_q, VCORE_MAX_NR_EVENT), -EINVAL);
	expect(vcore_clear_kevent_q(&dev, VCORE_MAX_NR_EVENT) == NULL);
	vcore_put_eventq(ev_q);
}

int main(void)
{
	tap_start(120);
	if (ks_init(NR_VCORES, 1024)) {
		printf("Bail out! no memory for the kernel\n");
		return 1;
	}
	fake_dev_init();
	RUN(several_handlers_per_type_run_in_order_with_their_data);
	RUN(handler_registration_rejects_bad_arguments);
	RUN(handlers_change_while_messages_are_dispatched);
	RUN(get_eventq_gives_each_mbox_type_its_own_published_mbox);
	RUN(get_eventq_reports_a_full_arena);
	RUN(get_eventq_vcpd_is_slim_and_points_nowhere);
	RUN(raw_ev_q_takes_a_custom_ceq);
	RUN(handle_event_q_prefers_the_ev_qs_own_handler);
	RUN(vcpd_mboxes_init_makes_every_vcpd_mbox_a_ready_ucq);
	RUN(vcpd_mboxes_init_unwinds_when_the_arena_runs_out);
	RUN(indir_clears_ev_alert_pending_before_draining_the_ev_q);
	RUN(indir_throttle_loses_nothing_under_concurrent_sends);
	RUN(indir_throttle_loses_nothing_with_injected_delays);
	RUN(handle_events_drains_private_before_public);
	RUN(kevent_registration_goes_to_procdata);
	vcore_vcpd_mboxes_cleanup(&dev);
	ks_fini();		/* aborts if the core leaked */
	return tap_done();
}
