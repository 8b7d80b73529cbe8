// SPDX-License-Identifier: GPL-2.0
/*
 * Provisioning: which MCP holds which managed pcore, and the policy that
 * decides it.
 *
 * Grants.  An MCP that wants vcores (its amt_wanted above its online
 * vcores) is given free pcores, one per offline vcore (vcore_grant()):
 * on the node it asked for first (VCORE_IOC_SET_NODE), then one kept for
 * it by a hand-off, then one on a node it already holds pcores on, then
 * any.  The vcore mapped to the pcore is the one whose VCPD is nearest.
 *
 * Fair share.  The managed pcores are divided evenly among the MCPs that
 * want vcores or hold some (rounded up).  An MCP below its share that
 * wants more takes one vcore from an MCP above it: that vcore is
 * preempted without warning, and its pcore, once free, is kept for the
 * taker for VCORE_RESERVE_JIFFIES (the hand-off).
 *
 * The pass.  Whenever a pcore comes free (a yield, a preemption
 * completing, a vcore thread exiting, an MCP going away, a reservation
 * for another MCP running out) every MCP that wants vcores is offered the
 * free pcores, and each one below its fair share may take a vcore from
 * one above it.  An MCP that asked once (one POKE) is served as pcores
 * come free without asking again.
 *
 * A pcore is released in any context (hard IRQ included, from a wakeup);
 * the pass needs the registry mutex, so the release only queues it.  A
 * pcore kept for another MCP is offered to everyone once its reservation
 * has run out: the pass is queued again for then (reserve_pass).
 *
 * An MCP that yielded a pcore or had one preempted is left out of the
 * pass for VCORE_HOLD_OFF_JIFFIES, or until it asks again (POKE, ATTACH,
 * a wakeup): otherwise it would get back at once what it gave up or what
 * was taken from it.  A pass queued for the end of the earliest hold-off
 * (hold_off_pass) serves it then.
 */
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/spinlock.h>
#include <linux/topology.h>
#include <linux/vcore.h>
#include <linux/workqueue.h>

#include "core/event.h"
#include "core/vcores.h"
#include "kick.h"
#include "pcores.h"
#include "proc.h"
#include "provision.h"
#include "trace.h"

/* How long a pcore freed for another MCP is kept for it. */
#define VCORE_RESERVE_JIFFIES	(HZ / 10)
#define VCORE_HOLD_OFF_JIFFIES	HZ

/*
 * Who holds each managed pcore: an MCP, or NULL.  A free pcore may be
 * reserved for a while for the MCP it was taken from another for (the
 * hand-off), for VCORE_RESERVE_JIFFIES.  The MCPs are only compared: a
 * pcore's owner gives it back before its MCP goes (vcore_threads_release()
 * calls vcore_pcore_release_all()).
 */
static DEFINE_SPINLOCK(owners_lock);
static const struct vcore_proc *owner[VCORE_MAX_PCORES];
static const struct vcore_proc *reserved_for[VCORE_MAX_PCORES];
static unsigned long reserved_until[VCORE_MAX_PCORES];

/* The provisioning pass (see vcore_provision()), queued from any context. */
static void provision_fn(struct work_struct *w);
static DECLARE_WORK(provision_work, provision_fn);
static DECLARE_DELAYED_WORK(reserve_pass, provision_fn);
static DECLARE_DELAYED_WORK(hold_off_pass, provision_fn);

static bool claimable(unsigned int cpu, const struct vcore_proc *who)
	__must_hold(&owners_lock)
{
	return !owner[cpu] &&
	       (!reserved_for[cpu] || reserved_for[cpu] == who ||
		time_after(jiffies, reserved_until[cpu]));
}

/* The nodes of the pcores @who holds. */
static void __held_nodes(const struct vcore_proc *who, nodemask_t *used)
	__must_hold(&owners_lock)
{
	unsigned int cpu;

	nodes_clear(*used);
	for_each_cpu(cpu, vcore_pcores_mask())
		if (owner[cpu] == who && cpu_to_node(cpu) >= 0)
			node_set(cpu_to_node(cpu), *used);
}

