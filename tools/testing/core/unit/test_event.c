// SPDX-License-Identifier: GPL-2.0
/*
 * mcp_send_event() and the fallback (kmod/core/event.c), branch by branch, on a
 * stand-alone MCP with fake user addresses.  Races with user space and
 * with vcore list changes are staged with watchpoints: "just before the
 * kernel reads X for the Nth time, user space (or the scheduler) does Y".
 */
#include "event.c"

#include "unit.h"

#define RUNNING		VCORE_PROC_RUNNING_M
#define RUNNABLE_M	VCORE_PROC_RUNNABLE_M
#define WAITING		VCORE_PROC_WAITING

static char buf[128];

static void send(u64 evq_u, u16 type, u32 arg2, u32 vcoreid)
{
	struct event_msg m = msg_of(type, arg2);

	mcp_send_event(&H->m, evq_u, &m, vcoreid);
}

/* A slim ev_q aimed at the VCPD mboxes. */
static u64 vcpd_evq(u32 flags, u32 vcore)
{
	u64 u;

	h_evq(H, flags, vcore, 0, &u);
	return u;
}

/* ---- drops before anything is posted --------------------------------- */

TEST(dying_process_drops_everything)
{
	u64 q;

	setup();
	q = vcpd_evq(0, 1);
	mcp_set_dying(&H->m);
	send(q, EV_ALARM, 1, 0);
	expect_eq(H_DROPS(H, VCORE_DROP_DYING), 1);
	expect_eq(H_STAT(H, sent), 0);
	expect_eq(pub_count(1), 0);
	teardown();
}

TEST(evq_outside_the_regions_is_dropped)
{
	struct h_mcp *h = setup();
	u64 arena_end = h->arena_u + h->m.arena.r.size;

	send(0, EV_ALARM, 1, 0);
	send(h->arena_u + 4, EV_ALARM, 1, 0);		/* misaligned */
	send(h->procinfo_u, EV_ALARM, 1, 0);		/* procinfo */
	send(arena_end - 8, EV_ALARM, 1, 0);		/* runs off the end */
	send(arena_end, EV_ALARM, 1, 0);
	send(~0ULL & ~7ULL, EV_ALARM, 1, 0);		/* wraps */
	expect_eq(H_DROPS(h, VCORE_DROP_BAD_EVQ), 6);
	expect_eq(H_STAT(h, sent), 0);
	expect_eq(h_drops_total(h), 6);
	teardown();
}

static bool send_checked(u64 evq_u, u16 type, u32 vcoreid)
{
	struct event_msg m = msg_of(type, 1);

	return mcp_send_event_checked(&H->m, evq_u, &m, vcoreid);
}

TEST(checked_send_reports_a_bad_evq_and_counts_it_once)
{
	struct h_mcp *h = setup();
	u64 arena_end = h->arena_u + h->m.arena.r.size;

	expect_eq(send_checked(0, EV_ALARM, 0), false);
	expect_eq(send_checked(h->arena_u + 4, EV_ALARM, 0), false);
	expect_eq(send_checked(h->procinfo_u, EV_ALARM, 0), false);
	expect_eq(send_checked(arena_end - 8, EV_ALARM, 0), false);
	expect_eq(H_DROPS(h, VCORE_DROP_BAD_EVQ), 4);
	expect_eq(h_drops_total(h), 4);
	expect_eq(H_STAT(h, sent), 0);
	expect_eq(send_checked(vcpd_evq(0, 1), EV_ALARM, 0), true);
	expect_eq(H_STAT(h, sent), 1);
	expect_eq(pub_count(1), 1);
	expect_eq(h_drops_total(h), 4);
	teardown();
}

TEST(checked_send_to_a_dying_process_still_reports_a_bad_evq)
{
	struct h_mcp *h = setup();
	u64 q = vcpd_evq(0, 1);

	mcp_set_dying(&h->m);
	expect_eq(send_checked(h->arena_u + 4, EV_ALARM, 0), false);
	expect_eq(H_DROPS(h, VCORE_DROP_BAD_EVQ), 1);
	expect_eq(H_DROPS(h, VCORE_DROP_DYING), 0);
	expect_eq(send_checked(q, EV_ALARM, 0), true);
	expect_eq(H_DROPS(h, VCORE_DROP_DYING), 1);
	expect_eq(H_STAT(h, sent), 0);
	expect_eq(pub_count(1), 0);
	teardown();
}

static void unmap_arena(void *arg, const volatile void *addr,
			unsigned int kind)
{
	(void)addr;
	(void)kind;
	WRITE_ONCE(((struct mcp *)arg)->arena.r.uaddr, 0);
}

/*
 * The ev_q is translated once: the arena unmapped just after its
 * translation (before the send looks at the arena's address a second
 * time, for the mbox) does not turn an accepted send into a bad ev_q;
 * the send goes on through module memory, here to a bitmap mbox in
 * procdata, which stays mapped.
 */
