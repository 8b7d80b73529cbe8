// SPDX-License-Identifier: GPL-2.0
/*
 * Event delivery, after Akaros's kern/src/event.c.
 *
 * mcp_send_event() routes a message through an ev_q: to the ev_q's own mbox or
 * a vcore's VCPD mbox, then optionally an INDIR (EV_EVENT naming the ev_q)
 * and a notification; or, with SPAM_PUBLIC, straight into the public VCPD
 * mbox of whichever vcore will look, through the fallback below.
 *
 * It runs in any context, hard IRQ included: it never sleeps, never faults
 * (every user address goes through mcp_translate() into module memory) and
 * takes only irq-safe spinlocks.  Each ev_q field is read once into a local
 * and only the local is used, since user space may rewrite it at any time.
 *
 * The fallback's idiom, throughout: post, full barrier, then check that
 * the condition that made the target a good choice still holds.  If it
 * does, the target is bound to see the message (it sets or clears that
 * condition and then checks its mailbox, the mirror image); if not, try
 * the next candidate.  Every lockless try is allowed to fail, because the
 * last resort takes the process lock and cannot.
 *
 * Ordering: ORDERING.md's MBOX, NOTIF, FB and EVQ tables, whose labels
 * the comments below use; its scenario blocks spell out the fallback's
 * check / post / check again (FB-1, FB-2) and the notif_pending /
 * notif_disabled handshake (NOTIF-1).
 */
#include "arena.h"
#include "event.h"
#include "mbox.h"
#include "vcores.h"

/* EVENT_* flags that travel with a spammed message */
#define EVENT_SPAM_FLAGS	(EVENT_IPI | EVENT_VCORE_MUST_RUN)
/* how often a lockless list try follows a changed head */
#define SPAM_LIST_TRIES		10

static struct event_mbox *vcpd_mbox(struct mcp *m, u32 vcoreid, u32 flags)
{
	struct vcore_preempt_data *vcpd = mcp_vcpd(m, vcoreid);

	if (flags & EVENT_VCORE_PRIVATE)
		return &vcpd->ev_mbox_private;
	return &vcpd->ev_mbox_public;
}

static bool can_msg_vcore(struct mcp *m, u32 vcoreid)
{
	return vc_load(&mcp_vcpd(m, vcoreid)->flags) & VC_CAN_RCV_MSG;
}

static void set_vcore_msgable(struct mcp *m, u32 vcoreid)
{
	vc_or32(&mcp_vcpd(m, vcoreid)->flags, VC_CAN_RCV_MSG);
}

/**
 * mcp_mbox_post() - post @msg into @mbox, whose type is read once
 * @m: the MCP
 * @mbox: kernel address of the mbox
 * @msg: the message
 *
 * Return: whether it was posted; a failure is counted as a drop.
 */
bool mcp_mbox_post(struct mcp *m, struct event_mbox *mbox,
		   const struct event_msg *msg)
{
	u32 type;
	int err;

	/*
	 * MBOX-2, pairs with MBOX-1 in libvcore/mbox.c mbox_publish(): the
	 * type is published last, so the fields read below are initialised.
	 */
	type = vc_load_acquire(&mbox->type);
	switch (type) {
	case EV_MBOX_UCQ:
		err = ucq_post(m, &mbox->ucq, msg);
		break;
	case EV_MBOX_BITMAP:
		err = evbitmap_post(&mbox->evbm, msg, NULL);
		break;
	case EV_MBOX_CEQ:
		err = ceq_post(m, &mbox->ceq, msg);
		break;
	default:
		err = VCORE_DROP_BAD_MBOX_TYPE;
		break;
	}
	if (err) {
		mcp_drop(m, err);
		return false;
	}
	atomic64_inc(&m->stats.posted[type]);
	vc_trace_post(m, type, msg);
	return true;
}

