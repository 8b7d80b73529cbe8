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

/* Publish the managed set and its topology in a new procinfo. */
void vcore_pcores_fill_procinfo(struct vcore_procinfo *pi)
{
	unsigned int cpu, nr = vcore_pcores_nr_ids();

	pi->nr_pcores = nr;
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

/**
 * vcore_pcores_claim() - take a free managed pcore for @who
 * @who: the new owner
 *
 * Any context.  Return: the CPU, or -1 if none is free.
 */
int vcore_pcores_claim(const void *who)
{
	unsigned long flags;
	unsigned int cpu;
	int ret = -1;

	spin_lock_irqsave(&owners_lock, flags);
	/* a pcore kept for us first, then any */
	for_each_cpu(cpu, &managed) {
		if (!owner[cpu] && reserved_for[cpu] == who) {
			ret = cpu;
			break;
		}
	}
	if (ret < 0)
		for_each_cpu(cpu, &managed) {
			if (claimable(cpu, who)) {
				ret = cpu;
				break;
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
