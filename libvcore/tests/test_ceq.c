// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * CEQ consumer against the kernel's producer (the core, kernel_side.h): coalescing, ring
 * overflow and its recovery, and conservation under concurrency.
 *
 *	test_ceq [rounds [posts per producer per round]]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "barrier.h"
#include "ceq.h"
#include "inject.h"
#include "lib/kernel_side.h"
#include "tap.h"

#define NR_PRODUCERS	4
#define NR_CONSUMERS	2
#define NR_TYPES	40

/* Posts per producer: rounds x per_round. */
static unsigned int rounds = UNDER_TSAN ? 100 : 500;
static unsigned int per_round = UNDER_TSAN ? 200 : 400;
static struct ceq ceq;

static void post(__u16 type, __u32 arg2, __u64 blob)
{
	struct event_msg m = { .ev_type = type, .ev_arg2 = arg2,
			       .ev_arg3 = blob };

	expect_eq(ks_ceq_post(&ceq, &m), 0);
}

/* Nothing posted is left behind: no entry posted or holding a value. */
static void expect_nothing_stranded(void)
{
	struct ceq_event *ev = (struct ceq_event *)(uintptr_t)ceq.events;
	unsigned int stranded = 0;

	for (unsigned int i = 0; i < ceq.nr_events; i++)
		stranded += ev[i].idx_posted || ev[i].coalesce;
	expect_eq(stranded, 0);
	expect(vcore_ceq_is_empty(&ceq));
	expect_eq(ceq.ring_overflowed, 0);
	expect_eq(ceq.overflow_recovery, 0);
}

TEST(init_rejects_bad_geometry)
{
	expect_eq(vcore_ceq_init(&ceq, 0, 8, 8), -EINVAL);
	expect_eq(vcore_ceq_init(&ceq, 3, 8, 8), -EINVAL);
	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 0, 8), -EINVAL);
	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, VCORE_CEQ_MAX_EVENTS + 1, 8), -EINVAL);
	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 8, 0), -EINVAL);
	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 8, 12), -EINVAL);
	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 8, VCORE_CEQ_MAX_RING_SZ * 2), -EINVAL);
}

TEST(init_fills_the_ring_with_minus_one)
{
	__s32 *ring;
	struct event_msg m;

	expect_eq(vcore_ceq_init(&ceq, CEQ_ADD, 64, 16), 0);
	ring = (__s32 *)(uintptr_t)ceq.ring;
	for (unsigned int i = 0; i < 16; i++)
		expect(ring[i] == -1);
	expect_eq(ceq.nr_events, 64);
	expect_eq(ceq.ring_sz, 16);
	expect_eq(ceq.operation, CEQ_ADD);
	expect(vcore_ceq_is_empty(&ceq));
	expect(!vcore_get_ceq_msg(&ceq, &m));
	vcore_ceq_cleanup(&ceq);
	expect_eq(ceq.events, 0);
}

TEST(or_coalesces_bits_and_keeps_the_last_blob)
{
	struct event_msg m;

	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 16, 8), 0);
	post(5, 1, 0x100);
	post(5, 2, 0x200);
	post(5, 4, 0x300);
	post(9, 8, 0x900);
	expect(vcore_get_ceq_msg(&ceq, &m));
	expect_eq(m.ev_type, 5);
	expect_eq(m.ev_arg2, 7);
	expect_eq(m.ev_arg3, 0x300);
	expect_eq(m.ev_arg1, 0);
	expect(vcore_get_ceq_msg(&ceq, &m));
	expect_eq(m.ev_type, 9);
	expect_eq(m.ev_arg2, 8);
	expect(!vcore_get_ceq_msg(&ceq, &m));
	expect_nothing_stranded();
	vcore_ceq_cleanup(&ceq);
}

