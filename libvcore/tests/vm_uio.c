// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Uthread I/O (vcore_uio.h) against the real vcore.ko, in the VM: pipes
 * and sockets with many uthreads blocked at once, many acceptors on one
 * listening socket, poll over several fds with a timeout, the errnos of
 * EOF, EPIPE, ECONNRESET and ECONNREFUSED, hundreds of uthreads doing
 * file I/O through io_uring with the content checked, connections by the
 * hundred, uthreads that keep running while more uthreads than there
 * are pcores wait in reads, no vcore thread asleep in the kernel
 * (vcore_stats.kernel_blocks) while uthreads make every call,
 * vcore_uio_fini() refused while a uthread waits, then taking the taps
 * and the rings down (ENXIO after) and vcore_uio_init() setting them up
 * again, and, if asked, pipes, socket pairs and files again while
 * vcores are preempted.
 *
 *   vm_uio [CONNECTIONS [preempt]]       (default 1000)
 *
 * preempt: then pipes, socket pairs and files again under a preemption
 * storm (needs test=1).  Its uthreads never malloc or free (see
 * must_alloc()).
 *
 * Prints one line per part and "RESULT PASS" or "RESULT FAIL"; a part
 * that never finishes prints "RESULT STUCK" from a watchdog.  Exit status
 * 0, 1, 2 likewise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "barrier.h"
#include "event.h"
#include "uthread.h"
#include "vcore_alarm.h"
#include "vcore_ctx.h"
#include "vcore_tap.h"
#include "vcore_uio.h"

static struct vcore_dev dev;
static unsigned long failures;
static const char *part = "setup";

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fetch_add(&failures, 1);				\
		printf("FAIL %s: %s:%d: %s: ", part, __FILE__, __LINE__, #cond); \
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

/*
 * Buffers for uthreads, from the main thread (not a uthread): glibc's
 * malloc locks are futexes that know nothing of uthreads.  A uthread
 * preempted (and moved) while it holds an arena's lock leaves every other
 * uthread that mallocs or frees in that arena asleep in futex_wait with
 * its vcore thread, and with every vcore thread asleep nothing runs the
 * holder again.
 */
static void *must_alloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		printf("malloc: out of memory\nRESULT FAIL\n");
		exit(1);
	}
	return p;
}

static void run_all(void *(*fn)(void *), void **args, unsigned int n)
{
	struct uthread **u = calloc(n, sizeof(*u));

	for (unsigned int i = 0; i < n; i++) {
		u[i] = vcore_uthread_create(fn, args ? args[i] : (void *)(uintptr_t)i);
		if (!u[i]) {
			printf("uthread_create: %s\n", strerror(errno));
			exit(1);
		}
	}
	for (unsigned int i = 0; i < n; i++)
		vcore_uthread_join(u[i], NULL);
	free(u);
}

/* Everything of n bytes, or the first error (-errno), or 0 on EOF. */
static ssize_t read_all(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = vcore_uth_read(fd, (char *)buf + got, n - got);

		if (r < 0)
			return -errno;
		if (!r)
			return (ssize_t)got;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static ssize_t write_all(int fd, const void *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t r = vcore_uth_write(fd, (const char *)buf + put, n - put);

		if (r < 0)
			return -errno;
		put += (size_t)r;
	}
	return (ssize_t)put;
}

static unsigned char pattern(unsigned int who, size_t i)
{
	return (unsigned char)(who * 131 + i * 7 + (i >> 9));
}

/* ---- Pipes: NR_PIPES readers blocked at once, writers filling them ---- */

#define NR_PIPES	64
#define PIPE_BYTES	(256 * 1024)	/* past a pipe's 64 KiB: writers block */

static int pipes[NR_PIPES][2];
static unsigned char *pipe_bufs[2 * NR_PIPES];
static unsigned int readers_in;

static void *pipe_reader(void *arg)
{
	unsigned int i = (uintptr_t)arg;
	unsigned char *buf = pipe_bufs[i];
	ssize_t r;

	fetch_add(&readers_in, 1);
	r = read_all(pipes[i][0], buf, PIPE_BYTES);
	CHECK(r == PIPE_BYTES, "pipe %u: read %zd", i, r);
	for (size_t k = 0; r == PIPE_BYTES && k < PIPE_BYTES; k++)
		if (buf[k] != pattern(i, k)) {
			CHECK(0, "pipe %u: byte %zu", i, k);
			break;
		}
	/* the writer closed: EOF */
	r = vcore_uth_read(pipes[i][0], buf, 1);
	CHECK(r == 0, "pipe %u: EOF read %zd errno %d", i, r, errno);
	vcore_uth_close(pipes[i][0]);
	return NULL;
}

static void *pipe_writer(void *arg)
{
	unsigned int i = (uintptr_t)arg - NR_PIPES;
	unsigned char *buf = pipe_bufs[NR_PIPES + i];
	ssize_t r;

	/* let every reader block first */
	while (READ_ONCE(readers_in) < NR_PIPES)
		vcore_uthread_yield();
	for (size_t k = 0; k < PIPE_BYTES; k++)
		buf[k] = pattern(i, k);
	r = write_all(pipes[i][1], buf, PIPE_BYTES);
	CHECK(r == PIPE_BYTES, "pipe %u: wrote %zd", i, r);
	vcore_uth_close(pipes[i][1]);
	return NULL;
}

static void *pipe_either(void *arg)
{
	return (uintptr_t)arg < NR_PIPES ? pipe_reader(arg) : pipe_writer(arg);
}

