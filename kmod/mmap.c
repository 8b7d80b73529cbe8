// SPDX-License-Identifier: GPL-2.0
/*
 * Mapping the MCP's regions into its owner.
 *
 * Each region is vmalloc memory owned by the vcore_proc, allocated page by
 * page on chosen NUMA nodes (proc.c's region_alloc()); the kernel uses it
 * through its vmalloc address and the process through a shared mapping.
 * Every vma holds a reference on the open file, so the memory stays until
 * the last mapping and the last fd are gone.  A mapping must be MAP_SHARED
 * and lie inside one region, at any page offset within it.
 * procinfo can never become writable: VM_MAYWRITE is cleared, so mprotect
 * refuses.  Mappings are not inherited across fork (VM_DONTCOPY): the child
 * is a different process and gets its own MCP by opening the device.
 *
 * The first mapping of a whole procdata or arena region is the one whose
 * addresses the kernel translates (see arena.c).  That mapping cannot be
 * split or moved; unmapping it makes those addresses untranslatable until
 * the region is mapped whole again.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "mmap.h"
#include "proc.h"

struct region {
	u64 offset;
	u64 size;
	void *kaddr;
	u64 *uaddr;		/* where to record a whole mapping, or NULL */
	bool read_only;
};

static bool find_region(struct vcore_proc *p, u64 offset, struct region *r)
{
	struct mcp *m = &p->mcp;
	const struct region regions[] = {
		{ VCORE_OFF_PROCINFO, p->procinfo_size, m->procinfo, NULL,
		  true },
		{ VCORE_OFF_PROCDATA, m->procdata.size, m->procdata.kaddr,
		  &m->procdata.uaddr, false },
		{ VCORE_OFF_ARENA, m->arena.r.size, m->arena.r.kaddr,
		  &m->arena.r.uaddr, false },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		if (regions[i].size && offset >= regions[i].offset &&
		    offset - regions[i].offset < regions[i].size) {
			*r = regions[i];
			return true;
		}
	}
	return false;
}

/* What remap_vmalloc_range() does, for proc.c's region memory. */
static int map_region(struct vm_area_struct *vma, void *kaddr,
		      unsigned long pgoff)
{
	unsigned long uaddr;
	int ret;

	kaddr += pgoff << PAGE_SHIFT;
	for (uaddr = vma->vm_start; uaddr < vma->vm_end; uaddr += PAGE_SIZE) {
		ret = vm_insert_page(vma, uaddr, vmalloc_to_page(kaddr));
		if (ret)
			return ret;
		kaddr += PAGE_SIZE;
	}
	vcore_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return 0;
}

static void translated_close(struct vm_area_struct *vma)
{
	struct vcore_proc *p = vma->vm_file->private_data;
	u64 *uaddr = vma->vm_private_data;

	/* a copy in a child (after MADV_DOFORK) is not the owner's mapping */
	if (vma->vm_mm == p->mm)
		cmpxchg(uaddr, (u64)vma->vm_start, 0);
}

static int translated_may_split(struct vm_area_struct *vma,
				unsigned long addr)
{
	return -EINVAL;
}

static int translated_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static const struct vm_operations_struct translated_vm_ops = {
	.close		= translated_close,
	.may_split	= translated_may_split,
	.mremap		= translated_mremap,
};

/**
 * vcore_mmap() - map part of procinfo, procdata or the arena
 * @file: the open device
 * @vma: the new mapping; vm_pgoff selects the region
 *
 * Return: 0; -EPERM if the caller is not the owner or asks to write
 * procinfo; -EBADFD before the API handshake; -EINVAL for a private
 * mapping, an offset outside the regions or a length past a region's end.
 */
int vcore_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vcore_proc *p = file->private_data;
	u64 offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
	unsigned long len = vma->vm_end - vma->vm_start;
	struct region r;
	int ret;

	if (!vcore_proc_is_owner(p))
		return -EPERM;
	if (!test_bit(VCORE_PROC_API_DONE, &p->flags))
		return -EBADFD;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	mutex_lock(&p->setup_lock);	/* the arena may be set up right now */
	ret = -EINVAL;
	if (!find_region(p, offset, &r) || len > r.size - (offset - r.offset))
		goto out;
	if (r.read_only) {
		ret = -EPERM;
		if (vma->vm_flags & VM_WRITE)
			goto out;
		vcore_vm_flags_clear(vma, VM_MAYWRITE);
	}
	vcore_vm_flags_set(vma, VM_DONTCOPY);
	ret = map_region(vma, r.kaddr, (offset - r.offset) >> PAGE_SHIFT);
	if (ret || !r.uaddr || offset != r.offset || len != r.size)
		goto out;
	if (cmpxchg(r.uaddr, 0, (u64)vma->vm_start) == 0) {
		vma->vm_private_data = r.uaddr;
		vma->vm_ops = &translated_vm_ops;
	}
out:
	mutex_unlock(&p->setup_lock);
	return ret;
}
