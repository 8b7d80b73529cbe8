// SPDX-License-Identifier: GPL-2.0
/*
 * The vcore lists (online, bulk_preempted, inactive) and the process state.
 *
 * Every vcore is on exactly one list.  Changes happen under mcp.lock with
 * the RCU list primitives, because the event fallback peeks at list heads
 * from any context without the lock: it only ever reads a head, posts,
 * and re-reads the head, and vcores are never freed while the MCP lives,
 * so a stale head costs at most a retry (see event.c).
 *
 * procinfo mirrors the state and the vcore/pcore maps for user space,
 * updated under the coremap_seq write section.
 */
#include "vcores.h"

/* MAP-1, pairs with MAP-2 in libvcore/vcore_lib.c map_read_begin() */
static void __publish_begin(struct mcp *m)
{
	vc_store(&m->procinfo->coremap_seq, m->procinfo->coremap_seq + 1);
	vc_wmb();
}

static void __publish_end(struct mcp *m)
{
	vc_wmb();
	vc_store(&m->procinfo->coremap_seq, m->procinfo->coremap_seq + 1);
}

/* Mirror state, num_vcores and the maps into procinfo. */
static void __mcp_publish(struct mcp *m)
	__must_hold(&m->lock)
{
	struct vcore_procinfo *pi = m->procinfo;
	unsigned int i;

	vc_assert_held(&m->lock);
	__publish_begin(m);
	for (i = 0; i < pi->nr_pcores; i++)
		vc_store(&pi->pcoremap[i].valid, 0);
	for (i = 0; i < m->max_vcores; i++) {
		struct mcp_vcore *vc = &m->vcores[i];

		vc_store(&pi->vcoremap[i].valid, vc->mapped);
		vc_store(&pi->vcoremap[i].pcoreid, vc->pcoreid);
		if (vc->mapped && vc->pcoreid < pi->nr_pcores) {
			vc_store(&pi->pcoremap[vc->pcoreid].vcoreid, i);
			vc_store(&pi->pcoremap[vc->pcoreid].valid, 1);
		}
	}
	vc_store(&pi->num_vcores, m->num_vcores);
	vc_store(&pi->state, m->state);
	__publish_end(m);
}

/**
 * mcp_vcores_init() - every vcore inactive, in id order; the process not
 * yet an MCP (VCORE_PROC_RUNNABLE_S)
 * @m: the MCP
 * @vcores: max_vcores entries
 * @max_vcores: how many
 */
void mcp_vcores_init(struct mcp *m, struct mcp_vcore *vcores,
		     unsigned int max_vcores)
{
	unsigned long flags;
	unsigned int i;

	vc_lock_init(&m->lock);
	INIT_LIST_HEAD(&m->online);
	INIT_LIST_HEAD(&m->bulk_preempted);
	INIT_LIST_HEAD(&m->inactive);
	m->vcores = vcores;
	m->max_vcores = max_vcores;
	m->num_vcores = 0;
	m->state = VCORE_PROC_RUNNABLE_S;
	for (i = 0; i < max_vcores; i++) {
		vcores[i].id = i;
		vcores[i].mapped = false;
		vcores[i].home_node = -1;
		list_add_tail(&vcores[i].list, &m->inactive);
	}
	vc_lock_irqsave(&m->lock, flags);
	__mcp_publish(m);
	vc_unlock_irqrestore(&m->lock, flags);
}

#ifdef VCORE_TEST
static struct list_head *list_head_of(struct mcp *m, unsigned int which)
{
	switch (which) {
	case MCP_ONLINE:
		return &m->online;
	case MCP_BULK_PREEMPTED:
		return &m->bulk_preempted;
	default:
		return &m->inactive;
	}
}

/**
 * mcp_arrange() - put every vcore on a given list, in a given order
 * @m: the MCP
 * @state: the new VCORE_PROC_* state
 * @list_of: for each vcore, its enum mcp_list
 * @order: the vcore ids, in the order they go onto their lists (head first)
 * @pcoreid: for each vcore, the pcore it is mapped to when online
 *
 * For tests: reaches every branch of the fallback without real vcores.
 * Online vcores are mapped, the others not.  Return: 0, or -EINVAL if
 * @order is not a permutation or a state or list is unknown.
 */
