// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Uthread file I/O through io_uring (vcore_uio.h): one ring per vcore.
 *
 * A uthread fills in an SQE template on its stack and blocks; the block
 * callback, in vcore context on the vcore it blocked on, copies it into
 * that vcore's ring and submits.
 *
 * The rings are SQPOLL rings that share one SQ thread (ATTACH_WQ): that
 * kernel thread, not a vcore thread, issues every request, so io_uring's
 * workers and its task work belong to it.  A request issued by a vcore
 * thread would need that thread in the kernel now and then (io_uring
 * runs task work, such as starting another worker, on its submitter),
 * and a vcore thread that yielded or was preempted waits offline until
 * its vcore is granted again, which may be never if every uthread waits
 * on the ring.  Submitting is writing the SQ tail, plus an
 * io_uring_enter(IORING_ENTER_SQ_WAKEUP) if the SQ thread went to sleep:
 * neither waits.
 * Each ring's completions signal an eventfd tapped into one CEQ
 * (ev_id = the ring), whose handler, on whichever vcore takes the event,
 * drains the eventfd, then reaps the ring: each CQE's result goes into its
 * request and the request's uthread becomes runnable.  Draining before
 * reaping means a completion after the reap signals the eventfd again,
 * and so fires the tap again.
 *
 * Room: a ring holds at most as many requests in flight as its
 * completion queue has entries, so it never overflows; requests beyond
 * that wait in the ring's FIFO and the reaper submits them as it frees
 * room.
 *
 * Each ring's lock (a vcore_pdr_lock(), so held in vcore context only)
 * covers its SQ, its CQ, inflight and the FIFO: a submitter and a reaper
 * on two vcores never touch one ring at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "uth_io_internal.h"
#include "uthread_internal.h"
#include "vcore_ctx.h"
#include "vcore_tap.h"

#define RING_ENTRIES	64
/* the SQ thread polls this long after the last submission, then sleeps */
#define SQ_IDLE_MS	10
/* what one read or write moves at most, as Linux's MAX_RW_COUNT */
#define RW_MAX		0x7ffff000UL

struct uio_req {
	struct io_uring_sqe sqe;	/* the template */
	struct uthread *u;
	int res;
	struct uio_req *next;		/* in the FIFO */
};

struct uio_ring {
	unsigned int lock;
	struct io_uring ring;
	bool queued;			/* ring set up */
	int efd;			/* -1: none (the reaper leaves it be) */
	unsigned int inflight, cap;
	struct uio_req *fifo_head, *fifo_tail;
};

/*
 * The ev_q and the ring table are made once and kept across
 * uio_uring_fini(): the ev_q's INDIRs may still sit in vcore mboxes and
 * its handler may still be reaping on another vcore.  rings is the table
 * while the rings are up, NULL otherwise.
 */
static struct {
	struct uio_ring *rings;		/* [nr] */
	struct uio_ring *table;		/* [nr], kept */
	unsigned int nr;
	struct event_queue *ev_q;
	const struct vcore_dev *dev;
} ur;

/* Put req on R's SQ: false if the SQ stays full. */
static bool ring_put(struct uio_ring *R, struct uio_req *req)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&R->ring);

	if (!sqe) {
		io_uring_submit(&R->ring);
		sqe = io_uring_get_sqe(&R->ring);
		if (!sqe)
			return false;
	}
	memcpy(sqe, &req->sqe, sizeof(*sqe));
	io_uring_sqe_set_data(sqe, req);
	R->inflight++;
	fetch_add(&uio_stats.uring_submits, 1);
	return true;
}

static void fifo_push(struct uio_ring *R, struct uio_req *req)
{
	req->next = NULL;
	if (R->fifo_tail)
		R->fifo_tail->next = req;
	else
		R->fifo_head = req;
	R->fifo_tail = req;
	fetch_add(&uio_stats.uring_deferred, 1);
}

/* Submit from the FIFO while there is room.  R's lock held. */
static void fifo_drain(struct uio_ring *R)
{
	struct uio_req *req;

	while ((req = R->fifo_head) && R->inflight < R->cap &&
	       ring_put(R, req)) {
		R->fifo_head = req->next;
		if (!R->fifo_head)
			R->fifo_tail = NULL;
	}
}

/* The block callback: on the vcore the uthread blocked on. */
static void req_submit_cb(struct uthread *self, void *arg)
{
	struct uio_ring *R = &ur.rings[vcore_id()];
	struct uio_req *req = arg;

	(void)self;
	vcore_pdr_lock(&R->lock);
	/* FIFO order: nobody overtakes a request that waits for room */
	if (R->fifo_head || R->inflight >= R->cap || !ring_put(R, req))
		fifo_push(R, req);
	/* a failed enter leaves the SQEs queued; the next one takes them */
	io_uring_submit(&R->ring);
	vcore_pdr_unlock(&R->lock);
}

