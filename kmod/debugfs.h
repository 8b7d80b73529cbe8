/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /sys/kernel/debug/vcore: module-wide and per-process state for tests and
 * administrators.
 */
#ifndef _VCORE_DEBUGFS_H
#define _VCORE_DEBUGFS_H

struct dentry;
struct vcore_proc;

void vcore_debugfs_init(void);
void vcore_debugfs_exit(void);
struct dentry *vcore_debugfs_add(struct vcore_proc *p);
void vcore_debugfs_remove(struct dentry *d);

#endif /* _VCORE_DEBUGFS_H */
