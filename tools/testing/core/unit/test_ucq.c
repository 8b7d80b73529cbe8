// SPDX-License-Identifier: GPL-2.0
/*
 * The UCQ producer (kmod/core/ucq.c): slots, page linking with and without the
 * spare, arena exhaustion, and every user-written field made hostile.
 */
#include "ucq.c"

#include "unit.h"

#define SLOTS	VCORE_UCQ_SLOTS_PER_PAGE

static struct ucq *U;
static u64 first_pg;

/* A UCQ in its own arena page, set up by "user space". */
static void ucq_setup(unsigned long arena_pages, bool spare)
{
	struct h_opts o = { .max_vcores = 2, .arena_pages = arena_pages };

	setup_opts(&o);
	U = h_obj(H, sizeof(*U), NULL);
	h_ucq_init(H, U, spare);
	first_pg = U->prod_idx;
}

static int post(u32 seq)
{
	struct event_msg m = msg_of(EV_USER_IPI, seq);

	return ucq_post(&H->m, U, &m);
}

/* Take n messages and check they are seq .. seq + n - 1. */
static void expect_in_order(u32 seq, unsigned int n)
{
	struct event_msg m;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!h_ucq_take(H, U, &m) || !msg_is(&m, EV_USER_IPI, seq + i)) {
			diag("message %u of %u is wrong or missing", i, n);
			expect(0);
			return;
		}
	}
	expect(!h_ucq_take(H, U, &m));
}

TEST(post_to_an_unready_ucq_is_dropped)
{
	ucq_setup(8, true);
	U->ucq_ready = 0;
	expect_eq(post(0), VCORE_DROP_UCQ_NOT_READY);
	expect_eq(U->prod_idx, first_pg);
	teardown();
}

TEST(a_full_page_links_the_spare_and_keeps_its_slot_0)
{
	struct ucq_page *pg1;
	u64 spare;
	u32 i;

	ucq_setup(8, true);
	spare = U->spare_pg;
	pg1 = h_u2k(H, first_pg, VCORE_UCQ_PAGE_SIZE);
	for (i = 0; i < SLOTS; i++)
		expect_eq(post(i), 0);
	expect_eq(U->prod_idx, first_pg + SLOTS);
	expect_eq(pg1->header.cons_next_pg, 0);
	expect_eq(post(SLOTS), 0);
	expect_eq(pg1->header.cons_next_pg, spare);
	expect_eq(U->prod_idx, spare + 1);
	expect_eq(U->spare_pg, 0);
	expect_eq(U->nr_extra_pgs, 0);
	expect_eq(U->prod_overflow, 0);
	expect_in_order(0, SLOTS + 1);
	teardown();
}

TEST(without_a_spare_a_fresh_arena_page_is_taken_and_counted)
{
	unsigned long used;
	u32 i;

	ucq_setup(8, false);
	used = H->m.arena.nr_used;
	for (i = 0; i <= SLOTS; i++)
		expect_eq(post(i), 0);
	expect_eq(U->nr_extra_pgs, 1);
	expect_eq(H->m.arena.nr_used, used + 1);
	expect_in_order(0, SLOTS + 1);
	teardown();
}

TEST(a_recycled_spare_is_zeroed_before_it_is_linked)
{
	struct ucq_page *spare;
	u32 i;

	ucq_setup(8, true);
	spare = h_u2k(H, U->spare_pg, VCORE_UCQ_PAGE_SIZE);
	memset(spare, 0x6b, sizeof(*spare));	/* stale ready flags */
	for (i = 0; i <= SLOTS; i++)
		expect_eq(post(i), 0);
	expect_eq(spare->header.cons_next_pg, 0);
	expect_eq(spare->msgs[1].ready, 0);
	expect_eq(spare->msgs[SLOTS - 1].ready, 0);
	expect_in_order(0, SLOTS + 1);
	teardown();
}

TEST(full_arena_and_no_spare_drops_and_recovers)
{
	u64 rest;
	u32 i;

	ucq_setup(4, false);		/* ucq, its page, 2 left */
	h_pages(H, 2, &rest);
	for (i = 0; i < SLOTS; i++)
		expect_eq(post(i), 0);
	expect_eq(post(SLOTS), VCORE_DROP_UCQ_NOMEM);
	expect_eq(post(SLOTS), VCORE_DROP_UCQ_NOMEM);
	expect_eq(U->prod_overflow, 0);
	expect_eq(mcp_arena_free_pages(&H->m, rest, 2), 0);
	expect_eq(post(SLOTS), 0);
	expect_eq(U->nr_extra_pgs, 1);
	expect_in_order(0, SLOTS + 1);
	teardown();
}

