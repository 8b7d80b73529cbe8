// SPDX-License-Identifier: GPL-2.0
/*
 * NUMA: procinfo's topology against sysfs, where the module puts each
 * VCPD, arena pages asked for on a node and the pages it links into a
 * UCQ, where libvcore puts transition and uthread stacks, and grants
 * under VCORE_IOC_SET_NODE (constrained to a node, near a vcore, the
 * default policy's preference for nodes in use) with its refusals.
 * Placement is read back with move_pages(2) (no target nodes: it only
 * reports) and get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR).  The node tests
 * skip on a machine with fewer than two nodes of managed pcores.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <numaif.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"
#include "arena.h"
#include "event.h"
#include "ucq.h"
#include "uthread.h"
#include "vcore.h"
#include "vcore_ctx.h"
#include "vcore_numa.h"

static struct vcore_dev dev;
static volatile int entered_cpu[VCORE_MAX_VCORES];
static void *volatile stack_addr[VCORE_MAX_VCORES];

/* The node a mapped, present page of ours is on, or -errno. */
static int page_node(const void *p)
{
	void *pg = (void *)((uintptr_t)p & ~(uintptr_t)4095);
	int status = -1;

	if (move_pages(0, 1, &pg, NULL, &status, 0))
		return -errno;
	return status;
}

/* The node get_mempolicy() names for the page at p, or -errno. */
static int policy_node(const void *p)
{
	int node = -1;

	if (get_mempolicy(&node, NULL, 0, (void *)p,
			  MPOL_F_NODE | MPOL_F_ADDR))
		return -errno;
	return node;
}

