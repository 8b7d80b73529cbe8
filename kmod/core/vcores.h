/* SPDX-License-Identifier: GPL-2.0 */
/* The vcore lists and the process state. */
#ifndef _VCORE_VCORES_H
#define _VCORE_VCORES_H

#include "mcp.h"

void mcp_vcores_init(struct mcp *m, struct mcp_vcore *vcores,
		     unsigned int max_vcores);
bool mcp_wakeup(struct mcp *m);
void mcp_set_dying(struct mcp *m);
int mcp_attach_vcore(struct mcp *m, u32 vcoreid);
int mcp_detach_vcore(struct mcp *m, u32 vcoreid);
struct mcp_vcore *mcp_grant_vcore_near(struct mcp *m, u32 pcoreid, int node);
int mcp_take_bulk_preempted(struct mcp *m);
int mcp_yield_vcore(struct mcp *m, u32 vcoreid, bool being_nice);
int mcp_preempt_vcore(struct mcp *m, u32 vcoreid, bool bulk);
int mcp_change_vcore(struct mcp *m, u32 caller, u32 target);
unsigned int mcp_vcores_wanted(struct mcp *m);

/* For tests only: the test build and the user-space harness. */
#ifdef VCORE_TEST
/* Where a vcore sits, for mcp_arrange() */
enum mcp_list {
	MCP_ONLINE,
	MCP_BULK_PREEMPTED,
	MCP_INACTIVE,
};

int mcp_arrange(struct mcp *m, unsigned int state, const u8 *list_of,
		const u16 *order, const u32 *pcoreid);
struct mcp_vcore *mcp_grant_vcore(struct mcp *m, u32 pcoreid);
#endif

static inline bool mcp_vcore_is_mapped(struct mcp *m, u32 vcoreid)
{
	return READ_ONCE(m->vcores[vcoreid].mapped);
}

/* The head of a vcore list, read without the lock: may be stale at once. */
static inline struct mcp_vcore *mcp_list_first(struct list_head *l)
{
	return list_first_or_null_rcu(l, struct mcp_vcore, list);
}

#endif /* _VCORE_VCORES_H */
