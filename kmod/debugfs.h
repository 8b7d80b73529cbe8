/* SPDX-License-Identifier: GPL-2.0 */
/* /sys/kernel/debug/vcore: module-wide state for tests and administrators. */
#ifndef _VCORE_DEBUGFS_H
#define _VCORE_DEBUGFS_H

void vcore_debugfs_init(void);
void vcore_debugfs_exit(void);

#endif /* _VCORE_DEBUGFS_H */