static void test_pipes(void)
{
	struct vcore_uio_stats a, b;

	part = "pipes";
	readers_in = 0;
	for (int i = 0; i < NR_PIPES; i++)
		CHECK(!pipe(pipes[i]), "pipe: %d", errno);
	for (int i = 0; i < 2 * NR_PIPES; i++)
		pipe_bufs[i] = must_alloc(PIPE_BYTES);
	vcore_uio_get_stats(&a);
	run_all(pipe_either, NULL, 2 * NR_PIPES);
	for (int i = 0; i < 2 * NR_PIPES; i++)
		free(pipe_bufs[i]);
	vcore_uio_get_stats(&b);
	printf("pipes: %d pairs of %d KiB, %lu waits, %lu fires\n", NR_PIPES,
	       PIPE_BYTES / 1024, b.waits - a.waits, b.fires - a.fires);
	CHECK(b.waits - a.waits >= NR_PIPES, "only %lu waits", b.waits - a.waits);
}

/* ---- Socket pairs: send/recv, writev/readv, sendmsg/recvmsg ------------ */

#define NR_PAIRS	64
#define ROUNDS		50

static int pairs[NR_PAIRS][2];

static void *pair_side(void *arg)
{
	unsigned int i = (uintptr_t)arg % NR_PAIRS;
	bool pinger = (uintptr_t)arg < NR_PAIRS;
	int fd = pairs[i][pinger ? 0 : 1];
	unsigned int v, w;

	for (unsigned int r = 0; r < ROUNDS; r++) {
		struct iovec iov = { .iov_base = &w, .iov_len = sizeof(w) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		v = i * 1000 + r;
		if (pinger) {
			switch (r % 3) {
			case 0:
				n = vcore_uth_send(fd, &v, sizeof(v), 0);
				break;
			case 1: {
				struct iovec o = { &v, sizeof(v) };

				n = vcore_uth_writev(fd, &o, 1);
				break;
			}
			default: {
				struct iovec o = { &v, sizeof(v) };
				struct msghdr om = { .msg_iov = &o,
						     .msg_iovlen = 1 };

				n = vcore_uth_sendmsg(fd, &om, 0);
			}
			}
			CHECK(n == sizeof(v), "pair %u send %zd", i, n);
			n = vcore_uth_recv(fd, &w, sizeof(w), MSG_WAITALL);
			CHECK(n == sizeof(w) && w == v + 1, "pair %u pong %u", i, w);
		} else {
			switch (r % 3) {
			case 0:
				n = vcore_uth_recv(fd, &w, sizeof(w), 0);
				break;
			case 1:
				n = vcore_uth_readv(fd, &iov, 1);
				break;
			default:
				n = vcore_uth_recvmsg(fd, &mh, 0);
			}
			CHECK(n == sizeof(w) && w == v, "pair %u ping %zd %u", i, n, w);
			w++;
			n = vcore_uth_send(fd, &w, sizeof(w), 0);
			CHECK(n == sizeof(w), "pair %u send %zd", i, n);
		}
	}
	return NULL;
}

static void test_pairs(void)
{
	struct vcore_uio_stats a, b;

	part = "socketpairs";
	for (int i = 0; i < NR_PAIRS; i++)
		CHECK(!socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]), "%d", errno);
	vcore_uio_get_stats(&a);
	run_all(pair_side, NULL, 2 * NR_PAIRS);
	vcore_uio_get_stats(&b);
	printf("socketpairs: %d pairs, %d round trips each, %lu waits\n",
	       NR_PAIRS, ROUNDS, b.waits - a.waits);
	CHECK(b.waits - a.waits >= NR_PAIRS, "only %lu waits", b.waits - a.waits);
	for (int i = 0; i < NR_PAIRS; i++) {
		CHECK(!vcore_uth_close(pairs[i][0]), "close %d", errno);
		CHECK(!vcore_uth_close(pairs[i][1]), "close %d", errno);
	}
}

/* ---- TCP: many acceptors on one socket, then many connections ---------- */

static int lsock;
static struct sockaddr_in laddr;
static unsigned int nr_conns, accepted_ids_bad, acceptors_in;
static unsigned char *seen_ids;

static int listen_on_loopback(void)
{
	socklen_t len = sizeof(laddr);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&laddr, 0, sizeof(laddr));
	laddr.sin_family = AF_INET;
	laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&laddr, sizeof(laddr)) ||
	    listen(s, 4096) ||
	    getsockname(s, (struct sockaddr *)&laddr, &len)) {
		printf("listen: %s\n", strerror(errno));
		exit(1);
	}
	return s;
}

/* An acceptor: takes conns_each connections, echoes each one's id + 1. */
static void *acceptor(void *arg)
{
	unsigned int each = (uintptr_t)arg;

	fetch_add(&acceptors_in, 1);
	for (unsigned int k = 0; k < each; k++) {
		int c = vcore_uth_accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
		unsigned int id;
		ssize_t n;

		CHECK(c >= 0, "accept4: %d", errno);
		if (c < 0)
			return NULL;
		n = vcore_uth_recv(c, &id, sizeof(id), MSG_WAITALL);
		CHECK(n == sizeof(id) && id < nr_conns, "recv id %zd", n);
		if (n == sizeof(id) && id < nr_conns &&
		    xchg(&seen_ids[id], 1))
			fetch_add(&accepted_ids_bad, 1);
		id++;
		n = vcore_uth_send(c, &id, sizeof(id), 0);
		CHECK(n == sizeof(id), "send %zd", n);
		/* the client's close: EOF */
		n = vcore_uth_recv(c, &id, sizeof(id), 0);
		CHECK(n == 0, "EOF %zd %d", n, errno);
		CHECK(!vcore_uth_close(c), "close %d", errno);
	}
	return NULL;
}

