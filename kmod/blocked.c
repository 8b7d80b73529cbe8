// SPDX-License-Identifier: GPL-2.0
/*
 * Vcore threads that block in the kernel.
 *
 * A vcore thread asleep in the kernel (a blocking read() the program did
 * not route through non-blocking I/O, a page fault on I/O, a futex wait)
 * freezes its vcore: a notification waits for its return to user space.
 * Each vcore thread registers a preempt notifier on itself when it
 * attaches.  Its sched_out callback counts a switch out that is voluntary
 * (__schedule() bumped the task's nvcsw, not its nivcsw) with the task not
 * runnable: it went to sleep.  It does not count the module's own waits
 * (the offline wait after a yield or a preemption, a WAITING process, any
 * wait inside an ioctl: vcore_blocked_quiet() marks them), nor a task that
 * is exiting.  The callback runs in __schedule() with the runqueue lock
 * held and interrupts off: it bumps a counter and fires vcore_blocked,
 * nothing else.
 *
 * Lifetime.  The notifier lives in its vcore's struct vcore_thread, in the
 * MCP's memory, and is linked on its task's preempt_notifiers, which only
 * the task itself may change (with preemption off: the scheduler walks the
 * list at each switch of the task).  So:
 *  - registering takes a reference on the MCP and one on the module, and
 *    both go only when the task unregisters.  An MCP whose file is closed
 *    (by another thread, say) while one of its vcore threads still runs
 *    user code, or sleeps in some syscall, stays in memory until that
 *    thread comes back or exits, and the module cannot be unloaded
 *    meanwhile: its callbacks are on the list.
 *  - the task unregisters when the module's wait sends it away with an
 *    error (the MCP is dying, or a fatal signal: vcore_run.c), when it
 *    attaches to a vcore of another MCP (vcore_blocked_start()), and in
 *    the exit hook (vcore_run.c's sched_process_exit probe, which runs in
 *    the exiting task before its last switch).  It is found on the task's
 *    own list, not through the MCP, so a thread of an MCP that is already
 *    closed is found too.
 * Nothing else unregisters a notifier, and nothing frees a vcore_thread
 * while a notifier in it is registered: the MCP reference keeps it.
 * Without the exit hook (no sched_process_exit tracepoint) nothing is
 * registered at all, and kernel_blocks stays 0.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>

#include "blocked.h"
#include "proc.h"
#include "trace.h"

static bool blocked_on;

static struct vcore_thread *pn_vt(struct preempt_notifier *pn)
{
	return container_of(pn, struct vcore_thread, blocked.pn);
}

static void blocked_sched_in(struct preempt_notifier *pn, int cpu)
{
}

/* In __schedule(): rq lock held, irqs off; current is the task leaving. */
static void blocked_sched_out(struct preempt_notifier *pn,
			      struct task_struct *next)
{
	struct vcore_thread *vt = pn_vt(pn);
	struct vcore_blocked *b = &vt->blocked;
	struct task_struct *me = current;
	unsigned long nvcsw = READ_ONCE(me->nvcsw);
	bool voluntary = nvcsw != b->nvcsw;

	/*
	 * Every switch out bumps nvcsw or nivcsw first.  The state alone
	 * does not tell a sleep: a preemption may catch the task between
	 * setting its state and calling schedule().
	 */
	b->nvcsw = nvcsw;
	if (!voluntary || task_is_running(me) || READ_ONCE(b->quiet) ||
	    (me->flags & PF_EXITING))
		return;
	atomic64_inc(&b->count);
	trace_vcore_blocked(vcore_proc_pid(vt->p), vt->id,
			    READ_ONCE(me->__state), task_pt_regs(me)->ip);
}

static struct preempt_ops blocked_ops = {
	.sched_in	= blocked_sched_in,
	.sched_out	= blocked_sched_out,
};

/* The vcore current is watched as, or NULL.  Its task only. */
static struct vcore_thread *current_watched(void)
{
	struct preempt_notifier *pn;

	/* a task's own list: KVM's vcpus and at most one of ours */
	hlist_for_each_entry(pn, &current->preempt_notifiers, link)
		if (pn->ops == &blocked_ops)
			return pn_vt(pn);
	return NULL;
}

/**
 * vcore_blocked_start() - the calling thread, now @vt's, is watched
 * @vt: the vcore it attached to (in ATTACH, so in a module wait)
 *
 * Takes a reference on the MCP and on the module until
 * vcore_blocked_stop().
 */
void vcore_blocked_start(struct vcore_thread *vt)
{
	struct vcore_blocked *b = &vt->blocked;

	if (!blocked_on)
		return;
	/* still watched for a vcore of an MCP that has gone away */
	vcore_blocked_stop();
	kref_get(&vt->p->ref);
	__module_get(THIS_MODULE);
	preempt_notifier_init(&b->pn, &blocked_ops);
	b->quiet = true;
	/* no switch of this task between reading nvcsw and the list */
	preempt_disable();
	b->nvcsw = current->nvcsw;
	preempt_notifier_register(&b->pn);
	preempt_enable();
}

/**
 * vcore_blocked_stop() - the calling thread is no longer watched
 *
 * Any context; by the watched task itself (the exit hook runs in it).
 * Drops the references vcore_blocked_start() took.
 */
void vcore_blocked_stop(void)
{
	struct vcore_thread *vt;

	if (hlist_empty(&current->preempt_notifiers))
		return;
	/* each pass takes one off the list */
	while ((vt = current_watched())) {
		preempt_disable();
		preempt_notifier_unregister(&vt->blocked.pn);
		preempt_enable();
		vcore_proc_put_any(vt->p);
		/*
		 * Not the last module reference while we run: an ioctl's file
		 * or the task work holds one, or this is the exit hook, which
		 * the module's exit waits for (tracepoint_synchronize_unregister()).
		 */
		module_put(THIS_MODULE);
	}
}

/**
 * vcore_blocked_quiet() - mark, or unmark, the calling thread's module wait
 * @quiet: whether its sleeps from now on are the module's own
 *
 * Return: the mark before, for the caller to put back; false for a thread
 * that is not watched.
 */
bool vcore_blocked_quiet(bool quiet)
{
	struct vcore_thread *vt;
	bool was;

	if (hlist_empty(&current->preempt_notifiers))
		return false;
	vt = current_watched();
	if (!vt)
		return false;
	was = vt->blocked.quiet;
	/* read by sched_out in this task's own switches: program order */
	WRITE_ONCE(vt->blocked.quiet, quiet);
	return was;
}

/* Whether kernel_blocks counts (VCORE_FEAT_KERNEL_BLOCKS). */
bool vcore_blocked_supported(void)
{
	return blocked_on;
}

/* With the exit hook in place only: it is what unregisters at exit. */
void vcore_blocked_init(void)
{
	preempt_notifier_inc();
	blocked_on = true;
}

/*
 * No notifier of ours is registered: each held a module reference.  The
 * key stays enabled (each load adds one): disabling it patches
 * __schedule() on every CPU, and under QEMU TCG that unload livelocked
 * CPUs on the patch site's int3 with interrupts off.  Enabled, with no
 * notifier on a task, it costs the scheduler an empty list check, as on
 * any host that has run a KVM guest since boot; only the first load
 * patches.
 */
void vcore_blocked_exit(void)
{
	blocked_on = false;
}
