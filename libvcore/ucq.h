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


#ifdef __cplusplus
extern "C" {
#endif

/*
 * Set up ucq with two pages from the arena (the first and a spare) and
 * publish it to the kernel (ucq_ready) last.  ucq must not be in use.
 * 0, or the errno of the page allocation, negated.
 */
int vcore_ucq_init(struct ucq *ucq);

/*
 * The same with two caller-provided arena pages (e.g. from one bulk
 * allocation); both must be page-aligned.  They are zeroed here.  -EINVAL.
 */
int vcore_ucq_init_raw(struct ucq *ucq, void *pg1, void *pg2);

/*
 * Free every page the ucq holds (including pages the kernel linked) and
 * mark it not ready.  The kernel must no longer post to it (unregister its
 * ev_q first) and no consumer may be running.  A ucq that was never
 * initialised is left alone.
 */
void vcore_ucq_free(struct ucq *ucq);

/*
 * Take one message.  false if the ucq looked empty; a message posted while
 * this runs may or may not be seen.  Safe from any number of threads; it
 * can spin briefly on the kernel (a slot being filled, a page being
 * linked) or on another consumer (a page flip).
 */
bool vcore_get_ucq_msg(struct ucq *ucq, struct event_msg *msg);

/* Whether the consumer has caught up with the producer; racy by nature. */
bool vcore_ucq_is_empty(struct ucq *ucq);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_UCQ_H */
