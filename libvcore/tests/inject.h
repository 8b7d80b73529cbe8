/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The delay injection hook for the unit tests (see internal.h): at a
 * library injection point, or at one of the simulated kernel's (numbered
 * from INJ_K_FIRST), delay the calling thread now and then: a short spin
 * mostly, sometimes a sched_yield(), which on a small machine lets every
 * other thread run through the window.
 */
#ifndef _VCORE_TEST_INJECT_H
#define _VCORE_TEST_INJECT_H

#include "internal.h"

enum {
	INJ_K_FIRST = 100,
	INJ_K_UCQ_CLAIMED = INJ_K_FIRST, /* slot claimed, message not written */
	INJ_K_UCQ_LINKED,		/* page linked, prod_idx not moved */
	INJ_K_CEQ_COALESCED,		/* value added, idx_posted not read */
	INJ_K_CEQ_MARKED,		/* idx_posted set, ring not claimed */
	INJ_K_CEQ_CLAIMED,		/* ring slot claimed, not written */
	INJ_K_EVBM_SET,			/* bit set, check_bits not */
	INJ_K_VC_POSTED,		/* VCPD post, notif_pending not set */
	INJ_K_END,
};

/*
 * Delay one call in one_in at each point, counting afresh; 0 turns
 * injection off and keeps the counts.
 */
void inject_set_rate(unsigned int one_in);

/* Delays injected since the last inject_set_rate(), and at how many points. */
unsigned long inject_delays(void);
unsigned int inject_points_hit(void);

/*
 * A one-shot stall, for deterministic interleavings: the first thread to
 * reach point after inject_stall_once() blocks there until
 * inject_release(); inject_wait_stalled() waits until one has.
 */
void inject_stall_once(unsigned int point);
void inject_wait_stalled(void);
void inject_release(void);

#endif /* _VCORE_TEST_INJECT_H */
