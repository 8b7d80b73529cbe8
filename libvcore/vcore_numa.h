/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvcore: NUMA topology and placement (needs -lnuma).
 *
 * The module puts each vcore's VCPD (its saved contexts, flags and
 * mailboxes) on the vcore's home node, which procinfo publishes, and grants
 * prefer a pcore on that node.  libvcore places the vcore's transition
 * stack and its private state there too.  These calls work after
 * vcore_lib_init(); they return -EOPNOTSUPP when the module lacks
 * VCORE_FEAT_NUMA.
 */
#ifndef _VCORE_NUMA_H
#define _VCORE_NUMA_H

#include "vcore_ctx.h"
#include "uthread.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Node ids are below this (procinfo.nr_nodes); 1 without NUMA support. */
int vcore_numa_nr_nodes(void);

/* The node vcoreid's VCPD and transition stack live on, or -1. */
int vcore_numa_home_node(unsigned int vcoreid);

/* The node of vcoreid's current pcore, or -1 when it is not online. */
int vcore_numa_node_of(unsigned int vcoreid);

/*
 * Where the next grants take pcores (VCORE_IOC_SET_NODE): node -1 for the
 * default (a node the process already uses), else that node first, or
 * only that node with strict.  0 or a negative errno: -EINVAL for a node
 * without managed pcores.
 */
int vcore_numa_set_node(int node, bool strict);

/*
 * nr more vcores, on node (set_node(node, strict), then
 * vcore_request_more(nr)).  The node request stays for later grants until
 * changed.  Returns what vcore_request_more() does, or a negative errno.
 */
int vcore_numa_request_on_node(int node, unsigned long nr, bool strict);

/* nr more vcores, preferably on the node vcoreid runs on (or its home). */
int vcore_numa_request_near(unsigned int vcoreid, unsigned long nr);

/*
 * vcore_uthread_create() with the stack on node (-1: the node of the calling
 * vcore's pcore, or of the calling thread's CPU).
 */
struct uthread *vcore_uthread_create_on_node(void *(*fn)(void *), void *arg,
				       int node);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_NUMA_H */
