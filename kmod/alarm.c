// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel alarms: Akaros's #alarm (an alarm that sends EV_ALARM through an
 * ev_q) and its per-vcore alarms (pvcalarm), as hrtimers that expire in
 * hard IRQ and call mcp_send_event() there.
 *
 * An alarm is in one of three states, changed only under slock:
 *
 *   IDLE    not armed: a one-shot that fired, or one being cancelled,
 *           modified or released
 *   QUEUED  its hrtimer is queued or firing (on CPU alarm.cpu)
 *   HELD    a per-vcore alarm whose vcore is offline: the time it has left
 *           is in alarm.left, and no hrtimer is queued
 *   MOVING  a per-vcore alarm on its way to the pcore its vcore runs on:
 *           its expiry is in alarm.at, and no hrtimer is queued
 *
 * Every hrtimer_start() happens under slock after a look at the state,
 * so an alarm made IDLE under slock is never started again except by its
 * own callback returning HRTIMER_RESTART; hrtimer_cancel() outside slock
 * waits for that callback and dequeues what it re-armed.  That is why
 * CANCEL (and a modifying SET, and release) first make the alarm IDLE and
 * then call hrtimer_cancel(): once that returns, the alarm is still and
 * can be changed or freed.  The callback makes a one-shot IDLE under
 * slock before it sends, so CANCEL tells exactly whether an expiry was
 * still to come.
 *
 * Per-vcore alarms.  A vcore's thread calls vcore_alarms_vcore_online()
 * once it runs on its pcore and vcore_alarms_vcore_offline() as it stops
 * (vcore_run.c); both run on that pcore.  Online, the vcore's alarms are
 * started there, pinned (HELD ones with the time they had left; queued
 * wall-clock ones move).  Offline, the online-time ones are dequeued and
 * HELD with what they have left.  Either may find the alarm firing on
 * another CPU (it was queued there before a move): they wait for that
 * callback and look again (online then moves it, offline holds it); a
 * callback that runs after offline sees the vcore offline and holds the
 * alarm itself after this expiry, which was due.  A SET
 * for a vcore online elsewhere makes the alarm MOVING and has that pcore
 * start it (an IPI, synchronous); if the vcore moved meanwhile, its next
 * online start does (MOVING).
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "alarm.h"
#include "compat.h"
#include "core/event.h"
#include "proc.h"
#include "trace.h"

#define ALARMS_MAX_LIMIT	65536

static unsigned int alarms_max = 256;

static int alarms_max_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, ALARMS_MAX_LIMIT);
}

static const struct kernel_param_ops alarms_max_ops = {
	.set = alarms_max_set,
	.get = param_get_uint,
};

module_param_cb(alarms_max, &alarms_max_ops, &alarms_max, 0644);
MODULE_PARM_DESC(alarms_max,
		 "alarms a process may have at once (1..65536; default 256)");

enum alarm_state {
	ALARM_IDLE,
	ALARM_QUEUED,
	ALARM_HELD,
	ALARM_MOVING,
};

struct kalarm {
	struct hrtimer timer;
	struct vcore_proc *p;
	struct list_head node;	/* on vcore_alarms.all */
	struct list_head vnode;	/* on vcore_alarm_vcore.list, or empty */
	/* fixed while the alarm is not IDLE (changed only with it still) */
	u64 ev_q;
	u64 period;		/* ns, 0 = one shot */
	u32 id;
	u32 flags;		/* VCORE_ALARM_* */
	u32 vcoreid;
	/* vcore_alarms.slock */
	enum alarm_state state;
	int cpu;		/* where it was last started */
	u64 left;		/* HELD: ns it has left to count */
	ktime_t at;		/* MOVING: its expiry */
};

unsigned int vcore_alarms_max(void)
{
	return READ_ONCE(alarms_max);
}

static bool online_time(const struct kalarm *a)
{
	return (a->flags & (VCORE_ALARM_VCORE | VCORE_ALARM_WALL)) ==
	       VCORE_ALARM_VCORE;
}

/*
 * Queue @a's timer for @expires: a per-vcore alarm pinned to this CPU, any
 * other where the hrtimer code likes.  slock held, IRQs off.
 */
