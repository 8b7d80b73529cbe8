// SPDX-License-Identifier: GPL-2.0
/*
 * Same-node versus cross-node cost of vcore's two hot paths:
 *
 *   notify  latency from a sender's rdtsc before VCORE_IOC_SELF_NOTIFY to
 *           the first C line of the target's vcore_entry; the vcore is
 *           granted on one node (VCORE_IOC_SET_NODE, strict) and the
 *           sender is pinned to another CPU of that node, then to a CPU
 *           of another node.
 *   ucq     messages/s through a UCQ whose pages (and ev_q) are on node A:
 *           one producer pinned on node A sends with VCORE_IOC_SEND_EVENT,
 *           one consumer drains with vcore_get_ucq_msg(), pinned on node A, then
 *           on another node.
 *
 * Usage: numa_bench [notify_rounds [ucq_msgs]]   (defaults 2000, 200000)
 * Prints one line per measurement and a SUMMARY line with the cross/same
 * ratios.  numa_bench_notify() and numa_bench_ucq() are the two parts,
 * callable from a larger benchmark (build with -DNUMA_BENCH_NO_MAIN).
 * Needs two nodes with online CPUs and one with a managed pcore plus
 * another CPU; exits 4 (kselftest's skip) otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <x86intrin.h>

#include "arena.h"
#include "event.h"
#include "ucq.h"
#include "vcore.h"
#include "vcore_ctx.h"
#include "vcore_numa.h"

struct numa_bench_result {
	double same, cross;	/* notify: p50 TSC ticks; ucq: messages/s */
	int node, same_cpu, cross_cpu;
};

static struct vcore_dev *bdev;
static volatile __u64 send_tsc, seen_tsc;
static volatile unsigned long entries;
static volatile int armed;

static int node_of_cpu(int cpu)
{
	return cpu >= 0 && cpu < (int)bdev->kprocinfo->nr_pcores ?
	       bdev->kprocinfo->pcoremap[cpu].numa_node : -1;
}

static int pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return sched_setaffinity(0, sizeof(s), &s) ? -errno : 0;
}

/*
 * An online CPU on node (or off it, with other), not in avoid; CPU 0
 * (which takes most device interrupts) only if nothing else fits; or -1.
 */
static int pick_cpu(int node, bool other, int avoid1, int avoid2)
{
	unsigned int i, cpu, nr = bdev->kprocinfo->nr_pcores;

	for (i = 0; i < nr; i++) {
		char path[64];
		int n;

		cpu = (i + 1) % nr;
		n = node_of_cpu(cpu);
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%u/topology", cpu);
		if (n < 0 || access(path, F_OK) || (int)cpu == avoid1 ||
		    (int)cpu == avoid2 || (n == node) == other)
			continue;
		return cpu;
	}
	return -1;
}

