// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only commands, in the test build only (VCORE_TEST=1) and there
 * enabled by the module parameter test=1: arrange the vcore lists, send
 * kernel-originated events, run kernel producers in process and hard-IRQ
 * context, and time a bare IPI (the benchmark's floor).  Nothing here is
 * reachable otherwise; ioctl.c parses their arguments.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/build_bug.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/stddef.h>
#include <linux/task_work.h>
#include <linux/vcore_test.h>
#include <asm/msr.h>

#include "core/event.h"
#include "core/vcores.h"
#include "pcores.h"
#include "proc.h"
#include "test.h"
#include "vcore_run.h"

static bool test;
module_param(test, bool, 0444);
MODULE_PARM_DESC(test, "enable the test-only commands");

/*
 * Widens two races for the selftests: a preempted vcore's thread sleeps
 * this long after its vcore went offline, before EV_VCORE_PREEMPT is sent,
 * so the other vcores can all yield in between; and a bulk preemption
 * waits this long between its vcores' requests, so the first is offline
 * before the next is asked.
 */
static unsigned int test_preempt_delay_ms;
module_param(test_preempt_delay_ms, uint, 0644);
MODULE_PARM_DESC(test_preempt_delay_ms,
		 "with test=1: delay before EV_VCORE_PREEMPT is sent, and between a bulk preemption's requests (ms, at most 10000)");

/*
 * The test commands' structs are no ABI (they change with the module and
 * its selftests), but a change to them should be a deliberate one.
 */
static_assert(sizeof(struct vcore_test_arrange) == 776);
static_assert(offsetof(struct vcore_test_arrange, state) == 0);
static_assert(offsetof(struct vcore_test_arrange, list_of) == 8);
static_assert(offsetof(struct vcore_test_arrange, order) == 264);
static_assert(sizeof(struct vcore_test_kevent) == 32);
static_assert(offsetof(struct vcore_test_kevent, msg) == 0);
static_assert(offsetof(struct vcore_test_kevent, vcoreid) == 24);
static_assert(offsetof(struct vcore_test_kevent, how) == 28);
static_assert(sizeof(struct vcore_test_produce) == 24);
static_assert(offsetof(struct vcore_test_produce, ev_q) == 0);
static_assert(offsetof(struct vcore_test_produce, nr_producers) == 8);
static_assert(offsetof(struct vcore_test_produce, nr_msgs) == 12);
static_assert(offsetof(struct vcore_test_produce, mode) == 16);
static_assert(offsetof(struct vcore_test_produce, ev_type) == 20);
static_assert(offsetof(struct vcore_test_produce, nr_types) == 22);
static_assert(sizeof(struct vcore_test_ipi) == 48);
static_assert(offsetof(struct vcore_test_ipi, cpu) == 0);
static_assert(offsetof(struct vcore_test_ipi, flags) == 4);
static_assert(offsetof(struct vcore_test_ipi, tsc_send) == 8);
static_assert(offsetof(struct vcore_test_ipi, tsc_recv) == 16);
static_assert(offsetof(struct vcore_test_ipi, tsc_done) == 24);

#define PRODUCE_MAX		64
#define HRTIMER_BATCH		16
#define HRTIMER_PERIOD_NS	(200 * NSEC_PER_USEC)

bool vcore_test_enabled(void)
{
	return test;
}

/* Process context; a fatal signal cuts it short. */
void vcore_test_preempt_delay(void)
{
	unsigned int ms = READ_ONCE(test_preempt_delay_ms);

	if (test && ms)
		msleep_interruptible(min(ms, 10000U));
}

/* VCORE_IOC_TEST_ARRANGE, its reserved field checked. */
long vcore_test_arrange(struct vcore_proc *p, const struct vcore_test_arrange *a)
{
	unsigned int i, k = 0;
	u32 *pcoreid;
	long ret;

	pcoreid = kcalloc(VCORE_MAX_VCORES, sizeof(*pcoreid), GFP_KERNEL);
	if (!pcoreid)
		return -ENOMEM;
	for (i = 0; i < p->mcp.max_vcores && i < VCORE_MAX_VCORES; i++) {
		u16 v = a->order[i];

		if (v < VCORE_MAX_VCORES && a->list_of[v] == VCORE_TEST_ONLINE)
			pcoreid[v] = vcore_pcores_nth(k++);
	}
	ret = mcp_arrange(&p->mcp, a->state, a->list_of, a->order, pcoreid);
	kfree(pcoreid);
	return ret;
}

long vcore_test_kevent(struct vcore_proc *p, const struct vcore_test_kevent *k)
{
	switch (k->how) {
	case VCORE_TEST_KEVENT:
		mcp_send_kernel_event(&p->mcp, &k->msg, k->vcoreid);
		return 0;
	case VCORE_TEST_POSIX_SIGNAL:
		mcp_send_posix_signal(&p->mcp, k->msg.ev_arg1);
		return 0;
	default:
		return -EINVAL;
	}
}

struct producer {
	struct vcore_proc *p;
	struct vcore_test_produce args;
	unsigned int id;
	u32 next;			/* next sequence number to send */
	struct hrtimer timer;
	struct completion done;
};

static void produce_one(struct producer *pr)
{
	u16 nr_types = max_t(u16, pr->args.nr_types, 1);
	struct event_msg msg = {
		.ev_type = pr->args.ev_type + pr->next % nr_types,
		.ev_arg2 = pr->id,
		.ev_arg4 = pr->next++,
	};

	mcp_send_event(&pr->p->mcp, pr->args.ev_q, &msg, 0);
}

static enum hrtimer_restart produce_tick(struct hrtimer *t)
{
	struct producer *pr = container_of(t, struct producer, timer);
	unsigned int i;

	for (i = 0; i < HRTIMER_BATCH && pr->next < pr->args.nr_msgs; i++)
		produce_one(pr);
	if (pr->next >= pr->args.nr_msgs) {
		complete(&pr->done);
		return HRTIMER_NORESTART;
	}
	hrtimer_forward_now(t, ns_to_ktime(HRTIMER_PERIOD_NS));
	return HRTIMER_RESTART;
}

static int produce_thread(void *data)
{
	struct producer *pr = data;

	if (pr->args.mode == VCORE_TEST_PRODUCE_HRTIMER) {
		hrtimer_init(&pr->timer, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_PINNED_HARD);
		pr->timer.function = produce_tick;
		hrtimer_start(&pr->timer, ns_to_ktime(HRTIMER_PERIOD_NS),
			      HRTIMER_MODE_REL_PINNED_HARD);
	} else {
		while (pr->next < pr->args.nr_msgs && !kthread_should_stop()) {
			produce_one(pr);
			if (!(pr->next % 1024))
				cond_resched();
		}
		complete(&pr->done);
	}
	/* done is the ioctl's to wait for; this thread only waits to stop */
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 100);
	if (pr->args.mode == VCORE_TEST_PRODUCE_HRTIMER)
		hrtimer_cancel(&pr->timer);
	return 0;
}