TEST(checked_send_goes_on_when_the_arena_is_unmapped_after_the_translation)
{
	struct h_mcp *h = setup();
	struct event_mbox *mb = (struct event_mbox *)mcp_procdata(&h->m)->resv;
	struct event_queue *evq;
	u64 q;
	int w;

	memset(mb, 0, sizeof(*mb));
	mb->type = EV_MBOX_BITMAP;
	evq = h_evq(h, 0, 1, 0, &q);
	evq->ev_mbox = h_k2u(h, mb);
	w = h_watch(&h->m.arena.r.uaddr, sizeof(h->m.arena.r.uaddr), H_LOAD,
		    1, 1, unmap_arena, &h->m);
	expect_eq(send_checked(q, EV_ALARM, 0), true);
	expect_eq(h_watch_fired(w), 1);
	expect_eq(h->m.arena.r.uaddr, 0);
	expect_eq(H_STAT(h, sent), 1);
	expect_eq(mb->evbm.bitmap[0], 1ULL << EV_ALARM);
	expect_eq(h_drops_total(h), 0);
	/* and now the address means nothing */
	expect_eq(send_checked(q, EV_ALARM, 0), false);
	expect_eq(H_DROPS(h, VCORE_DROP_BAD_EVQ), 1);
	teardown();
}

TEST(evq_in_procdata_is_accepted)
{
	struct h_mcp *h = setup();
	struct vcore_procdata *pd = mcp_procdata(&h->m);
	struct event_queue *evq = (struct event_queue *)pd->resv;

	evq->ev_vcore = 3;
	evq->ev_flags = EVENT_VCORE_PRIVATE;
	send(h_k2u(h, evq), EV_ALARM, 7, 0);
	expect_eq(priv_count(3), 1);
	expect_eq(H_STAT(h, sent), 1);
	teardown();
}

TEST(vcoreid_past_max_vcores_is_dropped)
{
	u64 q;

	setup();
	q = vcpd_evq(0, NR_VC);
	send(q, EV_ALARM, 1, 0);
	q = vcpd_evq(EVENT_VCORE_APPRO, 0);
	send(q, EV_ALARM, 1, NR_VC + 100);
	send(q, EV_ALARM, 2, 2);
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_VCOREID), 2);
	expect_eq(pub_count(2), 1);
	teardown();
}

/* ---- the ev_q's own mbox --------------------------------------------- */

TEST(evq_mbox_of_each_type_gets_the_message_and_no_alert)
{
	static const u32 types[] = { EV_MBOX_UCQ, EV_MBOX_BITMAP,
				     EV_MBOX_CEQ };
	struct event_msg m;
	unsigned int i;

	setup();
	for (i = 0; i < 3; i++) {
		struct event_queue *evq;
		u64 q;

		evq = h_evq(H, 0, 1, types[i], &q);
		send(q, EV_ALARM, 40 + i, 0);
		expect(h_mbox_take(H, h_evq_mbox(H, evq), &m));
		expect_eq(m.ev_type, EV_ALARM);
		if (types[i] == EV_MBOX_UCQ)
			expect(msg_is(&m, EV_ALARM, 40));
		if (types[i] == EV_MBOX_CEQ)
			expect_eq(m.ev_arg2, 42);
		expect(!h_mbox_take(H, h_evq_mbox(H, evq), &m));
		expect_eq(H_STAT(H, posted[types[i]]), 1);
	}
	expect_eq(pending(1), 0);
	expect_eq(pub_count(1), 0);
	expect_eq(H_STAT(H, notifs), 0);
	teardown();
}

TEST(evq_mbox_outside_the_regions_is_dropped)
{
	struct event_queue *evq;
	u64 q;

	setup();
	evq = h_evq(H, EVENT_IPI, 1, 0, &q);
	evq->ev_mbox = H->procinfo_u + 64;
	send(q, EV_ALARM, 1, 0);
	evq->ev_mbox = H->arena_u + 4;
	send(q, EV_ALARM, 1, 0);
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX), 2);
	expect_eq(H_STAT(H, sent), 2);
	expect_eq(pub_count(1), 0);
	teardown();
}

TEST(mbox_of_unknown_type_is_dropped_and_the_alert_still_goes_out)
{
	struct event_queue *evq;
	u64 q;

	setup();
	h_arrange(H, RUNNING, "O:1 I:0,2,3");
	evq = h_evq(H, EVENT_IPI | EVENT_INDIR | EVENT_NOTHROTTLE, 1,
		    EV_MBOX_UCQ, &q);
	h_evq_mbox(H, evq)->type = 0;
	send(q, EV_ALARM, 1, 0);
	h_evq_mbox(H, evq)->type = 4;
	send(q, EV_ALARM, 1, 0);
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX_TYPE), 2);
	/* as in Akaros: the INDIR names the ev_q, which holds nothing */
	expect_eq(pub_count(1), 2);
	expect_eq(H_STAT(H, indirs), 2);
	teardown();
}