static void *connector(void *arg)
{
	unsigned int id = (uintptr_t)arg, r;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	CHECK(s >= 0, "socket %d", errno);
	if (s < 0)
		return NULL;
	CHECK(!vcore_uth_connect(s, (struct sockaddr *)&laddr, sizeof(laddr)),
	      "connect %u: %d", id, errno);
	n = vcore_uth_send(s, &id, sizeof(id), 0);
	CHECK(n == sizeof(id), "send %zd", n);
	n = vcore_uth_recv(s, &r, sizeof(r), MSG_WAITALL);
	CHECK(n == sizeof(r) && r == id + 1, "echo %zd %u", n, r);
	CHECK(!vcore_uth_close(s), "close %d", errno);
	return NULL;
}

/* Acceptors first, all blocked in accept4; then connectors. */
static void *tcp_either(void *arg)
{
	uintptr_t i = (uintptr_t)arg;

	if (i >= (1UL << 20))
		return acceptor((void *)(i >> 20));
	while (READ_ONCE(acceptors_in) < 1)
		vcore_uthread_yield();
	return connector(arg);
}

static void tcp_round(unsigned int conns, unsigned int acceptors)
{
	void **args = calloc(conns + acceptors, sizeof(*args));
	unsigned int missing = 0;

	nr_conns = conns;
	acceptors_in = 0;
	seen_ids = calloc(conns, 1);
	for (unsigned int i = 0; i < acceptors; i++)
		args[i] = (void *)((uintptr_t)(conns / acceptors) << 20);
	for (unsigned int i = 0; i < conns; i++)
		args[acceptors + i] = (void *)(uintptr_t)i;
	run_all(tcp_either, args, conns + acceptors);
	for (unsigned int i = 0; i < conns; i++)
		missing += !seen_ids[i];
	CHECK(!missing && !accepted_ids_bad, "%u missing, %u twice", missing,
	      accepted_ids_bad);
	free(seen_ids);
	free(args);
}

static void test_tcp(unsigned int conns)
{
	struct vcore_uio_stats a, b;

	part = "tcp";
	lsock = listen_on_loopback();
	vcore_uio_get_stats(&a);
	/* many waiters on one fd: 32 acceptors, one connection each */
	tcp_round(32, 32);
	vcore_uio_get_stats(&b);
	printf("accept: 32 acceptors on one socket, %lu waits\n",
	       b.waits - a.waits);
	/* connections by the hundred: 50 acceptors */
	conns -= conns % 50;
	tcp_round(conns, 50);
	vcore_uio_get_stats(&a);
	printf("tcp: %u connections through 50 acceptors, %lu fds tapped so far\n",
	       conns, a.taps);
	CHECK(!vcore_uth_close(lsock), "close %d", errno);
}

/* ---- poll -------------------------------------------------------------- */

static int pp[3][2];
static unsigned int poll_phase;

static void *poller(void *arg)
{
	struct pollfd p[4];
	uint64_t t0;
	int r;

	(void)arg;
	for (int i = 0; i < 3; i++)
		p[i] = (struct pollfd){ .fd = pp[i][0], .events = POLLIN };
	p[3] = (struct pollfd){ .fd = -1, .events = POLLIN };
	r = vcore_uth_poll(p, 4, 0);
	CHECK(r == 0, "poll 0: %d", r);
	t0 = vcore_alarm_now();
	r = vcore_uth_poll(p, 4, 100);
	CHECK(r == 0, "poll 100 ms, nothing: %d %d", r, errno);
	CHECK(vcore_alarm_now() - t0 >= 100000000ULL, "early: %llu ns",
	      (unsigned long long)(vcore_alarm_now() - t0));
	WRITE_ONCE(poll_phase, 1);
	/* the writer writes pp[1] once we wait */
	r = vcore_uth_poll(p, 4, -1);
	CHECK(r == 1 && p[1].revents == POLLIN && !p[0].revents &&
	      !p[2].revents, "poll: %d %x %x %x", r, p[0].revents,
	      p[1].revents, p[2].revents);
	/* a hang-up */
	WRITE_ONCE(poll_phase, 2);
	p[1].fd = -1;
	r = vcore_uth_poll(p, 4, 60000);
	CHECK(r == 1 && (p[2].revents & POLLHUP), "hup: %d %x", r, p[2].revents);
	return NULL;
}

static void *poll_writer(void *arg)
{
	char c = 'x';

	(void)arg;
	while (READ_ONCE(poll_phase) < 1)
		vcore_uthread_yield();
	/* some yields, so that the poller has blocked */
	for (int i = 0; i < 100; i++)
		vcore_uthread_yield();
	CHECK(vcore_uth_write(pp[1][1], &c, 1) == 1, "write %d", errno);
	while (READ_ONCE(poll_phase) < 2)
		vcore_uthread_yield();
	for (int i = 0; i < 100; i++)
		vcore_uthread_yield();
	CHECK(!vcore_uth_close(pp[2][1]), "close %d", errno);
	return NULL;
}

static void *poll_either(void *arg)
{
	return arg ? poll_writer(arg) : poller(arg);
}

