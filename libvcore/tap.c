// SPDX-License-Identifier: LGPL-2.1 OR MIT
/* Fd taps: thin wrappers of VCORE_IOC_TAP (vcore_tap.h). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vcore_tap.h"

static int tap_ioctl(const struct vcore_dev *dev, struct vcore_tap_req *r)
{
	return ioctl(dev->fd, VCORE_IOC_TAP, r) ? -errno : 0;
}

int vcore_tap_fds(const struct vcore_dev *dev, struct vcore_tap_req *reqs,
		  size_t nr)
{
	size_t i;
	int ret;

	for (i = 0; i < nr; i++) {
		ret = tap_ioctl(dev, &reqs[i]);
		if (ret)
			return i ? (int)i : ret;
	}
	return (int)nr;
}

static int tap_one(const struct vcore_dev *dev, unsigned int cmd, int fd,
		   unsigned int filter, struct event_queue *ev_q,
		   unsigned int ev_id, __u64 data, unsigned int flags)
{
	struct vcore_tap_req r;

	memset(&r, 0, sizeof(r));
	r.fd = fd;
	r.cmd = cmd;
	r.filter = filter;
	r.flags = flags;
	r.ev_q = (uintptr_t)ev_q;
	r.data = data;
	r.ev_id = ev_id;
	return tap_ioctl(dev, &r);
}

int vcore_tap_fd(const struct vcore_dev *dev, int fd, unsigned int filter,
		 struct event_queue *ev_q, unsigned int ev_id, __u64 data,
		 unsigned int flags)
{
	return tap_one(dev, VCORE_TAP_ADD, fd, filter, ev_q, ev_id, data,
		       flags);
}

int vcore_tap_fd_mod(const struct vcore_dev *dev, int fd, unsigned int filter,
		     struct event_queue *ev_q, unsigned int ev_id, __u64 data,
		     unsigned int flags)
{
	return tap_one(dev, VCORE_TAP_MOD, fd, filter, ev_q, ev_id, data,
		       flags);
}

int vcore_untap_fd(const struct vcore_dev *dev, int fd)
{
	return tap_one(dev, VCORE_TAP_REMOVE, fd, 0, NULL, 0, 0, 0);
}
