/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compiler and debugging helpers the kernel provides, for the harness.
 * READ_ONCE()/WRITE_ONCE() are relaxed atomics and go through the access
 * hook like the vc_* accessors; WARN_ON() counts (a test fails on an
 * unexpected warning) and BUG_ON() aborts.
 */
#ifndef _H_COMPILER_H
#define _H_COMPILER_H

#define __must_hold(x)
#define __acquires(x)
#define __releases(x)
#define __rcu
#ifndef __always_inline
#define __always_inline		inline __attribute__((always_inline))
#endif
#define __maybe_unused		__attribute__((unused))
#define fallthrough		__attribute__((fallthrough))
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define BUILD_BUG_ON(c)		_Static_assert(!(c), #c)

#define container_of(ptr, type, member)					\
	((type *)((char *)(ptr) - offsetof(type, member)))

#define READ_ONCE(x)							\
	({ H_HOOK(&(x), H_LOAD, "READ_ONCE");				\
	   __atomic_load_n(&(x), __ATOMIC_RELAXED); })
#define WRITE_ONCE(x, v)						\
	({ H_HOOK(&(x), H_STORE, "WRITE_ONCE");				\
	   __atomic_store_n(&(x), (v), __ATOMIC_RELAXED); })

#define smp_load_acquire(p)						\
	({ H_HOOK((p), H_LOAD, "smp_load_acquire");			\
	   __atomic_load_n((p), __ATOMIC_ACQUIRE); })
#define smp_store_release(p, v)						\
	({ H_HOOK((p), H_STORE, "smp_store_release");			\
	   __atomic_store_n((p), (v), __ATOMIC_RELEASE); })
#define smp_mb()		h_fence(__ATOMIC_SEQ_CST)
#define smp_wmb()		h_fence(__ATOMIC_RELEASE)
#define smp_rmb()		h_fence(__ATOMIC_ACQUIRE)

/* Per-CPU state and preemption are plain per-thread variables here. */
#define smp_processor_id()	0
#define preempt_disable()	h_preempt_count_add(1)
#define preempt_enable()	h_preempt_count_add(-1)

void h_warn_at(const char *file, int line, const char *cond);
void h_bug_at(const char *file, int line, const char *cond)
	__attribute__((noreturn));

#define WARN_ON(c)							\
	({ bool __c = !!(c); if (__c) h_warn_at(__FILE__, __LINE__, #c); \
	   __c; })
#define WARN_ON_ONCE(c)		WARN_ON(c)
#define BUG_ON(c)							\
	do { if (c) h_bug_at(__FILE__, __LINE__, #c); } while (0)
#define lockdep_assert_held(l)	h_assert_held((l), __FILE__, __LINE__)

#define EXPORT_SYMBOL(s)
#define EXPORT_SYMBOL_GPL(s)

#endif /* _H_COMPILER_H */
