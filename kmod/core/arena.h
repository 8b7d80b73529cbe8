/* SPDX-License-Identifier: GPL-2.0 */
/* User addresses to kernel addresses, and the arena's page map. */
#ifndef _VCORE_ARENA_H
#define _VCORE_ARENA_H

#include "mcp.h"

void *mcp_translate(struct mcp *m, u64 uaddr, u64 size, u64 align);
void mcp_arena_init(struct mcp_arena *a, void *kaddr, u64 size,
		    unsigned long *pagemap);
#ifdef VCORE_TEST
u64 mcp_arena_alloc_pages(struct mcp *m, unsigned int nr, void **kaddr);
#endif
u64 mcp_arena_alloc_pages_node(struct mcp *m, unsigned int nr, int node,
			       void **kaddr);
int mcp_arena_free_pages(struct mcp *m, u64 uaddr, unsigned int nr);

#endif /* _VCORE_ARENA_H */
