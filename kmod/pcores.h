/* SPDX-License-Identifier: GPL-2.0 */
/* The set of CPUs (pcores) the module manages. */
#ifndef _VCORE_PCORES_H
#define _VCORE_PCORES_H

#include <linux/jiffies.h>
#include <linux/nodemask.h>
#include <linux/types.h>

/* How long a pcore freed for another MCP is kept for it. */
#define VCORE_RESERVE_JIFFIES	(HZ / 10)

struct vcore_procinfo;

int vcore_pcores_init(const char *cpulist);
unsigned int vcore_pcores_nr_managed(void);
unsigned int vcore_pcores_nr_ids(void);
unsigned int vcore_pcores_nth(unsigned int k);
unsigned int vcore_pcores_fp_state_size(void);
void vcore_pcores_fill_procinfo(struct vcore_procinfo *pi);
bool vcore_pcores_node_managed(int node);
void vcore_pcores_nodes(nodemask_t *nodes);
int vcore_pcores_home_node(unsigned int vcoreid);
int vcore_pcores_claim(const void *who, int node, bool strict);
void vcore_pcores_release(unsigned int cpu, const void *who,
			  const void *next);
void vcore_pcores_release_all(const void *who);

#endif /* _VCORE_PCORES_H */
