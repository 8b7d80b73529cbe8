// SPDX-License-Identifier: MIT
/*
 * vcore-redis: the Redis-protocol server of tools/examples/redis/ on
 * libvcore's uthreads: an accept uthread, and one uthread per connection
 * that reads, runs its requests and writes its replies with blocking-style
 * calls (vcore_uio.h) that block only the uthread: its vcore runs the
 * others meanwhile.  The store's stripes are uthread mutexes.
 *
 *	vcore-redis [--port N] [--bind ADDR] [--vcores N] [--quantum USEC]
 *
 * --vcores caps the vcores it asks for (default: as many as the module
 * gives a process); --quantum time-slices the uthreads (vcore_uthread.h;
 * default 0: cooperative, a uthread runs until it blocks).  SIGINT or
 * SIGTERM ends it, after a line of counters (and one of time slicing's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "listen.h"
#include "store.h"

#include <libvcore.h>
#include <vcore_uio.h>

/* arena for the library's mailboxes and the fd CEQ */
#define ARENA_BYTES	(32UL << 20)

static struct vcore_dev dev;
static struct store *store;
static int listen_fd;
static unsigned long nr_accepted, nr_open;

static void umutex_init(void *l)
{
	vcore_uth_mutex_init(l);
}

static void umutex_lock(void *l)
{
	vcore_uth_mutex_lock(l);
}

static void umutex_unlock(void *l)
{
	vcore_uth_mutex_unlock(l);
}

static const struct store_lock_ops umutex_ops = {
	.size = sizeof(struct uth_mutex),
	.init = umutex_init,
	.lock = umutex_lock,
	.unlock = umutex_unlock,
};

/* Write out what is pending.  0, or -1 when the client is gone. */
static int flush(int fd, struct conn *c)
{
	struct rbuf *out = &c->out;

	while (rbuf_pending(out)) {
		ssize_t n = vcore_uth_send(fd, out->data + out->off,
					   rbuf_pending(out), MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		out->off += n;
	}
	conn_written(c);
	return 0;
}

static void serve(int fd)
{
	struct conn c;

	conn_init(&c);
	for (;;) {
		int st = conn_run(&c, store);
		size_t len;
		ssize_t n;
		char *p;

		if (st == CONN_ABORT || flush(fd, &c) || st == CONN_CLOSE)
			break;
		if (st == CONN_WRITE)
			continue;
		st = conn_read_space(&c, &p, &len);
		if (st == CONN_CLOSE)
			continue;	/* the error reply goes out first */
		if (st != CONN_READ)
			break;
		n = vcore_uth_recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		conn_read_done(&c, n);
	}
	conn_free(&c);
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;

	serve(fd);
	vcore_uth_close(fd);
	__atomic_fetch_sub(&nr_open, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = vcore_uth_accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		struct uthread *u;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* out of fds or memory: let some connections end */
			perror("vcore-redis: accept");
			vcore_uthread_sleep_ns(10 * 1000 * 1000);
			continue;
		}
		tcp_nodelay(fd);
		__atomic_fetch_add(&nr_open, 1, __ATOMIC_RELAXED);
		nr_accepted++;
		u = vcore_uthread_create(conn_main, (void *)(intptr_t)fd);
		if (!u) {
			__atomic_fetch_sub(&nr_open, 1, __ATOMIC_RELAXED);
			vcore_uth_close(fd);
			continue;
		}
		vcore_uthread_detach(u);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: vcore-redis [--port N] [--bind ADDR] [--vcores N] [--quantum USEC]\n");
	exit(2);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "vcore-redis: %s: %s\n", what, strerror(err));
	exit(1);
}

/* As many fds as the hard limit allows: one per connection. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_max > VCORE_UIO_MAX_FDS)
		rl.rlim_max = VCORE_UIO_MAX_FDS;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "vcores", required_argument, NULL, 'v' },
		{ "quantum", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned long port = 6380, vcores = 0, quantum = 0;
	const char *bind_addr = "127.0.0.1";
	struct uthread_stats st;
	struct uthread *u;
	sigset_t sigs;
	char *end;
	int o, sig, err;

	while ((o = getopt_long(argc, argv, "p:b:v:q:h", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end || !port || port > 65535)
				usage();
			break;
		case 'b':
			bind_addr = optarg;
			break;
		case 'v':
			vcores = strtoul(optarg, &end, 10);
			if (*end || !vcores || vcores > VCORE_MAX_VCORES)
				usage();
			break;
		case 'q':
			quantum = strtoul(optarg, &end, 10);
			if (*end || quantum > 1000000)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* main waits for these; the vcore threads block every signal */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	listen_fd = listen_tcp(bind_addr, port, false, 0);
	if (listen_fd < 0)
		die("listen", errno);
	store = store_create(&umutex_ops, 256);
	if (!store)
		die("store", errno);
	err = vcore_dev_open(&dev);
	if (err)
		die("/dev/vcore", -err);
	/* the library asks for vcores up to max_vcores: cap it there */
	if (vcores && vcores < dev.api.max_vcores)
		dev.api.max_vcores = vcores;
	err = vcore_arena_setup(&dev, ARENA_BYTES);
	if (!err)
		err = vcore_uthread_lib_init(&dev);
	if (!err)
		err = vcore_uio_init(&dev);
	if (err)
		die("libvcore", -err);
	if (quantum) {
		err = vcore_uthread_set_quantum(quantum);
		if (err)
			die("--quantum", -err);
	}
	u = vcore_uthread_create(accept_main, NULL);
	if (!u)
		die("uthread", errno);
	vcore_uthread_detach(u);
	printf("vcore-redis: %s:%lu, up to %u vcores, quantum %lu us\n",
	       bind_addr, port, dev.api.max_vcores, quantum);
	fflush(stdout);

	sigwait(&sigs, &sig);
	vcore_uthread_get_stats(&st);
	printf("vcore-redis: %lu connections (%lu open), %lu uthreads, %lu vcore yields\n",
	       nr_accepted, __atomic_load_n(&nr_open, __ATOMIC_RELAXED),
	       st.created, st.vcore_yields);
	if (quantum) {
		struct vcore_uthread_preempt_stats ps;

		vcore_uthread_get_preempt_stats(&ps, sizeof(ps));
		printf("vcore-redis: %lu ticks, %lu preemptions, %lu deferred (%lu taken later), %lu idle\n",
		       ps.ticks, ps.preemptions, ps.deferred,
		       ps.deferred_taken, ps.idle_ticks);
	}
	return 0;
}
