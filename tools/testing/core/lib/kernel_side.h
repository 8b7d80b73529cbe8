/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel as user-space code sees it: the portable core (kmod/core/)
 * on one stand-alone MCP (hmcp.c) whose regions are mapped at their own
 * addresses, so that user pointers and kernel pointers coincide as they
 * must for libvcore, plus libvcore's arena page layer (libvcore/arena.h:
 * vcore_arena_alloc_pages() and friends) done as VCORE_IOC_ARENA_ALLOC
 * and _FREE do it, over the core's page map.
 *
 * This is the only kernel simulation: libvcore's unit tests
 * (libvcore/tests/) and the stress test (stress/) link it.  The caller's
 * side compiles against libvcore's headers, this file's against the
 * core's (kmod/core/arena.h and libvcore/arena.h share an include guard),
 * so the interface here uses uapi types only.
 *
 * The arena's page map is watched through the access hook: after every
 * change, pages the core handed out are made addressable and pages it
 * took back are poisoned (ASan; filled with 0xa5 otherwise), so a use of
 * a freed arena page is reported; and the pages in use are sampled for
 * ks_arena_peak().
 */
#ifndef _H_KERNEL_SIDE_H
#define _H_KERNEL_SIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vcore.h>

/*
 * A fresh MCP of max_vcores vcores, RUNNABLE_S, with an arena of
 * arena_pages pages; 0 or -ENOMEM.  Not thread-safe.  procdata is laid
 * out as the module lays it out: the VCPDs at sizeof(struct
 * vcore_procdata).
 */
int ks_init(unsigned int max_vcores, unsigned long arena_pages);
/* Take it down; aborts if the core leaked an allocation. */
void ks_fini(void);
struct vcore_procdata *ks_procdata(void);
struct vcore_procinfo *ks_procinfo(void);
unsigned int ks_max_vcores(void);

/* ---- the core's entry points, from any thread ("CPU") ---- */

/* mcp_send_event(): ev_q is a user address; failures are counted drops. */
void ks_send_event(uint64_t ev_q, const struct event_msg *msg,
		   uint32_t vcoreid);
/*
 * mcp_send_event_checked(), SEND_EVENT's: false (and a counted drop) if
 * ev_q is outside the process's regions.
 */
bool ks_send_event_checked(uint64_t ev_q, const struct event_msg *msg,
			   uint32_t vcoreid);
/* mcp_mbox_post(): whether the message was posted. */
bool ks_mbox_post(struct event_mbox *mbox, const struct event_msg *msg);
/* mcp_post_vcore_event(): into a VCPD mbox, then notif_pending. */
bool ks_post_vcore_event(const struct event_msg *msg, uint32_t vcoreid,
			 uint32_t ev_flags);
/*
 * The producers on their own: 0, or the drop reason (enum
 * vcore_drop_reason), not counted.  *newly_set (may be NULL): whether
 * this post set a clear bit.
 */
int ks_ucq_post(struct ucq *ucq, const struct event_msg *msg);
int ks_ceq_post(struct ceq *ceq, const struct event_msg *msg);
int ks_evbitmap_post(struct evbitmap *bm, const struct event_msg *msg,
		     bool *newly_set);

/*
 * mcp_arrange(): vcores in order[], the first nr_online online, the rest
 * inactive, process RUNNING_M.
 */
void ks_arrange(const uint16_t *order, unsigned int nr_online);

/*
 * mcp_send_kernel_event(): to the ev_q procdata's kernel_evts names for
 * msg's type, if any.
 */
void ks_send_kernel_event(const struct event_msg *msg, uint32_t vcoreid);
/* mcp_notify(): notif_pending, then the IPI if notifications are on. */
void ks_notify(uint32_t vcoreid);

/*
 * ---- the vcore lists (kmod/core/vcores.c), for a fake of the module's
 * Linux side: the calls kmod/vcore_run.c, provision.c and ioctl.c make ----
 */

/*
 * The Linux side's two hooks: notify_ipi(vcoreid) where the module sends
 * its IPI (kick.c's vcore_notify_ipi(): mcp_notify() found the vcore
 * mapped, notifications on; it may run with the core's locks held, so it
 * must take none of them), and wakeup_grant() where the module grants
 * vcores to a process EVENT_WAKEUP just woke (provision.c's
 * vcore_wakeup_grant(); never with a core lock held).  NULL for either:
 * counted, nothing more.
 */
void ks_set_linux_side(void (*notify_ipi)(uint32_t vcoreid),
		       void (*wakeup_grant)(void));

int ks_attach_vcore(uint32_t vcoreid);		/* mcp_attach_vcore() */
unsigned int ks_vcores_wanted(void);		/* mcp_vcores_wanted() */
/* mcp_grant_vcore_near() with no node: the vcore mapped, or -1. */
int ks_grant_vcore(uint32_t pcoreid);
int ks_yield_vcore(uint32_t vcoreid, bool being_nice);
int ks_preempt_vcore(uint32_t vcoreid, bool bulk);
int ks_change_vcore(uint32_t caller, uint32_t target);
bool ks_wakeup(void);				/* mcp_wakeup() */
/* The process state (VCORE_PROC_*), online vcores, one vcore's mapping. */
unsigned int ks_state(void);
unsigned int ks_num_vcores(void);
bool ks_vcore_mapped(uint32_t vcoreid);
/* A vcore's resume_vcore_ctx, under the MCP's lock. */
void ks_set_resume_vcore_ctx(uint32_t vcoreid, bool resume);
/*
 * A thread woken by a grant of pcoreid, as vcore_wait_and_enter() checks
 * it: -1 if vcoreid is not mapped there (a grant for an earlier life),
 * else its resume_vcore_ctx (0 or 1), which is cleared.
 */
int ks_take_grant(uint32_t vcoreid, uint32_t pcoreid);

/* ---- counters and checks ---- */

/* Messages sent, dropped (all reasons), spammed. */
uint64_t ks_sent(void);
uint64_t ks_dropped(void);
uint64_t ks_spams(void);
/* h_check() on the MCP: how many invariants are broken. */
unsigned int ks_check(void);

/* ---- the arena ---- */

/* Pages in use now, and the most in use at once since the reset. */
unsigned long ks_arena_used(void);
unsigned long ks_arena_peak(void);
void ks_arena_reset_peak(void);
/* vcore_arena_free_pages() calls the core refused (double frees...). */
unsigned long ks_arena_bad_frees(void);
/*
 * Let the next n vcore_arena_alloc_pages() calls succeed, then fail them
 * with ENOMEM, as a full arena would; -1: never.  The core's own page
 * allocations (UCQ pages) fail only when the arena is full.
 */
void ks_arena_fail_after(long n);
/*
 * Stop watching the page map (no poisoning, no peak from now on), for a
 * benchmark that counts what the consumers' page frees cost.
 */
void ks_arena_unwatch(void);

/* ---- delay injection at every core access (lib/hooks.h) ---- */

/* One in rate accesses; 0 turns it off. */
void ks_inject(unsigned int rate);
unsigned long ks_injected(void);
unsigned int ks_sites_hit(void);

#endif /* _H_KERNEL_SIDE_H */