static void start_here(struct vcore_alarms *al, struct kalarm *a,
		       ktime_t expires)
	__must_hold(&al->slock)
{
	lockdep_assert_held(&al->slock);
	a->state = ALARM_QUEUED;
	a->cpu = smp_processor_id();
	hrtimer_start(&a->timer, expires, a->flags & VCORE_ALARM_VCORE ?
		      HRTIMER_MODE_ABS_PINNED_HARD : HRTIMER_MODE_ABS_HARD);
}

static u64 time_to(ktime_t t, ktime_t now)
{
	return ktime_after(t, now) ? ktime_to_ns(ktime_sub(t, now)) : 0;
}

static u64 time_left(struct kalarm *a, ktime_t now)
{
	return time_to(hrtimer_get_expires(&a->timer), now);
}

static enum hrtimer_restart alarm_fire(struct hrtimer *t)
{
	struct kalarm *a = container_of(t, struct kalarm, timer);
	struct vcore_proc *p = a->p;
	struct vcore_alarms *al = &p->alarms;
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	struct event_msg msg = { .ev_type = EV_ALARM };
	u64 folded = 1;

	raw_spin_lock(&al->slock);
	if (a->state != ALARM_QUEUED) {
		/* cancelled or modified: hrtimer_cancel() is waiting */
		raw_spin_unlock(&al->slock);
		return HRTIMER_NORESTART;
	}
	msg.ev_arg1 = a->vcoreid;
	msg.ev_arg3 = a->id;
	msg.ev_arg4 = ktime_to_ns(hrtimer_get_expires(t));
	if (!a->period) {
		a->state = ALARM_IDLE;
	} else {
		folded = hrtimer_forward_now(t, ns_to_ktime(a->period));
		ret = HRTIMER_RESTART;
		/*
		 * Fired as its vcore went offline (queued on another CPU, it
		 * could not be dequeued): this expiry was due; hold the
		 * next one.
		 */
		if (online_time(a) && p->vt[a->vcoreid].alarm.cpu < 0) {
			a->left = time_left(a, hrtimer_cb_get_time(t));
			a->state = ALARM_HELD;
			atomic64_inc(&al->held);
			ret = HRTIMER_NORESTART;
		}
	}
	raw_spin_unlock(&al->slock);
	msg.ev_arg2 = min_t(u64, folded, U32_MAX);
	trace_vcore_alarm(vcore_proc_pid(p), a->id, a->vcoreid,
			  smp_processor_id(), folded);
	atomic64_inc(&al->fired);
	mcp_send_event(&p->mcp, a->ev_q, &msg, a->vcoreid);
	return ret;
}

void vcore_alarms_init(struct vcore_proc *p)
{
	struct vcore_alarms *al = &p->alarms;
	unsigned int i;

	mutex_init(&al->mutex);
	raw_spin_lock_init(&al->slock);
	INIT_LIST_HEAD(&al->all);
	for (i = 0; i < p->mcp.max_vcores; i++) {
		p->vt[i].alarm.cpu = -1;
		INIT_LIST_HEAD(&p->vt[i].alarm.list);
	}
}

static struct kalarm *find_alarm(struct vcore_alarms *al, u32 id)
{
	struct kalarm *a;

	lockdep_assert_held(&al->mutex);
	list_for_each_entry(a, &al->all, node)
		if (a->id == id)
			return a;
	return NULL;
}

/*
 * Make @a IDLE and still: no timer queued, no callback running.  Returns
 * whether it was armed.  Process context, mutex held.
 */
static bool disarm(struct vcore_alarms *al, struct kalarm *a)
{
	bool armed;

	raw_spin_lock_irq(&al->slock);
	armed = a->state != ALARM_IDLE;
	a->state = ALARM_IDLE;
	list_del_init(&a->vnode);
	raw_spin_unlock_irq(&al->slock);
	hrtimer_cancel(&a->timer);
	return armed;
}

/*
 * Start the HELD and MOVING alarms of the vcore running here; slock held,
 * IRQs off.
 */
