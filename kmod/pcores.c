// SPDX-License-Identifier: GPL-2.0
/*
 * The pcores: the CPUs the module may grant to vcores, chosen at load time
 * and fixed until unload, and their topology.  Who holds which one is
 * provisioning's business (provision.c).  CPU ids at or above VCORE_MAX_PCORES cannot be
 * published in procinfo and so are never managed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/elf.h>
#include <linux/regset.h>
#include <linux/sched.h>
#include <linux/nodemask.h>
#include <linux/topology.h>
#include <linux/vcore.h>
#include <asm/tsc.h>

#include "pcores.h"

static struct cpumask managed;
static unsigned int fp_state_size;

/* Bytes of the XSAVE regset, as ptrace and a preemption would save it. */
static unsigned int xstate_regset_size(void)
{
	const struct user_regset_view *view = task_user_regset_view(current);
	unsigned int i;

	for (i = 0; i < view->n; i++) {
		const struct user_regset *rs = &view->regsets[i];

		if (rs->core_note_type == NT_X86_XSTATE)
			return rs->n * rs->size;
	}
	return 0;
}

/**
 * vcore_pcores_init() - choose the managed CPUs
 * @cpulist: a cpulist ("1-3,6"), or NULL for every online CPU but CPU 0
 *
 * Return: 0, or -EINVAL for a list that does not parse, names an offline
 * CPU or one at or above VCORE_MAX_PCORES, or is empty.
 */
int vcore_pcores_init(const char *cpulist)
{
	unsigned int cpu;

	if (cpulist) {
		if (cpulist_parse(cpulist, &managed)) {
			pr_err("cpus=%s does not parse\n", cpulist);
			return -EINVAL;
		}
		if (!cpumask_subset(&managed, cpu_online_mask)) {
			pr_err("cpus=%s names an offline CPU\n", cpulist);
			return -EINVAL;
		}
	} else {
		cpumask_copy(&managed, cpu_online_mask);
		if (cpumask_weight(&managed) > 1)
			cpumask_clear_cpu(0, &managed);
	}
	for_each_cpu(cpu, &managed) {
		if (cpu >= VCORE_MAX_PCORES) {
			if (cpulist) {
				pr_err("CPU %u is above the limit of %d\n",
				       cpu, VCORE_MAX_PCORES);
				return -EINVAL;
			}
			cpumask_clear_cpu(cpu, &managed);
		}
	}
	if (cpumask_empty(&managed)) {
		pr_err("no CPU to manage\n");
		return -EINVAL;
	}

	fp_state_size = xstate_regset_size();
	if (fp_state_size > VCORE_FP_STATE_SIZE) {
		pr_warn("XSAVE state of %u bytes exceeds the VCPD's %d\n",
			fp_state_size, VCORE_FP_STATE_SIZE);
		fp_state_size = 0;
	}
	return 0;
}

unsigned int vcore_pcores_nr_managed(void)
{
	return min_t(unsigned int, cpumask_weight(&managed), VCORE_MAX_VCORES);
}

/* The k-th managed CPU, wrapping around. */
unsigned int vcore_pcores_nth(unsigned int k)
{
	unsigned int cpu, i = 0;

	k %= cpumask_weight(&managed);
	for_each_cpu(cpu, &managed)
		if (i++ == k)
			return cpu;
	return cpumask_first(&managed);
}

/* How many CPU ids procinfo's pcoremap describes. */
unsigned int vcore_pcores_nr_ids(void)
{
	return min_t(unsigned int, nr_cpu_ids, VCORE_MAX_PCORES);
}

/* XSAVE bytes saved at preemption; 0 if the VCPD cannot hold them. */
unsigned int vcore_pcores_fp_state_size(void)
{
	return fp_state_size;
}

/* The managed CPUs. */
const struct cpumask *vcore_pcores_mask(void)
{
	return &managed;
}

/* Whether any managed CPU is on @node (a valid node id, or not). */
bool vcore_pcores_node_managed(int node)
{
	unsigned int cpu;

	if (node < 0 || node >= nr_node_ids)
		return false;
	for_each_cpu(cpu, &managed)
		if (cpu_to_node(cpu) == node)
			return true;
	return false;
}

/* The nodes the managed CPUs are on. */
void vcore_pcores_nodes(nodemask_t *nodes)
{
	unsigned int cpu;

	nodes_clear(*nodes);
	for_each_cpu(cpu, &managed)
		if (cpu_to_node(cpu) >= 0)
			node_set(cpu_to_node(cpu), *nodes);
}

/*
 * Where vcore @vcoreid's VCPD lives: the node of the managed CPU it would
 * get if every vcore took the managed CPUs in order, so that a process
 * using all of them finds each VCPD local (grants prefer that match).
 */
int vcore_pcores_home_node(unsigned int vcoreid)
{
	return cpu_to_node(vcore_pcores_nth(vcoreid));
}

/* Publish the managed set and its topology in a new procinfo. */
void vcore_pcores_fill_procinfo(struct vcore_procinfo *pi)
{
	unsigned int cpu, nr = vcore_pcores_nr_ids();

	pi->nr_pcores = nr;
	pi->nr_nodes = nr_node_ids;
	pi->tsc_freq = (u64)tsc_khz * 1000;
	for (cpu = 0; cpu < nr; cpu++) {
		struct vcore_pcoremap_entry *e = &pi->pcoremap[cpu];

		e->managed = cpumask_test_cpu(cpu, &managed);
		e->numa_node = cpu_possible(cpu) ? cpu_to_node(cpu) : -1;
		if (cpu_possible(cpu)) {
			e->package_id = topology_physical_package_id(cpu);
			e->core_id = topology_core_id(cpu);
		}
	}
}
