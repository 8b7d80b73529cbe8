// SPDX-License-Identifier: GPL-2.0
/*
 * Event delivery through /dev/vcore: the arena, send_event's flags and
 * fallback branches, the three mailbox types, kernel producers, and
 * hostile input.  Needs vcore.ko loaded with test=1.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/vcore_test.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"

#define PAGE		4096UL
#define ARENA_SIZE	(16UL << 20)

struct mcp {
	int fd;
	struct vcore_api api;
	const struct vcore_procinfo *pi;
	struct vcore_procdata *pd;
	char *arena;
};

static struct vcore_preempt_data *vcpd(struct mcp *m, unsigned int v)
{
	return (void *)((char *)m->pd + m->api.vcpd_offset +
			(size_t)v * m->api.vcpd_size);
}

static int mcp_open(struct mcp *m)
{
	struct vt_mcp r;
	int ret = vt_mcp_open(&r, ARENA_SIZE);

	m->fd = r.fd;
	m->api = r.api;
	m->pi = r.pi;
	m->pd = r.pd;
	m->arena = r.arena;
	return ret;
}

static void *pages(struct mcp *m, unsigned int n)
{
	return vt_arena_pages(m->fd, n);
}

static struct vcore_stats stats(struct mcp *m)
{
	struct vcore_stats s;

	memset(&s, 0xff, sizeof(s));
	vt_ioctl(m->fd, VCORE_IOC_GET_STATS, &s);
	return s;
}

/* A single-consumer UCQ reader: enough to check what the kernel wrote. */
struct ucq_reader {
	struct mcp *m;
	struct ucq *ucq;
	__u64 pages_freed;
};

static void mbox_init_ucq(struct mcp *m, struct event_mbox *mb)
{
	memset(mb, 0, sizeof(*mb));
	mb->type = EV_MBOX_UCQ;
	vt_ucq_init(m->fd, &mb->ucq);
}

static int ucq_get(struct ucq_reader *r, struct event_msg *msg)
{
	return vt_ucq_get(r->m->fd, r->ucq, msg, &r->pages_freed);
}

static int drain_count(struct mcp *m, struct ucq *u, __u16 type)
{
	struct ucq_reader r = { .m = m, .ucq = u };
	struct event_msg msg;
	int n = 0;

	while (ucq_get(&r, &msg))
		n += msg.ev_type == type;
	return n;
}

static struct event_queue *evq_new(struct mcp *m, __u32 flags,
				   struct event_mbox *mb)
{
	struct event_queue *q = pages(m, 1);

	q->ev_mbox = (uintptr_t)mb;
	q->ev_flags = flags;
	return q;
}

static int send(struct mcp *m, void *evq, __u16 type, __u32 arg2,
		__u32 vcoreid)
{
	struct vcore_send_event s = {
		.ev_q = (uintptr_t)evq,
		.msg = { .ev_type = type, .ev_arg2 = arg2 },
		.vcoreid = vcoreid,
	};

	return vt_ioctl(m->fd, VCORE_IOC_SEND_EVENT, &s);
}

/* state, then for each list a -1-terminated head-first list of vcores */
static int arrange(struct mcp *m, __u32 state, const int *online,
		   const int *bulk, const int *inactive)
{
	struct vcore_test_arrange a = { .state = state };
	const int *lists[3] = { online, bulk, inactive };
	unsigned int n = 0, l, i;

	for (l = 0; l < 3; l++)
		for (i = 0; lists[l] && lists[l][i] >= 0; i++) {
			a.list_of[lists[l][i]] = l;
			a.order[n++] = lists[l][i];
		}
	return n == m->api.max_vcores ?
	       vt_ioctl(m->fd, VCORE_IOC_TEST_ARRANGE, &a) : -E2BIG;
}

FIXTURE(ev) {
	struct mcp m;
	unsigned int nv;
};

FIXTURE_SETUP(ev)
{
	unsigned int v;

	if (access(VCORE_DEV, F_OK))
		SETUP_SKIP("module not loaded");
	ASSERT_EQ(0, mcp_open(&self->m));
	if (!(self->m.api.features & VCORE_FEAT_TEST))
		SETUP_SKIP("needs the test build loaded with test=1");
	self->nv = self->m.api.max_vcores;
	for (v = 0; v < self->nv; v++) {
		mbox_init_ucq(&self->m, &vcpd(&self->m, v)->ev_mbox_public);
		mbox_init_ucq(&self->m, &vcpd(&self->m, v)->ev_mbox_private);
	}
}

FIXTURE_TEARDOWN(ev)
{
	if (self->m.fd >= 0)
		close(self->m.fd);
}

#define PUB(v)	(&vcpd(&self->m, (v))->ev_mbox_public.ucq)
#define PRIV(v)	(&vcpd(&self->m, (v))->ev_mbox_private.ucq)

/* ---- arena ---- */

TEST_F(ev, setup_is_once_and_sized)
{
	struct vcore_setup s = { .arena_size = PAGE };

	EXPECT_EQ(-EBUSY, vt_ioctl(self->m.fd, VCORE_IOC_SETUP, &s));
	EXPECT_EQ(ARENA_SIZE <= self->m.api.arena_max_size, 1);
}