/* Post into a VCPD mbox, then tell the vcore it has something. */
static bool post_vc_msg(struct mcp *m, u32 vcoreid, struct event_mbox *mbox,
			const struct event_msg *msg)
{
	if (!mcp_mbox_post(m, mbox, msg))
		return false;
	/*
	 * NOTIF-2, pairs with NOTIF-4 in libvcore/event.c
	 * vcore_handle_events() and NOTIF-5: the message before
	 * notif_pending.  A write barrier, not a release: on x86-TSO (the
	 * module is x86-64 only) stores reach every CPU in one order, so
	 * even a vcore whose xchg reads a later producer's 1 sees our
	 * message.  ORDERING.md has the scenario.
	 */
	vc_wmb();
	vc_store(&mcp_vcpd(m, vcoreid)->notif_pending, 1);
	return true;
}

/**
 * mcp_notify() - Akaros's proc_notify: tell vcore @vcoreid to look
 * @m: the MCP
 * @vcoreid: a valid vcore id
 *
 * Sets notif_pending; a vcore that has notifications enabled and is mapped
 * is interrupted into vcore context (counted in stats.notifs).  The
 * receiving side checks notif_disabled and the mapping again.
 */
void mcp_notify(struct mcp *m, u32 vcoreid)
{
	struct vcore_preempt_data *vcpd = mcp_vcpd(m, vcoreid);

	/*
	 * NOTIF-1, pairs with NOTIF-3 (libvcore/vcore_entry.S's pop,
	 * vcore_enable_notifs()): notif_pending, a full barrier, then
	 * notif_disabled; store buffering, so both sides need the barrier.
	 */
	vc_store(&vcpd->notif_pending, 1);
	vc_mb();
	if (vc_load(&vcpd->notif_disabled))
		return;
	if (mcp_vcore_is_mapped(m, vcoreid)) {
		atomic64_inc(&m->stats.notifs);
		vc_notify_ipi(m, vcoreid);
	}
}

static void try_notify(struct mcp *m, u32 vcoreid, u32 flags)
{
	if ((flags & EVENT_IPI) && mcp_vcore_is_mapped(m, vcoreid))
		mcp_notify(m, vcoreid);
}

static bool spam_vcore(struct mcp *m, u32 vcoreid,
		       const struct event_msg *msg, u32 flags)
{
	if (!post_vc_msg(m, vcoreid, vcpd_mbox(m, vcoreid, 0), msg))
		return false;
	try_notify(m, vcoreid, flags);
	return true;
}

/* Post to vcoreid if it says it will look: check, post, check again. */
static bool try_spam_vcore(struct mcp *m, u32 vcoreid,
			   const struct event_msg *msg, u32 flags)
{
	if (!can_msg_vcore(m, vcoreid))
		return false;
	if (!spam_vcore(m, vcoreid, msg, flags))
		return false;
	/*
	 * FB-1, pairs with FB-4 in libvcore/vcore_lib.c vcore_yield():
	 * notif_pending before re-reading the flag.
	 */
	vc_mb();
	return can_msg_vcore(m, vcoreid);
}

/*
 * Post to the head of a vcore list and succeed if it is still the head
 * afterwards: a vcore leaving the list checks its mbox after leaving.
 */
static bool spam_list_member(struct mcp *m, struct list_head *list,
			     const struct event_msg *msg, u32 flags)
{
	struct mcp_vcore *vc, *now;
	bool ok = false;
	int tries;

	vc_rcu_read_lock();
	vc = mcp_list_first(list);
	for (tries = 0; vc && tries < SPAM_LIST_TRIES; tries++) {
		if (!spam_vcore(m, vc->id, msg, flags))
			break;
		/*
		 * FB-2, pairs with NOTIF-5 in vcores.c mcp_yield_vcore():
		 * notif_pending before re-reading the head.
		 */
		vc_mb();
		now = mcp_list_first(list);
		if (now == vc) {
			ok = true;
			break;
		}
		vc = now;
	}
	vc_rcu_read_unlock();
	return ok;
}

/* The first vcore on @l that has a thread, else the head, or NULL. */
static struct mcp_vcore *first_with_thread(struct list_head *l)
{
	struct mcp_vcore *vc;

