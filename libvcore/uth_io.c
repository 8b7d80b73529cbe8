// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Uthread readiness I/O on fd taps (vcore_uio.h).
 *
 * Every fd a uthread waits on is tapped once, for every condition, into
 * one CEQ_OR CEQ with ev_id = the fd.  The ev_q's own handler runs in
 * vcore context: for each id it takes, it bumps that fd's generation and
 * wakes every uthread linked on the fd.  A woken uthread tries its call
 * again, so a fire only ever means "look".
 *
 * Lost wakeups.  Taps are edge-triggered, so a uthread must not sleep
 * through a change that came between its try and its sleep:
 *
 *   uthread                              handler (fd's fire)
 *   -----------------------------------  -----------------------------------
 *   [U1] g = fd's gen (acquire)          [H1] lock fd; gen++
 *   [U2] the non-blocking try: EAGAIN    [H2] unlink and wake each waiter
 *   [U3] lock fd; gen != g: try again;        (lock waiter; SLEEPING: make
 *        else link a waiter; unlock           it runnable; mark WOKEN)
 *   [U4] block; the block callback:      [H3] unlock fd
 *        lock waiter; WOKEN: runnable;
 *        else SLEEPING
 *
 *   A change after U2's look fires the tap after it, so its H1 comes
 *   after U1: if before U3, U3 sees the new gen; if after, the waiter is
 *   linked and H2 wakes it, before or after U4 (the waiter's state
 *   decides who makes the uthread runnable, once).
 *
 * A waiter of poll() is linked on several fds at once, and to an alarm
 * for its timeout.  Wakers touch a waiter only under the lock of the fd
 * it is linked on (or, for the alarm, until the alarm says it is done),
 * and the uthread unlinks every link under those locks before its stack
 * frame goes, so nobody touches a waiter that is gone.
 *
 * Locks (fd, waiter) are vcore_pdr_lock()s, held with notifications
 * disabled; the fd lock nests outside the waiter's and the run queue's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "event.h"
#include "uth_io_internal.h"
#include "uthread_internal.h"
#include "vcore_alarm.h"
#include "vcore_ctx.h"
#include "vcore_tap.h"

struct vcore_uio_stats uio_stats;

/* struct uio_fd.state */
#define FD_UNTAPPED	0
#define FD_TAPPING	1	/* one uthread is adding the tap */
#define FD_TAPPED	2
#define FD_NOTAP	3	/* cannot be tapped (EPERM): io_uring */

/* struct uio_fd.nonblock */
#define NB_UNKNOWN	0
#define NB_OURS		1	/* we set O_NONBLOCK */
#define NB_ALREADY	2	/* it was set */

struct uio_link;

struct uio_fd {
	unsigned int lock;
	unsigned int gen;		/* fires handled; under lock */
	unsigned int state;		/* FD_* */
	unsigned int nonblock;		/* NB_* */
	struct uio_link *head;		/* waiters; under lock */
};

/* struct uio_wait.state, as uth_sync.c's ev_q waiters */
#define W_WAITING	0
#define W_SLEEPING	1
#define W_WOKEN		2

struct uio_wait {
	unsigned int lock;
	int state;			/* W_*; under lock */
	struct uthread *u;
	unsigned int alarm_done;	/* the alarm's last touch */
	struct vcore_alarm_waiter alarm;
};

struct uio_link {
	struct uio_link *next, **pprev;	/* pprev NULL: not linked */
	struct uio_wait *w;
};

static struct {
	unsigned int init;		/* 0, 1 (under way), 2 (done) */
	int init_err;
	struct vcore_dev *dev;
	struct event_queue *ev_q;
	struct uio_fd *fds;		/* [nr_fds] */
	unsigned int nr_fds;
	bool alarms;			/* the alarm service runs */
} uio;

void vcore_uio_get_stats(struct vcore_uio_stats *st)
{
	st->taps = READ_ONCE(uio_stats.taps);
	st->waits = READ_ONCE(uio_stats.waits);
	st->fires = READ_ONCE(uio_stats.fires);
	st->uring_submits = READ_ONCE(uio_stats.uring_submits);
	st->uring_completions = READ_ONCE(uio_stats.uring_completions);
	st->uring_deferred = READ_ONCE(uio_stats.uring_deferred);
}

static bool uio_ready(void)
{
	return smp_load_acquire(&uio.init) == 2 && !uio.init_err;
}

static struct uio_fd *fd_of(int fd)
{
	if (fd < 0 || (unsigned int)fd >= uio.nr_fds)
		return NULL;
	return &uio.fds[fd];
}

/* ---- Waking ------------------------------------------------------------ */

static void wait_wake(struct uio_wait *w)
{
	bool run;

	vcore_pdr_lock(&w->lock);
	run = w->state == W_SLEEPING;
	w->state = W_WOKEN;
	vcore_pdr_unlock(&w->lock);
	if (run)
		vcore_uthread_runnable(w->u);
}

static void link_del(struct uio_link *l)
{
	if (l->next)
		l->next->pprev = l->pprev;
	*l->pprev = l->next;
	l->pprev = NULL;
}

/* H1-H3: the fd fired (or is being closed): wake everyone on it. */
static void fd_fire(struct uio_fd *f)
{
	struct uio_link *l;

	vcore_pdr_lock(&f->lock);
	f->gen++;						/* H1 */
	while ((l = f->head)) {					/* H2 */
		link_del(l);
		wait_wake(l->w);
	}
	vcore_pdr_unlock(&f->lock);				/* H3 */
}

/*
 * The ev_q's handler, in vcore context.  Each id is posted at most once
 * until taken, so nr_fds takes empty what was there; if fires keep
 * coming past twice that, come back through our own EV_EVENT rather than
 * hold the vcore (the INDIR that brought us here is spent).
 */
static void uio_evq_handler(struct event_queue *ev_q)
{
	struct ceq *ceq = &event_q_mbox(ev_q)->ceq;
	struct event_msg msg;
	unsigned int i;
	/* the interrupted uthread's errno is this thread's */
	int err = errno;

	for (i = 0; i < 2 * uio.nr_fds + 2; i++) {
		struct uio_fd *f;

		if (!vcore_get_ceq_msg(ceq, &msg)) {
			errno = err;
			return;
		}
		f = fd_of(msg.ev_type);
		if (!f)
			continue;
		fetch_add(&uio_stats.fires, 1);
		fd_fire(f);
	}
	memset(&msg, 0, sizeof(msg));
	msg.ev_type = EV_EVENT;
	msg.ev_arg3 = (uintptr_t)ev_q;
	vcore_self_notify(vcore_id(), &msg, true);
	errno = err;
}

static void wait_alarm_fired(struct vcore_alarm_waiter *a)
{
	struct uio_wait *w = a->data;

	wait_wake(w);
	smp_store_release(&w->alarm_done, 1);
}

static void wait_block_cb(struct uthread *self, void *arg)
{
	struct uio_wait *w = arg;
	bool woken;

	(void)self;
	vcore_pdr_lock(&w->lock);				/* U4 */
	woken = w->state == W_WOKEN;
	if (!woken)
		w->state = W_SLEEPING;
	vcore_pdr_unlock(&w->lock);
	if (woken)
		vcore_uthread_runnable(w->u);
}

static void links_del(struct uio_link *links, const int *fds, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		struct uio_fd *f;

		if (!links[i].w)
			continue;
		f = fd_of(fds[i]);
		vcore_pdr_lock(&f->lock);
		if (links[i].pprev)
			link_del(&links[i]);
		vcore_pdr_unlock(&f->lock);
		links[i].w = NULL;
	}
}

