// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * epoll on fd taps (vcore_tap.h), after Akaros's parlib epoll: every fd is
 * tapped into one CEQ_OR CEQ with ev_id = the fd, so the CEQ holds at
 * most one entry per fd whatever the fd's rate.  A wait takes the ids off
 * the CEQ, adds the level-triggered fds it reported last time (and any it
 * had no room for), polls them all at once with poll(2) to learn what
 * holds now (as epoll's own send path polls each ready item again), and
 * reports each at most once.  A fire only says "look", so a poll that
 * finds nothing reports nothing.
 *
 * Timeouts come from a timerfd of the instance's own, tapped into the
 * same CEQ under the id max_fds: a uthread that blocks on the ev_q wakes
 * on an fd or on the timer, whichever fires first.
 *
 * One waiter at a time, and no ctl during a wait: the instance has no
 * lock of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "uthread.h"
#include "vcore_tap.h"

#define EP_MAX_FDS	(VCORE_CEQ_MAX_EVENTS - 1)

/* The event bits vcore_epoll_ctl() accepts. */
#define EP_EVENTS_OK	(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | \
			 EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLWRNORM | \
			 EPOLLRDBAND | EPOLLWRBAND | EPOLLET | EPOLLONESHOT)
/* What poll(2) is asked about */
#define EP_POLL_EVENTS	(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | \
			 EPOLLRDNORM | EPOLLWRNORM | EPOLLRDBAND | EPOLLWRBAND)

enum ep_state { EP_UNUSED, EP_ON, EP_OFF /* ONESHOT, reported */ };

struct ep_fd {
	__u64 data;
	__u32 events;
	unsigned char state;		/* enum ep_state */
};

struct vcore_epoll {
	const struct vcore_dev *dev;
	struct event_queue *ev_q;
	unsigned int max_fds;
	int timer_fd;
	struct ep_fd *fds;		/* [max_fds] */
	/* fds to look at again in the next wait (LT, or no room) */
	int *again;			/* [max_fds] */
	unsigned int nr_again;
	/* a wait's scratch */
	struct pollfd *pfds;		/* [max_fds] */
	unsigned int *seen;		/* [max_fds]: gen when last a candidate */
	unsigned int gen;
};

static unsigned int ep_filter(__u32 events)
{
	unsigned int f = VCORE_TAP_HANGUP | VCORE_TAP_ERROR;

	if (events & (EPOLLIN | EPOLLRDNORM | EPOLLRDBAND | EPOLLPRI))
		f |= VCORE_TAP_READABLE;
	if (events & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND))
		f |= VCORE_TAP_WRITABLE;
	return f;
}

static struct ceq *ep_ceq(struct vcore_epoll *ep)
{
	return &event_q_mbox(ep->ev_q)->ceq;
}

