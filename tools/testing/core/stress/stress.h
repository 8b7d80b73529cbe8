/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two halves of the stress test.  stress_core.c is the kernel: the
 * portable core on a stand-alone MCP whose regions are mapped at their own
 * addresses (so user pointers and kernel pointers coincide, as libvcore
 * needs), plus libvcore's arena page layer done the way the module does
 * it (pages from the core's page map).  stress_user.c is user space: the
 * real libvcore consumers, and the test.  They share only uapi types:
 * kmod/core/arena.h and libvcore/arena.h have the same include guard.
 */
#ifndef _STRESS_H
#define _STRESS_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/vcore.h>

/* A fresh MCP; 0 or -ENOMEM.  Its procdata is what sk_procdata() says. */
int sk_init(unsigned int max_vcores, unsigned long arena_pages);
void sk_fini(void);
struct vcore_procdata *sk_procdata(void);
unsigned long sk_arena_used(void);

/* mcp_send_event(), from any thread ("CPU"). */
void sk_send_event(uint64_t ev_q, const struct event_msg *msg,
		   uint32_t vcoreid);

/*
 * mcp_arrange(): vcores in order[], the first nr_online online, the rest
 * inactive, process RUNNING_M.
 */
void sk_arrange(const uint16_t *order, unsigned int nr_online);

/* Counters: messages sent, dropped (all reasons), spammed. */
uint64_t sk_sent(void);
uint64_t sk_dropped(void);
uint64_t sk_spams(void);
/* h_check() on the MCP: broken invariants. */
unsigned int sk_check(void);

/* Delay injection at every core access (one in rate; 0 = off). */
void sk_inject(unsigned int rate);
unsigned long sk_injected(void);
unsigned int sk_sites_hit(void);

#endif /* _STRESS_H */
