// SPDX-License-Identifier: GPL-2.0
/*
 * Reaching a vcore's thread, from any context.
 *
 * An online vcore is interrupted by an async IPI to its pcore.  The
 * handler queues task work on the vcore's thread (TWA_RESUME), which runs
 * on the thread's next return to user space and either delivers a
 * notification or preempts the vcore (vcore_run.c); a request bit tells
 * which.  At most one IPI and one task work per vcore are in flight
 * (VT_IPI_BUSY, VT_WORK_QUEUED); a second request finds one pending, and
 * the pending one reads the shared state when it runs.  Each holds a
 * reference on the MCP and one on the module: a task work runs only when
 * its thread next returns to user space (or exits), and until then the
 * module cannot go.  The IPI's pair is taken by the sender and handed to
 * the task work the handler queues; a handler that queues none drops it
 * with interrupts off, which the module loader's RCU grace period covers.
 * The task work drops its pair as its very last step.
 *
 * An offline vcore's thread sleeps until a grant names its pcore:
 * vcore_hand_pcore() publishes the pcore and wakes it.
 */
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/task_work.h>
#include <linux/wait.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#include "core/event.h"
#include "core/vcores.h"
#include "kick.h"
#include "proc.h"
#include "test.h"
#include "trace.h"

/*
 * On the vcore's pcore, in hard IRQ: have its thread look.  The IPI's
 * references on the MCP and the module (vcore_kick()) become the task
 * work's when it queues one, and are dropped here otherwise: no shared
 * counter is touched on the way to the thread.
 */
void vcore_ipi_fn(void *info)
{
	struct vcore_thread *vt = info;
	struct vcore_proc *p = vt->p;
	struct task_struct *task = READ_ONCE(vt->task);
	bool queue;

	/*
	 * KICK-5: the IPI is over (the csd, unlocked before we were called,
	 * may go out again), before the look at the task work: a kick that
	 * still finds this IPI busy made its request before that look, which
	 * either queues the work or finds one queued that has not read the
	 * requests yet (tools/testing/core/model/kick.pml).  The references
	 * are still ours: vt stays.
	 */
	clear_bit_unlock(VT_IPI_BUSY, &vt->bits);
	/* KICK-3 (fully ordered), pairs with KICK-4 in vcore_work_fn() */
	queue = task && !test_and_set_bit(VT_WORK_QUEUED, &vt->bits);
	/*
	 * Once queued, the work may run at once on another CPU (the thread
	 * moved) and drop the last references: vt is not touched again, and
	 * the rest of this handler runs with interrupts off, which the
	 * module loader's RCU grace period before it frees the module covers.
	 */
	if (queue && !task_work_add(task, &vt->work, TWA_RESUME))
		return;
	if (queue)
		clear_bit(VT_WORK_QUEUED, &vt->bits);
	vcore_proc_put_any(p);
	module_put(THIS_MODULE);
}

/* Interrupt @vt's thread on its pcore, if it is online. */
static void vcore_kick(struct vcore_thread *vt)
{
	struct vcore_proc *p = vt->p;
	int cpu = READ_ONCE(vt->grant_cpu);

	if (cpu < 0 || !READ_ONCE(vt->task))
		return;
	/* KICK-5: at most one IPI in flight */
	if (test_and_set_bit_lock(VT_IPI_BUSY, &vt->bits))
		return;
	kref_get(&p->ref);
	__module_get(THIS_MODULE);
	trace_vcore_ipi(vcore_proc_pid(p), vt->id, cpu);
	if (smp_call_function_single_async(cpu, &vt->csd)) {
		clear_bit_unlock(VT_IPI_BUSY, &vt->bits);
		vcore_proc_put_any(p);
		module_put(THIS_MODULE);
	}
}

/* From mcp_notify(), any context: interrupt an online vcore. */
void vcore_notify_ipi(struct mcp *m, u32 vcoreid)
{
	struct vcore_proc *p = container_of(m, struct vcore_proc, mcp);

	vcore_kick(&p->vt[vcoreid]);
}

