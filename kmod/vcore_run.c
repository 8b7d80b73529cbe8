// SPDX-License-Identifier: GPL-2.0
/*
 * Vcores that run: the threads that play them, pcore grants, notification
 * IPIs and the redirect into vcore context, yield and preemption.
 *
 * A vcore thread is in one of two places.  Offline, it sleeps in the
 * kernel (in ATTACH, in YIELD, or in the preemption task work) until a
 * grant names its pcore.  Online, it is pinned to that pcore and runs user
 * code.  It always leaves the kernel through vcore_enter(), which rewrites
 * the thread's saved user registers so that the return to user space lands
 * in vcore_entry on the transition stack.
 *
 * A notification is an async IPI to the vcore's pcore (kick.c).  The
 * handler queues task work on the vcore's thread (TWA_RESUME), which runs
 * on the thread's next return to user space: at once if the IPI
 * interrupted user mode, after the syscall if the thread was in one.  The
 * work (vcore_work_fn() here) looks again: the
 * vcore must still be mapped and notif_disabled clear (mcp_notify() set
 * notif_pending before it read notif_disabled, and user space clears
 * notif_disabled before it reads notif_pending, so one of the two sides
 * sees the other).  It saves the user registers into uthread_ctx, sets
 * notif_disabled and enters vcore_entry.  FP/SIMD state stays live.
 * A preemption takes the same path with a request bit; its work saves the
 * context and the FP state into the VCPD, gives up the pcore and sleeps.
 * The task work drops the MCP and module references the IPI handler
 * handed it (the sender took them for the IPI) as its very last step.
 *
 * Which pcore a vcore gets, and when, is provisioning's (provision.c);
 * every pcore given up here goes back there.
 *
 * Each attached thread is watched for sleeps in the kernel (blocked.c):
 * it starts in ATTACH and stops itself when its wait sends it away with
 * an error and in the exit hook; the preemption task work marks its wait
 * as the module's own, as the ioctls do.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/elf.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/regset.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/smp.h>
#include <linux/task_work.h>
#include <linux/tracepoint.h>
#include <linux/wait.h>
#include <asm/fsgsbase.h>

#include "alarm.h"
#include "blocked.h"
#include "compat.h"
#include "core/event.h"
#include "core/vcores.h"
#include "kick.h"
#include "pcores.h"
#include "proc.h"
#include "provision.h"
#include "test.h"
#include "trace.h"
#include "vcore_run.h"

static void vcore_work_fn(struct callback_head *cb);

/* Every attached vcore thread, for the exit hook (vcore_exit_probe()). */
static DEFINE_SPINLOCK(vcore_tasks_lock);
static LIST_HEAD(vcore_tasks);

void vcore_threads_init(struct vcore_proc *p)
{
	unsigned int i;

	for (i = 0; i < p->mcp.max_vcores; i++) {
		struct vcore_thread *vt = &p->vt[i];

		vt->p = p;
		vt->id = i;
		vt->grant_cpu = -1;
		INIT_LIST_HEAD(&vt->task_node);
		init_waitqueue_head(&vt->wq);
		init_task_work(&vt->work, vcore_work_fn);
		/* reused: VT_IPI_BUSY keeps it from being sent twice at once */
		INIT_CSD(&vt->csd, vcore_ipi_fn, vt);
	}
}

static bool proc_dying(struct vcore_proc *p)
{
	return READ_ONCE(p->mcp.state) == VCORE_PROC_DYING;
}

/* The vcore the calling thread plays, or NULL. */
static struct vcore_thread *current_vt(struct vcore_proc *p)
{
	unsigned int i;

	for (i = 0; i < p->mcp.max_vcores; i++)
		if (READ_ONCE(p->vt[i].task) == current)
			return &p->vt[i];
	return NULL;
}

/*
 * Give @cpu back (kept for the MCP a policy preemption took it for, if
 * any) and have every MCP that wants vcores look at it.  With @hold_off
 * (a yield or a preemption: the pcore was taken from this MCP, or given
 * up by it) the provisioning passes leave this MCP alone for a while, or
 * until it asks again (POKE, ATTACH, a wakeup).  Any context.
 */
static void give_back_pcore(struct vcore_thread *vt, int cpu, bool hold_off)
{
	struct vcore_proc *next = xchg(&vt->handoff, NULL);

	if (hold_off)
		vcore_hold_off(vt->p);
	vcore_pcore_release(cpu, vt->p, next);
	vcore_provision(next != NULL);
}

