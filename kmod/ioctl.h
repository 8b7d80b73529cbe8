/* SPDX-License-Identifier: GPL-2.0 */
/* ioctl dispatch for /dev/vcore. */
#ifndef _VCORE_IOCTL_H
#define _VCORE_IOCTL_H

struct file;

long vcore_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* _VCORE_IOCTL_H */
