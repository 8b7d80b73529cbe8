/* SPDX-License-Identifier: GPL-2.0 */
/* Provisioning: which MCP holds which pcore, and the fair-share policy. */
#ifndef _VCORE_PROVISION_H
#define _VCORE_PROVISION_H

#include <linux/types.h>

struct mcp;
struct vcore_proc;

unsigned int vcore_grant(struct vcore_proc *p);
void vcore_bulk_restarted(struct vcore_proc *p);
void vcore_pcore_release(unsigned int cpu, struct vcore_proc *who,
			 struct vcore_proc *next);
void vcore_pcore_release_all(struct vcore_proc *who);
void vcore_provision(bool reserved);
void vcore_provision_ask(struct vcore_proc *p);
void vcore_provision_exit(void);
void vcore_hold_off(struct vcore_proc *p);
void vcore_rebalance(struct vcore_proc *p);
int vcore_set_node(struct vcore_proc *p, s32 node, u32 flags);

#endif /* _VCORE_PROVISION_H */
