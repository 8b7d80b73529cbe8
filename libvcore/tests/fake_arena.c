// SPDX-License-Identifier: LGPL-2.1 OR MIT
/* The unit tests' stand-in for the kernel's arena page map; see the .h. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fake_arena.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define poison(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define poison(p, n)	memset((p), 0xa5, (n))	/* garbage, at least */
#define unpoison(p, n)	((void)(p), (void)(n))
#endif

#define PG	4096UL

static struct {
	pthread_mutex_t lock;		/* guards all below */
	char *base;
	unsigned char *used;
	unsigned int nr_pages;
	unsigned int in_use;
	unsigned int peak;
	int fail_after;
	unsigned int bad_frees;
} fa = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.fail_after = -1,
};

int fake_arena_init(unsigned int nr_pages)
{
	fa.base = aligned_alloc(PG, (size_t)nr_pages * PG);
	fa.used = calloc(nr_pages, 1);
	if (!fa.base || !fa.used)
		return -ENOMEM;
	fa.nr_pages = nr_pages;
	fa.in_use = 0;
	fa.peak = 0;
	fa.fail_after = -1;
	poison(fa.base, (size_t)nr_pages * PG);
	return 0;
}

unsigned int fake_arena_in_use(void)
{
	unsigned int n;

	pthread_mutex_lock(&fa.lock);
	n = fa.in_use;
	pthread_mutex_unlock(&fa.lock);
	return n;
}

unsigned int fake_arena_peak(void)
{
	unsigned int n;

	pthread_mutex_lock(&fa.lock);
	n = fa.peak;
	pthread_mutex_unlock(&fa.lock);
	return n;
}

void fake_arena_reset_peak(void)
{
	pthread_mutex_lock(&fa.lock);
	fa.peak = fa.in_use;
	pthread_mutex_unlock(&fa.lock);
}

unsigned int fake_arena_bad_frees(void)
{
	unsigned int n;

	pthread_mutex_lock(&fa.lock);
	n = fa.bad_frees;
	pthread_mutex_unlock(&fa.lock);
	return n;
}

void fake_arena_fail_after(int n)
{
	pthread_mutex_lock(&fa.lock);
	fa.fail_after = n;
	pthread_mutex_unlock(&fa.lock);
}

int vcore_arena_contains(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)fa.base;
	size_t size = (size_t)fa.nr_pages * PG;

	return fa.base && a >= base && len <= size && a - base <= size - len;
}

int vcore_arena_region(void **base, size_t *size)
{
	if (!fa.base)
		return -ENXIO;
	if (base)
		*base = fa.base;
	if (size)
		*size = (size_t)fa.nr_pages * PG;
	return 0;
}

void *vcore_arena_alloc_pages(unsigned int nr)
{
	unsigned int pg, run = 0;
	void *p;

	if (!nr) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&fa.lock);
	if (!fa.base) {
		pthread_mutex_unlock(&fa.lock);
		errno = ENXIO;
		return NULL;
	}
	if (fa.fail_after == 0) {
		pthread_mutex_unlock(&fa.lock);
		errno = ENOMEM;
		return NULL;
	}
	for (pg = 0; pg < fa.nr_pages && run < nr; pg++)
		run = fa.used[pg] ? 0 : run + 1;
	if (run < nr) {
		pthread_mutex_unlock(&fa.lock);
		errno = ENOMEM;
		return NULL;
	}
	pg -= nr;
	memset(fa.used + pg, 1, nr);
	fa.in_use += nr;
	if (fa.in_use > fa.peak)
		fa.peak = fa.in_use;
	if (fa.fail_after > 0)
		fa.fail_after--;
	p = fa.base + (size_t)pg * PG;
	unpoison(p, (size_t)nr * PG);
	memset(p, 0, (size_t)nr * PG);
	pthread_mutex_unlock(&fa.lock);
	return p;
}

int vcore_arena_free_pages(void *addr, unsigned int nr)
{
	uintptr_t off = (uintptr_t)addr - (uintptr_t)fa.base;
	unsigned int pg = (unsigned int)(off / PG);

	pthread_mutex_lock(&fa.lock);
	if (!nr || !vcore_arena_contains(addr, (size_t)nr * PG) || off % PG)
		goto err_bad_free;
	for (unsigned int i = pg; i < pg + nr; i++)
		if (!fa.used[i])
			goto err_bad_free;
	memset(fa.used + pg, 0, nr);
	fa.in_use -= nr;
	poison(addr, (size_t)nr * PG);
	pthread_mutex_unlock(&fa.lock);
	return 0;

err_bad_free:
	fa.bad_frees++;
	pthread_mutex_unlock(&fa.lock);
	return -EINVAL;
}