int mcp_arrange(struct mcp *m, unsigned int state, const u8 *list_of,
		const u16 *order, const u32 *pcoreid)
{
	unsigned long seen[BITS_TO_LONGS(VCORE_MAX_VCORES)] = { 0 };
	unsigned long flags;
	unsigned int i;

	if (state < VCORE_PROC_RUNNABLE_S || state > VCORE_PROC_WAITING)
		return -EINVAL;
	for (i = 0; i < m->max_vcores; i++) {
		if (order[i] >= m->max_vcores || test_bit(order[i], seen) ||
		    list_of[order[i]] > MCP_INACTIVE)
			return -EINVAL;
		__set_bit(order[i], seen);
	}

	vc_lock_irqsave(&m->lock, flags);
	m->num_vcores = 0;
	for (i = 0; i < m->max_vcores; i++) {
		struct mcp_vcore *vc = &m->vcores[order[i]];
		unsigned int which = list_of[order[i]];

		list_del_rcu(&vc->list);
		list_add_tail_rcu(&vc->list, list_head_of(m, which));
		WRITE_ONCE(vc->mapped, which == MCP_ONLINE);
		vc->pcoreid = pcoreid[order[i]];
		m->num_vcores += which == MCP_ONLINE;
	}
	WRITE_ONCE(m->state, state);
	__mcp_publish(m);
	vc_unlock_irqrestore(&m->lock, flags);
	return 0;
}
#endif /* VCORE_TEST */

/* WAITING -> RUNNABLE_M; harmless in any other state.  True if it woke. */
bool mcp_wakeup(struct mcp *m)
{
	unsigned long flags;
	bool woke = false;

	vc_lock_irqsave(&m->lock, flags);
	if (m->state == VCORE_PROC_WAITING) {
		WRITE_ONCE(m->state, VCORE_PROC_RUNNABLE_M);
		__mcp_publish(m);
		woke = true;
	}
	vc_unlock_irqrestore(&m->lock, flags);
	return woke;
}

/**
 * mcp_attach_vcore() - a thread will play vcore @vcoreid
 * @m: the MCP
 * @vcoreid: checked against max_vcores
 *
 * Return: 0, -EINVAL for a bad id, -EBUSY if it already has a thread,
 * -ESRCH if the process is dying.
 */
int mcp_attach_vcore(struct mcp *m, u32 vcoreid)
{
	unsigned long flags;
	int ret = 0;

	if (vcoreid >= m->max_vcores)
		return -EINVAL;
	vc_lock_irqsave(&m->lock, flags);
	if (m->state == VCORE_PROC_DYING)
		ret = -ESRCH;
	else if (m->vcores[vcoreid].attached)
		ret = -EBUSY;
	else
		m->vcores[vcoreid].attached = true;
	vc_unlock_irqrestore(&m->lock, flags);
	return ret;
}

/*
 * How many more vcores the process asks for (procdata's res_req).  A
 * RUNNABLE_M process with none online (preempted, or its last vcore
 * yielded nicely) has work and wants at least one, even if its yields
 * lowered amt_wanted to 0 (they lower it before the kernel may refuse
 * them).
 */
unsigned int mcp_vcores_wanted(struct mcp *m)
{
	u64 want = vc_load(&mcp_procdata(m)->res_req[VCORE_RES_CORES].amt_wanted);
	unsigned int online = READ_ONCE(m->num_vcores);
	u32 state = READ_ONCE(m->state);

	if (state == VCORE_PROC_DYING || state == VCORE_PROC_WAITING)
		return 0;
	if (state == VCORE_PROC_RUNNABLE_M && !online && !want)
		want = 1;
	if (want > m->max_vcores)
		want = m->max_vcores;
	return want > online ? want - online : 0;
}

/*
 * The first vcore with a thread on @l if it will look at its public mbox,
 * else the first one homed on @node, if any is, else the first.
 */
static struct mcp_vcore *first_attached(struct mcp *m, struct list_head *l,
					int node)
{
	struct mcp_vcore *vc, *first = NULL;

	list_for_each_entry(vc, l, list) {
		if (!vc->attached)
			continue;
		if (!first) {
			first = vc;
			/*
			 * It will look at its public mbox: the fallback may
			 * have posted there, promising it runs next (and a
			 * preempted vcore holds what came since).  It goes
			 * first, wherever it is homed.
			 */
			if (vc_load(&mcp_vcpd(m, vc->id)->flags) &
			    VC_CAN_RCV_MSG)
				return vc;
		}
		if (node < 0 || vc->home_node == node)
			return vc;
	}
	return first;
}