/*
 * Give back the pcore @vt held (kept for the MCP a policy preemption took
 * it for), unless a new grant has already come.
 */
static void vcore_drop_pcore(struct vcore_thread *vt, int cpu)
{
	cmpxchg(&vt->grant_cpu, cpu, -1);
	give_back_pcore(vt, cpu, true);
}

/*
 * Leave for vcore_entry: the registers the return to user space restores
 * are rewritten.  The entry and stack are read once from the VCPD; bad
 * ones (user space changed them since ATTACH) cost the thread a SIGSEGV.
 */
static void vcore_enter(struct vcore_thread *vt, struct pt_regs *regs,
			unsigned int why)
{
	struct vcore_preempt_data *vcpd = mcp_vcpd(&vt->p->mcp, vt->id);
	u64 entry = vc_load(&vcpd->vcore_entry);
	u64 stack = vc_load(&vcpd->vcore_stack);

	vc_store(&vcpd->notif_disabled, 1);
	if (!vcore_entry_ok(entry, stack)) {
		pr_warn_ratelimited("pid %d vcore %u: bad vcore_entry or vcore_stack\n",
				    task_tgid_vnr(current), vt->id);
		force_sig(SIGSEGV);
		return;
	}
	regs->ip = entry;
	regs->sp = stack;
	regs->di = vt->id;
	regs->si = why;
	regs->ax = 0;
	regs->flags &= ~X86_EFLAGS_TF;
}

static int granted_cpu(struct vcore_thread *vt)
{
	/* KICK-2, pairs with KICK-1 in kick.c: the grant is complete */
	return smp_load_acquire(&vt->grant_cpu);
}

/*
 * Sleep offline until a grant names a pcore (or the process dies), then
 * move there and enter vcore context.  Return: 0 entered, -ESRCH (dying),
 * -EINTR (fatal signal).
 */
static int vcore_wait_and_enter(struct vcore_thread *vt, struct pt_regs *regs)
{
	struct vcore_proc *p = vt->p;
	struct mcp_vcore *vc = &p->mcp.vcores[vt->id];
	unsigned long flags;
	bool resume, ok;
	int cpu;

	for (;;) {
		/* KICK-2 (granted_cpu()), pairs with KICK-1 in kick.c */
		if (wait_event_killable(vt->wq,
					granted_cpu(vt) >= 0 || proc_dying(p))) {
			vcore_blocked_stop();	/* it exits */
			return -EINTR;
		}
		cpu = granted_cpu(vt);
		if (cpu < 0) {
			/* it plays no vcore any more, and may live on */
			vcore_blocked_stop();
			return -ESRCH;
		}
		vc_lock_irqsave(&p->mcp.lock, flags);
		ok = vc->mapped && vc->pcoreid == cpu;
		if (ok) {
			resume = vc->resume_vcore_ctx;
			vc->resume_vcore_ctx = false;
		}
		vc_unlock_irqrestore(&p->mcp.lock, flags);
		if (ok)
			break;
		/*
		 * A grant for an earlier life of this vcore: a grant or
		 * change_vcore that mapped it stores grant_cpu after the
		 * mapping, and a detach (its thread exited) may have come in
		 * between.  Forget it; the current grant, if any, stores its
		 * own.
		 */
		cmpxchg(&vt->grant_cpu, cpu, -1);
	}
	set_cpus_allowed_ptr(current, cpumask_of(cpu));
	/* online, on its pcore: its per-vcore alarms count again, here */
	vcore_alarms_vcore_online(vt);
	/*
	 * Stopped in vcore context: carry on where it was, as Akaros does.
	 * The saved user registers are still this thread's, and so is its
	 * FP state, so nothing in the VCPD is needed (or overwritten before
	 * anyone could take it, should it be preempted again at once).
	 */
	if (!resume)
		vcore_enter(vt, regs, VCORE_ENTRY_START);
	return 0;
}

/* Gone offline by itself: a preemption asked for meanwhile is moot. */
static void vcore_forget_preemption(struct vcore_thread *vt)
{
	clear_bit(VT_PREEMPT, &vt->bits);
	clear_bit(VT_PREEMPT_BULK, &vt->bits);
	vc_and32(&mcp_vcpd(&vt->p->mcp, vt->id)->flags, ~(u32)VC_K_LOCK);
}

