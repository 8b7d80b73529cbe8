/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bit operations and bitmaps, with the kernel's names and argument order.
 * Bitmaps are arrays of unsigned long, bit n in word n / BITS_PER_LONG.
 * The non-underscored set_bit()/clear_bit() are atomic, the __ ones not.
 */
#ifndef _H_BITMAP_H
#define _H_BITMAP_H

#define BITS_PER_LONG		(8 * (int)sizeof(long))
#define BIT(n)			(1UL << (n))
#define BITS_TO_LONGS(n)	(((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define H_BIT_WORD(n)		((n) / BITS_PER_LONG)
#define H_BIT_MASK(n)		(1UL << ((n) % BITS_PER_LONG))

static inline bool test_bit(unsigned long nr, const unsigned long *addr)
{
	return addr[H_BIT_WORD(nr)] & H_BIT_MASK(nr);
}

static inline void __set_bit(unsigned long nr, unsigned long *addr)
{
	addr[H_BIT_WORD(nr)] |= H_BIT_MASK(nr);
}

static inline void __clear_bit(unsigned long nr, unsigned long *addr)
{
	addr[H_BIT_WORD(nr)] &= ~H_BIT_MASK(nr);
}

static inline void set_bit(unsigned long nr, unsigned long *addr)
{
	__atomic_fetch_or(&addr[H_BIT_WORD(nr)], H_BIT_MASK(nr),
			  __ATOMIC_RELAXED);
}

static inline void clear_bit(unsigned long nr, unsigned long *addr)
{
	__atomic_fetch_and(&addr[H_BIT_WORD(nr)], ~H_BIT_MASK(nr),
			   __ATOMIC_RELAXED);
}

static inline bool test_and_set_bit(unsigned long nr, unsigned long *addr)
{
	return __atomic_fetch_or(&addr[H_BIT_WORD(nr)], H_BIT_MASK(nr),
				 __ATOMIC_SEQ_CST) & H_BIT_MASK(nr);
}

/* The first bit at or after start whose value is want, or size. */
static inline unsigned long h_find_bit(const unsigned long *addr,
				       unsigned long size,
				       unsigned long start, bool want)
{
	unsigned long n;

	for (n = start; n < size; n++) {
		/* whole words at a time where they cannot match */
		if (!(n % BITS_PER_LONG) && n + BITS_PER_LONG <= size &&
		    addr[H_BIT_WORD(n)] == (want ? 0UL : ~0UL)) {
			n += BITS_PER_LONG - 1;
			continue;
		}
		if (test_bit(n, addr) == want)
			return n;
	}
	return size;
}

static inline unsigned long find_next_zero_bit(const unsigned long *addr,
					       unsigned long size,
					       unsigned long offset)
{
	return h_find_bit(addr, size, offset, false);
}

static inline unsigned long find_next_bit(const unsigned long *addr,
					  unsigned long size,
					  unsigned long offset)
{
	return h_find_bit(addr, size, offset, true);
}

#define find_first_zero_bit(a, s)	find_next_zero_bit((a), (s), 0)
#define find_first_bit(a, s)		find_next_bit((a), (s), 0)

static inline void bitmap_set(unsigned long *map, unsigned int start,
			      unsigned int nbits)
{
	while (nbits--)
		__set_bit(start++, map);
}

static inline void bitmap_clear(unsigned long *map, unsigned int start,
				unsigned int nbits)
{
	while (nbits--)
		__clear_bit(start++, map);
}

static inline void bitmap_zero(unsigned long *map, unsigned int nbits)
{
	memset(map, 0, BITS_TO_LONGS(nbits) * sizeof(long));
}

static inline unsigned int bitmap_weight(const unsigned long *map,
					 unsigned int nbits)
{
	unsigned int n, w = 0;

	for (n = 0; n < nbits; n++)
		w += test_bit(n, map);
	return w;
}

/*
 * The first run of nr clear bits at or after start, whose first bit is a
 * multiple of align_mask + 1, lying wholly below size; size if none.
 */
static inline unsigned long
bitmap_find_next_zero_area(unsigned long *map, unsigned long size,
			   unsigned long start, unsigned int nr,
			   unsigned long align_mask)
{
	unsigned long first, busy;

	for (;;) {
		first = find_next_zero_bit(map, size, start);
		first = (first + align_mask) & ~align_mask;
		if (first >= size || nr > size - first)
			return size;
		busy = find_next_bit(map, first + nr, first);
		if (busy >= first + nr)
			return first;
		start = busy + 1;
	}
}

#endif /* _H_BITMAP_H */
