// SPDX-License-Identifier: GPL-2.0
/*
 * Bitmap producer: one bit per event type, the payload is lost.
 *
 *   kernel                               user
 *   ------                               ----
 *   atomic or bit                  (A)   check_bits = 0, full barrier
 *   barrier, check_bits = 1        (B)   test-and-clear each bit
 *
 * A consumer that clears check_bits and then misses a bit set just after
 * its scan sees check_bits set again (B after A).
 */
#include "mbox.h"

/**
 * evbitmap_post() - set the bit of @msg's type
 * @bm: the kernel address of the bitmap
 * @msg: the message
 *
 * Return: 0, or VCORE_DROP_BAD_EV_TYPE for a type the bitmap cannot hold.
 */
int evbitmap_post(struct evbitmap *bm, const struct event_msg *msg)
{
	u32 type = msg->ev_type;

	if (type >= VCORE_MAX_NR_EVENT)
		return VCORE_DROP_BAD_EV_TYPE;
	vc_or64(&bm->bitmap[type / 64], 1ULL << (type % 64));	/* A */
	vc_mb__after_atomic();
	vc_store(&bm->check_bits, 1);				/* B */
	return 0;
}