TEST(add_sums_and_reports_the_whole_64_bit_value)
{
	struct event_msg m;

	expect_eq(vcore_ceq_init(&ceq, CEQ_ADD, 16, 8), 0);
	for (unsigned int i = 0; i < 10; i++)
		post(3, 5, i);
	post(3, 0xffffffffU, 0);
	post(3, 2, 0);
	expect(vcore_get_ceq_msg(&ceq, &m));
	expect_eq(m.ev_type, 3);
	expect_eq(m.ev_arg4, 50ULL + 0xffffffffULL + 2);
	expect_eq(m.ev_arg2, (__u32)(50ULL + 0xffffffffULL + 2));
	expect(!vcore_get_ceq_msg(&ceq, &m));
	vcore_ceq_cleanup(&ceq);
}

/* As in Akaros: a post of 0 still says "this id happened". */
TEST(a_post_with_value_zero_is_delivered)
{
	struct event_msg m;

	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 16, 8), 0);
	post(11, 0, 0);
	expect(vcore_get_ceq_msg(&ceq, &m));
	expect_eq(m.ev_type, 11);
	expect_eq(m.ev_arg2, 0);
	expect(!vcore_get_ceq_msg(&ceq, &m));
	vcore_ceq_cleanup(&ceq);
}

TEST(overflow_of_a_tiny_ring_recovers_every_type)
{
	unsigned int got[64] = { 0 }, n = 0;
	struct event_msg m;

	expect_eq(vcore_ceq_init(&ceq, CEQ_ADD, 64, 4), 0);
	/* Three rounds, so ids coalesce both in the ring and off it. */
	for (unsigned int round = 0; round < 3; round++)
		for (unsigned int t = 0; t < 64; t++)
			post((__u16)t, t + 1, t);
	expect_eq(ceq.ring_overflowed, 1);
	expect_eq(ceq.max_event_ever, 63);
	while (vcore_get_ceq_msg(&ceq, &m) && n < 1000) {
		n++;
		expect(m.ev_type < 64);
		if (m.ev_type < 64)
			got[m.ev_type] += (unsigned int)m.ev_arg4;
	}
	for (unsigned int t = 0; t < 64; t++)
		expect_eq(got[t], 3 * (t + 1));
	/* One message per id: the ring's and the scan's never overlap. */
	expect_eq(n, 64);
	expect_nothing_stranded();

	/* It works again after a recovery. */
	post(7, 1, 0);
	expect(vcore_get_ceq_msg(&ceq, &m) && m.ev_type == 7 && m.ev_arg2 == 1);
	expect_nothing_stranded();
	vcore_ceq_cleanup(&ceq);
}

TEST(cleanup_returns_the_arrays)
{
	unsigned long base = ks_arena_used();

	/* 1024 entries of 32 bytes: 8 whole pages. */
	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 1024, 4096), 0);
	expect(ks_arena_used() - base >= 8 + 4);
	vcore_ceq_cleanup(&ceq);
	expect_eq(ks_arena_used(), base);
}

/*
 * M at work.  A consumer loads its first index (cons_pub_idx, on the
 * fast path) and stalls; meanwhile others
 * consume what was there, and more, until the ring is empty again.
 * Resumed, it must not claim from its stale view (a slot no producer
 * owns, where it would spin until someone posts): its CAS fails and it
 * sees the ring empty.  Loading prod_idx first, as Akaros does, claims.
 */
static bool victim_got;
static unsigned int victim_done;

static void *victim(void *arg)
{
	struct event_msg m;

	(void)arg;
	victim_got = vcore_get_ceq_msg(&ceq, &m);
	smp_store_release(&victim_done, 1);
	return NULL;
}