TEST(setup_bad_sizes_are_einval)
{
	struct vcore_api api;
	struct vcore_setup s = { 0 };
	struct vcore_arena_alloc a = { .nr_pages = 1 };
	int fd = vt_open();

	if (fd < 0)
		SKIP(return, "no %s", VCORE_DEV);
	ASSERT_EQ(0, vt_handshake(fd, &api));
	EXPECT_EQ(-ENXIO, vt_ioctl(fd, VCORE_IOC_ARENA_ALLOC, &a));
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_SETUP, &s));
	s.arena_size = PAGE + 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_SETUP, &s));
	s.arena_size = api.arena_max_size + PAGE;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_SETUP, &s));
	s.arena_size = PAGE;
	s.flags = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_SETUP, &s));
	s.flags = 0;
	EXPECT_EQ(0, vt_ioctl(fd, VCORE_IOC_SETUP, &s));
	/* set up but not mapped */
	EXPECT_EQ(-ENXIO, vt_ioctl(fd, VCORE_IOC_ARENA_ALLOC, &a));
	close(fd);
}

TEST_F(ev, arena_pages_alloc_and_free)
{
	struct vcore_arena_alloc a = { .nr_pages = 4 };
	char *p;

	ASSERT_EQ(0, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_ALLOC, &a));
	p = (char *)(uintptr_t)a.addr;
	EXPECT_TRUE(p >= self->m.arena && p + 4 * PAGE <= self->m.arena +
		    ARENA_SIZE);
	EXPECT_EQ(0, a.addr % PAGE);
	EXPECT_EQ(0, p[0] | p[4 * PAGE - 1]);
	EXPECT_EQ(0, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_FREE, &a));
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_FREE, &a));
	a.addr += 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_FREE, &a));
	a.addr = (uintptr_t)self->m.arena + ARENA_SIZE;
	a.nr_pages = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_FREE, &a));
	a.addr = 0;
	a.nr_pages = ARENA_SIZE / PAGE + 1;
	EXPECT_EQ(-ENOMEM, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_ALLOC, &a));
}

/*
 * Every number a caller hands the module that reaches arithmetic, at its
 * extremes: sizes, page counts, addresses near the top of the address
 * space, node, CPU, vcore and pid ids, a wanted count from shared memory,
 * and the test producers' type range.  Each is refused with its errno (or
 * clamped, for amt_wanted) and never wraps into something accepted.
 */
TEST_F(ev, user_numbers_at_their_extremes)
{
	static const __u64 sizes[] = {
		~0ULL, ~0ULL & ~(PAGE - 1), 1ULL << 63, (1ULL << 52) + PAGE,
	};
	static const __s32 nodes[] = { INT32_MIN, -2, 1 << 20, INT32_MAX };
	struct vcore_arena_alloc a = { 0 };
	struct vcore_setup su = { 0 };
	struct vcore_self_notify sn = { .vcoreid = UINT32_MAX };
	struct vcore_notify n = { .msg.ev_type = EV_USER_IPI };
	struct vcore_node_req nr = { 0 };
	struct vcore_test_produce pr = { .nr_producers = 1 };
	struct vcore_test_ipi ipi = { .cpu = UINT32_MAX };
	__u64 base = (uintptr_t)self->m.arena, top;
	unsigned int i;
	void *p;
	int ret;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		su.arena_size = sizes[i];
		EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_SETUP, &su));
	}

	a.nr_pages = UINT32_MAX;
	EXPECT_EQ(-ENOMEM, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_ALLOC, &a));
	a.nr_pages = 1;
	a.flags = VCORE_ARENA_NODE;
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		a.node = nodes[i];
		EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_ALLOC, &a));
		nr.node = nodes[i];
		EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_SET_NODE, &nr));
	}

	/* frees whose end wraps past 2^64 or runs off the arena */
	a.flags = 0;
	a.node = 0;
	top = ~0ULL & ~(PAGE - 1);
	a.addr = top;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_FREE, &a));
	a.addr = base;
	a.nr_pages = UINT32_MAX;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_FREE, &a));
	a.addr = base + ARENA_SIZE - PAGE;
	a.nr_pages = 2;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_FREE, &a));
	a.addr = base - PAGE;
	a.nr_pages = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_FREE, &a));

	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_SELF_NOTIFY, &sn));
	n.target_fd = INT32_MIN;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_NOTIFY, &n));
	n.target_fd = INT32_MAX;
	EXPECT_EQ(-EBADF, vt_ioctl(self->m.fd, VCORE_IOC_NOTIFY, &n));
	n.target_fd = -1;
	n.target_pid = INT32_MIN;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_NOTIFY, &n));
	n.target_pid = INT32_MAX;
	EXPECT_EQ(-ESRCH, vt_ioctl(self->m.fd, VCORE_IOC_NOTIFY, &n));

	/* shared memory asks for every vcore there could be, and more */
	self->m.pd->res_req[VCORE_RES_CORES].amt_wanted = ~0ULL;
	self->m.pd->res_req[VCORE_RES_CORES].amt_wanted_min = ~0ULL;
	ret = ioctl(self->m.fd, VCORE_IOC_POKE);
	EXPECT_GE(ret, 0);
	EXPECT_LE(ret, (int)self->nv);
	self->m.pd->res_req[VCORE_RES_CORES].amt_wanted = 0;
	self->m.pd->res_req[VCORE_RES_CORES].amt_wanted_min = 0;

	/* a mapping offset at the top of what mmap(2) accepts */
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->m.fd,
		 (off_t)(0x7fffffffffffffffULL & ~(PAGE - 1)));
	EXPECT_EQ(MAP_FAILED, p);

	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_TEST_IPI, &ipi));
	pr.ev_q = (uintptr_t)pages(&self->m, 1);
	pr.ev_type = UINT16_MAX;
	pr.nr_types = 2;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_TEST_PRODUCE, &pr));
	pr.ev_type = 0;
	pr.nr_types = 0;
	pr.mode = UINT32_MAX;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_TEST_PRODUCE, &pr));
	pr.mode = 0;
	pr.nr_producers = UINT32_MAX;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_TEST_PRODUCE, &pr));
}