	list_for_each_entry(vc, l, list)
		if (vc->attached)
			return vc;
	return list_first_entry_or_null(l, struct mcp_vcore, list);
}

/* Under the process lock nothing moves: post to whoever will run first. */
static void spam_ultimate_fallback(struct mcp *m, const struct event_msg *msg,
				   u32 flags)
{
	struct mcp_vcore *vc = NULL;
	unsigned long irqflags;

	vc_lock_irqsave(&m->lock, irqflags);
	if (m->state != VCORE_PROC_WAITING) {
		vc = list_first_entry_or_null(&m->online, struct mcp_vcore,
					      list);
		if (!vc)
			vc = list_first_entry_or_null(&m->bulk_preempted,
						      struct mcp_vcore, list);
		if (vc) {
			spam_vcore(m, vc->id, msg, flags);
			goto out;
		}
	}
	/*
	 * Every vcore is inactive: the first with a thread is the next one
	 * to run (a grant takes it first once it may receive messages).
	 */
	vc = first_with_thread(&m->inactive);
	if (!vc) {
		mcp_drop(m, VCORE_DROP_NO_VCORE);
		goto out;
	}
	if (spam_vcore(m, vc->id, msg, flags))
		set_vcore_msgable(m, vc->id);
out:
	vc_unlock_irqrestore(&m->lock, irqflags);
}

/*
 * Akaros's spam_public_msg: get @msg into the public mbox of a vcore that
 * will look, preferring @vcoreid.
 */
static void spam_public_msg(struct mcp *m, const struct event_msg *msg,
			    u32 vcoreid, u32 flags)
{
	struct mcp_vcore *vc;
	bool ok;

	atomic64_inc(&m->stats.spams);
	if (READ_ONCE(m->state) == VCORE_PROC_RUNNABLE_S) {
		/* not an MCP yet: vcore 0 is the process */
		spam_vcore(m, 0, msg, flags);
		return;
	}
	if (flags & EVENT_VCORE_MUST_RUN) {
		if (mcp_vcore_is_mapped(m, vcoreid)) {
			spam_vcore(m, vcoreid, msg, flags);
			/* FB-3: check, signal, check again; pairs with NOTIF-5 */
			vc_mb();
			if (mcp_vcore_is_mapped(m, vcoreid))
				return;
		}
		if (spam_list_member(m, &m->online, msg, flags))
			return;
		spam_ultimate_fallback(m, msg, flags);
		return;
	}
	if (try_spam_vcore(m, vcoreid, msg, flags))
		return;
	if (READ_ONCE(m->state) != VCORE_PROC_WAITING) {
		if (spam_list_member(m, &m->online, msg, flags))
			return;
		if (spam_list_member(m, &m->bulk_preempted, msg, flags))
			return;
		/* the inactive head may already be marked as looking */
		vc_rcu_read_lock();
		vc = mcp_list_first(&m->inactive);
		ok = vc && try_spam_vcore(m, vc->id, msg, flags);
		vc_rcu_read_unlock();
		if (ok)
			return;
	}
	spam_ultimate_fallback(m, msg, flags);
}

/* Tell a vcore to look at the ev_q, unless one was told and has not yet. */
static void send_indir(struct mcp *m, u64 ev_q, struct event_queue *evq_k,
		       u32 vcoreid, u32 flags)
{
	struct event_msg local = {
		.ev_type = EV_EVENT,
		.ev_arg3 = ev_q,
	};

	/*
	 * EVQ-1, pairs with EVQ-2 in libvcore/event.c vcore_handle_ev_ev():
	 * user space clears ev_alert_pending before it drains the ev_q, so a
	 * post after that clear gets its own INDIR.  The xchg is fully
	 * ordered; mcp_send_event()'s vc_wmb() already put the message first.
	 */
	if (!(flags & EVENT_NOTHROTTLE) &&
	    vc_xchg32(&evq_k->ev_alert_pending, 1))
		return;
	atomic64_inc(&m->stats.indirs);
	if (flags & EVENT_SPAM_INDIR) {
		spam_public_msg(m, &local, vcoreid, flags & EVENT_SPAM_FLAGS);
		return;
	}
	if (post_vc_msg(m, vcoreid, vcpd_mbox(m, vcoreid, 0), &local))
		try_notify(m, vcoreid, flags);
}