/* Drain R's eventfd, then its CQ; in vcore context. */
static void ring_reap(struct uio_ring *R)
{
	struct io_uring_cqe *cqe;
	unsigned int i;
	__u64 v;

	vcore_pdr_lock(&R->lock);
	if (R->efd < 0) {
		/* a late fire of a ring uio_uring_fini() took down */
		vcore_pdr_unlock(&R->lock);
		return;
	}
	if (read(R->efd, &v, sizeof(v)) < 0)
		errno = 0;	/* nothing there: EAGAIN */
	/* bounded: at most cap requests are in flight */
	for (i = 0; i <= R->cap && !io_uring_peek_cqe(&R->ring, &cqe); i++) {
		struct uio_req *req = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&R->ring, cqe);
		R->inflight--;
		fetch_add(&uio_stats.uring_completions, 1);
		/* the last touch of req: its uthread may return at once */
		req->res = res;
		vcore_uthread_runnable(req->u);
	}
	fifo_drain(R);
	if (io_uring_sq_ready(&R->ring))
		io_uring_submit(&R->ring);
	vcore_pdr_unlock(&R->lock);
}

static void ur_evq_handler(struct event_queue *ev_q)
{
	struct ceq *ceq = &event_q_mbox(ev_q)->ceq;
	struct event_msg msg;
	unsigned int i;
	/* the interrupted uthread's errno is this thread's */
	int err = errno;

	for (i = 0; i < 2 * ur.nr + 2; i++) {
		if (!vcore_get_ceq_msg(ceq, &msg)) {
			errno = err;
			return;
		}
		if (msg.ev_type < ur.nr)
			ring_reap(&ur.table[msg.ev_type]);
	}
	/* still coming: come back rather than hold this vcore */
	memset(&msg, 0, sizeof(msg));
	msg.ev_type = EV_EVENT;
	msg.ev_arg3 = (uintptr_t)ev_q;
	vcore_self_notify(vcore_id(), &msg, true);
	errno = err;
}

/* Run req's SQE for the calling uthread: the CQE's result. */
static int ring_call(struct uio_req *req)
{
	req->u = vcore_uthread_self();
	req->res = -ECANCELED;
	vcore_uthread_block(req_submit_cb, req);
	return req->res;
}

/*
 * Who calls: 1 a uthread (go through the ring), 0 a plain thread (make
 * the call), -EAGAIN vcore context (it must not block), -ENXIO a uthread
 * before vcore_uio_init().
 */
static int caller(void)
{
	if (vcore_uthread_self())
		return READ_ONCE(ur.rings) ? 1 : -ENXIO;
	return vcore_in_vcore_context() ? -EAGAIN : 0;
}

static long libc_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static void req_init(struct uio_req *req)
{
	memset(req, 0, sizeof(*req));
}

ssize_t vcore_uth_pread(int fd, void *buf, size_t n, off_t off)
{
	struct uio_req req;
	int c = caller();

	if (c <= 0)
		return c ? libc_ret(c) : pread(fd, buf, n, off);
	req_init(&req);
	io_uring_prep_read(&req.sqe, fd, buf,
			   (unsigned int)(n < RW_MAX ? n : RW_MAX), off);
	return libc_ret(ring_call(&req));
}

ssize_t vcore_uth_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	struct uio_req req;
	int c = caller();

	if (c <= 0)
		return c ? libc_ret(c) : pwrite(fd, buf, n, off);
	req_init(&req);
	io_uring_prep_write(&req.sqe, fd, buf,
			    (unsigned int)(n < RW_MAX ? n : RW_MAX), off);
	return libc_ret(ring_call(&req));
}

ssize_t uio_uring_rw(int fd, const struct iovec *iov, int cnt, bool write)
{
	struct uio_req req;
	int c = caller();

	if (c <= 0) {
		if (c)
			return libc_ret(c);
		return write ? writev(fd, iov, cnt) : readv(fd, iov, cnt);
	}
	if (cnt < 0)
		return libc_ret(-EINVAL);
	req_init(&req);
	/* offset -1: at the file position, which it moves */
	if (write)
		io_uring_prep_writev(&req.sqe, fd, iov, (unsigned int)cnt,
				     (__u64)-1);
	else
		io_uring_prep_readv(&req.sqe, fd, iov, (unsigned int)cnt,
				    (__u64)-1);
	return libc_ret(ring_call(&req));
}

int vcore_uth_fsync(int fd)
{
	struct uio_req req;
	int c = caller();

	if (c <= 0)
		return c ? (int)libc_ret(c) : fsync(fd);
	req_init(&req);
	io_uring_prep_fsync(&req.sqe, fd, 0);
	return (int)libc_ret(ring_call(&req));
}

