/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Vcores that run: the threads that play them, entering vcore context,
 * yield, change_to_vcore and preemption.
 */
#ifndef _VCORE_VCORE_RUN_H
#define _VCORE_VCORE_RUN_H

#include <linux/types.h>
#include <asm/page.h>

struct vcore_proc;

/* A user entry point and stack a thread can be sent to on its way out. */
static inline bool vcore_entry_ok(u64 entry, u64 stack)
{
	return entry && entry < TASK_SIZE_MAX && stack &&
	       stack < TASK_SIZE_MAX && !(stack % 16);
}

void vcore_threads_init(struct vcore_proc *p);
void vcore_threads_release(struct vcore_proc *p);
int vcore_run_init(void);
void vcore_run_exit(void);
long vcore_attach(struct vcore_proc *p, u32 vcoreid);
long vcore_yield(struct vcore_proc *p, bool being_nice);
long vcore_change(struct vcore_proc *p, u32 target, bool restart);

#endif /* _VCORE_VCORE_RUN_H */
