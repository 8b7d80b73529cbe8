/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the vcore selftests. */
#ifndef _VCORE_TEST_UTIL_H
#define _VCORE_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vcore.h>

#define VCORE_DEV	"/dev/vcore"
#define VCORE_LIVE	"/sys/kernel/debug/vcore/live"

static inline int vt_open(void)
{
	return open(VCORE_DEV, O_RDWR | O_CLOEXEC);
}

/* ioctl returning 0 or -errno, so asserts read as ASSERT_EQ(-EINVAL, ...) */
static inline int vt_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
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

#endif /* _VCORE_TEST_UTIL_H */