/*
 * Take a free managed pcore for @who, preferring @node (or -1), only on
 * @node when @strict.  Among the free pcores: one on @node first, then
 * one kept for @who by a hand-off, then one on a node @who already holds
 * pcores on, then any; ties go to the lowest CPU id.  Any context.
 *
 * Return: the CPU, or -1 if none is free (on @node, when @strict).
 */
static int claim_pcore(const struct vcore_proc *who, int node, bool strict)
{
	unsigned int cpu, score, best_score = 0;
	unsigned long flags;
	nodemask_t used;
	int ret = -1;

	spin_lock_irqsave(&owners_lock, flags);
	__held_nodes(who, &used);
	for_each_cpu(cpu, vcore_pcores_mask()) {
		int cn = cpu_to_node(cpu);

		if (!claimable(cpu, who) || (strict && cn != node))
			continue;
		score = 1;
		if (node >= 0 && cn == node)
			score += 8;
		if (reserved_for[cpu] == who)
			score += 4;
		if (cn >= 0 && node_isset(cn, used))
			score += 2;
		if (score > best_score) {
			best_score = score;
			ret = cpu;
		}
	}
	if (ret >= 0) {
		owner[ret] = who;
		reserved_for[ret] = NULL;
	}
	spin_unlock_irqrestore(&owners_lock, flags);
	return ret;
}

/**
 * vcore_pcore_release() - give back a pcore
 * @cpu: the pcore
 * @who: the MCP that holds it (nothing happens if it does not)
 * @next: NULL, or the MCP to keep it for, for VCORE_RESERVE_JIFFIES
 *
 * Any context.  The caller queues the pass (vcore_provision()).
 */
void vcore_pcore_release(unsigned int cpu, struct vcore_proc *who,
			 struct vcore_proc *next)
{
	unsigned long flags;

	if (cpu >= VCORE_MAX_PCORES)
		return;
	spin_lock_irqsave(&owners_lock, flags);
	if (owner[cpu] == who) {
		owner[cpu] = NULL;
		reserved_for[cpu] = next;
		reserved_until[cpu] = jiffies + VCORE_RESERVE_JIFFIES;
	}
	spin_unlock_irqrestore(&owners_lock, flags);
}

/* Give back every pcore @who holds, and every one kept for it. */
void vcore_pcore_release_all(struct vcore_proc *who)
{
	unsigned long flags;
	unsigned int cpu;

	spin_lock_irqsave(&owners_lock, flags);
	for (cpu = 0; cpu < VCORE_MAX_PCORES; cpu++) {
		if (owner[cpu] == who)
			owner[cpu] = NULL;
		if (reserved_for[cpu] == who)
			reserved_for[cpu] = NULL;
	}
	spin_unlock_irqrestore(&owners_lock, flags);
}

/**
 * vcore_set_node() - where @p's next grants take pcores
 * @p: the MCP
 * @node: a node with managed pcores, or -1 for the default policy
 * @flags: VCORE_NODE_STRICT: only that node
 *
 * Return: 0, or -EINVAL (see VCORE_IOC_SET_NODE).
 */
int vcore_set_node(struct vcore_proc *p, s32 node, u32 flags)
{
	bool strict = flags & VCORE_NODE_STRICT;

	if ((flags & ~VCORE_NODE_STRICT) || node < -1 ||
	    (node == -1 && strict) ||
	    (node >= 0 && !vcore_pcores_node_managed(node)))
		return -EINVAL;
	atomic_set(&p->node_req, (node + 1) |
		   (strict ? VCORE_PROC_NODE_STRICT : 0));
	return 0;
}

/* The node request as one snapshot. */
static void node_req(struct vcore_proc *p, int *node, bool *strict)
{
	int req = atomic_read(&p->node_req);

	*node = (req & VCORE_PROC_NODE_MASK) - 1;
	*strict = req & VCORE_PROC_NODE_STRICT;
}

