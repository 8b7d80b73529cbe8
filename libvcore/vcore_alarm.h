/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Alarms with handlers in vcore context: Akaros's parlib alarm service
 * (alarm_waiter, set_alarm, unset_alarm, reset_alarm_abs) and its
 * per-vcore alarms, on the module's kernel alarms (VCORE_IOC_ALARM_SET).
 *
 * A waiter names a CLOCK_MONOTONIC time and a function.  vcore_set_alarm()
 * arms it: at that time the kernel sends EV_ALARM to the service's ev_q
 * (EVENT_IPI | EVENT_INDIR | EVENT_SPAM_INDIR | EVENT_WAKEUP), and the
 * vcore that handles it (vcore_handle_events(), which the uthread library
 * runs on every vcore entry) calls the function, in vcore context: it must
 * not block, and it may set the waiter (or another) again.  A per-vcore
 * waiter (vcore_set_pvc_alarm()) is delivered to its own vcore's private
 * VCPD mbox and runs there; by default it counts only the time that vcore
 * is online.
 *
 * Each armed waiter holds one of the module's alarms (alarms_max per
 * process) until it fires or is unset, and one of VCORE_ALARM_SLOTS
 * slots here.
 *
 * Errors: int functions return 0 or a negative errno.
 */
#ifndef _VCORE_ALARM_H
#define _VCORE_ALARM_H

#include <stdbool.h>
#include <stdint.h>

#include "vcore.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VCORE_ALARM_SLOTS	1024	/* waiters armed at once */

struct vcore_alarm_waiter {
	uint64_t wake_up_time;	/* CLOCK_MONOTONIC ns */
	void (*func)(struct vcore_alarm_waiter *waiter);
	void *data;		/* the caller's */
	/* the library's */
	uint32_t id;		/* the kernel alarm of its last arming, 0 none */
	uint32_t flags;		/* VCORE_ALARM_* of its last arming */
	uint32_t vcoreid;	/* with VCORE_ALARM_VCORE */
	uint32_t resv;
};

/*
 * Start the service on dev (an arena set up): its ev_q, the per-vcore
 * ev_qs and the EV_ALARM handler.  Once; again is a no-op.  -ENOTTY if
 * the module has no alarms, -EBUSY for a second device, or an allocation's
 * error.
 */
int vcore_alarm_service_init(struct vcore_dev *dev);

/* A waiter calling func, not armed.  Akaros's init_awaiter(). */
void vcore_init_awaiter(struct vcore_alarm_waiter *waiter,
			void (*func)(struct vcore_alarm_waiter *waiter));

/* When it fires: at abs_ns, in rel_ns from now, or inc_ns after before. */
void vcore_set_awaiter_abs(struct vcore_alarm_waiter *waiter, uint64_t abs_ns);
void vcore_set_awaiter_rel(struct vcore_alarm_waiter *waiter, uint64_t rel_ns);
void vcore_set_awaiter_inc(struct vcore_alarm_waiter *waiter, uint64_t inc_ns);

/*
 * Arm it.  -EBUSY if it is armed, -ENOSPC if every slot or the module's
 * alarms_max is taken, -ENXIO before vcore_alarm_service_init(), or the
 * module's error.
 */
int vcore_set_alarm(struct vcore_alarm_waiter *waiter);

/*
 * Arm it for vcore vcoreid: its function runs on that vcore, and it counts
 * only the time the vcore is online unless wall_clock.  Errors as
 * vcore_set_alarm(), and -EINVAL for a bad vcoreid.
 */
int vcore_set_pvc_alarm(struct vcore_alarm_waiter *waiter,
			unsigned int vcoreid, bool wall_clock);

/*
 * Disarm it.  true: it was armed and its function will not run for this
 * arming; false: it was not armed, or it fired (its function runs, or
 * ran, on some vcore).  Akaros's unset_alarm().
 */
bool vcore_unset_alarm(struct vcore_alarm_waiter *waiter);

/*
 * Unset it and arm it again (as it was armed: global or for its vcore)
 * for abs_ns; returns what vcore_unset_alarm() did.  Akaros's
 * reset_alarm_abs().
 */
bool vcore_reset_alarm_abs(struct vcore_alarm_waiter *waiter, uint64_t abs_ns);

/* CLOCK_MONOTONIC now, in ns: the clock alarms use. */
uint64_t vcore_alarm_now(void);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_ALARM_H */
