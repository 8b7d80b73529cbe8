// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Signals as events (vcore_tap.h): a signalfd of the chosen signals is
 * tapped into an ev_q of its own that INDIRs to a vcore; the ev_q's
 * handler, in vcore context, reads the signalfd and runs each signal
 * through the EV_POSIX_SIGNAL handlers.  The signals stay blocked in
 * every thread (vcore threads block every asynchronous signal anyway), so
 * the kernel leaves them pending for the signalfd instead of running a
 * handler on whatever thread it picks.
 *
 * A signal that arrives while the handler reads fires the tap again, and
 * vcore_handle_ev_ev() clears ev_alert_pending before it calls the
 * handler (EVQ-2, pairing with the kernel's EVQ-1), so the INDIR that the
 * new fire sends is not throttled away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ev_handler.h"
#include "event.h"
#include "vcore_tap.h"

/* A read's worth, and how many reads one handler call makes at most. */
#define SIG_BATCH	16
#define SIG_ROUNDS	64

static struct {
	int fd;				/* the signalfd, -1 when off */
	struct event_queue *ev_q;
	const struct vcore_dev *dev;
} sigev = { .fd = -1 };

static void sigev_handler(struct event_queue *ev_q)
{
	struct signalfd_siginfo si[SIG_BATCH];
	struct event_msg msg;
	unsigned int i, rounds;
	ssize_t n;

	/* the tap's own messages only say "look" */
	while (vcore_extract_one_mbox_msg(event_q_mbox(ev_q), &msg))
		;
	for (rounds = 0; rounds < SIG_ROUNDS; rounds++) {
		n = read(sigev.fd, si, sizeof(si));
		if (n <= 0)
			break;
		for (i = 0; i < (size_t)n / sizeof(si[0]); i++) {
			msg = (struct event_msg) {
				.ev_type = EV_POSIX_SIGNAL,
				.ev_arg1 = (__u16)si[i].ssi_signo,
				.ev_arg2 = (__u32)si[i].ssi_code,
				.ev_arg3 = si[i].ssi_pid,
				.ev_arg4 = si[i].ssi_ptr,
			};
			vcore_run_ev_handlers(EV_POSIX_SIGNAL, &msg);
		}
	}
}

int vcore_signals_as_events(const struct vcore_dev *dev, const sigset_t *set)
{
	struct event_queue *ev_q;
	int fd, err;

	if (!dev || !set)
		return -EINVAL;
	if (sigev.fd >= 0)
		return -EBUSY;
	err = pthread_sigmask(SIG_BLOCK, set, NULL);
	if (err)
		return -err;
	fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ev_q = vcore_get_eventq(EV_MBOX_UCQ);
	if (!ev_q) {
		err = -errno;
		goto err_close;
	}
	ev_q->ev_flags = EVENT_INDIR | EVENT_SPAM_INDIR | EVENT_IPI |
			 EVENT_WAKEUP;
	sigev.fd = fd;
	sigev.ev_q = ev_q;
	sigev.dev = dev;
	event_q_set_handler(ev_q, sigev_handler, NULL);
	/* signals already pending fire at once */
	err = vcore_tap_fd(dev, fd, VCORE_TAP_READABLE, ev_q, EV_POSIX_SIGNAL,
			   0, VCORE_TAP_INITIAL);
	if (!err)
		return 0;
	sigev.fd = -1;
	vcore_put_eventq(ev_q);
err_close:
	close(fd);
	return err;
}

void vcore_signals_as_events_stop(void)
{
	if (sigev.fd < 0)
		return;
	vcore_untap_fd(sigev.dev, sigev.fd);
	close(sigev.fd);
	sigev.fd = -1;
	/* an INDIR already sent may still name it: the ev_q stays */
	event_q_set_handler(sigev.ev_q, NULL, NULL);
}
