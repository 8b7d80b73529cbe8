// SPDX-License-Identifier: GPL-2.0
/*
 * libvcore against the real module: the arena page commands, ev_qs and
 * their mailboxes, the UCQ / CEQ / bitmap consumers reading what kernel
 * producers wrote (process context and hard IRQ, several CPUs at once),
 * the handler table, INDIR through a VCPD mbox, vcore_handle_events(),
 * the alarm service's handlers on vcores, the epoll look-alike on fd taps,
 * polled and blocking a uthread, and signals delivered as events.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/vcore_test.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"
#include "../libvcore/event.h"
#include "../libvcore/uthread.h"
#include "../libvcore/vcore_alarm.h"
#include "../libvcore/vcore_ctx.h"
#include "../libvcore/vcore_tap.h"

#define ARENA_BYTES	(16UL << 20)	/* the fixture takes the largest */

FIXTURE(lib) {
	struct vcore_dev dev;
	unsigned int nv;
};

FIXTURE_SETUP(lib)
{
	if (access(VCORE_DEV, F_OK))
		SETUP_SKIP("module not loaded");
	ASSERT_EQ(0, vcore_dev_open(&self->dev));
	if (!(self->dev.api.features & VCORE_FEAT_TEST))
		SETUP_SKIP("needs the test build loaded with test=1");
	/* room for two million queued messages if the consumer stalls */
	ASSERT_LE(ARENA_BYTES, self->dev.api.arena_max_size);
	ASSERT_EQ(0, vcore_arena_setup(&self->dev,
				       self->dev.api.arena_max_size));
	self->nv = self->dev.api.max_vcores;
}

FIXTURE_TEARDOWN(lib)
{
	vcore_dev_close(&self->dev);
}

static struct vcore_stats stats(struct vcore_dev *dev)
{
	struct vcore_stats s;

	memset(&s, 0xff, sizeof(s));
	vt_ioctl(dev->fd, VCORE_IOC_GET_STATS, &s);
	return s;
}

static int send(struct vcore_dev *dev, struct event_queue *ev_q,
		__u16 type, __u32 arg2, __u32 vcoreid)
{
	struct vcore_send_event s = {
		.ev_q = (uintptr_t)ev_q,
		.msg = { .ev_type = type, .ev_arg2 = arg2 },
		.vcoreid = vcoreid,
	};

	return vt_ioctl(dev->fd, VCORE_IOC_SEND_EVENT, &s);
}

/* vcore 0 online, every other vcore inactive, the process RUNNING_M. */
static int vcore0_online(struct vcore_dev *dev)
{
	struct vcore_test_arrange a = { .state = VCORE_PROC_RUNNING_M };
	unsigned int v;

	for (v = 0; v < dev->api.max_vcores; v++) {
		a.list_of[v] = v ? VCORE_TEST_INACTIVE : VCORE_TEST_ONLINE;
		a.order[v] = v;
	}
	return vt_ioctl(dev->fd, VCORE_IOC_TEST_ARRANGE, &a);
}

/* ---- the arena through the kernel's page map ---- */

TEST(arena_region_is_enxio_before_setup)
{
	struct vcore_dev dev;
	void *base = &dev;
	size_t size = 1;

	if (access(VCORE_DEV, F_OK))
		SKIP(return, "module not loaded");
	ASSERT_EQ(0, vcore_dev_open(&dev));
	EXPECT_EQ(-ENXIO, vcore_arena_region(&base, &size));
	EXPECT_EQ((void *)&dev, base);	/* untouched */
	EXPECT_EQ(1, size);
	vcore_dev_close(&dev);
}

TEST_F(lib, arena_region_gives_the_mapping_set_up)
{
	void *base = NULL;
	size_t size = 0;

	ASSERT_EQ(0, vcore_arena_region(&base, &size));
	EXPECT_EQ(self->dev.api.arena_max_size, size);
	EXPECT_EQ(0, (uintptr_t)base % 4096);
	EXPECT_EQ(1, vcore_arena_contains(base, size));
	EXPECT_EQ(0, vcore_arena_contains((char *)base + size, 1));
	EXPECT_EQ(0, vcore_arena_region(NULL, NULL));
	EXPECT_EQ(0, vcore_arena_region(NULL, &size));
	EXPECT_EQ(0, vcore_arena_region(&base, NULL));
}

TEST_F(lib, arena_pages_come_from_the_kernel_and_go_back)
{
	unsigned int nr = self->dev.api.arena_max_size / 4096, i, got = 0;
	void **pg = calloc(nr + 1, sizeof(*pg));

	ASSERT_NE(NULL, pg);
	EXPECT_EQ(-EBUSY, vcore_arena_setup(&self->dev, 4096));
	for (i = 0; i <= nr; i++) {
		pg[i] = vcore_arena_alloc_pages(1);
		if (!pg[i])
			break;
		EXPECT_EQ(1, vcore_arena_contains(pg[i], 4096));
		EXPECT_EQ(0, ((char *)pg[i])[100]);
		memset(pg[i], 0xa5, 4096);	/* freed pages come back zeroed */
		got++;
	}
	EXPECT_EQ(nr, got);
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(-EINVAL, vcore_arena_free_pages(&got, 1));
	for (i = 0; i < got; i++)
		ASSERT_EQ(0, vcore_arena_free_pages(pg[i], 1));
	EXPECT_EQ(-EINVAL, vcore_arena_free_pages(pg[0], 1));
	pg[0] = vcore_arena_alloc_pages(4);
	ASSERT_NE(NULL, pg[0]);
	for (i = 0; i < 4 * 4096; i++)
		if (((unsigned char *)pg[0])[i])
			break;
	EXPECT_EQ(4 * 4096, i);
	free(pg);
}

