// SPDX-License-Identifier: GPL-2.0
/*
 * The CEQ producer (kmod/core/ceq.c): coalescing, the ring, overflow,
 * hostility.
 */
#include "ceq.c"

#include "unit.h"

static struct ceq *C;

static void ceq_setup(u8 op, u32 nr_events, u32 ring_sz)
{
	struct h_opts o = { .max_vcores = 2, .arena_pages = 16 };

	setup_opts(&o);
	C = h_obj(H, sizeof(*C), NULL);
	h_ceq_init(H, C, op, nr_events, ring_sz);
}

static int post(u16 type, u32 arg2, u64 blob)
{
	struct event_msg m = { .ev_type = type, .ev_arg2 = arg2,
			       .ev_arg3 = blob };

	return ceq_post(&H->m, C, &m);
}

static struct ceq_event *ev(u32 type)
{
	return (struct ceq_event *)h_u2k(H, C->events, (u64)C->nr_events *
					 sizeof(struct ceq_event)) + type;
}

static s32 ring(u32 i)
{
	s32 *r = h_u2k(H, C->ring, (u64)C->ring_sz * sizeof(s32));

	return r[i & (C->ring_sz - 1)];
}

TEST(bad_geometry_or_operation_is_dropped)
{
	ceq_setup(CEQ_OR, 8, 8);
	C->operation = 0;
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	C->operation = 3;
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	C->operation = CEQ_ADD;
	C->ring_sz = 0;
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	C->ring_sz = 6;
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	C->ring_sz = 1U << 21;
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	C->ring_sz = 1U << 31;
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	C->ring_sz = 8;
	expect_eq(post(8, 1, 0), VCORE_DROP_BAD_EV_TYPE);
	expect_eq(ev(1)->coalesce, 0);
	expect_eq(C->prod_idx, 0);
	expect_eq(post(7, 1, 0), 0);
	teardown();
}

TEST(arrays_outside_the_regions_are_dropped)
{
	u64 events, ringu;

	ceq_setup(CEQ_OR, 8, 8);
	events = C->events;
	ringu = C->ring;
	C->events = H->procinfo_u;
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	C->events = events + 4;				/* misaligned */
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	/* an entry past the arena's end */
	C->events = H->arena_u + H->m.arena.r.size - sizeof(struct ceq_event);
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	C->events = events;
	C->ring = H->arena_u + H->m.arena.r.size - 4 * sizeof(s32);
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);	/* 8 > 4 */
	C->ring = ringu + 2;
	expect_eq(post(1, 1, 0), VCORE_DROP_CEQ_CORRUPT);
	C->ring = ringu;
	expect_eq(ev(1)->coalesce, 0);
	expect_eq(post(1, 1, 0), 0);
	teardown();
}

TEST(or_coalesces_and_posts_the_id_once)
{
	ceq_setup(CEQ_OR, 16, 8);
	expect_eq(post(5, 1, 100), 0);
	expect_eq(post(5, 2, 101), 0);
	expect_eq(post(5, 4, 102), 0);
	expect_eq(ev(5)->coalesce, 7);
	expect_eq(ev(5)->blob_data, 102);
	expect_eq(ev(5)->idx_posted, 1);
	expect_eq(C->prod_idx, 1);
	expect_eq(ring(0), 5);
	expect_eq(ring(1), -1);
	expect_eq(C->max_event_ever, 5);
	teardown();
}

TEST(add_sums_and_a_consumed_id_is_posted_again)
{
	struct event_msg m;

	ceq_setup(CEQ_ADD, 16, 8);
	expect_eq(post(3, 10, 0), 0);
	expect_eq(post(3, 5, 0), 0);
	expect(h_ceq_take(H, C, &m));
	expect_eq(m.ev_type, 3);
	expect_eq(m.ev_arg4, 15);
	expect_eq(post(3, 1, 0), 0);
	expect_eq(C->prod_idx, 2);
	expect_eq(ring(1), 3);
	expect(h_ceq_take(H, C, &m));
	expect_eq(m.ev_arg4, 1);
	expect(!h_ceq_take(H, C, &m));
	teardown();
}

TEST(max_event_ever_only_rises)
{
	ceq_setup(CEQ_OR, 64, 8);
	expect_eq(post(9, 1, 0), 0);
	expect_eq(post(2, 1, 0), 0);
	expect_eq(C->max_event_ever, 9);
	C->max_event_ever = 40;
	expect_eq(post(30, 1, 0), 0);
	expect_eq(C->max_event_ever, 40);
	teardown();
}