/*
 * U3-U4 for the calling uthread on fds[0 .. nr - 1] (fds outside the
 * table or negative are skipped), gens[] their generations as read
 * before the try; deadline_ns (CLOCK_MONOTONIC, 0: none) arms an alarm.
 * Returns when one fired, or at once if one already has; 0, or
 * -ENOSPC/-ENXIO if the alarm could not be set.
 */
static int wait_fds(const int *fds, const unsigned int *gens,
		    struct uio_link *links, size_t nr, uint64_t deadline_ns)
{
	struct uio_wait w;
	bool changed = false;
	int err = 0;

	memset(&w, 0, sizeof(w));
	w.u = vcore_uthread_self();
	vcore_uth_disable_notifs();
	for (size_t i = 0; i < nr; i++) {
		struct uio_fd *f = fd_of(fds[i]);

		links[i].w = NULL;
		links[i].pprev = NULL;
		if (!f || changed)
			continue;
		vcore_pdr_lock(&f->lock);			/* U3 */
		if (f->gen != gens[i]) {
			changed = true;
		} else {
			links[i].w = &w;
			links[i].next = f->head;
			if (f->head)
				f->head->pprev = &links[i].next;
			links[i].pprev = &f->head;
			f->head = &links[i];
		}
		vcore_pdr_unlock(&f->lock);
	}
	if (!changed && deadline_ns) {
		vcore_init_awaiter(&w.alarm, wait_alarm_fired);
		w.alarm.data = &w;
		vcore_set_awaiter_abs(&w.alarm, deadline_ns);
		err = uio.alarms ? vcore_set_alarm(&w.alarm) : -ENXIO;
		if (err)
			changed = true;
	}
	if (changed) {
		links_del(links, fds, nr);
		vcore_uth_enable_notifs();
		return err;
	}
	fetch_add(&uio_stats.waits, 1);
	vcore_uthread_block(wait_block_cb, &w);			/* U4 */
	vcore_uth_disable_notifs();
	links_del(links, fds, nr);
	vcore_uth_enable_notifs();
	if (deadline_ns && !vcore_unset_alarm(&w.alarm)) {
		/* it fired: it may still be touching w */
		while (!smp_load_acquire(&w.alarm_done))
			vcore_uthread_yield();
	}
	return 0;
}