/*
 * Every failed post past a full page still advances prod_idx.  After
 * 4096 - SLOTS of them the slot number carries into the page address and
 * the kernel posts into the next arena page, which belongs to something
 * else.  Arena exhaustion is a normal condition, not a hostile one.
 */
TEST(failed_posts_never_write_outside_the_ucq_pages)
{
	unsigned int changed = 0, i;
	unsigned char *victim;
	u64 rest;

	ucq_setup(8, false);		/* ucq at page 0, its page at 1 */
	victim = h_pages(H, 1, NULL);	/* page 2, someone else's */
	memset(victim, 0x77, PAGE_SIZE);
	h_pages(H, 5, &rest);		/* the arena is full */
	for (i = 0; i < SLOTS; i++)
		post(i);
	for (i = 0; i < 2 * 4096; i++)
		post(SLOTS + i);
	for (i = 0; i < PAGE_SIZE; i++)
		changed += victim[i] != 0x77;
	expect_eq(changed, 0);
	expect_eq(U->prod_idx & ~(u64)VCORE_UCQ_SLOT_MASK, first_pg);
	expect_eq(mcp_arena_free_pages(&H->m, rest, 5), 0);
	teardown();
}

TEST(prod_overflow_left_set_takes_the_locked_path)
{
	ucq_setup(8, true);
	U->prod_overflow = 1;
	expect_eq(post(0), 0);
	expect_eq(U->prod_overflow, 0);
	expect_eq(U->prod_idx, first_pg + 1);
	expect_in_order(0, 1);
	teardown();
}

TEST(prod_idx_outside_the_arena_is_dropped)
{
	ucq_setup(8, true);
	U->prod_idx = H->procinfo_u;			/* a good slot */
	expect_eq(post(0), VCORE_DROP_UCQ_CORRUPT);
	U->prod_idx = H->procinfo_u + SLOTS;		/* a full page */
	expect_eq(post(0), VCORE_DROP_UCQ_CORRUPT);
	U->prod_idx = 0x1000;
	expect_eq(post(0), VCORE_DROP_UCQ_CORRUPT);
	expect_eq(H->m.procinfo->pid, (u32)getpid());	/* untouched */
	/* the spare was not spent on a page that could not be linked */
	expect(U->spare_pg != 0);
	teardown();
}

TEST(prod_idx_straddling_into_the_next_region_is_dropped)
{
	u64 last;

	ucq_setup(8, true);
	/* the last page of procdata: translatable, so posting is fine */
	last = H->procdata_u + H->m.procdata.size - PAGE_SIZE;
	U->prod_idx = last + 3;
	expect_eq(post(0), 0);
	/* procinfo ends where procdata starts: not a UCQ page */
	U->prod_idx = H->procdata_u - PAGE_SIZE + 3;
	expect_eq(post(0), VCORE_DROP_UCQ_CORRUPT);
	teardown();
}

TEST(bad_spare_pages_are_dropped_and_consumed)
{
	u32 i;

	ucq_setup(8, true);
	for (i = 0; i < SLOTS; i++)
		expect_eq(post(i), 0);
	U->spare_pg = H->procinfo_u;
	expect_eq(post(SLOTS), VCORE_DROP_UCQ_CORRUPT);
	expect_eq(U->spare_pg, 0);
	U->spare_pg = H->arena_u + 8 * PAGE_SIZE;	/* one past the end */
	expect_eq(post(SLOTS), VCORE_DROP_UCQ_CORRUPT);
	h_pages(H, 1, &U->spare_pg);
	U->spare_pg += 8;				/* misaligned */
	expect_eq(post(SLOTS), VCORE_DROP_UCQ_CORRUPT);
	/* a good one again: the queue goes on */
	h_pages(H, 1, &U->spare_pg);
	expect_eq(post(SLOTS), 0);
	expect_in_order(0, SLOTS + 1);
	teardown();
}

