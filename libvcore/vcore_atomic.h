/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The orderings a program needs to share memory with the kernel's event
 * producers and with its own vcores: the ones libvcore itself is built on
 * (the kernel's memory model, on x86-64), under names of their own.
 *
 *   vcore_read_once(x), vcore_write_once(x, v)
 *	a plain access the compiler may neither tear, fuse nor repeat
 *   vcore_load_acquire(p), vcore_store_release(p, v)
 *	one-sided ordering: what the releasing side wrote before the store
 *	is visible to an acquiring load that sees it
 *   vcore_mb(), vcore_rmb(), vcore_wmb(), vcore_barrier()
 *	full, read and write fences; a compiler-only barrier
 *   vcore_xchg(p, v), vcore_cas(p, oldp, n), vcore_fetch_add(p, v),
 *   vcore_fetch_sub(p, v), vcore_fetch_or(p, v), vcore_fetch_and(p, v)
 *	read-modify-writes, each fully ordered (a full fence on both sides);
 *	vcore_cas() returns whether it swapped and, if not, stores the value
 *	it found in *oldp
 *   vcore_cpu_relax()
 *	the spin-wait hint (PAUSE)
 *
 * Examples: a UCQ consumer checks prod_idx with vcore_load_acquire(); a
 * vcore leaving vcore context clears notif_disabled, vcore_mb(), then
 * looks at notif_pending (the handshake vcore(4) describes).
 */
#ifndef _VCORE_ATOMIC_H
#define _VCORE_ATOMIC_H

#define vcore_read_once(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define vcore_write_once(x, v)		__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define vcore_load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define vcore_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

#define vcore_mb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vcore_rmb()			__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define vcore_wmb()			__atomic_thread_fence(__ATOMIC_RELEASE)
#define vcore_barrier()			__asm__ __volatile__("" ::: "memory")

#define vcore_xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define vcore_cas(p, oldp, n)						\
	__atomic_compare_exchange_n((p), (oldp), (n), 0,		\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define vcore_fetch_add(p, v)		__atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define vcore_fetch_sub(p, v)		__atomic_fetch_sub((p), (v), __ATOMIC_SEQ_CST)
#define vcore_fetch_or(p, v)		__atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define vcore_fetch_and(p, v)		__atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)

static inline void vcore_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	vcore_barrier();
#endif
}

#endif /* _VCORE_ATOMIC_H */