/* ---- Taps and modes ---------------------------------------------------- */

static void wait_a_little(void)
{
	if (vcore_uthread_self())
		vcore_uthread_yield();
	else
		sched_yield();
}

/*
 * Tap fd (once): 0 tapped, 1 cannot be (io_uring instead), or a negative
 * errno: EBADF, EBUSY (tapped by someone else, e.g. vcore_epoll), ENOSPC.
 */
static int fd_tap(int fd, struct uio_fd *f)
{
	for (;;) {
		unsigned int st = smp_load_acquire(&f->state);
		int err;

		if (st == FD_TAPPED)
			return 0;
		if (st == FD_NOTAP)
			return 1;
		if (st == FD_TAPPING) {
			wait_a_little();
			continue;
		}
		if (!try_cmpxchg(&f->state, &st, FD_TAPPING))
			continue;
		err = vcore_tap_fd(uio.dev, fd, VCORE_TAP_FILTER_ALL, uio.ev_q,
				   (unsigned int)fd, 0, 0);
		if (!err) {
			fetch_add(&uio_stats.taps, 1);
			smp_store_release(&f->state, FD_TAPPED);
			return 0;
		}
		if (err == -EPERM) {
			smp_store_release(&f->state, FD_NOTAP);
			return 1;
		}
		smp_store_release(&f->state, FD_UNTAPPED);
		return err == -EEXIST ? -EBUSY : err;
	}
}

/* Set O_NONBLOCK on fd's open file, once; see vcore_uio.h. */
static int fd_nonblock(int fd, struct uio_fd *f)
{
	int fl;

	if (READ_ONCE(f->nonblock) != NB_UNKNOWN)
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (fl & O_NONBLOCK) {
		WRITE_ONCE(f->nonblock, NB_ALREADY);
		return 0;
	}
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	WRITE_ONCE(f->nonblock, NB_OURS);
	return 0;
}

/* Forget what we knew of fd's number: it names a new file now. */
static void fd_forget(int fd, struct uio_fd *f)
{
	if (READ_ONCE(f->state) == FD_TAPPED)
		vcore_untap_fd(uio.dev, fd);
	WRITE_ONCE(f->nonblock, NB_UNKNOWN);
	smp_store_release(&f->state, FD_UNTAPPED);
}