/* ---- UCQ: kernel producers, libvcore consumers ---- */

struct ucq_run {
	struct ucq *ucq;
	unsigned int nr_producers, nr_msgs;
	unsigned long want;
	unsigned long got;			/* atomic */
	unsigned char *seen;			/* [producer * nr_msgs + seq] */
	unsigned long dup, bad, misordered;	/* atomic */
};

static void *ucq_consumer(void *arg)
{
	struct ucq_run *r = arg;
	__u64 last[64];
	struct event_msg msg;
	unsigned int i;

	for (i = 0; i < 64; i++)
		last[i] = ~0ULL;
	while (__atomic_load_n(&r->got, __ATOMIC_RELAXED) < r->want) {
		if (!vcore_get_ucq_msg(r->ucq, &msg))
			continue;
		__atomic_fetch_add(&r->got, 1, __ATOMIC_RELAXED);
		if (msg.ev_arg2 >= r->nr_producers ||
		    msg.ev_arg4 >= r->nr_msgs || msg.ev_type != 20) {
			__atomic_fetch_add(&r->bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		/* each consumer claims slots in queue order */
		if (last[msg.ev_arg2] != ~0ULL &&
		    msg.ev_arg4 <= last[msg.ev_arg2])
			__atomic_fetch_add(&r->misordered, 1, __ATOMIC_RELAXED);
		last[msg.ev_arg2] = msg.ev_arg4;
		if (__atomic_exchange_n(&r->seen[(size_t)msg.ev_arg2 *
						 r->nr_msgs + msg.ev_arg4],
					1, __ATOMIC_RELAXED))
			__atomic_fetch_add(&r->dup, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void ucq_stress(struct __test_metadata *_metadata,
		       struct vcore_dev *dev, __u32 mode,
		       unsigned int nr_producers, unsigned int nr_msgs,
		       unsigned int nr_consumers)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_UCQ);
	struct ucq_run r = {
		.nr_producers = nr_producers, .nr_msgs = nr_msgs,
		.want = (unsigned long)nr_producers * nr_msgs,
	};
	struct vcore_test_produce p = {
		.nr_producers = nr_producers, .nr_msgs = nr_msgs,
		.mode = mode, .ev_type = 20,
	};
	pthread_t t[8];
	unsigned int i;
	struct ucq *ucq;
	size_t k;

	ASSERT_NE(NULL, ev_q);
	ASSERT_LE(nr_consumers, 8);
	ucq = &event_q_mbox(ev_q)->ucq;
	r.ucq = ucq;
	r.seen = calloc(r.want, 1);
	ASSERT_NE(NULL, r.seen);
	p.ev_q = (uintptr_t)ev_q;
	for (i = 0; i < nr_consumers; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, ucq_consumer, &r));
	EXPECT_EQ(0, vt_ioctl(dev->fd, VCORE_IOC_TEST_PRODUCE, &p));
	/* every message is posted: the consumers stop at r.want */
	for (i = 0; i < nr_consumers; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%lu messages, %u consumers, %llu kernel-linked pages live",
	       r.got, nr_consumers, (unsigned long long)ucq->nr_extra_pgs);
	EXPECT_EQ(r.want, r.got);
	EXPECT_EQ(0, r.bad);
	EXPECT_EQ(0, r.dup);
	EXPECT_EQ(0, r.misordered);
	for (k = 0; k < r.want && r.seen[k]; k++)
		;
	EXPECT_EQ(r.want, k);
	EXPECT_EQ(1, vcore_ucq_is_empty(ucq));
	EXPECT_EQ(r.want, stats(dev).posted[EV_MBOX_UCQ]);
	EXPECT_EQ(0, stats(dev).dropped[VCORE_DROP_UCQ_NOMEM]);
	EXPECT_EQ(0, stats(dev).dropped[VCORE_DROP_UCQ_CORRUPT]);
	/* finished pages are recycled: a few are out at once, not thousands */
	EXPECT_LT(ucq->nr_extra_pgs, 64);
	vcore_put_eventq(ev_q);
	free(r.seen);
}

TEST_F_TIMEOUT(lib, ucq_two_million_from_kthreads_on_every_cpu, 900)
{
	ucq_stress(_metadata, &self->dev, VCORE_TEST_PRODUCE_KTHREAD,
		   4, 500000, 1);
}

TEST_F_TIMEOUT(lib, ucq_kthread_producers_three_consumers, 600)
{
	ucq_stress(_metadata, &self->dev, VCORE_TEST_PRODUCE_KTHREAD,
		   4, 100000, 3);
}

TEST_F_TIMEOUT(lib, ucq_hardirq_producers_on_every_cpu, 600)
{
	ucq_stress(_metadata, &self->dev, VCORE_TEST_PRODUCE_HRTIMER,
		   4, 25000, 1);
}

TEST_F_TIMEOUT(lib, ucq_hardirq_producers_two_consumers, 600)
{
	ucq_stress(_metadata, &self->dev, VCORE_TEST_PRODUCE_HRTIMER,
		   4, 10000, 2);
}

/* ---- CEQ: coalescing under kernel producers, ring overflow ---- */

#define CEQ_TYPES	96
#define CEQ_RING	8		/* far fewer slots than types */

struct ceq_run {
	struct ceq *ceq;
	volatile int stop;
	__u64 sum[CEQ_TYPES], orv[CEQ_TYPES];
	unsigned long msgs, bad;
};

static void *ceq_consumer(void *arg)
{
	struct ceq_run *r = arg;
	struct event_msg msg;
	int last = 0;

	for (;;) {
		if (!vcore_get_ceq_msg(r->ceq, &msg)) {
			if (last)
				break;
			last = r->stop;		/* one more pass after stop */
			continue;
		}
		r->msgs++;
		if (msg.ev_type < 100 || msg.ev_type >= 100 + CEQ_TYPES) {
			r->bad++;
			continue;
		}
		r->sum[msg.ev_type - 100] += msg.ev_arg4;
		r->orv[msg.ev_type - 100] |= msg.ev_arg4;
	}
	return NULL;
}

/* Messages producer p sends with type index t: i = t, t + T, ... < n. */
static __u64 count_for_type(unsigned int t, unsigned int n)
{
	return t < n ? (n - 1 - t) / CEQ_TYPES + 1 : 0;
}

static void ceq_stress(struct __test_metadata *_metadata,
		       struct vcore_dev *dev, __u8 op, __u32 mode,
		       unsigned int nr_producers, unsigned int nr_msgs,
		       bool concurrent)
{
	struct event_queue *ev_q = vcore_get_eventq_raw();
	struct vcore_test_produce p = {
		.nr_producers = nr_producers, .nr_msgs = nr_msgs,
		.mode = mode, .ev_type = 100, .nr_types = CEQ_TYPES,
	};
	struct ceq_run r = { 0 };
	unsigned int t, pr, missing = 0, wrong = 0;
	__u64 ids_or = 0;
	pthread_t th;

	ASSERT_NE(NULL, ev_q);
	ASSERT_EQ(0, vcore_event_mbox_init_ceq(event_q_mbox(ev_q), op, 256,
					 CEQ_RING));
	r.ceq = &event_q_mbox(ev_q)->ceq;
	p.ev_q = (uintptr_t)ev_q;
	if (concurrent) {
		ASSERT_EQ(0, pthread_create(&th, NULL, ceq_consumer, &r));
		EXPECT_EQ(0, vt_ioctl(dev->fd, VCORE_IOC_TEST_PRODUCE, &p));
		r.stop = 1;
		pthread_join(th, NULL);
	} else {
		/* nobody consumes: the ring of 8 overflows with 96 ids */
		EXPECT_EQ(0, vt_ioctl(dev->fd, VCORE_IOC_TEST_PRODUCE, &p));
		EXPECT_EQ(1, r.ceq->ring_overflowed);
		r.stop = 1;
		ceq_consumer(&r);
	}

	for (pr = 0; pr < nr_producers; pr++)
		ids_or |= pr;
	for (t = 0; t < CEQ_TYPES; t++) {
		__u64 want = 0;

		for (pr = 0; pr < nr_producers; pr++)
			want += pr * count_for_type(t, nr_msgs);
		if (op == CEQ_ADD ? r.sum[t] != want : r.orv[t] != ids_or)
			wrong++;
		if (!r.sum[t] && want)
			missing++;
	}
	TH_LOG("%lu extractions for %u ids of %u posts",
	       r.msgs, CEQ_TYPES, nr_producers * nr_msgs);
	EXPECT_EQ(0, r.bad);
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(1, vcore_ceq_is_empty(r.ceq));
	EXPECT_EQ((unsigned long)nr_producers * nr_msgs,
		  stats(dev).posted[EV_MBOX_CEQ]);
	EXPECT_EQ(0, stats(dev).dropped[VCORE_DROP_CEQ_CORRUPT]);
	EXPECT_EQ(100 + CEQ_TYPES - 1, r.ceq->max_event_ever);
	vcore_put_eventq(ev_q);
}

TEST_F_TIMEOUT(lib, ceq_add_from_kthreads_loses_no_count, 600)
{
	ceq_stress(_metadata, &self->dev, CEQ_ADD, VCORE_TEST_PRODUCE_KTHREAD,
		   4, 100000, true);
}

TEST_F_TIMEOUT(lib, ceq_or_from_hardirq_loses_no_bit, 600)
{
	ceq_stress(_metadata, &self->dev, CEQ_OR, VCORE_TEST_PRODUCE_HRTIMER,
		   4, 5000, true);
}

TEST_F_TIMEOUT(lib, ceq_ring_overflow_recovery_loses_no_id, 600)
{
	ceq_stress(_metadata, &self->dev, CEQ_ADD, VCORE_TEST_PRODUCE_KTHREAD,
		   4, 20000, false);
}

/* ---- UCQ in a full arena ---- */

TEST_F_TIMEOUT(lib, ucq_full_arena_drops_cleanly_and_recovers, 300)
{
	unsigned int nr = self->dev.api.arena_max_size / 4096, i, n = 0;
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_UCQ);
	struct vcore_test_produce p = {
		.nr_producers = 1, .nr_msgs = 20000, .ev_type = 20,
	};
	unsigned char **canary = calloc(nr, sizeof(*canary));
	unsigned int nr_canary = 0, spoilt = 0, misordered = 0;
	struct vcore_stats st;
	struct event_msg msg;
	__u64 last = 0, nomem;
	struct ucq *ucq;

	ASSERT_NE(NULL, ev_q);
	ASSERT_NE(NULL, canary);
	ucq = &event_q_mbox(ev_q)->ucq;
	p.ev_q = (uintptr_t)ev_q;
	/* every page but ten holds a pattern the kernel must not touch */
	while ((canary[nr_canary] = vcore_arena_alloc_pages(1)))
		memset(canary[nr_canary++], 0x5a, 4096);
	ASSERT_GT(nr_canary, 10);
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, vcore_arena_free_pages(canary[--nr_canary], 1));
	for (i = 0; i < 64; i++)	/* the sub-page allocator's reserve */
		vcore_arena_zalloc(1024);

	EXPECT_EQ(0, vt_ioctl(self->dev.fd, VCORE_IOC_TEST_PRODUCE, &p));
	st = stats(&self->dev);
	nomem = st.dropped[VCORE_DROP_UCQ_NOMEM];
	TH_LOG("%llu posted, %llu dropped for want of a page",
	       (unsigned long long)st.posted[EV_MBOX_UCQ],
	       (unsigned long long)nomem);
	EXPECT_GT(nomem, 0);
	EXPECT_EQ(20000, st.posted[EV_MBOX_UCQ] + nomem);
	for (i = 0; i < nr_canary; i++) {
		unsigned int b;

		for (b = 0; b < 4096; b++)
			if (canary[i][b] != 0x5a)
				break;
		spoilt += b < 4096;
	}
	EXPECT_EQ(0, spoilt);
	/* what was posted is all there, in order, and nothing else */
	while (vcore_get_ucq_msg(ucq, &msg)) {
		if (n && msg.ev_arg4 <= last)
			misordered++;
		last = msg.ev_arg4;
		n++;
	}
	EXPECT_EQ(st.posted[EV_MBOX_UCQ], n);
	EXPECT_EQ(0, misordered);
	/* pages back: the queue works again */
	for (i = 0; i < nr_canary; i++)
		ASSERT_EQ(0, vcore_arena_free_pages(canary[i], 1));
	p.nr_msgs = 1000;
	EXPECT_EQ(0, vt_ioctl(self->dev.fd, VCORE_IOC_TEST_PRODUCE, &p));
	EXPECT_EQ(nomem, stats(&self->dev).dropped[VCORE_DROP_UCQ_NOMEM]);
	for (n = 0; vcore_get_ucq_msg(ucq, &msg); n++)
		if (msg.ev_arg4 != n)
			misordered++;
	EXPECT_EQ(1000, n);
	EXPECT_EQ(0, misordered);
	free(canary);
}