static int sysfs_int(const char *fmt, unsigned int cpu)
{
	char path[256];
	FILE *f;
	int v = -1;

	snprintf(path, sizeof(path), fmt, cpu);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* The node sysfs links cpu to (cpuN/nodeM), or -1. */
static int sysfs_cpu_node(unsigned int cpu)
{
	char path[64];
	struct dirent *d;
	int node = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u", cpu);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (sscanf(d->d_name, "node%d", &node) == 1)
			break;
	closedir(dir);
	return node;
}

/* Highest possible node + 1, from /sys/devices/system/node/possible. */
static int sysfs_nr_node_ids(void)
{
	FILE *f = fopen("/sys/devices/system/node/possible", "r");
	char buf[256], *p;
	int last = -1;

	if (!f)
		return 1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (p = buf; *p; p++)
		if (*p >= '0' && *p <= '9' && (p == buf || p[-1] < '0' ||
					       p[-1] > '9'))
			last = atoi(p);
	return last + 1;
}

static int open_dev(struct __test_metadata *_metadata)
{
	int err = vcore_dev_open(&dev);

	if (err == -ENOENT)
		SKIP(return -1, "no /dev/vcore");
	ASSERT_EQ(0, err);
	if (!(dev.api.features & VCORE_FEAT_NUMA))
		SKIP(return -1, "module without VCORE_FEAT_NUMA");
	return 0;
}

/* Managed CPUs in id order, and the nodes that have some. */
static unsigned int managed_cpus(int *cpus, unsigned long *nodes)
{
	const struct vcore_procinfo *pi = dev.kprocinfo;
	unsigned int cpu, n = 0;

	*nodes = 0;
	for (cpu = 0; cpu < pi->nr_pcores; cpu++) {
		if (!pi->pcoremap[cpu].managed)
			continue;
		cpus[n++] = cpu;
		if (pi->pcoremap[cpu].numa_node >= 0 &&
		    pi->pcoremap[cpu].numa_node < 64)
			*nodes |= 1UL << pi->pcoremap[cpu].numa_node;
	}
	return n;
}

static int cpu_node(int cpu)
{
	return cpu < 0 ? -1 : dev.kprocinfo->pcoremap[cpu].numa_node;
}

static void vcore_main(void)
{
	unsigned int v = vcore_id();
	int here;

	stack_addr[v] = (void *)&here;
	here = sched_getcpu();
	__atomic_store_n(&entered_cpu[v], here + 1, __ATOMIC_RELEASE);
	for (;;)
		sched_yield();
}

static int start_lib(struct __test_metadata *_metadata)
{
	unsigned int v;

	for (v = 0; v < VCORE_MAX_VCORES; v++)
		entered_cpu[v] = 0;
	ASSERT_EQ(0, vcore_lib_init(&dev, vcore_main));
	return 0;
}

/* Wait until the number of vcores that entered reaches want. */
static int wait_entered(unsigned int want)
{
	unsigned int v, n, i;

	for (i = 0; i < 2000 * vt_time_scale(); i++) {
		for (v = n = 0; v < dev.api.max_vcores; v++)
			n += !!__atomic_load_n(&entered_cpu[v],
					       __ATOMIC_ACQUIRE);
		if (n >= want)
			return n;
		usleep(5000);
	}
	return n;
}

/* The vcores that entered and are not in seen yet, as a bitmask. */
static unsigned long long new_vcores(unsigned long long seen)
{
	unsigned long long m = 0;
	unsigned int v;

	for (v = 0; v < dev.api.max_vcores && v < 64; v++)
		if (entered_cpu[v] && !(seen & (1ULL << v)))
			m |= 1ULL << v;
	return m;
}

TEST(topology_matches_sysfs)
{
	const struct vcore_procinfo *pi;
	unsigned int cpu, checked = 0;

	if (open_dev(_metadata))
		return;
	pi = dev.kprocinfo;
	EXPECT_EQ(sysfs_nr_node_ids(), (int)pi->nr_nodes);
	for (cpu = 0; cpu < pi->nr_pcores; cpu++) {
		const struct vcore_pcoremap_entry *e = &pi->pcoremap[cpu];
		int pkg = sysfs_int("/sys/devices/system/cpu/cpu%u/topology/physical_package_id", cpu);
		int core = sysfs_int("/sys/devices/system/cpu/cpu%u/topology/core_id", cpu);

		if (pkg < 0)
			continue;	/* not present */
		EXPECT_EQ(sysfs_cpu_node(cpu), e->numa_node)
			TH_LOG("cpu %u", cpu);
		EXPECT_EQ(pkg, (int)e->package_id) TH_LOG("cpu %u", cpu);
		EXPECT_EQ(core, (int)e->core_id) TH_LOG("cpu %u", cpu);
		EXPECT_LT(e->numa_node, (int)pi->nr_nodes);
		checked++;
	}
	EXPECT_GT(checked, 0);
	TH_LOG("%u CPUs, %u node ids", checked, pi->nr_nodes);
}

/* Each VCPD's hot part on its home node, homes striped over managed CPUs. */
TEST(vcpd_on_home_node)
{
	int cpus[VCORE_MAX_PCORES];
	unsigned long nodes;
	unsigned int v, n;

	if (open_dev(_metadata))
		return;
	n = managed_cpus(cpus, &nodes);
	ASSERT_GT(n, 0);
	for (v = 0; v < dev.api.max_vcores; v++) {
		struct vcore_preempt_data *vcpd = vcore_dev_vcpd(&dev, v);
		int home = dev.kprocinfo->vcoremap[v].home_node;

		EXPECT_EQ(cpu_node(cpus[v % n]), home) TH_LOG("vcore %u", v);
		EXPECT_EQ(home, page_node(&vcpd->vcore_ctx))
			TH_LOG("vcore %u", v);
		EXPECT_EQ(home, page_node(&vcpd->ev_mbox_private + 1) )
			TH_LOG("vcore %u", v);
		EXPECT_EQ(home, page_node((char *)(vcpd + 1) - 1))
			TH_LOG("vcore %u", v);
	}
}

TEST(arena_pages_on_node)
{
	struct vcore_arena_alloc a = { .nr_pages = 1 };
	int cpus[VCORE_MAX_PCORES], node;
	unsigned long nodes;

	if (open_dev(_metadata))
		return;
	managed_cpus(cpus, &nodes);
	ASSERT_EQ(0, vcore_arena_setup(&dev, 1 << 20));
	for (node = 0; node < 64; node++) {
		void *p;

		if (!(nodes & (1UL << node)))
			continue;
		p = vcore_arena_alloc_pages_node(2, node);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(node, page_node(p));
		EXPECT_EQ(node, page_node((char *)p + 4096));
	}
	/* refusals */
	a.flags = VCORE_ARENA_NODE;
	a.node = (int)dev.kprocinfo->nr_nodes;
	EXPECT_EQ(-EINVAL, vt_ioctl(dev.fd, VCORE_IOC_ARENA_ALLOC, &a));
	a.node = -1;
	EXPECT_EQ(-EINVAL, vt_ioctl(dev.fd, VCORE_IOC_ARENA_ALLOC, &a));
	a.flags = 0;
	a.node = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(dev.fd, VCORE_IOC_ARENA_ALLOC, &a));
	a.flags = 2;
	a.node = 0;
	EXPECT_EQ(-EINVAL, vt_ioctl(dev.fd, VCORE_IOC_ARENA_ALLOC, &a));
	a.flags = VCORE_ARENA_NODE;
	a.resv = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(dev.fd, VCORE_IOC_ARENA_ALLOC, &a));
	a.resv = 0;
	a.flags = 0;
	a.addr = (uintptr_t)vcore_arena_alloc_pages(1);
	a.node = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(dev.fd, VCORE_IOC_ARENA_FREE, &a));
}

