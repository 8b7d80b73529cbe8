/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The delay injection hook for the unit tests (see internal.h): at a
 * library injection point, delay the calling thread now and then: a short
 * spin mostly, sometimes a sched_yield(), which on a small machine lets
 * every other thread run through the window.  The kernel side is the real
 * core (tools/testing/core/lib/kernel_side.h), whose every access to
 * shared memory goes through the harness's access hook: the same rate
 * turns on the hook's delays there, and a kernel point is named by the
 * access it comes before (inject_at_core_access()).
 */
#ifndef _VCORE_TEST_INJECT_H
#define _VCORE_TEST_INJECT_H

#include <stddef.h>

#include "internal.h"
#include "lib/hooks.h"

/* Points in the core, reached through a watch (inject_at_core_access()). */
enum {
	INJ_K_FIRST = 100,
	/* UCQ: the next page linked, prod_idx not yet moved onto it */
	INJ_K_UCQ_LINKED = INJ_K_FIRST,
	INJ_K_END,
};

/*
 * In the calling thread, run injection point "point" just before the
 * core's (skip + 1)th access of a kind in kinds (H_LOAD, H_STORE, ...) to
 * [addr, addr + len), once; inject_at_core_clear() disarms what is left.
 * With inject_stall_once(point), the thread stalls there.
 */
void inject_at_core_access(unsigned int point, const volatile void *addr,
			   size_t len, unsigned int kinds, unsigned int skip);
void inject_at_core_clear(void);

/*
 * Delay one call in one_in at each point, counting afresh; 0 turns
 * injection off and keeps the counts.
 */
void inject_set_rate(unsigned int one_in);

/*
 * Delays injected since the last inject_set_rate(), in the library and in
 * the core, and at how many of the library's points.
 */
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