static void test_poll(void)
{
	part = "poll";
	for (int i = 0; i < 3; i++)
		CHECK(!pipe(pp[i]), "%d", errno);
	run_all(poll_either, NULL, 2);
	for (int i = 0; i < 3; i++) {
		vcore_uth_close(pp[i][0]);
		if (i != 2)
			vcore_uth_close(pp[i][1]);
	}
	printf("poll: timeout, one of three, hang-up\n");
}

/* ---- errnos ------------------------------------------------------------ */

#define NR_CLOSE_ROUNDS	500

static void *errnos(void *arg)
{
	int p[2], s, c, one = 1;
	struct linger lg = { 1, 0 };
	char buf[16] = "x";
	ssize_t n;

	(void)arg;
	/* EPIPE: the reader is gone */
	CHECK(!pipe(p), "%d", errno);
	vcore_uth_close(p[0]);
	n = vcore_uth_write(p[1], buf, 1);
	CHECK(n == -1 && errno == EPIPE, "EPIPE: %zd %d", n, errno);
	vcore_uth_close(p[1]);
	/* EOF on a socket pair, then EPIPE on send */
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM, 0, p), "%d", errno);
	vcore_uth_close(p[1]);
	n = vcore_uth_recv(p[0], buf, 1, 0);
	CHECK(n == 0, "EOF: %zd %d", n, errno);
	n = vcore_uth_send(p[0], buf, 1, MSG_NOSIGNAL);
	CHECK(n == -1 && errno == EPIPE, "send EPIPE: %zd %d", n, errno);
	vcore_uth_close(p[0]);
	/* ECONNRESET: the server aborts while the client waits in recv */
	lsock = listen_on_loopback();
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(!vcore_uth_connect(c, (struct sockaddr *)&laddr, sizeof(laddr)),
	      "connect %d", errno);
	s = vcore_uth_accept4(lsock, NULL, NULL, 0);
	CHECK(s >= 0, "accept %d", errno);
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	CHECK(!vcore_uth_close(s), "close %d", errno);
	n = vcore_uth_recv(c, buf, sizeof(buf), 0);
	CHECK(n == -1 && errno == ECONNRESET, "ECONNRESET: %zd %d", n, errno);
	vcore_uth_close(c);
	/* ECONNREFUSED: nobody listens any more */
	vcore_uth_close(lsock);
	c = socket(AF_INET, SOCK_STREAM, 0);
	n = vcore_uth_connect(c, (struct sockaddr *)&laddr, sizeof(laddr));
	CHECK(n == -1 && errno == ECONNREFUSED, "ECONNREFUSED: %zd %d", n,
	      errno);
	vcore_uth_close(c);
	/* EBADF */
	n = vcore_uth_read(c, buf, 1);
	CHECK(n == -1 && errno == EBADF, "EBADF: %zd %d", n, errno);
	/*
	 * A close has taken effect when it returns, every time: the file's
	 * last reference is gone (the other end sees it at once).
	 */
	for (int i = 0; i < NR_CLOSE_ROUNDS; i++) {
		CHECK(!pipe(p), "%d", errno);
		CHECK(!vcore_uth_close(p[0]), "close %d", errno);
		n = vcore_uth_write(p[1], buf, 1);
		CHECK(n == -1 && errno == EPIPE,
		      "round %d: write after the reader's close: %zd %d", i, n,
		      errno);
		vcore_uth_close(p[1]);
	}
	return NULL;
}

static void test_errnos(void)
{
	part = "errnos";
	run_all(errnos, NULL, 1);
	printf("errnos: EPIPE, EOF, ECONNRESET, ECONNREFUSED, EBADF; "
	       "%d closes that took effect at once\n", NR_CLOSE_ROUNDS);
}

/* ---- Files through io_uring --------------------------------------------- */

#define NR_FILERS	300
#define FILE_BYTES	(24 * 1024)
#define CHUNK		4096

static unsigned char *filer_bufs[2 * NR_FILERS];

static void *filer(void *arg)
{
	unsigned int i = (uintptr_t)arg;
	unsigned char *buf = filer_bufs[2 * i], *back = filer_bufs[2 * i + 1];
	char path[64];
	struct statx stx;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/tmp/vm_uio.%d.%u", getpid(), i);
	fd = vcore_uth_openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_TRUNC |
			      O_CLOEXEC, 0600);
	CHECK(fd >= 0, "openat %s: %d", path, errno);
	if (fd < 0)
		goto out;
	for (size_t k = 0; k < FILE_BYTES; k++)
		buf[k] = pattern(i, k);
	/* chunks in reverse, so that the offsets matter */
	for (int c = FILE_BYTES / CHUNK - 1; c >= 0; c--) {
		n = vcore_uth_pwrite(fd, buf + c * CHUNK, CHUNK,
				     (off_t)c * CHUNK);
		CHECK(n == CHUNK, "pwrite %zd %d", n, errno);
	}
	CHECK(!vcore_uth_fsync(fd), "fsync %d", errno);
	CHECK(!vcore_uth_statx(AT_FDCWD, path, 0, STATX_SIZE, &stx) &&
	      stx.stx_size == FILE_BYTES, "statx %d %llu", errno,
	      (unsigned long long)stx.stx_size);
	memset(back, 0, FILE_BYTES);
	n = vcore_uth_pread(fd, back, FILE_BYTES, 0);
	CHECK(n == FILE_BYTES && !memcmp(buf, back, FILE_BYTES),
	      "pread %zd", n);
	/* read and write at the file position: a regular file is not tapped */
	memset(back, 0, FILE_BYTES);
	n = read_all(fd, back, FILE_BYTES);
	CHECK(n == FILE_BYTES && !memcmp(buf, back, FILE_BYTES),
	      "read %zd", n);
	n = vcore_uth_read(fd, back, 1);
	CHECK(n == 0, "at the end: %zd", n);
	lseek(fd, CHUNK, SEEK_SET);
	n = read_all(fd, back, CHUNK);
	CHECK(n == CHUNK && !memcmp(buf + CHUNK, back, CHUNK), "read %zd", n);
	n = write_all(fd, buf, CHUNK);
	CHECK(n == CHUNK && lseek(fd, 0, SEEK_CUR) == 3 * CHUNK,
	      "write %zd", n);
	n = vcore_uth_pread(fd, back, CHUNK, 2 * CHUNK);
	CHECK(n == CHUNK && !memcmp(buf, back, CHUNK), "written %zd", n);
	CHECK(!vcore_uth_close(fd), "close %d", errno);
	unlink(path);
