/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * UCQ: the unbounded concurrent queue, consumer side.  The kernel produces
 * into linked arena pages; any number of threads may consume.  See ucq.c
 * for the protocol and its ordering contract.
 */
#ifndef _VCORE_UCQ_H
#define _VCORE_UCQ_H

#include <stdbool.h>

#include <linux/vcore.h>

#include "vcore_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Set up ucq with two pages from the arena (the first and a spare) and
 * publish it to the kernel (ucq_ready) last.  ucq must not be in use.
 * 0, or the errno of the page allocation, negated.
 */
int ucq_init(struct ucq *ucq) VCORE_SYM(ucq_init);

/*
 * The same with two caller-provided arena pages (e.g. from one bulk
 * allocation); both must be page-aligned.  They are zeroed here.  -EINVAL.
 */
int ucq_init_raw(struct ucq *ucq, void *pg1, void *pg2)
	VCORE_SYM(ucq_init_raw);

/*
 * Free every page the ucq holds (including pages the kernel linked) and
 * mark it not ready.  The kernel must no longer post to it (unregister its
 * ev_q first) and no consumer may be running.  A ucq that was never
 * initialised is left alone.
 */
void ucq_free(struct ucq *ucq) VCORE_SYM(ucq_free);

/*
 * Take one message.  false if the ucq looked empty; a message posted while
 * this runs may or may not be seen.  Safe from any number of threads; it
 * can spin briefly on the kernel (a slot being filled, a page being
 * linked) or on another consumer (a page flip).
 */
bool get_ucq_msg(struct ucq *ucq, struct event_msg *msg)
	VCORE_SYM(get_ucq_msg);

/* Whether the consumer has caught up with the producer; racy by nature. */
bool ucq_is_empty(struct ucq *ucq) VCORE_SYM(ucq_is_empty);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_UCQ_H */
