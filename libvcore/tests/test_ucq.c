// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * UCQ consumer against the kernel's producer (the core, kernel_side.h): order and page
 * flips on one thread, then producers and consumers on many.
 *
 *	test_ucq [messages per producer]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "arena.h"
#include "barrier.h"
#include "inject.h"
#include "lib/kernel_side.h"
#include "tap.h"
#include "ucq.h"

#define NR_PRODUCERS	4
#define NR_CONSUMERS_MAX	4
#define WINDOW		2048	/* messages in flight, at most */
#define SLOTS		VCORE_UCQ_SLOTS_PER_PAGE

static unsigned long per_producer = UNDER_TSAN ? 50000 : 500000;
static struct ucq ucq;

static struct event_msg make_msg(unsigned int producer, __u32 seq)
{
	__u64 tag = (__u64)producer << 32 | seq;
	struct event_msg m = {
		.ev_type = EV_USER_IPI,
		.ev_arg1 = (__u16)producer,
		.ev_arg2 = seq,
		.ev_arg3 = ~tag,
		.ev_arg4 = tag,
	};

	return m;
}

static bool msg_ok(const struct event_msg *m)
{
	return m->ev_type == EV_USER_IPI && m->ev_arg1 < NR_PRODUCERS &&
	       m->ev_arg4 == ((__u64)m->ev_arg1 << 32 | m->ev_arg2) &&
	       m->ev_arg3 == ~m->ev_arg4;
}

/* Pages the ucq owns: 2 + nr_extra_pgs, all of them from the arena. */
static void expect_page_accounting(unsigned long baseline)
{
	expect_eq(ks_arena_used() - baseline, 2 + ucq.nr_extra_pgs);
}

TEST(init_publishes_an_empty_queue)
{
	struct event_msg m;
	unsigned long base = ks_arena_used();

	expect_eq(vcore_ucq_init(&ucq), 0);
	expect_eq(ucq.ucq_ready, 1);
	expect_eq(ucq.prod_idx, ucq.cons_idx);
	expect(ucq.spare_pg && ucq.spare_pg != ucq.prod_idx);
	expect_eq(ucq.prod_idx & VCORE_UCQ_SLOT_MASK, 0);
	expect(vcore_ucq_is_empty(&ucq));
	expect(!vcore_get_ucq_msg(&ucq, &m));
	expect_eq(ks_arena_used() - base, 2);
	vcore_ucq_free(&ucq);
	expect_eq(ks_arena_used(), base);
	expect_eq(ucq.ucq_ready, 0);
}

TEST(init_raw_rejects_bad_pages)
{
	char *pg = vcore_arena_alloc_pages(2);

	expect_eq(vcore_ucq_init_raw(&ucq, NULL, pg), -EINVAL);
	expect_eq(vcore_ucq_init_raw(&ucq, pg + 8, pg + 4096), -EINVAL);
	expect_eq(vcore_ucq_init_raw(&ucq, pg, pg), -EINVAL);
	expect_eq(vcore_ucq_init_raw(&ucq, pg, pg + 4096), 0);
	vcore_ucq_free(&ucq);
}

TEST(post_to_uninitialised_ucq_is_dropped)
{
	struct ucq fresh = { 0 };
	struct event_msg m = make_msg(0, 0);

	expect_eq(ks_ucq_post(&fresh, &m), VCORE_DROP_UCQ_NOT_READY);
}