out:
	return NULL;
}

static void test_files(void)
{
	struct vcore_uio_stats a, b;

	part = "files";
	for (int i = 0; i < 2 * NR_FILERS; i++)
		filer_bufs[i] = must_alloc(FILE_BYTES);
	vcore_uio_get_stats(&a);
	run_all(filer, NULL, NR_FILERS);
	vcore_uio_get_stats(&b);
	for (int i = 0; i < 2 * NR_FILERS; i++)
		free(filer_bufs[i]);
	printf("files: %d uthreads, %lu ring submits, %lu completions, "
	       "%lu waited for room\n", NR_FILERS,
	       b.uring_submits - a.uring_submits,
	       b.uring_completions - a.uring_completions,
	       b.uring_deferred - a.uring_deferred);
	CHECK(b.uring_completions - a.uring_completions >= NR_FILERS * 9UL,
	      "completions");
}

/* ---- Others run while more uthreads than pcores wait in reads ---------- */

static int stall[2];
static unsigned int sleepers_in, spinners_done;
static unsigned long spins;

static void *stall_reader(void *arg)
{
	char c;
	ssize_t n;

	(void)arg;
	fetch_add(&sleepers_in, 1);
	n = vcore_uth_read(stall[0], &c, 1);
	CHECK(n == 1, "stalled read %zd %d", n, errno);
	return NULL;
}

static void *spinner(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		fetch_add(&spins, 1);
		vcore_uthread_yield();
	}
	fetch_add(&spinners_done, 1);
	return NULL;
}

static void test_others_run(void)
{
	unsigned int nr = 4 * dev.api.nr_pcores + 4;
	struct uthread **u = calloc(nr + 4, sizeof(*u));
	struct vcore_uio_stats a, b;
	char ones[512];

	part = "others run";
	CHECK(!pipe(stall), "%d", errno);
	vcore_uio_get_stats(&a);
	for (unsigned int i = 0; i < nr; i++)
		u[i] = vcore_uthread_create(stall_reader, NULL);
	while (READ_ONCE(sleepers_in) < nr)
		usleep(1000);
	/*
	 * Every reader is in its read: had one blocked its vcore, no vcore
	 * would be left for the spinners.
	 */
	for (unsigned int i = 0; i < 4; i++)
		u[nr + i] = vcore_uthread_create(spinner, NULL);
	for (unsigned int i = 0; i < 4; i++)
		vcore_uthread_join(u[nr + i], NULL);
	vcore_uio_get_stats(&b);
	printf("others run: %u readers waiting, %lu spins meanwhile, %lu waits\n",
	       nr, READ_ONCE(spins), b.waits - a.waits);
	CHECK(READ_ONCE(spins) == 4 * 2000, "spins %lu", spins);
	memset(ones, '1', sizeof(ones));
	CHECK(write(stall[1], ones, nr) == (ssize_t)nr, "%d", errno);
	for (unsigned int i = 0; i < nr; i++)
		vcore_uthread_join(u[i], NULL);
	vcore_uth_close(stall[0]);
	vcore_uth_close(stall[1]);
	free(u);
}

/* ---- No vcore thread sleeps in the kernel on these paths ---------------- */

/*
 * Uthreads that do every kind of call at once, started together once all
 * of them exist and stopped before anyone exits, with every fd and buffer
 * made beforehand: between the two looks at kernel_blocks nothing but the
 * calls under test runs on the vcores.
 */
#define QP		8	/* pipe pairs, socket pairs */
#define QROUNDS		200
#define QFILES		4
#define QBYTES		(16 * 1024)
#define NR_QUIET	(4 * QP + QFILES + 3)

static int qpipe[QP][2][2], qsock[QP][2], qpoll[2], qlisten, qconn;
static struct sockaddr_in qaddr;
static unsigned char qbuf[QFILES][2][QBYTES];
static char qpath[QFILES][64];
static unsigned int q_ready, q_go, q_done, q_leave;

static void quiet_pipe(unsigned int i, bool ping)
{
	unsigned char m[64];

	for (unsigned int r = 0; r < QROUNDS; r++) {
		memset(m, (int)(r & 0xff), sizeof(m));
		if (ping) {
			CHECK(write_all(qpipe[i][0][1], m, sizeof(m)) == sizeof(m),
			      "write %d", errno);
			CHECK(read_all(qpipe[i][1][0], m, sizeof(m)) == sizeof(m) &&
			      m[63] == (unsigned char)r, "read %d", errno);
		} else {
			CHECK(read_all(qpipe[i][0][0], m, sizeof(m)) == sizeof(m),
			      "read %d", errno);
			CHECK(write_all(qpipe[i][1][1], m, sizeof(m)) == sizeof(m),
			      "write %d", errno);
		}
	}
}

