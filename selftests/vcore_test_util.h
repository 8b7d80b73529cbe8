/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the vcore selftests. */
#ifndef _VCORE_TEST_UTIL_H
#define _VCORE_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vcore.h>

#define VCORE_DEV	"/dev/vcore"

/*
 * SKIP from a FIXTURE_SETUP.  6.1's harness runs the TEST_F body (and the
 * teardown) after a SKIP in the setup, as SKIP leaves _metadata->passed
 * set; clearing it stops the harness before both, and the test is still
 * reported skipped.
 */
#define SETUP_SKIP(fmt, ...) do {					\
	SKIP(, fmt, ##__VA_ARGS__);					\
	_metadata->passed = 0;						\
	return;								\
} while (0)
#define VCORE_LIVE	"/sys/kernel/debug/vcore/live"

/* This MCP's debugfs file @name (stats, vcores), or NULL. */
static inline FILE *vt_debugfs_open(const char *name)
{
	char path[80];

	snprintf(path, sizeof(path), "/sys/kernel/debug/vcore/%d/%s",
		 getpid(), name);
	return fopen(path, "r");
}

/* The calling thread, on @cpu only (needs _GNU_SOURCE). */
static inline void vt_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static inline int vt_open(void)
{
	return open(VCORE_DEV, O_RDWR | O_CLOEXEC);
}

/*
 * ioctl returning its result or -errno, so asserts read as
 * ASSERT_EQ(-EINVAL, ...); a command that returns a count (POKE, PREEMPT)
 * gives the count, not a stale errno.
 */
static inline int vt_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static inline int vt_handshake(int fd, struct vcore_api *api)
{
	memset(api, 0, sizeof(*api));
	api->api = VCORE_API_VERSION;
	return vt_ioctl(fd, VCORE_IOC_API, api);
}

/* An MCP of the caller's: handshaken, set up, its three regions mapped. */
struct vt_mcp {
	int fd;
	struct vcore_api api;
	void *pi;
	void *pd;
	void *arena;
};

/*
 * Open the device and map procinfo, procdata and an arena of @arena_size.
 * Return: 0, or -1 with what was reached in @r (fd -1, MAP_FAILED).
 */
static inline int vt_mcp_open(struct vt_mcp *r, __u64 arena_size)
{
	struct vcore_setup s = { .arena_size = arena_size };

	r->pi = r->pd = r->arena = MAP_FAILED;
	r->fd = vt_open();
	if (r->fd < 0 || vt_handshake(r->fd, &r->api))
		return -1;
	r->pi = mmap(NULL, r->api.procinfo_size, PROT_READ, MAP_SHARED, r->fd,
		     r->api.procinfo_offset);
	r->pd = mmap(NULL, r->api.procdata_size, PROT_READ | PROT_WRITE,
		     MAP_SHARED, r->fd, r->api.procdata_offset);
	if (r->pi == MAP_FAILED || r->pd == MAP_FAILED ||
	    vt_ioctl(r->fd, VCORE_IOC_SETUP, &s))
		return -1;
	r->arena = mmap(NULL, arena_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			r->fd, r->api.arena_offset);
	return r->arena == MAP_FAILED ? -1 : 0;
}

/* @n contiguous arena pages (VCORE_IOC_ARENA_ALLOC), or NULL. */
static inline void *vt_arena_pages(int fd, unsigned int n)
{
	struct vcore_arena_alloc a = { .nr_pages = n };

	if (vt_ioctl(fd, VCORE_IOC_ARENA_ALLOC, &a))
		return NULL;
	return (void *)(uintptr_t)a.addr;
}

/* A UCQ with its first page and a spare from the arena: 0, or -1. */
static inline int vt_ucq_init(int fd, struct ucq *u)
{
	char *pg = vt_arena_pages(fd, 2);

	if (!pg)
		return -1;
	memset(u, 0, sizeof(*u));
	u->prod_idx = u->cons_idx = (uintptr_t)pg;
	u->spare_pg = (uintptr_t)pg + VCORE_UCQ_PAGE_SIZE;
	__atomic_store_n(&u->ucq_ready, 1, __ATOMIC_RELEASE);
	return 0;
}

/*
 * The single consumer of a UCQ: 1 and a message, 0 when empty.  A
 * finished page becomes the spare; the spare it replaces goes back to the
 * arena, counted in *@pages_freed if given.
 */
static inline int vt_ucq_get(int fd, struct ucq *u, struct event_msg *msg,
			     __u64 *pages_freed)
{
	for (;;) {
		__u64 idx = __atomic_load_n(&u->cons_idx, __ATOMIC_RELAXED);
		struct ucq_page *pg;
		struct ucq_msg_slot *s;
		__u64 next, old;

		if (idx == __atomic_load_n(&u->prod_idx, __ATOMIC_ACQUIRE))
			return 0;
		pg = (void *)(uintptr_t)(idx & ~(__u64)VCORE_UCQ_SLOT_MASK);
		if ((idx & VCORE_UCQ_SLOT_MASK) < VCORE_UCQ_SLOTS_PER_PAGE) {
			s = &pg->msgs[idx & VCORE_UCQ_SLOT_MASK];
			while (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
				;
			*msg = s->ev_msg;
			s->ready = 0;
			u->cons_idx = idx + 1;
			return 1;
		}
		while (!(next = __atomic_load_n(&pg->header.cons_next_pg,
						__ATOMIC_ACQUIRE)))
			;
		u->cons_idx = next;
		memset(&pg->header, 0, sizeof(pg->header));
		old = __atomic_exchange_n(&u->spare_pg, (uintptr_t)pg,
					  __ATOMIC_ACQ_REL);
		if (old) {
			struct vcore_arena_alloc a = { .addr = old,
						       .nr_pages = 1 };

			vt_ioctl(fd, VCORE_IOC_ARENA_FREE, &a);
			__atomic_fetch_sub(&u->nr_extra_pgs, 1,
					   __ATOMIC_RELAXED);
			if (pages_freed)
				(*pages_freed)++;
		}
	}
}

/* Write @what to tracefs' @file (e.g. "events/vcore/enable"): 0 or -1. */
static inline int vt_tracefs_write(const char *file, const char *what)
{
	char path[256];
	int fd, n;

	snprintf(path, sizeof(path), "/sys/kernel/tracing/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	n = write(fd, what, strlen(what));
	close(fd);
	return n == (int)strlen(what) ? 0 : -1;
}

/*
 * How much longer than usual tests wait for something to happen (the
 * debug kernel under QEMU is several times slower): VCORE_TEST_TIME_SCALE,
 * default 1.
 */
static inline unsigned int vt_time_scale(void)
{
	const char *s = getenv("VCORE_TEST_TIME_SCALE");
	int n = s ? atoi(s) : 1;

	return n > 0 && n <= 100 ? n : 1;
}

/* Live MCPs and region bytes from debugfs; -1 if it cannot be read. */
static inline int vt_read_live(long *procs, long *bytes)
{
	FILE *f = fopen(VCORE_LIVE, "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "procs %ld\nbytes %ld\n", procs, bytes);
	fclose(f);
	return n == 2 ? 0 : -1;
}

/* Live fd taps in every process, from debugfs; -1 if it cannot be read. */
static inline long vt_read_live_taps(void)
{
	FILE *f = fopen(VCORE_LIVE, "r");
	long procs, bytes, taps = -1;

	if (!f)
		return -1;
	if (fscanf(f, "procs %ld\nbytes %ld\ntaps %ld\n", &procs, &bytes,
		   &taps) != 3)
		taps = -1;
	fclose(f);
	return taps;
}

#endif /* _VCORE_TEST_UTIL_H */