/* Akaros's kernel UCQ test: 1, then 5000, then 1000 messages. */
TEST(bursts_of_1_5000_1000_in_order_across_pages)
{
	static const unsigned int bursts[] = { 1, 5000, 1000 };
	unsigned long base = ks_arena_used();
	struct event_msg m = { 0 };
	__u32 seq = 0, got = 0;

	expect_eq(vcore_ucq_init(&ucq), 0);
	for (unsigned int b = 0; b < 3; b++) {
		for (unsigned int i = 0; i < bursts[b]; i++) {
			m = make_msg(0, seq++);
			expect_eq(ks_ucq_post(&ucq, &m), 0);
		}
		if (b == 1) {
			/* 5000 unconsumed messages span 40 pages. */
			expect(ucq.nr_extra_pgs >= 5000 / SLOTS - 1);
			expect_page_accounting(base);
		}
		expect(!vcore_ucq_is_empty(&ucq));
		while (vcore_get_ucq_msg(&ucq, &m)) {
			expect(msg_ok(&m));
			if (m.ev_arg2 != got)
				break;
			got++;
		}
		expect_eq(got, seq);
		expect(vcore_ucq_is_empty(&ucq));
	}
	/* Drained: the spare absorbed one page, the rest went back. */
	expect_eq(ucq.nr_extra_pgs, 0);
	expect_page_accounting(base);
	/* Each flip counted in cons_idx's high bits. */
	expect((ucq.cons_idx >> 48) >= 6001 / SLOTS);
	vcore_ucq_free(&ucq);
	expect_eq(ks_arena_used(), base);
}

TEST(free_returns_every_page_of_a_long_chain)
{
	unsigned long base = ks_arena_used();
	struct event_msg m = make_msg(1, 7);

	expect_eq(vcore_ucq_init(&ucq), 0);
	for (unsigned int i = 0; i < 20 * SLOTS; i++)
		expect_eq(ks_ucq_post(&ucq, &m), 0);
	/* Half consumed: the chain still spans about ten pages. */
	for (unsigned int i = 0; i < 10 * SLOTS; i++)
		expect(vcore_get_ucq_msg(&ucq, &m));
	expect_page_accounting(base);
	vcore_ucq_free(&ucq);
	expect_eq(ks_arena_used(), base);
	expect_eq(ks_arena_bad_frees(), 0);
}

/*
 * The flip count at work.  A consumer finds slot 5 of page A to claim
 * and stalls before its CAS; meanwhile the queue goes round both its
 * pages and comes back, empty, to slot 5 of page A.  Resumed, the stalled
 * consumer must see that the index moved on (its CAS fails) and report
 * empty, not claim the slot no producer owns and spin there until someone
 * posts.  Without the flip count, it does the latter.
 */
static bool victim_got;
static unsigned int victim_done;

static void *victim(void *arg)
{
	struct event_msg m;

	(void)arg;
	victim_got = vcore_get_ucq_msg(&ucq, &m);
	smp_store_release(&victim_done, 1);
	return NULL;
}

TEST(a_consumer_stalled_across_page_recycling_claims_nothing)
{
	struct event_msg m = make_msg(2, 0);
	__u64 start;
	pthread_t t;
	double t0;

	expect_eq(vcore_ucq_init(&ucq), 0);
	for (unsigned int i = 0; i < 5; i++) {
		expect_eq(ks_ucq_post(&ucq, &m), 0);
		expect(vcore_get_ucq_msg(&ucq, &m));
	}
	expect_eq(ks_ucq_post(&ucq, &m), 0);		/* slot 5 */
	start = ucq.cons_idx;
	victim_done = 0;
	inject_stall_once(INJ_UCQ_CHECKED);
	pthread_create(&t, NULL, victim, NULL);
	inject_wait_stalled();
	/* Take slot 5, then once round: 121 + 127 + 5 slots. */
	for (unsigned int i = 0; i < 1 + 121 + 127 + 5; i++) {
		if (i)
			expect_eq(ks_ucq_post(&ucq, &m), 0);
		expect(vcore_get_ucq_msg(&ucq, &m));
	}
	expect(vcore_ucq_is_empty(&ucq));
	expect_eq(ucq.cons_idx & ((1ULL << 48) - 1), start & ((1ULL << 48) - 1));
	expect(ucq.cons_idx != start);
	inject_release();
	t0 = now_s();
	while (!smp_load_acquire(&victim_done) && now_s() - t0 < 2)
		sched_yield();
	expect(smp_load_acquire(&victim_done));
	if (!smp_load_acquire(&victim_done))
		ks_ucq_post(&ucq, &m);		/* unstick it */
	pthread_join(t, NULL);
	expect(!victim_got);
	vcore_ucq_free(&ucq);
}