/* ---- mailboxes ---- */

TEST_F(ev, ucq_delivers_in_order_across_pages)
{
	struct event_mbox *mb = pages(&self->m, 1);
	struct event_queue *q;
	struct ucq_reader r = { .m = &self->m };
	struct event_msg msg;
	unsigned int i, n = 1000;

	mbox_init_ucq(&self->m, mb);
	q = evq_new(&self->m, 0, mb);
	r.ucq = &mb->ucq;
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, send(&self->m, q, 7, i, 0));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(1, ucq_get(&r, &msg));
		ASSERT_EQ(7, msg.ev_type);
		ASSERT_EQ(i, msg.ev_arg2);
	}
	EXPECT_EQ(0, ucq_get(&r, &msg));
	EXPECT_EQ(n, stats(&self->m).posted[EV_MBOX_UCQ]);
	/* 1000 messages span 8 pages: one was the spare, the rest new */
	EXPECT_LE(6, mb->ucq.nr_extra_pgs + r.pages_freed);
}

TEST_F(ev, bitmap_sets_bits_and_bounds_types)
{
	struct event_mbox *mb = pages(&self->m, 1);
	struct event_queue *q;

	mb->type = EV_MBOX_BITMAP;
	q = evq_new(&self->m, 0, mb);
	EXPECT_EQ(0, send(&self->m, q, 3, 0, 0));
	EXPECT_EQ(0, send(&self->m, q, 49, 0, 0));
	EXPECT_EQ((1ULL << 3) | (1ULL << 49), mb->evbm.bitmap[0]);
	EXPECT_EQ(1, mb->evbm.check_bits);
	EXPECT_EQ(0, send(&self->m, q, VCORE_MAX_NR_EVENT, 0, 0));
	EXPECT_EQ(1, stats(&self->m).dropped[VCORE_DROP_BAD_EV_TYPE]);
	EXPECT_EQ(2, stats(&self->m).posted[EV_MBOX_BITMAP]);
}

static struct event_mbox *ceq_new(struct mcp *m, __u8 op, __u32 nr_events,
				  __u32 ring_sz)
{
	struct event_mbox *mb = pages(m, 1);
	__s32 *ring = pages(m, 1);
	unsigned int i;

	for (i = 0; i < ring_sz; i++)
		ring[i] = -1;
	mb->type = EV_MBOX_CEQ;
	mb->ceq.events = (uintptr_t)pages(m, 1);
	mb->ceq.ring = (uintptr_t)ring;
	mb->ceq.nr_events = nr_events;
	mb->ceq.ring_sz = ring_sz;
	mb->ceq.operation = op;
	mb->ceq.max_event_ever = -1;
	return mb;
}

TEST_F(ev, ceq_or_coalesces)
{
	struct event_mbox *mb = ceq_new(&self->m, CEQ_OR, 32, 8);
	struct ceq_event *e = (void *)(uintptr_t)mb->ceq.events;
	__s32 *ring = (void *)(uintptr_t)mb->ceq.ring;
	struct event_queue *q = evq_new(&self->m, 0, mb);

	EXPECT_EQ(0, send(&self->m, q, 5, 1, 0));
	EXPECT_EQ(0, send(&self->m, q, 5, 2, 0));
	EXPECT_EQ(0, send(&self->m, q, 5, 4, 0));
	EXPECT_EQ(7, e[5].coalesce);
	EXPECT_EQ(1, e[5].idx_posted);
	EXPECT_EQ(5, ring[0]);
	EXPECT_EQ(-1, ring[1]);
	EXPECT_EQ(1, mb->ceq.prod_idx);
	EXPECT_EQ(5, mb->ceq.max_event_ever);
}

TEST_F(ev, ceq_add_coalesces)
{
	struct event_mbox *mb = ceq_new(&self->m, CEQ_ADD, 32, 8);
	struct ceq_event *e = (void *)(uintptr_t)mb->ceq.events;
	struct event_queue *q = evq_new(&self->m, 0, mb);
	unsigned int i;

	for (i = 1; i <= 100; i++)
		EXPECT_EQ(0, send(&self->m, q, 9, i, 0));
	EXPECT_EQ(5050, e[9].coalesce);
	EXPECT_EQ(1, mb->ceq.prod_idx);
}

TEST_F(ev, ceq_full_ring_sets_overflow_and_keeps_entries)
{
	struct event_mbox *mb = ceq_new(&self->m, CEQ_OR, 32, 2);
	struct ceq_event *e = (void *)(uintptr_t)mb->ceq.events;
	struct event_queue *q = evq_new(&self->m, 0, mb);
	unsigned int t;

	for (t = 1; t <= 4; t++)
		EXPECT_EQ(0, send(&self->m, q, t, 1U << t, 0));
	EXPECT_EQ(1, mb->ceq.ring_overflowed);
	EXPECT_EQ(2, mb->ceq.prod_idx);
	EXPECT_EQ(4, mb->ceq.max_event_ever);
	/* no event type is lost: a scan up to max_event_ever finds them */
	for (t = 1; t <= 4; t++)
		EXPECT_EQ(1U << t, e[t].coalesce);
	/* a type past nr_events cannot be represented */
	EXPECT_EQ(0, send(&self->m, q, 40, 1, 0));
	EXPECT_EQ(1, stats(&self->m).dropped[VCORE_DROP_BAD_EV_TYPE]);
}