/* ---- bitmap ---- */

TEST_F(lib, bitmap_gives_each_type_once)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_BITMAP);
	struct event_msg msg;
	unsigned int n = 0, seen[4] = { 0 };
	int i;

	ASSERT_NE(NULL, ev_q);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, send(&self->dev, ev_q, 3, i, 0));
		ASSERT_EQ(0, send(&self->dev, ev_q, 1, i, 0));
	}
	while (vcore_extract_one_mbox_msg(event_q_mbox(ev_q), &msg)) {
		n++;
		if (msg.ev_type < 4)
			seen[msg.ev_type]++;
	}
	EXPECT_EQ(2, n);
	EXPECT_EQ(1, seen[1]);
	EXPECT_EQ(1, seen[3]);
	EXPECT_EQ(1, vcore_mbox_is_empty(event_q_mbox(ev_q)));
	vcore_put_eventq(ev_q);
}

/* ---- handlers, INDIR, vcore_handle_events ---- */

struct tally {
	unsigned int calls;
	__u32 arg2_sum;
};

static void count_handler(struct event_msg *msg, unsigned int type,
			  void *data)
{
	struct tally *t = data;

	t->calls++;
	t->arg2_sum += msg->ev_arg2;
}

TEST_F(lib, every_handler_of_a_type_runs)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_UCQ);
	struct tally a = { 0 }, b = { 0 }, other = { 0 };

	ASSERT_NE(NULL, ev_q);
	ASSERT_EQ(0, vcore_register_ev_handler(30, count_handler, &a));
	ASSERT_EQ(0, vcore_register_ev_handler(30, count_handler, &b));
	ASSERT_EQ(0, vcore_register_ev_handler(31, count_handler, &other));
	ASSERT_EQ(0, send(&self->dev, ev_q, 30, 5, 0));
	ASSERT_EQ(0, send(&self->dev, ev_q, 30, 7, 0));
	EXPECT_EQ(2, vcore_handle_event_q(ev_q));
	EXPECT_EQ(2, a.calls);
	EXPECT_EQ(12, a.arg2_sum);
	EXPECT_EQ(2, b.calls);
	EXPECT_EQ(0, other.calls);
	ASSERT_EQ(0, vcore_deregister_ev_handler(30, count_handler, &a));
	ASSERT_EQ(0, send(&self->dev, ev_q, 30, 1, 0));
	EXPECT_EQ(1, vcore_handle_event_q(ev_q));
	EXPECT_EQ(2, a.calls);
	EXPECT_EQ(3, b.calls);
	vcore_put_eventq(ev_q);
}

