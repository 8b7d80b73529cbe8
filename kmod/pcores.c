// SPDX-License-Identifier: GPL-2.0
/*
 * The pcores: the CPUs the module may grant to vcores, chosen at load time
 * and fixed until unload.  CPU ids at or above VCORE_MAX_PCORES cannot be
 * published in procinfo and so are never managed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/elf.h>
#include <linux/regset.h>
#include <linux/sched.h>
#include <linux/jiffies.h>
#include <linux/nodemask.h>
#include <linux/spinlock.h>
#include <linux/topology.h>
#include <linux/vcore.h>
#ifdef CONFIG_X86
#include <asm/tsc.h>
#endif

#include "pcores.h"

static struct cpumask managed;
static unsigned int fp_state_size;

/*
 * Who holds each managed pcore: an opaque owner (the MCP), or NULL.  A
 * free pcore may be reserved for a while for the owner it was taken
 * from another for (the provisioning policy's hand-off), for
 * VCORE_RESERVE_JIFFIES.
 */
static DEFINE_SPINLOCK(owners_lock);
static const void *owner[VCORE_MAX_PCORES];
static const void *reserved_for[VCORE_MAX_PCORES];
static unsigned long reserved_until[VCORE_MAX_PCORES];

static bool claimable(unsigned int cpu, const void *who)
{
	return !owner[cpu] &&
	       (!reserved_for[cpu] || reserved_for[cpu] == who ||
		time_after(jiffies, reserved_until[cpu]));
}

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
#ifdef CONFIG_X86
	pi->tsc_freq = (u64)tsc_khz * 1000;
#endif
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

/* The nodes of the pcores @who holds. */
static void __held_nodes(const void *who, nodemask_t *used)
	__must_hold(&owners_lock)
{
	unsigned int cpu;

	nodes_clear(*used);
	for_each_cpu(cpu, &managed)
		if (owner[cpu] == who && cpu_to_node(cpu) >= 0)
			node_set(cpu_to_node(cpu), *used);
}

/**
 * vcore_pcores_claim() - take a free managed pcore for @who
 * @who: the new owner
 * @node: the node to prefer, or -1
 * @strict: only a pcore on @node will do
 *
 * Among the free pcores: one on @node first, then one kept for @who by a
 * hand-off, then one on a node @who already holds pcores on, then any;
 * ties go to the lowest CPU id.  Any context.
 *
 * Return: the CPU, or -1 if none is free (on @node, when @strict).
 */
int vcore_pcores_claim(const void *who, int node, bool strict)
{
	unsigned int cpu, score, best_score = 0;
	unsigned long flags;
	nodemask_t used;
	int ret = -1;

	spin_lock_irqsave(&owners_lock, flags);
	__held_nodes(who, &used);
	for_each_cpu(cpu, &managed) {
		int cn = cpu_to_node(cpu);

		if (!claimable(cpu, who) || (strict && cn != node))
			continue;
		score = 1;
		if (node >= 0 && cn == node)
			score += 8;
		if (reserved_for[cpu] == who)
			score += 4;
		if (cn >= 0 && node_isset(cn, used))
			score += 2;
		if (score > best_score) {
			best_score = score;
			ret = cpu;
		}
	}
	if (ret >= 0) {
		owner[ret] = who;
		reserved_for[ret] = NULL;
	}
	spin_unlock_irqrestore(&owners_lock, flags);
	return ret;
}

/*
 * Give back @cpu if @who holds it, kept for @next (if not NULL) for a
 * tenth of a second.  Any context.
 */
void vcore_pcores_release(unsigned int cpu, const void *who, const void *next)
{
	unsigned long flags;

	if (cpu >= VCORE_MAX_PCORES)
		return;
	spin_lock_irqsave(&owners_lock, flags);
	if (owner[cpu] == who) {
		owner[cpu] = NULL;
		reserved_for[cpu] = next;
		reserved_until[cpu] = jiffies + VCORE_RESERVE_JIFFIES;
	}
	spin_unlock_irqrestore(&owners_lock, flags);
}

/* Give back every pcore @who holds. */
void vcore_pcores_release_all(const void *who)
{
	unsigned long flags;
	unsigned int cpu;

	spin_lock_irqsave(&owners_lock, flags);
	for (cpu = 0; cpu < VCORE_MAX_PCORES; cpu++) {
		if (owner[cpu] == who)
			owner[cpu] = NULL;
		if (reserved_for[cpu] == who)
			reserved_for[cpu] = NULL;
	}
	spin_unlock_irqrestore(&owners_lock, flags);
}