TEST(a_consumer_stalled_between_its_index_loads_claims_nothing)
{
	struct event_msg m;
	pthread_t t;
	double t0;

	expect_eq(vcore_ceq_init(&ceq, CEQ_ADD, 16, 8), 0);
	post(1, 1, 0);
	victim_done = 0;
	inject_stall_once(INJ_CEQ_PVT_LOADED);
	pthread_create(&t, NULL, victim, NULL);
	inject_wait_stalled();
	expect(vcore_get_ceq_msg(&ceq, &m) && m.ev_type == 1);
	post(2, 1, 0);
	expect(vcore_get_ceq_msg(&ceq, &m) && m.ev_type == 2);
	expect(vcore_ceq_is_empty(&ceq));
	inject_release();
	t0 = now_s();
	while (!smp_load_acquire(&victim_done) && now_s() - t0 < 2)
		sched_yield();
	expect(smp_load_acquire(&victim_done));
	if (!smp_load_acquire(&victim_done))
		post(3, 1, 0);			/* unstick it */
	pthread_join(t, NULL);
	expect(!victim_got);
	vcore_ceq_cleanup(&ceq);
}

/* Everything handed back: the three indexes agree and no slot is filled. */
static void expect_ring_handed_back(__u32 idx)
{
	__s32 *ring = (__s32 *)(uintptr_t)ceq.ring;

	expect_eq(ceq.prod_idx, idx);
	expect_eq(ceq.cons_pvt_idx, idx);
	expect_eq(ceq.cons_pub_idx, idx);
	for (unsigned int i = 0; i < ceq.ring_sz; i++)
		expect(ring[i] == -1);
}

/*
 * The fast path's message: ev_type and ev_arg1 are written together, so
 * the largest id and a message buffer full of junk check both halves.
 */
TEST(the_largest_id_fills_every_field)
{
	struct event_msg m;

	expect_eq(vcore_ceq_init(&ceq, CEQ_ADD, VCORE_CEQ_MAX_EVENTS, 4), 0);
	expect_eq(ceq.ring_mask, 3);
	post(VCORE_CEQ_MAX_EVENTS - 1, 0x80000001U, 0x1122334455667788ULL);
	post(VCORE_CEQ_MAX_EVENTS - 1, 0x80000001U, 7);
	memset(&m, 0xa5, sizeof(m));
	expect(vcore_get_ceq_msg(&ceq, &m));
	expect_eq(m.ev_type, VCORE_CEQ_MAX_EVENTS - 1);
	expect_eq(m.ev_arg1, 0);
	expect_eq(m.ev_arg2, 2);
	expect_eq(m.ev_arg3, 7);
	expect(m.ev_arg4 == 0x100000002ULL);
	expect(!vcore_get_ceq_msg(&ceq, &m));
	expect_ring_handed_back(1);
	expect_nothing_stranded();
	vcore_ceq_cleanup(&ceq);
}

/*
 * A slot holding no valid id (the kernel wrote only ids below nr_events,
 * so this is memory gone bad) is reset and handed back and the message
 * after it delivered: one compare on the fast path covers both this and
 * an unfilled slot (-1).
 */
TEST(a_slot_naming_no_entry_is_handed_back_and_skipped)
{
	static const __s32 junk[] = { 16, 1 << 30, -2, INT32_MIN };
	__s32 *ring;
	struct event_msg m;

	for (unsigned int j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
		expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 16, 4), 0);
		ring = (__s32 *)(uintptr_t)ceq.ring;
		post(3, 1, 0);
		post(4, 2, 0);
		ring[0] = junk[j];
		expect(vcore_get_ceq_msg(&ceq, &m) && m.ev_type == 4 &&
		       m.ev_arg4 == 2);
		expect(!vcore_get_ceq_msg(&ceq, &m));
		expect_ring_handed_back(2);
		vcore_ceq_cleanup(&ceq);
	}
}

/* A consumer thread: one call, its result kept. */
struct taker {
	pthread_t t;
	bool got;
	struct event_msg m;
};

static void *taker_main(void *arg)
{
	struct taker *tk = arg;

	tk->got = vcore_get_ceq_msg(&ceq, &tk->m);
	return NULL;
}