TEST_F(lib, indir_reaches_the_ev_q_through_handle_events)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_UCQ);
	struct vcore_preempt_data *vcpd = vcore_dev_vcpd(&self->dev, 0);
	struct tally t = { 0 };
	__u64 indirs = stats(&self->dev).indirs;
	int i;

	ASSERT_NE(NULL, ev_q);
	ASSERT_EQ(0, vcore_vcpd_mboxes_init(&self->dev));
	ASSERT_EQ(0, vcore0_online(&self->dev));
	ASSERT_EQ(0, vcore_register_ev_handler(40, count_handler, &t));
	ev_q->ev_flags = EVENT_INDIR;
	ev_q->ev_vcore = 0;
	/* throttled: five messages, one INDIR until the alert is cleared */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, send(&self->dev, ev_q, 40, 1, 0));
	EXPECT_EQ(1, ev_q->ev_alert_pending);
	EXPECT_EQ(indirs + 1, stats(&self->dev).indirs);
	EXPECT_EQ(1, vcpd->notif_pending);
	EXPECT_EQ(1, vcore_handle_events(&self->dev, 0));	/* the EV_EVENT */
	EXPECT_EQ(5, t.calls);
	EXPECT_EQ(0, ev_q->ev_alert_pending);
	EXPECT_EQ(0, vcpd->notif_pending);
	/* the alert is clear again: the next message brings a new INDIR */
	ASSERT_EQ(0, send(&self->dev, ev_q, 40, 1, 0));
	EXPECT_EQ(indirs + 2, stats(&self->dev).indirs);
	EXPECT_EQ(1, vcore_handle_events(&self->dev, 0));
	EXPECT_EQ(6, t.calls);
	EXPECT_EQ(0, vcore_handle_events(&self->dev, 0));
	ev_q->ev_flags = 0;
	vcore_put_eventq(ev_q);
	vcore_vcpd_mboxes_cleanup(&self->dev);
}