/**
 * vcore_grant() - give free pcores to @p's offline vcores, as many as it
 * asks for
 * @p: the MCP
 *
 * Any context.  Return: how many vcores were granted.
 */
unsigned int vcore_grant(struct vcore_proc *p)
{
	struct mcp_vcore *vc;
	unsigned int n = 0;
	int cpu, node;
	bool strict;

	while (mcp_vcores_wanted(&p->mcp)) {
		node_req(p, &node, &strict);
		cpu = claim_pcore(p, node, strict);
		if (cpu < 0)
			break;
		vc = mcp_grant_vcore_near(&p->mcp, cpu, cpu_to_node(cpu));
		if (!vc) {
			/* no vcore can take it: no pass either, it would loop */
			vcore_pcore_release(cpu, p, NULL);
			break;
		}
		trace_vcore_grant(vcore_proc_pid(p), vc->id, cpu);
		vcore_hand_pcore(&p->vt[vc->id], cpu);
		n++;
	}
	if (n)
		vcore_bulk_restarted(p);
	return n;
}

/**
 * vcore_bulk_restarted() - the process runs again: tell it about each
 * vcore a bulk preemption left offline
 * @p: the MCP
 *
 * As Akaros: a bulk preemption sends no EV_VCORE_PREEMPT as its vcores go
 * offline (the others are being preempted too); once a vcore runs again,
 * every vcore still on the bulk-preempted list moves to the inactive list
 * and the process hears EV_VCORE_PREEMPT about it.  Any context.
 */
void vcore_bulk_restarted(struct vcore_proc *p)
{
	struct event_msg msg = { .ev_type = EV_VCORE_PREEMPT };
	int id;

	while ((id = mcp_take_bulk_preempted(&p->mcp)) >= 0) {
		msg.ev_arg2 = id;
		mcp_send_kernel_event(&p->mcp, &msg, 0);
	}
}

/*
 * One MCP above the fair share, @victim, loses a vcore to @p, which wants
 * more: that vcore is warned and preempted; the pcore is kept for
 * @p for a while and the pass that its release queues hands it over.
 * Vcores whose preemption is already under way do not count: they are on
 * their way out, and counting them would take a second vcore for one.
 *
 * Return: whether a preemption was started.
 */
static bool rebalance_one(struct vcore_proc *p, struct vcore_proc *victim,
			  unsigned int share)
{
	struct mcp *m = &victim->mcp;
	unsigned int v, staying = 0;
	int pick = -1;

	if (victim == p)
		return false;
	for (v = 0; v < m->max_vcores; v++) {
		if (!mcp_vcore_is_mapped(m, v) ||
		    (vc_load(&mcp_vcpd(m, v)->flags) & VC_K_LOCK))
			continue;
		staying++;
		pick = v;
	}
	if (staying <= share || pick < 0)
		return false;
	WRITE_ONCE(victim->vt[pick].handoff, p);
	/*
	 * Warned first, as Akaros's proc_preempt_core() warns before it
	 * preempts (EV_PREEMPT_PENDING, preempt_pending): the process hears
	 * that this vcore is going, though the preemption does not wait.
	 */
	vcore_preempt_request(victim, pick, VCORE_PREEMPT_WARN, 0);
	return vcore_preempt_request(victim, pick, 0, 0);
}

/*
 * Fair share for @p, which wants more and counts as wanting: if it is
 * below its share, one MCP above the share loses a vcore for it.
 */
static void __rebalance(struct vcore_proc *p)
	__must_hold(&vcore_registry.lock)
{
	unsigned int wanting = 0, share, nr = vcore_pcores_nr_managed();
	struct vcore_proc *q;

	lockdep_assert_held(&vcore_registry.lock);
	list_for_each_entry(q, &vcore_registry.list, node)
		wanting += q == p || READ_ONCE(q->mcp.num_vcores) ||
			   mcp_vcores_wanted(&q->mcp);
	share = DIV_ROUND_UP(nr, max(wanting, 1U));
	if (READ_ONCE(p->mcp.num_vcores) >= share)
		return;
	list_for_each_entry(q, &vcore_registry.list, node)
		if (rebalance_one(p, q, share))
			break;
}

