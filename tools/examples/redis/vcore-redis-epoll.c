// SPDX-License-Identifier: MIT
/*
 * vcore-redis-epoll: the Redis-protocol server of tools/examples/redis/
 * on plain threads, for comparison with vcore-redis: one thread per CPU
 * it may run on (or --threads N), each with its own SO_REUSEPORT
 * listening socket and a level-triggered epoll loop over non-blocking
 * connections.  Same parser, commands and store (with pthread mutexes).
 *
 *	vcore-redis-epoll [--port N] [--bind ADDR] [--threads N]
 *
 * SIGINT or SIGTERM ends it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "listen.h"
#include "store.h"

#define MAX_EVENTS	256
/* reads one connection may do per wakeup before the others get a turn */
#define READS_PER_TURN	16

struct econn {
	int fd;
	unsigned int events;		/* what epoll watches for */
	struct conn c;
};

static struct store *store;
static const char *bind_addr = "127.0.0.1";
static unsigned int port = 6380;

static void mutex_init(void *l)
{
	pthread_mutex_init(l, NULL);
}

static void mutex_destroy(void *l)
{
	pthread_mutex_destroy(l);
}

static void mutex_lock(void *l)
{
	pthread_mutex_lock(l);
}

static void mutex_unlock(void *l)
{
	pthread_mutex_unlock(l);
}

static const struct store_lock_ops mutex_ops = {
	.size = sizeof(pthread_mutex_t),
	.init = mutex_init,
	.destroy = mutex_destroy,
	.lock = mutex_lock,
	.unlock = mutex_unlock,
};

/* Write out what is pending: 1 all of it, 0 the socket is full, -1 error. */
static int flush(struct econn *e)
{
	struct rbuf *out = &e->c.out;

	while (rbuf_pending(out)) {
		ssize_t n = send(e->fd, out->data + out->off, rbuf_pending(out),
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		out->off += n;
	}
	conn_written(&e->c);
	return 1;
}

/*
 * Run, write and read until the socket has nothing more or is full.
 * The events to wait for next, or 0 to close.
 */
static unsigned int pump(struct econn *e)
{
	for (int reads = 0; reads < READS_PER_TURN;) {
		int st = conn_run(&e->c, store);
		size_t len;
		ssize_t n;
		char *p;

		if (st == CONN_ABORT)
			return 0;
		switch (flush(e)) {
		case -1:
			return 0;
		case 0:
			return EPOLLOUT;
		}
		if (st == CONN_CLOSE)
			return 0;
		if (st == CONN_WRITE)
			continue;
		st = conn_read_space(&e->c, &p, &len);
		if (st == CONN_CLOSE)
			continue;	/* the error reply goes out first */
		if (st != CONN_READ)
			return 0;
		n = recv(e->fd, p, len, 0);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? EPOLLIN : 0;
		}
		conn_read_done(&e->c, n);
		reads++;
	}
	return EPOLLIN;
}

static void close_conn(int epfd, struct econn *e)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, e->fd, NULL);
	close(e->fd);
	conn_free(&e->c);
	free(e);
}

static void accept_all(int epfd, int lfd)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct econn *e;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				perror("vcore-redis-epoll: accept");
			return;
		}
		tcp_nodelay(fd);
		e = calloc(1, sizeof(*e));
		if (!e) {
			close(fd);
			continue;
		}
		e->fd = fd;
		e->events = EPOLLIN;
		conn_init(&e->c);
		ev.data.ptr = e;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(e);
		}
	}
}

static void *loop(void *arg)
{
	struct epoll_event evs[MAX_EVENTS], ev = { .events = EPOLLIN };
	int lfd = (int)(intptr_t)arg, epfd;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.ptr = NULL;		/* the listening socket */
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev)) {
		perror("vcore-redis-epoll: epoll");
		exit(1);
	}
	for (;;) {
		int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			struct econn *e = evs[i].data.ptr;
			unsigned int want;

			if (!e) {
				accept_all(epfd, lfd);
				continue;
			}
			want = pump(e);
			if (!want) {
				close_conn(epfd, e);
			} else if (want != e->events) {
				ev.events = want;
				ev.data.ptr = e;
				e->events = want;
				epoll_ctl(epfd, EPOLL_CTL_MOD, e->fd, &ev);
			}
		}
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: vcore-redis-epoll [--port N] [--bind ADDR] [--threads N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned long threads = 0;
	cpu_set_t cpus;
	sigset_t sigs;
	char *end;
	int o, sig;

	while ((o = getopt_long(argc, argv, "p:b:t:h", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end || !port || port > 65535)
				usage();
			break;
		case 'b':
			bind_addr = optarg;
			break;
		case 't':
			threads = strtoul(optarg, &end, 10);
			if (*end || !threads || threads > 1024)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!threads) {
		threads = 1;
		if (!sched_getaffinity(0, sizeof(cpus), &cpus))
			threads = CPU_COUNT(&cpus);
	}
	store = store_create(&mutex_ops, 256);
	if (!store) {
		perror("vcore-redis-epoll: store");
		return 1;
	}
	/* the loops run with these blocked; main waits for them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned long i = 0; i < threads; i++) {
		int lfd = listen_tcp(bind_addr, port, true, SOCK_NONBLOCK);
		pthread_t t;

		if (lfd < 0) {
			fprintf(stderr, "vcore-redis-epoll: %s:%u: %s\n",
				bind_addr, port, strerror(errno));
			return 1;
		}
		if (pthread_create(&t, NULL, loop, (void *)(intptr_t)lfd)) {
			fprintf(stderr, "vcore-redis-epoll: cannot start threads\n");
			return 1;
		}
	}
	printf("vcore-redis-epoll: %s:%u, %lu threads\n", bind_addr, port,
	       threads);
	fflush(stdout);
	sigwait(&sigs, &sig);
	return 0;
}
