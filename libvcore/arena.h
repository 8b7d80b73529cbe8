/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The event arena: the one region of module-owned memory from which every
 * ev_q, mbox, UCQ page and CEQ array that the kernel writes is allocated.
 *
 * Two layers:
 *
 *   pages    vcore_arena_setup() sizes the arena (VCORE_IOC_SETUP) and maps
 *            all of it once, for the life of the process.  Whole pages then
 *            come from the kernel (VCORE_IOC_ARENA_ALLOC / _FREE), which owns
 *            the page map because it also takes UCQ pages from the arena.
 *            (arena_pages.c; unit tests link a fake instead.)
 *
 *   objects  vcore_arena_zalloc() / vcore_arena_free(): a thread-safe
 *            sub-page allocator with size classes of 64 .. 1024 bytes, every
 *            object 64-byte aligned; larger requests get whole pages.
 *            (arena.c)
 *
 * Errors: functions returning int return 0 or a negative errno; functions
 * returning a pointer return NULL and set errno.
 */
#ifndef _VCORE_ARENA_H
#define _VCORE_ARENA_H

#include <stddef.h>

#include "vcore.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Size the arena to size bytes and map it.  Once per process; dev must stay
 * open while the arena is used (page allocation goes through its fd).
 *   -EINVAL      size is 0, not a page multiple, or above api.arena_max_size
 *   -EOPNOTSUPP  the module lacks SETUP or the arena page commands
 *   -EBUSY       the arena is already set up
 *   other        what VCORE_IOC_SETUP or mmap() returned
 */
int vcore_arena_setup(struct vcore_dev *dev, size_t size);

/*
 * nr_pages contiguous, zeroed, page-aligned pages, or NULL with errno:
 * EINVAL (nr_pages is 0), ENXIO (no arena), ENOMEM (arena full).
 */
void *vcore_arena_alloc_pages(unsigned int nr_pages);

/*
 * The same, from the arena's slice on NUMA node node when it has such a
 * run free, else from anywhere (node -1: no preference).  EINVAL also for
 * a node the kernel does not know (or a module without VCORE_FEAT_NUMA
 * given a node >= 0).
 */
void *vcore_arena_alloc_pages_node(unsigned int nr_pages, int node);

/*
 * Give back pages that vcore_arena_alloc_pages() or the kernel (UCQ pages)
 * handed out.  0, -EINVAL (not arena pages), -ENXIO (no arena).
 */
int vcore_arena_free_pages(void *addr, unsigned int nr_pages);

/* Whether [p, p + len) lies inside the arena. */
int vcore_arena_contains(const void *p, size_t len);

/*
 * Where the arena is mapped and its size in bytes, in *base and *size
 * (either may be NULL).  0, or -ENXIO before vcore_arena_setup().
 */
int vcore_arena_region(void **base, size_t *size);

/*
 * size zeroed bytes, 64-byte aligned (page-aligned above 1024 bytes), or
 * NULL with errno EINVAL (size 0), ENXIO or ENOMEM.  Sub-page objects come
 * from pages the allocator keeps; they are reused but never returned to
 * the kernel.
 */
void *vcore_arena_zalloc(size_t size);

/*
 * Free what vcore_arena_zalloc(size) returned; size must be the size asked
 * for (it selects the class).  NULL is ignored.  A pointer that is not an
 * object of that class aborts the process, as glibc's free() does.
 */
void vcore_arena_free(void *p, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_ARENA_H */
