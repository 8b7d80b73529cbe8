// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Bitmap mbox consumer.
 *
 * The kernel sets bit ev_type and then check_bits; the payload is lost, so
 * N posts of one type before the consumer looks arrive as one message.
 * Consumers follow "check, signal, check again": clear check_bits first,
 * then look for a bit, so that a bit set behind the look leaves check_bits
 * set for the next one.  Bits are taken with an atomic test-and-clear, so
 * concurrent consumers never return one bit twice (Akaros tests, then
 * clears, and can).
 *
 * Ordering: ORDERING.md's EVBM table.  The kernel's producer sets the
 * bit and then check_bits (EVBM-1, kmod/core/evbitmap.c); a consumer
 * clears check_bits with an xchg, a full barrier, and then takes bits
 * (EVBM-2): if the xchg reads EVBM-1's 1, the bit is seen; if EVBM-1's
 * store lands after it, check_bits stays set and a later call finds the
 * bit.  A consumer that leaves bits behind raises check_bits again
 * (EVBM-3) for the next one.
 *
 * Synchronization: the kernel's post, vcore_get_evbitmap_msg and
 * vcore_evbitmap_is_empty may all run concurrently; vcore_evbitmap_init excludes
 * everything.  Every loop here is bounded by the bitmap's size.
 */
#include <string.h>

#include "evbitmap.h"
#include "internal.h"

void vcore_evbitmap_init(struct evbitmap *evbm)
{
	memset(evbm, 0, sizeof(*evbm));
}

void vcore_evbitmap_cleanup(struct evbitmap *evbm)
{
	(void)evbm;
}

bool vcore_evbitmap_is_empty(struct evbitmap *evbm)
{
	return !READ_ONCE(evbm->check_bits);
}

static bool evbm_all_clear(struct evbitmap *evbm)
{
	for (unsigned int w = 0; w < VCORE_EVBITMAP_WORDS; w++)
		if (READ_ONCE(evbm->bitmap[w]))
			return false;
	return true;
}

/* EVBM-2's take: test-and-clear the lowest set bit we can win. */
static bool evbm_take_one(struct evbitmap *evbm, unsigned int *type)
{
	for (unsigned int w = 0; w < VCORE_EVBITMAP_WORDS; w++) {
		__u64 seen = READ_ONCE(evbm->bitmap[w]);

		/* Each pass drops seen's lowest bit: at most 64 passes. */
		for (; seen; seen &= seen - 1) {
			unsigned int bit = (unsigned int)__builtin_ctzll(seen);
			__u64 mask = 1ULL << bit;

			if (unlikely(!(fetch_and(&evbm->bitmap[w], ~mask) &
				       mask)))
				continue;	/* another consumer won it */
			/* The kernel bounds ev_type; a stray high bit is dropped. */
			if (likely(w * 64 + bit < VCORE_MAX_NR_EVENT)) {
				*type = w * 64 + bit;
				return true;
			}
		}
	}
	inject_delay(INJ_EVBM_LOOKED);
	return false;
}

bool vcore_get_evbitmap_msg(struct evbitmap *evbm, struct event_msg *msg)
{
	unsigned int type;

	/* EVBM-2, pairs with EVBM-1 in kmod/core/evbitmap.c and EVBM-3 */
	if (!smp_load_acquire(&evbm->check_bits))
		return false;
	xchg(&evbm->check_bits, 0);
	inject_delay(INJ_EVBM_CLEARED);
	if (!evbm_take_one(evbm, &type))
		return false;
	/*
	 * We took one of several: leave the signal up for the rest.
	 * EVBM-3, pairs with EVBM-2: a release, standing in for the
	 * kernel's EVBM-1 that our xchg consumed; the next consumer must see
	 * the bits we saw.
	 */
	if (!evbm_all_clear(evbm))
		smp_store_release(&evbm->check_bits, 1);
	memset(msg, 0, sizeof(*msg));
	msg->ev_type = (__u16)type;
	return true;
}
