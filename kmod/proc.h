/* SPDX-License-Identifier: GPL-2.0 */
/* The per-process MCP object and the registry of live ones. */
#ifndef _VCORE_PROC_H
#define _VCORE_PROC_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/vcore.h>

struct mm_struct;
struct pid;

/* bits in vcore_proc.flags */
#define VCORE_PROC_API_DONE	0

/*
 * One per process that opened /dev/vcore; lives until the last reference to
 * the open file goes away (close, and munmap of every region).
 */
struct vcore_proc {
	struct list_head node;		/* in the registry, under its lock */
	struct mm_struct *mm;		/* the owner's address space (grabbed) */
	struct pid *tgid;		/* the owner (referenced) */
	unsigned long flags;		/* VCORE_PROC_* bits, atomic */
	unsigned int max_vcores;
	struct vcore_procinfo *procinfo;	/* vmalloc_user, read-only map */
	size_t procinfo_size;
	void *procdata;			/* vmalloc_user: header + VCPD array */
	size_t procdata_size;
};

struct vcore_proc *vcore_proc_create(void);
void vcore_proc_destroy(struct vcore_proc *p);
bool vcore_proc_is_owner(const struct vcore_proc *p);
void vcore_proc_live(unsigned long *nr_procs, unsigned long *nr_bytes);

#endif /* _VCORE_PROC_H */