/*
 * Whatever stops the post (a corrupt or unready mailbox, a full arena),
 * a WAITING process that asked for EVENT_WAKEUP is woken: losing the
 * message is a counted drop, losing the wakeup would leave it asleep.
 */
TEST(a_failed_post_still_wakes_a_waiting_process)
{
	struct event_queue *evq;
	u64 q;

	setup();
	evq = h_evq(H, EVENT_WAKEUP | EVENT_INDIR, 0, EV_MBOX_UCQ, &q);
	h_evq_mbox(H, evq)->ucq.ucq_ready = 0;
	h_arrange(H, WAITING, "I:0,1,2,3");
	send(q, EV_ALARM, 1, 0);
	expect_eq(H_DROPS(H, VCORE_DROP_UCQ_NOT_READY), 1);
	expect_eq(H->m.state, RUNNABLE_M);

	h_evq_mbox(H, evq)->type = 0;
	h_arrange(H, WAITING, "I:0,1,2,3");
	send(q, EV_ALARM, 2, 0);
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX_TYPE), 1);
	expect_eq(H->m.state, RUNNABLE_M);

	evq->ev_mbox = H->arena_u + H->m.arena.r.size;	/* outside */
	h_arrange(H, WAITING, "I:0,1,2,3");
	send(q, EV_ALARM, 3, 0);
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX), 1);
	expect_eq(H->m.state, RUNNABLE_M);
	teardown();
}

/* ---- VCPD mboxes, notification ---------------------------------------- */

/*
 * As in Akaros: an ev_q post to a VCPD mbox is a plain post; only a
 * notification (EVENT_IPI to a mapped vcore) or the fallback's
 * post_vc_msg() raise notif_pending.
 */
TEST(vcpd_public_and_private_mboxes_without_ipi_leave_notif_pending)
{
	struct event_msg m;

	setup();
	send(vcpd_evq(0, 2), EV_ALARM, 5, 0);
	send(vcpd_evq(EVENT_VCORE_PRIVATE, 3), EV_ALARM, 6, 0);
	expect(take_pub(2, &m) && msg_is(&m, EV_ALARM, 5));
	expect(take_priv(3, &m) && msg_is(&m, EV_ALARM, 6));
	expect_eq(pending(0) + pending(1) + pending(2) + pending(3), 0);
	expect_eq(priv_count(2) + pub_count(3), 0);
	expect_eq(H_STAT(H, notifs), 0);
	teardown();
}

TEST(ipi_notifies_only_a_mapped_vcore_with_notifs_enabled)
{
	u64 q1, q2;

	setup();
	h_arrange(H, RUNNING, "O:1 I:0,2,3");
	q1 = vcpd_evq(EVENT_IPI, 1);
	q2 = vcpd_evq(EVENT_IPI, 2);
	send(q1, EV_ALARM, 1, 0);		/* mapped, enabled */
	expect_eq(H_STAT(H, notifs), 1);
	send(q2, EV_ALARM, 1, 0);		/* not mapped */
	expect_eq(H_STAT(H, notifs), 1);
	h_vcpd(H, 1)->notif_disabled = 1;
	clear_pending();
	send(q1, EV_ALARM, 1, 0);		/* in vcore context */
	expect_eq(H_STAT(H, notifs), 1);
	expect_eq(pending(1), 1);
	send(vcpd_evq(0, 1), EV_ALARM, 1, 0);	/* no IPI flag */
	expect_eq(H_STAT(H, notifs), 1);
	expect_eq(pub_count(1), 3);
	expect_eq(pub_count(2), 1);
	teardown();
}

TEST(mcp_notify_sets_pending_and_counts_an_ipi_when_it_would_send_one)
{
	setup();
	h_arrange(H, RUNNING, "O:0 I:1,2,3");
	mcp_notify(&H->m, 0);
	expect_eq(pending(0), 1);
	expect_eq(H_STAT(H, notifs), 1);
	mcp_notify(&H->m, 1);			/* unmapped */
	expect_eq(pending(1), 1);
	expect_eq(H_STAT(H, notifs), 1);
	h_vcpd(H, 0)->notif_disabled = 1;
	mcp_notify(&H->m, 0);
	expect_eq(H_STAT(H, notifs), 1);
	teardown();
}

TEST(post_vcore_event_goes_straight_to_a_vcpd_mbox)
{
	struct event_msg m = msg_of(EV_CHECK_MSGS, 3);

	setup();
	expect(mcp_post_vcore_event(&H->m, &m, 3, 0));
	expect(mcp_post_vcore_event(&H->m, &m, 2, EVENT_VCORE_PRIVATE));
	expect_eq(pub_count(3), 1);
	expect_eq(priv_count(2), 1);
	expect_eq(pending(3) + pending(2), 2);
	h_vcpd_mbox(H, 1, false)->type = 0;	/* failed post: no pending */
	expect(!mcp_post_vcore_event(&H->m, &m, 1, 0));
	expect_eq(pending(1), 0);
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX_TYPE), 1);
	teardown();
}