/* ---- routing ---- */

TEST_F(ev, vcpd_mboxes_public_and_private)
{
	struct event_queue *q = evq_new(&self->m, 0, NULL);
	unsigned int v = self->nv - 1;

	q->ev_vcore = v;
	EXPECT_EQ(0, send(&self->m, q, 11, 0, 0));
	EXPECT_EQ(1, drain_count(&self->m, PUB(v), 11));
	q->ev_flags = EVENT_VCORE_PRIVATE;
	EXPECT_EQ(0, send(&self->m, q, 11, 0, 0));
	EXPECT_EQ(1, drain_count(&self->m, PRIV(v), 11));
	EXPECT_EQ(0, drain_count(&self->m, PUB(v), 11));
	/* a plain post does not set notif_pending: only alerts do */
	EXPECT_EQ(0, vcpd(&self->m, v)->notif_pending);
}

TEST_F(ev, indir_posts_ev_event_and_throttles)
{
	struct event_mbox *mb = pages(&self->m, 1);
	struct event_queue *q;
	struct ucq_reader r = { .m = &self->m, .ucq = PUB(0) };
	struct event_msg msg;

	mbox_init_ucq(&self->m, mb);
	q = evq_new(&self->m, EVENT_INDIR, mb);
	EXPECT_EQ(0, send(&self->m, q, 7, 0, 0));
	EXPECT_EQ(0, send(&self->m, q, 7, 0, 0));
	ASSERT_EQ(1, ucq_get(&r, &msg));
	EXPECT_EQ(EV_EVENT, msg.ev_type);
	EXPECT_EQ((uintptr_t)q, msg.ev_arg3);
	EXPECT_EQ(0, ucq_get(&r, &msg));	/* throttled */
	EXPECT_EQ(1, q->ev_alert_pending);
	EXPECT_EQ(1, vcpd(&self->m, 0)->notif_pending);
	/* user space clears it before draining: the next post alerts again */
	q->ev_alert_pending = 0;
	EXPECT_EQ(0, send(&self->m, q, 7, 0, 0));
	EXPECT_EQ(1, ucq_get(&r, &msg));
	q->ev_flags |= EVENT_NOTHROTTLE;
	EXPECT_EQ(0, send(&self->m, q, 7, 0, 0));
	EXPECT_EQ(0, send(&self->m, q, 7, 0, 0));
	EXPECT_EQ(2, drain_count(&self->m, PUB(0), EV_EVENT));
	EXPECT_EQ(5, drain_count(&self->m, &mb->ucq, 7));
	EXPECT_EQ(4, stats(&self->m).indirs);
}

TEST_F(ev, ipi_only_to_mapped_vcores_with_notifs_enabled)
{
	int on[] = { 0, -1 }, rest[VCORE_MAX_VCORES + 1];
	struct event_queue *q = evq_new(&self->m, EVENT_IPI, NULL);
	unsigned int v;

	for (v = 1; v < self->nv; v++)
		rest[v - 1] = v;
	rest[self->nv - 1] = -1;
	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_RUNNING_M, on, NULL, rest));
	EXPECT_EQ(1, self->m.pi->num_vcores);
	EXPECT_EQ(1, self->m.pi->vcoremap[0].valid);
	EXPECT_EQ(VCORE_PROC_RUNNING_M, self->m.pi->state);
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	EXPECT_EQ(1, stats(&self->m).notifs);
	EXPECT_EQ(1, vcpd(&self->m, 0)->notif_pending);
	vcpd(&self->m, 0)->notif_disabled = 1;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	EXPECT_EQ(1, stats(&self->m).notifs);
	if (self->nv > 1) {
		q->ev_vcore = 1;	/* not mapped */
		EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
		EXPECT_EQ(1, stats(&self->m).notifs);
		EXPECT_EQ(0, vcpd(&self->m, 1)->notif_pending);
	}
}

TEST_F(ev, spam_public_single_core_process_goes_to_vcore0)
{
	struct event_queue *q = evq_new(&self->m, EVENT_SPAM_PUBLIC, NULL);

	q->ev_vcore = self->nv - 1;
	EXPECT_EQ(0, send(&self->m, q, 12, 0, 0));
	EXPECT_EQ(1, drain_count(&self->m, PUB(0), 12));
	EXPECT_EQ(1, vcpd(&self->m, 0)->notif_pending);
}

FIXTURE(fb) {
	struct mcp m;
	unsigned int nv;
	struct event_queue *q;
};

FIXTURE_SETUP(fb)
{
	unsigned int v;

	if (access(VCORE_DEV, F_OK))
		SETUP_SKIP("module not loaded");
	ASSERT_EQ(0, mcp_open(&self->m));
	if (!(self->m.api.features & VCORE_FEAT_TEST))
		SETUP_SKIP("needs the test build loaded with test=1");
	self->nv = self->m.api.max_vcores;
	if (self->nv < 3)
		SETUP_SKIP("needs 3 vcores, have %u", self->nv);
	for (v = 0; v < self->nv; v++)
		mbox_init_ucq(&self->m, &vcpd(&self->m, v)->ev_mbox_public);
	self->q = evq_new(&self->m, EVENT_SPAM_PUBLIC, NULL);
	self->q->ev_vcore = 0;
}