/*
 * The kernel links the next page (UCQ-5) before it moves prod_idx onto
 * it (UCQ-6).  A flip that waits for the link alone lets the consumers onto the
 * new page while prod_idx still points past the end of the old one, and
 * there "cons != prod" no longer says that a producer owns slot cons: one
 * consumer takes slot 0 (the linking producer's), the next takes slot 1,
 * which nobody owns, and waits there until the kernel posts again (or,
 * the page taken to its end, flips and waits under u_lock for a link
 * that needs yet another post).  Here the linking producer stalls between
 * UCQ-5 and UCQ-6 with one message in flight: no consumer may move onto the new
 * page before prod_idx does, and once the producer goes on, one consumer
 * gets the message and the other finds the queue empty.
 */
#define POS(idx)	((idx) & ((1ULL << 48) - 1))

struct racer {
	pthread_t t;
	bool got;
	unsigned int done;
	struct event_msg m;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	r->got = vcore_get_ucq_msg(&ucq, &r->m);
	smp_store_release(&r->done, 1);
	return NULL;
}

/*
 * Post one message, stalling at INJ_K_UCQ_LINKED: just before the core's
 * first plain store to prod_idx, the store-release that moves it onto the
 * page just linked (kmod/core/ucq.c's B; every claim before it is a
 * fetch-add).
 */
static void *post_one(void *arg)
{
	inject_at_core_access(INJ_K_UCQ_LINKED, &ucq.prod_idx,
			      sizeof(ucq.prod_idx), H_STORE, 0);
	if (ks_ucq_post(&ucq, arg))
		diag("post_one: the post failed");
	inject_at_core_clear();
	return NULL;
}

/* Wait up to secs for cond; true if it came. */
#define wait_until(cond, secs)						\
	({								\
		double __t0 = now_s();					\
									\
		while (!(cond) && now_s() - __t0 < (secs))		\
			sched_yield();					\
		(cond);							\
	})

/* Post SLOTS messages and take them: cons_idx == prod_idx, at a page end. */
static __u64 drain_to_page_end(unsigned int producer)
{
	struct event_msg m = make_msg(producer, 0);

	for (unsigned int i = 0; i < SLOTS; i++) {
		expect_eq(ks_ucq_post(&ucq, &m), 0);
		expect(vcore_get_ucq_msg(&ucq, &m));
	}
	expect_eq(POS(ucq.cons_idx), ucq.prod_idx);
	expect_eq(ucq.cons_idx & VCORE_UCQ_SLOT_MASK, SLOTS);
	return ucq.cons_idx;
}

/* Join a racer, posting to free one that waits on a slot nobody owns. */
static void join_racer(struct racer *r, struct event_msg *m)
{
	if (!wait_until(smp_load_acquire(&r->done), 2)) {
		diag("a consumer is still waiting; posting to free it");
		expect_eq(ks_ucq_post(&ucq, m), 0);
	}
	pthread_join(r->t, NULL);
}

