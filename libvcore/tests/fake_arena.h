/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * A fake arena page source for the unit tests: it provides the functions
 * of arena_pages.c (vcore_arena_alloc_pages() and friends) over one
 * aligned_alloc()ed region, with the kernel's page map semantics (first
 * fit, zeroed pages, any page of a run may be freed), plus counters and
 * failure injection.  Free pages are ASan-poisoned, so a use after free
 * of an arena page is reported.
 */
#ifndef _VCORE_FAKE_ARENA_H
#define _VCORE_FAKE_ARENA_H

/* A fresh arena of nr_pages pages; 0 or -ENOMEM.  Not thread-safe. */
int fake_arena_init(unsigned int nr_pages);

/* Pages handed out now, and the most handed out at once since reset. */
unsigned int fake_arena_in_use(void);
unsigned int fake_arena_peak(void);
void fake_arena_reset_peak(void);

/* Frees of pages that were not handed out (double frees, stray pointers). */
unsigned int fake_arena_bad_frees(void);

/* Let the next n allocations succeed, then fail with ENOMEM; -1: never. */
void fake_arena_fail_after(int n);

#endif /* _VCORE_FAKE_ARENA_H */
