// SPDX-License-Identifier: GPL-2.0
/*
 * Bitmap producer: one bit per event type, the payload is lost.
 *
 * Ordering (ORDERING.md, EVBM): the bit, then check_bits (EVBM-1), which
 * the consumer's clear-then-scan (EVBM-2) pairs with: a consumer that
 * clears check_bits and then misses a bit set just after its scan finds
 * check_bits set again.
 */
#include "mbox.h"

/**
 * evbitmap_post() - set the bit of @msg's type
 * @bm: the kernel address of the bitmap
 * @msg: the message
 * @newly_set: if not NULL, set to whether this post found the bit clear,
 *	that is, whether the consumer will see it as a message of its own
 *	rather than coalesced into an earlier one
 *
 * Return: 0, or VCORE_DROP_BAD_EV_TYPE for a type the bitmap cannot hold.
 */
int evbitmap_post(struct evbitmap *bm, const struct event_msg *msg,
		  bool *newly_set)
{
	u32 type = msg->ev_type;
	bool was_set;

	if (type >= VCORE_MAX_NR_EVENT)
		return VCORE_DROP_BAD_EV_TYPE;
	/*
	 * EVBM-1, pairs with EVBM-2 in libvcore/evbitmap.c
	 * vcore_get_evbitmap_msg(): the barrier below orders the bit before
	 * check_bits, whatever the RMW's own ordering.
	 */
	was_set = vc_test_and_set_bit64(&bm->bitmap[type / 64], type % 64);
	if (newly_set)
		*newly_set = !was_set;
	vc_mb__after_atomic();
	vc_store(&bm->check_bits, 1);
	return 0;
}
