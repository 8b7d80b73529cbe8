// SPDX-License-Identifier: GPL-2.0
/*
 * Address translation and the arena's page map (kmod/core/arena.c).  The
 * regions sit back to back in user space (procinfo, procdata, arena), so
 * the edges between them are real cases.
 */
#include "arena.c"

#include "unit.h"

#define NPG	16

static void *tr(u64 u, u64 size, u64 align)
{
	return mcp_translate(&H->m, u, size, align);
}

static void arena_setup(bool apart)
{
	struct h_opts o = { .max_vcores = 2, .arena_pages = NPG,
			    .apart = apart };

	setup_opts(&o);
}

TEST(objects_inside_either_region_translate_exactly)
{
	u64 a, p, end;

	arena_setup(false);
	a = H->arena_u;
	p = H->procdata_u;
	end = a + H->m.arena.r.size;
	expect(tr(a, 8, 8) == H->m.arena.r.kaddr);
	expect(tr(a + 4096 + 64, 64, 64) == h_u2k(H, a + 4096 + 64, 64));
	expect(tr(end - 8, 8, 8) == h_u2k(H, end - 8, 8));
	expect(tr(a, H->m.arena.r.size, 4096) == H->m.arena.r.kaddr);
	expect(tr(p, 8, 8) == H->m.procdata.kaddr);
	expect(tr(p + H->m.procdata.size - 1, 1, 1) ==
	       h_u2k(H, p + H->m.procdata.size - 1, 1));
	teardown();
}

TEST(size_zero_misaligned_and_out_of_bounds_are_refused)
{
	u64 a, end;

	arena_setup(false);
	a = H->arena_u;
	end = a + H->m.arena.r.size;
	expect(!tr(a, 0, 1));
	expect(!tr(a + 4, 8, 8));
	expect(tr(a + 4, 4, 4) != NULL);
	expect(!tr(a + 1, 2, 2));
	expect(!tr(end, 1, 1));
	expect(!tr(end - 8, 9, 1));
	expect(!tr(a, H->m.arena.r.size + 1, 1));
	expect(!tr(a, ~0ULL, 1));
	expect(!tr(~0ULL - 7, 16, 8));		/* wraps */
	expect(!tr(~0ULL, 1, 1));
	expect(!tr(0, 8, 8));
	teardown();
}

TEST(objects_straddling_two_regions_are_refused)
{
	u64 a, p;

	arena_setup(false);
	a = H->arena_u;
	p = H->procdata_u;
	expect(tr(a - 8, 8, 8) != NULL);	/* the end of procdata */
	expect(!tr(a - 8, 16, 8));		/* procdata into the arena */
	expect(!tr(p - 8, 16, 8));		/* procinfo into procdata */
	teardown();
}

TEST(procinfo_is_never_a_target)
{
	arena_setup(false);
	expect(!tr(H->procinfo_u, 8, 8));
	expect(!tr(H->procinfo_u + H->procinfo_size - 8, 8, 8));
	teardown();
}

TEST(gaps_between_regions_translate_to_nothing)
{
	arena_setup(true);
	expect(!tr(H->arena_u - 8, 8, 8));
	expect(!tr(H->procdata_u + H->m.procdata.size, 8, 8));
	expect(tr(H->arena_u, 8, 8) != NULL);
	teardown();
}

TEST(unmapped_regions_translate_to_nothing)
{
	arena_setup(false);
	h_unmap(H, H_ARENA);
	expect(!tr(H->arena_u, 8, 8));
	expect(tr(H->procdata_u, 8, 8) != NULL);
	h_unmap(H, H_PROCDATA);
	expect(!tr(H->procdata_u, 8, 8));
	h_remap(H, H_ARENA);
	h_remap(H, H_PROCDATA);
	expect(tr(H->arena_u, 8, 8) != NULL);
	teardown();
}

TEST(pages_come_first_fit_contiguous_and_zeroed)
{
	void *k1, *k2, *k3;
	u64 u1, u2, u3;

	arena_setup(false);
	u1 = mcp_arena_alloc_pages(&H->m, 3, &k1);
	u2 = mcp_arena_alloc_pages(&H->m, 2, &k2);
	expect_eq(u1, H->arena_u);
	expect_eq(u2, H->arena_u + 3 * PAGE_SIZE);
	expect(k2 == (char *)k1 + 3 * PAGE_SIZE);
	expect_eq(H->m.arena.nr_used, 5);
	memset(k1, 0x5c, 3 * PAGE_SIZE);
	expect_eq(mcp_arena_free_pages(&H->m, u1 + PAGE_SIZE, 1), 0);
	/* a two-page hole does not fit in a one-page gap */
	u3 = mcp_arena_alloc_pages(&H->m, 2, &k3);
	expect_eq(u3, H->arena_u + 5 * PAGE_SIZE);
	u3 = mcp_arena_alloc_pages(&H->m, 1, &k3);
	expect_eq(u3, u1 + PAGE_SIZE);
	expect_eq(((unsigned char *)k3)[0], 0);
	expect_eq(((unsigned char *)k3)[PAGE_SIZE - 1], 0);
	expect_eq(((unsigned char *)k1)[0], 0x5c);
	expect_eq(H->m.arena.nr_used, 7);
	teardown();
}