FIXTURE_TEARDOWN(fb)
{
	if (self->m.fd >= 0)
		close(self->m.fd);
}

#define FPUB(v)	(&vcpd(&self->m, (v))->ev_mbox_public.ucq)

static int where(struct mcp *m, unsigned int nv)
{
	unsigned int v;
	int found = -1;

	for (v = 0; v < nv; v++)
		if (drain_count(m, &vcpd(m, v)->ev_mbox_public.ucq, 12)) {
			if (found >= 0)
				return -2;
			found = v;
		}
	return found;
}

TEST_F(fb, preferred_vcore_that_will_look)
{
	int on[] = { 1, 2, -1 }, in[] = { 0, -1 };

	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_RUNNING_M, on, NULL, in));
	vcpd(&self->m, 0)->flags = VC_CAN_RCV_MSG;
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(0, where(&self->m, 3));
}

TEST_F(fb, online_list_head)
{
	int on[] = { 2, 1, -1 }, in[] = { 0, -1 };

	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_RUNNING_M, on, NULL, in));
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(2, where(&self->m, 3));
}

TEST_F(fb, bulk_preempted_list_head)
{
	int bp[] = { 1, 2, -1 }, in[] = { 0, -1 };

	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_RUNNABLE_M, NULL, bp, in));
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(1, where(&self->m, 3));
}

TEST_F(fb, inactive_head_that_will_look)
{
	int in[] = { 2, 0, 1, -1 };

	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_RUNNABLE_M, NULL, NULL, in));
	vcpd(&self->m, 2)->flags = VC_CAN_RCV_MSG;
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(2, where(&self->m, 3));
}

TEST_F(fb, ultimate_fallback_marks_inactive_head)
{
	int in[] = { 1, 2, 0, -1 };

	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_WAITING, NULL, NULL, in));
	/* the preferred vcore 0 will not look; WAITING skips the lists */
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(1, where(&self->m, 3));
	EXPECT_NE(0, vcpd(&self->m, 1)->flags & VC_CAN_RCV_MSG);
}

TEST_F(fb, ultimate_fallback_takes_inactive_head_when_runnable)
{
	int in[] = { 1, 0, 2, -1 };

	/* RUNNABLE_M, nothing online, nothing looks: lock and take the
	 * inactive head */
	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_RUNNABLE_M, NULL, NULL, in));
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(1, where(&self->m, 3));
}

TEST_F(fb, must_run_goes_to_mapped_target_or_online_head)
{
	int on[] = { 2, 0, -1 }, in[] = { 1, -1 };

	self->q->ev_flags |= EVENT_VCORE_MUST_RUN;
	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_RUNNING_M, on, NULL, in));
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(0, where(&self->m, 3));
	/* an unmapped target, even one that would look, is passed over */
	self->q->ev_vcore = 1;
	vcpd(&self->m, 1)->flags = VC_CAN_RCV_MSG;
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(2, where(&self->m, 3));
}

TEST_F(fb, wakeup_makes_waiting_runnable)
{
	int in[] = { 0, 1, 2, -1 };

	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_WAITING, NULL, NULL, in));
	self->q->ev_flags |= EVENT_WAKEUP;
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(VCORE_PROC_RUNNABLE_M, self->m.pi->state);
	EXPECT_EQ(0, self->m.pi->coremap_seq & 1);
}

TEST_F(fb, spam_indir_reaches_a_vcore_that_will_look)
{
	struct event_mbox *mb = pages(&self->m, 1);
	int on[] = { 1, -1 }, in[] = { 0, 2, -1 };
	struct event_queue *q;

	mbox_init_ucq(&self->m, mb);
	q = evq_new(&self->m, EVENT_INDIR | EVENT_SPAM_INDIR, mb);
	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_RUNNING_M, on, NULL, in));
	ASSERT_EQ(0, send(&self->m, q, 7, 0, 0));
	EXPECT_EQ(1, drain_count(&self->m, FPUB(1), EV_EVENT));
	EXPECT_EQ(1, drain_count(&self->m, &mb->ucq, 7));
}

TEST_F(fb, roundrobin_cycles_online_vcores_and_survives_none)
{
	int on[] = { 0, 1, 2, -1 }, in[] = { 0, 1, 2, -1 };
	unsigned int i;

	self->q->ev_flags = EVENT_ROUNDROBIN;
	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_RUNNING_M, on, NULL, NULL));
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
		EXPECT_EQ((i + 1) % 3, self->q->ev_vcore);
		EXPECT_EQ((int)((i + 1) % 3), where(&self->m, 3));
	}
	ASSERT_EQ(0, arrange(&self->m, VCORE_PROC_WAITING, NULL, NULL, in));
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 0));
	EXPECT_EQ(0, self->q->ev_vcore);
}

TEST_F(fb, appro_uses_the_suggested_vcore)
{
	self->q->ev_flags = EVENT_VCORE_APPRO;
	self->q->ev_vcore = 0;
	ASSERT_EQ(0, send(&self->m, self->q, 12, 0, 2));
	EXPECT_EQ(2, where(&self->m, 3));
}

/* ---- hostile input ---- */