/* ---- The calls --------------------------------------------------------- */

enum uio_kind {
	OP_READ, OP_WRITE, OP_READV, OP_WRITEV, OP_RECV, OP_SEND,
	OP_RECVMSG, OP_SENDMSG, OP_ACCEPT, OP_CONNECT,
	OP_CONNECT_WAIT,	/* a connect that said EINPROGRESS */
};

struct uio_op {
	enum uio_kind kind;
	int fd;
	void *buf;
	size_t n;
	const struct iovec *iov;
	int cnt;
	int flags;
	struct msghdr *msg;
	struct sockaddr *addr;
	socklen_t *alen;
	const struct sockaddr *caddr;
	socklen_t clen;
};

static bool op_needs_nonblock(enum uio_kind k)
{
	return k != OP_RECV && k != OP_SEND && k != OP_RECVMSG &&
	       k != OP_SENDMSG;
}

static short op_events(enum uio_kind k)
{
	switch (k) {
	case OP_READ: case OP_READV: case OP_RECV: case OP_RECVMSG:
	case OP_ACCEPT:
		return POLLIN;
	default:
		return POLLOUT;
	}
}

/* Whether the kernel's socket finished connecting: 0, -errno, -EAGAIN. */
static long connect_result(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&p, 1, 0) < 0)
		return -errno;
	if (!p.revents)
		return -EAGAIN;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return err ? -err : 0;
}

/* One try: the result, or -errno.  dontwait: MSG_DONTWAIT on sockets. */
static long op_try(struct uio_op *op, bool dontwait)
{
	int dw = dontwait ? MSG_DONTWAIT : 0;
	long r;

	switch (op->kind) {
	case OP_READ:
		r = read(op->fd, op->buf, op->n);
		break;
	case OP_WRITE:
		r = write(op->fd, op->buf, op->n);
		break;
	case OP_READV:
		r = readv(op->fd, op->iov, op->cnt);
		break;
	case OP_WRITEV:
		r = writev(op->fd, op->iov, op->cnt);
		break;
	case OP_RECV:
		r = recv(op->fd, op->buf, op->n, op->flags | dw);
		break;
	case OP_SEND:
		r = send(op->fd, op->buf, op->n, op->flags | dw);
		break;
	case OP_RECVMSG:
		r = recvmsg(op->fd, op->msg, op->flags | dw);
		break;
	case OP_SENDMSG:
		r = sendmsg(op->fd, op->msg, op->flags | dw);
		break;
	case OP_ACCEPT:
		r = accept4(op->fd, op->addr, op->alen, op->flags);
		break;
	case OP_CONNECT:
		r = connect(op->fd, op->caddr, op->clen);
		break;
	case OP_CONNECT_WAIT:
		return connect_result(op->fd);
	default:
		return -EINVAL;
	}
	return r < 0 ? -errno : r;
}

/* A call that has to wait: EAGAIN, or a connect under way. */
static bool op_would_block(struct uio_op *op, long r)
{
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		return true;
	if (op->kind == OP_CONNECT && (r == -EINPROGRESS || r == -EALREADY)) {
		op->kind = OP_CONNECT_WAIT;
		return true;
	}
	return false;
}

/* A caller that is not a uthread: see vcore_uio.h. */
static long op_not_uthread(struct uio_op *op, struct uio_fd *f)
{
	bool vc = vcore_in_vcore_context();
	long r;

	/* vcore context must not block: O_NONBLOCK first, if it can */
	if (vc && op->fd >= 0 && op_needs_nonblock(op->kind)) {
		if (!uio_ready())
			return -ENXIO;
		if (!f)
			return -EMFILE;
		r = fd_nonblock(op->fd, f);
		if (r)
			return r;
	}
	r = op_try(op, vc);
	/* wait where the plain call would have, had we not set O_NONBLOCK */
	while (!vc && (op->kind == OP_CONNECT_WAIT ||
		       (f && READ_ONCE(f->nonblock) == NB_OURS)) &&
	       op_would_block(op, r)) {
		struct pollfd p = { .fd = op->fd, .events = op_events(op->kind) };

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -errno;
		r = op_try(op, false);
	}
	return r;
}

