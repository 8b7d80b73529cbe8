/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/* What uth_io.c (fd taps) shares with uth_uring.c (io_uring).  Not installed. */
#ifndef _VCORE_UTH_IO_INTERNAL_H
#define _VCORE_UTH_IO_INTERNAL_H

#include <sys/uio.h>

#include "internal.h"
#include "vcore_uio.h"

/* The counters of vcore_uio_get_stats(), bumped with fetch_add(). */
extern struct vcore_uio_stats uio_stats VCORE_HIDDEN;

/*
 * A ring per vcore, its eventfd tapped; from vcore_uio_init(), again
 * after uio_uring_fini() (the ev_q and the ring table are kept).
 */
VCORE_HIDDEN int uio_uring_init(struct vcore_dev *dev);

/* Whether a request is in flight or waits for room on a ring. */
VCORE_HIDDEN bool uio_uring_busy(void);

/*
 * Untap and close every ring's eventfd and exit its ring; calls from
 * uthreads say ENXIO after.  None may be in flight (uio_uring_busy()).
 */
VCORE_HIDDEN void uio_uring_fini(void);

/*
 * readv(2) or writev(2) (write) at the file position through the calling
 * vcore's ring: for fds that cannot be tapped.  Libc-style return.
 */
VCORE_HIDDEN ssize_t uio_uring_rw(int fd, const struct iovec *iov, int cnt,
				  bool write);

/* A new fd from openat: forget a stale tap on its number (uth_io.c). */
VCORE_HIDDEN void uio_fd_opened(int fd);

/* close(2) through the ring.  Libc-style return. */

#endif /* _VCORE_UTH_IO_INTERNAL_H */