/* ---- choosing the vcore ------------------------------------------------ */

TEST(appro_uses_the_suggested_vcore)
{
	setup();
	send(vcpd_evq(EVENT_VCORE_APPRO, 1), EV_ALARM, 1, 3);
	send(vcpd_evq(0, 1), EV_ALARM, 1, 3);
	expect_eq(pub_count(3), 1);
	expect_eq(pub_count(1), 1);
	teardown();
}

TEST(roundrobin_walks_the_online_count_and_writes_the_cursor_back)
{
	struct event_queue *evq;
	u32 want[] = { 1, 2, 0, 1 };
	unsigned int i;
	u64 q;

	setup();
	h_arrange(H, RUNNING, "O:0,1,2 I:3");
	evq = h_evq(H, EVENT_ROUNDROBIN | EVENT_VCORE_APPRO, 0, 0, &q);
	for (i = 0; i < 4; i++) {
		send(q, EV_ALARM, i, 3);	/* APPRO's 3 is overridden */
		expect_eq(evq->ev_vcore, want[i]);
	}
	expect_eq(pub_count(0), 1);
	expect_eq(pub_count(1), 2);
	expect_eq(pub_count(2), 1);
	expect_eq(pub_count(3), 0);
	teardown();
}

TEST(roundrobin_without_online_vcores_uses_vcore_0)
{
	struct event_queue *evq;
	u64 q;

	setup();
	evq = h_evq(H, EVENT_ROUNDROBIN, 2, 0, &q);
	send(q, EV_ALARM, 1, 0);		/* RUNNABLE_S */
	expect_eq(evq->ev_vcore, 0);
	evq->ev_vcore = 2;
	h_arrange(H, RUNNABLE_M, "B:1 I:0,2,3");	/* none online */
	send(q, EV_ALARM, 2, 0);
	expect_eq(evq->ev_vcore, 0);
	expect_eq(pub_count(0), 2);
	teardown();
}

/* ---- INDIR --------------------------------------------------------------- */

TEST(indir_posts_ev_event_once_until_user_clears_the_alert)
{
	struct event_queue *evq;
	struct event_msg m;
	u64 q;

	setup();
	h_arrange(H, RUNNING, "O:2 I:0,1,3");
	evq = h_evq(H, EVENT_INDIR | EVENT_IPI, 2, EV_MBOX_UCQ, &q);
	send(q, EV_ALARM, 1, 0);
	send(q, EV_ALARM, 2, 0);
	expect_eq(h_ucq_count(H, &h_evq_mbox(H, evq)->ucq), 2);
	expect_eq(evq->ev_alert_pending, 1);
	expect_eq(pub_count(2), 1);
	expect(take_pub(2, &m));
	expect_eq(m.ev_type, EV_EVENT);
	expect_eq(m.ev_arg3, q);
	expect_eq(H_STAT(H, indirs), 1);
	expect_eq(H_STAT(H, notifs), 1);
	expect_eq(pending(2), 1);
	evq->ev_alert_pending = 0;		/* handle_ev_ev */
	send(q, EV_ALARM, 3, 0);
	expect_eq(pub_count(2), 1);
	expect_eq(H_STAT(H, indirs), 2);
	teardown();
}

TEST(nothrottle_sends_an_indir_every_time)
{
	struct event_queue *evq;
	u64 q;

	setup();
	evq = h_evq(H, EVENT_INDIR | EVENT_NOTHROTTLE, 1, EV_MBOX_BITMAP,
		    &q);
	send(q, EV_ALARM, 1, 0);
	send(q, EV_USER_IPI, 1, 0);
	expect_eq(pub_count(1), 2);
	expect_eq(evq->ev_alert_pending, 0);
	expect_eq(H_STAT(H, indirs), 2);
	teardown();
}

TEST(indir_to_a_broken_vcpd_mbox_is_a_drop_and_no_notification)
{
	struct event_queue *evq;
	u64 q;

	setup();
	h_arrange(H, RUNNING, "O:1 I:0,2,3");
	evq = h_evq(H, EVENT_INDIR | EVENT_IPI, 1, EV_MBOX_UCQ, &q);
	h_vcpd_mbox(H, 1, false)->type = 9;
	send(q, EV_ALARM, 1, 0);
	expect_eq(h_ucq_count(H, &h_evq_mbox(H, evq)->ucq), 1);
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX_TYPE), 1);
	expect_eq(pending(1), 0);
	expect_eq(H_STAT(H, notifs), 0);
	teardown();
}

