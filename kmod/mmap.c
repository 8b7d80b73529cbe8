// SPDX-License-Identifier: GPL-2.0
/*
 * Mapping the MCP's regions into its owner.
 *
 * Each region is vmalloc_user() memory owned by the vcore_proc; the kernel
 * uses it through its vmalloc address and the process through a shared
 * mapping.  Every vma holds a reference on the open file, so the memory
 * stays until the last mapping and the last fd are gone.  A mapping must be
 * MAP_SHARED and lie inside one region, at any page offset within it.
 * procinfo can never become writable: VM_MAYWRITE is cleared, so mprotect
 * refuses.  Mappings are not inherited across fork (VM_DONTCOPY): the child
 * is a different process and gets its own MCP by opening the device.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "mmap.h"
#include "proc.h"

struct region {
	u64 offset;
	size_t size;
	void *kaddr;
	bool read_only;
};

static bool find_region(struct vcore_proc *p, u64 offset, struct region *r)
{
	const struct region regions[] = {
		{ VCORE_OFF_PROCINFO, p->procinfo_size, p->procinfo, true },
		{ VCORE_OFF_PROCDATA, p->procdata_size, p->procdata, false },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		if (offset >= regions[i].offset &&
		    offset - regions[i].offset < regions[i].size) {
			*r = regions[i];
			return true;
		}
	}
	return false;
}

/**
 * vcore_mmap() - map part of procinfo or procdata
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

	if (!vcore_proc_is_owner(p))
		return -EPERM;
	if (!test_bit(VCORE_PROC_API_DONE, &p->flags))
		return -EBADFD;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (!find_region(p, offset, &r))
		return -EINVAL;
	if (len > r.size - (offset - r.offset))
		return -EINVAL;
	if (r.read_only) {
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		vcore_vm_flags_clear(vma, VM_MAYWRITE);
	}
	vcore_vm_flags_set(vma, VM_DONTCOPY);
	return remap_vmalloc_range(vma, r.kaddr,
				   (offset - r.offset) >> PAGE_SHIFT);
}