/* The user registers, as struct vcore_user_ctx (type HW). */
static void save_user_ctx(struct vcore_user_ctx *c, struct pt_regs *regs)
{
	/*
	 * The kernel runs on the thread's user FS base (x86-64 switches GS
	 * only): RDFSBASE where the kernel enabled FSGSBASE, else the MSR.
	 */
	u64 fsbase = x86_fsbase_read_cpu();

	c->flags = 0;
	c->rax = regs->ax;
	c->rbx = regs->bx;
	c->rcx = regs->cx;
	c->rdx = regs->dx;
	c->rsi = regs->si;
	c->rdi = regs->di;
	c->rbp = regs->bp;
	c->rsp = regs->sp;
	c->r8 = regs->r8;
	c->r9 = regs->r9;
	c->r10 = regs->r10;
	c->r11 = regs->r11;
	c->r12 = regs->r12;
	c->r13 = regs->r13;
	c->r14 = regs->r14;
	c->r15 = regs->r15;
	c->rip = regs->ip;
	c->rflags = regs->flags;
	c->fs_base = fsbase;
	c->gs_base = 0;
	c->cs = regs->cs;
	c->ss = regs->ss;
	/* PREEMPT-2 (ORDERING.md): the registers, then the type */
	vc_store_release(&c->type, VCORE_CTX_HW);
}

/* The calling thread's XSAVE image, as ptrace would read it. */
static void save_fp_state(struct vcore_preempt_data *vcpd)
{
	const struct user_regset_view *view = task_user_regset_view(current);
	unsigned int i, size = vcore_pcores_fp_state_size();

	if (!size)
		return;
	for (i = 0; i < view->n; i++) {
		if (view->regsets[i].core_note_type == NT_X86_XSTATE) {
			regset_get(current, &view->regsets[i], size,
				   vcpd->preempt_fp.xsave);
			return;
		}
	}
}

static void vcore_notify_self(struct vcore_thread *vt, struct pt_regs *regs)
{
	struct mcp *m = &vt->p->mcp;
	struct vcore_preempt_data *vcpd = mcp_vcpd(m, vt->id);

	/*
	 * NOTIF-6: on the vcore's own CPU, the second look at NOTIF-3's
	 * notif_disabled; program order is enough here.
	 */
	if (!mcp_vcore_is_mapped(m, vt->id) || vc_load(&vcpd->notif_disabled))
		return;
	save_user_ctx(&vcpd->uthread_ctx, regs);
	trace_vcore_notify(vcore_proc_pid(vt->p), vt->id, raw_smp_processor_id());
	vcore_enter(vt, regs, VCORE_ENTRY_NOTIFY);
}

/* An online vcore that no bulk preemption is on its way to. */
static bool runs_again(struct vcore_proc *p)
{
	unsigned int i;

	for (i = 0; i < p->mcp.max_vcores; i++)
		if (mcp_vcore_is_mapped(&p->mcp, i) &&
		    !test_bit(VT_PREEMPT_BULK, &p->vt[i].bits))
			return true;
	return false;
}