static long op_run(struct uio_op *op)
{
	struct uio_fd *f = fd_of(op->fd);
	unsigned int gen;
	long r;

	if (!vcore_uthread_self() || op->fd < 0)
		return op_not_uthread(op, f);
	if (!uio_ready())
		return -ENXIO;
	if (!f)
		return -EMFILE;
	r = fd_tap(op->fd, f);
	if (r < 0)
		return r;
	if (r == 1) {
		struct iovec one = { .iov_base = op->buf, .iov_len = op->n };

		switch (op->kind) {
		case OP_READ:
			return uio_uring_rw(op->fd, &one, 1, false);
		case OP_WRITE:
			return uio_uring_rw(op->fd, &one, 1, true);
		case OP_READV:
			return uio_uring_rw(op->fd, op->iov, op->cnt, false);
		case OP_WRITEV:
			return uio_uring_rw(op->fd, op->iov, op->cnt, true);
		default:
			/* no socket is untappable: the call says what it is */
			return op_try(op, true);
		}
	}
	if (op_needs_nonblock(op->kind)) {
		r = fd_nonblock(op->fd, f);
		if (r)
			return r;
	}
	for (;;) {
		struct uio_link link;

		gen = smp_load_acquire(&f->gen);			/* U1 */
		r = op_try(op, true);					/* U2 */
		if (!op_would_block(op, r))
			return r;
		wait_fds(&op->fd, &gen, &link, 1, 0);
	}
}

/* Libc's return: r, or -1 with errno = -r. */
static long libc_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

ssize_t vcore_uth_read(int fd, void *buf, size_t n)
{
	struct uio_op op = { .kind = OP_READ, .fd = fd, .buf = buf, .n = n };

	return libc_ret(op_run(&op));
}

ssize_t vcore_uth_write(int fd, const void *buf, size_t n)
{
	struct uio_op op = { .kind = OP_WRITE, .fd = fd, .buf = (void *)buf,
			     .n = n };

	return libc_ret(op_run(&op));
}

ssize_t vcore_uth_readv(int fd, const struct iovec *iov, int cnt)
{
	struct uio_op op = { .kind = OP_READV, .fd = fd, .iov = iov,
			     .cnt = cnt };

	return libc_ret(op_run(&op));
}

ssize_t vcore_uth_writev(int fd, const struct iovec *iov, int cnt)
{
	struct uio_op op = { .kind = OP_WRITEV, .fd = fd, .iov = iov,
			     .cnt = cnt };

	return libc_ret(op_run(&op));
}

ssize_t vcore_uth_recv(int fd, void *buf, size_t n, int flags)
{
	struct uio_op op = { .kind = OP_RECV, .fd = fd, .buf = buf, .n = n,
			     .flags = flags };

	return libc_ret(op_run(&op));
}

ssize_t vcore_uth_send(int fd, const void *buf, size_t n, int flags)
{
	struct uio_op op = { .kind = OP_SEND, .fd = fd, .buf = (void *)buf,
			     .n = n, .flags = flags };

	return libc_ret(op_run(&op));
}

ssize_t vcore_uth_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct uio_op op = { .kind = OP_RECVMSG, .fd = fd, .msg = msg,
			     .flags = flags };

	return libc_ret(op_run(&op));
}

ssize_t vcore_uth_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct uio_op op = { .kind = OP_SENDMSG, .fd = fd,
			     .msg = (struct msghdr *)msg, .flags = flags };

	return libc_ret(op_run(&op));
}

int vcore_uth_accept4(int fd, struct sockaddr *addr, socklen_t *len,
		      int flags)
{
	struct uio_op op = { .kind = OP_ACCEPT, .fd = fd, .addr = addr,
			     .alen = len, .flags = flags };
	long r = op_run(&op);
	struct uio_fd *f = r >= 0 ? fd_of((int)r) : NULL;

	if (f && uio_ready())
		fd_forget((int)r, f);
	return (int)libc_ret(r);
}