static void quiet_sock(unsigned int i, bool ping)
{
	int fd = qsock[i][ping ? 0 : 1];
	unsigned int v = 0;

	for (unsigned int r = 0; r < QROUNDS; r++) {
		if (ping) {
			CHECK(vcore_uth_send(fd, &r, sizeof(r), 0) == sizeof(r),
			      "send %d", errno);
			CHECK(vcore_uth_recv(fd, &v, sizeof(v), MSG_WAITALL) ==
			      sizeof(v) && v == r, "recv %d", errno);
		} else {
			CHECK(vcore_uth_recv(fd, &v, sizeof(v), MSG_WAITALL) ==
			      sizeof(v), "recv %d", errno);
			CHECK(vcore_uth_send(fd, &v, sizeof(v), 0) == sizeof(v),
			      "send %d", errno);
		}
	}
}

static void quiet_file(unsigned int i)
{
	struct statx stx;
	int fd;

	for (size_t k = 0; k < QBYTES; k++)
		qbuf[i][0][k] = pattern(i, k);
	fd = vcore_uth_openat(AT_FDCWD, qpath[i], O_RDWR | O_CREAT | O_TRUNC,
			      0600);
	CHECK(fd >= 0, "openat %d", errno);
	if (fd < 0)
		return;
	for (int r = 0; r < 20; r++) {
		CHECK(vcore_uth_pwrite(fd, qbuf[i][0], QBYTES, 0) == QBYTES,
		      "pwrite %d", errno);
		CHECK(!vcore_uth_fsync(fd), "fsync %d", errno);
		CHECK(vcore_uth_pread(fd, qbuf[i][1], QBYTES, 0) == QBYTES &&
		      !memcmp(qbuf[i][0], qbuf[i][1], QBYTES), "pread %d", errno);
	}
	CHECK(!vcore_uth_statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &stx) &&
	      stx.stx_size == QBYTES, "statx %d", errno);
	CHECK(!vcore_uth_close(fd), "close %d", errno);
}

static void quiet_tcp(bool acceptor)
{
	unsigned int v = 7;

	if (acceptor) {
		int c = vcore_uth_accept4(qlisten, NULL, NULL, 0);

		CHECK(c >= 0, "accept %d", errno);
		CHECK(vcore_uth_recv(c, &v, sizeof(v), MSG_WAITALL) == sizeof(v),
		      "recv %d", errno);
		CHECK(vcore_uth_send(c, &v, sizeof(v), 0) == sizeof(v),
		      "send %d", errno);
		CHECK(!vcore_uth_close(c), "close %d", errno);
	} else {
		CHECK(!vcore_uth_connect(qconn, (struct sockaddr *)&qaddr,
					 sizeof(qaddr)), "connect %d", errno);
		CHECK(vcore_uth_send(qconn, &v, sizeof(v), 0) == sizeof(v),
		      "send %d", errno);
		CHECK(vcore_uth_recv(qconn, &v, sizeof(v), MSG_WAITALL) ==
		      sizeof(v) && v == 7, "recv %d", errno);
	}
}

static void quiet_poll(void)
{
	struct pollfd p = { .fd = qpoll[0], .events = POLLIN };

	for (int r = 0; r < 3; r++)
		CHECK(vcore_uth_poll(&p, 1, 20) == 0, "poll %d", errno);
}

static void *quiet_worker(void *arg)
{
	unsigned int i = (uintptr_t)arg;

	fetch_add(&q_ready, 1);
	while (!READ_ONCE(q_go))
		vcore_uthread_yield();
	if (i < 2 * QP)
		quiet_pipe(i / 2, i % 2);
	else if (i < 4 * QP)
		quiet_sock((i - 2 * QP) / 2, i % 2);
	else if (i < 4 * QP + QFILES)
		quiet_file(i - 4 * QP);
	else if (i < 4 * QP + QFILES + 2)
		quiet_tcp(i % 2);
	else
		quiet_poll();
	fetch_add(&q_done, 1);
	while (!READ_ONCE(q_leave))
		vcore_uthread_yield();
	return NULL;
}

/* A line in the kernel's trace, to find a kernel block's vcore_blocked. */
static void trace_mark(const char *what)
{
	int fd = open("/sys/kernel/tracing/trace_marker", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, what, strlen(what)) < 0)
			errno = 0;
		close(fd);
	}
}

static __u64 kernel_blocks(void)
{
	struct vcore_stats st;

	ioctl(dev.fd, VCORE_IOC_GET_STATS, &st);
	return st.kernel_blocks;
}

