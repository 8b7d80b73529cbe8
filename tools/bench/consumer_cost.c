// SPDX-License-Identifier: GPL-2.0
/*
 * What a consumer costs per message, in instructions: libvcore's UCQ, CEQ
 * and bitmap consumers draining what the module's own producers (the
 * portable core, through the user-space harness of tools/testing/core)
 * posted, against liburcu's wait-free concurrent queue dequeue.  One
 * thread, batches of BATCH messages: the producers fill, then the
 * consumer under test drains the batch.
 *
 * Each consumer is called through a noinline wrapper named cost_<name>;
 * tools/bench/consumer-cost runs this under callgrind once per wrapper
 * (--toggle-collect=cost_<name>) and divides the instructions by the
 * messages the program says it took.  Run alone it checks what it drains
 * and prints the message counts.
 */
#define _LGPL_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/wfcqueue.h>

#include "event.h"
#include "internal.h"
#include "lib/kernel_side.h"

#define BATCH	64
#define ROUNDS	200
#define NR_VC	4

static struct vcore_dev dev;

struct node {
	struct cds_wfcq_node n;
	struct event_msg msg;
};

__attribute__((noinline)) bool cost_ucq(struct ucq *q, struct event_msg *m)
{
	return vcore_get_ucq_msg(q, m);
}

__attribute__((noinline)) bool cost_ceq(struct ceq *q, struct event_msg *m)
{
	return vcore_get_ceq_msg(q, m);
}

__attribute__((noinline)) bool cost_bitmap(struct evbitmap *b,
					   struct event_msg *m)
{
	return vcore_get_evbitmap_msg(b, m);
}

__attribute__((noinline)) struct cds_wfcq_node *
cost_wfcq(struct __cds_wfcq_head *h, struct cds_wfcq_tail *t)
{
	return __cds_wfcq_dequeue_blocking(h, t);
}

static int fail(const char *what, unsigned long round, unsigned int i)
{
	fprintf(stderr, "consumer_cost: %s (round %lu, message %u)\n", what,
		round, i);
	return 1;
}

/*
 * Distinct types: the bitmap and the CEQ coalesce by type (the bitmap
 * has VCORE_MAX_NR_EVENT of them, fewer than BATCH).
 */
static int one_mbox(const char *name, struct event_queue *evq,
		    bool (*take)(struct event_mbox *, struct event_msg *),
		    unsigned int batch)
{
	struct event_mbox *mb = event_q_mbox(evq);
	struct event_msg m;
	unsigned long r;
	unsigned int i;
	__u64 seen;

	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < batch; i++) {
			m = (struct event_msg){ .ev_type = i, .ev_arg2 = 1,
						.ev_arg3 = r };
			ks_send_event((uintptr_t)evq, &m, 0);
		}
		seen = 0;
		for (i = 0; i < batch; i++) {
			if (!take(mb, &m))
				return fail(name, r, i);
			if (m.ev_type >= batch || (seen & 1ULL << m.ev_type))
				return fail("bad message", r, i);
			seen |= 1ULL << m.ev_type;
		}
		if (vcore_mbox_is_empty(mb))
			continue;
		return fail("left over", r, i);
	}
	printf("%s %lu\n", name, (unsigned long)ROUNDS * batch);
	return 0;
}

static bool take_ucq(struct event_mbox *mb, struct event_msg *m)
{
	return cost_ucq(&mb->ucq, m);
}

static bool take_ceq(struct event_mbox *mb, struct event_msg *m)
{
	return cost_ceq(&mb->ceq, m);
}

static bool take_bitmap(struct event_mbox *mb, struct event_msg *m)
{
	return cost_bitmap(&mb->evbm, m);
}

static int wfcq(void)
{
	static struct node nodes[BATCH];
	struct __cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	struct cds_wfcq_node *n;
	unsigned long r;
	unsigned int i;

	__cds_wfcq_init(&head, &tail);
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < BATCH; i++) {
			cds_wfcq_node_init(&nodes[i].n);
			nodes[i].msg.ev_type = i;
			cds_wfcq_enqueue(&head, &tail, &nodes[i].n);
		}
		for (i = 0; i < BATCH; i++) {
			n = cost_wfcq(&head, &tail);
			if (n != &nodes[i].n)
				return fail("wfcq", r, i);
		}
	}
	printf("wfcq %lu\n", (unsigned long)ROUNDS * BATCH);
	return 0;
}

int main(void)
{
	struct event_queue *ucq, *ceq, *bm;
	int rc = 0;

	if (ks_init(NR_VC, 1024))
		return 1;
	ks_arena_unwatch();	/* a page free costs what the module's does */
	dev.fd = -1;
	dev.procdata = ks_procdata();
	dev.api.vcpd_offset = sizeof(struct vcore_procdata);
	dev.api.vcpd_size = sizeof(struct vcore_preempt_data);
	dev.api.max_vcores = NR_VC;
	dev.api.max_nr_event = VCORE_MAX_NR_EVENT;
	ucq = vcore_get_eventq(EV_MBOX_UCQ);
	bm = vcore_get_eventq(EV_MBOX_BITMAP);
	ceq = vcore_get_eventq_raw();
	if (!ucq || !bm || !ceq ||
	    vcore_event_mbox_init_ceq(event_q_mbox(ceq), CEQ_OR, BATCH,
				      2 * BATCH)) {
		fprintf(stderr, "consumer_cost: setup failed\n");
		return 1;
	}
	rc |= one_mbox("ucq", ucq, take_ucq, BATCH);
	rc |= one_mbox("ceq", ceq, take_ceq, BATCH);
	rc |= one_mbox("bitmap", bm, take_bitmap, VCORE_MAX_NR_EVENT);
	rc |= wfcq();
	vcore_put_eventq(ucq);
	vcore_put_eventq(bm);
	vcore_event_mbox_cleanup(event_q_mbox(ceq));
	vcore_put_eventq(ceq);
	ks_fini();
	return rc;
}
