// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Bitmap mbox consumer against the kernel's producer (the core,
 * kernel_side.h).
 *
 *	test_evbitmap [rounds [posts per producer per round]]
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "barrier.h"
#include "evbitmap.h"
#include "inject.h"
#include "lib/kernel_side.h"
#include "tap.h"

#define NR_PRODUCERS	4
#define NR_CONSUMERS	2

static unsigned int rounds = UNDER_TSAN ? 100 : 1000;
static unsigned int per_round = 100;
static struct evbitmap evbm;

static void post(__u16 type)
{
	struct event_msg m = { .ev_type = type, .ev_arg2 = 77, .ev_arg3 = 1 };

	expect_eq(ks_evbitmap_post(&evbm, &m, NULL), 0);
}

TEST(bits_come_out_in_type_order_with_only_the_type)
{
	struct event_msg m;

	vcore_evbitmap_init(&evbm);
	expect(vcore_evbitmap_is_empty(&evbm));
	expect(!vcore_get_evbitmap_msg(&evbm, &m));
	post(49);
	post(3);
	post(1);
	expect(!vcore_evbitmap_is_empty(&evbm));
	expect(vcore_get_evbitmap_msg(&evbm, &m));
	expect_eq(m.ev_type, 1);
	expect(vcore_get_evbitmap_msg(&evbm, &m));
	expect_eq(m.ev_type, 3);
	expect(vcore_get_evbitmap_msg(&evbm, &m));
	expect_eq(m.ev_type, 49);
	expect(!m.ev_arg1 && !m.ev_arg2 && !m.ev_arg3 && !m.ev_arg4);
	expect(!vcore_get_evbitmap_msg(&evbm, &m));
	expect(vcore_evbitmap_is_empty(&evbm));
	expect_eq(evbm.bitmap[0], 0);
}

TEST(posts_of_one_type_coalesce)
{
	struct event_msg m;

	vcore_evbitmap_init(&evbm);
	post(7);
	post(7);
	post(7);
	expect(vcore_get_evbitmap_msg(&evbm, &m) && m.ev_type == 7);
	expect(!vcore_get_evbitmap_msg(&evbm, &m));
}

TEST(types_past_the_table_are_refused_or_dropped)
{
	struct event_msg m = { .ev_type = VCORE_MAX_NR_EVENT };

	vcore_evbitmap_init(&evbm);
	expect_eq(ks_evbitmap_post(&evbm, &m, NULL), VCORE_DROP_BAD_EV_TYPE);
	/* A stray bit no kernel sets: taken and dropped, never returned. */
	evbm.bitmap[0] = 1ULL << 60;
	evbm.check_bits = 1;
	expect(!vcore_get_evbitmap_msg(&evbm, &m));
	expect_eq(evbm.bitmap[0], 0);
}

/* ---- many threads ---------------------------------------------------- */

/*
 * Producers post in rounds; after each, consumers drain until the bitmap
 * says empty and, with every thread parked, the counts are compared: each
 * post that set a clear bit must have become exactly one message, and no
 * bit may be left behind a clear check_bits.
 */
static unsigned long set_count[VCORE_MAX_NR_EVENT];	/* 0 -> 1, atomic */
static unsigned long got_count[VCORE_MAX_NR_EVENT];	/* atomic */
static unsigned int posted_rounds;			/* atomic */
static pthread_barrier_t round_end;

static void *producer_main(void *arg)
{
	__u32 x = 2463534242U * (unsigned int)(uintptr_t)arg;

	for (unsigned int r = 0; r < rounds; r++) {
		for (unsigned int i = 0; i < per_round; i++) {
			struct event_msg m = { 0 };
			bool newly;

			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			m.ev_type = (__u16)(x % VCORE_MAX_NR_EVENT);
			ks_evbitmap_post(&evbm, &m, &newly);
			if (newly)
				fetch_add(&set_count[m.ev_type], 1);
		}
		fetch_add(&posted_rounds, 1);
		pthread_barrier_wait(&round_end);
		pthread_barrier_wait(&round_end);
	}
	return NULL;
}

