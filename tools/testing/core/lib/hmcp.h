/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A stand-alone MCP for the harness, built as kmod/proc.c builds one
 * (the object, the vcore array, procinfo, procdata, then the arena as
 * VCORE_IOC_SETUP does) but without a process: the regions are guarded
 * vmalloc_user() memory from the counting allocator and "mapped" at fake
 * user addresses, recorded where the module's mmap records them.
 *
 * By default the user addresses are far from the kernel ones and the
 * regions sit back to back in user space (procinfo, procdata, arena), so
 * a core that used a user address directly faults, and an object that
 * straddles two regions is a real case.  identity maps each region at its
 * own kernel address, for running libvcore's consumers against the core.
 *
 * The test-side helpers below play user space: they build ev_qs and
 * mailboxes in the arena the way libvcore does, and translate addresses
 * with their own arithmetic, not the core's.
 */
#ifndef _H_HMCP_H
#define _H_HMCP_H

#include "../env.h"
#include "arena.h"
#include "event.h"
#include "mbox.h"
#include "vcores.h"

#define H_UBASE		0x00005a0000000000ULL	/* fake user addresses */
#define H_UAPART	(1ULL << 30)		/* gap with opts.apart */

struct h_opts {
	unsigned int max_vcores;	/* 1 .. VCORE_MAX_VCORES */
	unsigned int nr_pcores;		/* 0: as many as max_vcores */
	unsigned long arena_pages;	/* 0: no arena */
	bool identity;			/* user address == kernel address */
	bool apart;			/* a gap between the regions */
};

struct h_mcp {
	struct mcp m;
	size_t procinfo_size;
	u64 procinfo_u;			/* where procinfo "is" for user */
	u64 procdata_u;			/* where procdata and the arena are */
	u64 arena_u;			/*   mapped, also while unmapped */
	/* a bump allocator over arena pages, for test objects */
	char *obj_k;
	size_t obj_left;
};

enum h_region { H_PROCINFO, H_PROCDATA, H_ARENA };

/* NULL when an allocation fails (everything undone) or opts are bad. */
struct h_mcp *h_mcp_create(const struct h_opts *o);
void h_mcp_destroy(struct h_mcp *h);

/* Unmap (translations fail) and map again, as munmap/mmap would. */
void h_unmap(struct h_mcp *h, enum h_region r);
void h_remap(struct h_mcp *h, enum h_region r);

/* User <-> kernel addresses by the harness's own arithmetic. */
void *h_u2k(struct h_mcp *h, u64 uaddr, u64 size);
/* The same for what user space may write: procdata and the arena only. */
void *h_u2k_rw(struct h_mcp *h, u64 uaddr, u64 size, u64 align);
u64 h_k2u(struct h_mcp *h, const void *k);

/* A zeroed object in the arena, 64-byte aligned; aborts when full. */
void *h_obj(struct h_mcp *h, size_t size, u64 *uaddr);
/* nr zeroed arena pages from the core's page map; aborts when full. */
void *h_pages(struct h_mcp *h, unsigned int nr, u64 *uaddr);

/* Mailboxes set up as libvcore does, type published last. */
void h_ucq_init(struct h_mcp *h, struct ucq *ucq, bool spare);
void h_ceq_init(struct h_mcp *h, struct ceq *ceq, u8 op, u32 nr_events,
		u32 ring_sz);
/* mbox_type EV_MBOX_*; a CEQ gets CEQ_OR, 64 events, a ring of 64. */
void h_mbox_init(struct h_mcp *h, struct event_mbox *mbox, u32 type);
/* Every VCPD's public and private mbox as a UCQ with a spare page. */
void h_vcpd_mboxes_init(struct h_mcp *h);

/*
 * An ev_q in the arena.  mbox_type 0: ev_mbox 0 (the VCPD mboxes); else a
 * big ev_q with its own mbox of that type.
 */
struct event_queue *h_evq(struct h_mcp *h, u32 flags, u32 vcore,
			  u32 mbox_type, u64 *uaddr);
struct event_mbox *h_evq_mbox(struct h_mcp *h, struct event_queue *evq);

static inline struct vcore_preempt_data *h_vcpd(struct h_mcp *h, u32 v)
{
	return mcp_vcpd(&h->m, v);
}

/*
 * Arrange the lists from a spec: "O:2,0 B:1 I:3" puts 2 then 0 online,
 * 1 bulk-preempted, 3 inactive (heads first).  Every vcore must appear.
 */
void h_arrange(struct h_mcp *h, unsigned int state, const char *spec);

/* The list a vcore is on (MCP_ONLINE ..), and a list as "2,0" text. */
int h_list_of(struct h_mcp *h, unsigned int vcoreid);
const char *h_list_str(struct h_mcp *h, int which, char *buf, size_t len);

/*
 * The invariants every core operation must keep; prints what is broken
 * and returns how many: each vcore on exactly one list, list links
 * consistent, mapped == online, num_vcores, state, procinfo's mirror and
 * even coremap_seq, the arena's page count, no lock held, RCU sections
 * and interrupts balanced.
 */
unsigned int h_check(struct h_mcp *h);

/* Stats shorthand */
#define H_DROPS(h, why)	((u64)atomic64_read(&(h)->m.stats.dropped[why]))
#define H_STAT(h, f)	((u64)atomic64_read(&(h)->m.stats.f))
u64 h_drops_total(struct h_mcp *h);

#endif /* _H_HMCP_H */
