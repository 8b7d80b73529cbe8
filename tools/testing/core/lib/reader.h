/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User space's reading side, single-threaded, for the unit tests: takes
 * messages out of the mailboxes the core wrote, following user addresses
 * with the harness's own translation (h_u2k), and recycling UCQ pages the
 * way libvcore does (the finished page becomes the spare, an extra one
 * goes back to the arena).  Anything that does not add up (a slot not
 * ready, a link outside the arena) is reported and counted in
 * h_reader_errors(), which the tests check.
 */
#ifndef _H_READER_H
#define _H_READER_H

#include "hmcp.h"

bool h_ucq_take(struct h_mcp *h, struct ucq *ucq, struct event_msg *msg);
/* Messages waiting in a UCQ, counted without taking them. */
unsigned int h_ucq_count(struct h_mcp *h, struct ucq *ucq);
/* CEQ: ev_type = id, ev_arg2/ev_arg4 = coalesced value, ev_arg3 = blob. */
bool h_ceq_take(struct h_mcp *h, struct ceq *ceq, struct event_msg *msg);
bool h_evbitmap_take(struct evbitmap *bm, struct event_msg *msg);
bool h_mbox_take(struct h_mcp *h, struct event_mbox *mbox,
		 struct event_msg *msg);
/* Drain an mbox into msgs (up to max); returns how many there were. */
unsigned int h_mbox_drain(struct h_mcp *h, struct event_mbox *mbox,
			  struct event_msg *msgs, unsigned int max);
/* The public (or private) VCPD mbox of a vcore. */
struct event_mbox *h_vcpd_mbox(struct h_mcp *h, u32 v, bool private_mbox);
unsigned int h_reader_errors(void);

#endif /* _H_READER_H */
