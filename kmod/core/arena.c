// SPDX-License-Identifier: GPL-2.0
/*
 * Address translation and the arena's page map.
 *
 * Every address user space hands the kernel (an ev_q, a mbox, a UCQ page,
 * a CEQ array) is a user virtual address.  The kernel follows it only
 * through mcp_translate(): the whole object must lie inside procdata or the
 * arena as the owner mapped them, aligned as asked.  The result points into
 * module-owned memory that lives as long as the MCP, so a racing munmap can
 * at worst make the kernel write memory nobody looks at any more.
 *
 * The arena's pages are handed out by the kernel, to user space through
 * VCORE_IOC_ARENA_ALLOC and to UCQ producers in any context, so the page
 * map's lock is irq-safe and held only for a bitmap search.
 */
#include "arena.h"

static void *region_translate(const struct mcp_region *r, u64 uaddr,
			      u64 size)
{
	u64 base = READ_ONCE(r->uaddr);

	if (!base || uaddr < base)
		return NULL;
	if (size > r->size || uaddr - base > r->size - size)
		return NULL;
	return r->kaddr + (uaddr - base);
}

/**
 * mcp_translate() - the kernel address of a user object in procdata or arena
 * @m: the MCP
 * @uaddr: the object's user address
 * @size: its size
 * @align: its required alignment, a power of two
 *
 * Return: the kernel address, or NULL if any byte of the object lies
 * outside both regions or it is misaligned.  procinfo is never a target.
 */
void *mcp_translate(struct mcp *m, u64 uaddr, u64 size, u64 align)
{
	void *k;

	if (!size || (uaddr & (align - 1)))
		return NULL;
	k = region_translate(&m->arena.r, uaddr, size);
	if (!k)
		k = region_translate(&m->procdata, uaddr, size);
	return k;
}

void mcp_arena_init(struct mcp_arena *a, void *kaddr, u64 size,
		    unsigned long *pagemap)
{
	vc_lock_init(&a->lock);
	a->pagemap = pagemap;
	a->r.kaddr = kaddr;
	a->r.size = size;
	a->r.uaddr = 0;
	a->nr_pages = size / VC_PAGE_SIZE;
	a->nr_used = 0;
	a->slices = NULL;
	a->nr_slices = 0;
}

/* The slice on @node, or NULL. */
static const struct mcp_arena_slice *node_slice(const struct mcp_arena *a,
						int node)
{
	unsigned int i;

	for (i = 0; i < a->nr_slices; i++)
		if (a->slices[i].node == node)
			return &a->slices[i];
	return NULL;
}

/* First free run of @nr pages in [@first, @end), or @end. */
static unsigned long find_run(const struct mcp_arena *a, unsigned long first,
			      unsigned long end, unsigned int nr)
{
	unsigned long pg;

	pg = bitmap_find_next_zero_area(a->pagemap, end, first, nr, 0);
	return pg < end ? pg : end;
}

/**
 * mcp_arena_alloc_pages_node() - take nr contiguous zeroed pages from the
 * arena, from @node's slice if it has such a run
 * @m: the MCP
 * @nr: how many pages
 * @node: the preferred node, or -1 for none
 * @kaddr: set to their kernel address
 *
 * Callable from any context.  Return: their user address, or 0 when the
 * arena is not mapped or has no such run free anywhere.
 */
u64 mcp_arena_alloc_pages_node(struct mcp *m, unsigned int nr, int node,
			       void **kaddr)
{
	struct mcp_arena *a = &m->arena;
	const struct mcp_arena_slice *s = node_slice(a, node);
	u64 base = READ_ONCE(a->r.uaddr);
	unsigned long flags, pg = a->nr_pages;

	if (!base || !nr || !a->pagemap)
		return 0;
	vc_lock_irqsave(&a->lock, flags);
	if (s) {
		pg = find_run(a, s->first, s->first + s->nr, nr);
		if (pg == s->first + s->nr)
			pg = a->nr_pages;
	}
	if (pg >= a->nr_pages)
		pg = find_run(a, 0, a->nr_pages, nr);
	if (pg >= a->nr_pages) {
		vc_unlock_irqrestore(&a->lock, flags);
		return 0;
	}
	bitmap_set(a->pagemap, pg, nr);
	a->nr_used += nr;
	vc_unlock_irqrestore(&a->lock, flags);

	*kaddr = a->r.kaddr + pg * VC_PAGE_SIZE;
	memset(*kaddr, 0, (size_t)nr * VC_PAGE_SIZE);
	return base + pg * VC_PAGE_SIZE;
}

#ifdef VCORE_TEST
/* mcp_arena_alloc_pages_node() without a node preference. */
u64 mcp_arena_alloc_pages(struct mcp *m, unsigned int nr, void **kaddr)
{
	return mcp_arena_alloc_pages_node(m, nr, -1, kaddr);
}
#endif

/**
 * mcp_arena_free_pages() - return pages to the arena
 * @m: the MCP
 * @uaddr: user address of the first page
 * @nr: how many
 *
 * Return: 0; -ENXIO if the arena is not mapped; -EINVAL unless every page
 * lies in the arena and is currently handed out.
 */
int mcp_arena_free_pages(struct mcp *m, u64 uaddr, unsigned int nr)
{
	struct mcp_arena *a = &m->arena;
	u64 base = READ_ONCE(a->r.uaddr);
	unsigned long flags, pg;

	if (!base)
		return -ENXIO;
	if (!nr || uaddr < base || (uaddr - base) % VC_PAGE_SIZE)
		return -EINVAL;
	pg = (uaddr - base) / VC_PAGE_SIZE;
	if (pg >= a->nr_pages || nr > a->nr_pages - pg)
		return -EINVAL;
	vc_lock_irqsave(&a->lock, flags);
	if (find_next_zero_bit(a->pagemap, pg + nr, pg) < pg + nr) {
		vc_unlock_irqrestore(&a->lock, flags);
		return -EINVAL;
	}
	bitmap_clear(a->pagemap, pg, nr);
	a->nr_used -= nr;
	vc_unlock_irqrestore(&a->lock, flags);
	return 0;
}