static void test_no_kernel_blocks(void)
{
	struct uthread *u[NR_QUIET];
	__u64 kb0, kb1;

	part = "kernel blocks";
	for (int i = 0; i < QP; i++) {
		CHECK(!pipe(qpipe[i][0]) && !pipe(qpipe[i][1]), "%d", errno);
		CHECK(!socketpair(AF_UNIX, SOCK_STREAM, 0, qsock[i]), "%d", errno);
	}
	for (int i = 0; i < QFILES; i++)
		snprintf(qpath[i], sizeof(qpath[i]), "/tmp/vm_uio.q.%d.%d",
			 getpid(), i);
	CHECK(!pipe(qpoll), "%d", errno);
	qlisten = listen_on_loopback();
	qaddr = laddr;
	qconn = socket(AF_INET, SOCK_STREAM, 0);
	for (unsigned int i = 0; i < NR_QUIET; i++)
		u[i] = vcore_uthread_create(quiet_worker, (void *)(uintptr_t)i);
	while (READ_ONCE(q_ready) < NR_QUIET)
		usleep(1000);
	kb0 = kernel_blocks();
	trace_mark("quiet start");
	WRITE_ONCE(q_go, 1);
	while (READ_ONCE(q_done) < NR_QUIET)
		usleep(1000);
	kb1 = kernel_blocks();
	trace_mark("quiet end");
	WRITE_ONCE(q_leave, 1);
	for (unsigned int i = 0; i < NR_QUIET; i++)
		vcore_uthread_join(u[i], NULL);
	printf("kernel blocks: %u uthreads on every call, %llu vcore threads "
	       "asleep in the kernel meanwhile\n", NR_QUIET,
	       (unsigned long long)(kb1 - kb0));
	CHECK(kb1 == kb0, "%llu kernel blocks", (unsigned long long)(kb1 - kb0));
	for (int i = 0; i < QP; i++)
		for (int k = 0; k < 2; k++) {
			vcore_uth_close(qpipe[i][k][0]);
			vcore_uth_close(qpipe[i][k][1]);
			vcore_uth_close(qsock[i][k]);
		}
	for (int i = 0; i < QFILES; i++)
		unlink(qpath[i]);
	vcore_uth_close(qpoll[0]);
	vcore_uth_close(qpoll[1]);
	vcore_uth_close(qconn);
	vcore_uth_close(qlisten);
}

/* ---- Again, while vcores are preempted (test=1) ------------------------- */

static unsigned int storm;
static unsigned long preempts;

static void *preempter(void *arg)
{
	unsigned int v = 0, n = vcore_max_vcores();

	(void)arg;
	while (READ_ONCE(storm)) {
		struct vcore_preempt p = { .target_fd = dev.fd, .vcoreid = v };

		if (!ioctl(dev.fd, VCORE_IOC_PREEMPT, &p))
			fetch_add(&preempts, 1);
		usleep(2000);
		vcore_request_more(0);
		v = (v + 1) % n;
		usleep(500);
	}
	return NULL;
}

static void test_under_preemption(void)
{
	struct vcore_preempt p = { .target_fd = dev.fd, .vcoreid = 0 };
	struct uthread_stats us;
	pthread_t t;

	if (ioctl(dev.fd, VCORE_IOC_PREEMPT, &p) && errno == ENOTTY) {
		printf("preemptions: no VCORE_IOC_PREEMPT (test=1), not run\n");
		return;
	}
	part = "preemptions";
	printf("preemptions: pipes, socket pairs and files again\n");
	vcore_request_more(0);
	WRITE_ONCE(storm, 1);
	pthread_create(&t, NULL, preempter, NULL);
	test_pipes();
	test_pairs();
	test_files();
	WRITE_ONCE(storm, 0);
	pthread_join(t, NULL);
	vcore_uthread_get_stats(&us);
	printf("preemptions: %lu during pipes, socket pairs and files; "
	       "%lu uthreads stolen, %lu CHANGE_VCORE so far\n",
	       READ_ONCE(preempts), us.steals, us.changes);
}

/* ---- main --------------------------------------------------------------- */

/* No part takes this long, even in TCG on a loaded host. */
#define PART_LIMIT_S	300

static const char *watched_part;
static unsigned int part_secs;

static void dump_stuck(void)
{
	struct vcore_uio_stats s;
	struct uthread_stats us;

	vcore_uio_get_stats(&s);
	vcore_uthread_get_stats(&us);
	printf("stuck in part %s: uio %lu taps, %lu waits, %lu fires, "
	       "%lu/%lu ring submits/completions; uthreads %lu created, "
	       "%lu exited, %lu stolen\n", part, s.taps, s.waits, s.fires,
	       s.uring_submits, s.uring_completions, us.created, us.exited,
	       us.steals);
	for (unsigned int v = 0; v < vcore_max_vcores(); v++) {
		struct vcore_preempt_data *p = vcore_vcpd_of(v);

		printf("vc%u: mapped %d flags %#x notif_disabled %u "
		       "notif_pending %u\n", v, vcore_is_mapped(v), p->flags,
		       p->notif_disabled, p->notif_pending);
	}
	printf("procinfo: state %u num_vcores %u\nRESULT STUCK\n",
	       dev.kprocinfo->state, dev.kprocinfo->num_vcores);
	fflush(stdout);
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		sleep(1);
		if (READ_ONCE(part) != watched_part) {
			watched_part = READ_ONCE(part);
			part_secs = 0;
		} else if (++part_secs == PART_LIMIT_S) {
			dump_stuck();
			_exit(2);
		}
	}
}

/* ---- vcore_uio_fini(), and vcore_uio_init() again ----------------------- */

static int fini_pipe[2];
static const char *fini_path;

/* Wait in a read on the pipe until main writes its byte. */
static void *fini_reader(void *arg)
{
	ssize_t n;
	char c;

	(void)arg;
	n = vcore_uth_read(fini_pipe[0], &c, 1);
	CHECK(n == 1, "read %zd errno %d", n, errno);
	return NULL;
}

/* Main (not a uthread) waits for a reader to wait, and lets it go. */
static void reader_round(void)
{
	struct vcore_uio_stats a, b;
	struct uthread *u;
	char c = 'x';
	int err;

	vcore_uio_get_stats(&a);
	u = vcore_uthread_create(fini_reader, NULL);
	CHECK(u, "uthread_create %d", errno);
	if (!u)
		return;
	/* waits counts a wait once its waiter is linked on the fd */
	do {
		sched_yield();
		vcore_uio_get_stats(&b);
	} while (b.waits == a.waits);
	err = vcore_uio_fini();
	CHECK(err == -EBUSY, "fini with a uthread waiting: %d", err);
	CHECK(write(fini_pipe[1], &c, 1) == 1, "write %d", errno);
	vcore_uthread_join(u, NULL);
}

