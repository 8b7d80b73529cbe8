// SPDX-License-Identifier: MIT
/*
 * vcore-hello: the smallest whole libvcore program.  Opens /dev/vcore,
 * sets up the event arena and vcore context, brings one vcore online,
 * sends itself an event through a UCQ ev_q with EVENT_IPI, and receives
 * it in vcore context, where a registered handler runs.
 *
 * Built against an installed libvcore:
 *	cc -o vcore-hello vcore-hello.c $(pkg-config --cflags --libs libvcore)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <vcore/libvcore.h>

#define EV_HELLO	20	/* an event type of our own */

static struct vcore_dev dev;
static struct event_queue *ev_q;
static volatile unsigned int got_arg, got_vcore = -1U;

static void on_hello(struct event_msg *msg, unsigned int ev_type, void *data)
{
	(void)ev_type;
	(void)data;
	got_vcore = vcore_id();
	vcore_store_release(&got_arg, msg->ev_arg2);
}

/* Every vcore starts here, and comes back here on each notification. */
static void entry(void)
{
	for (;;) {
		vcore_handle_events(&dev, vcore_id());
		vcore_handle_event_q(ev_q);
		vcore_idle();	/* returns when there is more to look at */
	}
}

/* Wait up to 10 s for *p to become non-zero. */
static int wait_nonzero(volatile unsigned int *p)
{
	struct timespec t = { 0, 1000000 };

	for (int i = 0; i < 10000; i++) {
		if (vcore_load_acquire(p))
			return 0;
		nanosleep(&t, NULL);
	}
	return -ETIMEDOUT;
}

int main(void)
{
	struct vcore_send_event se = { .msg = { .ev_type = EV_HELLO,
						 .ev_arg2 = 42 } };
	int err;

	err = vcore_dev_open(&dev);
	if (err) {
		fprintf(stderr, "vcore-hello: /dev/vcore: %s\n", strerror(-err));
		return 1;
	}
	err = vcore_arena_setup(&dev, 1 << 20);
	if (!err)
		err = vcore_lib_init(&dev, entry);
	if (!err)
		err = vcore_vcpd_mboxes_init(&dev);
	ev_q = err ? NULL : vcore_get_eventq(EV_MBOX_UCQ);
	if (!ev_q) {
		fprintf(stderr, "vcore-hello: setup: %s\n",
			strerror(err ? -err : errno));
		return 1;
	}
	vcore_register_ev_handler(EV_HELLO, on_hello, NULL);

	/* one vcore, notified (EVENT_IPI) on vcore 0 for ev_q's messages */
	ev_q->ev_flags = EVENT_IPI;
	ev_q->ev_vcore = 0;
	vcore_request_total(1);
	for (int i = 0; i < 10000 && !vcore_num_vcores(); i++)
		usleep(1000);
	if (!vcore_num_vcores()) {
		fprintf(stderr, "vcore-hello: no vcore came online\n");
		return 1;
	}

	se.ev_q = (uintptr_t)ev_q;
	if (ioctl(dev.fd, VCORE_IOC_SEND_EVENT, &se)) {
		perror("vcore-hello: VCORE_IOC_SEND_EVENT");
		return 1;
	}
	if (wait_nonzero(&got_arg)) {
		fprintf(stderr, "vcore-hello: the event never arrived\n");
		return 1;
	}
	printf("vcore-hello: vcore %u got event %u with ev_arg2 %u\n",
	       got_vcore, EV_HELLO, got_arg);
	return got_arg == 42 ? 0 : 1;
}