TEST_F(lib, kernel_events_go_to_the_registered_ev_q)
{
	struct event_queue *ev_q = vcore_get_eventq(EV_MBOX_CEQ);
	struct vcore_test_kevent k = {
		.msg = { .ev_type = 9, .ev_arg2 = 0x10 },
	};
	struct tally t = { 0 };

	ASSERT_NE(NULL, ev_q);
	ASSERT_EQ(0, vcore_register_kevent_q(&self->dev, ev_q, 9));
	ASSERT_EQ(0, vcore_register_ev_handler(9, count_handler, &t));
	ASSERT_EQ(0, vt_ioctl(self->dev.fd, VCORE_IOC_TEST_KEVENT, &k));
	k.msg.ev_arg2 = 0x01;
	ASSERT_EQ(0, vt_ioctl(self->dev.fd, VCORE_IOC_TEST_KEVENT, &k));
	EXPECT_EQ(1, vcore_handle_event_q(ev_q));		/* coalesced */
	EXPECT_EQ(1, t.calls);
	EXPECT_EQ(0x11, t.arg2_sum);			/* CEQ_OR */
	EXPECT_EQ(ev_q, vcore_clear_kevent_q(&self->dev, 9));
	ASSERT_EQ(0, vt_ioctl(self->dev.fd, VCORE_IOC_TEST_KEVENT, &k));
	EXPECT_EQ(0, vcore_handle_event_q(ev_q));
	vcore_put_eventq(ev_q);
}

static void *forty_two(void *arg)
{
	(void)arg;
	return (void *)42;
}

/*
 * A fork()ed child of a process that set libvcore up (device, arena,
 * uthreads) becomes an MCP of its own: it opens the device, sets up an
 * arena, starts uthreads and gets its own events, as a new process would.
 */
TEST_F(lib, a_forked_child_becomes_an_mcp_of_its_own)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, vcore_uthread_lib_init(&self->dev));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct event_queue *q;
		struct event_msg msg;
		struct vcore_dev d;
		struct uthread *u;
		void *ret = NULL;

		if (vcore_dev_open(&d))
			_exit(10);
		if (vcore_arena_setup(&d, 1 << 20))
			_exit(11);
		q = vcore_get_eventq(EV_MBOX_UCQ);
		if (!q)
			_exit(12);
		if (send(&d, q, EV_USER_IPI, 7, 0))
			_exit(13);
		if (!vcore_extract_one_mbox_msg((void *)(uintptr_t)q->ev_mbox, &msg) ||
		    msg.ev_type != EV_USER_IPI || msg.ev_arg2 != 7)
			_exit(14);
		ret = (void *)(intptr_t)vcore_uthread_lib_init(&d);
		if (ret) {
			fprintf(stderr, "vcore_uthread_lib_init: %s\n",
				strerror(-(int)(intptr_t)ret));
			_exit(15);
		}
		u = vcore_uthread_create(forty_two, NULL);
		if (!u || vcore_uthread_join(u, &ret) || ret != (void *)42)
			_exit(16);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* ---- the alarm service ---- */

