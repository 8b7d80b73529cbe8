/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The portable core's view of an MCP: its regions, its vcore lists and
 * state, and its counters.  Embedded in struct vcore_proc by the module and
 * built stand-alone by the user-space harness.
 */
#ifndef _VCORE_MCP_H
#define _VCORE_MCP_H

#include "env.h"

struct mcp_vcore {
	/* on exactly one of online, bulk_preempted, inactive; mcp.lock */
	struct list_head list;
	unsigned int id;
	unsigned int pcoreid;	/* valid while mapped */
	bool mapped;		/* written under mcp.lock, peeked without */
	bool attached;		/* a thread plays it; mcp.lock */
	bool resume_vcore_ctx;	/* preempted in vcore context; mcp.lock */
	int home_node;		/* where its VCPD lives, -1 = unknown; fixed */
};

/* A region of module-owned memory and where its owner mapped it. */
struct mcp_region {
	void *kaddr;
	u64 size;
	u64 uaddr;		/* 0 = not mapped; READ_ONCE, cmpxchg */
};

/* A run of arena pages that all live on one NUMA node. */
struct mcp_arena_slice {
	unsigned long first;	/* page index */
	unsigned long nr;
	int node;
};

struct mcp_arena {
	vc_lock_t lock;		/* protects pagemap */
	unsigned long *pagemap;	/* bit set = page handed out */
	struct mcp_region r;
	unsigned long nr_pages;
	unsigned long nr_used;
	/* fixed before the arena is mapped; none = no node preference */
	const struct mcp_arena_slice *slices;
	unsigned int nr_slices;
};

struct mcp_stats {
	atomic64_t sent;
	atomic64_t posted[4];
	atomic64_t notifs;
	atomic64_t indirs;
	atomic64_t spams;
	atomic64_t dropped[VCORE_DROP_NR];
};

struct mcp {
	/* protects the lists, state, num_vcores, vcores[] and procinfo's maps */
	vc_lock_t lock;
	struct list_head online;
	struct list_head bulk_preempted;
	struct list_head inactive;
	unsigned int state;	/* VCORE_PROC_*; peeked with READ_ONCE */
	unsigned int num_vcores;	/* online */
	unsigned int max_vcores;
	struct mcp_vcore *vcores;
	struct vcore_procinfo *procinfo;
	struct mcp_region procdata;
	struct mcp_arena arena;
	vc_lock_t ucq_lock;	/* serialises UCQ page linking */
	struct mcp_stats stats;
};

static inline void mcp_drop(struct mcp *m, enum vcore_drop_reason why)
{
	atomic64_inc(&m->stats.dropped[why]);
}

static inline struct vcore_preempt_data *mcp_vcpd(struct mcp *m,
						  unsigned int vcoreid)
{
	return m->procdata.kaddr + sizeof(struct vcore_procdata) +
	       (size_t)vcoreid * sizeof(struct vcore_preempt_data);
}

static inline struct vcore_procdata *mcp_procdata(struct mcp *m)
{
	return m->procdata.kaddr;
}

#endif /* _VCORE_MCP_H */
