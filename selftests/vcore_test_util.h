/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the vcore selftests. */
#ifndef _VCORE_TEST_UTIL_H
#define _VCORE_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
