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
 * Internal to libvcore: it defines short, unprefixed names and is not
 * installed.
 */
#ifndef _VCORE_BARRIER_H
#define _VCORE_BARRIER_H

/* Single-copy-atomic accesses that the compiler may neither tear, fuse
 * nor re-load; no ordering against other locations. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* One-way barriers, on a pointer, as in the kernel. */
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Fences.  On x86-64, smp_rmb() and smp_wmb() are compiler barriers. */
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define barrier()		__asm__ __volatile__("" ::: "memory")

/*
 * Value-returning RMWs are fully ordered, as the kernel's are: each is an
 * implicit smp_mb() on both sides.  cmpxchg() returns the old value;
 * try_cmpxchg() returns whether it swapped and, if not, updates *oldp with
 * the value it found, so a retry loop needs no separate reload.
 */
#define xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define cmpxchg(p, o, n)						\
	__extension__ ({						\
		__typeof__(*(p)) __o = (o);				\
		__atomic_compare_exchange_n((p), &__o, (n), 0,		\
					    __ATOMIC_SEQ_CST,		\
					    __ATOMIC_SEQ_CST);		\
		__o;							\
	})
#define try_cmpxchg(p, oldp, n)						\
	__atomic_compare_exchange_n((p), (oldp), (n), 0,		\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define fetch_add(p, v)		__atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define fetch_sub(p, v)		__atomic_fetch_sub((p), (v), __ATOMIC_SEQ_CST)
#define fetch_or(p, v)		__atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define fetch_and(p, v)		__atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)

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
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	barrier();
#endif
}

#endif /* _VCORE_BARRIER_H */