TEST_F(ev, bad_addresses_are_dropped_and_counted)
{
	struct event_mbox *mb = pages(&self->m, 1);
	struct event_queue *q = evq_new(&self->m, 0, mb);
	char *end = self->m.arena + ARENA_SIZE;
	struct vcore_stats s;

	mbox_init_ucq(&self->m, mb);
	/* a bad ev_q is the caller's own error: EFAULT, and counted */
	EXPECT_EQ(-EFAULT, send(&self->m, (void *)16, 1, 0, 0));
	EXPECT_EQ(-EFAULT, send(&self->m, (char *)q + 4, 1, 0, 0));	/* misaligned */
	EXPECT_EQ(-EFAULT, send(&self->m, end - 32, 1, 0, 0));	/* straddles */
	EXPECT_EQ(-EFAULT, send(&self->m, (void *)self->m.pi, 1, 0, 0));
	s = stats(&self->m);
	EXPECT_EQ(4, s.dropped[VCORE_DROP_BAD_EVQ]);
	q->ev_mbox = (uintptr_t)self->m.pi;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	q->ev_mbox = (uintptr_t)end - 64;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	EXPECT_EQ(2, stats(&self->m).dropped[VCORE_DROP_BAD_MBOX]);
	q->ev_mbox = (uintptr_t)mb;
	q->ev_vcore = 4096;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	EXPECT_EQ(1, stats(&self->m).dropped[VCORE_DROP_BAD_VCOREID]);
	/* and the process still receives later events */
	q->ev_vcore = 0;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	EXPECT_EQ(1, drain_count(&self->m, &mb->ucq, 1));
}

/* Unmaps and maps back the arena, at the same address, until told to stop. */
struct arena_flipper {
	struct mcp *m;
	volatile int stop;
	unsigned int flips;
	int err;
};

static int arena_map_back(struct mcp *m)
{
	void *a = mmap(m->arena, ARENA_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED_NOREPLACE, m->fd,
		       m->api.arena_offset);

	return a == m->arena ? 0 : -1;
}

static void *flip_arena(void *arg)
{
	struct arena_flipper *f = arg;

	while (!f->stop) {
		if (munmap(f->m->arena, ARENA_SIZE) || arena_map_back(f->m)) {
			f->err = errno;
			break;
		}
		f->flips++;
	}
	return NULL;
}

TEST_F(ev, unmapped_arena_evq_is_efault_counted_once)
{
	struct event_mbox *mb = pages(&self->m, 1);
	struct event_queue *q = evq_new(&self->m, 0, mb);
	struct arena_flipper f = { .m = &self->m };
	unsigned int n, ok = 0, efault = 0, other = 0;
	struct vcore_stats s0, s1;
	pthread_t t;
	int ret;

	mb->type = EV_MBOX_BITMAP;
	/* unmapped: the ev_q's address means nothing, the caller hears so */
	s0 = stats(&self->m);
	ASSERT_EQ(0, munmap(self->m.arena, ARENA_SIZE));
	EXPECT_EQ(-EFAULT, send(&self->m, q, 3, 0, 0));
	s1 = stats(&self->m);
	EXPECT_EQ(s0.dropped[VCORE_DROP_BAD_EVQ] + 1,
		  s1.dropped[VCORE_DROP_BAD_EVQ]);
	EXPECT_EQ(s0.sent, s1.sent);
	/* mapped whole again, at the same place, with its contents */
	ASSERT_EQ(0, arena_map_back(&self->m));
	EXPECT_EQ(0, send(&self->m, q, 3, 0, 0));
	EXPECT_EQ(1ULL << 3, mb->evbm.bitmap[0]);

	/*
	 * Sends racing the unmap: each is either accepted (counted as sent)
	 * or an EFAULT counted once as a bad ev_q, never both, never
	 * neither.
	 */
	s0 = stats(&self->m);
	ASSERT_EQ(0, pthread_create(&t, NULL, flip_arena, &f));
	for (n = 0; n < 20000 && (n < 2000 || f.flips < 4) && !f.err; n++) {
		ret = send(&self->m, q, 5, 0, 0);
		if (!ret)
			ok++;
		else if (ret == -EFAULT)
			efault++;
		else
			other++;
	}
	f.stop = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, f.err);
	s1 = stats(&self->m);
	EXPECT_EQ(0, other);
	EXPECT_EQ(s0.dropped[VCORE_DROP_BAD_EVQ] + efault,
		  s1.dropped[VCORE_DROP_BAD_EVQ]);
	EXPECT_EQ(s0.sent + ok, s1.sent);
	TH_LOG("%u sends: %u accepted, %u EFAULT; %u unmaps", n, ok, efault,
	       f.flips);
	/* the arena is mapped again: the ev_q works */
	EXPECT_EQ(0, send(&self->m, q, 7, 0, 0));
	EXPECT_NE(0, mb->evbm.bitmap[0] & (1ULL << 7));
}