int vcore_uth_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct uio_req req;
	int c = caller(), fd;

	if (c < 0)
		return (int)libc_ret(c);
	if (!c) {
		fd = openat(dirfd, path, flags, mode);
		if (fd < 0)
			return -1;
	} else {
		req_init(&req);
		io_uring_prep_openat(&req.sqe, dirfd, path, flags, mode);
		fd = ring_call(&req);
	}
	if (fd >= 0)
		uio_fd_opened(fd);
	return (int)libc_ret(fd);
}

int vcore_uth_statx(int dirfd, const char *path, int flags,
		    unsigned int mask, struct statx *stx)
{
	struct uio_req req;
	int c = caller();

	if (c <= 0)
		return c ? (int)libc_ret(c) :
			   statx(dirfd, path, flags, mask, stx);
	req_init(&req);
	io_uring_prep_statx(&req.sqe, dirfd, path, flags, mask, stx);
	return (int)libc_ret(ring_call(&req));
}

static unsigned int pow2_at_least(unsigned int n)
{
	unsigned int p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static int ring_setup(struct vcore_dev *dev, struct uio_ring *R,
		      unsigned int id, int first_fd)
{
	struct io_uring_params prm;
	int err, efd;

	memset(&prm, 0, sizeof(prm));
	prm.flags = IORING_SETUP_SQPOLL;
	prm.sq_thread_idle = SQ_IDLE_MS;
	if (first_fd >= 0) {
		prm.flags |= IORING_SETUP_ATTACH_WQ;
		prm.wq_fd = (__u32)first_fd;
	}
	err = io_uring_queue_init_params(RING_ENTRIES, &R->ring, &prm);
	if (err)
		return err;
	R->queued = true;
	R->cap = R->ring.cq.ring_entries;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	/* the reaper may see it from now (under the lock) */
	vcore_uth_disable_notifs();
	vcore_pdr_lock(&R->lock);
	R->efd = efd;
	vcore_pdr_unlock(&R->lock);
	vcore_uth_enable_notifs();
	err = io_uring_register_eventfd(&R->ring, R->efd);
	if (err)
		return err;
	return vcore_tap_fd(dev, R->efd, VCORE_TAP_READABLE, ur.ev_q, id, 0,
			    0);
}

int uio_uring_init(struct vcore_dev *dev)
{
	unsigned int nr = vcore_max_vcores(), i;
	struct event_queue *q;
	int err;

	if (!ur.table) {
		if (!nr)
			return -ENXIO;
		ur.table = calloc(nr, sizeof(*ur.table));
		if (!ur.table)
			return -ENOMEM;
		for (i = 0; i < nr; i++)
			ur.table[i].efd = -1;
		ur.nr = nr;
	}
	ur.dev = dev;
	if (!ur.ev_q) {
		q = vcore_get_eventq_raw();
		if (!q)
			return -errno;
		err = vcore_event_mbox_init_ceq(event_q_mbox(q), CEQ_OR, ur.nr,
						pow2_at_least(ur.nr));
		if (err)
			return err;
		event_q_set_handler(q, ur_evq_handler, NULL);
		fetch_or(&q->ev_flags, (__u32)(EVENT_INDIR | EVENT_SPAM_INDIR |
					      EVENT_IPI | EVENT_WAKEUP));
		ur.ev_q = q;
	}
	for (i = 0; i < ur.nr; i++) {
		err = ring_setup(dev, &ur.table[i], i,
				 i ? ur.table[0].ring.ring_fd : -1);
		if (err) {
			/* all down: another try starts from nothing */
			uio_uring_fini();
			return err;
		}
	}
	smp_store_release(&ur.rings, ur.table);
	return 0;
}

bool uio_uring_busy(void)
{
	bool busy = false;

	vcore_uth_disable_notifs();
	for (unsigned int i = 0; i < ur.nr && ur.table && !busy; i++) {
		struct uio_ring *R = &ur.table[i];

		vcore_pdr_lock(&R->lock);
		busy = R->inflight || R->fifo_head;
		vcore_pdr_unlock(&R->lock);
	}
	vcore_uth_enable_notifs();
	return busy;
}

void uio_uring_fini(void)
{
	WRITE_ONCE(ur.rings, NULL);
	/* the attached rings before the one whose SQ thread they share */
	for (unsigned int i = ur.nr; ur.table && i-- > 0;) {
		struct uio_ring *R = &ur.table[i];
		int efd;

		vcore_uth_disable_notifs();
		vcore_pdr_lock(&R->lock);
		efd = R->efd;
		R->efd = -1;
		vcore_pdr_unlock(&R->lock);
		vcore_uth_enable_notifs();
		if (efd >= 0) {
			vcore_untap_fd(ur.dev, efd);
			close(efd);
		}
		if (R->queued)
			io_uring_queue_exit(&R->ring);
		R->queued = false;
		R->inflight = 0;
	}
}
