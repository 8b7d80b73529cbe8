// SPDX-License-Identifier: GPL-2.0
/* The counting allocator; see alloc.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../env.h"

#define ALLOC_MAGIC	0x6b616c6cU	/* "kall" */

/* One per outstanding allocation, on a list under the lock. */
struct rec {
	struct rec *next, *prev;
	const char *file;
	int line;
	size_t size;
	void *ptr;		/* what the caller got */
	void *map;		/* regions: the whole mapping, guards included */
	size_t map_len;
};

static struct {
	pthread_mutex_t lock;		/* guards everything below */
	struct rec head;
	unsigned long attempts, failed, live;
	unsigned long fail_at;		/* attempt number that fails, 0 none */
	unsigned long fail_from;	/* attempts above this fail, 0 none */
} st = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.head = { .next = &st.head, .prev = &st.head },
};

/* Under the lock: does this attempt fail? */
static bool should_fail(void)
{
	st.attempts++;
	if ((st.fail_at && st.attempts == st.fail_at) ||
	    (st.fail_from && st.attempts > st.fail_from)) {
		st.failed++;
		return true;
	}
	return false;
}

static void rec_link(struct rec *r)
{
	r->next = st.head.next;
	r->prev = &st.head;
	st.head.next->prev = r;
	st.head.next = r;
	st.live++;
}

static void rec_unlink(struct rec *r)
{
	r->prev->next = r->next;
	r->next->prev = r->prev;
	st.live--;
}

/* Heap blocks carry their record in front, 16-byte aligned. */
struct hdr {
	struct rec rec;
	unsigned int magic;
} __attribute__((aligned(16)));

void *h_alloc(size_t size, bool zero, const char *file, int line)
{
	struct hdr *h;

	pthread_mutex_lock(&st.lock);
	if (should_fail() || size > SIZE_MAX - sizeof(*h)) {
		pthread_mutex_unlock(&st.lock);
		return NULL;
	}
	h = zero ? calloc(1, sizeof(*h) + size) : malloc(sizeof(*h) + size);
	if (!h) {
		pthread_mutex_unlock(&st.lock);
		return NULL;
	}
	h->magic = ALLOC_MAGIC;
	h->rec.file = file;
	h->rec.line = line;
	h->rec.size = size;
	h->rec.ptr = h + 1;
	h->rec.map = NULL;
	rec_link(&h->rec);
	pthread_mutex_unlock(&st.lock);
	return h + 1;
}

void h_free(const void *p)
{
	struct hdr *h;

	if (!p)
		return;
	h = (struct hdr *)p - 1;
	if (h->magic != ALLOC_MAGIC) {
		fprintf(stderr, "HARNESS: kfree(%p): not from kmalloc\n", p);
		abort();
	}
	h->magic = 0;
	pthread_mutex_lock(&st.lock);
	rec_unlink(&h->rec);
	pthread_mutex_unlock(&st.lock);
	free(h);
}

void *h_region_alloc(size_t size, const char *file, int line)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len;
	struct rec *r;
	char *map;

	if (!size || size > SIZE_MAX / 2)
		return NULL;
	size = (size + pg - 1) & ~(pg - 1);
	len = size + 2 * pg;
	pthread_mutex_lock(&st.lock);
	if (should_fail())
		goto err_unlock;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto err_unlock;
	map = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		goto err_free_rec;
	if (mprotect(map + pg, size, PROT_READ | PROT_WRITE))
		goto err_unmap;
	r->file = file;
	r->line = line;
	r->size = size;
	r->ptr = map + pg;
	r->map = map;
	r->map_len = len;
	rec_link(r);
	pthread_mutex_unlock(&st.lock);
	return map + pg;

err_unmap:
	munmap(map, len);
err_free_rec:
	free(r);
err_unlock:
	pthread_mutex_unlock(&st.lock);
	return NULL;
}

void h_region_free(const void *p)
{
	struct rec *r;

	if (!p)
		return;
	pthread_mutex_lock(&st.lock);
	for (r = st.head.next; r != &st.head; r = r->next)
		if (r->map && r->ptr == p)
			break;
	if (r == &st.head) {
		pthread_mutex_unlock(&st.lock);
		fprintf(stderr, "HARNESS: vfree(%p): not from vmalloc\n", p);
		abort();
	}
	rec_unlink(r);
	pthread_mutex_unlock(&st.lock);
	munmap(r->map, r->map_len);
	free(r);
}

void h_alloc_fail_nth(unsigned long n)
{
	pthread_mutex_lock(&st.lock);
	st.fail_at = n ? st.attempts + n : 0;
	st.fail_from = 0;
	pthread_mutex_unlock(&st.lock);
}

void h_alloc_fail_after(unsigned long n)
{
	pthread_mutex_lock(&st.lock);
	st.fail_from = st.attempts + n;
	st.fail_at = 0;
	pthread_mutex_unlock(&st.lock);
}

void h_alloc_fail_off(void)
{
	pthread_mutex_lock(&st.lock);
	st.fail_at = 0;
	st.fail_from = 0;
	pthread_mutex_unlock(&st.lock);
}

unsigned long h_alloc_count(void)
{
	unsigned long n;

	pthread_mutex_lock(&st.lock);
	n = st.attempts;
	pthread_mutex_unlock(&st.lock);
	return n;
}

unsigned long h_alloc_failed(void)
{
	unsigned long n;

	pthread_mutex_lock(&st.lock);
	n = st.failed;
	pthread_mutex_unlock(&st.lock);
	return n;
}

unsigned long h_alloc_live(void)
{
	unsigned long n;

	pthread_mutex_lock(&st.lock);
	n = st.live;
	pthread_mutex_unlock(&st.lock);
	return n;
}

unsigned long h_alloc_leaks(FILE *f)
{
	unsigned long n = 0;
	struct rec *r;

	pthread_mutex_lock(&st.lock);
	for (r = st.head.next; r != &st.head; r = r->next, n++)
		fprintf(f, "# leak: %zu bytes%s from %s:%d\n", r->size,
			r->map ? " (region)" : "", r->file, r->line);
	pthread_mutex_unlock(&st.lock);
	return n;
}
