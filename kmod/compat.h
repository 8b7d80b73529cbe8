/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernel versions vcore builds against (6.1 and
 * 6.12 are built by make check).  Kbuild probes the headers and defines
 * VCORE_HAVE_* for what is present.
 */
#ifndef _VCORE_COMPAT_H
#define _VCORE_COMPAT_H

#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/mm.h>

#ifdef VCORE_HAVE_VM_FLAGS_SET
#define vcore_vm_flags_set(vma, flags)		vm_flags_set(vma, flags)
#define vcore_vm_flags_clear(vma, flags)	vm_flags_clear(vma, flags)
#else
static inline void vcore_vm_flags_set(struct vm_area_struct *vma,
				      unsigned long flags)
{
	vma->vm_flags |= flags;
}

static inline void vcore_vm_flags_clear(struct vm_area_struct *vma,
					unsigned long flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/* hrtimer_setup() replaced hrtimer_init() and the assignment in 6.13. */
#ifdef VCORE_HAVE_HRTIMER_SETUP
#define vcore_hrtimer_setup(t, fn, clock, mode)	hrtimer_setup(t, fn, clock, mode)
#else
static inline void vcore_hrtimer_setup(struct hrtimer *t,
				       enum hrtimer_restart (*fn)(struct hrtimer *),
				       clockid_t clock, enum hrtimer_mode mode)
{
	hrtimer_init(t, clock, mode);
	t->function = fn;
}
#endif

#endif /* _VCORE_COMPAT_H */
