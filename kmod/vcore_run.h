/* SPDX-License-Identifier: GPL-2.0 */
/* Vcore threads: grants, notification IPIs, yield and preemption. */
#ifndef _VCORE_VCORE_RUN_H
#define _VCORE_VCORE_RUN_H

#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct vcore_proc;

/* vcore_thread.bits */
#define VT_IPI_BUSY	0	/* an IPI is in flight (its csd is in use) */
#define VT_WORK_QUEUED	1	/* the task work is queued */
#define VT_PREEMPT	2	/* the work is to preempt, not notify */
#define VT_PREEMPT_BULK	3	/* ... as part of a bulk preemption */

/* The Linux side of one vcore. */
struct vcore_thread {
	struct vcore_proc *p;
	unsigned int id;
	/* set at ATTACH, cleared when it exits; referenced */
	struct task_struct *task;
	struct list_head task_node;	/* on the exit hook's list, or empty */
	int grant_cpu;			/* the pcore, or -1 while offline */
	unsigned long bits;		/* VT_*, atomic */
	/* who the pcore goes to after a policy preemption; compared only */
	struct vcore_proc *handoff;
	wait_queue_head_t wq;		/* the offline thread sleeps here */
	call_single_data_t csd;
	struct callback_head work;
};

void vcore_threads_init(struct vcore_proc *p);
void vcore_threads_release(struct vcore_proc *p);
void vcore_threads_free(struct vcore_proc *p);
int vcore_run_init(void);
void vcore_run_exit(void);
unsigned int vcore_grant(struct vcore_proc *p);
bool vcore_rebalance_one(struct vcore_proc *p, struct vcore_proc *victim,
			 unsigned int share);
long vcore_ioc_attach(struct vcore_proc *p, void __user *arg);
long vcore_ioc_poke(struct vcore_proc *p, void __user *arg);
long vcore_ioc_yield(struct vcore_proc *p, void __user *arg);
long vcore_ioc_change_vcore(struct vcore_proc *p, void __user *arg);
long vcore_ioc_preempt(struct vcore_proc *p, void __user *arg);

#endif /* _VCORE_VCORE_RUN_H */