/**
 * vcore_rebalance() - take a pcore from an MCP above its fair share
 * @p: an MCP that wants more vcores than it has
 *
 * Process context.
 */
void vcore_rebalance(struct vcore_proc *p)
{
	mutex_lock(&vcore_registry.lock);
	__rebalance(p);
	mutex_unlock(&vcore_registry.lock);
}

/*
 * HOLD-2, pairs with HOLD-1 in vcore_hold_off(): the bit, then the
 * deadline.  Two plain loads, kept in order on x86 (the module is x86-64
 * only); a stale pair would only end a hold-off early or late.
 */
static bool held_off(struct vcore_proc *p)
{
	return test_bit(VCORE_PROC_HELD_OFF, &p->flags) &&
	       time_before(jiffies, READ_ONCE(p->held_off_until));
}

static void provision_fn(struct work_struct *w)
{
	unsigned long next = 0;
	struct vcore_proc *p;

	mutex_lock(&vcore_registry.lock);
	list_for_each_entry(p, &vcore_registry.list, node)
		if (!held_off(p))
			vcore_grant(p);
	list_for_each_entry(p, &vcore_registry.list, node) {
		if (held_off(p)) {
			unsigned long left = READ_ONCE(p->held_off_until) -
					     jiffies;

			if (!next || left < next)
				next = left;
		} else if (mcp_vcores_wanted(&p->mcp)) {
			__rebalance(p);
		}
	}
	mutex_unlock(&vcore_registry.lock);
	if (next)
		queue_delayed_work(system_unbound_wq, &hold_off_pass, next + 1);
}

/**
 * vcore_provision() - run the provisioning pass soon
 * @reserved: a pcore was just kept for an MCP: pass again when that ends
 *
 * Any context.
 */
void vcore_provision(bool reserved)
{
	queue_work(system_unbound_wq, &provision_work);
	if (reserved)
		mod_delayed_work(system_unbound_wq, &reserve_pass,
				 VCORE_RESERVE_JIFFIES + 1);
}

/* Every MCP is gone (the module is unused): no pass may still run. */
void vcore_provision_exit(void)
{
	cancel_delayed_work_sync(&reserve_pass);
	cancel_delayed_work_sync(&hold_off_pass);
	cancel_work_sync(&provision_work);
}

/* @p gave up or lost a pcore: leave it out of passes for a while. */
void vcore_hold_off(struct vcore_proc *p)
{
	WRITE_ONCE(p->held_off_until, jiffies + VCORE_HOLD_OFF_JIFFIES);
	/* HOLD-1: the deadline before the bit; pairs with HOLD-2 */
	smp_mb__before_atomic();
	set_bit(VCORE_PROC_HELD_OFF, &p->flags);
	queue_delayed_work(system_unbound_wq, &hold_off_pass,
			   VCORE_HOLD_OFF_JIFFIES + 1);
}

/*
 * @p asks for vcores (POKE, ATTACH, a wakeup): the passes serve it again,
 * and it gets what is free right now.  Any context.
 */
void vcore_provision_ask(struct vcore_proc *p)
{
	clear_bit(VCORE_PROC_HELD_OFF, &p->flags);
	vcore_grant(p);
}

/*
 * A WAITING process was woken (EVENT_WAKEUP): it gets a vcore even if its
 * last yield lowered amt_wanted to 0, as the woken process is to run.
 * amt_wanted is the process's to write; the kernel only raises it from 0
 * to 1 here, which the process's own lowering (never below 0) tolerates.
 * What is free is granted here; a pass (a kworker) runs only if the
 * process still wants more, to take pcores from others.
 */
void vcore_wakeup_grant(struct mcp *m)
{
	struct vcore_proc *p = container_of(m, struct vcore_proc, mcp);

	cmpxchg(&mcp_procdata(m)->res_req[VCORE_RES_CORES].amt_wanted, 0, 1);
	vcore_provision_ask(p);
	if (mcp_vcores_wanted(m))
		vcore_provision(false);
}
