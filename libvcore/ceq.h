/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * CEQ: the coalescing event queue, consumer side.  One entry per event id
 * (coalesce word, blob, idx_posted) plus a ring of posted ids; the kernel
 * ORs or ADDs ev_arg2 into an entry and posts its id once until consumed.
 * See ceq.c for the protocol and its ordering contract.
 */
#ifndef _VCORE_CEQ_H
#define _VCORE_CEQ_H

#include <stdbool.h>

#include <linux/vcore.h>


#ifdef __cplusplus
extern "C" {
#endif

/* Event ids are ev_type, a __u16. */
#define VCORE_CEQ_MAX_EVENTS		65536U
#define VCORE_CEQ_MAX_RING_SZ		65536U

/*
 * Set up a zeroed (or cleaned-up) ceq: operation CEQ_OR or CEQ_ADD, event
 * ids 0 .. nr_events - 1, ring_sz a power of two.  The events array and
 * the ring come from the arena.  0, -EINVAL (bad argument), -ENOMEM,
 * -ENXIO (no arena).  The kernel may post once the mbox is published (its
 * type set, by vcore_event_mbox_init_ceq()).
 */
int vcore_ceq_init(struct ceq *ceq, __u8 operation, unsigned int nr_events,
	     unsigned int ring_sz);

/*
 * Take one event: ev_type = the id, ev_arg2 = the coalesced value (its low
 * 32 bits), ev_arg3 = the last blob posted, ev_arg4 = the whole 64-bit
 * coalesced value.  false if the ceq looked empty.  As in Akaros, a
 * message may carry a coalesced value of 0 when a concurrent consumer took
 * the value first; every value posted is returned exactly once, and no
 * posted id is left behind, ring overflow included.
 */
bool vcore_get_ceq_msg(struct ceq *ceq, struct event_msg *msg);

/* Whether there is nothing to consume; racy by nature. */
bool vcore_ceq_is_empty(struct ceq *ceq);

/* Free the arrays and zero the ceq.  No kernel post nor consumer may run. */
void vcore_ceq_cleanup(struct ceq *ceq);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_CEQ_H */
