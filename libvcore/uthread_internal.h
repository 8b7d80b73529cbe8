/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * What uthread.c shares with uth_sync.c: the uthread itself, the lock
 * that knows its holder, wait lists.  Not installed.
 */
#ifndef _VCORE_UTHREAD_INTERNAL_H
#define _VCORE_UTHREAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/vcore.h>

#include "internal.h"
#include "uthread.h"

/* struct uthread.flags */
#define UTH_DONT_MIGRATE	0x1	/* notifs disabled: stays on its vcore */

/* struct uthread.state */
#define UTH_LIVE		0
#define UTH_EXITED		1

struct uthread {
	struct vcore_user_ctx ctx;	/* saved when not running */
	void *fp;			/* FP area, vcore_fp_size() bytes */
	unsigned int flags;		/* UTH_* (atomic) */
	unsigned int notif_depth;	/* vcore_uth_disable_notifs() nesting */
	struct uthread *next;		/* run queue or one wait list */
	void (*block_cb)(struct uthread *, void *);
	void *block_arg;
	void *(*fn)(void *);
	void *arg;
	void *retval;
	char *map;			/* stack mapping, guard page first */
	size_t map_len;
	unsigned int lock;		/* guards state, joiner, detached */
	int state;
	bool detached;
	struct uthread *joiner;
};

/*
 * A spinlock that records its holder's vcore (uthread.c); held only with
 * notifications disabled.
 */
VCORE_HIDDEN void vcore_pdr_lock(unsigned int *l);
VCORE_HIDDEN void vcore_pdr_unlock(unsigned int *l);

/* FIFO wait lists through uthread.next, under their owner's lock. */
static inline void wl_push(struct uthread **head, struct uthread **tail,
			   struct uthread *u)
{
	u->next = NULL;
	if (*tail)
		(*tail)->next = u;
	else
		*head = u;
	*tail = u;
}

static inline struct uthread *wl_pop(struct uthread **head,
				     struct uthread **tail)
{
	struct uthread *u = *head;

	if (u) {
		*head = u->next;
		if (!*head)
			*tail = NULL;
	}
	return u;
}

#endif /* _VCORE_UTHREAD_INTERNAL_H */