#define NR_ALARMS	20

static struct {
	struct vcore_alarm_waiter w[NR_ALARMS], never, pvc;
	unsigned int ran, in_vcore_ctx, not_early, pvc_vcore, pvc_ran;
	unsigned int rearmed;
} al;

/* Any vcore may run it, several at once: counted atomically. */
static void alarm_fn(struct vcore_alarm_waiter *w)
{
	if (vcore_in_vcore_context())
		__atomic_fetch_add(&al.in_vcore_ctx, 1, __ATOMIC_RELAXED);
	if (vcore_alarm_now() >= w->wake_up_time)
		__atomic_fetch_add(&al.not_early, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&al.ran, 1, __ATOMIC_RELEASE);
}

static void never_fn(struct vcore_alarm_waiter *w)
{
	(void)w;
	__atomic_fetch_add(&al.ran, 1000, __ATOMIC_RELEASE);
}

/* Per-vcore: runs on its vcore, and re-arms itself twice (Akaros style). */
static void pvc_fn(struct vcore_alarm_waiter *w)
{
	if (vcore_in_vcore_context() && vcore_id() == w->vcoreid)
		al.pvc_vcore++;
	if (al.rearmed < 2) {
		al.rearmed++;
		vcore_set_awaiter_inc(w, 1000000);
		if (vcore_set_pvc_alarm(w, w->vcoreid, false))
			al.rearmed = 100;
	}
	__atomic_fetch_add(&al.pvc_ran, 1, __ATOMIC_RELEASE);
}

static void *alarm_uthread(void *arg)
{
	unsigned int i, spins;
	__u64 t0 = vcore_alarm_now();

	(void)arg;
	vcore_init_awaiter(&al.never, never_fn);
	vcore_set_awaiter_rel(&al.never, 3600ULL * 1000000000ULL);
	if (vcore_set_alarm(&al.never))
		return (void *)1;
	for (i = NR_ALARMS; i-- > 0;) {
		vcore_init_awaiter(&al.w[i], alarm_fn);
		vcore_set_awaiter_abs(&al.w[i], t0 + (i + 1) * 2000000ULL);
		if (vcore_set_alarm(&al.w[i]))
			return (void *)2;
	}
	for (spins = 0; __atomic_load_n(&al.ran, __ATOMIC_ACQUIRE) < NR_ALARMS &&
	     spins < 20000000; spins++)
		vcore_uthread_yield();
	if (!vcore_unset_alarm(&al.never))
		return (void *)3;
	/* fired ones are not armed any more */
	if (vcore_unset_alarm(&al.w[0]))
		return (void *)4;
	/* a per-vcore alarm for the vcore this uthread runs on now */
	vcore_init_awaiter(&al.pvc, pvc_fn);
	vcore_set_awaiter_rel(&al.pvc, 1000000);
	if (vcore_set_pvc_alarm(&al.pvc, vcore_id(), false))
		return (void *)5;
	for (spins = 0; __atomic_load_n(&al.pvc_ran, __ATOMIC_ACQUIRE) < 3 &&
	     spins < 20000000; spins++)
		vcore_uthread_yield();
	return NULL;
}

TEST_F_TIMEOUT(lib, alarm_handlers_run_in_vcore_context, 300)
{
	struct uthread *u;
	void *ret = (void *)-1;

	ASSERT_EQ(0, vcore_uthread_lib_init(&self->dev));
	ASSERT_EQ(0, vcore_alarm_service_init(&self->dev));
	EXPECT_EQ(0, vcore_alarm_service_init(&self->dev));
	memset(&al, 0, sizeof(al));
	u = vcore_uthread_create(alarm_uthread, NULL);
	ASSERT_NE(NULL, u);
	ASSERT_EQ(0, vcore_uthread_join(u, &ret));
	EXPECT_EQ(NULL, ret);
	EXPECT_EQ(NR_ALARMS, al.ran);
	EXPECT_EQ(NR_ALARMS, al.in_vcore_ctx);
	EXPECT_EQ(NR_ALARMS, al.not_early);
	EXPECT_EQ(3, al.pvc_ran);
	EXPECT_EQ(3, al.pvc_vcore);
	EXPECT_EQ(2, al.rearmed);
}

/* ---- fd taps and epoll on a CEQ ---- */

static int ep_ctl(struct vcore_epoll *ep, int op, int fd, __u32 events,
		  __u64 data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return vcore_epoll_ctl(ep, op, fd, &ev);
}

