/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Fd taps, user side: an fd's readiness changes become events on an ev_q
 * (VCORE_IOC_TAP, Akaros's sys_tap_fds), and an epoll look-alike built on
 * them, after Akaros's parlib epoll: one CEQ per instance, one CEQ entry
 * per fd (ev_id = the fd), so however often an fd fires between two
 * waits, it is looked at once; and POSIX signals delivered as
 * EV_POSIX_SIGNAL events through a tapped signalfd.
 *
 * Errors: int functions return 0 (or a count) or a negative errno;
 * pointer functions return NULL and set errno.
 */
#ifndef _VCORE_TAP_H
#define _VCORE_TAP_H

#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>

#include <linux/vcore.h>

#include "vcore.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Taps (tap.c) ----------------------------------------------------- */

/*
 * Akaros's sys_tap_fds(): carry out reqs[0 .. nr - 1] in order and stop at
 * the first that fails.  Returns how many succeeded, or the first one's
 * negative errno if none did.
 */
int vcore_tap_fds(const struct vcore_dev *dev, struct vcore_tap_req *reqs,
		  size_t nr);

/*
 * Tap fd: each change towards one of filter's VCORE_TAP_* conditions sends
 * ev_type = ev_id, ev_arg2 = the bits, ev_arg3 = data through ev_q (in the
 * event arena).  flags: VCORE_TAP_INITIAL also fires once now for what
 * already holds.  The tap keeps the file open until vcore_untap_fd() with
 * the same fd number, even if fd is closed.  The errors of VCORE_IOC_TAP.
 */
int vcore_tap_fd(const struct vcore_dev *dev, int fd, unsigned int filter,
		 struct event_queue *ev_q, unsigned int ev_id, __u64 data,
		 unsigned int flags);

/* Change fd's tap, as vcore_tap_fd() sets one up.  -ENOENT if none. */
int vcore_tap_fd_mod(const struct vcore_dev *dev, int fd, unsigned int filter,
		     struct event_queue *ev_q, unsigned int ev_id, __u64 data,
		     unsigned int flags);

/* Remove fd's tap.  -ENOENT if none. */
int vcore_untap_fd(const struct vcore_dev *dev, int fd);

/* ---- epoll on a CEQ (epoll.c) ------------------------------------------ */

struct vcore_epoll;

/*
 * An epoll instance for fds below max_fds (at most 65535): a big ev_q
 * with a CEQ_OR CEQ of max_fds + 1 entries from the event arena, with a
 * wakeup controller (uthread.h) so that uthreads can block on it, and a
 * timerfd of its own for timeouts.  NULL with errno EINVAL, ENOMEM,
 * ENXIO (no arena), or the error of the timerfd.
 */
struct vcore_epoll *vcore_epoll_create(const struct vcore_dev *dev,
				       unsigned int max_fds);

/*
 * epoll_ctl(2): EPOLL_CTL_ADD, _MOD and _DEL of fd with event->events
 * (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLPRI, EPOLLET, EPOLLONESHOT;
 * EPOLLERR and EPOLLHUP are always reported) and event->data.
 * -EINVAL (unknown op or event bits, fd >= max_fds), -EEXIST, -ENOENT,
 * -EBADF, -EPERM (the fd cannot be polled), and VCORE_IOC_TAP's errors.
 */
int vcore_epoll_ctl(struct vcore_epoll *ep, int op, int fd,
		    struct epoll_event *event);

/*
 * epoll_wait(2): up to maxevents ready fds, each once, with the events
 * that hold when it is looked at (a poll(2) of the fds that fired), and
 * their data.  Level-triggered fds that were ready last time are looked
 * at again; EPOLLET ones only when they fire; EPOLLONESHOT ones are
 * disabled once reported, until EPOLL_CTL_MOD.  timeout_ms: 0 does not
 * block, -1 blocks for ever, > 0 at most that long.  A uthread blocks
 * (vcore_uth_blockon_evqs_arr()); any other thread sleeps between looks.
 * Returns the number of events (0 on timeout), -EINVAL.
 */
int vcore_epoll_wait(struct vcore_epoll *ep, struct epoll_event *events,
		     int maxevents, int timeout_ms);

/*
 * Remove every tap, free the CEQ and the ev_q, close the timerfd.
 * Nobody may wait on ep any more.
 */
void vcore_epoll_close(struct vcore_epoll *ep);

/* The instance's ev_q, e.g. to watch it from an ev_q handler instead. */
struct event_queue *vcore_epoll_evq(struct vcore_epoll *ep);

/* ---- Signals as events (sigevent.c) ------------------------------------ */

/*
 * Deliver the process-directed signals of set as events: they are blocked
 * in the calling thread (vcore threads block them already; every other
 * thread of the process must block them too, e.g. by calling this before
 * creating it), and a signalfd for them is tapped into an ev_q that
 * INDIRs to a vcore (EVENT_IPI, EVENT_WAKEUP).  There, in vcore context,
 * each signal runs the handlers registered for EV_POSIX_SIGNAL
 * (vcore_register_ev_handler()) with ev_arg1 = the signal number, ev_arg2
 * = si_code, ev_arg3 = the sender's pid, ev_arg4 = its sigval.  Needs the
 * VCPD mailboxes (vcore_vcpd_mboxes_init(), or the uthread library); a
 * signal is handled when a vcore runs (a process that has yielded every
 * vcore is woken, one that never asked for any waits until it does).
 * Once per process: -EBUSY; -EINVAL, or the signalfd's or the tap's error.
 */
int vcore_signals_as_events(const struct vcore_dev *dev, const sigset_t *set);

/* Stop it; the signals stay blocked.  Not while a handler runs. */
void vcore_signals_as_events_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_TAP_H */