static u32 pick_vcore(struct mcp *m, struct event_queue *evq_k, u32 flags,
		      u32 vcoreid)
{
	u32 ev_vcore = vc_load(&evq_k->ev_vcore), nr;

	if (!(flags & EVENT_VCORE_APPRO))
		vcoreid = ev_vcore;
	if (flags & EVENT_ROUNDROBIN) {
		nr = READ_ONCE(m->num_vcores);
		/* Akaros divides by num_vcores; with none online, vcore 0 */
		if (READ_ONCE(m->state) == VCORE_PROC_RUNNABLE_S || !nr)
			vcoreid = 0;
		else
			vcoreid = (ev_vcore + 1) % nr;
		vc_store(&evq_k->ev_vcore, vcoreid);
	}
	return vcoreid;
}

/*
 * The send proper, through the ev_q at user address @ev_q whose kernel
 * address @evq_k mcp_translate() gave.  That address stays good while the
 * MCP lives (arena.c), so it may be used after the region's mapping went
 * away: the message then lands in memory no one looks at any more.
 */
static void send_event_evq(struct mcp *m, u64 ev_q, struct event_queue *evq_k,
			   const struct event_msg *msg, u32 vcoreid)
{
	struct event_mbox *mbox;
	u64 mbox_u;
	u32 flags;

	atomic64_inc(&m->stats.sent);
	flags = vc_load(&evq_k->ev_flags) & EVENT_FLAGS_ALL;
	vcoreid = pick_vcore(m, evq_k, flags, vcoreid);
	if (vcoreid >= m->max_vcores) {
		mcp_drop(m, VCORE_DROP_BAD_VCOREID);
		return;
	}
	if (flags & EVENT_SPAM_PUBLIC) {
		spam_public_msg(m, msg, vcoreid, flags & EVENT_SPAM_FLAGS);
		goto wakeup;
	}
	mbox_u = vc_load(&evq_k->ev_mbox);
	if (mbox_u)
		mbox = mcp_translate(m, mbox_u, sizeof(*mbox), sizeof(__u64));
	else
		mbox = vcpd_mbox(m, vcoreid, flags);
	/*
	 * A message that cannot be posted is a counted drop, and the alert
	 * and the wakeup still go out, as in Akaros: the consumer finds
	 * nothing new, but a process WAITING for this ev_q is not left
	 * asleep.
	 */
	if (!mbox)
		mcp_drop(m, VCORE_DROP_BAD_MBOX);
	else
		mcp_mbox_post(m, mbox, msg);
	/* NOTIF-2 and EVQ-1: the message before any alert about it */
	vc_wmb();
	if (flags & EVENT_INDIR)
		send_indir(m, ev_q, evq_k, vcoreid, flags);
	else
		try_notify(m, vcoreid, flags);
wakeup:
	if ((flags & EVENT_WAKEUP) &&
	    READ_ONCE(m->state) == VCORE_PROC_WAITING)
		if (mcp_wakeup(m)) {
			vc_trace_wakeup(m);
			vc_wakeup_grant(m);
		}
}

/**
 * mcp_send_event() - deliver @msg through the ev_q at user address @ev_q
 * @m: the MCP
 * @ev_q: user address of a struct event_queue in procdata or the arena
 * @msg: the message
 * @vcoreid: the vcore to prefer when the ev_q asks for EVENT_VCORE_APPRO
 *
 * Any context.  Everything that goes wrong is a counted drop.
 */