static void __start_held(struct vcore_alarms *al, struct vcore_thread *vt)
	__must_hold(&al->slock)
{
	ktime_t now = ktime_get();
	struct kalarm *a;

	if (vt->alarm.cpu != smp_processor_id())
		return;
	list_for_each_entry(a, &vt->alarm.list, vnode) {
		if (a->state == ALARM_HELD)
			start_here(al, a, ktime_add_ns(now, a->left));
		else if (a->state == ALARM_MOVING)
			start_here(al, a, a->at);
	}
}

/* IPI from vcore_alarm_set(), on the vcore's pcore. */
static void start_held_ipi(void *info)
{
	struct vcore_thread *vt = info;
	struct vcore_alarms *al = &vt->p->alarms;

	raw_spin_lock(&al->slock);
	__start_held(al, vt);
	raw_spin_unlock(&al->slock);
}

/**
 * vcore_alarm_set() - create or modify alarm @req->id (VCORE_IOC_ALARM_SET)
 * @p: the caller's MCP
 * @req: checked by the caller: flags, vcoreid, period, resv and ev_q
 *
 * Return: 0, -ENOSPC past alarms_max, -ENOMEM.
 */
long vcore_alarm_set(struct vcore_proc *p, const struct vcore_alarm *req)
{
	struct vcore_alarms *al = &p->alarms;
	struct vcore_thread *vt = NULL;
	int ipi_cpu = -1;
	struct kalarm *a;
	ktime_t deadline;
	long ret = 0;

	mutex_lock(&al->mutex);
	if (al->dead) {
		ret = -ESRCH;
		goto out;
	}
	a = find_alarm(al, req->id);
	if (a) {
		disarm(al, a);
	} else {
		if (al->nr >= vcore_alarms_max()) {
			ret = -ENOSPC;
			goto out;
		}
		a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
		if (!a) {
			ret = -ENOMEM;
			goto out;
		}
		vcore_hrtimer_setup(&a->timer, alarm_fire, CLOCK_MONOTONIC,
				    HRTIMER_MODE_ABS_PINNED_HARD);
		a->p = p;
		a->id = req->id;
		INIT_LIST_HEAD(&a->vnode);
		raw_spin_lock_irq(&al->slock);
		list_add_tail(&a->node, &al->all);
		raw_spin_unlock_irq(&al->slock);
		al->nr++;
	}
	/* still: nothing else reads these until it is started below */
	a->ev_q = req->ev_q;
	/* past KTIME_MAX (292 years) ktime_t would turn it negative */
	a->period = min_t(u64, req->period_ns, KTIME_MAX);
	a->flags = req->flags;
	a->vcoreid = req->vcoreid;
	deadline = ns_to_ktime(min_t(u64, req->deadline_ns, KTIME_MAX));
	atomic64_inc(&al->set);

	raw_spin_lock_irq(&al->slock);
	if (!(a->flags & VCORE_ALARM_VCORE)) {
		start_here(al, a, deadline);
		goto unlock;
	}
	vt = &p->vt[a->vcoreid];
	list_add_tail(&a->vnode, &vt->alarm.list);
	if (vt->alarm.cpu == smp_processor_id() ||
	    (vt->alarm.cpu < 0 && (a->flags & VCORE_ALARM_WALL))) {
		/* online here, or wall-clock time while offline */
		start_here(al, a, deadline);
	} else if (vt->alarm.cpu < 0) {
		/* offline: it counts from when the vcore runs */
		a->state = ALARM_HELD;
		a->left = time_to(deadline, ktime_get());
	} else {
		a->state = ALARM_MOVING;
		a->at = deadline;
		ipi_cpu = vt->alarm.cpu;
	}
unlock:
	raw_spin_unlock_irq(&al->slock);
	/* online elsewhere: that pcore starts it (or its next online does) */
	if (ipi_cpu >= 0)
		smp_call_function_single(ipi_cpu, start_held_ipi, vt, 1);
out:
	mutex_unlock(&al->mutex);
	return ret;
}

/**
 * vcore_alarm_cancel() - delete alarm @id, synchronously
 * @p: the caller's MCP
 * @id: the alarm
 *
 * Return: 1 if it was armed, 0 if not, -ENOENT if there is no such alarm.
 */