int vcore_uth_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct uio_op op = { .kind = OP_CONNECT, .fd = fd, .caddr = addr,
			     .clen = len };

	return (int)libc_ret(op_run(&op));
}

void uio_fd_opened(int fd)
{
	struct uio_fd *f = fd_of(fd);

	if (f && uio_ready())
		fd_forget(fd, f);
}

#define POLL_ON_STACK	8

int vcore_uth_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct uio_link links_st[POLL_ON_STACK], *links = links_st;
	unsigned int gens_st[POLL_ON_STACK], *gens = gens_st;
	int fdv_st[POLL_ON_STACK], *fdv = fdv_st;
	uint64_t deadline = 0;
	long r = 0;
	nfds_t i;

	if (!vcore_uthread_self())
		return poll(fds, nfds, vcore_in_vcore_context() ? 0 :
				       timeout_ms);
	if (!uio_ready())
		return (int)libc_ret(-ENXIO);
	if (nfds > uio.nr_fds)
		return (int)libc_ret(-EINVAL);
	for (i = 0; i < nfds; i++) {
		struct uio_fd *f = fd_of(fds[i].fd);

		if (fds[i].fd < 0)
			continue;
		if (!f)
			return (int)libc_ret(-EMFILE);
		r = fd_tap(fds[i].fd, f);
		/* poll(2) answers POLLNVAL for a closed fd */
		if (r < 0 && r != -EBADF)
			return (int)libc_ret(r);
	}
	if (nfds > POLL_ON_STACK) {
		links = calloc(nfds, sizeof(*links));
		gens = calloc(nfds, sizeof(*gens));
		fdv = calloc(nfds, sizeof(*fdv));
		if (!links || !gens || !fdv) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < nfds; i++) {
		struct uio_fd *f = fd_of(fds[i].fd);

		/* only tapped fds can wake us; the others poll(2) answers */
		fdv[i] = f && READ_ONCE(f->state) == FD_TAPPED ? fds[i].fd
							       : -1;
	}
	if (timeout_ms > 0)
		deadline = vcore_alarm_now() + (uint64_t)timeout_ms * 1000000;
	for (;;) {
		for (i = 0; i < nfds; i++)
			gens[i] = fdv[i] >= 0 ?
				  smp_load_acquire(&uio.fds[fdv[i]].gen) : 0;
		r = poll(fds, nfds, 0);
		if (r < 0)
			r = -errno;
		if (r || !timeout_ms)
			break;
		if (deadline && vcore_alarm_now() >= deadline)
			break;
		r = wait_fds(fdv, gens, links, nfds, deadline);
		if (r)
			break;
	}
out:
	if (links != links_st) {
		free(links);
		free(gens);
		free(fdv);
	}
	return (int)libc_ret(r);
}

int vcore_uth_close(int fd)
{
	struct uio_fd *f = fd_of(fd);

	if (f && uio_ready()) {
		if (READ_ONCE(f->state) == FD_TAPPED) {
			vcore_untap_fd(uio.dev, fd);
			/* waiters try again and find the fd closed */
			vcore_uth_disable_notifs();
			fd_fire(f);
			vcore_uth_enable_notifs();
		}
		WRITE_ONCE(f->nonblock, NB_UNKNOWN);
		smp_store_release(&f->state, FD_UNTAPPED);
	}
	/*
	 * close(2) itself, not the ring's: io_uring's close completes
	 * before the file's last reference goes (the SQ thread drops it
	 * afterwards), so a pipe's writer could still write and a closed
	 * listener still accept.  close(2) drops it before it returns.
	 */
	return close(fd);
}

/* ---- Set-up ------------------------------------------------------------ */