TEST_F(ev, corrupt_mailboxes_are_dropped_and_counted)
{
	struct event_mbox *mb = pages(&self->m, 1), *c;
	struct event_queue *q = evq_new(&self->m, 0, mb);
	struct event_mbox *good = pages(&self->m, 1);
	struct vcore_stats s;

	mb->type = 9;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	mbox_init_ucq(&self->m, mb);
	mb->ucq.ucq_ready = 0;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	mb->ucq.ucq_ready = 1;
	mb->ucq.prod_idx = 0x1000;			/* outside the regions */
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	mb->ucq.prod_idx = (uintptr_t)self->m.pi + 126;	/* procinfo */
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));	/* and past its end */
	mb->ucq.prod_idx = (uintptr_t)pages(&self->m, 1) + 127;
	mb->ucq.spare_pg = (uintptr_t)self->m.arena + 8;	/* misaligned */
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	c = ceq_new(&self->m, CEQ_OR, 8, 3);		/* not a power of 2 */
	q->ev_mbox = (uintptr_t)c;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	c->ceq.ring_sz = 4;
	c->ceq.operation = 7;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	c->ceq.operation = CEQ_OR;
	c->ceq.ring = 0x10;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	s = stats(&self->m);
	EXPECT_EQ(1, s.dropped[VCORE_DROP_BAD_MBOX_TYPE]);
	EXPECT_EQ(1, s.dropped[VCORE_DROP_UCQ_NOT_READY]);
	EXPECT_EQ(4, s.dropped[VCORE_DROP_UCQ_CORRUPT]);
	EXPECT_EQ(3, s.dropped[VCORE_DROP_CEQ_CORRUPT]);
	EXPECT_EQ(0, s.posted[EV_MBOX_UCQ] + s.posted[EV_MBOX_CEQ]);
	mbox_init_ucq(&self->m, good);
	q->ev_mbox = (uintptr_t)good;
	EXPECT_EQ(0, send(&self->m, q, 1, 0, 0));
	EXPECT_EQ(1, drain_count(&self->m, &good->ucq, 1));
}

TEST_F(ev, ucq_out_of_arena_pages_is_counted_and_recovers)
{
	struct vcore_arena_alloc a = { .nr_pages = 1 };
	struct event_mbox *mb = pages(&self->m, 1);
	struct event_queue *q = evq_new(&self->m, 0, mb);
	struct ucq_reader r = { .m = &self->m, .ucq = &mb->ucq };
	unsigned int i, n = 2 * VCORE_UCQ_SLOTS_PER_PAGE;
	struct event_msg msg;
	__u64 last = 0;

	mbox_init_ucq(&self->m, mb);
	while (!vt_ioctl(self->m.fd, VCORE_IOC_ARENA_ALLOC, &a)) {
		last = a.addr;
		a.addr = 0;
	}
	ASSERT_NE(0, last);
	/* two pages' worth fit (the first and the spare), then no page */
	for (i = 0; i < n + 1; i++)
		EXPECT_EQ(0, send(&self->m, q, 1, i, 0));
	EXPECT_EQ(1, stats(&self->m).dropped[VCORE_DROP_UCQ_NOMEM]);
	/* the queue is not empty (the producer ran past the page) but the
	 * link is missing: read exactly what was posted */
	for (i = 0; i < n - 1; i++) {
		ASSERT_EQ(1, ucq_get(&r, &msg));
		ASSERT_EQ(i, msg.ev_arg2);
	}
	/* a page given back as the spare lets the next post link it */
	a.addr = last;
	ASSERT_EQ(0, vt_ioctl(self->m.fd, VCORE_IOC_ARENA_FREE, &a));
	mb->ucq.spare_pg = (uintptr_t)pages(&self->m, 1);
	ASSERT_NE(0, mb->ucq.spare_pg);
	EXPECT_EQ(0, send(&self->m, q, 1, 999, 0));
	ASSERT_EQ(1, ucq_get(&r, &msg));
	EXPECT_EQ(n - 1, msg.ev_arg2);
	ASSERT_EQ(1, ucq_get(&r, &msg));
	EXPECT_EQ(999, msg.ev_arg2);
	EXPECT_EQ(0, ucq_get(&r, &msg));
}

/* ---- other senders ---- */

TEST_F(ev, self_notify_posts_and_flags)
{
	struct vcore_self_notify n = {
		.vcoreid = 0,
		.flags = VCORE_SELF_NOTIFY_PRIVATE,
		.msg = { .ev_type = 9 },
	};

	EXPECT_EQ(0, vt_ioctl(self->m.fd, VCORE_IOC_SELF_NOTIFY, &n));
	EXPECT_EQ(1, drain_count(&self->m, PRIV(0), 9));
	EXPECT_EQ(1, vcpd(&self->m, 0)->notif_pending);
	n.vcoreid = self->nv;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_SELF_NOTIFY, &n));
	n.vcoreid = 0;
	n.flags = 2;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->m.fd, VCORE_IOC_SELF_NOTIFY, &n));
}

TEST_F(ev, kernel_events_use_the_kernel_event_table)
{
	struct event_mbox *mb = pages(&self->m, 1);
	struct event_queue *q = evq_new(&self->m, 0, mb);
	struct vcore_test_kevent k = { .msg = { .ev_type = EV_ALARM } };

	mbox_init_ucq(&self->m, mb);
	/* nothing registered: not wanted, nothing happens */
	EXPECT_EQ(0, vt_ioctl(self->m.fd, VCORE_IOC_TEST_KEVENT, &k));
	EXPECT_EQ(0, stats(&self->m).sent);
	self->m.pd->kernel_evts[EV_ALARM] = (uintptr_t)q;
	self->m.pd->kernel_evts[EV_POSIX_SIGNAL] = (uintptr_t)q;
	EXPECT_EQ(0, vt_ioctl(self->m.fd, VCORE_IOC_TEST_KEVENT, &k));
	k.how = VCORE_TEST_POSIX_SIGNAL;
	k.msg.ev_arg1 = SIGUSR1;
	EXPECT_EQ(0, vt_ioctl(self->m.fd, VCORE_IOC_TEST_KEVENT, &k));
	EXPECT_EQ(1, drain_count(&self->m, &mb->ucq, EV_ALARM));
	EXPECT_EQ(2, stats(&self->m).sent);
}