long vcore_alarm_cancel(struct vcore_proc *p, u32 id)
{
	struct vcore_alarms *al = &p->alarms;
	struct kalarm *a;
	long ret;

	mutex_lock(&al->mutex);
	a = find_alarm(al, id);
	if (!a) {
		mutex_unlock(&al->mutex);
		return -ENOENT;
	}
	ret = disarm(al, a);
	raw_spin_lock_irq(&al->slock);
	list_del(&a->node);
	raw_spin_unlock_irq(&al->slock);
	al->nr--;
	mutex_unlock(&al->mutex);
	kfree(a);
	return ret;
}

/**
 * vcore_alarms_release() - the MCP is going: cancel and free every alarm
 * @p: the MCP, already dying
 *
 * Process context.  No alarm of @p fires once this returns, so neither
 * the MCP nor the module can go while one does.
 */
void vcore_alarms_release(struct vcore_proc *p)
{
	struct vcore_alarms *al = &p->alarms;
	struct kalarm *a, *next;

	mutex_lock(&al->mutex);
	al->dead = true;
	list_for_each_entry_safe(a, next, &al->all, node) {
		disarm(al, a);
		raw_spin_lock_irq(&al->slock);
		list_del(&a->node);
		raw_spin_unlock_irq(&al->slock);
		kfree(a);
	}
	al->nr = 0;
	mutex_unlock(&al->mutex);
}

/**
 * vcore_alarms_vcore_online() - @vt's vcore runs on this CPU now
 * @vt: the vcore, its thread the caller, pinned to its pcore
 *
 * Its held alarms resume with the time they had left, and the ones queued
 * on another CPU move here.  Process context; it may wait for an alarm
 * firing on another CPU (a short hard-IRQ callback).
 */
void vcore_alarms_vcore_online(struct vcore_thread *vt)
{
	struct vcore_alarms *al = &vt->p->alarms;
	struct kalarm *a;
	bool busy;

	do {
		busy = false;
		raw_spin_lock_irq(&al->slock);
		vt->alarm.cpu = smp_processor_id();
		__start_held(al, vt);
		list_for_each_entry(a, &vt->alarm.list, vnode) {
			if (a->state != ALARM_QUEUED || a->cpu == vt->alarm.cpu)
				continue;
			/* firing elsewhere: let it finish, then move it */
			if (hrtimer_try_to_cancel(&a->timer) < 0)
				busy = true;
			else
				start_here(al, a, hrtimer_get_expires(&a->timer));
		}
		raw_spin_unlock_irq(&al->slock);
		if (busy)
			cpu_relax();
	} while (busy);
}

/**
 * vcore_alarms_vcore_offline() - @vt's vcore stops running
 * @vt: the vcore
 *
 * Its online-time alarms stop counting: each is dequeued and keeps the
 * time it has left.  Wall-clock ones keep running where they are.  Any
 * context (the exit hook calls it atomic); it never sleeps, but it waits
 * for an alarm firing on another CPU: that callback may have seen the
 * vcore still online and be about to re-arm itself.
 */
void vcore_alarms_vcore_offline(struct vcore_thread *vt)
{
	struct vcore_alarms *al = &vt->p->alarms;
	unsigned long flags;
	struct kalarm *a;
	ktime_t now;
	bool busy;

	do {
		busy = false;
		raw_spin_lock_irqsave(&al->slock, flags);
		vt->alarm.cpu = -1;
		now = ktime_get();
		list_for_each_entry(a, &vt->alarm.list, vnode) {
			if (a->state == ALARM_MOVING) {
				/* on its way to the pcore: wall-clock runs here */
				if (online_time(a)) {
					a->left = time_to(a->at, now);
					a->state = ALARM_HELD;
					atomic64_inc(&al->held);
				} else {
					start_here(al, a, a->at);
				}
				continue;
			}
			if (a->state != ALARM_QUEUED || !online_time(a))
				continue;
			/* firing elsewhere: let it finish, then look again */
			if (hrtimer_try_to_cancel(&a->timer) < 0) {
				busy = true;
				continue;
			}
			a->left = time_left(a, now);
			a->state = ALARM_HELD;
			atomic64_inc(&al->held);
		}
		raw_spin_unlock_irqrestore(&al->slock, flags);
		if (busy)
			cpu_relax();
	} while (busy);
}