TEST(consumers_wait_for_prod_idx_to_reach_a_linked_page)
{
	struct event_msg m = make_msg(3, 1);
	struct racer r[2] = { 0 };
	pthread_t poster;
	bool done[2];
	__u64 end, next;

	expect_eq(vcore_ucq_init(&ucq), 0);
	end = drain_to_page_end(3);
	next = ucq.spare_pg;		/* the page the post will link */
	inject_stall_once(INJ_K_UCQ_LINKED);
	pthread_create(&poster, NULL, post_one, &m);
	inject_wait_stalled();		/* linked; prod_idx not moved */
	/* Two claims past the end: the fast path's, then the locked one. */
	expect_eq(ucq.prod_idx, POS(end) + 2);
	pthread_create(&r[0].t, NULL, racer_main, &r[0]);
	/* The first consumer is in the flip, or already past it. */
	wait_until(READ_ONCE(ucq.u_lock) || READ_ONCE(ucq.cons_idx) != end, 2);
	pthread_create(&r[1].t, NULL, racer_main, &r[1]);
	/* Time for both to run ahead, as far as they would: slot 2 of next. */
	wait_until(POS(READ_ONCE(ucq.cons_idx)) == next + 2, 0.5);
	/* Nobody is on the new page before prod_idx is. */
	expect_eq(READ_ONCE(ucq.cons_idx), end);
	inject_release();
	pthread_join(poster, NULL);
	for (unsigned int i = 0; i < 2; i++)
		done[i] = wait_until(smp_load_acquire(&r[i].done), 2);
	expect(done[0] && done[1]);
	for (unsigned int i = 0; i < 2; i++)
		join_racer(&r[i], &m);
	expect_eq(r[0].got + r[1].got, 1);
	expect(r[r[1].got].got && msg_ok(&r[r[1].got].m) &&
	       r[r[1].got].m.ev_arg2 == 1);
	expect(vcore_ucq_is_empty(&ucq));
	vcore_ucq_free(&ucq);
}

/*
 * A claim that finds no page (no spare, arena full) gives its slots back:
 * prod_idx returns to the end of the page.  A consumer that saw prod_idx
 * past the end and went to flip must then report the queue empty, not
 * wait under u_lock for a link that only a later post will bring.  The
 * test plays the failed claim on prod_idx.
 */
TEST(a_flip_gives_up_when_a_failed_claim_gives_its_slots_back)
{
	struct event_msg m = make_msg(3, 2);
	struct racer r = { 0 };
	__u64 end;

	expect_eq(vcore_ucq_init(&ucq), 0);
	end = drain_to_page_end(3);
	fetch_add(&ucq.prod_idx, 1);		/* a claim past the end */
	pthread_create(&r.t, NULL, racer_main, &r);
	expect(wait_until(READ_ONCE(ucq.u_lock), 2));	/* in the flip */
	WRITE_ONCE(ucq.prod_idx, POS(end));	/* no page: given back */
	expect(wait_until(smp_load_acquire(&r.done), 2));
	join_racer(&r, &m);
	expect(!r.got);
	if (!r.got)
		expect_eq(READ_ONCE(ucq.cons_idx), end);
	expect(vcore_ucq_is_empty(&ucq));
	vcore_ucq_free(&ucq);
}

/* ---- many threads ---------------------------------------------------- */

/*
 * Producers stream a chunk of messages each, under flow control (at most
 * WINDOW in flight), then all threads meet at a quiescent point: the
 * consumers have taken everything, and the queue must be empty with
 * cons_idx at prod_idx.  A consumer that claimed a slot no producer owns
 * would be stuck there, and the watchdog fails the test.
 */
struct stress {
	unsigned int nr_consumers;
	unsigned long per_producer;
	unsigned long chunk;		/* messages per producer between checks */
	unsigned long total;
	unsigned long sent;		/* producers, atomic */
	unsigned long received;		/* consumers, atomic */
	pthread_barrier_t quiesce;	/* everyone, after each chunk */
	unsigned char *seen;		/* [producer * per_producer + seq] */
	unsigned long dups, bad, out_of_order, bad_quiesce;
	__s64 last_seq[NR_PRODUCERS];	/* single consumer only */
	__u64 max_extra;
};

struct producer_arg {
	struct stress *st;
	unsigned int id;
};

static unsigned long nr_chunks(const struct stress *st)
{
	return (st->per_producer + st->chunk - 1) / st->chunk;
}