/* Offline -> the online list's tail, mapped on @pcoreid; not published. */
static void __map_vcore(struct mcp *m, struct mcp_vcore *vc, u32 pcoreid)
	__must_hold(&m->lock)
{
	list_del_rcu(&vc->list);
	list_add_tail_rcu(&vc->list, &m->online);
	vc->pcoreid = pcoreid;
	WRITE_ONCE(vc->mapped, true);
	m->num_vcores++;
	if (m->state != VCORE_PROC_DYING)
		WRITE_ONCE(m->state, VCORE_PROC_RUNNING_M);
}

/*
 * A vcore (re)starting on a pcore: it will look at its public mbox.  No
 * barrier (the RMWs are void): the vcore has not run yet, and it starts
 * in vcore context, which it leaves only through NOTIF-3's look at
 * notif_pending (and so NOTIF-4's drain); FB-1 may see the flag early,
 * which is the point.
 */
static void restart_flags(struct mcp *m, u32 vcoreid)
{
	struct vcore_preempt_data *vcpd = mcp_vcpd(m, vcoreid);

	vc_and32(&vcpd->flags, ~(u32)VC_PREEMPTED);
	vc_or32(&vcpd->flags, VC_CAN_RCV_MSG);
}

/**
 * mcp_grant_vcore_near() - put an offline vcore on pcore @pcoreid
 * @m: the MCP
 * @pcoreid: the CPU granted
 * @node: its NUMA node, or -1
 *
 * Akaros's order: the bulk-preempted list first, then the inactive list,
 * each from its head; only vcores with a thread qualify.  Within the list,
 * the first vcore whose VCPD lives on @node goes before the others.  The
 * vcore joins
 * the online list's tail, mapped; the process is RUNNING_M.  Its VCPD
 * gets VC_CAN_RCV_MSG and loses VC_PREEMPTED.
 *
 * Return: the vcore, or NULL if none can run (nothing changed).
 */
struct mcp_vcore *mcp_grant_vcore_near(struct mcp *m, u32 pcoreid, int node)
{
	struct mcp_vcore *vc;
	unsigned long flags;

	vc_lock_irqsave(&m->lock, flags);
	if (m->state == VCORE_PROC_DYING || m->state == VCORE_PROC_WAITING) {
		vc_unlock_irqrestore(&m->lock, flags);
		return NULL;
	}
	vc = first_attached(m, &m->bulk_preempted, node);
	if (!vc)
		vc = first_attached(m, &m->inactive, node);
	if (!vc) {
		vc_unlock_irqrestore(&m->lock, flags);
		return NULL;
	}
	__map_vcore(m, vc, pcoreid);
	restart_flags(m, vc->id);
	__mcp_publish(m);
	vc_unlock_irqrestore(&m->lock, flags);
	return vc;
}

/**
 * mcp_take_bulk_preempted() - Akaros's __send_bulkp_events(), one vcore
 * @m: the MCP
 *
 * Once the process runs again after a bulk preemption, a vcore still on
 * the bulk-preempted list moves to the inactive list's head, and the
 * caller tells the process about it (EV_VCORE_PREEMPT).  Nothing while no
 * vcore is online: the restart does it.
 *
 * Return: the vcore's id, or -1 if there is none to tell about.
 */
int mcp_take_bulk_preempted(struct mcp *m)
{
	struct mcp_vcore *vc;
	unsigned long flags;

	vc_lock_irqsave(&m->lock, flags);
	vc = m->num_vcores ? list_first_entry_or_null(&m->bulk_preempted,
						      struct mcp_vcore, list) :
			     NULL;
	if (vc) {
		list_del_rcu(&vc->list);
		list_add_rcu(&vc->list, &m->inactive);
	}
	vc_unlock_irqrestore(&m->lock, flags);
	return vc ? (int)vc->id : -1;
}

#ifdef VCORE_TEST
/* mcp_grant_vcore_near() without a node. */
struct mcp_vcore *mcp_grant_vcore(struct mcp *m, u32 pcoreid)
{
	return mcp_grant_vcore_near(m, pcoreid, -1);
}
#endif

/* Online -> the head of @to, unmapped; the last one out sets @last_state. */
static void __unmap_vcore(struct mcp *m, struct mcp_vcore *vc,
			  struct list_head *to, unsigned int last_state)
	__must_hold(&m->lock)
{
	list_del_rcu(&vc->list);
	list_add_rcu(&vc->list, to);
	WRITE_ONCE(vc->mapped, false);
	m->num_vcores--;
	if (!m->num_vcores && m->state != VCORE_PROC_DYING)
		WRITE_ONCE(m->state, last_state);
	__mcp_publish(m);
}

