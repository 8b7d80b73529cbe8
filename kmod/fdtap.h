/* SPDX-License-Identifier: GPL-2.0 */
/* Fd taps: an fd's readiness changes become events (VCORE_IOC_TAP). */
#ifndef _VCORE_FDTAP_H
#define _VCORE_FDTAP_H

#include <linux/types.h>
#include <linux/vcore.h>

struct file;
struct vcore_proc;

long vcore_tap_cmd(struct vcore_proc *p, const struct vcore_tap_req *r,
		   struct file *file);
void vcore_taps_release(struct vcore_proc *p);
unsigned int vcore_taps_nr(struct vcore_proc *p);
long vcore_taps_live(void);
void vcore_taps_exit(void);

#endif /* _VCORE_FDTAP_H */