static void *producer_main(void *arg)
{
	struct producer_arg *pa = arg;
	struct stress *st = pa->st;

	for (unsigned long i = 0; i < st->per_producer; i++) {
		struct event_msg m = make_msg(pa->id, (__u32)i);

		/* Flow control, so the page bound below means something. */
		while (READ_ONCE(st->sent) - READ_ONCE(st->received) >= WINDOW)
			sched_yield();
		fetch_add(&st->sent, 1);
		if (ks_ucq_post(&ucq, &m))
			fetch_add(&st->bad, 1);
		if ((i + 1) % st->chunk == 0 || i + 1 == st->per_producer) {
			pthread_barrier_wait(&st->quiesce);	/* drained */
			pthread_barrier_wait(&st->quiesce);	/* checked */
		}
	}
	return NULL;
}

static void consume_one(struct stress *st, const struct event_msg *m)
{
	unsigned long k;

	if (!msg_ok(m) || m->ev_arg2 >= st->per_producer) {
		fetch_add(&st->bad, 1);
		return;
	}
	k = m->ev_arg1 * st->per_producer + m->ev_arg2;
	if (xchg(&st->seen[k], 1))
		fetch_add(&st->dups, 1);
	if (st->nr_consumers == 1) {
		if (m->ev_arg2 != st->last_seq[m->ev_arg1] + 1)
			st->out_of_order++;
		st->last_seq[m->ev_arg1] = m->ev_arg2;
	}
}

static void *consumer_main(void *arg)
{
	struct stress *st = arg;
	struct event_msg m;
	unsigned long n = 0;

	for (unsigned long c = 0; c < nr_chunks(st); c++) {
		unsigned long upto = (c + 1) * st->chunk;
		unsigned long target = NR_PRODUCERS *
			(upto < st->per_producer ? upto : st->per_producer);

		while (READ_ONCE(st->received) < target) {
			if (!vcore_get_ucq_msg(&ucq, &m)) {
				sched_yield();
				continue;
			}
			consume_one(st, &m);
			fetch_add(&st->received, 1);
			if (++n % 256 == 0) {
				__u64 extra = READ_ONCE(ucq.nr_extra_pgs);

				if (extra > READ_ONCE(st->max_extra))
					WRITE_ONCE(st->max_extra, extra);
			}
		}
		pthread_barrier_wait(&st->quiesce);
		pthread_barrier_wait(&st->quiesce);
	}
	return NULL;
}