/*
 * The kernel has claimed a slot (prod_idx moved) and not yet filled it:
 * the consumer that claims it waits for the id (CEQ-6), then takes it.
 * Here the test is the kernel, stopped between CEQ-1 and CEQ-3.
 */
TEST(a_slot_claimed_by_the_kernel_and_not_yet_filled_is_waited_for)
{
	struct ceq_event *ev;
	struct taker tk = { 0 };
	__s32 *ring;

	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 16, 4), 0);
	ev = (struct ceq_event *)(uintptr_t)ceq.events;
	ring = (__s32 *)(uintptr_t)ceq.ring;
	post(2, 1, 0);
	expect(vcore_get_ceq_msg(&ceq, &tk.m) && tk.m.ev_type == 2);
	/* CEQ-1 and the claim of CEQ-2 for id 9, into slot 1 */
	ev[9].blob_data = 99;
	ev[9].coalesce = 8;
	ev[9].idx_posted = 1;
	ceq.max_event_ever = 9;
	smp_store_release(&ceq.prod_idx, 2);
	pthread_create(&tk.t, NULL, taker_main, &tk);
	while (smp_load_acquire(&ceq.cons_pvt_idx) != 2)
		sched_yield();
	smp_store_release(&ring[1], 9);			/* CEQ-3 */
	pthread_join(tk.t, NULL);
	expect(tk.got && tk.m.ev_type == 9 && tk.m.ev_arg4 == 8 &&
	       tk.m.ev_arg3 == 99);
	expect_ring_handed_back(2);
	expect_nothing_stranded();
	vcore_ceq_cleanup(&ceq);
}

/*
 * The fast path claims from cons_pub_idx, which only works with no claim
 * outstanding.  A holds slot 0 (taken, not handed back) when B comes:
 * B's fast claim must fail, B claims slot 1 the long way and waits for A
 * to hand slot 0 back before it hands back slot 1.  A fast path that
 * claimed slot 0 again would deliver id 1 twice; one that handed back
 * out of turn would leave cons_pub_idx at 1.
 */
TEST(a_claim_outstanding_sends_the_next_consumer_the_long_way)
{
	struct taker a = { 0 }, b = { 0 };

	expect_eq(vcore_ceq_init(&ceq, CEQ_OR, 16, 4), 0);
	post(1, 1, 0);
	post(2, 2, 0);
	inject_stall_once(INJ_CEQ_SLOT_TAKEN);
	pthread_create(&a.t, NULL, taker_main, &a);
	inject_wait_stalled();
	expect_eq(ceq.cons_pvt_idx, 1);
	expect_eq(ceq.cons_pub_idx, 0);
	pthread_create(&b.t, NULL, taker_main, &b);
	while (smp_load_acquire(&ceq.cons_pvt_idx) != 2)
		sched_yield();
	expect_eq(smp_load_acquire(&ceq.cons_pub_idx), 0);
	inject_release();
	pthread_join(a.t, NULL);
	pthread_join(b.t, NULL);
	expect(a.got && a.m.ev_type == 1 && a.m.ev_arg4 == 1);
	expect(b.got && b.m.ev_type == 2 && b.m.ev_arg4 == 2);
	expect_ring_handed_back(2);
	expect_nothing_stranded();
	vcore_ceq_cleanup(&ceq);
}

/* ---- many threads ---------------------------------------------------- */

/*
 * Producers post in rounds; after each round the consumers drain until
 * the ceq says empty, and with every thread parked the books are checked:
 * a value left in an entry with nothing pointing at it (stranded) shows
 * up at once, not only if it happened to be the very last post.
 */
struct stress {
	__u8 op;
	unsigned int rounds, per_round;
	pthread_barrier_t round_end;	/* everyone, at each round's end */
	unsigned int posted_rounds;	/* producers, atomic */
	unsigned long posted_sum;	/* ADD: expected total, atomic */
	unsigned long got_sum;		/* ADD: received total, atomic */
	__u64 or_seen[NR_TYPES];	/* OR: received bits, atomic */
	__u64 or_posted[NR_TYPES];	/* OR: posted bits, atomic */
	unsigned long msgs, bad, bad_rounds;
};

