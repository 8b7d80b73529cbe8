/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Uthread I/O that never blocks a vcore, after Akaros, where a uthread's
 * syscall blocks the uthread and never its vcore.
 *
 * Each call mimics the libc call of the same name without the
 * vcore_uth_ prefix: it returns what that call returns, or -1 with errno
 * set, and a uthread that calls it blocks until the call can complete
 * while its vcore runs other uthreads.
 *
 * Readiness calls (read, write, readv, writev, recv, send, recvmsg,
 * sendmsg, accept4, connect, poll; uth_io.c) try the call without
 * blocking and, if it would block, wait for the fd's tap (vcore_tap.h):
 * every fd is tapped on first use into one CEQ of the library's
 * (ev_id = the fd), whose handler, in vcore context, wakes every uthread
 * waiting on that fd; each tries again.  recv, send, recvmsg and sendmsg
 * add MSG_DONTWAIT to the call.  read, write, readv, writev, accept4 and
 * connect need the open file in O_NONBLOCK mode: the first of them on an
 * fd sets O_NONBLOCK with fcntl(2) and it stays set, so that another
 * thread or process sharing the open file description (a dup(2)'d fd, a
 * forked child) sees EAGAIN from its own plain read(2) where it used to
 * block.  An fd that cannot be tapped (a regular file: EPERM from the
 * tap) is read and written through io_uring instead, at the file
 * position.
 *
 * A tap keeps its file open until it is removed: close a tapped fd with
 * vcore_uth_close(), which removes the tap first.  An fd closed with
 * close(2) leaves a stale tap whose number vcore_uth_accept4() and
 * vcore_uth_openat() clear when they hand the number out again; any
 * other reuse of the number waits on the old file.
 *
 * File calls (pread, pwrite, fsync, openat, statx; uth_uring.c) go
 * through io_uring: one ring per vcore, submitted from vcore context once
 * the uthread has blocked, and issued by one SQPOLL kernel thread that
 * the rings share (so no request depends on a vcore thread that is
 * offline); each ring's completion eventfd is tapped into a second CEQ, so a completion is an event whose handler reaps the ring
 * and makes each uthread runnable with its result.  When a ring has as
 * many requests in flight as its completion queue holds, more wait in a
 * FIFO and are submitted as completions are reaped.
 *
 * Callers that are not uthreads: a plain thread makes the blocking call
 * (poll(2) for a readiness call on an fd in O_NONBLOCK mode, the
 * synchronous syscall for a file call); vcore context never blocks and
 * gets EAGAIN where it would.
 *
 * SIGPIPE: write, writev, send and sendmsg to a pipe or socket whose
 * reader is gone raise SIGPIPE as the libc calls do; ignore it (or pass
 * MSG_NOSIGNAL) to get EPIPE.
 *
 * Fds are those below the RLIMIT_NOFILE soft limit at vcore_uio_init()
 * (at most VCORE_UIO_MAX_FDS); a readiness call on a higher fd fails with
 * EMFILE.  vcore_uio_init() grows the process's fd table to that many
 * entries at once: a new fd past the table's end would otherwise make
 * the accept4 or openat that allocates it wait, on a vcore, for the table
 * to grow (an RCU grace period).  Each tapped fd holds one of the module's max_taps taps per
 * process, and so does each ring.
 */
#ifndef _VCORE_UIO_H
#define _VCORE_UIO_H

#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "vcore.h"

#ifdef __cplusplus
extern "C" {
#endif

struct statx;

#define VCORE_UIO_MAX_FDS	65535

/*
 * Set up the fd CEQ, a ring per vcore and the alarm service (for
 * vcore_uth_poll()'s timeouts) on dev, after vcore_uthread_lib_init().
 * Once per process; again is a no-op.  0, or a negative errno: -ENOMEM,
 * -ENXIO (no arena), or the error of io_uring_queue_init(), eventfd(2),
 * or VCORE_IOC_TAP.
 */
int vcore_uio_init(struct vcore_dev *dev);

/*
 * Undo vcore_uio_init(): remove every fd's tap, and untap, close and exit
 * the rings (their SQ thread ends with them).  The calls then fail from
 * uthreads with ENXIO, as before vcore_uio_init(), which may set them up
 * again (on the same dev; the fd limit of the first call stays).  Fds
 * keep the O_NONBLOCK the calls set.  The fd table and two ev_qs stay
 * allocated for that: INDIRs naming the ev_qs may still be on their way.
 * No uthread may be in a call, or enter one, while it runs.  0 (also
 * when nothing was set up), or -EBUSY: a uthread waits on an fd or a
 * ring, or vcore_uio_init() or vcore_uio_fini() is under way; nothing
 * was torn down.
 */
int vcore_uio_fini(void);

/*
 * Readiness calls (uth_io.c).  errno as the libc calls, and from a
 * uthread also ENXIO (before vcore_uio_init()), EMFILE (fd past the
 * table), EBUSY (fd tapped by someone else, e.g. a vcore_epoll), ENOSPC
 * (the module's max_taps reached), or the error of fcntl(2).
 */
ssize_t vcore_uth_read(int fd, void *buf, size_t n);
ssize_t vcore_uth_write(int fd, const void *buf, size_t n);
ssize_t vcore_uth_readv(int fd, const struct iovec *iov, int cnt);
ssize_t vcore_uth_writev(int fd, const struct iovec *iov, int cnt);
ssize_t vcore_uth_recv(int fd, void *buf, size_t n, int flags);
ssize_t vcore_uth_send(int fd, const void *buf, size_t n, int flags);
ssize_t vcore_uth_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t vcore_uth_sendmsg(int fd, const struct msghdr *msg, int flags);
int vcore_uth_accept4(int fd, struct sockaddr *addr, socklen_t *len,
		      int flags);
int vcore_uth_connect(int fd, const struct sockaddr *addr, socklen_t len);

/*
 * poll(2): timeout_ms 0 does not block, < 0 blocks for ever, > 0 at most
 * that long (a vcore alarm).  Errors as the readiness calls, and EINVAL
 * (nfds past the table), ENOMEM, ENOSPC when no alarm is free for the
 * timeout, ENXIO when the module has no alarms.
 */
int vcore_uth_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

/*
 * File calls through io_uring (uth_uring.c).  errno as the libc calls (as
 * io_uring reports them), and ENXIO from a uthread before
 * vcore_uio_init().
 */
ssize_t vcore_uth_pread(int fd, void *buf, size_t n, off_t off);
ssize_t vcore_uth_pwrite(int fd, const void *buf, size_t n, off_t off);
int vcore_uth_fsync(int fd);
int vcore_uth_openat(int dirfd, const char *path, int flags, mode_t mode);
int vcore_uth_statx(int dirfd, const char *path, int flags,
		    unsigned int mask, struct statx *stx);

/* Remove fd's tap, wake its waiters (who see EBADF), then close(2) it. */
int vcore_uth_close(int fd);

/* What the library has done so far, for tests and tools. */
struct vcore_uio_stats {
	unsigned long taps;		/* fds tapped */
	unsigned long waits;		/* times a uthread blocked on fds */
	unsigned long fires;		/* fd fires handled */
	unsigned long uring_submits;	/* requests put on a ring */
	unsigned long uring_completions;
	unsigned long uring_deferred;	/* requests that waited for room */
};

void vcore_uio_get_stats(struct vcore_uio_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_UIO_H */
