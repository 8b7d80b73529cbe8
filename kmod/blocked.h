/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The blocked-in-kernel detector: a preempt notifier on each vcore thread
 * counts the times it goes to sleep in the kernel outside the module's own
 * waits (kernel_blocks, the vcore_blocked tracepoint).
 */
#ifndef _VCORE_BLOCKED_H
#define _VCORE_BLOCKED_H

#include <linux/atomic.h>
#include <linux/preempt.h>
#include <linux/types.h>

struct vcore_thread;

/* One per vcore, in its struct vcore_thread. */
struct vcore_blocked {
#ifdef CONFIG_PREEMPT_NOTIFIERS
	/* on the thread's preempt_notifiers while registered; its task only */
	struct preempt_notifier pn;
#endif
	/* the task's nvcsw at its last switch out; sched_out only */
	unsigned long nvcsw;
	/* in one of the module's own waits; written by its task only */
	bool quiet;
	/* times a thread of this vcore blocked; kernel_blocks */
	atomic64_t count;
};

#ifdef CONFIG_PREEMPT_NOTIFIERS
void vcore_blocked_init(void);
void vcore_blocked_exit(void);
bool vcore_blocked_supported(void);
void vcore_blocked_start(struct vcore_thread *vt);
void vcore_blocked_stop(void);
bool vcore_blocked_quiet(bool quiet);
#else
static inline void vcore_blocked_init(void) { }
static inline void vcore_blocked_exit(void) { }
static inline void vcore_blocked_start(struct vcore_thread *vt) { }
static inline void vcore_blocked_stop(void) { }
static inline bool vcore_blocked_quiet(bool quiet) { return false; }
static inline bool vcore_blocked_supported(void) { return false; }
#endif

#endif /* _VCORE_BLOCKED_H */