struct producer_arg {
	struct stress *st;
	unsigned int id;
};

static void *producer_main(void *arg)
{
	struct producer_arg *pa = arg;
	struct stress *st = pa->st;
	__u32 x = 2463534242U * (pa->id + 1);

	for (unsigned int r = 0; r < st->rounds; r++) {
		for (unsigned int i = 0; i < st->per_round; i++) {
			struct event_msg m = { 0 };

			x ^= x << 13;		/* xorshift32 */
			x ^= x >> 17;
			x ^= x << 5;
			m.ev_type = (__u16)(x % NR_TYPES);
			m.ev_arg3 = pa->id;
			if (st->op == CEQ_ADD) {
				m.ev_arg2 = 1 + x % 3;
				fetch_add(&st->posted_sum, m.ev_arg2);
			} else {
				m.ev_arg2 = 1U << (pa->id * 8 + x % 8);
				fetch_or(&st->or_posted[m.ev_type], m.ev_arg2);
			}
			if (ks_ceq_post(&ceq, &m))
				fetch_add(&st->bad, 1);
		}
		fetch_add(&st->posted_rounds, 1);
		pthread_barrier_wait(&st->round_end);	/* drained */
		pthread_barrier_wait(&st->round_end);	/* checked */
	}
	return NULL;
}

static void *consumer_main(void *arg)
{
	struct stress *st = arg;
	struct event_msg m;

	for (unsigned int r = 0; r < st->rounds; r++) {
		unsigned int all = NR_PRODUCERS * (r + 1);

		for (;;) {
			bool done = smp_load_acquire(&st->posted_rounds) == all;

			if (vcore_get_ceq_msg(&ceq, &m)) {
				fetch_add(&st->msgs, 1);
				if (m.ev_type >= NR_TYPES ||
				    m.ev_arg3 >= NR_PRODUCERS)
					fetch_add(&st->bad, 1);
				else if (st->op == CEQ_ADD)
					fetch_add(&st->got_sum, m.ev_arg4);
				else
					fetch_or(&st->or_seen[m.ev_type],
						 m.ev_arg4);
				continue;
			}
			if (done && vcore_ceq_is_empty(&ceq))
				break;
			sched_yield();
		}
		pthread_barrier_wait(&st->round_end);
		pthread_barrier_wait(&st->round_end);
	}
	return NULL;
}

static bool books_balance(struct stress *st)
{
	struct ceq_event *ev = (struct ceq_event *)(uintptr_t)ceq.events;

	for (unsigned int t = 0; t < NR_TYPES; t++)
		if (ev[t].idx_posted || ev[t].coalesce ||
		    (st->op == CEQ_OR && st->or_seen[t] != st->or_posted[t]))
			return false;
	return st->op == CEQ_OR || st->got_sum == st->posted_sum;
}