static void *fini_after(void *arg)
{
	ssize_t n;
	char c;

	(void)arg;
	n = vcore_uth_read(fini_pipe[0], &c, 1);
	CHECK(n == -1 && errno == ENXIO, "read after fini: %zd errno %d", n,
	      errno);
	n = vcore_uth_pread(fini_pipe[0], &c, 1, 0);
	CHECK(n == -1 && errno == ENXIO, "pread after fini: %zd errno %d", n,
	      errno);
	return NULL;
}

/* A file written and read back through the ring, after the new init. */
static void *fini_file(void *arg)
{
	char out[64], in[64];
	ssize_t n;
	int fd;

	(void)arg;
	memset(out, 'f', sizeof(out));
	fd = vcore_uth_openat(AT_FDCWD, fini_path, O_RDWR | O_CREAT | O_TRUNC,
			      0600);
	CHECK(fd >= 0, "openat %d", errno);
	if (fd < 0)
		return NULL;
	n = vcore_uth_pwrite(fd, out, sizeof(out), 0);
	CHECK(n == (ssize_t)sizeof(out), "pwrite %zd %d", n, errno);
	n = vcore_uth_pread(fd, in, sizeof(in), 0);
	CHECK(n == (ssize_t)sizeof(in) && !memcmp(in, out, sizeof(in)),
	      "pread %zd %d", n, errno);
	CHECK(!vcore_uth_close(fd), "close %d", errno);
	return NULL;
}

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_fini(void)
{
	unsigned int rings = vcore_max_vcores(), fds0, fds1;
	struct event_queue *q;
	char path[64];
	int err;

	part = "fini";
	snprintf(path, sizeof(path), "/tmp/vm_uio.fini.%d", getpid());
	fini_path = path;
	CHECK(!pipe2(fini_pipe, O_CLOEXEC), "pipe %d", errno);
	reader_round();
	fds0 = open_fds();
	err = vcore_uio_fini();
	CHECK(!err, "fini: %d", err);
	fds1 = open_fds();
	/* each ring had its ring fd and its eventfd */
	CHECK(fds0 == fds1 + 2 * rings, "fds %u before fini, %u after, %u rings",
	      fds0, fds1, rings);
	err = vcore_uio_fini();
	CHECK(!err, "fini again: %d", err);
	/* the pipe's tap is gone: another ev_q may tap it */
	q = vcore_get_eventq_vcpd(0, 0);
	CHECK(q, "ev_q %d", errno);
	if (q) {
		err = vcore_tap_fd(&dev, fini_pipe[0], VCORE_TAP_READABLE, q, 0,
				   0, 0);
		CHECK(!err, "tap after fini: %d", err);
		if (!err)
			vcore_untap_fd(&dev, fini_pipe[0]);
		vcore_put_eventq(q);
	}
	run_all(fini_after, NULL, 1);
	err = vcore_uio_init(&dev);
	CHECK(!err, "init again: %d", err);
	CHECK(open_fds() == fds0, "fds %u after init again, %u before fini",
	      open_fds(), fds0);
	reader_round();
	run_all(fini_file, NULL, 1);
	unlink(path);
	close(fini_pipe[0]);
	close(fini_pipe[1]);
	printf("fini: refused while a uthread waits; %u rings and the taps down, ENXIO; up again\n",
	       rings);
}

static int get_stats(struct vcore_stats *st)
{
	return ioctl(dev.fd, VCORE_IOC_GET_STATS, st);
}

int main(int argc, char **argv)
{
	unsigned int conns = argc > 1 ? (unsigned int)atoi(argv[1]) : 1000;
	struct vcore_stats s0, s1;
	struct rlimit rl;
	pthread_t wd;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* two fds a connection, and room */
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 2 * conns + 512;
	if (rl.rlim_max < rl.rlim_cur)
		rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		printf("setrlimit: %s\n", strerror(errno));
	err = vcore_dev_open(&dev);
	if (!err)
		err = vcore_arena_setup(&dev, 16 << 20);
	if (!err)
		err = vcore_uthread_lib_init(&dev);
	if (!err)
		err = vcore_uio_init(&dev);
	if (err) {
		printf("setup: %s\nRESULT %s\n", strerror(-err),
		       err == -ENOSYS || err == -EPERM ? "SKIP: no io_uring" :
							 "FAIL");
		return err == -ENOSYS || err == -EPERM ? 0 : 1;
	}
	pthread_create(&wd, NULL, watchdog, NULL);
	printf("pcores %u, max_vcores %u\n", dev.api.nr_pcores,
	       dev.api.max_vcores);
	get_stats(&s0);
	test_no_kernel_blocks();
	test_pipes();
	test_pairs();
	test_poll();
	test_errnos();
	test_others_run();
	test_files();
	test_tcp(conns);
	test_fini();
	if (argc > 2 && !strcmp(argv[2], "preempt"))
		test_under_preemption();
	get_stats(&s1);
	part = "kernel";
	printf("kernel: %llu tap fires\n",
	       (unsigned long long)(s1.tap_fires - s0.tap_fires));
	CHECK(s1.tap_fires > s0.tap_fires, "no tap fired");
	printf("RESULT %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