/*
 * @vt's vcore was mapped to @cpu (a grant or a change_vcore): its thread,
 * asleep offline, moves there.
 */
void vcore_hand_pcore(struct vcore_thread *vt, int cpu)
{
	/* KICK-1, pairs with KICK-2 in vcore_run.c granted_cpu() */
	smp_store_release(&vt->grant_cpu, cpu);
	wake_up(&vt->wq);
}

/**
 * vcore_preempt_request() - ask one online vcore to preempt itself, or
 * warn it first
 * @t: the MCP
 * @vcoreid: the vcore, below @t's max_vcores
 * @flags: VCORE_PREEMPT_WARN: only post EV_PREEMPT_PENDING with a
 *	deadline @warn_ns from now; VCORE_PREEMPT_ALL: part of a bulk one
 * @warn_ns: with VCORE_PREEMPT_WARN, at most VCORE_PREEMPT_WARN_MAX_NS
 *
 * Any context.  Return: whether the vcore was online.
 */
bool vcore_preempt_request(struct vcore_proc *t, u32 vcoreid, u32 flags,
			   u64 warn_ns)
{
	struct mcp *m = &t->mcp;
	struct vcore_thread *vt = &t->vt[vcoreid];
	struct vcore_vcoremap_entry *e = &m->procinfo->vcoremap[vcoreid];
	struct vcore_preempt_data *vcpd = mcp_vcpd(m, vcoreid);

	if (!mcp_vcore_is_mapped(m, vcoreid))
		return false;
	if (flags & VCORE_PREEMPT_WARN) {
		struct event_msg msg = { .ev_type = EV_PREEMPT_PENDING,
					 .ev_arg1 = vcoreid };
		u64 ticks = mul_u64_u32_div(warn_ns, tsc_khz, USEC_PER_SEC);

		vc_store(&e->preempt_pending, (rdtsc() + ticks) | 1);
		mcp_send_kernel_event(m, &msg, vcoreid);
		return true;
	}
	vc_store(&e->nr_preempts_sent, e->nr_preempts_sent + 1);
	/* PREEMPT-1, pairs with PREEMPT-3 in libvcore/uthread.c */
	vc_or32(&vcpd->flags, VC_K_LOCK);
	if (flags & VCORE_PREEMPT_ALL)
		set_bit(VT_PREEMPT_BULK, &vt->bits);
	set_bit(VT_PREEMPT, &vt->bits);
	/*
	 * KICK-6, pairs with KICK-4: the request before the kick's reads.
	 * set_bit() is unordered in the kernel's model; on x86 it is a
	 * locked instruction and this compiles to nothing.
	 */
	smp_mb__after_atomic();
	vcore_kick(vt);
	return true;
}

/**
 * vcore_preempt_all() - preempt every online vcore of @t, as one bulk
 * preemption (VCORE_PREEMPT_ALL), or warn each
 * @t: the MCP
 * @flags: VCORE_PREEMPT_ALL, and VCORE_PREEMPT_WARN to only warn
 * @warn_ns: as vcore_preempt_request()'s
 *
 * Every online vcore is marked part of the bulk before the first is
 * kicked: one that goes offline early must not take another, not asked
 * yet, for a vcore the process runs on (runs_again()) and tell the
 * process about itself while the rest are being preempted.  KICK-6 in
 * each request orders the marks before its kick.  Process context.
 *
 * Return: how many vcores were online.
 */
unsigned int vcore_preempt_all(struct vcore_proc *t, u32 flags, u64 warn_ns)
{
	struct mcp *m = &t->mcp;
	unsigned int v, n = 0;

	if (!(flags & VCORE_PREEMPT_WARN))
		for (v = 0; v < m->max_vcores; v++)
			if (mcp_vcore_is_mapped(m, v))
				set_bit(VT_PREEMPT_BULK, &t->vt[v].bits);
	for (v = 0; v < m->max_vcores; v++) {
		if (!vcore_preempt_request(t, v, flags, warn_ns))
			continue;
		n++;
		vcore_test_preempt_delay();
	}
	return n;
}
