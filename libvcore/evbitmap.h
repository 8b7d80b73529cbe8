/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Bitmap mbox, consumer side: one bit per event type, payload lost.
 * See evbitmap.c for the protocol.
 */
#ifndef _VCORE_EVBITMAP_H
#define _VCORE_EVBITMAP_H

#include <stdbool.h>

#include <linux/vcore.h>


#ifdef __cplusplus
extern "C" {
#endif

/* Clear every bit.  No kernel post nor consumer may run. */
void vcore_evbitmap_init(struct evbitmap *evbm);

/* Nothing to free; for symmetry with the other mailboxes. */
void vcore_evbitmap_cleanup(struct evbitmap *evbm);

/* Whether check_bits is clear; racy by nature. */
bool vcore_evbitmap_is_empty(struct evbitmap *evbm);

/*
 * Take one set bit: msg is zeroed but for ev_type.  false if none was
 * found.  Each bit set by the kernel is returned once, to one consumer.
 */
bool vcore_get_evbitmap_msg(struct evbitmap *evbm, struct event_msg *msg);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_EVBITMAP_H */
