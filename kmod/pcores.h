/* SPDX-License-Identifier: GPL-2.0 */
/* The set of CPUs (pcores) the module manages. */
#ifndef _VCORE_PCORES_H
#define _VCORE_PCORES_H

#include <linux/cpumask.h>
#include <linux/nodemask.h>
#include <linux/types.h>

struct vcore_procinfo;

int vcore_pcores_init(const char *cpulist);
unsigned int vcore_pcores_nr_managed(void);
unsigned int vcore_pcores_nr_ids(void);
unsigned int vcore_pcores_nth(unsigned int k);
unsigned int vcore_pcores_fp_state_size(void);
void vcore_pcores_fill_procinfo(struct vcore_procinfo *pi);
const struct cpumask *vcore_pcores_mask(void);
bool vcore_pcores_node_managed(int node);
void vcore_pcores_nodes(nodemask_t *nodes);
int vcore_pcores_home_node(unsigned int vcoreid);

#endif /* _VCORE_PCORES_H */