static void vcore_preempt_self(struct vcore_thread *vt, struct pt_regs *regs,
			       bool bulk)
{
	struct vcore_proc *p = vt->p;
	struct mcp *m = &p->mcp;
	struct vcore_preempt_data *vcpd = mcp_vcpd(m, vt->id);
	struct event_msg msg = { .ev_type = EV_VCORE_PREEMPT,
				 .ev_arg2 = vt->id };
	bool in_vcore_ctx = vc_load(&vcpd->notif_disabled);
	int cpu = READ_ONCE(vt->grant_cpu);
	unsigned long flags;
	int others;

	if (!mcp_vcore_is_mapped(m, vt->id) || cpu < 0) {
		clear_bit(VT_PREEMPT_BULK, &vt->bits);
		vc_and32(&vcpd->flags, ~(u32)VC_K_LOCK);
		return;
	}
	save_user_ctx(in_vcore_ctx ? &vcpd->vcore_ctx : &vcpd->uthread_ctx,
		      regs);
	/* a vcore-context stop keeps its FP state: it resumes in place */
	if (!in_vcore_ctx && !(vc_load(&vcpd->flags) & VC_UTHREAD_STEALING))
		save_fp_state(vcpd);
	vc_lock_irqsave(&m->lock, flags);
	m->vcores[vt->id].resume_vcore_ctx = in_vcore_ctx;
	vc_unlock_irqrestore(&m->lock, flags);
	/*
	 * PREEMPT-2, pairs with PREEMPT-3 in libvcore/uthread.c: the saved
	 * context, then VC_PREEMPTED, then VC_K_LOCK cleared.  The void RMWs
	 * are locked instructions on x86 (the module is x86-64 only), full
	 * barriers, so the stores above are visible first.
	 */
	vc_or32(&vcpd->flags, VC_PREEMPTED);
	vc_and32(&vcpd->flags, ~(u32)VC_K_LOCK);
	others = mcp_preempt_vcore(m, vt->id, bulk);
	/*
	 * Offline now: only from here is it not one that a bulk preemption
	 * is on its way to (runs_again() looks at the mapping and this bit).
	 */
	clear_bit(VT_PREEMPT_BULK, &vt->bits);
	if (others < 0)
		return;
	/* offline: its per-vcore alarms stop counting */
	vcore_alarms_vcore_offline(vt);
	trace_vcore_preempt(vcore_proc_pid(p), vt->id, cpu);
	vcore_drop_pcore(vt, cpu);
	/*
	 * Whether anyone must hear of it was decided with the vcore going
	 * offline: the others may all have yielded since.  The process is
	 * then WAITING, the event lands in an inactive vcore's mbox and its
	 * ev_q's EVENT_WAKEUP brings the process back.  With none online it
	 * is RUNNABLE_M, this vcore first in line and no one to tell: it
	 * only needs a grant (mcp_vcores_wanted() counts one).
	 */
	if (bulk) {
		/*
		 * The others are being preempted too: the process hears of
		 * each when it runs again (vcore_bulk_restarted()), unless it
		 * does already (a grant came since the bulk preemption began).
		 */
		if (others && runs_again(p))
			vcore_bulk_restarted(p);
	} else if (others) {
		vcore_test_preempt_delay();
		mcp_send_kernel_event(m, &msg, 0);
	}
	vcore_wait_and_enter(vt, regs);
}

static void vcore_work_fn(struct callback_head *cb)
{
	struct vcore_thread *vt = container_of(cb, struct vcore_thread, work);
	struct vcore_proc *p = vt->p;
	struct pt_regs *regs = current_pt_regs();
	bool quiet;

	clear_bit(VT_WORK_QUEUED, &vt->bits);
	/*
	 * KICK-4, pairs with KICK-3 in kick.c vcore_ipi_fn(): a request
	 * after this point queues the work again.
	 */
	smp_mb__after_atomic();
	if (current == READ_ONCE(vt->task) && !(current->flags & PF_EXITING) &&
	    user_mode(regs) && !proc_dying(p)) {
		/* the offline wait after a preemption is the module's own */
		quiet = vcore_blocked_quiet(true);
		/* a plain look first: a notification needs no locked RMW */
		if (test_bit(VT_PREEMPT, &vt->bits) &&
		    test_and_clear_bit(VT_PREEMPT, &vt->bits))
			vcore_preempt_self(vt, regs,
					   test_bit(VT_PREEMPT_BULK,
						    &vt->bits));
		else
			vcore_notify_self(vt, regs);
		vcore_blocked_quiet(quiet);
	}
	vcore_proc_put(p);
	module_put(THIS_MODULE);
}

/**
 * vcore_attach() - the calling thread becomes vcore @vcoreid's and waits
 * offline for a pcore (VCORE_IOC_VCORE_ATTACH)
 * @p: the caller's MCP
 * @vcoreid: the vcore
 *
 * Return: 0 in vcore context on a pcore, or -EINVAL for a vcore that
 * does not exist or whose vcore_entry or vcore_stack is unusable, -EBUSY
 * if the thread already plays one or the vcore has a thread, -ESRCH if
 * the MCP is dying, -EINTR on a fatal signal.
 */
long vcore_attach(struct vcore_proc *p, u32 vcoreid)
{
	struct vcore_preempt_data *vcpd;
	struct vcore_thread *vt;
	u64 entry, stack;
	long ret;

	if (vcoreid >= p->mcp.max_vcores)
		return -EINVAL;
	if (current_vt(p))
		return -EBUSY;
	vcpd = mcp_vcpd(&p->mcp, vcoreid);
	entry = vc_load(&vcpd->vcore_entry);
	stack = vc_load(&vcpd->vcore_stack);
	if (!vcore_entry_ok(entry, stack))
		return -EINVAL;
	vt = &p->vt[vcoreid];
	/*
	 * Only an unattached vcore gets here with the lock: its thread (if
	 * it had one) has exited and is off the list, and grant_cpu may be
	 * a grant of that life, which vcore_wait_and_enter() checks.
	 */
	spin_lock(&vcore_tasks_lock);
	ret = mcp_attach_vcore(&p->mcp, vcoreid);
	if (!ret) {
		clear_bit(VT_PREEMPT, &vt->bits);
		clear_bit(VT_PREEMPT_BULK, &vt->bits);
		get_task_struct(current);
		WRITE_ONCE(vt->task, current);
		list_add(&vt->task_node, &vcore_tasks);
	}
	spin_unlock(&vcore_tasks_lock);
	if (ret)
		return ret;
	vcore_blocked_start(vt);
	vcore_provision_ask(p);
	return vcore_wait_and_enter(vt, current_pt_regs());
}