/* A page the kernel links into a VCPD mbox's UCQ: on the VCPD's node. */
TEST(ucq_pages_follow_the_mbox)
{
	unsigned int vs[2] = { 0, 0 }, i, k;

	if (open_dev(_metadata))
		return;
	ASSERT_EQ(0, vcore_arena_setup(&dev, 1 << 20));
	vs[1] = dev.api.max_vcores - 1;
	for (i = 0; i < 2; i++) {
		struct vcore_preempt_data *vcpd = vcore_dev_vcpd(&dev, vs[i]);
		struct ucq *ucq = &vcpd->ev_mbox_private.ucq;
		int home = dev.kprocinfo->vcoremap[vs[i]].home_node;
		/* the first page from the other end of the arena's nodes */
		void *pg1 = vcore_arena_alloc_pages_node(1, (int)
			dev.kprocinfo->vcoremap[vs[1 - i]].home_node);
		void *pg2 = vcore_arena_alloc_pages(1);
		struct vcore_self_notify sn = {
			.vcoreid = vs[i],
			.flags = VCORE_SELF_NOTIFY_PRIVATE,
			.msg.ev_type = EV_FREE_APPLE_PIE,
		};
		struct ucq_page *first = pg1;
		void *linked;

		if (i && vs[1] == vs[0])
			break;
		ASSERT_NE(NULL, pg1);
		ASSERT_NE(NULL, pg2);
		vcpd->ev_mbox_private.type = EV_MBOX_UCQ;
		ASSERT_EQ(0, vcore_ucq_init_raw(ucq, pg1, pg2));
		/* no spare: the kernel must take a page from the arena */
		__atomic_exchange_n(&ucq->spare_pg, 0, __ATOMIC_SEQ_CST);
		for (k = 0; k < VCORE_UCQ_SLOTS_PER_PAGE + 4; k++)
			ASSERT_EQ(0, vt_ioctl(dev.fd, VCORE_IOC_SELF_NOTIFY,
					      &sn));
		linked = (void *)(uintptr_t)
			__atomic_load_n(&first->header.cons_next_pg,
					__ATOMIC_ACQUIRE);
		ASSERT_NE(NULL, linked);
		EXPECT_EQ(1, (int)ucq->nr_extra_pgs);
		EXPECT_EQ(home, page_node(linked)) TH_LOG("vcore %u", vs[i]);
	}
}

/* libvcore's transition stacks on the home node, uthread stacks as asked. */
TEST(libvcore_stacks_on_node)
{
	unsigned int v;
	int got;

	if (open_dev(_metadata) || start_lib(_metadata))
		return;
	ASSERT_LE(0, vcore_request_total(dev.api.max_vcores));
	got = wait_entered(dev.api.max_vcores);
	ASSERT_EQ((int)dev.api.max_vcores, got);
	for (v = 0; v < dev.api.max_vcores; v++) {
		EXPECT_EQ(vcore_numa_home_node(v),
			  policy_node(stack_addr[v])) TH_LOG("vcore %u", v);
		EXPECT_EQ(vcore_numa_home_node(v), page_node(stack_addr[v]))
			TH_LOG("vcore %u", v);
	}
}

static volatile int uth_go;

static void *uth_where(void *arg)
{
	int here = 0;

	(void)arg;
	/*
	 * Stay runnable until every uthread exists: a uthread made runnable
	 * after the last vcore yielded is not run (the process is WAITING).
	 */
	while (!uth_go)
		vcore_uthread_yield();
	return (void *)(intptr_t)policy_node(&here);
}

TEST(uthread_stack_on_node)
{
	struct uthread *u[64] = { NULL };
	int cpus[VCORE_MAX_PCORES], node;
	unsigned long nodes;

	if (open_dev(_metadata))
		return;
	managed_cpus(cpus, &nodes);
	ASSERT_EQ(0, vcore_arena_setup(&dev, 4 << 20));
	ASSERT_EQ(0, vcore_uthread_lib_init(&dev));
	for (node = 0; node < 64; node++) {
		if (!(nodes & (1UL << node)))
			continue;
		u[node] = vcore_uthread_create_on_node(uth_where, NULL, node);
		ASSERT_NE(NULL, u[node]);
	}
	uth_go = 1;
	for (node = 0; node < 64; node++) {
		void *ret = NULL;

		if (!u[node])
			continue;
		ASSERT_EQ(0, vcore_uthread_join(u[node], &ret));
		EXPECT_EQ(node, (int)(intptr_t)ret);
	}
}

static int set_node(int node, unsigned int flags)
{
	struct vcore_node_req r = { .node = node, .flags = flags };

	return vt_ioctl(dev.fd, VCORE_IOC_SET_NODE, &r);
}