static void run_stress(unsigned int nr_consumers, unsigned long n,
		       unsigned long chunk, unsigned int inject_one_in)
{
	pthread_t prod[NR_PRODUCERS], cons[NR_CONSUMERS_MAX];
	struct producer_arg pa[NR_PRODUCERS];
	struct stress st = { .nr_consumers = nr_consumers,
			     .per_producer = n, .chunk = chunk };
	unsigned long base = ks_arena_used(), bound;
	unsigned long missing = 0;
	double t0, dt;

	st.total = NR_PRODUCERS * n;
	st.seen = calloc(st.total, 1);
	for (unsigned int p = 0; p < NR_PRODUCERS; p++)
		st.last_seq[p] = -1;
	pthread_barrier_init(&st.quiesce, NULL,
			     NR_PRODUCERS + nr_consumers + 1);
	expect_eq(vcore_ucq_init(&ucq), 0);
	ks_arena_reset_peak();
	inject_set_rate(inject_one_in);

	t0 = now_s();
	for (unsigned int c = 0; c < nr_consumers; c++)
		pthread_create(&cons[c], NULL, consumer_main, &st);
	for (unsigned int p = 0; p < NR_PRODUCERS; p++) {
		pa[p] = (struct producer_arg){ .st = &st, .id = p };
		pthread_create(&prod[p], NULL, producer_main, &pa[p]);
	}
	for (unsigned long c = 0; c < nr_chunks(&st); c++) {
		pthread_barrier_wait(&st.quiesce);
		if (!vcore_ucq_is_empty(&ucq) ||
		    (ucq.cons_idx & ((1ULL << 48) - 1)) != ucq.prod_idx)
			st.bad_quiesce++;
		pthread_barrier_wait(&st.quiesce);
	}
	for (unsigned int p = 0; p < NR_PRODUCERS; p++)
		pthread_join(prod[p], NULL);
	for (unsigned int c = 0; c < nr_consumers; c++)
		pthread_join(cons[c], NULL);
	dt = now_s() - t0;
	inject_set_rate(0);
	pthread_barrier_destroy(&st.quiesce);

	for (unsigned long k = 0; k < st.total; k++)
		missing += !st.seen[k];
	expect_eq(st.bad, 0);
	expect_eq(st.dups, 0);
	expect_eq(missing, 0);
	expect_eq(st.out_of_order, 0);
	expect_eq(st.bad_quiesce, 0);
	expect(vcore_ucq_is_empty(&ucq));
	expect_page_accounting(base);
	/*
	 * At most WINDOW + NR_PRODUCERS messages are in flight, and a page
	 * is recycled once consumed: the queue spans a bounded number of
	 * pages, plus the spare, plus one being handed over.
	 */
	bound = (WINDOW + NR_PRODUCERS) / SLOTS + 6;
	expect(ks_arena_peak() - base <= bound);
	expect(st.max_extra <= bound);
	diag("%u producers x %lu, %u consumer(s): %lu messages in %.2f s (%.0f/s), "
	     "%lu quiescent points; peak %lu pages (bound %lu), max nr_extra_pgs %llu, "
	     "%llu page flips, %lu delays injected at %u points",
	     NR_PRODUCERS, n, nr_consumers, st.total, dt, st.total / dt,
	     nr_chunks(&st), ks_arena_peak() - base, bound,
	     (unsigned long long)st.max_extra,
	     (unsigned long long)(ucq.cons_idx >> 48), inject_delays(),
	     inject_points_hit());
	vcore_ucq_free(&ucq);
	expect_eq(ks_arena_used(), base);
	expect_eq(ks_arena_bad_frees(), 0);
	free(st.seen);
}

TEST(four_producers_two_consumers_every_message_exactly_once)
{
	run_stress(2, per_producer, 1024, 0);
}

TEST(four_producers_one_consumer_keeps_per_producer_order)
{
	run_stress(1, per_producer, 1024, 0);
}

/* Page flips contended: more consumers than CPUs here. */
TEST(four_producers_four_consumers_every_message_exactly_once)
{
	run_stress(4, per_producer / 2, 1024, 0);
}

/* The same with every race window widened by injected delays. */
TEST(exactly_once_with_injected_delays)
{
	run_stress(2, per_producer / 10, 100, 16);
}

TEST(per_producer_order_with_injected_delays)
{
	run_stress(1, per_producer / 10, 100, 16);
}

TEST(four_consumers_with_injected_delays)
{
	run_stress(4, per_producer / 10, 100, 16);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		per_producer = strtoul(argv[1], NULL, 0);
	tap_start(120);
	if (ks_init(1, 4096)) {
		printf("Bail out! no memory for the kernel\n");
		return 1;
	}
	RUN(init_publishes_an_empty_queue);
	RUN(init_raw_rejects_bad_pages);
	RUN(post_to_uninitialised_ucq_is_dropped);
	RUN(bursts_of_1_5000_1000_in_order_across_pages);
	RUN(free_returns_every_page_of_a_long_chain);
	RUN(a_consumer_stalled_across_page_recycling_claims_nothing);
	RUN(consumers_wait_for_prod_idx_to_reach_a_linked_page);
	RUN(a_flip_gives_up_when_a_failed_claim_gives_its_slots_back);
	RUN(four_producers_two_consumers_every_message_exactly_once);
	RUN(four_producers_one_consumer_keeps_per_producer_order);
	RUN(four_producers_four_consumers_every_message_exactly_once);
	RUN(exactly_once_with_injected_delays);
	RUN(per_producer_order_with_injected_delays);
	RUN(four_consumers_with_injected_delays);
	ks_fini();		/* aborts if the core leaked */
	return tap_done();
}