TEST_F(lib, tap_fd_sends_through_an_ev_q)
{
	struct event_queue *q = vcore_get_eventq(EV_MBOX_UCQ);
	struct event_msg msg;
	int p[2];

	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	ASSERT_EQ(0, vcore_tap_fd(&self->dev, p[0], VCORE_TAP_READABLE, q, 3,
				  33, 0));
	ASSERT_EQ(-EEXIST, vcore_tap_fd(&self->dev, p[0], VCORE_TAP_READABLE,
					q, 3, 33, 0));
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_TRUE(vcore_extract_one_mbox_msg(event_q_mbox(q), &msg));
	EXPECT_EQ(3, msg.ev_type);
	EXPECT_EQ(VCORE_TAP_READABLE, msg.ev_arg2);
	EXPECT_EQ(33, msg.ev_arg3);
	ASSERT_EQ(0, vcore_tap_fd_mod(&self->dev, p[0], VCORE_TAP_READABLE, q,
				      4, 44, VCORE_TAP_INITIAL));
	ASSERT_TRUE(vcore_extract_one_mbox_msg(event_q_mbox(q), &msg));
	EXPECT_EQ(4, msg.ev_type);
	ASSERT_EQ(0, vcore_untap_fd(&self->dev, p[0]));
	EXPECT_EQ(-ENOENT, vcore_untap_fd(&self->dev, p[0]));
	vcore_put_eventq(q);
}

TEST_F(lib, tap_fds_stops_at_the_first_failure)
{
	struct event_queue *q = vcore_get_eventq(EV_MBOX_UCQ);
	struct vcore_tap_req r[3];
	int a = eventfd(0, 0), b = eventfd(0, 0), i;

	ASSERT_NE(NULL, q);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		r[i].cmd = VCORE_TAP_ADD;
		r[i].filter = VCORE_TAP_READABLE;
		r[i].ev_q = (uintptr_t)q;
	}
	r[0].fd = a;
	r[1].fd = b;
	r[2].fd = a;		/* EEXIST */
	EXPECT_EQ(2, vcore_tap_fds(&self->dev, r, 3));
	EXPECT_EQ(-EEXIST, vcore_tap_fds(&self->dev, &r[2], 1));
	vcore_put_eventq(q);
}

TEST_F(lib, epoll_polled_level_edge_oneshot_and_errors)
{
	struct vcore_epoll *ep = vcore_epoll_create(&self->dev, 256);
	struct epoll_event ev[4];
	int p[2], e = eventfd(0, EFD_NONBLOCK), f;
	__u64 one = 1;
	char c;

	ASSERT_NE(NULL, ep);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	ASSERT_EQ(0, ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1));
	ASSERT_EQ(0, ep_ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLET, 2));
	EXPECT_EQ(0, vcore_epoll_wait(ep, ev, 4, 0));
	/* level-triggered: reported while it holds */
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_EQ(1, vcore_epoll_wait(ep, ev, 4, 0));
	EXPECT_EQ(EPOLLIN, ev[0].events);
	EXPECT_EQ(1, ev[0].data.u64);
	ASSERT_EQ(1, vcore_epoll_wait(ep, ev, 4, 0));
	ASSERT_EQ(1, read(p[0], &c, 1));
	EXPECT_EQ(0, vcore_epoll_wait(ep, ev, 4, 0));
	/* edge-triggered: once per write */
	ASSERT_EQ(8, write(e, &one, 8));
	ASSERT_EQ(1, vcore_epoll_wait(ep, ev, 4, 0));
	EXPECT_EQ(2, ev[0].data.u64);
	EXPECT_EQ(0, vcore_epoll_wait(ep, ev, 4, 0));
	/* oneshot: once, until MOD (which reports what holds) */
	ASSERT_EQ(0, ep_ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN | EPOLLONESHOT, 3));
	ASSERT_EQ(1, vcore_epoll_wait(ep, ev, 4, 0));
	EXPECT_EQ(3, ev[0].data.u64);
	ASSERT_EQ(8, write(e, &one, 8));
	EXPECT_EQ(0, vcore_epoll_wait(ep, ev, 4, 0));
	ASSERT_EQ(0, ep_ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN, 4));
	ASSERT_EQ(1, vcore_epoll_wait(ep, ev, 4, 0));
	/* no room: the rest come next time */
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_EQ(1, vcore_epoll_wait(ep, ev, 1, 0));
	ASSERT_EQ(1, vcore_epoll_wait(ep, ev, 4, 0) == 2);
	/* a hang-up is always reported */
	close(p[1]);
	ASSERT_EQ(2, vcore_epoll_wait(ep, ev, 4, 0));
	EXPECT_TRUE((ev[0].events | ev[1].events) & EPOLLHUP);
	/* a timeout with nothing ready, from a thread that is no uthread */
	ASSERT_EQ(0, ep_ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0));
	ASSERT_EQ(0, ep_ctl(ep, EPOLL_CTL_DEL, e, 0, 0));
	EXPECT_EQ(0, vcore_epoll_wait(ep, ev, 4, 20));
	/* errors */
	EXPECT_EQ(-ENOENT, ep_ctl(ep, EPOLL_CTL_DEL, e, 0, 0));
	EXPECT_EQ(-ENOENT, ep_ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN, 0));
	EXPECT_EQ(-EBADF, ep_ctl(ep, EPOLL_CTL_ADD, -1, EPOLLIN, 0));
	EXPECT_EQ(-EINVAL, ep_ctl(ep, EPOLL_CTL_ADD, 300, EPOLLIN, 0));
	EXPECT_EQ(-EINVAL, ep_ctl(ep, EPOLL_CTL_ADD, e, EPOLLEXCLUSIVE, 0));
	EXPECT_EQ(-EINVAL, ep_ctl(ep, 99, e, EPOLLIN, 0));
	EXPECT_EQ(-EINVAL, vcore_epoll_wait(ep, ev, 0, 0));
	ASSERT_EQ(0, ep_ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN, 0));
	EXPECT_EQ(-EEXIST, ep_ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN, 0));
	f = open("/proc/self/exe", O_RDONLY);
	ASSERT_LE(0, f);
	EXPECT_EQ(-EPERM, ep_ctl(ep, EPOLL_CTL_ADD, f, EPOLLIN, 0));
	close(f);
	vcore_epoll_close(ep);
	EXPECT_EQ(0, vt_read_live_taps());
}

