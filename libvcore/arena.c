// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Sub-page allocation from the event arena.
 *
 * ev_qs (64 B), mboxes (128 B), big ev_qs (192 B) and small CEQ arrays are
 * far smaller than the page the kernel hands out, so each size class
 * carves whole arena pages into objects and keeps the free ones on a
 * LIFO list.  A page starts with a 64-byte header naming its class, which
 * lets vcore_arena_free() check the size it is given and lets vcore_put_eventq()
 * tell a big ev_q from a slim one.  Objects are 64-byte aligned (192 is
 * three cache lines), never page-aligned, so a page-aligned pointer is
 * always a whole-page allocation.
 *
 * Class pages are never given back to the kernel: the arena is sized for
 * the queues a process keeps, and their number is bounded by its peak.
 *
 * Locking: one spinlock per class guards its free list and page count; a
 * new page is allocated with no lock held and spliced in under the lock.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "internal.h"

#define SLAB_MAGIC	0x76636172U	/* "vcar" */
#define SLAB_HDR_SIZE	64UL
#define SLAB_MAX_OBJ	1024UL

struct slab_hdr {
	__u32 magic;
	__u32 obj_size;
	__u64 resv[7];
};

_Static_assert(sizeof(struct slab_hdr) == SLAB_HDR_SIZE, "slab header");

struct free_obj {
	struct free_obj *next;
};

struct size_class {
	__u32 lock;		/* guards free and nr_pages */
	__u32 obj_size;
	struct free_obj *free;
	unsigned long nr_pages;
};

static struct size_class classes[] = {
	{ .obj_size = 64 },	/* event_queue */
	{ .obj_size = 128 },	/* event_mbox */
	{ .obj_size = 192 },	/* event_queue_big */
	{ .obj_size = 256 },
	{ .obj_size = 512 },
	{ .obj_size = SLAB_MAX_OBJ },
};

#define NR_CLASSES	(sizeof(classes) / sizeof(classes[0]))

/* A fork()ed child: the free lists pointed into the parent's arena. */
void vcore_arena_slabs_forget(void)
{
	for (size_t i = 0; i < NR_CLASSES; i++) {
		classes[i].lock = 0;
		classes[i].free = NULL;
		classes[i].nr_pages = 0;
	}
}

static struct size_class *class_of(size_t size)
{
	for (size_t i = 0; i < NR_CLASSES; i++)
		if (size <= classes[i].obj_size)
			return &classes[i];
	return NULL;
}

static struct slab_hdr *slab_of(const void *p)
{
	return (struct slab_hdr *)((uintptr_t)p & ~VCORE_PAGE_MASK);
}

static size_t objs_per_page(const struct size_class *c)
{
	return (VCORE_PAGE_SIZE - SLAB_HDR_SIZE) / c->obj_size;
}

/* Carve a fresh page: keep its first object, list the others as free. */
static void *slab_grow(struct size_class *c)
{
	size_t n = objs_per_page(c);
	struct free_obj *first, *last;
	struct slab_hdr *hdr;
	char *objs;

	hdr = vcore_arena_alloc_pages(1);
	if (!hdr)
		return NULL;
	hdr->magic = SLAB_MAGIC;
	hdr->obj_size = c->obj_size;
	objs = (char *)hdr + SLAB_HDR_SIZE;
	first = (struct free_obj *)(objs + c->obj_size);
	last = first;
	for (size_t i = 2; i < n; i++) {
		last->next = (struct free_obj *)(objs + i * c->obj_size);
		last = last->next;
	}

	u_spin_lock(&c->lock);
	if (n > 1) {
		last->next = c->free;
		c->free = first;
	}
	c->nr_pages++;
	u_spin_unlock(&c->lock);
	return objs;
}

void *vcore_arena_zalloc(size_t size)
{
	struct size_class *c;
	struct free_obj *obj;

	if (!size) {
		errno = EINVAL;
		return NULL;
	}
	c = class_of(size);
	if (!c) {
		size_t nr_pages = (size + VCORE_PAGE_MASK) / VCORE_PAGE_SIZE;

		if (nr_pages > UINT_MAX || size > SIZE_MAX - VCORE_PAGE_MASK) {
			errno = ENOMEM;
			return NULL;
		}
		/* The kernel hands out zeroed pages. */
		return vcore_arena_alloc_pages((unsigned int)nr_pages);
	}

	u_spin_lock(&c->lock);
	obj = c->free;
	if (obj)
		c->free = obj->next;
	u_spin_unlock(&c->lock);
	if (!obj) {
		obj = slab_grow(c);
		if (!obj)
			return NULL;
	}
	memset(obj, 0, c->obj_size);
	return obj;
}

static void __attribute__((noreturn)) bad_free(const void *p, size_t size)
{
	fprintf(stderr,
		"libvcore: vcore_arena_free(%p, %zu): not an arena object of that size\n",
		p, size);
	abort();
}

void vcore_arena_free(void *p, size_t size)
{
	struct size_class *c;
	struct slab_hdr *hdr;
	struct free_obj *obj = p;
	uintptr_t off;

	if (!p)
		return;
	c = class_of(size);
	if (!c) {
		size_t nr_pages = (size + VCORE_PAGE_MASK) / VCORE_PAGE_SIZE;

		if ((uintptr_t)p & VCORE_PAGE_MASK ||
		    vcore_arena_free_pages(p, (unsigned int)nr_pages))
			bad_free(p, size);
		return;
	}
	if (!size || !vcore_arena_contains(p, c->obj_size))
		bad_free(p, size);
	hdr = slab_of(p);
	off = (uintptr_t)p - (uintptr_t)hdr;
	if (hdr->magic != SLAB_MAGIC || hdr->obj_size != c->obj_size ||
	    off < SLAB_HDR_SIZE || (off - SLAB_HDR_SIZE) % c->obj_size)
		bad_free(p, size);

	u_spin_lock(&c->lock);
	obj->next = c->free;
	c->free = obj;
	u_spin_unlock(&c->lock);
}

size_t vcore_arena_obj_size(const void *p)
{
	const struct slab_hdr *hdr;

	if (!p || !((uintptr_t)p & VCORE_PAGE_MASK) ||
	    !vcore_arena_contains(p, 1))
		return 0;
	hdr = slab_of(p);
	return hdr->magic == SLAB_MAGIC ? hdr->obj_size : 0;
}
