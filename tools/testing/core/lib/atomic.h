/* SPDX-License-Identifier: GPL-2.0 */
/*
 * atomic_t, atomic64_t and atomic_long_t on GCC builtins.  Kernel-private
 * counters (the MCP's statistics) are not shared with user space, so these
 * do not go through the access hook.  Value-returning operations are fully
 * ordered; the others are relaxed, as in the kernel.
 */
#ifndef _H_ATOMIC_H
#define _H_ATOMIC_H

typedef struct { int counter; } atomic_t;
typedef struct { long long counter; } atomic64_t;
typedef struct { long counter; } atomic_long_t;

#define ATOMIC_INIT(i)		{ (i) }

#define h_atomic_read(v)	__atomic_load_n(&(v)->counter, __ATOMIC_RELAXED)
#define h_atomic_set(v, i)	__atomic_store_n(&(v)->counter, (i), \
						 __ATOMIC_RELAXED)
#define h_atomic_add(v, i)	((void)__atomic_fetch_add(&(v)->counter, (i), \
							  __ATOMIC_RELAXED))
#define h_atomic_fetch_add(v, i) __atomic_fetch_add(&(v)->counter, (i), \
						    __ATOMIC_SEQ_CST)
#define h_atomic_or(v, i)	((void)__atomic_fetch_or(&(v)->counter, (i), \
							 __ATOMIC_RELAXED))

#define atomic_read(v)		h_atomic_read(v)
#define atomic_set(v, i)	h_atomic_set(v, i)
#define atomic_inc(v)		h_atomic_add(v, 1)
#define atomic_dec(v)		h_atomic_add(v, -1)
#define atomic_add(i, v)	h_atomic_add(v, i)
#define atomic_sub(i, v)	h_atomic_add(v, -(i))
#define atomic_or(i, v)		h_atomic_or(v, i)
#define atomic_fetch_add(i, v)	h_atomic_fetch_add(v, i)
#define atomic_inc_return(v)	(h_atomic_fetch_add(v, 1) + 1)
#define atomic_dec_and_test(v)	(h_atomic_fetch_add(v, -1) == 1)

#define atomic64_read(v)	h_atomic_read(v)
#define atomic64_set(v, i)	h_atomic_set(v, i)
#define atomic64_inc(v)		h_atomic_add(v, 1)
#define atomic64_dec(v)		h_atomic_add(v, -1)
#define atomic64_add(i, v)	h_atomic_add(v, i)
#define atomic64_sub(i, v)	h_atomic_add(v, -(i))
#define atomic64_fetch_add(i, v) h_atomic_fetch_add(v, i)

#define atomic_long_read(v)	h_atomic_read(v)
#define atomic_long_set(v, i)	h_atomic_set(v, i)
#define atomic_long_inc(v)	h_atomic_add(v, 1)
#define atomic_long_dec(v)	h_atomic_add(v, -1)
#define atomic_long_add(i, v)	h_atomic_add(v, i)
#define atomic_long_sub(i, v)	h_atomic_add(v, -(i))

#endif /* _H_ATOMIC_H */