static void run_stress(__u8 op, unsigned int ring_sz, unsigned int rounds,
		       unsigned int per_round, unsigned int inject_one_in)
{
	pthread_t prod[NR_PRODUCERS], cons[NR_CONSUMERS];
	struct producer_arg pa[NR_PRODUCERS];
	struct stress st = { .op = op, .rounds = rounds,
			     .per_round = per_round };
	double t0, dt;

	expect_eq(vcore_ceq_init(&ceq, op, NR_TYPES, ring_sz), 0);
	pthread_barrier_init(&st.round_end, NULL,
			     NR_PRODUCERS + NR_CONSUMERS + 1);
	inject_set_rate(inject_one_in);
	t0 = now_s();
	for (unsigned int c = 0; c < NR_CONSUMERS; c++)
		pthread_create(&cons[c], NULL, consumer_main, &st);
	for (unsigned int p = 0; p < NR_PRODUCERS; p++) {
		pa[p] = (struct producer_arg){ .st = &st, .id = p };
		pthread_create(&prod[p], NULL, producer_main, &pa[p]);
	}
	for (unsigned int r = 0; r < rounds; r++) {
		pthread_barrier_wait(&st.round_end);
		if (!books_balance(&st) && st.bad_rounds++ < 3)
			diag("round %u: the books do not balance", r);
		pthread_barrier_wait(&st.round_end);
	}
	for (unsigned int p = 0; p < NR_PRODUCERS; p++)
		pthread_join(prod[p], NULL);
	for (unsigned int c = 0; c < NR_CONSUMERS; c++)
		pthread_join(cons[c], NULL);
	dt = now_s() - t0;
	inject_set_rate(0);
	pthread_barrier_destroy(&st.round_end);

	expect_eq(st.bad, 0);
	expect_eq(st.bad_rounds, 0);
	if (op == CEQ_ADD) {
		expect_eq(st.got_sum, st.posted_sum);
	} else {
		for (unsigned int t = 0; t < NR_TYPES; t++)
			expect_eq(st.or_seen[t], st.or_posted[t]);
	}
	expect_nothing_stranded();
	diag("%s, ring %u: %u producers x %u rounds x %u posts -> %lu messages "
	     "in %.2f s, %lu delays injected at %u points",
	     op == CEQ_ADD ? "ADD" : "OR", ring_sz, NR_PRODUCERS, rounds,
	     per_round, st.msgs, dt, inject_delays(), inject_points_hit());
	vcore_ceq_cleanup(&ceq);
}

TEST(concurrent_add_conserves_the_sum_with_a_roomy_ring)
{
	run_stress(CEQ_ADD, 64, rounds, per_round, 0);
}

TEST(concurrent_add_conserves_the_sum_through_overflows)
{
	run_stress(CEQ_ADD, 4, rounds, per_round, 0);
}

TEST(concurrent_or_delivers_every_bit_through_overflows)
{
	run_stress(CEQ_OR, 2, rounds, per_round, 0);
}

TEST(add_with_injected_delays)
{
	run_stress(CEQ_ADD, 8, rounds * 2, per_round / 20, 8);
}

TEST(or_through_overflows_with_injected_delays)
{
	run_stress(CEQ_OR, 2, rounds * 2, per_round / 20, 8);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rounds = (unsigned int)strtoul(argv[1], NULL, 0);
	if (argc > 2)
		per_round = (unsigned int)strtoul(argv[2], NULL, 0);
	tap_start(120);
	if (ks_init(1, 1024)) {
		printf("Bail out! no memory for the kernel\n");
		return 1;
	}
	RUN(init_rejects_bad_geometry);
	RUN(init_fills_the_ring_with_minus_one);
	RUN(or_coalesces_bits_and_keeps_the_last_blob);
	RUN(add_sums_and_reports_the_whole_64_bit_value);
	RUN(a_post_with_value_zero_is_delivered);
	RUN(overflow_of_a_tiny_ring_recovers_every_type);
	RUN(cleanup_returns_the_arrays);
	RUN(a_consumer_stalled_between_its_index_loads_claims_nothing);
	RUN(the_largest_id_fills_every_field);
	RUN(a_slot_naming_no_entry_is_handed_back_and_skipped);
	RUN(a_slot_claimed_by_the_kernel_and_not_yet_filled_is_waited_for);
	RUN(a_claim_outstanding_sends_the_next_consumer_the_long_way);
	RUN(concurrent_add_conserves_the_sum_with_a_roomy_ring);
	RUN(concurrent_add_conserves_the_sum_through_overflows);
	RUN(concurrent_or_delivers_every_bit_through_overflows);
	RUN(add_with_injected_delays);
	RUN(or_through_overflows_with_injected_delays);
	ks_fini();		/* aborts if the core leaked */
	return tap_done();
}
