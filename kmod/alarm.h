/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel alarms (VCORE_IOC_ALARM_SET / _CANCEL): hrtimers that send
 * EV_ALARM through an ev_q, and per-vcore ones that count a vcore's online
 * time.
 */
#ifndef _VCORE_ALARM_H
#define _VCORE_ALARM_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/vcore.h>

struct vcore_proc;
struct vcore_thread;

/*
 * One per MCP, in struct vcore_proc.  Lock order: mutex, then slock, then
 * the hrtimer base lock (hrtimer_start() and hrtimer_try_to_cancel() run
 * under slock); nothing else is taken under slock, and no event is sent
 * under it.  hrtimer_cancel() is never called under slock: a firing alarm
 * takes it.
 */
struct vcore_alarms {
	struct mutex mutex;	/* serialises SET, CANCEL and release */
	/* the lists, every alarm's state, vcore_thread.alarm_cpu */
	raw_spinlock_t slock;
	struct list_head all;	/* of vcore_alarm.node; mutex and slock */
	unsigned int nr;	/* on all; mutex */
	bool dead;		/* released: no more alarms; mutex */
	atomic64_t fired;
	atomic64_t held;
	atomic64_t set;
};

/* The per-vcore part, in struct vcore_thread. */
struct vcore_alarm_vcore {
	/* the CPU the vcore runs on, -1 offline; vcore_alarms.slock */
	int cpu;
	/* its VCORE_ALARM_VCORE alarms (vcore_alarm.vnode); mutex and slock */
	struct list_head list;
};

void vcore_alarms_init(struct vcore_proc *p);
void vcore_alarms_release(struct vcore_proc *p);
long vcore_alarm_set(struct vcore_proc *p, const struct vcore_alarm *req);
long vcore_alarm_cancel(struct vcore_proc *p, u32 id);
void vcore_alarms_vcore_online(struct vcore_thread *vt);
void vcore_alarms_vcore_offline(struct vcore_thread *vt);
unsigned int vcore_alarms_max(void);

#endif /* _VCORE_ALARM_H */