TEST(set_node_refusals)
{
	struct vcore_node_req r = { .node = 0 };
	int cpus[VCORE_MAX_PCORES], node;
	unsigned long nodes;

	if (open_dev(_metadata))
		return;
	managed_cpus(cpus, &nodes);
	EXPECT_EQ(-EINVAL, set_node((int)dev.kprocinfo->nr_nodes, 0));
	EXPECT_EQ(-EINVAL, set_node(-2, 0));
	EXPECT_EQ(-EINVAL, set_node(-1, VCORE_NODE_STRICT));
	EXPECT_EQ(-EINVAL, set_node(cpu_node(cpus[0]), 2));
	r.node = cpu_node(cpus[0]);
	r.resv[2] = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(dev.fd, VCORE_IOC_SET_NODE, &r));
	EXPECT_EQ(0, set_node(cpu_node(cpus[0]), VCORE_NODE_STRICT));
	EXPECT_EQ(0, set_node(-1, 0));
	/* an online node without a managed pcore, if there is one */
	for (node = 0; node < (int)dev.kprocinfo->nr_nodes && node < 64;
	     node++) {
		char path[64];

		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d",
			 node);
		if (!(nodes & (1UL << node)) && !access(path, F_OK))
			EXPECT_EQ(-EINVAL, set_node(node, 0))
				TH_LOG("node %d", node);
	}
}

/* Two nodes with managed pcores, or SKIP. */
static int need_two_nodes(struct __test_metadata *_metadata,
			  unsigned long *nodes)
{
	int cpus[VCORE_MAX_PCORES];

	managed_cpus(cpus, nodes);
	if (__builtin_popcountl(*nodes) < 2)
		SKIP(return -1, "fewer than two nodes have managed pcores");
	return 0;
}

/* A request constrained to a node gets a pcore there, homed there. */
TEST(strict_node_is_honoured)
{
	unsigned long long seen = 0, m;
	unsigned long nodes;
	int node, v;

	if (open_dev(_metadata) || need_two_nodes(_metadata, &nodes) ||
	    start_lib(_metadata))
		return;
	for (node = 63; node >= 0; node--) {
		if (!(nodes & (1UL << node)))
			continue;
		ASSERT_LE(0, vcore_numa_request_on_node(node, 1, true));
		ASSERT_LE(1, wait_entered(__builtin_popcountll(seen) + 1));
		m = new_vcores(seen);
		ASSERT_EQ(1, __builtin_popcountll(m));
		v = __builtin_ctzll(m);
		seen |= m;
		EXPECT_EQ(node, cpu_node(entered_cpu[v] - 1))
			TH_LOG("vcore %d on cpu %d", v, entered_cpu[v] - 1);
		EXPECT_EQ(node, vcore_numa_node_of(v));
		EXPECT_EQ(node, vcore_numa_home_node(v));
	}
}

/*
 * Near a vcore: on its node while that node has a free pcore.  With no
 * node asked for, a grant prefers a node the process already holds.
 */
TEST(near_and_default_prefer_used_nodes)
{
	int cpus[VCORE_MAX_PCORES], node = -1, best = 0, first, v;
	unsigned long nodes;
	unsigned long long m;
	unsigned int i, n;

	if (open_dev(_metadata) || need_two_nodes(_metadata, &nodes))
		return;
	n = managed_cpus(cpus, &nodes);
	/* the node with the most managed pcores, at least three of them */
	for (i = 0; i < n; i++) {
		int c = 0;
		unsigned int j;

		for (j = 0; j < n; j++)
			c += cpu_node(cpus[j]) == cpu_node(cpus[i]);
		if (c > best) {
			best = c;
			node = cpu_node(cpus[i]);
		}
	}
	if (best < 2)
		SKIP(return, "no node has two managed pcores");
	if (start_lib(_metadata))
		return;
	ASSERT_LE(0, vcore_numa_request_on_node(node, 1, true));
	ASSERT_EQ(1, wait_entered(1));
	first = __builtin_ctzll(new_vcores(0));
	ASSERT_EQ(node, vcore_numa_node_of(first));
	/* the default policy: the lowest free CPU may be elsewhere */
	ASSERT_EQ(0, vcore_numa_set_node(-1, false));
	ASSERT_LE(0, vcore_request_more(1));
	ASSERT_EQ(2, wait_entered(2));
	m = new_vcores(1ULL << first);
	v = __builtin_ctzll(m);
	EXPECT_EQ(node, cpu_node(entered_cpu[v] - 1)) TH_LOG("vcore %d", v);
	if (best < 3)
		return;
	ASSERT_LE(0, vcore_numa_request_near(first, 1));
	ASSERT_EQ(3, wait_entered(3));
	m = new_vcores((1ULL << first) | (1ULL << v));
	v = __builtin_ctzll(m);
	EXPECT_EQ(node, cpu_node(entered_cpu[v] - 1)) TH_LOG("vcore %d", v);
}

TEST_HARNESS_MAIN
