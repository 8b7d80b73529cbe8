// SPDX-License-Identifier: LGPL-2.1 OR MIT
/* The arena's sub-page allocator, over the fake page source. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>

#include "arena.h"
#include "internal.h"
#include "lib/kernel_side.h"
#include "tap.h"

static const size_t sizes[] = { 1, 24, 64, 65, 128, 192, 200, 256, 512,
				1000, 1024 };

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

TEST(objects_are_zeroed_aligned_and_sized_by_class)
{
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *a = vcore_arena_zalloc(sizes[i]);
		unsigned char *b = vcore_arena_zalloc(sizes[i]);
		size_t cls = vcore_arena_obj_size(a);

		expect(a && b && a != b);
		if (!a || !b)
			continue;
		expect_eq((uintptr_t)a % 64, 0);
		expect((uintptr_t)a % 4096 != 0);
		expect(cls >= sizes[i] && cls <= 1024);
		expect_eq(vcore_arena_obj_size(b), cls);
		expect(all_zero(a, cls) && all_zero(b, cls));
		expect(vcore_arena_contains(a, cls));
		/* Dirty it: the next user must still get zeroes. */
		memset(a, 0x5a, cls);
		vcore_arena_free(a, sizes[i]);
		a = vcore_arena_zalloc(sizes[i]);
		expect(a && all_zero(a, cls));
		vcore_arena_free(a, sizes[i]);
		vcore_arena_free(b, sizes[i]);
	}
	expect_eq(vcore_arena_obj_size(NULL), 0);
	expect_eq(vcore_arena_obj_size(&errno), 0);
}

TEST(the_ev_q_classes_are_distinct)
{
	void *slim = vcore_arena_zalloc(sizeof(struct event_queue));
	void *big = vcore_arena_zalloc(sizeof(struct event_queue_big));
	void *mbox = vcore_arena_zalloc(sizeof(struct event_mbox));

	expect_eq(vcore_arena_obj_size(slim), 64);
	expect_eq(vcore_arena_obj_size(big), 192);
	expect_eq(vcore_arena_obj_size(mbox), 128);
	vcore_arena_free(slim, sizeof(struct event_queue));
	vcore_arena_free(big, sizeof(struct event_queue_big));
	vcore_arena_free(mbox, sizeof(struct event_mbox));
}

TEST(large_requests_get_whole_pages_back_to_the_kernel)
{
	unsigned long base = ks_arena_used();
	char *p = vcore_arena_zalloc(1025);
	char *q = vcore_arena_zalloc(3 * 4096 + 1);

	expect(p && q);
	expect_eq((uintptr_t)p % 4096, 0);
	expect_eq((uintptr_t)q % 4096, 0);
	expect_eq(ks_arena_used() - base, 1 + 4);
	expect_eq(vcore_arena_obj_size(p), 0);
	expect(all_zero((unsigned char *)q, 4 * 4096));
	vcore_arena_free(p, 1025);
	vcore_arena_free(q, 3 * 4096 + 1);
	expect_eq(ks_arena_used(), base);
}

TEST(bad_requests_fail_with_errno)
{
	errno = 0;
	expect(!vcore_arena_zalloc(0) && errno == EINVAL);
	errno = 0;
	expect(!vcore_arena_zalloc(SIZE_MAX) && errno == ENOMEM);
	ks_arena_fail_after(0);
	errno = 0;
	expect(!vcore_arena_zalloc(8192) && errno == ENOMEM);
	ks_arena_fail_after(-1);
	vcore_arena_free(NULL, 64);
}

/* A free of the wrong size, or of a non-object, aborts like glibc's. */
static bool free_aborts(void *p, size_t size)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		/* Quietly: the child's message is expected. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(1);
		vcore_arena_free(p, size);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

TEST(frees_of_the_wrong_size_abort)
{
	char *obj = vcore_arena_zalloc(64);

	expect(free_aborts(obj, 128));
	expect(free_aborts(obj + 8, 64));
	expect(free_aborts(&errno, 64));
	expect(free_aborts(obj, 0));
	vcore_arena_free(obj, 64);
}

/* Threads allocate, fill with their own pattern, check it, free. */
static unsigned long overlaps;

static void *churn(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg, x = id * 2654435761U;
	struct { unsigned char *p; size_t n; } held[32] = { { 0 } };

	for (unsigned int i = 0; i < 20000; i++) {
		unsigned int k = (x >> 8) % 32;

		x = x * 1103515245 + 12345;
		if (held[k].p) {
			for (size_t j = 0; j < held[k].n; j++)
				if (held[k].p[j] != (unsigned char)id)
					__atomic_fetch_add(&overlaps, 1,
							   __ATOMIC_RELAXED);
			vcore_arena_free(held[k].p, held[k].n);
			held[k].p = NULL;
		} else {
			held[k].n = sizes[(x >> 4) % (sizeof(sizes) /
						      sizeof(sizes[0]))];
			held[k].p = vcore_arena_zalloc(held[k].n);
			if (held[k].p)
				memset(held[k].p, (unsigned char)id,
				       held[k].n);
		}
	}
	for (unsigned int k = 0; k < 32; k++)
		vcore_arena_free(held[k].p, held[k].n);
	return NULL;
}

TEST(concurrent_allocations_never_overlap)
{
	pthread_t t[4];

	for (unsigned int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1));
	for (unsigned int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	expect_eq(overlaps, 0);
	expect_eq(ks_arena_bad_frees(), 0);
}

int main(void)
{
	tap_start(60);
	if (ks_init(1, 1024)) {
		printf("Bail out! no memory for the kernel\n");
		return 1;
	}
	RUN(objects_are_zeroed_aligned_and_sized_by_class);
	RUN(the_ev_q_classes_are_distinct);
	RUN(large_requests_get_whole_pages_back_to_the_kernel);
	RUN(bad_requests_fail_with_errno);
	RUN(frees_of_the_wrong_size_abort);
	RUN(concurrent_allocations_never_overlap);
	ks_fini();		/* aborts if the core leaked */
	return tap_done();
}
