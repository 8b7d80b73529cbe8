/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A counting allocator in the place of kmalloc() and vmalloc_user().
 *
 * Every allocation is recorded with its call site; h_alloc_leaks() prints
 * those still outstanding.  h_alloc_fail_nth(n) makes the nth allocation
 * from now fail (once), so a test can walk every unwind path of a
 * constructor: fail the 1st, the 2nd, ... until it succeeds, checking for
 * leaks each time.  h_alloc_fail_after(n) fails every one past the nth.
 *
 * vmalloc_user() memory (the regions shared with user space) is page
 * aligned, zeroed, and fenced by PROT_NONE guard pages on both sides, so
 * a stray write just outside a region faults even without ASan.
 */
#ifndef _H_ALLOC_H
#define _H_ALLOC_H

#define GFP_KERNEL	0x01u
#define GFP_ATOMIC	0x02u
#define GFP_NOWAIT	0x04u
#define __GFP_ZERO	0x100u

typedef unsigned int gfp_t;

void *h_alloc(size_t size, bool zero, const char *file, int line);
void h_free(const void *p);
void *h_region_alloc(size_t size, const char *file, int line);
void h_region_free(const void *p);

#define kmalloc(s, g)		h_alloc((s), ((g) & __GFP_ZERO) != 0, \
					__FILE__, __LINE__)
#define kzalloc(s, g)		h_alloc((s), true, __FILE__, __LINE__)
#define kcalloc(n, s, g)						\
	((n) && (s) > SIZE_MAX / (n) ? NULL :				\
	 h_alloc((size_t)(n) * (s), true, __FILE__, __LINE__))
#define kfree(p)		h_free(p)
#define vmalloc_user(s)		h_region_alloc((s), __FILE__, __LINE__)
#define vfree(p)		h_region_free(p)
#define bitmap_zalloc(n, g)	kcalloc(BITS_TO_LONGS(n), sizeof(long), (g))
#define bitmap_free(p)		kfree(p)

void h_alloc_fail_nth(unsigned long n);
void h_alloc_fail_after(unsigned long n);
void h_alloc_fail_off(void);
/* Allocations made, frees made, outstanding now (all kinds). */
unsigned long h_alloc_count(void);
unsigned long h_alloc_failed(void);
unsigned long h_alloc_live(void);
/* Print every outstanding allocation with its site; returns how many. */
unsigned long h_alloc_leaks(FILE *f);

#endif /* _H_ALLOC_H */