struct ep_waiter {
	struct vcore_epoll *ep;
	int timeout_ms;
	struct epoll_event ev;
};

static void *ep_wait_uthread(void *arg)
{
	struct ep_waiter *w = arg;

	return (void *)(intptr_t)vcore_epoll_wait(w->ep, &w->ev, 1,
						  w->timeout_ms);
}

static void *write_later(void *arg)
{
	usleep(50000);
	if (write(*(int *)arg, "x", 1) != 1)
		return (void *)1;
	return NULL;
}

/*
 * A uthread blocks in vcore_epoll_wait(): a write from another thread
 * wakes it through the tap, the ev_q's INDIR and its vcore's handler;
 * with nothing to wake it, the instance's timerfd tap ends the wait.
 */
TEST_F_TIMEOUT(lib, epoll_wait_blocks_a_uthread, 120)
{
	struct vcore_epoll *ep;
	struct ep_waiter w = { 0 };
	struct uthread *u;
	pthread_t th;
	void *ret;
	int p[2];

	ASSERT_EQ(0, vcore_uthread_lib_init(&self->dev));
	ep = vcore_epoll_create(&self->dev, 64);
	ASSERT_NE(NULL, ep);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	ASSERT_EQ(0, ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLET, 77));
	w.ep = ep;
	w.timeout_ms = -1;
	u = vcore_uthread_create(ep_wait_uthread, &w);
	ASSERT_NE(NULL, u);
	ASSERT_EQ(0, pthread_create(&th, NULL, write_later, &p[1]));
	ASSERT_EQ(0, vcore_uthread_join(u, &ret));
	pthread_join(th, NULL);
	EXPECT_EQ(1, (int)(intptr_t)ret);
	EXPECT_EQ(77, w.ev.data.u64);
	EXPECT_EQ(EPOLLIN, w.ev.events);
	/* a timeout: nothing fires but the timer */
	w.timeout_ms = 30;
	u = vcore_uthread_create(ep_wait_uthread, &w);
	ASSERT_NE(NULL, u);
	ASSERT_EQ(0, vcore_uthread_join(u, &ret));
	EXPECT_EQ(0, (int)(intptr_t)ret);
	vcore_epoll_close(ep);
}

static unsigned int sig_seen, sig_in_vcore_ctx, sig_last;

static void on_signal_event(struct event_msg *msg, unsigned int ev_type,
			    void *data)
{
	__atomic_store_n(&sig_last, msg->ev_arg1, __ATOMIC_RELAXED);
	if (vcore_in_vcore_context())
		__atomic_fetch_add(&sig_in_vcore_ctx, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sig_seen, 1, __ATOMIC_RELEASE);
}

/* A uthread keeps a vcore busy until the handler has seen n signals. */
static void *wait_for_signals(void *arg)
{
	unsigned int n = (uintptr_t)arg;
	int i;

	for (i = 0; i < 2000000 &&
	     __atomic_load_n(&sig_seen, __ATOMIC_ACQUIRE) < n; i++)
		vcore_uthread_yield();
	return NULL;
}

/*
 * Signals as events: SIGUSR1 (whose default would kill us) and SIGUSR2
 * become EV_POSIX_SIGNAL handled in vcore context, through a tapped
 * signalfd, interrupting a uthread that runs on a vcore.
 */
TEST_F_TIMEOUT(lib, signals_arrive_as_events_in_vcore_context, 120)
{
	struct uthread *u;
	sigset_t set;
	int sig;

	ASSERT_EQ(0, vcore_uthread_lib_init(&self->dev));
	ASSERT_EQ(0, vcore_register_ev_handler(EV_POSIX_SIGNAL,
					       on_signal_event, NULL));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	ASSERT_EQ(0, vcore_signals_as_events(&self->dev, &set));
	EXPECT_EQ(-EBUSY, vcore_signals_as_events(&self->dev, &set));
	for (sig = SIGUSR1; sig <= SIGUSR2; sig += SIGUSR2 - SIGUSR1) {
		unsigned int n = sig == SIGUSR1 ? 1 : 2;

		u = vcore_uthread_create(wait_for_signals,
					 (void *)(uintptr_t)n);
		ASSERT_NE(NULL, u);
		ASSERT_EQ(0, kill(getpid(), sig));
		ASSERT_EQ(0, vcore_uthread_join(u, NULL));
		ASSERT_EQ(n, __atomic_load_n(&sig_seen, __ATOMIC_ACQUIRE));
		EXPECT_EQ(sig, sig_last);
	}
	EXPECT_EQ(2, sig_in_vcore_ctx);
	vcore_signals_as_events_stop();
}

TEST_HARNESS_MAIN