static unsigned int pow2_at_least(unsigned int n)
{
	unsigned int p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * A new fd past the end of the process's fd table grows the table, and
 * that waits for an RCU grace period (or for another thread's growing):
 * an accept4() or an io_uring openat on a vcore would sleep there.  So
 * grow it now, once, to nr entries, from the caller's thread: the lowest
 * free fd at or above nr - 1 makes the table that long, and it never
 * shrinks.  EMFILE: that end is taken already, and the table with it.
 */
static void fd_table_grow(unsigned int nr)
{
	int fd = fcntl(0, F_DUPFD_CLOEXEC, (int)nr - 1);

	if (fd < 0 && errno == EBADF) {
		int tmp = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (tmp < 0)
			return;
		fd = fcntl(tmp, F_DUPFD_CLOEXEC, (int)nr - 1);
		close(tmp);
	}
	if (fd >= 0)
		close(fd);
}

/*
 * The fd table and the ev_q are made once and kept across
 * vcore_uio_fini(): INDIRs naming the ev_q may still sit in vcore mboxes,
 * and its handler may still be looking at the table on another vcore.
 */
static int uio_setup(struct vcore_dev *dev)
{
	struct event_queue *q;
	struct rlimit rl;
	unsigned int nr = 1024;
	int err;

	if (!uio.fds) {
		if (!getrlimit(RLIMIT_NOFILE, &rl) &&
		    rl.rlim_cur != RLIM_INFINITY)
			nr = rl.rlim_cur < VCORE_UIO_MAX_FDS ?
			     (unsigned int)rl.rlim_cur : VCORE_UIO_MAX_FDS;
		else if (!getrlimit(RLIMIT_NOFILE, &rl))
			nr = VCORE_UIO_MAX_FDS;
		uio.fds = calloc(nr, sizeof(*uio.fds));
		if (!uio.fds)
			return -ENOMEM;
		fd_table_grow(nr);
		uio.nr_fds = nr;
	}
	uio.dev = dev;
	if (!uio.ev_q) {
		q = vcore_get_eventq_raw();
		if (!q)
			return -errno;
		err = vcore_event_mbox_init_ceq(event_q_mbox(q), CEQ_OR,
						uio.nr_fds,
						pow2_at_least(uio.nr_fds));
		if (err)
			return err;
		event_q_set_handler(q, uio_evq_handler, NULL);
		fetch_or(&q->ev_flags, (__u32)(EVENT_INDIR | EVENT_SPAM_INDIR |
					      EVENT_IPI | EVENT_WAKEUP));
		uio.ev_q = q;
	}
	uio.alarms = !vcore_alarm_service_init(dev);
	return uio_uring_init(dev);
}

int vcore_uio_init(struct vcore_dev *dev)
{
	unsigned int st = 0;

	if (!try_cmpxchg(&uio.init, &st, 1)) {
		while (smp_load_acquire(&uio.init) != 2)
			sched_yield();
		return uio.init_err;
	}
	uio.init_err = uio_setup(dev);
	smp_store_release(&uio.init, 2);
	return uio.init_err;
}

/* Whether a uthread waits on an fd of the table. */
static bool fds_waited_on(void)
{
	bool busy = false;

	vcore_uth_disable_notifs();
	for (unsigned int i = 0; i < uio.nr_fds && !busy; i++) {
		struct uio_fd *f = &uio.fds[i];

		vcore_pdr_lock(&f->lock);
		busy = f->head != NULL;
		vcore_pdr_unlock(&f->lock);
	}
	vcore_uth_enable_notifs();
	return busy;
}

int vcore_uio_fini(void)
{
	unsigned int st = 2;

	if (!try_cmpxchg(&uio.init, &st, 1))
		return st ? -EBUSY : 0;
	/* from here the calls say ENXIO, as before vcore_uio_init() */
	if (fds_waited_on() || uio_uring_busy()) {
		smp_store_release(&uio.init, 2);
		return -EBUSY;
	}
	for (unsigned int i = 0; i < uio.nr_fds; i++) {
		struct uio_fd *f = &uio.fds[i];

		/* O_NONBLOCK stays: f->nonblock still says whose it is */
		if (READ_ONCE(f->state) == FD_TAPPED)
			vcore_untap_fd(uio.dev, (int)i);
		smp_store_release(&f->state, FD_UNTAPPED);
	}
	uio_uring_fini();
	uio.init_err = 0;
	smp_store_release(&uio.init, 0);
	return 0;
}