/**
 * mcp_yield_vcore() - Akaros's yield: online vcore @vcoreid goes inactive
 * @m: the MCP
 * @vcoreid: an online vcore
 * @being_nice: only yield if a preemption is pending
 *
 * Refused with no preemption pending while amt_wanted is at least
 * num_vcores (the process asked for this vcore), and while the vcore's
 * notif_pending is set: it is checked before
 * and again after leaving the online list (a message posted to us in
 * between may have gone through the fallback, which only considers online
 * vcores); on the second check the vcore goes back.  The last vcore out
 * makes the process WAITING, or RUNNABLE_M if @being_nice.
 *
 * Return: 0, -EAGAIN (not yielded), -EPERM (not online).
 */
int mcp_yield_vcore(struct mcp *m, u32 vcoreid, bool being_nice)
{
	struct vcore_preempt_data *vcpd;
	struct mcp_vcore *vc;
	unsigned long flags;

	if (vcoreid >= m->max_vcores)
		return -EPERM;
	vc = &m->vcores[vcoreid];
	vcpd = mcp_vcpd(m, vcoreid);
	vc_lock_irqsave(&m->lock, flags);
	if (!vc->mapped) {
		vc_unlock_irqrestore(&m->lock, flags);
		return -EPERM;
	}
	if (being_nice &&
	    !vc_load(&m->procinfo->vcoremap[vcoreid].preempt_pending)) {
		vc_unlock_irqrestore(&m->lock, flags);
		return -EAGAIN;
	}
	/*
	 * As Akaros's: with no preemption pending, a yield that would leave
	 * fewer vcores than the process asks for is refused: it wants this
	 * one to run (a yielder lowers amt_wanted first).
	 */
	if (!vc_load(&m->procinfo->vcoremap[vcoreid].preempt_pending) &&
	    vc_load(&mcp_procdata(m)->res_req[VCORE_RES_CORES].amt_wanted) >=
	    m->num_vcores) {
		vc_unlock_irqrestore(&m->lock, flags);
		return -EAGAIN;
	}
	if (vc_load(&vcpd->notif_pending)) {
		vc_unlock_irqrestore(&m->lock, flags);
		return -EAGAIN;
	}
	/*
	 * A nice yield gives the pcore up for a preemption that was coming
	 * and keeps amt_wanted: the process still wants the vcore, so the
	 * last one out leaves it RUNNABLE_M, as a preemption would, not
	 * WAITING (which only a wakeup ends: it would sit there with work).
	 */
	__unmap_vcore(m, vc, &m->inactive, being_nice ? VCORE_PROC_RUNNABLE_M :
							VCORE_PROC_WAITING);
	/*
	 * NOTIF-5, pairs with NOTIF-2 (post_vc_msg()) and FB-2/FB-3 in
	 * event.c: off the online list before the second look.
	 */
	vc_mb();
	if (vc_load(&vcpd->notif_pending)) {
		__map_vcore(m, vc, vc->pcoreid);
		__mcp_publish(m);
		vc_unlock_irqrestore(&m->lock, flags);
		return -EAGAIN;
	}
	vc_store(&m->procinfo->vcoremap[vcoreid].preempt_pending, 0);
	vc_unlock_irqrestore(&m->lock, flags);
	return 0;
}

/**
 * mcp_preempt_vcore() - take online vcore @vcoreid's pcore
 * @m: the MCP
 * @vcoreid: an online vcore
 * @bulk: part of a preemption of every vcore
 *
 * The vcore goes to the head of the inactive list, or of the
 * bulk-preempted list for a bulk preemption; the process is RUNNABLE_M
 * when none is left online.  The caller has saved its context and set
 * VC_PREEMPTED.
 *
 * Return: how many vcores were still online right after it went (read
 * under the lock: if any was, someone must hear EV_VCORE_PREEMPT, even
 * if they all yield before it is sent), or -EPERM if it was not online.
 */