/*
 * With the arena unmapped nothing can be translated: the post is dropped
 * after its fetch-add, so the slot it claimed stays empty (a consumer
 * waits on it; unmapping the arena under live queues is user error).
 */
TEST(unmapped_arena_drops_without_writing)
{
	struct ucq_page *pg;

	ucq_setup(8, true);
	pg = h_u2k(H, first_pg, PAGE_SIZE);
	h_unmap(H, H_ARENA);
	expect_eq(post(0), VCORE_DROP_UCQ_CORRUPT);
	expect_eq(pg->msgs[0].ready, 0);
	h_remap(H, H_ARENA);
	expect_eq(post(1), 0);
	expect_eq(pg->msgs[0].ready, 0);
	expect(pg->msgs[1].ready && msg_is(&pg->msgs[1].ev_msg, EV_USER_IPI, 1));
	teardown();
}

/* Akaros's kernel UCQ test: 1, then 5000, then 1000 messages. */
TEST(bursts_of_1_5000_1000_arrive_in_order_and_pages_come_back)
{
	static const u32 bursts[] = { 1, 5000, 1000 };
	unsigned long used;
	u32 seq = 0, b, i;

	ucq_setup(64, true);
	used = H->m.arena.nr_used;
	for (b = 0; b < 3; b++) {
		for (i = 0; i < bursts[b]; i++)
			expect_eq(post(seq + i), 0);
		expect_in_order(seq, bursts[b]);
		seq += bursts[b];
	}
	expect_eq(U->nr_extra_pgs, 0);
	expect_eq(H->m.arena.nr_used, used);
	teardown();
}

struct irq_post {
	u32 seq;
	int err;
};

static void irq_post(void *arg)
{
	struct irq_post *p = arg;

	p->err = post(p->seq);
}

/*
 * A hard IRQ posting to the same UCQ at every point of a post that links
 * a page: both messages arrive, the interrupted one's slot is not reused.
 */
TEST(post_interrupted_by_a_post_at_every_point_of_a_link)
{
	struct irq_post ip;
	unsigned int at, fired = 0, n, seen;
	struct event_msg a;
	u32 got[4];

	ucq_setup(16, true);
	for (at = 0; at < 200; at++) {
		/* one slot left on the page */
		while ((U->prod_idx & VCORE_UCQ_SLOT_MASK) != SLOTS - 1)
			post(0);
		while (h_ucq_take(H, U, &a))
			;
		ip.seq = 2;
		h_irq_arm(at, irq_post, &ip);
		expect_eq(post(1), 0);
		expect_eq(post(3), 0);		/* the link, if not yet */
		if (!h_irq_fired()) {
			h_irq_disarm();
			break;
		}
		fired++;
		expect_eq(ip.err, 0);
		/* 1, 2 and 3 once each; 1 before 3, the order they were sent */
		for (n = 0, seen = 0; n < 4 && h_ucq_take(H, U, &a); n++) {
			got[n] = a.ev_arg2;
			seen |= 1u << (a.ev_arg2 & 7);
		}
		expect_eq(n, 3);
		expect_eq(seen, 0xe);
		expect(n == 3 && (got[0] == 1 || (got[0] == 2 && got[1] == 1)));
	}
	diag("an interrupt at each of %u points", fired);
	expect(fired > 10);
	teardown();
}

int main(void)
{
	tap_start(60);
	RUN(post_to_an_unready_ucq_is_dropped);
	RUN(a_full_page_links_the_spare_and_keeps_its_slot_0);
	RUN(without_a_spare_a_fresh_arena_page_is_taken_and_counted);
	RUN(a_recycled_spare_is_zeroed_before_it_is_linked);
	RUN(full_arena_and_no_spare_drops_and_recovers);
	RUN(failed_posts_never_write_outside_the_ucq_pages);
	RUN(prod_overflow_left_set_takes_the_locked_path);
	RUN(prod_idx_outside_the_arena_is_dropped);
	RUN(prod_idx_straddling_into_the_next_region_is_dropped);
	RUN(bad_spare_pages_are_dropped_and_consumed);
	RUN(unmapped_arena_drops_without_writing);
	RUN(bursts_of_1_5000_1000_arrive_in_order_and_pages_come_back);
	RUN(post_interrupted_by_a_post_at_every_point_of_a_link);
	return tap_done();
}
