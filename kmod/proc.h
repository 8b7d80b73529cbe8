/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-process MCP object, the Linux side of its vcores, and the
 * registry of live MCPs.
 */
#ifndef _VCORE_PROC_H
#define _VCORE_PROC_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/types.h>
#include <linux/vcore.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "alarm.h"
#include "blocked.h"
#include "core/mcp.h"

struct dentry;
struct mm_struct;
struct pid;
struct vcore_proc;

/* vcore_thread.bits */
#define VT_IPI_BUSY	0	/* an IPI is in flight (its csd is in use) */
#define VT_WORK_QUEUED	1	/* the task work is queued */
#define VT_PREEMPT	2	/* the work is to preempt, not notify */
#define VT_PREEMPT_BULK	3	/* ... as part of a bulk preemption */

/* The Linux side of one vcore (vcore_run.c runs it, kick.c reaches it). */
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
	struct vcore_alarm_vcore alarm;	/* its per-vcore alarms (alarm.c) */
	/* its thread's sleeps in the kernel (blocked.c) */
	struct vcore_blocked blocked;
};

/* bits in vcore_proc.flags */
#define VCORE_PROC_API_DONE	0
/* gave up or lost a pcore: provisioning waits a while (provision.c) */
#define VCORE_PROC_HELD_OFF	1

#define VCORE_PROC_NODE_MASK	0xffff
#define VCORE_PROC_NODE_STRICT	0x10000

/*
 * One per process that opened /dev/vcore.  The open file holds a
 * reference, and so does anyone sending to it from another process; the
 * memory goes with the last reference.
 */
struct vcore_proc {
	struct kref ref;
	struct list_head node;		/* in the registry, under its lock */
	struct mm_struct *mm;		/* the owner's address space (grabbed) */
	struct pid *tgid;		/* the owner (referenced) */
	unsigned long flags;		/* VCORE_PROC_* bits, atomic */
	unsigned long held_off_until;	/* jiffies; with VCORE_PROC_HELD_OFF */
	struct mutex setup_lock;	/* serialises VCORE_IOC_SETUP */
	/* VCORE_IOC_SET_NODE: node + 1, VCORE_PROC_NODE_STRICT; atomic */
	atomic_t node_req;
	size_t procinfo_size;
	struct dentry *debugfs;
	struct work_struct free_work;	/* a last put in atomic context */
	struct vcore_thread *vt;	/* [mcp.max_vcores] */
	struct vcore_alarms alarms;	/* alarm.c */
	/* fd taps (fdtap.c): fd number -> struct vcore_tap */
	struct mutex tap_lock;		/* serialises tap changes */
	struct xarray taps;		/* written under tap_lock */
	unsigned int nr_taps;		/* tap_lock */
	atomic64_t tap_fires;		/* vcore_stats.tap_fires */
	atomic64_t tap_pollfree;	/* vcore_stats.tap_pollfree */
	struct mcp mcp;
};

/*
 * Every registered MCP.  Provisioning walks the list under the lock; the
 * lock is a mutex, so the walks run in process context (workers).
 */
struct vcore_registry {
	struct mutex lock;		/* protects list */
	struct list_head list;		/* of vcore_proc.node */
};
extern struct vcore_registry vcore_registry;

struct vcore_proc *vcore_proc_create(void);
int vcore_proc_register(struct vcore_proc *p);
void vcore_proc_unregister(struct vcore_proc *p);
void vcore_proc_put(struct vcore_proc *p);
void vcore_proc_put_any(struct vcore_proc *p);
int vcore_procs_init(void);
void vcore_procs_exit(void);
struct vcore_proc *vcore_proc_get_by_pid(pid_t nr);
bool vcore_proc_is_owner(const struct vcore_proc *p);
int vcore_proc_may_signal(struct vcore_proc *t);
int vcore_proc_setup_arena(struct vcore_proc *p, u64 size);
u64 vcore_proc_arena_max(void);
void vcore_proc_live(unsigned long *nr_procs, unsigned long *nr_bytes);

/* The MCP's thread group id, as procinfo publishes it. */
static inline u32 vcore_proc_pid(struct vcore_proc *p)
{
	return p->mcp.procinfo->pid;
}

#endif /* _VCORE_PROC_H */