TEST(spam_indir_sends_the_ev_event_through_the_fallback)
{
	struct event_msg m;
	u64 q;

	setup();
	h_arrange(H, RUNNING, "O:3 I:0,1,2");
	/* vcore 1 will not look (no CAN_RCV_MSG): the online head gets it */
	h_evq(H, EVENT_INDIR | EVENT_SPAM_INDIR | EVENT_IPI, 1,
		    EV_MBOX_UCQ, &q);
	send(q, EV_ALARM, 1, 0);
	expect_eq(pub_count(1), 0);
	expect(take_pub(3, &m));
	expect_eq(m.ev_type, EV_EVENT);
	expect_eq(m.ev_arg3, q);
	expect_eq(H_STAT(H, spams), 1);
	expect_eq(H_STAT(H, notifs), 1);	/* IPI travels with the spam */
	teardown();
}

/* ---- WAKEUP -------------------------------------------------------------- */

TEST(wakeup_wakes_a_waiting_process_only)
{
	u64 q;

	setup();
	q = vcpd_evq(EVENT_WAKEUP, 0);
	h_arrange(H, WAITING, "I:0,1,2,3");
	send(q, EV_ALARM, 1, 0);
	expect_eq(H->m.state, RUNNABLE_M);
	expect_eq(H->m.procinfo->state, RUNNABLE_M);
	h_arrange(H, RUNNING, "O:0 I:1,2,3");
	send(q, EV_ALARM, 2, 0);
	expect_eq(H->m.state, RUNNING);
	h_arrange(H, WAITING, "I:0,1,2,3");
	send(vcpd_evq(0, 0), EV_ALARM, 3, 0);	/* no WAKEUP flag */
	expect_eq(H->m.state, WAITING);
	/* SPAM_PUBLIC reaches the wakeup too */
	send(vcpd_evq(EVENT_SPAM_PUBLIC | EVENT_WAKEUP, 2), EV_ALARM, 4, 0);
	expect_eq(H->m.state, RUNNABLE_M);
	teardown();
}

/* ---- kernel events ------------------------------------------------------- */

TEST(kernel_events_go_to_the_registered_evq)
{
	struct vcore_procdata *pd;
	struct event_msg m = msg_of(VCORE_MAX_NR_EVENT, 1);
	u64 q;

	setup();
	pd = mcp_procdata(&H->m);
	mcp_send_kernel_event(&H->m, &m, 0);	/* bad type */
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_EV_TYPE), 1);
	m = msg_of(EV_VCORE_PREEMPT, 2);
	mcp_send_kernel_event(&H->m, &m, 0);	/* not registered */
	expect_eq(H_STAT(H, sent), 0);
	q = vcpd_evq(EVENT_VCORE_APPRO, 0);
	pd->kernel_evts[EV_VCORE_PREEMPT] = q;
	mcp_send_kernel_event(&H->m, &m, 2);
	expect_eq(pub_count(2), 1);
	pd->kernel_evts[EV_POSIX_SIGNAL] = q;
	mcp_send_posix_signal(&H->m, 15);
	expect(take_pub(0, &m));
	expect_eq(m.ev_type, EV_POSIX_SIGNAL);
	expect_eq(m.ev_arg1, 15);
	teardown();
}

/* ---- the fallback ---------------------------------------------------------- */

TEST(spam_in_runnable_s_goes_to_vcore_0)
{
	setup();
	send(vcpd_evq(EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN, 2), EV_ALARM,
	     1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "1,0,0,0");
	expect_eq(H_STAT(H, spams), 1);
	teardown();
}

TEST(spam_ignores_the_evq_mbox)
{
	struct event_queue *evq;
	u64 q;

	setup();
	h_vcpd(H, 2)->flags = VC_CAN_RCV_MSG;
	h_arrange(H, RUNNING, "O:0 I:1,2,3");
	evq = h_evq(H, EVENT_SPAM_PUBLIC, 2, 0, &q);
	evq->ev_mbox = 0xdeadbeef;
	send(q, EV_ALARM, 1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,0,1,0");
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX), 0);
	teardown();
}

