// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel half of the stress test; see stress.h.  The arena page
 * functions are libvcore's API (libvcore/arena.h) implemented as
 * VCORE_IOC_ARENA_ALLOC/FREE implement them in the module.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/hmcp.h"
#include "stress.h"

static struct h_mcp *H;

int sk_init(unsigned int max_vcores, unsigned long arena_pages)
{
	struct h_opts o = { .max_vcores = max_vcores,
			    .arena_pages = arena_pages, .identity = true };

	H = h_mcp_create(&o);
	return H ? 0 : -ENOMEM;
}

void sk_fini(void)
{
	h_mcp_destroy(H);
	H = NULL;
	if (h_alloc_live()) {
		h_alloc_leaks(stderr);
		abort();
	}
}

struct vcore_procdata *sk_procdata(void)
{
	return mcp_procdata(&H->m);
}

unsigned long sk_arena_used(void)
{
	unsigned long n, flags;

	vc_lock_irqsave(&H->m.arena.lock, flags);
	n = H->m.arena.nr_used;
	vc_unlock_irqrestore(&H->m.arena.lock, flags);
	return n;
}

void sk_send_event(uint64_t ev_q, const struct event_msg *msg,
		   uint32_t vcoreid)
{
	mcp_send_event(&H->m, ev_q, msg, vcoreid);
	if (h_locks_held() || h_rcu_depth() || h_irqs_disabled()) {
		fprintf(stderr, "send_event left a lock, RCU or irqs off\n");
		abort();
	}
}

void sk_arrange(const uint16_t *order, unsigned int nr_online)
{
	u8 list_of[VCORE_MAX_VCORES];
	u32 pcoreid[VCORE_MAX_VCORES];
	unsigned int i;

	for (i = 0; i < H->m.max_vcores; i++) {
		list_of[order[i]] = i < nr_online ? MCP_ONLINE : MCP_INACTIVE;
		pcoreid[order[i]] = i;
	}
	if (mcp_arrange(&H->m, VCORE_PROC_RUNNING_M, list_of, order,
			pcoreid))
		abort();
}

uint64_t sk_sent(void)
{
	return H_STAT(H, sent);
}

uint64_t sk_dropped(void)
{
	return h_drops_total(H);
}

uint64_t sk_spams(void)
{
	return H_STAT(H, spams);
}

unsigned int sk_check(void)
{
	return h_check(H);
}

void sk_inject(unsigned int rate)
{
	h_inject_set(rate);
}

unsigned long sk_injected(void)
{
	return h_inject_count();
}

unsigned int sk_sites_hit(void)
{
	return h_sites_hit();
}

/* ---- libvcore's arena page layer, over the core's page map ---------- */

int vcore_arena_contains(const void *p, size_t len);
void *vcore_arena_alloc_pages(unsigned int nr_pages);
int vcore_arena_free_pages(void *addr, unsigned int nr_pages);

int vcore_arena_contains(const void *p, size_t len)
{
	return H && mcp_translate(&H->m, (uintptr_t)p, len ? len : 1, 1) ==
		    p && (uintptr_t)p - H->arena_u < H->m.arena.r.size;
}

void *vcore_arena_alloc_pages(unsigned int nr_pages)
{
	void *k;
	u64 u;

	if (!nr_pages) {
		errno = EINVAL;
		return NULL;
	}
	u = mcp_arena_alloc_pages(&H->m, nr_pages, &k);
	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	return (void *)(uintptr_t)u;
}

int vcore_arena_free_pages(void *addr, unsigned int nr_pages)
{
	return mcp_arena_free_pages(&H->m, (uintptr_t)addr, nr_pages);
}