long vcore_test_produce(struct vcore_proc *p,
			const struct vcore_test_produce *a)
{
	struct vcore_test_produce args = *a;
	struct task_struct **tasks;
	struct producer *prs;
	unsigned int i, cpu;
	long ret = 0;

	if (!args.nr_producers || args.nr_producers > PRODUCE_MAX ||
	    args.mode > VCORE_TEST_PRODUCE_HRTIMER ||
	    args.ev_type + args.nr_types > U16_MAX + 1)
		return -EINVAL;
	prs = kcalloc(args.nr_producers, sizeof(*prs), GFP_KERNEL);
	tasks = kcalloc(args.nr_producers, sizeof(*tasks), GFP_KERNEL);
	if (!prs || !tasks) {
		ret = -ENOMEM;
		goto out;
	}
	cpu = cpumask_first(cpu_online_mask);
	for (i = 0; i < args.nr_producers; i++) {
		prs[i].p = p;
		prs[i].args = args;
		prs[i].id = i;
		init_completion(&prs[i].done);
		tasks[i] = kthread_create(produce_thread, &prs[i],
					  "vcore-prod/%u", i);
		if (IS_ERR(tasks[i])) {
			ret = PTR_ERR(tasks[i]);
			tasks[i] = NULL;
			break;
		}
		kthread_bind(tasks[i], cpu);
		cpu = cpumask_next(cpu, cpu_online_mask);
		if (cpu >= nr_cpu_ids)
			cpu = cpumask_first(cpu_online_mask);
	}
	for (i = 0; i < args.nr_producers && tasks[i]; i++)
		wake_up_process(tasks[i]);
	for (i = 0; !ret && i < args.nr_producers; i++)
		if (wait_for_completion_killable(&prs[i].done))
			ret = -EINTR;
	for (i = 0; i < args.nr_producers && tasks[i]; i++)
		kthread_stop(tasks[i]);
out:
	kfree(tasks);
	kfree(prs);
	return ret;
}

