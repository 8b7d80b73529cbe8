/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Kernel-named barriers and atomics for memory shared with vcore.ko.
 *
 * The kernel side of every mailbox protocol is written with READ_ONCE(),
 * smp_load_acquire(), xchg() and friends; this header gives user space the
 * same names, so that a pairing reads the same on both sides of the ABI.
 * Everything maps onto GCC's __atomic builtins, which ThreadSanitizer
 * understands (it does not understand stand-alone fences, so the protocols
 * prefer acquire/release operations and value-returning RMWs, which are
 * full barriers, over smp_mb()).
 *
 * Operands are plain lvalues or pointers to plain __u8 .. __u64 fields of
 * the uapi structs: no _Atomic types, as in the kernel.
 *
 * Internal to libvcore: it defines short, unprefixed names over the
 * public vcore_atomic.h, and is not installed.
 */
#ifndef _VCORE_BARRIER_H
#define _VCORE_BARRIER_H

#include "vcore_atomic.h"

/* Single-copy-atomic accesses that the compiler may neither tear, fuse
 * nor re-load; no ordering against other locations. */
#define READ_ONCE(x)		vcore_read_once(x)
#define WRITE_ONCE(x, v)	vcore_write_once(x, v)

/* One-way barriers, on a pointer, as in the kernel. */
#define smp_load_acquire(p)	vcore_load_acquire(p)
#define smp_store_release(p, v)	vcore_store_release(p, v)

/* Fences.  On x86-64, smp_rmb() and smp_wmb() are compiler barriers. */
#define smp_mb()		vcore_mb()
#define smp_rmb()		vcore_rmb()
#define smp_wmb()		vcore_wmb()
#define barrier()		vcore_barrier()

/*
 * Value-returning RMWs are fully ordered, as the kernel's are: each is an
 * implicit smp_mb() on both sides.  cmpxchg() returns the old value;
 * try_cmpxchg() returns whether it swapped and, if not, updates *oldp with
 * the value it found, so a retry loop needs no separate reload.
 */
#define xchg(p, v)		vcore_xchg(p, v)
#define cmpxchg(p, o, n)						\
	__extension__ ({						\
		__typeof__(*(p)) __o = (o);				\
		__atomic_compare_exchange_n((p), &__o, (n), 0,		\
					    __ATOMIC_SEQ_CST,		\
					    __ATOMIC_SEQ_CST);		\
		__o;							\
	})
#define try_cmpxchg(p, oldp, n)	vcore_cas(p, oldp, n)
#define fetch_add(p, v)		vcore_fetch_add(p, v)
#define fetch_sub(p, v)		vcore_fetch_sub(p, v)
#define fetch_or(p, v)		vcore_fetch_or(p, v)
#define fetch_and(p, v)		vcore_fetch_and(p, v)

/* Weaker variants, named for their one-sided ordering. */
#define xchg_acquire(p, v)	__atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)
#define fetch_add_release(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_RELEASE)

/*
 * smp_store_mb(): store, then a full barrier, so that no later load is
 * satisfied before the store is visible ("clear the flag, then look").
 * Done as an exchange, as the kernel does on x86: one locked instruction,
 * and a full barrier that ThreadSanitizer can see.
 */
#define smp_store_mb(x, v)	((void)xchg(&(x), (v)))

/* The spin-wait hint: PAUSE on x86. */
#define cpu_relax()		vcore_cpu_relax()

#endif /* _VCORE_BARRIER_H */