static unsigned int pow2_at_least(unsigned int n)
{
	unsigned int p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

struct event_queue *vcore_epoll_evq(struct vcore_epoll *ep)
{
	return ep->ev_q;
}

static void ep_free(struct vcore_epoll *ep)
{
	if (ep->ev_q) {
		if (ep->ev_q->ev_handler)
			vcore_evq_remove_wakeup_ctlr(ep->ev_q);
		vcore_put_eventq(ep->ev_q);
	}
	if (ep->timer_fd >= 0)
		close(ep->timer_fd);
	free(ep->fds);
	free(ep->again);
	free(ep->pfds);
	free(ep->seen);
	free(ep);
}

struct vcore_epoll *vcore_epoll_create(const struct vcore_dev *dev,
				       unsigned int max_fds)
{
	struct vcore_epoll *ep;
	int err;

	if (!dev || !max_fds || max_fds > EP_MAX_FDS) {
		errno = EINVAL;
		return NULL;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return NULL;
	ep->dev = dev;
	ep->max_fds = max_fds;
	ep->timer_fd = -1;
	ep->fds = calloc(max_fds, sizeof(*ep->fds));
	ep->again = calloc(max_fds, sizeof(*ep->again));
	ep->pfds = calloc(max_fds, sizeof(*ep->pfds));
	ep->seen = calloc(max_fds, sizeof(*ep->seen));
	err = -ENOMEM;
	if (!ep->fds || !ep->again || !ep->pfds || !ep->seen)
		goto err;
	ep->ev_q = vcore_get_eventq_raw();
	if (!ep->ev_q) {
		err = -errno;
		goto err;
	}
	/* ids 0 .. max_fds - 1 are fds, max_fds the timer */
	err = vcore_event_mbox_init_ceq(event_q_mbox(ep->ev_q), CEQ_OR,
					max_fds + 1,
					pow2_at_least(max_fds + 1));
	if (err)
		goto err;
	err = vcore_evq_attach_wakeup_ctlr(ep->ev_q);
	if (err)
		goto err;
	ep->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				      TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep->timer_fd < 0) {
		err = -errno;
		goto err;
	}
	err = vcore_tap_fd(dev, ep->timer_fd, VCORE_TAP_READABLE, ep->ev_q,
			   max_fds, 0, 0);
	if (err)
		goto err;
	return ep;
err:
	ep_free(ep);
	errno = -err;
	return NULL;
}

void vcore_epoll_close(struct vcore_epoll *ep)
{
	unsigned int fd;

	if (!ep)
		return;
	for (fd = 0; fd < ep->max_fds; fd++)
		if (ep->fds[fd].state != EP_UNUSED)
			vcore_untap_fd(ep->dev, (int)fd);
	vcore_untap_fd(ep->dev, ep->timer_fd);
	ep_free(ep);
}

int vcore_epoll_ctl(struct vcore_epoll *ep, int op, int fd,
		    struct epoll_event *event)
{
	struct ep_fd *e;
	int ret;

	if (fd < 0)
		return -EBADF;
	if ((unsigned int)fd >= ep->max_fds || fd == ep->timer_fd)
		return -EINVAL;
	e = &ep->fds[fd];
	if (op != EPOLL_CTL_DEL &&
	    (!event || (event->events & ~(__u32)EP_EVENTS_OK)))
		return -EINVAL;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (e->state != EP_UNUSED)
			return -EEXIST;
		/* epoll reports what already holds: so does INITIAL */
		ret = vcore_tap_fd(ep->dev, fd, ep_filter(event->events),
				   ep->ev_q, (unsigned int)fd, 0,
				   VCORE_TAP_INITIAL);
		break;
	case EPOLL_CTL_MOD:
		if (e->state == EP_UNUSED)
			return -ENOENT;
		ret = vcore_tap_fd_mod(ep->dev, fd, ep_filter(event->events),
				       ep->ev_q, (unsigned int)fd, 0,
				       VCORE_TAP_INITIAL);
		break;
	case EPOLL_CTL_DEL:
		if (e->state == EP_UNUSED)
			return -ENOENT;
		ret = vcore_untap_fd(ep->dev, fd);
		/* gone from the kernel either way: it was ours */
		e->state = EP_UNUSED;
		return ret == -ENOENT ? 0 : ret;
	default:
		return -EINVAL;
	}
	if (ret)
		return ret;
	e->events = event->events;
	e->data = event->data.u64;
	e->state = EP_ON;
	return 0;
}

/* Make fd a candidate of this collection, once. */
static void ep_candidate(struct vcore_epoll *ep, unsigned int fd,
			 unsigned int *npfd)
{
	if (fd >= ep->max_fds || ep->fds[fd].state != EP_ON ||
	    ep->seen[fd] == ep->gen)
		return;
	ep->seen[fd] = ep->gen;
	ep->pfds[*npfd].fd = (int)fd;
	ep->pfds[*npfd].events = (short)(ep->fds[fd].events & EP_POLL_EVENTS);
	ep->pfds[*npfd].revents = 0;
	(*npfd)++;
}

