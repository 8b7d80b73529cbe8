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
		list_add_tail(&vcores[i].list, &m->inactive);
	}
	vc_lock_irqsave(&m->lock, flags);
	__mcp_publish(m);
	vc_unlock_irqrestore(&m->lock, flags);
}

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

/* WAITING -> RUNNABLE_M; harmless in any other state. */
void mcp_wakeup(struct mcp *m)
{
	unsigned long flags;

	vc_lock_irqsave(&m->lock, flags);
	if (m->state == VCORE_PROC_WAITING) {
		WRITE_ONCE(m->state, VCORE_PROC_RUNNABLE_M);
		__mcp_publish(m);
	}
	vc_unlock_irqrestore(&m->lock, flags);
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