static void *consumer_main(void *arg)
{
	struct event_msg m;

	(void)arg;
	for (unsigned int r = 0; r < rounds; r++) {
		unsigned int all = NR_PRODUCERS * (r + 1);

		for (;;) {
			bool done = smp_load_acquire(&posted_rounds) == all;

			if (vcore_get_evbitmap_msg(&evbm, &m)) {
				fetch_add(&got_count[m.ev_type], 1);
				continue;
			}
			if (done && vcore_evbitmap_is_empty(&evbm))
				break;
			sched_yield();
		}
		pthread_barrier_wait(&round_end);
		pthread_barrier_wait(&round_end);
	}
	return NULL;
}

static unsigned long run_stress(unsigned int inject_one_in)
{
	pthread_t prod[NR_PRODUCERS], cons[NR_CONSUMERS];
	unsigned long sets = 0, bad_rounds = 0;
	double t0;

	vcore_evbitmap_init(&evbm);
	memset(set_count, 0, sizeof(set_count));
	memset(got_count, 0, sizeof(got_count));
	posted_rounds = 0;
	pthread_barrier_init(&round_end, NULL, NR_PRODUCERS + NR_CONSUMERS + 1);
	inject_set_rate(inject_one_in);
	t0 = now_s();
	for (unsigned int c = 0; c < NR_CONSUMERS; c++)
		pthread_create(&cons[c], NULL, consumer_main, NULL);
	for (unsigned int p = 0; p < NR_PRODUCERS; p++)
		pthread_create(&prod[p], NULL, producer_main,
			       (void *)(uintptr_t)(p + 1));
	for (unsigned int r = 0; r < rounds; r++) {
		bool balanced = true;

		pthread_barrier_wait(&round_end);
		for (unsigned int t = 0; t < VCORE_MAX_NR_EVENT; t++)
			balanced &= got_count[t] == set_count[t];
		for (unsigned int w = 0; w < VCORE_EVBITMAP_WORDS; w++)
			balanced &= !evbm.bitmap[w];
		if (!balanced && bad_rounds++ < 3)
			diag("round %u: the counts do not balance", r);
		pthread_barrier_wait(&round_end);
	}
	for (unsigned int p = 0; p < NR_PRODUCERS; p++)
		pthread_join(prod[p], NULL);
	for (unsigned int c = 0; c < NR_CONSUMERS; c++)
		pthread_join(cons[c], NULL);
	inject_set_rate(0);
	pthread_barrier_destroy(&round_end);
	for (unsigned int t = 0; t < VCORE_MAX_NR_EVENT; t++) {
		expect_eq(got_count[t], set_count[t]);
		sets += set_count[t];
	}
	diag("%u producers x %u rounds x %u posts: %lu bits set and taken "
	     "in %.2f s, %lu delays injected at %u points", NR_PRODUCERS,
	     rounds, per_round, sets, now_s() - t0, inject_delays(),
	     inject_points_hit());
	return bad_rounds;
}

TEST(each_bit_set_is_taken_once_by_concurrent_consumers)
{
	expect_eq(run_stress(0), 0);
}

TEST(each_bit_set_is_taken_once_with_injected_delays)
{
	expect_eq(run_stress(8), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rounds = (unsigned int)strtoul(argv[1], NULL, 0);
	if (argc > 2)
		per_round = (unsigned int)strtoul(argv[2], NULL, 0);
	tap_start(120);
	RUN(bits_come_out_in_type_order_with_only_the_type);
	RUN(posts_of_one_type_coalesce);
	RUN(types_past_the_table_are_refused_or_dropped);
	RUN(each_bit_set_is_taken_once_by_concurrent_consumers);
	RUN(each_bit_set_is_taken_once_with_injected_delays);
	return tap_done();
}