/**
 * vcore_yield() - the calling vcore gives up its pcore and waits offline
 * for another (VCORE_IOC_YIELD)
 * @p: the caller's MCP
 * @being_nice: VCORE_YIELD_BEING_NICE
 *
 * Return: 0 in vcore context on a pcore, -EPERM from a thread that plays
 * no vcore, or mcp_yield_vcore()'s error.
 */
long vcore_yield(struct vcore_proc *p, bool being_nice)
{
	struct vcore_thread *vt = current_vt(p);
	long ret;
	int cpu;

	if (!vt)
		return -EPERM;
	cpu = READ_ONCE(vt->grant_cpu);
	ret = mcp_yield_vcore(&p->mcp, vt->id, being_nice);
	if (ret)
		return ret;
	/* offline: its per-vcore alarms stop counting */
	vcore_alarms_vcore_offline(vt);
	trace_vcore_yield(vcore_proc_pid(p), vt->id, cpu);
	vcore_forget_preemption(vt);
	vcore_drop_pcore(vt, cpu);
	return vcore_wait_and_enter(vt, current_pt_regs());
}

/**
 * vcore_change() - Akaros's change_to_vcore (VCORE_IOC_CHANGE_VCORE)
 * @p: the caller's MCP
 * @target: the offline vcore to hand the caller's pcore to
 * @restart: enable_my_notif
 *
 * The calling vcore (in vcore context) gives its pcore to offline vcore
 * @target and waits offline itself, VC_PREEMPTED.  Without @restart it
 * looks preempted in vcore context: its registers go to vcore_ctx, it
 * resumes there (this command returns 0), and the target hears
 * EV_VCORE_PREEMPT about it, to recover it as it would any preempted
 * vcore.  With @restart nothing is saved: the caller has put away
 * whatever it ran, it starts afresh at vcore_entry when granted again,
 * and the target hears EV_CHECK_MSGS, to drain the caller's public mbox
 * meanwhile.  Either message goes through the kernel_evts ev_q of its
 * type, preferring the target, so that a preemption of the target does
 * not strand it.
 *
 * Return: as vcore_yield(); -EPERM unless the caller plays an online
 * vcore, -EINVAL outside vcore context, mcp_change_vcore()'s error.
 */
long vcore_change(struct vcore_proc *p, u32 target, bool restart)
{
	struct vcore_thread *vt = current_vt(p);
	struct pt_regs *regs = current_pt_regs();
	struct mcp *m = &p->mcp;
	struct vcore_preempt_data *vcpd;
	struct event_msg msg = { 0 };
	unsigned long flags;
	int cpu;

	if (!vt || !mcp_vcore_is_mapped(m, vt->id))
		return -EPERM;
	vcpd = mcp_vcpd(m, vt->id);
	if (!vc_load(&vcpd->notif_disabled))
		return -EINVAL;
	cpu = mcp_change_vcore(m, vt->id, target);
	if (cpu < 0)
		return cpu;
	/* offline: its per-vcore alarms stop counting */
	vcore_alarms_vcore_offline(vt);
	/* the FP state stays this thread's, as for a vcore-context preemption */
	if (!restart) {
		save_user_ctx(&vcpd->vcore_ctx, regs);
		vcpd->vcore_ctx.rax = 0;
	}
	vcore_forget_preemption(vt);
	vc_lock_irqsave(&m->lock, flags);
	m->vcores[vt->id].resume_vcore_ctx = !restart;
	vc_unlock_irqrestore(&m->lock, flags);

	msg.ev_type = restart ? EV_CHECK_MSGS : EV_VCORE_PREEMPT;
	msg.ev_arg2 = vt->id;
	mcp_send_kernel_event(m, &msg, target);
	cmpxchg(&vt->grant_cpu, cpu, -1);
	vcore_hand_pcore(&p->vt[target], cpu);
	return vcore_wait_and_enter(vt, regs);
}

