/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Test-only commands of /dev/vcore, present when vcore.ko is loaded with
 * test=1 (api.features has VCORE_FEAT_TEST); -ENOTTY otherwise.  They let
 * the selftests reach states and contexts a process cannot reach alone.
 */
#ifndef _UAPI_LINUX_VCORE_TEST_H
#define _UAPI_LINUX_VCORE_TEST_H

#include <linux/vcore.h>

/* vcore_test_arrange.list_of[] */
#define VCORE_TEST_ONLINE		0
#define VCORE_TEST_BULK_PREEMPTED	1
#define VCORE_TEST_INACTIVE		2

/*
 * Put every vcore on a list: order[0 .. max_vcores-1] is a permutation of
 * the vcore ids, in list order, heads first; list_of[vcoreid] says which
 * list.  Online vcores count as mapped, on the managed pcores in order.
 */
struct vcore_test_arrange {
	__u32 state;			/* VCORE_PROC_RUNNABLE_S .. WAITING */
	__u32 resv0;
	__u8 list_of[VCORE_MAX_VCORES];
	__u16 order[VCORE_MAX_VCORES];
};

/* Send a kernel-originated event (send_kernel_event) or a posix signal. */
#define VCORE_TEST_KEVENT		0
#define VCORE_TEST_POSIX_SIGNAL		1	/* msg.ev_arg1 = signo */

struct vcore_test_kevent {
	struct event_msg msg;
	__u32 vcoreid;
	__u32 how;
};

/*
 * Kernel producers: nr_producers kthreads, spread over the online CPUs,
 * each send nr_msgs messages through ev_q, from process context or (mode
 * HRTIMER) from a hard-IRQ hrtimer on its CPU.  Message i of producer p
 * has ev_type = ev_type + i % nr_types (nr_types 0 counts as 1),
 * ev_arg2 = p, ev_arg4 = i.  Returns when all are done (or -EINTR when the
 * caller is killed, after stopping them).
 */
#define VCORE_TEST_PRODUCE_KTHREAD	0
#define VCORE_TEST_PRODUCE_HRTIMER	1

struct vcore_test_produce {
	__u64 ev_q;
	__u32 nr_producers;		/* 1 .. 64 */
	__u32 nr_msgs;
	__u32 mode;
	__u16 ev_type;
	__u16 nr_types;
};

/*
 * The floors of the notification benchmark: one bare IPI to cpu
 * (smp_call_function_single(), waiting), whose handler only reads the TSC.
 * tsc_recv - tsc_send is the one-way IPI latency, tsc_done - tsc_send the
 * synchronous round trip.  EINVAL (cpu not online, unknown flags, or
 * resv not zero without VCORE_TEST_IPI_TO_USER); if cpu is the caller's
 * own the handler runs locally.
 *
 * VCORE_TEST_IPI_TO_USER is the least a notification needs, sent the way
 * a vcore's is: an async IPI whose handler, if it interrupted a thread of
 * the caller's process, queues task work (TWA_RESUME) that sends that
 * thread, on its way back to user space, to the address resv[0] with the
 * stack resv[1] (rip and rsp; rdi 0), as a notification sends a vcore to
 * vcore_entry.  The call returns once the IPI is sent: tsc_recv is 0,
 * tsc_done stamps the send.  EINVAL for an entry or stack outside user
 * space or a stack not 16-byte aligned; EBUSY while the previous one's
 * IPI or task work is in flight.
 */
struct vcore_test_ipi {
	__u32 cpu;			/* in: the target CPU */
	__u32 flags;			/* in: 0 or VCORE_TEST_IPI_TO_USER */
	__u64 tsc_send;			/* out: caller's CPU, before the IPI */
	__u64 tsc_recv;			/* out: target CPU, in the handler */
	__u64 tsc_done;			/* out: caller's CPU, handler done */
	__u64 resv[2];			/* in: TO_USER's entry and stack */
};

#define VCORE_TEST_IPI_TO_USER	(1U << 0)

#define VCORE_IOC_NR_TEST_ARRANGE	0x40
#define VCORE_IOC_NR_TEST_KEVENT	0x41
#define VCORE_IOC_NR_TEST_PRODUCE	0x42
#define VCORE_IOC_NR_TEST_IPI		0x43

#define VCORE_IOC_TEST_ARRANGE	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_TEST_ARRANGE, \
				     struct vcore_test_arrange)
#define VCORE_IOC_TEST_KEVENT	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_TEST_KEVENT, \
				     struct vcore_test_kevent)
#define VCORE_IOC_TEST_PRODUCE	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_TEST_PRODUCE, \
				     struct vcore_test_produce)
#define VCORE_IOC_TEST_IPI	_IOWR(VCORE_IOC_MAGIC, \
				      VCORE_IOC_NR_TEST_IPI, \
				      struct vcore_test_ipi)

#endif /* _UAPI_LINUX_VCORE_TEST_H */