TEST(must_run_prefers_the_mapped_target)
{
	setup();
	h_arrange(H, RUNNING, "O:0,2 I:1,3");
	send(vcpd_evq(EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN | EVENT_IPI, 2),
	     EV_ALARM, 1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,0,1,0");
	expect_eq(H_STAT(H, notifs), 1);
	teardown();
}

struct rearrange {
	unsigned int state;
	const char *spec[2];	/* alternate between these */
	unsigned int n;
};

static void do_rearrange(void *arg, const volatile void *addr,
			 unsigned int kind)
{
	struct rearrange *r = arg;

	(void)addr;
	(void)kind;
	h_arrange(H, r->state, r->spec[r->n++ % 2] ?: r->spec[0]);
}

TEST(must_run_target_unmapped_after_the_post_falls_to_the_online_list)
{
	struct rearrange r = { .state = RUNNING, .spec = { "O:0 I:2,1,3" } };
	int w;

	setup();
	h_arrange(H, RUNNING, "O:2,0 I:1,3");
	/* the re-check is the second look at vcore 2's mapping */
	w = h_watch(&H->m.vcores[2].mapped, 1, H_LOAD, 1, 1, do_rearrange,
		    &r);
	send(vcpd_evq(EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN, 2), EV_ALARM,
	     1, 0);
	expect_eq(h_watch_fired(w), 1);
	/* posted to 2 (harmless: a vcore restarting looks), then to 0 */
	expect_str(pub_counts(buf, sizeof(buf)), "1,0,1,0");
	teardown();
}

TEST(must_run_unmapped_target_goes_to_the_online_head)
{
	setup();
	h_arrange(H, RUNNING, "O:3,1 I:0,2");
	send(vcpd_evq(EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN, 2), EV_ALARM,
	     1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,0,0,1");
	teardown();
}

TEST(must_run_with_nothing_online_takes_the_ultimate_fallback)
{
	setup();
	h_arrange(H, RUNNABLE_M, "B:1,3 I:0,2");
	send(vcpd_evq(EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN, 2), EV_ALARM,
	     1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,1,0,0");
	h_arrange(H, WAITING, "I:3,0,1,2");
	send(vcpd_evq(EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN, 2), EV_ALARM,
	     2, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,1,0,1");
	expect(can_rcv(3));
	teardown();
}

TEST(target_that_will_look_gets_it)
{
	setup();
	h_arrange(H, RUNNING, "O:0 I:1,2,3");
	h_vcpd(H, 2)->flags = VC_CAN_RCV_MSG;
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,0,1,0");
	/* looking, but its mbox is broken: the online head instead */
	h_vcpd_mbox(H, 2, false)->type = 0;
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 2, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "1,0,1,0");
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX_TYPE), 1);
	teardown();
}

static void clear_can_rcv(void *arg, const volatile void *addr,
			  unsigned int kind)
{
	(void)addr;
	(void)kind;
	h_vcpd(H, (u32)(uintptr_t)arg)->flags &= ~VC_CAN_RCV_MSG;
}

TEST(target_that_stops_looking_after_the_post_falls_through)
{
	int w;

	setup();
	h_arrange(H, RUNNING, "O:0 I:1,2,3");
	h_vcpd(H, 2)->flags = VC_CAN_RCV_MSG;
	w = h_watch(&h_vcpd(H, 2)->flags, 4, H_LOAD, 1, 1, clear_can_rcv,
		    (void *)2);
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect_eq(h_watch_fired(w), 1);
	expect_str(pub_counts(buf, sizeof(buf)), "1,0,1,0");
	teardown();
}

TEST(waiting_process_skips_the_lists)
{
	setup();
	/* inactive head 1 is looking, but WAITING goes to the last resort */
	h_vcpd(H, 1)->flags = VC_CAN_RCV_MSG;
	h_arrange(H, WAITING, "I:2,1,0,3");
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 3), EV_ALARM, 1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,0,1,0");
	expect(can_rcv(2));
	teardown();
}

TEST(online_head_then_bulk_head_then_a_looking_inactive_head)
{
	setup();
	h_arrange(H, RUNNING, "O:1,0 B:3 I:2");
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,1,0,0");
	h_arrange(H, RUNNABLE_M, "B:3,0 I:2,1");
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 2, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,1,0,1");
	h_arrange(H, RUNNABLE_M, "I:0,1,2,3");
	h_vcpd(H, 0)->flags = VC_CAN_RCV_MSG;
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 3, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "1,1,0,1");
	teardown();
}

TEST(inactive_head_not_looking_is_made_to_look)
{
	setup();
	h_arrange(H, RUNNABLE_M, "I:3,0,1,2");
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,0,0,1");
	expect(can_rcv(3));
	teardown();
}

TEST(inactive_head_that_stops_looking_gets_a_second_post)
{
	int w;

	setup();
	h_arrange(H, RUNNABLE_M, "I:3,0,1,2");
	h_vcpd(H, 3)->flags = VC_CAN_RCV_MSG;
	w = h_watch(&h_vcpd(H, 3)->flags, 4, H_LOAD, 1, 1, clear_can_rcv,
		    (void *)3);
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect_eq(h_watch_fired(w), 1);
	/* the lockless try posted, then the last resort posted again */
	expect_str(pub_counts(buf, sizeof(buf)), "0,0,0,2");
	expect(can_rcv(3));
	teardown();
}

TEST(online_head_that_moves_is_followed)
{
	struct rearrange r = { .state = RUNNING, .spec = { "O:0 I:1,2,3" } };
	int w;

	setup();
	h_arrange(H, RUNNING, "O:1,0 I:2,3");
	w = h_watch(&H->m.online.next, sizeof(void *), H_LOAD, 1, 1,
		    do_rearrange, &r);
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect_eq(h_watch_fired(w), 1);
	expect_str(pub_counts(buf, sizeof(buf)), "1,1,0,0");
	teardown();
}