/*
 * The MCP is going: wake every offline vcore thread so it leaves, and take
 * its threads off the exit hook's list (the MCP may be freed once its
 * last reference goes; the hook takes one while it holds the list lock).
 */
void vcore_threads_release(struct vcore_proc *p)
{
	unsigned int i;

	spin_lock(&vcore_tasks_lock);
	for (i = 0; i < p->mcp.max_vcores; i++)
		list_del_init(&p->vt[i].task_node);
	spin_unlock(&vcore_tasks_lock);
	for (i = 0; i < p->mcp.max_vcores; i++)
		wake_up(&p->vt[i].wq);
	vcore_pcore_release_all(p);
}

/*
 * A vcore thread exits (pthread_exit, a fatal signal) while its process
 * lives on: the vcore is detached.  It gives back its pcore, goes offline
 * and unattached (mcp_detach_vcore()), and a new thread may ATTACH to it.
 * Without this the vcore would keep its pcore, and grants would keep
 * going to a thread that can never run.  Messages already in its public
 * mbox would wait for a new thread: unless the whole process is exiting,
 * the others hear EV_CHECK_MSGS about it and drain them.
 *
 * The hook is the sched_process_exit tracepoint, which every exiting task
 * passes in do_exit() with preemption off: a vcore thread is found on
 * vcore_tasks, a list of the attached ones.  Everything below is safe in
 * atomic context.  An IPI or task work still in flight for the thread
 * finds vt->task changed (or the task gone from task_work_add()) and
 * does nothing.
 */
static void vcore_detach(struct vcore_thread *vt, struct task_struct *task)
{
	struct event_msg msg = { .ev_type = EV_CHECK_MSGS, .ev_arg2 = vt->id };
	struct vcore_proc *p = vt->p;
	int cpu;

	vcore_forget_preemption(vt);
	cpu = mcp_detach_vcore(&p->mcp, vt->id);
	WRITE_ONCE(vt->task, NULL);
	/* offline for good (atomic here): its per-vcore alarms are held */
	vcore_alarms_vcore_offline(vt);
	if (cpu >= 0) {
		trace_vcore_yield(vcore_proc_pid(p), vt->id, cpu);
		cmpxchg(&vt->grant_cpu, cpu, -1);
		give_back_pcore(vt, cpu, false);
	}
	if (!(READ_ONCE(task->signal->flags) & SIGNAL_GROUP_EXIT))
		mcp_send_kernel_event(&p->mcp, &msg, 0);
	put_task_struct(task);
}

static void vcore_exit_probe(void *data, struct task_struct *task)
{
	struct vcore_thread *vt, *found = NULL;
	unsigned long flags;

	/*
	 * First, and whether or not its MCP still lists it: a notifier must
	 * be off the task's list before its last switch, and before a new
	 * thread can attach to the vcore and register the same one.  The
	 * tracepoint fires in the exiting task (do_exit()), as it must.
	 */
	if (!WARN_ON_ONCE(task != current))
		vcore_blocked_stop();
	if (list_empty(&vcore_tasks))	/* racy peek: others' threads */
		return;
	spin_lock_irqsave(&vcore_tasks_lock, flags);
	list_for_each_entry(vt, &vcore_tasks, task_node) {
		if (vt->task == task) {
			found = vt;
			list_del_init(&vt->task_node);
			kref_get(&vt->p->ref);
			break;
		}
	}
	spin_unlock_irqrestore(&vcore_tasks_lock, flags);
	if (!found)
		return;
	vcore_detach(found, task);
	vcore_proc_put_any(found->p);
}

static struct tracepoint *exit_tp;

static void find_exit_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exit"))
		exit_tp = tp;
}

/* Hook task exit; without the tracepoint, exited vcores stay attached. */
int vcore_run_init(void)
{
	int ret;

	for_each_kernel_tracepoint(find_exit_tp, NULL);
	if (!exit_tp) {
		pr_warn("no sched_process_exit tracepoint: exited vcore threads are not detached\n");
		return 0;
	}
	ret = tracepoint_probe_register(exit_tp, vcore_exit_probe, NULL);
	if (ret) {
		exit_tp = NULL;
		return ret;
	}
	/* only with the hook: it takes the notifiers off exiting threads */
	vcore_blocked_init();
	return 0;
}

void vcore_run_exit(void)
{
	if (!exit_tp)
		return;
	/* every watched thread held a module reference: none is left */
	vcore_blocked_exit();
	tracepoint_probe_unregister(exit_tp, vcore_exit_probe, NULL);
	tracepoint_synchronize_unregister();
}
