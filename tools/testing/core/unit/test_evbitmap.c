// SPDX-License-Identifier: GPL-2.0
/* The bitmap producer (kmod/core/evbitmap.c). */
#include "evbitmap.c"

#include "unit.h"

static int post(struct evbitmap *bm, u16 type)
{
	struct event_msg m = { .ev_type = type, .ev_arg2 = 77 };

	return evbitmap_post(bm, &m, NULL);
}

TEST(each_type_sets_its_bit_then_check_bits)
{
	struct evbitmap *bm;

	setup();
	bm = h_obj(H, sizeof(*bm), NULL);
	expect_eq(post(bm, 0), 0);
	expect_eq(bm->bitmap[0], 1);
	expect_eq(bm->check_bits, 1);
	bm->check_bits = 0;
	expect_eq(post(bm, VCORE_MAX_NR_EVENT - 1), 0);
	expect_eq(bm->bitmap[(VCORE_MAX_NR_EVENT - 1) / 64],
		  1 | 1ULL << ((VCORE_MAX_NR_EVENT - 1) % 64));
	expect_eq(bm->check_bits, 1);
	expect_eq(post(bm, 0), 0);	/* coalesces */
	expect_eq(bm->bitmap[0] & 1, 1);
	teardown();
}

TEST(newly_set_says_whether_the_post_found_the_bit_clear)
{
	struct event_msg m = { .ev_type = 40 };
	struct evbitmap *bm;
	bool newly = false;

	setup();
	bm = h_obj(H, sizeof(*bm), NULL);
	expect_eq(evbitmap_post(bm, &m, &newly), 0);
	expect(newly);
	expect_eq(evbitmap_post(bm, &m, &newly), 0);	/* coalesced */
	expect(!newly);
	bm->bitmap[0] = 0;				/* the consumer took it */
	expect_eq(evbitmap_post(bm, &m, &newly), 0);
	expect(newly);
	m.ev_type = 41;					/* same word, other bit */
	expect_eq(evbitmap_post(bm, &m, &newly), 0);
	expect(newly);
	newly = true;
	m.ev_type = VCORE_MAX_NR_EVENT;			/* dropped: untouched */
	expect_eq(evbitmap_post(bm, &m, &newly), VCORE_DROP_BAD_EV_TYPE);
	expect(newly);
	teardown();
}

TEST(types_past_the_bitmap_are_dropped_untouched)
{
	struct evbitmap *bm;
	u16 t;

	setup();
	bm = h_obj(H, sizeof(*bm), NULL);
	for (t = VCORE_MAX_NR_EVENT; t < VCORE_MAX_NR_EVENT + 80; t++)
		expect_eq(post(bm, t), VCORE_DROP_BAD_EV_TYPE);
	expect_eq(post(bm, 0xffff), VCORE_DROP_BAD_EV_TYPE);
	for (t = 0; t < VCORE_EVBITMAP_WORDS; t++)
		expect_eq(bm->bitmap[t], 0);
	expect_eq(bm->check_bits, 0);
	expect_eq(bm->resv0, 0);
	teardown();
}

TEST(send_event_to_a_bitmap_loses_the_payload_and_counts_it)
{
	struct event_queue *evq;
	struct event_msg m = { .ev_type = EV_USER_IPI, .ev_arg2 = 9 };
	u64 q;

	setup();
	evq = h_evq(H, 0, 0, EV_MBOX_BITMAP, &q);
	mcp_send_event(&H->m, q, &m, 0);
	m.ev_type = VCORE_MAX_NR_EVENT;
	mcp_send_event(&H->m, q, &m, 0);
	expect_eq(H_STAT(H, posted[EV_MBOX_BITMAP]), 1);
	expect_eq(H_DROPS(H, VCORE_DROP_BAD_EV_TYPE), 1);
	expect(h_evbitmap_take(&h_evq_mbox(H, evq)->evbm, &m));
	expect_eq(m.ev_type, EV_USER_IPI);
	expect_eq(m.ev_arg2, 0);
	expect(!h_evbitmap_take(&h_evq_mbox(H, evq)->evbm, &m));
	teardown();
}

int main(void)
{
	tap_start(60);
	RUN(each_type_sets_its_bit_then_check_bits);
	RUN(newly_set_says_whether_the_post_found_the_bit_clear);
	RUN(types_past_the_bitmap_are_dropped_untouched);
	RUN(send_event_to_a_bitmap_loses_the_payload_and_counts_it);
	return tap_done();
}