TEST(online_head_that_keeps_moving_is_given_up_after_ten_tries)
{
	struct rearrange r = { .state = RUNNING, .spec = { "O:0,1 I:2,3", "O:1,0 I:2,3" } };
	unsigned int total = 0;

	setup();
	h_arrange(H, RUNNING, "O:1,0 I:2,3");
	/* every re-read of the head finds a new one */
	h_watch(&H->m.online.next, sizeof(void *), H_LOAD, 1, 10,
		do_rearrange, &r);
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	for (u32 v = 0; v < NR_VC; v++)
		total += pub_count(v);
	/* ten tries, then the inactive head (not looking), then last resort */
	expect_eq(total, 11);
	expect_eq(pub_count(2) + pub_count(3), 0);
	expect(!can_rcv(2));
	teardown();
}

TEST(no_inactive_vcore_to_try_goes_to_the_last_resort)
{
	struct rearrange r = { .state = RUNNING,
			       .spec = { "O:0,1,2,3", "O:1,0,2,3" } };
	unsigned int total = 0;

	setup();
	h_arrange(H, RUNNING, "O:1,0,2,3");
	h_watch(&H->m.online.next, sizeof(void *), H_LOAD, 1, 10,
		do_rearrange, &r);
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	for (u32 v = 0; v < NR_VC; v++)
		total += pub_count(v);
	expect_eq(total, 11);
	expect(!can_rcv(0) && !can_rcv(1));
	teardown();
}

TEST(online_list_emptied_during_the_try_moves_on)
{
	struct rearrange r = { .state = RUNNABLE_M, .spec = { "B:3 I:0,1,2" } };

	setup();
	h_arrange(H, RUNNING, "O:1 B:3 I:0,2");
	h_watch(&H->m.online.next, sizeof(void *), H_LOAD, 1, 1, do_rearrange,
		&r);
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,1,0,1");
	teardown();
}

TEST(broken_mbox_at_a_list_head_moves_on)
{
	setup();
	h_arrange(H, RUNNING, "O:1 B:3 I:0,2");
	h_vcpd_mbox(H, 1, false)->type = 0;
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect_str(pub_counts(buf, sizeof(buf)), "0,0,0,1");
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX_TYPE), 1);
	teardown();
}

TEST(last_resort_prefers_online_then_bulk_under_the_lock)
{
	struct rearrange r = { .state = RUNNING, .spec = { "O:0,1 I:2,3", "O:1,0 I:2,3" } };

	setup();
	/* MUST_RUN, target unmapped, the online head never holds still */
	h_arrange(H, RUNNING, "O:1,0 I:2,3");
	h_watch(&H->m.online.next, sizeof(void *), H_LOAD, 1, 10,
		do_rearrange, &r);
	send(vcpd_evq(EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN, 2), EV_ALARM,
	     1, 0);
	/* 10 tries, then the head under the lock: 11 in all */
	expect_eq(pub_count(0) + pub_count(1), 11);
	h_watch_clear();
	clear_pending();
	teardown();
}

TEST(last_resort_with_no_vcore_anywhere_drops)
{
	setup();
	/* WAITING yet every vcore online: the inactive list is empty */
	h_arrange(H, WAITING, "O:0,1,2,3");
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect_eq(H_DROPS(H, VCORE_DROP_NO_VCORE), 1);
	expect_str(pub_counts(buf, sizeof(buf)), "0,0,0,0");
	teardown();
}

TEST(last_resort_post_that_fails_does_not_mark_the_vcore)
{
	setup();
	h_arrange(H, WAITING, "I:1,0,2,3");
	h_vcpd_mbox(H, 1, false)->type = 0;
	send(vcpd_evq(EVENT_SPAM_PUBLIC, 2), EV_ALARM, 1, 0);
	expect(!can_rcv(1));
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_MBOX_TYPE), 1);
	teardown();
}

TEST(spam_keeps_only_ipi_and_must_run)
{
	struct event_msg m;

	setup();
	h_arrange(H, RUNNING, "O:1 I:0,2,3");
	/* PRIVATE is not a spam flag: the public mbox all the same */
	send(vcpd_evq(EVENT_SPAM_PUBLIC | EVENT_VCORE_PRIVATE | EVENT_IPI, 2),
	     EV_ALARM, 1, 0);
	expect(take_pub(1, &m) && msg_is(&m, EV_ALARM, 1));
	expect_eq(priv_count(1), 0);
	expect_eq(H_STAT(H, notifs), 1);
	teardown();
}

/* ---- interrupts ------------------------------------------------------------ */

struct irq_send {
	u64 q;
	unsigned int n;
};

static void irq_handler(void *arg)
{
	struct irq_send *s = arg;

	expect(h_in_irq());
	send(s->q, EV_ALARM, 1000 + s->n++, 0);
}