TEST(full_ring_overflows_and_the_scan_finds_everything)
{
	struct event_msg m;
	unsigned int seen = 0;
	u16 t;

	ceq_setup(CEQ_OR, 16, 4);
	for (t = 0; t < 6; t++)
		expect_eq(post(t, 1u << t, 0), 0);
	expect_eq(C->prod_idx, 4);
	expect_eq(C->ring_overflowed, 1);
	expect_eq(ev(5)->idx_posted, 1);
	while (h_ceq_take(H, C, &m))
		seen |= (unsigned int)m.ev_arg4;
	expect_eq(seen, 0x3f);
	teardown();
}

TEST(hostile_cons_pub_idx_only_causes_overflow)
{
	ceq_setup(CEQ_OR, 16, 4);
	C->cons_pub_idx = 1;		/* ahead of prod: prod - cons wraps */
	expect_eq(post(2, 1, 0), 0);
	expect_eq(C->ring_overflowed, 1);
	expect_eq(C->prod_idx, 0);
	C->cons_pub_idx = 0;
	C->prod_idx = 0xfffffffe;	/* wraps around zero, 2 in flight */
	C->cons_pub_idx = 0xfffffffc;
	expect_eq(post(3, 1, 0), 0);
	expect_eq(C->prod_idx, 0xffffffff);
	expect_eq(ring(0xfffffffe), 3);
	teardown();
}

static void steal_slot(void *arg, const volatile void *addr, unsigned int kind)
{
	(void)arg;
	(void)addr;
	(void)kind;
	C->prod_idx++;		/* another CPU claims first */
	C->cons_pub_idx++;	/* and the consumer keeps up */
}

TEST(ten_lost_races_for_a_slot_overflow_instead)
{
	int w;

	ceq_setup(CEQ_OR, 16, 8);
	w = h_watch(&C->prod_idx, sizeof(C->prod_idx), H_RMW, 0, 0,
		    steal_slot, NULL);
	expect_eq(post(4, 1, 0), 0);
	expect_eq(h_watch_fired(w), 10);
	expect_eq(C->ring_overflowed, 1);
	for (u32 i = 0; i < 8; i++)
		expect_eq(ring(i), -1);
	h_watch_clear();
	/* one lost race, then a win */
	C->ring_overflowed = 0;
	ev(5)->idx_posted = 0;
	w = h_watch(&C->prod_idx, sizeof(C->prod_idx), H_RMW, 0, 1,
		    steal_slot, NULL);
	expect_eq(post(5, 1, 0), 0);
	expect_eq(h_watch_fired(w), 1);
	expect_eq(C->ring_overflowed, 0);
	expect_eq(ring(C->prod_idx - 1), 5);
	teardown();
}

TEST(idx_posted_set_by_user_skips_the_ring)
{
	ceq_setup(CEQ_OR, 16, 4);
	ev(6)->idx_posted = 1;
	expect_eq(post(6, 8, 0), 0);
	expect_eq(ev(6)->coalesce, 8);
	expect_eq(C->prod_idx, 0);
	teardown();
}

TEST(send_event_to_a_ceq_counts_it)
{
	struct event_queue *evq;
	struct event_msg m = { .ev_type = EV_ALARM, .ev_arg2 = 3 };
	u64 q;

	setup();
	evq = h_evq(H, 0, 0, EV_MBOX_CEQ, &q);
	mcp_send_event(&H->m, q, &m, 0);
	mcp_send_event(&H->m, q, &m, 0);
	expect_eq(H_STAT(H, posted[EV_MBOX_CEQ]), 2);
	expect(h_ceq_take(H, &h_evq_mbox(H, evq)->ceq, &m));
	expect_eq(m.ev_arg4, 3);
	m.ev_type = 64;			/* past the CEQ's 64 entries */
	mcp_send_event(&H->m, q, &m, 0);
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_EV_TYPE), 1);
	teardown();
}

int main(void)
{
	tap_start(60);
	RUN(bad_geometry_or_operation_is_dropped);
	RUN(arrays_outside_the_regions_are_dropped);
	RUN(or_coalesces_and_posts_the_id_once);
	RUN(add_sums_and_a_consumed_id_is_posted_again);
	RUN(max_event_ever_only_rises);
	RUN(full_ring_overflows_and_the_scan_finds_everything);
	RUN(hostile_cons_pub_idx_only_causes_overflow);
	RUN(ten_lost_races_for_a_slot_overflow_instead);
	RUN(idx_posted_set_by_user_skips_the_ring);
	RUN(send_event_to_a_ceq_counts_it);
	return tap_done();
}
