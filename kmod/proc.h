/* SPDX-License-Identifier: GPL-2.0 */
/* The per-process MCP object and the registry of live ones. */
#ifndef _VCORE_PROC_H
#define _VCORE_PROC_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/vcore.h>
#include <linux/workqueue.h>

#include "mcp.h"
#include "vcore_run.h"

struct dentry;
struct file;
struct mm_struct;
struct pid;

/* bits in vcore_proc.flags */
#define VCORE_PROC_API_DONE	0
/* gave up or lost a pcore: provisioning waits a while (proc.c) */
#define VCORE_PROC_HELD_OFF	1

#define VCORE_PROC_NODE_MASK	0xffff
#define VCORE_PROC_NODE_STRICT	0x10000

/*
 * One per process that opened /dev/vcore.  The open file holds a
 * reference, and so does anyone sending to it from another process; the
 * memory goes with the last reference.
 */
struct vcore_proc {
	struct kref ref;
	struct list_head node;		/* in the registry, under its lock */
	struct mm_struct *mm;		/* the owner's address space (grabbed) */
	struct pid *tgid;		/* the owner (referenced) */
	unsigned long flags;		/* VCORE_PROC_* bits, atomic */
	unsigned long held_off_until;	/* jiffies; with VCORE_PROC_HELD_OFF */
	struct mutex setup_lock;	/* serialises VCORE_IOC_SETUP */
	/* VCORE_IOC_SET_NODE: node + 1, VCORE_PROC_NODE_STRICT; atomic */
	atomic_t node_req;
	size_t procinfo_size;
	struct dentry *debugfs;
	struct work_struct free_work;	/* a last put in atomic context */
	struct vcore_thread *vt;	/* [mcp.max_vcores] */
	struct mcp mcp;
};

struct vcore_proc *vcore_proc_create(void);
void vcore_proc_release(struct vcore_proc *p);
void vcore_proc_put(struct vcore_proc *p);
void vcore_proc_put_any(struct vcore_proc *p);
struct vcore_proc *vcore_target(s32 fd, s32 pid, long *err);
void vcore_provision(bool reserved);
void vcore_hold_off(struct vcore_proc *p);
void vcore_unhold(struct vcore_proc *p);
void vcore_rebalance(struct vcore_proc *p);
int vcore_procs_init(void);
void vcore_procs_exit(void);
struct vcore_proc *vcore_proc_get_by_pid(pid_t nr);
struct vcore_proc *vcore_proc_from_file(struct file *file);
bool vcore_proc_is_owner(const struct vcore_proc *p);
int vcore_proc_setup_arena(struct vcore_proc *p, u64 size);
int vcore_proc_set_node(struct vcore_proc *p, s32 node, u32 flags);
void vcore_proc_node_req(struct vcore_proc *p, int *node, bool *strict);
u64 vcore_proc_arena_max(void);
void vcore_proc_live(unsigned long *nr_procs, unsigned long *nr_bytes);

#endif /* _VCORE_PROC_H */