/*
 * A hard IRQ may interrupt mcp_send_event() anywhere interrupts are enabled
 * and send to the same ev_q: at every such point in turn, both messages
 * arrive, in some order, and nothing deadlocks.
 */
TEST(send_interrupted_by_a_send_at_every_point)
{
	struct event_queue *evq;
	struct irq_send s = { 0 };
	unsigned int at, fired = 0;

	setup();
	h_arrange(H, RUNNING, "O:0,1 B:2 I:3");
	evq = h_evq(H, EVENT_INDIR | EVENT_IPI | EVENT_SPAM_INDIR |
		    EVENT_NOTHROTTLE | EVENT_WAKEUP, 1, EV_MBOX_UCQ, &s.q);
	for (at = 0; at < 400; at++) {
		struct event_msg got[4];
		unsigned int n;

		h_irq_arm(at, irq_handler, &s);
		send(s.q, EV_ALARM, at, 0);
		if (!h_irq_fired()) {
			h_irq_disarm();
			break;
		}
		fired++;
		n = h_mbox_drain(H, h_evq_mbox(H, evq), got, 4);
		expect_eq(n, 2);
		expect(n == 2 && (msg_is(&got[0], EV_ALARM, at) ||
				  msg_is(&got[1], EV_ALARM, at)));
		while (take_pub(0, &got[0]) || take_pub(1, &got[0]))
			;
		expect_eq(h_check(H), 0);
	}
	diag("an interrupt at each of %u points", fired);
	expect(fired > 20);
	teardown();
}

int main(void)
{
	tap_start(60);
	RUN(dying_process_drops_everything);
	RUN(evq_outside_the_regions_is_dropped);
	RUN(checked_send_reports_a_bad_evq_and_counts_it_once);
	RUN(checked_send_to_a_dying_process_still_reports_a_bad_evq);
	RUN(checked_send_goes_on_when_the_arena_is_unmapped_after_the_translation);
	RUN(evq_in_procdata_is_accepted);
	RUN(vcoreid_past_max_vcores_is_dropped);
	RUN(evq_mbox_of_each_type_gets_the_message_and_no_alert);
	RUN(evq_mbox_outside_the_regions_is_dropped);
	RUN(mbox_of_unknown_type_is_dropped_and_the_alert_still_goes_out);
	RUN(a_failed_post_still_wakes_a_waiting_process);
	RUN(vcpd_public_and_private_mboxes_without_ipi_leave_notif_pending);
	RUN(ipi_notifies_only_a_mapped_vcore_with_notifs_enabled);
	RUN(mcp_notify_sets_pending_and_counts_an_ipi_when_it_would_send_one);
	RUN(post_vcore_event_goes_straight_to_a_vcpd_mbox);
	RUN(appro_uses_the_suggested_vcore);
	RUN(roundrobin_walks_the_online_count_and_writes_the_cursor_back);
	RUN(roundrobin_without_online_vcores_uses_vcore_0);
	RUN(indir_posts_ev_event_once_until_user_clears_the_alert);
	RUN(nothrottle_sends_an_indir_every_time);
	RUN(indir_to_a_broken_vcpd_mbox_is_a_drop_and_no_notification);
	RUN(spam_indir_sends_the_ev_event_through_the_fallback);
	RUN(wakeup_wakes_a_waiting_process_only);
	RUN(kernel_events_go_to_the_registered_evq);
	RUN(spam_in_runnable_s_goes_to_vcore_0);
	RUN(spam_ignores_the_evq_mbox);
	RUN(must_run_prefers_the_mapped_target);
	RUN(must_run_target_unmapped_after_the_post_falls_to_the_online_list);
	RUN(must_run_unmapped_target_goes_to_the_online_head);
	RUN(must_run_with_nothing_online_takes_the_ultimate_fallback);
	RUN(target_that_will_look_gets_it);
	RUN(target_that_stops_looking_after_the_post_falls_through);
	RUN(waiting_process_skips_the_lists);
	RUN(online_head_then_bulk_head_then_a_looking_inactive_head);
	RUN(inactive_head_not_looking_is_made_to_look);
	RUN(inactive_head_that_stops_looking_gets_a_second_post);
	RUN(online_head_that_moves_is_followed);
	RUN(online_head_that_keeps_moving_is_given_up_after_ten_tries);
	RUN(no_inactive_vcore_to_try_goes_to_the_last_resort);
	RUN(online_list_emptied_during_the_try_moves_on);
	RUN(broken_mbox_at_a_list_head_moves_on);
	RUN(last_resort_prefers_online_then_bulk_under_the_lock);
	RUN(last_resort_with_no_vcore_anywhere_drops);
	RUN(last_resort_post_that_fails_does_not_mark_the_vcore);
	RUN(spam_keeps_only_ipi_and_must_run);
	RUN(send_interrupted_by_a_send_at_every_point);
	return tap_done();
}