TEST(a_node_hint_takes_its_slice_first_then_any)
{
	static const struct mcp_arena_slice slices[] = {
		{ .first = 0, .nr = NPG / 2, .node = 0 },
		{ .first = NPG / 2, .nr = NPG / 2, .node = 1 },
	};
	void *k;
	u64 u;

	arena_setup(false);
	H->m.arena.slices = slices;
	H->m.arena.nr_slices = 2;
	u = mcp_arena_alloc_pages_node(&H->m, 2, 1, &k);
	expect_eq(u, H->arena_u + NPG / 2 * PAGE_SIZE);
	u = mcp_arena_alloc_pages_node(&H->m, 1, 0, &k);
	expect_eq(u, H->arena_u);
	/* no node, or one without a slice: first fit */
	u = mcp_arena_alloc_pages_node(&H->m, 1, -1, &k);
	expect_eq(u, H->arena_u + PAGE_SIZE);
	u = mcp_arena_alloc_pages_node(&H->m, 1, 7, &k);
	expect_eq(u, H->arena_u + 2 * PAGE_SIZE);
	/* a run the slice cannot hold comes from anywhere */
	u = mcp_arena_alloc_pages_node(&H->m, NPG / 2, 1, &k);
	expect_eq(u, 0);
	u = mcp_arena_alloc_pages_node(&H->m, NPG / 2 - 2, 1, &k);
	expect_eq(u, H->arena_u + (NPG / 2 + 2) * PAGE_SIZE);
	u = mcp_arena_alloc_pages_node(&H->m, 1, 1, &k);
	expect_eq(u, H->arena_u + 3 * PAGE_SIZE);
	H->m.arena.slices = NULL;
	H->m.arena.nr_slices = 0;
	teardown();
}

TEST(a_full_arena_or_a_bad_request_gives_nothing)
{
	void *k = NULL;

	arena_setup(false);
	expect_eq(mcp_arena_alloc_pages(&H->m, 0, &k), 0);
	expect_eq(mcp_arena_alloc_pages(&H->m, NPG + 1, &k), 0);
	expect(mcp_arena_alloc_pages(&H->m, NPG, &k) != 0);
	expect_eq(mcp_arena_alloc_pages(&H->m, 1, &k), 0);
	expect_eq(H->m.arena.nr_used, NPG);
	h_unmap(H, H_ARENA);
	expect_eq(mcp_arena_free_pages(&H->m, H->arena_u, NPG), -ENXIO);
	expect_eq(mcp_arena_alloc_pages(&H->m, 1, &k), 0);
	h_remap(H, H_ARENA);
	expect_eq(mcp_arena_free_pages(&H->m, H->arena_u, NPG), 0);
	teardown();
}

TEST(no_arena_set_up_gives_nothing)
{
	struct h_opts o = { .max_vcores = 1 };
	void *k;

	setup_opts(&o);
	expect_eq(mcp_arena_alloc_pages(&H->m, 1, &k), 0);
	h_remap(H, H_ARENA);		/* an address, but no page map */
	expect_eq(mcp_arena_alloc_pages(&H->m, 1, &k), 0);
	expect(!tr(H->arena_u, 8, 8));
	h_unmap(H, H_ARENA);
	teardown();
}

TEST(freeing_what_was_not_handed_out_is_refused)
{
	void *k;
	u64 u, a;

	arena_setup(false);
	a = H->arena_u;
	u = mcp_arena_alloc_pages(&H->m, 2, &k);
	expect_eq(mcp_arena_free_pages(&H->m, u, 0), -EINVAL);
	expect_eq(mcp_arena_free_pages(&H->m, a - PAGE_SIZE, 1), -EINVAL);
	expect_eq(mcp_arena_free_pages(&H->m, u + 8, 1), -EINVAL);
	expect_eq(mcp_arena_free_pages(&H->m, a + NPG * PAGE_SIZE, 1),
		  -EINVAL);
	expect_eq(mcp_arena_free_pages(&H->m, a + (NPG - 1) * PAGE_SIZE, 2),
		  -EINVAL);
	expect_eq(mcp_arena_free_pages(&H->m, u, ~0U), -EINVAL);
	expect_eq(mcp_arena_free_pages(&H->m, u, 3), -EINVAL);	/* 3rd free */
	expect_eq(H->m.arena.nr_used, 2);
	expect_eq(mcp_arena_free_pages(&H->m, u + PAGE_SIZE, 1), 0);
	expect_eq(mcp_arena_free_pages(&H->m, u + PAGE_SIZE, 1), -EINVAL);
	expect_eq(mcp_arena_free_pages(&H->m, u, 1), 0);
	expect_eq(H->m.arena.nr_used, 0);
	teardown();
}

int main(void)
{
	tap_start(60);
	RUN(objects_inside_either_region_translate_exactly);
	RUN(size_zero_misaligned_and_out_of_bounds_are_refused);
	RUN(objects_straddling_two_regions_are_refused);
	RUN(procinfo_is_never_a_target);
	RUN(gaps_between_regions_translate_to_nothing);
	RUN(unmapped_regions_translate_to_nothing);
	RUN(pages_come_first_fit_contiguous_and_zeroed);
	RUN(a_node_hint_takes_its_slice_first_then_any);
	RUN(a_full_arena_or_a_bad_request_gives_nothing);
	RUN(no_arena_set_up_gives_nothing);
	RUN(freeing_what_was_not_handed_out_is_refused);
	return tap_done();
}