/* On the target CPU, in hard IRQ: the stamp is all it does. */
static void test_ipi_fn(void *info)
{
	struct vcore_test_ipi *t = info;

	t->tsc_recv = rdtsc_ordered();
}

/*
 * VCORE_TEST_IPI_TO_USER: one async IPI and one task work in flight at a
 * time, as a vcore's (kick.c), busy from the send to the work's run or
 * the handler's finding no thread to queue it on.  The sender's module
 * reference goes to the work, or is dropped by the handler.
 */
static struct {
	unsigned long busy;
	call_single_data_t csd;
	struct callback_head work;
	struct mm_struct *mm;
	u64 entry;
	u64 stack;
} to_user;

/* On the thread's way back to user space: off to the caller's entry. */
static void to_user_work(struct callback_head *cb)
{
	struct pt_regs *regs = current_pt_regs();

	if (!(current->flags & PF_EXITING) && current->mm == to_user.mm &&
	    user_mode(regs)) {
		regs->ip = to_user.entry;
		regs->sp = to_user.stack;
		regs->di = 0;
		regs->flags &= ~X86_EFLAGS_TF;
	}
	clear_bit_unlock(0, &to_user.busy);
	/* the last step, as for vcore_work_fn() */
	module_put(THIS_MODULE);
}

/* On the target CPU, in hard IRQ: task work on a thread of the caller's. */
static void to_user_ipi_fn(void *info)
{
	if (current->mm == to_user.mm &&
	    !(current->flags & (PF_EXITING | PF_KTHREAD)) &&
	    !task_work_add(current, &to_user.work, TWA_RESUME))
		return;
	clear_bit_unlock(0, &to_user.busy);
	module_put(THIS_MODULE);
}

static long test_ipi_to_user(struct vcore_test_ipi *t)
{
	if (!vcore_entry_ok(t->resv[0], t->resv[1]))
		return -EINVAL;
	if (test_and_set_bit_lock(0, &to_user.busy))
		return -EBUSY;
	to_user.mm = current->mm;
	to_user.entry = t->resv[0];
	to_user.stack = t->resv[1];
	INIT_CSD(&to_user.csd, to_user_ipi_fn, NULL);
	init_task_work(&to_user.work, to_user_work);
	__module_get(THIS_MODULE);
	t->tsc_recv = 0;
	t->tsc_send = rdtsc_ordered();
	if (smp_call_function_single_async(t->cpu, &to_user.csd)) {
		clear_bit_unlock(0, &to_user.busy);
		module_put(THIS_MODULE);
		return -EINVAL;
	}
	t->tsc_done = rdtsc_ordered();
	return 0;
}

/* VCORE_IOC_TEST_IPI, its flags and reserved fields checked. */
long vcore_test_ipi(struct vcore_test_ipi *t)
{
	int ret;

	if (t->cpu >= nr_cpu_ids || !cpu_online(t->cpu))
		return -EINVAL;
	if (t->flags & VCORE_TEST_IPI_TO_USER)
		return test_ipi_to_user(t);
	t->tsc_recv = 0;
	t->tsc_send = rdtsc_ordered();
	ret = smp_call_function_single(t->cpu, test_ipi_fn, t, 1);
	t->tsc_done = rdtsc_ordered();
	if (ret)
		return ret == -ENXIO ? -EINVAL : ret;
	return 0;
}