static void bench_entry(void)
{
	__u64 now = __rdtsc();
	unsigned int v = vcore_id();

	if (vcore_entry_reason() == VCORE_ENTRY_NOTIFY && !seen_tsc)
		seen_tsc = now;
	for (;;) {
		vcore_handle_events(bdev, v);
		armed = 1;
		vcore_idle();
	}
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* p50 of rounds notifications from a sender pinned on cpu; 0 on error. */
static double notify_p50(unsigned int v, int cpu, unsigned int rounds)
{
	struct vcore_self_notify sn = {
		.vcoreid = v, .flags = VCORE_SELF_NOTIFY_PRIVATE,
		.msg.ev_type = EV_NONE,
	};
	__u64 *lat = calloc(rounds, sizeof(*lat));
	unsigned int i, n = 0;
	double p50 = 0;

	if (!lat || pin(cpu))
		goto out;
	for (i = 0; i < rounds; i++) {
		unsigned long spins = 0;

		while (!armed)
			;
		/* let vcore_idle() enable notifications */
		for (__u64 t = __rdtsc(); __rdtsc() - t < 200000;)
			;
		armed = 0;
		seen_tsc = 0;
		send_tsc = __rdtsc();
		if (ioctl(bdev->fd, VCORE_IOC_SELF_NOTIFY, &sn))
			goto out;
		while (!seen_tsc && ++spins < 2000000000UL)
			;
		if (seen_tsc > send_tsc)
			lat[n++] = seen_tsc - send_tsc;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	p50 = n ? (double)lat[n / 2] : 0;
out:
	free(lat);
	return p50;
}

/*
 * Notification latency, sender on the vcore's node and on another.  The
 * vcore layer must be set up with numa_bench_notify_entry as the entry
 * (vcore_lib_init) and VCPD mailboxes (vcore_vcpd_mboxes_init).
 */
int numa_bench_notify(struct vcore_dev *dev, unsigned int rounds,
		      struct numa_bench_result *r)
{
	unsigned int v;
	int node, pcore;

	bdev = dev;
	/* the highest node with a managed pcore: the farthest from CPU 0 */
	for (node = (int)dev->kprocinfo->nr_nodes - 1; node >= 0; node--) {
		if (pick_cpu(node, true, -1, -1) < 0)
			return -ENODEV;		/* one node only */
		if (vcore_numa_set_node(node, true) == 0)
			break;
	}
	if (node < 0)
		return -ENODEV;
	vcore_request_more(1);
	for (unsigned long spins = 0; !armed; spins++)
		if (spins > 4000000000UL)
			return -ETIMEDOUT;
	for (v = 0; v < dev->api.max_vcores && vcore_pcoreid(v) < 0; v++)
		;
	pcore = vcore_pcoreid(v);
	r->node = node_of_cpu(pcore);
	r->same_cpu = pick_cpu(r->node, false, pcore, -1);
	r->cross_cpu = pick_cpu(r->node, true, pcore, -1);
	if (r->same_cpu < 0 || r->cross_cpu < 0)
		return -ENODEV;
	/* alternate, so drift of a shared host hits both alike */
	r->same = r->cross = 0;
	for (int k = 0; k < 4; k++) {
		r->same += notify_p50(v, r->same_cpu, rounds / 4) / 4;
		r->cross += notify_p50(v, r->cross_cpu, rounds / 4) / 4;
	}
	return r->same > 0 && r->cross > 0 ? 0 : -EIO;
}

void numa_bench_notify_entry(void)
{
	bench_entry();
}

struct ucq_run {
	struct event_queue_big *q;
	unsigned int msgs;
	int prod_cpu, cons_cpu;
	volatile int go;
};

static void *producer(void *arg)
{
	struct ucq_run *run = arg;
	struct vcore_send_event se = {
		.ev_q = (uintptr_t)&run->q->ev_q,
		.msg.ev_type = EV_FREE_APPLE_PIE,
	};

	pin(run->prod_cpu);
	while (!run->go)
		;
	for (unsigned int i = 0; i < run->msgs; i++)
		if (ioctl(bdev->fd, VCORE_IOC_SEND_EVENT, &se))
			break;
	return NULL;
}

/* messages/s through a UCQ on node, consumer pinned on cons_cpu */
static double ucq_rate(int node, int prod_cpu, int cons_cpu, unsigned int msgs)
{
	struct ucq_run run = { .msgs = msgs, .prod_cpu = prod_cpu,
			       .cons_cpu = cons_cpu };
	struct timespec t0, t1;
	struct event_msg m;
	unsigned int got = 0;
	void *pg = vcore_arena_alloc_pages_node(3, node);
	pthread_t th;

	if (!pg || pin(cons_cpu))
		return 0;
	run.q = pg;
	run.q->ev_q.ev_mbox = (uintptr_t)&run.q->ev_imbox;
	run.q->ev_imbox.type = EV_MBOX_UCQ;
	if (vcore_ucq_init_raw(&run.q->ev_imbox.ucq, (char *)pg + 4096,
			 (char *)pg + 8192))
		return 0;
	if (pthread_create(&th, NULL, producer, &run))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run.go = 1;
	while (got < msgs) {
		if (vcore_get_ucq_msg(&run.q->ev_imbox.ucq, &m))
			got++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(th, NULL);
	vcore_ucq_free(&run.q->ev_imbox.ucq);
	vcore_arena_free_pages(pg, 3);
	return msgs / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

/* UCQ throughput, consumer on the queue's node and on another. */
int numa_bench_ucq(struct vcore_dev *dev, unsigned int msgs,
		   struct numa_bench_result *r)
{
	int prod = -1;

	bdev = dev;
	for (r->node = (int)dev->kprocinfo->nr_nodes - 1; r->node >= 0;
	     r->node--) {
		prod = pick_cpu(r->node, false, -1, -1);
		r->same_cpu = pick_cpu(r->node, false, prod, -1);
		r->cross_cpu = pick_cpu(r->node, true, prod, -1);
		if (prod >= 0 && r->same_cpu >= 0 && r->cross_cpu >= 0)
			break;
	}
	if (r->node < 0)
		return -ENODEV;
	r->same = r->cross = 0;
	for (int k = 0; k < 4; k++) {
		r->same += ucq_rate(r->node, prod, r->same_cpu, msgs / 4) / 4;
		r->cross += ucq_rate(r->node, prod, r->cross_cpu, msgs / 4) / 4;
	}
	return r->same > 0 && r->cross > 0 ? 0 : -EIO;
}

#ifndef NUMA_BENCH_NO_MAIN
int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? atoi(argv[1]) : 2000;
	unsigned int msgs = argc > 2 ? atoi(argv[2]) : 200000;
	struct numa_bench_result n, u;
	static struct vcore_dev dev;
	int err;

	err = vcore_dev_open(&dev);
	if (err) {
		fprintf(stderr, "numa_bench: open: %s\n", strerror(-err));
		return 4;
	}
	if (!(dev.api.features & VCORE_FEAT_NUMA) ||
	    vcore_arena_setup(&dev, 8 << 20) || vcore_vcpd_mboxes_init(&dev) ||
	    vcore_lib_init(&dev, numa_bench_notify_entry)) {
		fprintf(stderr, "numa_bench: setup failed\n");
		return 1;
	}
	err = numa_bench_ucq(&dev, msgs, &u);
	if (err == -ENODEV) {
		printf("numa_bench: SKIP: needs two NUMA nodes\n");
		return 4;
	}
	if (err)
		return 1;
	printf("ucq: queue on node %d, consumer cpu %d (same node) %.0f msg/s, cpu %d (other node) %.0f msg/s\n",
	       u.node, u.same_cpu, u.same, u.cross_cpu, u.cross);
	err = numa_bench_notify(&dev, rounds, &n);
	if (err) {
		fprintf(stderr, "numa_bench: notify: %s\n", strerror(-err));
		return err == -ENODEV ? 4 : 1;
	}
	printf("notify: vcore on node %d, sender cpu %d (same node) p50 %.0f ticks, cpu %d (other node) p50 %.0f ticks\n",
	       n.node, n.same_cpu, n.same, n.cross_cpu, n.cross);
	printf("SUMMARY notify_p50_cross_over_same=%.3f ucq_rate_cross_over_same=%.3f\n",
	       n.cross / n.same, u.cross / u.same);
	return 0;
}
#endif
