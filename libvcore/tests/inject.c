// SPDX-License-Identifier: LGPL-2.1 OR MIT
/* The unit tests' delay injection hook; see inject.h. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "barrier.h"
#include "inject.h"
#include "lib/kernel_side.h"

/*
 * The core makes several hooked accesses where the library passes one
 * injection point: it gets delays that much less often, so that the
 * windows on both sides widen about alike.
 */
#define CORE_RATE_SCALE	4

static unsigned int rate;
static unsigned long hits[INJ_K_END];
static unsigned long core_base;		/* ks_injected() at the last reset */

/* The one-shot stall: guarded by stall_lock; stall_point also read bare. */
static pthread_mutex_t stall_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stall_cond = PTHREAD_COND_INITIALIZER;
static unsigned int stall_point;
static int stalled, released;

void inject_stall_once(unsigned int point)
{
	pthread_mutex_lock(&stall_lock);
	stalled = 0;
	released = 0;
	WRITE_ONCE(stall_point, point);
	pthread_mutex_unlock(&stall_lock);
}

void inject_wait_stalled(void)
{
	pthread_mutex_lock(&stall_lock);
	while (!stalled)
		pthread_cond_wait(&stall_cond, &stall_lock);
	pthread_mutex_unlock(&stall_lock);
}

void inject_release(void)
{
	pthread_mutex_lock(&stall_lock);
	released = 1;
	pthread_cond_broadcast(&stall_cond);
	pthread_mutex_unlock(&stall_lock);
}

static void stall(unsigned int point)
{
	pthread_mutex_lock(&stall_lock);
	if (stall_point == point) {
		WRITE_ONCE(stall_point, 0);
		stalled = 1;
		pthread_cond_broadcast(&stall_cond);
		while (!released)
			pthread_cond_wait(&stall_cond, &stall_lock);
	}
	pthread_mutex_unlock(&stall_lock);
}

void inject_set_rate(unsigned int one_in)
{
	if (one_in) {
		for (unsigned int i = 0; i < INJ_K_END; i++)
			WRITE_ONCE(hits[i], 0);
		WRITE_ONCE(core_base, ks_injected());
	}
	WRITE_ONCE(rate, one_in);
	ks_inject(one_in * CORE_RATE_SCALE);
}

unsigned long inject_delays(void)
{
	unsigned long n = ks_injected() - READ_ONCE(core_base);

	for (unsigned int i = 0; i < INJ_K_END; i++)
		n += READ_ONCE(hits[i]);
	return n;
}

unsigned int inject_points_hit(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < INJ_K_END; i++)
		n += READ_ONCE(hits[i]) != 0;
	return n;
}

static void core_point(void *arg, const volatile void *addr,
		       unsigned int kind)
{
	(void)addr;
	(void)kind;
	vcore_inject_delay((unsigned int)(uintptr_t)arg);
}

void inject_at_core_access(unsigned int point, const volatile void *addr,
			   size_t len, unsigned int kinds, unsigned int skip)
{
	if (h_watch(addr, len, kinds, skip, 1, core_point,
		    (void *)(uintptr_t)point) < 0)
		abort();
}

void inject_at_core_clear(void)
{
	h_watch_clear();
}

void vcore_inject_delay(unsigned int point)
{
	static __thread unsigned int x;
	unsigned int one_in = READ_ONCE(rate), spins;

	if (READ_ONCE(stall_point) == point)
		stall(point);
	if (!one_in || point >= INJ_K_END)
		return;
	if (!x)
		x = (unsigned int)(uintptr_t)&x | 1;
	x ^= x << 13;			/* xorshift32, per thread */
	x ^= x >> 17;
	x ^= x << 5;
	if (x % one_in)
		return;
	fetch_add(&hits[point], 1);
	if ((x >> 16) % 4 == 0) {
		sched_yield();
		return;
	}
	spins = 64 + (x >> 20) % 1024;
	while (spins--)
		cpu_relax();
}
