/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reaching a vcore's thread: the IPI that interrupts an online vcore (to
 * notify or to preempt it) and the wake-up that hands an offline one its
 * pcore.
 */
#ifndef _VCORE_KICK_H
#define _VCORE_KICK_H

#include <linux/types.h>

struct vcore_proc;
struct vcore_thread;

void vcore_ipi_fn(void *info);
void vcore_hand_pcore(struct vcore_thread *vt, int cpu);
bool vcore_preempt_request(struct vcore_proc *t, u32 vcoreid, u32 flags,
			   u64 warn_ns);
unsigned int vcore_preempt_all(struct vcore_proc *t, u32 flags, u64 warn_ns);

#endif /* _VCORE_KICK_H */
