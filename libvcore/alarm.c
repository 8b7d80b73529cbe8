// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The alarm service (vcore_alarm.h): waiters on the module's kernel
 * alarms, their functions run from the EV_ALARM handler in vcore context.
 *
 * Each arming takes a slot and gives the kernel alarm the id
 * slot | generation << SLOT_BITS, so an expiry of an earlier arming (one
 * already in a mailbox when it was unset) never runs a later one.  The
 * generation is never 0: ids below VCORE_ALARM_SLOTS are the uthread
 * layer's time-slice ticks (uthread.c).  A
 * slot's word is the id of its current arming, with ARMED while it may
 * still fire; whoever clears ARMED with a compare-and-swap owns the
 * arming's end:
 *
 *   the handler (vcore context)      vcore_unset_alarm() (any context)
 *   CAS id|ARMED -> id: won          CAS id|ARMED -> id: won
 *   free the slot, run the function  CANCEL id (synchronous: the kernel
 *   CANCEL id (frees the kernel's      sends nothing more for it)
 *     fired one-shot)                free the slot; return true
 *   lost: stale or unset, ignore     lost: it fired; return false
 *
 * Nothing here takes a lock, so the handler cannot wait on a uthread it
 * interrupted.  Slots are taken and freed with atomic bit operations; a
 * slot's generation and waiter are written by its taker only, before the
 * release store of the armed word (A), which the handler's acquiring
 * CAS pairs with.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <time.h>

#include "event.h"
#include "internal.h"
#include "vcore_alarm.h"

#define SLOT_BITS	10
#define SLOT_MASK	((1U << SLOT_BITS) - 1)
#define GEN_MASK	((1U << (32 - SLOT_BITS)) - 1)
#define ARMED		(1ULL << 32)

_Static_assert(VCORE_ALARM_SLOTS == 1U << SLOT_BITS, "slots");

struct alarm_slot {
	uint64_t word;		/* id | ARMED while armed; atomic */
	struct vcore_alarm_waiter *waiter;	/* the taker's, before (A) */
	uint32_t gen;		/* the taker's */
};

enum { SVC_NONE, SVC_STARTING, SVC_READY };

static struct {
	int state;			/* SVC_*; atomic */
	struct vcore_dev *dev;
	struct event_queue *ev_q;
	struct event_queue *vc_evq[VCORE_MAX_VCORES];
	uint64_t used[VCORE_ALARM_SLOTS / 64];	/* slot bits; atomic */
	struct alarm_slot slots[VCORE_ALARM_SLOTS];
} svc;

uint64_t vcore_alarm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int take_slot(void)
{
	unsigned int i;

	for (i = 0; i < VCORE_ALARM_SLOTS / 64; i++) {
		uint64_t w = __atomic_load_n(&svc.used[i], __ATOMIC_RELAXED);

		while (~w) {
			uint64_t bit = 1ULL << __builtin_ctzll(~w);

			w = __atomic_fetch_or(&svc.used[i], bit, __ATOMIC_ACQUIRE);
			if (!(w & bit))
				return i * 64 + __builtin_ctzll(bit);
		}
	}
	return -1;
}

static void free_slot(unsigned int s)
{
	__atomic_fetch_and(&svc.used[s / 64], ~(1ULL << (s % 64)),
			   __ATOMIC_RELEASE);
}

/* Take ARMED away from arming id: whoever does owns its end (the table). */
static bool claim_arming(uint32_t id)
{
	struct alarm_slot *s = &svc.slots[id & SLOT_MASK];
	uint64_t armed = id | ARMED;

	return __atomic_compare_exchange_n(&s->word, &armed, id, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Delete kernel alarm id: after this it sends nothing. */
static void kernel_cancel(uint32_t id)
{
	struct vcore_alarm_cancel c = { .id = id };

	ioctl(svc.dev->fd, VCORE_IOC_ALARM_CANCEL, &c);
}

static void handle_alarm(struct event_msg *msg, unsigned int ev_type,
			 void *data)
{
	uint32_t id = msg->ev_arg3;
	struct vcore_alarm_waiter *w;

	(void)ev_type;
	(void)data;
	if (!claim_arming(id))
		return;		/* unset, or an earlier arming's */
	w = svc.slots[id & SLOT_MASK].waiter;
	free_slot(id & SLOT_MASK);
	/* the function first: it may arm again, with another id */
	w->func(w);
	/* the kernel keeps a fired one-shot until it is deleted */
	kernel_cancel(id);
}

int vcore_alarm_service_init(struct vcore_dev *dev)
{
	int state = SVC_NONE, err = -ENOMEM;
	unsigned int v;

	if (!vcore_dev_has_ioctl(dev, VCORE_IOC_NR_ALARM_SET))
		return -ENOTTY;
	if (!__atomic_compare_exchange_n(&svc.state, &state, SVC_STARTING,
					 false, __ATOMIC_ACQUIRE,
					 __ATOMIC_ACQUIRE)) {
		while (state == SVC_STARTING)
			state = __atomic_load_n(&svc.state, __ATOMIC_ACQUIRE);
		return state == SVC_READY && svc.dev == dev ? 0 : -EBUSY;
	}
	svc.ev_q = vcore_get_eventq(EV_MBOX_UCQ);
	if (!svc.ev_q)
		goto err;
	svc.ev_q->ev_flags = EVENT_IPI | EVENT_INDIR | EVENT_SPAM_INDIR |
			     EVENT_WAKEUP;
	for (v = 0; v < dev->api.max_vcores && v < VCORE_MAX_VCORES; v++) {
		svc.vc_evq[v] = vcore_get_eventq_vcpd(v, EVENT_IPI |
						      EVENT_VCORE_PRIVATE);
		if (!svc.vc_evq[v])
			goto err;
	}
	err = vcore_register_ev_handler(EV_ALARM, handle_alarm, NULL);
	if (err)
		goto err;
	svc.dev = dev;
	__atomic_store_n(&svc.state, SVC_READY, __ATOMIC_RELEASE);
	return 0;
err:
	for (v = 0; v < VCORE_MAX_VCORES; v++) {
		vcore_put_eventq(svc.vc_evq[v]);
		svc.vc_evq[v] = NULL;
	}
	vcore_put_eventq(svc.ev_q);
	svc.ev_q = NULL;
	__atomic_store_n(&svc.state, SVC_NONE, __ATOMIC_RELEASE);
	return err;
}

void vcore_init_awaiter(struct vcore_alarm_waiter *waiter,
			void (*func)(struct vcore_alarm_waiter *waiter))
{
	waiter->wake_up_time = 0;
	waiter->func = func;
	waiter->id = 0;
	waiter->flags = 0;
	waiter->vcoreid = 0;
	waiter->resv = 0;
}

void vcore_set_awaiter_abs(struct vcore_alarm_waiter *waiter, uint64_t abs_ns)
{
	waiter->wake_up_time = abs_ns;
}

void vcore_set_awaiter_rel(struct vcore_alarm_waiter *waiter, uint64_t rel_ns)
{
	waiter->wake_up_time = vcore_alarm_now() + rel_ns;
}

void vcore_set_awaiter_inc(struct vcore_alarm_waiter *waiter, uint64_t inc_ns)
{
	waiter->wake_up_time += inc_ns;
}

static bool is_armed(const struct vcore_alarm_waiter *w)
{
	return w->id && __atomic_load_n(&svc.slots[w->id & SLOT_MASK].word,
					 __ATOMIC_RELAXED) == (w->id | ARMED);
}

static int arm(struct vcore_alarm_waiter *w, uint32_t flags,
	       unsigned int vcoreid)
{
	struct vcore_alarm a = { .deadline_ns = w->wake_up_time };
	struct alarm_slot *s;
	int slot;
	uint32_t id;

	if (__atomic_load_n(&svc.state, __ATOMIC_ACQUIRE) != SVC_READY)
		return -ENXIO;
	if ((flags & VCORE_ALARM_VCORE) &&
	    (vcoreid >= svc.dev->api.max_vcores || vcoreid >= VCORE_MAX_VCORES))
		return -EINVAL;
	if (is_armed(w))
		return -EBUSY;
	slot = take_slot();
	if (slot < 0)
		return -ENOSPC;
	s = &svc.slots[slot];
	s->gen = (s->gen + 1) & GEN_MASK;
	if (!s->gen)
		s->gen = 1;
	id = slot | s->gen << SLOT_BITS;
	s->waiter = w;
	w->id = id;
	w->flags = flags;
	w->vcoreid = vcoreid;
	/* (A): the waiter before the arming, for the handler's CAS */
	__atomic_store_n(&s->word, id | ARMED, __ATOMIC_RELEASE);
	a.id = id;
	a.flags = flags;
	a.vcoreid = vcoreid;
	a.ev_q = (uintptr_t)(flags & VCORE_ALARM_VCORE ? svc.vc_evq[vcoreid] :
						       svc.ev_q);
	if (ioctl(svc.dev->fd, VCORE_IOC_ALARM_SET, &a)) {
		int err = -errno;

		/* no kernel alarm: nothing can fire, the slot is ours */
		__atomic_store_n(&s->word, id, __ATOMIC_RELAXED);
		free_slot(slot);
		return err;
	}
	return 0;
}

int vcore_set_alarm(struct vcore_alarm_waiter *waiter)
{
	return arm(waiter, 0, 0);
}

int vcore_set_pvc_alarm(struct vcore_alarm_waiter *waiter,
			unsigned int vcoreid, bool wall_clock)
{
	return arm(waiter, VCORE_ALARM_VCORE |
			   (wall_clock ? VCORE_ALARM_WALL : 0), vcoreid);
}

bool vcore_unset_alarm(struct vcore_alarm_waiter *waiter)
{
	uint32_t id = waiter->id;

	if (!id || __atomic_load_n(&svc.state, __ATOMIC_ACQUIRE) != SVC_READY)
		return false;
	if (!claim_arming(id))
		return false;
	kernel_cancel(id);
	free_slot(id & SLOT_MASK);
	return true;
}

bool vcore_reset_alarm_abs(struct vcore_alarm_waiter *waiter, uint64_t abs_ns)
{
	bool unset = vcore_unset_alarm(waiter);

	vcore_set_awaiter_abs(waiter, abs_ns);
	arm(waiter, waiter->flags, waiter->vcoreid);
	return unset;
}