void mcp_send_event(struct mcp *m, u64 ev_q, const struct event_msg *msg,
		    u32 vcoreid)
{
	struct event_queue *evq_k;

	vc_trace_send(m, ev_q, msg, vcoreid);
	if (READ_ONCE(m->state) == VCORE_PROC_DYING) {
		mcp_drop(m, VCORE_DROP_DYING);
		return;
	}
	evq_k = mcp_translate(m, ev_q, sizeof(*evq_k), sizeof(__u64));
	if (!evq_k) {
		mcp_drop(m, VCORE_DROP_BAD_EVQ);
		return;
	}
	send_event_evq(m, ev_q, evq_k, msg, vcoreid);
}

/**
 * mcp_send_event_checked() - mcp_send_event() for a sender that must hear
 * about an ev_q outside the regions (the process's own SEND_EVENT)
 * @m: the MCP
 * @ev_q: user address of a struct event_queue in procdata or the arena
 * @msg: the message
 * @vcoreid: the vcore to prefer when the ev_q asks for EVENT_VCORE_APPRO
 *
 * The ev_q is translated once, first, so a bad one is reported even to a
 * dying MCP; everything else that goes wrong is a counted drop, as in
 * mcp_send_event().  Any context.
 *
 * Return: false, with the drop counted (VCORE_DROP_BAD_EVQ), if @ev_q does
 * not translate; true otherwise.
 */
bool mcp_send_event_checked(struct mcp *m, u64 ev_q,
			    const struct event_msg *msg, u32 vcoreid)
{
	struct event_queue *evq_k;

	evq_k = mcp_translate(m, ev_q, sizeof(*evq_k), sizeof(__u64));
	if (!evq_k) {
		mcp_drop(m, VCORE_DROP_BAD_EVQ);
		return false;
	}
	vc_trace_send(m, ev_q, msg, vcoreid);
	if (READ_ONCE(m->state) == VCORE_PROC_DYING)
		mcp_drop(m, VCORE_DROP_DYING);
	else
		send_event_evq(m, ev_q, evq_k, msg, vcoreid);
	return true;
}

/**
 * mcp_send_kernel_event() - send a kernel-originated event to the ev_q the
 * process registered for its type in procdata.kernel_evts, if any
 * @m: the MCP
 * @msg: the message; its ev_type selects the ev_q
 * @vcoreid: the vcore to prefer (EVENT_VCORE_APPRO)
 */
void mcp_send_kernel_event(struct mcp *m, const struct event_msg *msg,
			   u32 vcoreid)
{
	u64 ev_q;

	if (msg->ev_type >= VCORE_MAX_NR_EVENT) {
		mcp_drop(m, VCORE_DROP_BAD_EV_TYPE);
		return;
	}
	/*
	 * EVQ-4, pairs with EVQ-3 in libvcore/event.c
	 * vcore_register_kevent_q(): the ev_q's fields are set.  (The
	 * address dependency would do; the acquire says so, and on x86 it
	 * is the same plain load.)
	 */
	ev_q = vc_load_acquire(&mcp_procdata(m)->kernel_evts[msg->ev_type]);
	if (ev_q)
		mcp_send_event(m, ev_q, msg, vcoreid);
}

/**
 * mcp_post_vcore_event() - post straight into vcore @vcoreid's VCPD mbox
 * @m: the MCP
 * @msg: the message
 * @vcoreid: a valid vcore id
 * @ev_flags: EVENT_VCORE_PRIVATE for the private mbox
 *
 * Return: whether it was posted (notif_pending is set only then); a
 * failure is counted as a drop.
 */
bool mcp_post_vcore_event(struct mcp *m, const struct event_msg *msg,
			  u32 vcoreid, u32 ev_flags)
{
	return post_vc_msg(m, vcoreid, vcpd_mbox(m, vcoreid, ev_flags), msg);
}

/* EV_POSIX_SIGNAL to the process's registered ev_q, if any. */
void mcp_send_posix_signal(struct mcp *m, int signo)
{
	struct event_msg msg = {
		.ev_type = EV_POSIX_SIGNAL,
		.ev_arg1 = signo,
	};

	mcp_send_kernel_event(m, &msg, 0);
}