TEST(notify_other_process_by_pid_and_refusals)
{
	struct mcp m;
	struct event_mbox *mb;
	struct event_queue *q;
	int pfd[2], status;
	pid_t child;
	char c;

	if (access(VCORE_DEV, F_OK) || geteuid())
		SKIP(return, "needs the module and root");
	ASSERT_EQ(0, mcp_open(&m));
	mb = pages(&m, 1);
	mbox_init_ucq(&m, mb);
	q = evq_new(&m, 0, mb);
	m.pd->kernel_evts[EV_USER_IPI] = (uintptr_t)q;
	ASSERT_EQ(0, pipe(pfd));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		struct vcore_api api;
		struct vcore_notify n = {
			.target_fd = -1, .target_pid = getppid(),
			.msg = { .ev_type = EV_USER_IPI, .ev_arg2 = 42 },
		};
		int fd = vt_open();

		if (fd < 0 || vt_handshake(fd, &api))
			_exit(1);
		if (vt_ioctl(fd, VCORE_IOC_NOTIFY, &n))
			_exit(2);
		n.msg.ev_type = EV_ALARM;
		if (vt_ioctl(fd, VCORE_IOC_NOTIFY, &n) != -EINVAL)
			_exit(3);
		n.msg.ev_type = EV_USER_IPI;
		n.target_pid = 0x7ffffff0;
		if (vt_ioctl(fd, VCORE_IOC_NOTIFY, &n) != -ESRCH)
			_exit(4);
		n.target_fd = 1000;
		if (vt_ioctl(fd, VCORE_IOC_NOTIFY, &n) != -EBADF)
			_exit(5);
		n.target_fd = pfd[1];
		if (vt_ioctl(fd, VCORE_IOC_NOTIFY, &n) != -EINVAL)
			_exit(6);
		/* a different uid may not */
		close(fd);
		if (setresuid(65534, 65534, 65534))
			_exit(7);
		fd = vt_open();
		if (fd < 0 || vt_handshake(fd, &api))
			_exit(8);
		n.target_fd = -1;
		n.target_pid = getppid();
		if (vt_ioctl(fd, VCORE_IOC_NOTIFY, &n) != -EPERM)
			_exit(9);
		if (write(pfd[1], "x", 1) != 1)
			_exit(10);
		_exit(0);
	}
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, drain_count(&m, &mb->ucq, EV_USER_IPI));
	close(m.fd);
}

/* ---- kernel producers on several CPUs, one consumer ---- */

struct consumer {
	struct mcp *m;
	struct ucq *ucq;
	unsigned int nr_producers, nr_msgs;
	volatile int stop;
	__u32 next[64];
	unsigned long got, bad;
	__u64 pages_freed;
};

static void *consume(void *arg)
{
	struct consumer *c = arg;
	struct ucq_reader r = { .m = c->m, .ucq = c->ucq };
	unsigned long want = (unsigned long)c->nr_producers * c->nr_msgs;
	struct event_msg msg;

	while (c->got < want) {
		if (!ucq_get(&r, &msg)) {
			/* stop is set after the last post: one more look */
			if (!c->stop)
				continue;
			if (!ucq_get(&r, &msg))
				break;
		}
		c->got++;
		if (msg.ev_arg2 >= c->nr_producers ||
		    msg.ev_arg4 != c->next[msg.ev_arg2]++)
			c->bad++;
	}
	c->pages_freed = r.pages_freed;
	return NULL;
}

static void produce(struct __test_metadata *_metadata, struct mcp *m,
		    __u32 mode, unsigned int nr_producers, unsigned int nr_msgs)
{
	struct event_mbox *mb = pages(m, 1);
	struct event_queue *q = evq_new(m, 0, mb);
	struct consumer c = {
		.m = m, .ucq = &mb->ucq,
		.nr_producers = nr_producers, .nr_msgs = nr_msgs,
	};
	struct vcore_test_produce p = {
		.ev_q = (uintptr_t)q, .nr_producers = nr_producers,
		.nr_msgs = nr_msgs, .mode = mode, .ev_type = 20,
	};
	pthread_t t;

	mbox_init_ucq(m, mb);
	ASSERT_EQ(0, pthread_create(&t, NULL, consume, &c));
	EXPECT_EQ(0, vt_ioctl(m->fd, VCORE_IOC_TEST_PRODUCE, &p));
	c.stop = 1;
	pthread_join(t, NULL);
	TH_LOG("%lu messages, %llu pages recycled, %llu extra pages live",
	       c.got, (unsigned long long)c.pages_freed,
	       (unsigned long long)mb->ucq.nr_extra_pgs);
	EXPECT_EQ((unsigned long)nr_producers * nr_msgs, c.got);
	EXPECT_EQ(0, c.bad);
	EXPECT_EQ(0, stats(m).dropped[VCORE_DROP_UCQ_NOMEM]);
	/* pages are recycled: only a handful are ever out at once */
	EXPECT_LT(mb->ucq.nr_extra_pgs, 64);
}

TEST_F_TIMEOUT(ev, ucq_kthread_producers_on_every_cpu, 600)
{
	produce(_metadata, &self->m, VCORE_TEST_PRODUCE_KTHREAD, 4, 25000);
}

TEST_F_TIMEOUT(ev, ucq_hardirq_producer_within_a_page, 60)
{
	produce(_metadata, &self->m, VCORE_TEST_PRODUCE_HRTIMER, 1, 100);
}

TEST_F_TIMEOUT(ev, ucq_hardirq_one_producer_across_pages, 120)
{
	produce(_metadata, &self->m, VCORE_TEST_PRODUCE_HRTIMER, 1, 2000);
}

TEST_HARNESS_MAIN