int mcp_preempt_vcore(struct mcp *m, u32 vcoreid, bool bulk)
{
	struct mcp_vcore *vc;
	unsigned long flags;
	int left;

	if (vcoreid >= m->max_vcores)
		return -EPERM;
	vc = &m->vcores[vcoreid];
	vc_lock_irqsave(&m->lock, flags);
	if (!vc->mapped) {
		vc_unlock_irqrestore(&m->lock, flags);
		return -EPERM;
	}
	vc_store(&m->procinfo->vcoremap[vcoreid].preempt_pending, 0);
	vc_store(&m->procinfo->vcoremap[vcoreid].nr_preempts_done,
		 m->procinfo->vcoremap[vcoreid].nr_preempts_done + 1);
	__unmap_vcore(m, vc, bulk ? &m->bulk_preempted : &m->inactive,
		      VCORE_PROC_RUNNABLE_M);
	left = m->num_vcores;
	vc_unlock_irqrestore(&m->lock, flags);
	return left;
}

/**
 * mcp_detach_vcore() - vcore @vcoreid's thread is gone
 * @m: the MCP
 * @vcoreid: a valid vcore id
 *
 * The vcore loses its thread and, if it was online, its pcore: it goes
 * to the tail of the inactive list (last in line for grants and for the
 * fallback, which prefers list heads) without VC_CAN_RCV_MSG, and the
 * process is RUNNABLE_M when none is left online.  A later ATTACH may
 * give it a new thread.
 *
 * Return: the pcore it was mapped to, or -1.
 */
int mcp_detach_vcore(struct mcp *m, u32 vcoreid)
{
	struct mcp_vcore *vc;
	unsigned long flags;
	int cpu = -1;

	if (vcoreid >= m->max_vcores)
		return -1;
	vc = &m->vcores[vcoreid];
	vc_lock_irqsave(&m->lock, flags);
	vc->attached = false;
	vc->resume_vcore_ctx = false;
	vc_and32(&mcp_vcpd(m, vcoreid)->flags, ~(u32)VC_CAN_RCV_MSG);
	if (vc->mapped) {
		cpu = vc->pcoreid;
		__unmap_vcore(m, vc, &m->inactive, VCORE_PROC_RUNNABLE_M);
	}
	list_del_rcu(&vc->list);
	list_add_tail_rcu(&vc->list, &m->inactive);
	__mcp_publish(m);
	vc_unlock_irqrestore(&m->lock, flags);
	return cpu;
}

/* From here on every event is dropped. */
void mcp_set_dying(struct mcp *m)
{
	unsigned long flags;

	vc_lock_irqsave(&m->lock, flags);
	WRITE_ONCE(m->state, VCORE_PROC_DYING);
	__mcp_publish(m);
	vc_unlock_irqrestore(&m->lock, flags);
}

/**
 * mcp_change_vcore() - online vcore @caller hands its pcore to @target
 * @m: the MCP
 * @caller: an online vcore
 * @target: an offline vcore with a thread
 *
 * The caller goes to the head of the inactive list with VC_PREEMPTED set;
 * the target joins the online list on the caller's pcore, restarting as a
 * granted vcore does.
 *
 * Return: the pcore; -EINVAL (bad or same target, or no thread), -EBUSY
 * (target mapped), -EAGAIN (not RUNNING_M, or the caller is being
 * preempted), -EPERM (caller not online).
 */
int mcp_change_vcore(struct mcp *m, u32 caller, u32 target)
{
	struct mcp_vcore *vc, *vt;
	unsigned long flags;
	int ret;

	if (caller >= m->max_vcores || target >= m->max_vcores ||
	    caller == target)
		return -EINVAL;
	vc = &m->vcores[caller];
	vt = &m->vcores[target];
	vc_lock_irqsave(&m->lock, flags);
	if (!vc->mapped)
		ret = -EPERM;
	else if (vt->mapped)
		ret = -EBUSY;
	else if (!vt->attached)
		ret = -EINVAL;
	else if (m->state != VCORE_PROC_RUNNING_M ||
		 (vc_load(&mcp_vcpd(m, caller)->flags) & VC_K_LOCK))
		ret = -EAGAIN;
	else
		ret = vc->pcoreid;
	if (ret < 0) {
		vc_unlock_irqrestore(&m->lock, flags);
		return ret;
	}
	/* the target first, so the process never looks empty */
	__map_vcore(m, vt, ret);
	restart_flags(m, target);
	vc_or32(&mcp_vcpd(m, caller)->flags, VC_PREEMPTED);
	__unmap_vcore(m, vc, &m->inactive, VCORE_PROC_RUNNING_M);
	vc_unlock_irqrestore(&m->lock, flags);
	return ret;
}
