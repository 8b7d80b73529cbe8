/* SPDX-License-Identifier: GPL-2.0 */
/* Mapping procinfo, procdata and the arena into the owning process. */
#ifndef _VCORE_MMAP_H
#define _VCORE_MMAP_H

#include <linux/types.h>

struct file;
struct vm_area_struct;

/* mmap offsets of the regions, published by VCORE_IOC_API */
#define VCORE_OFF_PROCINFO	0x00000000ULL
#define VCORE_OFF_PROCDATA	0x10000000ULL
#define VCORE_OFF_ARENA		0x20000000ULL

int vcore_mmap(struct file *file, struct vm_area_struct *vma);

#endif /* _VCORE_MMAP_H */