static void ep_drain_timer(struct vcore_epoll *ep)
{
	__u64 n;

	if (read(ep->timer_fd, &n, sizeof(n)) < 0)
		errno = 0;	/* nothing pending */
}

/*
 * One look: the fds to look at again, @first (a message a blocking wait
 * already took) and every id on the CEQ, polled at once.  Returns the
 * number of events written.
 */
static int ep_collect(struct vcore_epoll *ep, struct epoll_event *events,
		      int maxevents, const struct event_msg *first)
{
	unsigned int npfd = 0, i, nr_again = ep->nr_again;
	struct event_msg msg;
	int n = 0;

	if (!++ep->gen) {
		memset(ep->seen, 0, ep->max_fds * sizeof(*ep->seen));
		ep->gen = 1;
	}
	ep->nr_again = 0;
	for (i = 0; i < nr_again; i++)
		ep_candidate(ep, (unsigned int)ep->again[i], &npfd);
	if (first) {
		if (first->ev_type == ep->max_fds)
			ep_drain_timer(ep);
		else
			ep_candidate(ep, first->ev_type, &npfd);
	}
	/* bounded: the CEQ has max_fds + 1 ids, each posted once at a time */
	for (i = 0; i <= ep->max_fds && vcore_get_ceq_msg(ep_ceq(ep), &msg);
	     i++) {
		if (msg.ev_type == ep->max_fds)
			ep_drain_timer(ep);
		else
			ep_candidate(ep, msg.ev_type, &npfd);
	}
	if (!npfd)
		return 0;
	if (poll(ep->pfds, npfd, 0) < 0)
		return -errno;
	for (i = 0; i < npfd; i++) {
		struct pollfd *p = &ep->pfds[i];
		struct ep_fd *e = &ep->fds[p->fd];
		__u32 rev = (__u32)p->revents &
			    (e->events | EPOLLERR | EPOLLHUP);

		/* not open any more (POLLNVAL), or nothing holds now */
		if (!rev)
			continue;
		if (n == maxevents) {
			ep->again[ep->nr_again++] = p->fd;
			continue;
		}
		events[n].events = rev;
		events[n].data.u64 = e->data;
		n++;
		if (e->events & EPOLLONESHOT)
			e->state = EP_OFF;
		else if (!(e->events & EPOLLET))
			ep->again[ep->nr_again++] = p->fd;
	}
	return n;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void ep_set_timer(struct vcore_epoll *ep, long long ns)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = ns / 1000000000LL;
	its.it_value.tv_nsec = ns % 1000000000LL;
	timerfd_settime(ep->timer_fd, 0, &its, NULL);
}

int vcore_epoll_wait(struct vcore_epoll *ep, struct epoll_event *events,
		     int maxevents, int timeout_ms)
{
	long long deadline = 0, left = 0;
	struct event_queue *evqs[1] = { ep->ev_q };
	struct event_msg msg;
	int n;

	if (!events || maxevents <= 0)
		return -EINVAL;
	if (timeout_ms > 0)
		deadline = now_ns() + timeout_ms * 1000000LL;
	for (;;) {
		n = ep_collect(ep, events, maxevents, NULL);
		if (n || !timeout_ms)
			return n;
		if (timeout_ms > 0) {
			left = deadline - now_ns();
			if (left <= 0)
				return 0;
		}
		if (!vcore_uthread_self()) {
			struct timespec ts = { 0, 50000 };

			if (timeout_ms > 0 && left < ts.tv_nsec)
				ts.tv_nsec = left;
			nanosleep(&ts, NULL);
			continue;
		}
		if (timeout_ms > 0)
			ep_set_timer(ep, left);
		n = vcore_uth_blockon_evqs_arr(&msg, evqs, 1);
		if (timeout_ms > 0)
			ep_set_timer(ep, 0);
		if (n < 0)
			return n;
		n = ep_collect(ep, events, maxevents, &msg);
		if (n)
			return n;
	}
}
