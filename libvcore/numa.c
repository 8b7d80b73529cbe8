// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * NUMA topology and placement: what procinfo says about nodes, the node
 * request (VCORE_IOC_SET_NODE), and binding libvcore's own memory (a
 * vcore's transition stack and private state, uthread stacks) to a node
 * with a preferred policy, so that a node short of memory lends another's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "internal.h"
#include "vcore_numa.h"

/* Node ids mbind() accepts from us. */
#define VC_NUMA_MAX_NODES	1024

static bool has_numa(const struct vcore_dev *dev)
{
	return dev && (dev->api.features & VCORE_FEAT_NUMA);
}

/*
 * Prefer node for the pages of [p, p + len) not yet touched; nothing
 * when the module does not say where nodes are or node is unknown.
 */
void vcore_numa_place(const struct vcore_dev *dev, void *p, size_t len,
		      int node)
{
	const unsigned int bits = 8 * sizeof(unsigned long);
	unsigned long mask[VC_NUMA_MAX_NODES / (8 * sizeof(long))] = { 0 };

	if (!has_numa(dev) || node < 0 || node >= VC_NUMA_MAX_NODES ||
	    (__u32)node >= READ_ONCE(dev->kprocinfo->nr_nodes))
		return;
	mask[node / bits] = 1UL << (node % bits);
	/* only a hint: on failure the pages go where they are touched */
	(void)mbind(p, len, MPOL_PREFERRED, mask, VC_NUMA_MAX_NODES + 1, 0);
}

int vcore_numa_nr_nodes(void)
{
	const struct vcore_dev *dev = vcore_lib_dev();

	if (!has_numa(dev))
		return dev ? 1 : -EINVAL;
	return (int)READ_ONCE(dev->kprocinfo->nr_nodes);
}

int vcore_numa_home_node(unsigned int vcoreid)
{
	const struct vcore_dev *dev = vcore_lib_dev();

	if (!has_numa(dev) || vcoreid >= vcore_max_vcores())
		return -1;
	return READ_ONCE(dev->kprocinfo->vcoremap[vcoreid].home_node);
}

int vcore_numa_node_of(unsigned int vcoreid)
{
	const struct vcore_dev *dev = vcore_lib_dev();
	int pcoreid = vcore_pcoreid(vcoreid);

	if (!has_numa(dev) || pcoreid < 0 || pcoreid >= VCORE_MAX_PCORES)
		return -1;
	return READ_ONCE(dev->kprocinfo->pcoremap[pcoreid].numa_node);
}

int vcore_numa_set_node(int node, bool strict)
{
	const struct vcore_dev *dev = vcore_lib_dev();
	struct vcore_node_req r = {
		.node = node,
		.flags = strict ? VCORE_NODE_STRICT : 0,
	};

	if (!dev)
		return -EINVAL;
	if (!has_numa(dev) || !vcore_dev_has_ioctl(dev, VCORE_IOC_NR_SET_NODE))
		return -EOPNOTSUPP;
	return ioctl(dev->fd, VCORE_IOC_SET_NODE, &r) ? -errno : 0;
}

int vcore_numa_request_on_node(int node, unsigned long nr, bool strict)
{
	int err = vcore_numa_set_node(node, strict);

	return err ? err : vcore_request_more(nr);
}

int vcore_numa_request_near(unsigned int vcoreid, unsigned long nr)
{
	int node = vcore_numa_node_of(vcoreid);

	if (node < 0)
		node = vcore_numa_home_node(vcoreid);
	return vcore_numa_request_on_node(node, nr, false);
}

/* The node the caller runs on: its vcore's pcore's, or its CPU's. */
int vcore_numa_current_node(void)
{
	int cpu = sched_getcpu();

	if (vcore_id() < vcore_max_vcores() &&
	    vcore_numa_node_of(vcore_id()) >= 0)
		return vcore_numa_node_of(vcore_id());
	return cpu < 0 || numa_available() < 0 ? -1 : numa_node_of_cpu(cpu);
}
