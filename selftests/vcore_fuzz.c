// SPDX-License-Identifier: GPL-2.0
/*
 * A concurrent fuzzer for /dev/vcore.
 *
 * A supervisor keeps several worker processes alive for a while.  Each
 * worker opens the device, maps its regions, builds ev_qs of every kind in
 * its arena and runs several threads at once:
 *
 *  - vcore threads that ATTACH and, in vcore context, yield, change_vcore,
 *    send, notify, preempt their own and their siblings' vcores, and spin
 *    with notifications enabled so that IPIs redirect them;
 *  - ioctl threads that issue every command (the test-only ones too when
 *    the module has them; alarms on a few ids, set, modified and
 *    cancelled, global and per-vcore; fd taps on real pipes, sockets,
 *    eventfds, a timerfd and a signalfd that the same threads then make
 *    fire), unknown numbers and wrong sizes and directions,
 *    with mostly valid arguments mutated a fraction of the time: ev_q
 *    addresses inside the arena and just outside it, vcore ids in and out
 *    of range, own, sibling and init pids, own and stolen fds (pidfd_getfd),
 *    reserved fields set, extreme 64-bit values;
 *  - a chaos thread that scribbles procdata and the arena while events
 *    flow, closes and dup2()s over the device fd mid-call, munmaps,
 *    mremaps and mprotects the regions, forks children that use the
 *    inherited fd (some after exec), and kill -9s sibling workers.
 *
 * Half the workers drop to an unprivileged uid first (when started as
 * root).  Workers live a random while and exit, or are killed; the
 * supervisor respawns them until the time is up.  Then it kills what is
 * left and checks, printing TAP: every fuzzer process is gone, debugfs
 * shows no live MCP, region bytes or fd taps, the module unloads and loads
 * again (with VCORE_KO), a fresh process still gets its event, and the
 * calls were meaningful (a fair share got past validation; the table of
 * per-command calls and successes is printed).  Kernel reports and
 * kmemleak are the VM runner's to check.
 *
 * vcore_fuzz [-s SEED] [-d SECONDS] [-p PROCS] [-t THREADS]
 *
 * The seed picks every worker's and thread's random stream; the
 * interleaving is the machine's, so a seed reproduces the mix, not the
 * exact run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vcore.h>
#include <linux/vcore_test.h>

#include "vcore_test_util.h"

#define MAX_PROCS	16
#define MAX_THREADS	16
#define NR_EVQS		8
#define NR_TAP_FDS	9
#define ARENA_SIZE	(256 << 10)
#define STACK_SIZE	(64 << 10)
#define UNPRIV_UID	65534

/* What the ioctl threads issue, and what else is counted. */
enum cmd {
	C_API, C_SETUP, C_SEND_EVENT, C_SELF_NOTIFY, C_NOTIFY, C_GET_STATS,
	C_ARENA_ALLOC, C_ARENA_FREE, C_ATTACH, C_POKE, C_YIELD, C_CHANGE,
	C_PREEMPT, C_SET_NODE, C_ALARM_SET, C_ALARM_CANCEL, C_TAP,
	C_T_ARRANGE, C_T_KEVENT, C_T_PRODUCE, C_T_IPI,
	C_UNKNOWN, C_BAD_SIZE, C_NR_IOCTLS,
	/* counted, not ioctls */
	C_ENTRY_START = C_NR_IOCTLS, C_ENTRY_NOTIFY, C_ENTRY_RESUME,
	C_SCRIBBLE, C_MUNMAP, C_MREMAP, C_MPROTECT, C_DUP2, C_REOPEN, C_FORK,
	C_EXEC, C_KILL_SIBLING, C_STEAL_FD, C_SPAWN, C_WORKER_KILLED,
	C_WORKER_CRASHED, C_WORKER_FAILED, C_UNPRIV, C_NR
};

static const char *const cmd_names[C_NR] = {
	"API", "SETUP", "SEND_EVENT", "SELF_NOTIFY", "NOTIFY", "GET_STATS",
	"ARENA_ALLOC", "ARENA_FREE", "VCORE_ATTACH", "POKE", "YIELD",
	"CHANGE_VCORE", "PREEMPT", "SET_NODE", "ALARM_SET", "ALARM_CANCEL",
	"TAP", "TEST_ARRANGE", "TEST_KEVENT",
	"TEST_PRODUCE", "TEST_IPI", "unknown number", "wrong size/direction",
	"entry: start", "entry: notify", "entry: resume", "scribble", "munmap",
	"mremap", "mprotect", "dup2 over the fd", "close, then open again", "fork",
	"exec", "kill -9 a sibling", "pidfd_getfd", "worker spawned",
	"worker killed (SIGKILL)", "worker died of another signal",
	"worker could not set up", "unprivileged worker",
};

/* Shared by every fuzzer process (MAP_SHARED anonymous). */
static const int errnos[] = {
	EINVAL, EPERM, EFAULT, ENOTTY, EBADFD, ESRCH, EBUSY, EAGAIN, ENOMEM,
	ENXIO, EBADF, EEXIST, ENOSPC, EINTR, ENOENT,
};

#define NR_ERRNOS	(sizeof(errnos) / sizeof(errnos[0]))

struct shared {
	unsigned long calls[C_NR];
	unsigned long ok[C_NR];
	unsigned long err[C_NR_IOCTLS][NR_ERRNOS + 1];	/* last: others */
	pid_t workers[MAX_PROCS];	/* 0 = free slot */
	int worker_fd[MAX_PROCS];	/* each worker's device fd number */
	volatile int stop;
};

static struct shared *sh;

static void count(enum cmd c, bool ok)
{
	__atomic_fetch_add(&sh->calls[c], 1, __ATOMIC_RELAXED);
	if (ok)
		__atomic_fetch_add(&sh->ok[c], 1, __ATOMIC_RELAXED);
}

/* xorshift64*: one stream per worker thread */
struct rng {
	uint64_t s;
};

static uint64_t rnd64(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static uint32_t rnd(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd64(r) >> 32) % n : 0;
}

static bool one_in(struct rng *r, uint32_t n)
{
	return rnd(r, n) == 0;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL);

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ULL;
	return (x ^ x >> 29) | 1;
}

static uint64_t extreme(struct rng *r)
{
	static const uint64_t v[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x10000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, ~0ULL - 1,
		VCORE_MAX_VCORES, VCORE_MAX_VCORES - 1, VCORE_MAX_NR_EVENT,
		4096, 4095, 4097, 1ULL << 40, 0xffff888000000000ULL,
		VCORE_PREEMPT_WARN_MAX_NS, VCORE_PREEMPT_WARN_MAX_NS + 1,
	};

	return one_in(r, 4) ? rnd64(r) : v[rnd(r, sizeof(v) / sizeof(v[0]))];
}

/* ------------------------------------------------------------------ */
/* a worker's state                                                   */
/* ------------------------------------------------------------------ */

static struct {
	int slot;
	uint64_t seed;
	volatile int fd;
	struct vt_mcp m;
	uint64_t arena_base;
	uint64_t evqs[NR_EVQS];		/* user addresses of the ev_qs */
	bool root;
	bool test_cmds;
	unsigned int max_vcores;
	char *self_exe;
	/*
	 * fds to tap: pipe and socketpair ends, an eventfd, a periodic
	 * timerfd, a signalfd, a file without poll; -1 where one failed
	 */
	int tap_fds[NR_TAP_FDS];
} w;

static __thread struct rng tr;

/*
 * Held for writing while the chaos thread leaves the device fd's number
 * free (closed, about to be reopened): no other thread may take that
 * number for a pidfd or a stolen fd meanwhile.  ioctls on the device fd
 * do not take it: closing the fd under them is the point.
 */
static pthread_rwlock_t fd_numbers = PTHREAD_RWLOCK_INITIALIZER;

static struct vcore_preempt_data *vcpd(unsigned int v)
{
	return (void *)((char *)w.m.pd + w.m.api.vcpd_offset +
			(size_t)v * w.m.api.vcpd_size);
}

static void count_errno(enum cmd c, int e)
{
	unsigned int i;

	for (i = 0; i < NR_ERRNOS && errnos[i] != e; i++)
		;
	__atomic_fetch_add(&sh->err[c][i], 1, __ATOMIC_RELAXED);
}

static int xioctl(enum cmd c, unsigned long nr, void *arg)
{
	int ret = ioctl(w.fd, nr, arg), e = errno;

	count(c, ret >= 0);
	if (ret < 0)
		count_errno(c, e);
	return ret < 0 ? -e : ret;
}

/*
 * YIELD and CHANGE_VCORE succeed by not returning: the vcore goes offline,
 * and its thread comes back through the entry when it is granted again
 * (if it ever is before the worker ends).  Counted as a success unless the
 * call returns.
 */
static __thread int in_flight = -1;

static void vcore_ctx_ioctl(enum cmd c, unsigned long nr, void *arg)
{
	int ret, e;

	count(c, true);
	in_flight = c;
	ret = ioctl(w.fd, nr, arg);
	e = errno;
	in_flight = -1;
	if (ret < 0) {
		__atomic_fetch_sub(&sh->ok[c], 1, __ATOMIC_RELAXED);
		count_errno(c, e);
	}
}

static pid_t sibling_pid(struct rng *r)
{
	pid_t p = sh->workers[rnd(r, MAX_PROCS)];

	return p ? p : getpid();
}

static int32_t some_pid(struct rng *r)
{
	switch (rnd(r, 6)) {
	case 0:
		return 1;
	case 1:
		return (int32_t)extreme(r);
	case 2:
	case 3:
		return sibling_pid(r);
	default:
		return getpid();
	}
}

/* An fd for VCORE_IOC_TAP: usually one of the worker's real ones. */
static int some_tap_fd(struct rng *r)
{
	switch (rnd(r, 16)) {
	case 0:
		return w.fd;
	case 1:
		return (int32_t)extreme(r);
	case 2:
		return 1000 + rnd(r, 8);	/* most likely closed */
	default:
		return w.tap_fds[rnd(r, NR_TAP_FDS)];
	}
}

/* Make a tapped fd fire, or drain it: a write and a read somewhere. */
static void poke_tap_fds(struct rng *r)
{
	uint64_t one = 1;
	char buf[64];

	if (write(w.tap_fds[rnd(r, NR_TAP_FDS)], &one, sizeof(one)) < 0)
		errno = 0;
	if (read(w.tap_fds[rnd(r, NR_TAP_FDS)], buf, sizeof(buf)) < 0)
		errno = 0;
}

/* A vcore id, usually in range. */
static uint32_t some_vcore(struct rng *r)
{
	if (one_in(r, 8))
		return (uint32_t)extreme(r);
	return rnd(r, w.max_vcores + 1);
}

/* An ev_q address: usually a real one, sometimes one just off it. */
static uint64_t some_evq(struct rng *r)
{
	uint64_t end = w.arena_base + ARENA_SIZE;

	switch (rnd(r, 16)) {
	case 0:
		return w.arena_base - 8;
	case 1:
		return end - 8;
	case 2:
		return end;
	case 3:
		return (uint64_t)(uintptr_t)w.m.pd;
	case 4:
		return (uint64_t)(uintptr_t)&vcpd(rnd(r, w.max_vcores + 1))->ev_mbox_public;
	case 5:
		return extreme(r);
	case 6:
		return w.evqs[rnd(r, NR_EVQS)] + 1 + rnd(r, 64);
	default:
		return w.evqs[rnd(r, NR_EVQS)];
	}
}

static void some_msg(struct rng *r, struct event_msg *m)
{
	m->ev_type = one_in(r, 8) ? (uint16_t)extreme(r) :
				    rnd(r, VCORE_MAX_NR_EVENT);
	m->ev_arg1 = rnd64(r);
	m->ev_arg2 = rnd64(r);
	m->ev_arg3 = one_in(r, 2) ? some_evq(r) : rnd64(r);
	m->ev_arg4 = rnd64(r);
}

/* An fd to name a target by: ours, a stolen one, junk. */
static int some_target_fd(struct rng *r)
{
	switch (rnd(r, 8)) {
	case 0:
		return (int)extreme(r);
	case 1:
	case 2: {
		pid_t p = sibling_pid(r);
		int pfd, fd;

		pfd = syscall(SYS_pidfd_open, p, 0);
		if (pfd < 0)
			return -1;
		fd = syscall(SYS_pidfd_getfd, pfd,
			     sh->worker_fd[rnd(r, MAX_PROCS)], 0);
		count(C_STEAL_FD, fd >= 0);
		close(pfd);
		return fd;	/* the caller closes it */
	}
	case 3:
		return w.fd;
	default:
		return -1;
	}
}

/* Overwrite a few 8-byte words of @p (of @size bytes) with extremes. */
static void mutate(struct rng *r, void *p, size_t size)
{
	unsigned int i, n = 1 + rnd(r, 3);

	for (i = 0; i < n && size >= 8; i++) {
		size_t off = rnd(r, size / 8) * 8;
		uint64_t v = extreme(r);

		memcpy((char *)p + off, &v, 8);
	}
}

/* ------------------------------------------------------------------ */
/* vcore context                                                      */
/* ------------------------------------------------------------------ */

void fz_entry_c(unsigned long vcoreid, unsigned long why);

/* The kernel starts vcore context here with rsp = vcore_stack. */
void fz_entry(void);
__asm__(
	".text\n"
	".globl fz_entry\n"
	"fz_entry:\n"
	"	and $-16, %rsp\n"
	"	call fz_entry_c\n"
	"	ud2\n");

static void set_wanted(uint64_t n)
{
	struct vcore_procdata *pd = w.m.pd;

	__atomic_store_n(&pd->res_req[VCORE_RES_CORES].amt_wanted, n,
			 __ATOMIC_SEQ_CST);
}

void fz_entry_c(unsigned long vcoreid, unsigned long why)
{
	struct vcore_preempt_data *d;
	unsigned int n;

	if (why <= VCORE_ENTRY_RESUME)
		count(C_ENTRY_START + why, true);
	if (in_flight < 0 && why == VCORE_ENTRY_START)
		count(C_ATTACH, true);
	in_flight = -1;
	if (!tr.s)
		tr.s = mix(w.seed, 1000 + vcoreid);
	if (vcoreid >= w.max_vcores)
		_exit(3);
	d = vcpd(vcoreid);
	for (n = 0;; n++) {
		struct rng *r = &tr;

		__atomic_store_n(&d->notif_pending, 0, __ATOMIC_SEQ_CST);
		switch (rnd(r, 10)) {
		case 0: {
			struct vcore_yield y = {
				.flags = one_in(r, 3) ? VCORE_YIELD_BEING_NICE : 0,
			};

			set_wanted(rnd(r, w.max_vcores));
			/* refused while a notification is pending */
			__atomic_store_n(&d->notif_pending, 0, __ATOMIC_SEQ_CST);
			vcore_ctx_ioctl(C_YIELD, VCORE_IOC_YIELD, &y);
			break;
		}
		case 1: {
			struct vcore_change c = {
				.vcoreid = some_vcore(r),
				.enable_my_notif = rnd(r, 2),
			};

			vcore_ctx_ioctl(C_CHANGE, VCORE_IOC_CHANGE_VCORE, &c);
			break;
		}
		case 2: {
			struct vcore_send_event s = { .ev_q = some_evq(r) };

			some_msg(r, &s.msg);
			s.vcoreid = some_vcore(r);
			xioctl(C_SEND_EVENT, VCORE_IOC_SEND_EVENT, &s);
			break;
		}
		case 3: {
			struct vcore_self_notify s = {
				.vcoreid = some_vcore(r),
				.flags = rnd(r, 2) ? VCORE_SELF_NOTIFY_PRIVATE : 0,
			};

			some_msg(r, &s.msg);
			xioctl(C_SELF_NOTIFY, VCORE_IOC_SELF_NOTIFY, &s);
			break;
		}
		case 4: {
			struct vcore_preempt p = {
				.target_fd = -1,
				.target_pid = one_in(r, 2) ? getpid() :
							     sibling_pid(r),
				.vcoreid = some_vcore(r),
				.flags = rnd(r, 4),
				.warn_ns = one_in(r, 4) ? extreme(r) :
							  rnd(r, 1000000),
			};

			xioctl(C_PREEMPT, VCORE_IOC_PREEMPT, &p);
			break;
		}
		case 5:
			set_wanted(1 + rnd(r, w.max_vcores));
			xioctl(C_POKE, VCORE_IOC_POKE, NULL);
			break;
		case 6:
			if (one_in(r, 256))
				pthread_exit(NULL);	/* the vcore detaches */
			/* fall through */
		default: {
			unsigned int i, spins = 1 + rnd(r, 20000);

			/* notifications on: an IPI lands us back at the entry */
			__atomic_store_n(&d->notif_disabled, 0, __ATOMIC_SEQ_CST);
			for (i = 0; i < spins && !sh->stop; i++)
				__builtin_ia32_pause();
			__atomic_store_n(&d->notif_disabled, 1, __ATOMIC_SEQ_CST);
			if (i % 64 == 0)
				sched_yield();
			break;
		}
		}
	}
}

static void *vcore_thread(void *arg)
{
	struct vcore_attach a = { .vcoreid = (uintptr_t)arg };
	int ret;

	tr.s = mix(w.seed, 100 + (uintptr_t)arg);
	if (one_in(&tr, 8))
		mutate(&tr, &a, sizeof(a));
	/* returns only on failure */
	ret = ioctl(w.fd, VCORE_IOC_VCORE_ATTACH, &a);
	if (ret)
		count(C_ATTACH, false);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* the ioctl threads                                                  */
/* ------------------------------------------------------------------ */

static void random_ioctl(struct rng *r)
{
	union {
		struct vcore_api api;
		struct vcore_setup setup;
		struct vcore_send_event send;
		struct vcore_self_notify self;
		struct vcore_notify notify;
		struct vcore_stats stats;
		struct vcore_arena_alloc alloc;
		struct vcore_preempt preempt;
		struct vcore_node_req node;
		struct vcore_alarm alarm;
		struct vcore_alarm_cancel alarm_cancel;
		struct vcore_tap_req tap;
		struct vcore_change change;
		struct vcore_yield yield;
		struct vcore_test_arrange arrange;
		struct vcore_test_kevent kevent;
		struct vcore_test_produce produce;
		struct vcore_test_ipi ipi;
		char raw[1024];
	} u;
	enum cmd c = rnd(r, C_NR_IOCTLS);
	unsigned long nr = 0;
	size_t size = 0;
	bool locked = false;
	int tfd = -1, i;

	memset(&u, 0, sizeof(u));
	/* once per fd, or refused by design: a quarter as often as the rest */
	if ((c == C_API || c == C_SETUP || c == C_UNKNOWN ||
	     c == C_BAD_SIZE || c == C_ATTACH) && !one_in(r, 4))
		c = rnd(r, 2) ? C_SEND_EVENT : C_SELF_NOTIFY;
	if (!w.test_cmds && c >= C_T_ARRANGE && c <= C_T_IPI && !one_in(r, 8))
		c = C_SEND_EVENT;
	switch (c) {
	case C_API:
		u.api.api = one_in(r, 2) ? VCORE_API_VERSION : extreme(r);
		nr = VCORE_IOC_API, size = sizeof(u.api);
		break;
	case C_SETUP:
		u.setup.arena_size = one_in(r, 2) ? 4096 * (1 + rnd(r, 64)) :
						    extreme(r);
		nr = VCORE_IOC_SETUP, size = sizeof(u.setup);
		break;
	case C_SEND_EVENT:
		u.send.ev_q = some_evq(r);
		some_msg(r, &u.send.msg);
		u.send.vcoreid = some_vcore(r);
		nr = VCORE_IOC_SEND_EVENT, size = sizeof(u.send);
		break;
	case C_SELF_NOTIFY:
		u.self.vcoreid = some_vcore(r);
		u.self.flags = rnd(r, 2);
		some_msg(r, &u.self.msg);
		nr = VCORE_IOC_SELF_NOTIFY, size = sizeof(u.self);
		break;
	case C_NOTIFY:
		pthread_rwlock_rdlock(&fd_numbers);
		locked = true;
		tfd = some_target_fd(r);
		u.notify.target_fd = tfd;
		u.notify.target_pid = tfd >= 0 ? 0 : some_pid(r);
		some_msg(r, &u.notify.msg);
		if (!one_in(r, 8))
			u.notify.msg.ev_type = EV_USER_IPI;
		nr = VCORE_IOC_NOTIFY, size = sizeof(u.notify);
		break;
	case C_GET_STATS:
		nr = VCORE_IOC_GET_STATS, size = sizeof(u.stats);
		break;
	case C_ARENA_ALLOC:
		u.alloc.nr_pages = one_in(r, 8) ? extreme(r) : 1 + rnd(r, 4);
		if (one_in(r, 4)) {
			u.alloc.flags = VCORE_ARENA_NODE;
			u.alloc.node = rnd(r, 3) - 1;
		}
		nr = VCORE_IOC_ARENA_ALLOC, size = sizeof(u.alloc);
		break;
	case C_ARENA_FREE:
		u.alloc.addr = one_in(r, 2) ? w.arena_base + 4096 * rnd(r, 80) :
					      some_evq(r);
		u.alloc.nr_pages = 1 + rnd(r, 3);
		nr = VCORE_IOC_ARENA_FREE, size = sizeof(u.alloc);
		break;
	case C_ATTACH: {
		/* out of range only: a valid attach would park this thread */
		struct vcore_attach *a = (void *)u.raw;

		a->vcoreid = w.max_vcores + (one_in(r, 2) ? rnd(r, 4) :
							    (uint32_t)extreme(r));
		if (a->vcoreid < w.max_vcores)
			a->vcoreid = ~0U;
		a->flags = one_in(r, 4) ? rnd64(r) : 0;
		nr = VCORE_IOC_VCORE_ATTACH;
		break;
	}
	case C_POKE:
		set_wanted(one_in(r, 8) ? extreme(r) : rnd(r, w.max_vcores + 1));
		nr = VCORE_IOC_POKE, size = 0;
		break;
	case C_YIELD:
		u.yield.flags = rnd(r, 2);
		nr = VCORE_IOC_YIELD, size = sizeof(u.yield);
		break;
	case C_CHANGE:
		u.change.vcoreid = some_vcore(r);
		nr = VCORE_IOC_CHANGE_VCORE, size = sizeof(u.change);
		break;
	case C_PREEMPT:
		pthread_rwlock_rdlock(&fd_numbers);
		locked = true;
		tfd = one_in(r, 4) ? some_target_fd(r) : -1;
		u.preempt.target_fd = tfd;
		u.preempt.target_pid = tfd >= 0 ? 0 : some_pid(r);
		u.preempt.vcoreid = some_vcore(r);
		u.preempt.flags = rnd(r, 4);
		u.preempt.warn_ns = one_in(r, 2) ? extreme(r) : rnd(r, 1 << 30);
		nr = VCORE_IOC_PREEMPT, size = sizeof(u.preempt);
		break;
	case C_SET_NODE:
		u.node.node = (int32_t)rnd(r, 4) - 1;
		u.node.flags = rnd(r, 2);
		nr = VCORE_IOC_SET_NODE, size = sizeof(u.node);
		break;
	case C_ALARM_SET: {
		struct timespec ts;

		/* ids from a small set, so that SETs modify and CANCELs hit */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		u.alarm.ev_q = some_evq(r);
		u.alarm.id = rnd(r, 16);
		u.alarm.deadline_ns = one_in(r, 8) ? extreme(r) :
				      ts.tv_sec * 1000000000ULL + ts.tv_nsec +
				      rnd(r, 5000000);
		if (one_in(r, 2))
			u.alarm.period_ns = one_in(r, 8) ? extreme(r) :
					    VCORE_ALARM_MIN_PERIOD_NS +
					    rnd(r, 2000000);
		u.alarm.flags = rnd(r, 4);
		u.alarm.vcoreid = some_vcore(r);
		nr = VCORE_IOC_ALARM_SET, size = sizeof(u.alarm);
		break;
	}
	case C_ALARM_CANCEL:
		u.alarm_cancel.id = rnd(r, 16);
		nr = VCORE_IOC_ALARM_CANCEL, size = sizeof(u.alarm_cancel);
		break;
	case C_TAP:
		u.tap.fd = some_tap_fd(r);
		u.tap.cmd = one_in(r, 16) ? rnd(r, 6) : 1 + rnd(r, 3);
		if (u.tap.cmd != VCORE_TAP_REMOVE || one_in(r, 8)) {
			u.tap.filter = one_in(r, 16) ? rnd64(r) : rnd(r, 16);
			u.tap.flags = one_in(r, 16) ? rnd64(r) : rnd(r, 2);
			u.tap.ev_q = some_evq(r);
			u.tap.data = rnd64(r);
			u.tap.ev_id = one_in(r, 16) ? rnd64(r) :
				      rnd(r, VCORE_MAX_NR_EVENT + 8);
		}
		nr = VCORE_IOC_TAP, size = sizeof(u.tap);
		break;
	case C_T_ARRANGE:
		u.arrange.state = 1 + rnd(r, 5);
		for (i = 0; i < VCORE_MAX_VCORES; i++) {
			u.arrange.list_of[i] = rnd(r, 4);
			u.arrange.order[i] = rnd(r, w.max_vcores + 1);
		}
		nr = VCORE_IOC_TEST_ARRANGE, size = sizeof(u.arrange);
		break;
	case C_T_KEVENT:
		some_msg(r, &u.kevent.msg);
		u.kevent.vcoreid = some_vcore(r);
		u.kevent.how = rnd(r, 3);
		if (u.kevent.how == VCORE_TEST_POSIX_SIGNAL)
			u.kevent.msg.ev_arg1 = SIGURG;	/* ignored by default */
		nr = VCORE_IOC_TEST_KEVENT, size = sizeof(u.kevent);
		break;
	case C_T_PRODUCE:
		u.produce.ev_q = some_evq(r);
		u.produce.nr_producers = 1 + rnd(r, 3);
		u.produce.nr_msgs = one_in(r, 16) ? 100000 : rnd(r, 200);
		u.produce.mode = rnd(r, 3);
		u.produce.ev_type = rnd(r, VCORE_MAX_NR_EVENT);
		u.produce.nr_types = rnd(r, 4);
		nr = VCORE_IOC_TEST_PRODUCE, size = sizeof(u.produce);
		break;
	case C_T_IPI:
		u.ipi.cpu = rnd(r, 6);
		nr = VCORE_IOC_TEST_IPI, size = sizeof(u.ipi);
		break;
	case C_UNKNOWN:
		nr = _IOC(rnd(r, 4), one_in(r, 4) ? rnd(r, 256) : VCORE_IOC_MAGIC,
			  rnd(r, 256), rnd(r, sizeof(u.raw)));
		break;
	case C_BAD_SIZE: {
		static const unsigned long nrs[] = {
			VCORE_IOC_API, VCORE_IOC_SETUP, VCORE_IOC_SEND_EVENT,
			VCORE_IOC_NOTIFY, VCORE_IOC_PREEMPT, VCORE_IOC_GET_STATS,
			VCORE_IOC_ARENA_ALLOC, VCORE_IOC_SET_NODE,
			VCORE_IOC_ALARM_SET, VCORE_IOC_ALARM_CANCEL,
			VCORE_IOC_TAP,
			VCORE_IOC_TEST_PRODUCE,
		};
		unsigned long n = nrs[rnd(r, sizeof(nrs) / sizeof(nrs[0]))];

		nr = _IOC(one_in(r, 2) ? _IOC_DIR(n) : rnd(r, 4), _IOC_TYPE(n),
			  _IOC_NR(n), _IOC_SIZE(n) + (int)rnd(r, 17) - 8);
		if (nr == n)
			nr = _IOC(_IOC_DIR(n), _IOC_TYPE(n), _IOC_NR(n),
				  _IOC_SIZE(n) + 8);
		break;
	}
	default:
		return;
	}
	if (size && one_in(r, 4))
		mutate(r, &u, size);
	if (one_in(r, 64))
		xioctl(c, nr, (void *)(uintptr_t)extreme(r));
	else
		xioctl(c, nr, &u);
	if (c == C_TAP)
		poke_tap_fds(r);
	if (tfd >= 0 && tfd != w.fd)
		close(tfd);
	if (locked)
		pthread_rwlock_unlock(&fd_numbers);
}

static void *ioctl_thread(void *arg)
{
	tr.s = mix(w.seed, 200 + (uintptr_t)arg);
	while (!sh->stop)
		random_ioctl(&tr);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* chaos                                                              */
/* ------------------------------------------------------------------ */

static void scribble(struct rng *r)
{
	char *base;
	size_t size, off;

	switch (rnd(r, 3)) {
	case 0:		/* an ev_q or its mbox */
		base = (char *)(uintptr_t)w.evqs[rnd(r, NR_EVQS)];
		size = sizeof(struct event_queue_big);
		break;
	case 1:		/* a VCPD's mailboxes and flags, never its entry */
		base = (char *)&vcpd(rnd(r, w.max_vcores))->flags;
		size = (char *)(vcpd(0) + 1) - (char *)&vcpd(0)->flags;
		break;
	default:	/* anywhere in the arena */
		base = w.m.arena;
		size = ARENA_SIZE;
		break;
	}
	off = rnd(r, size / 8) * 8;
	__atomic_store_n((uint64_t *)(base + off), extreme(r), __ATOMIC_RELAXED);
	count(C_SCRIBBLE, true);
}

static void child_play(int fd, uint64_t seed)
{
	struct rng r = { mix(seed, 7) };
	struct vcore_send_event s = { 0 };
	struct vcore_stats st;
	int i;

	for (i = 0; i < 32; i++) {
		s.ev_q = rnd64(&r);
		ioctl(fd, VCORE_IOC_SEND_EVENT, &s);
		ioctl(fd, VCORE_IOC_GET_STATS, &st);
		ioctl(fd, VCORE_IOC_POKE);
	}
}

static void chaos(struct rng *r)
{
	switch (rnd(r, 24)) {
	case 0: {	/* a region goes away and comes back */
		int ret = munmap(w.m.arena, ARENA_SIZE);

		count(C_MUNMAP, !ret);
		usleep(rnd(r, 2000));
		if (mmap(w.m.arena, ARENA_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, w.fd, w.m.api.arena_offset) ==
		    MAP_FAILED)
			mmap(w.m.arena, ARENA_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		break;
	}
	case 1: {
		void *p = mremap(w.m.arena, ARENA_SIZE, ARENA_SIZE * 2,
				 MREMAP_MAYMOVE);

		/* the full arena refuses; a copy made by a failed remap moves */
		count(C_MREMAP, p != MAP_FAILED);
		if (p != MAP_FAILED)
			mremap(p, ARENA_SIZE * 2, ARENA_SIZE,
			       MREMAP_MAYMOVE | MREMAP_FIXED, w.m.arena);
		break;
	}
	case 2: {
		int ret = mprotect(w.m.arena, ARENA_SIZE, PROT_READ);

		count(C_MPROTECT, !ret);
		usleep(rnd(r, 200));
		mprotect(w.m.arena, ARENA_SIZE, PROT_READ | PROT_WRITE);
		break;
	}
	case 3: {	/* the fd now names something else, mid-call */
		int other = open("/dev/null", O_RDWR | O_CLOEXEC), fd = w.fd;
		int saved = dup(fd);

		count(C_DUP2, other >= 0 && dup2(other, fd) == fd);
		if (saved >= 0) {
			dup2(saved, fd);
			close(saved);
		}
		if (other >= 0)
			close(other);
		break;
	}
	case 4: {	/* the device fd closed under the others */
		int old = w.fd, saved = dup(old), fd;
		struct vcore_api api;

		if (saved < 0)
			break;
		pthread_rwlock_wrlock(&fd_numbers);
		close(old);
		if (!one_in(r, 8)) {
			/* closed for a moment, mid-call, then the same file */
			fd = vt_open();	/* a second MCP: EBUSY while one lives */
			count(C_REOPEN, fd >= 0);
			if (fd >= 0)
				close(fd);
			dup2(saved, old);
			close(saved);
			pthread_rwlock_unlock(&fd_numbers);
			break;
		}
		/* closed for good: a new MCP if the old one is gone, or the end */
		close(saved);
		fd = vt_open();
		count(C_REOPEN, fd >= 0);
		if (fd < 0 || vt_handshake(fd, &api))
			_exit(0);
		if (fd != old) {
			dup2(fd, old);
			close(fd);
		}
		pthread_rwlock_unlock(&fd_numbers);
		break;
	}
	case 5:
	case 6: {	/* a child with the inherited fd, maybe after exec */
		bool ex = one_in(r, 2);
		pid_t pid = fork();

		if (pid == 0) {
			char fdstr[16], seedstr[32];

			if (ex) {
				fcntl(w.fd, F_SETFD, 0);
				snprintf(fdstr, sizeof(fdstr), "%d", w.fd);
				snprintf(seedstr, sizeof(seedstr), "%llu",
					 (unsigned long long)w.seed);
				execl(w.self_exe, w.self_exe, "--child", fdstr,
				      seedstr, (char *)NULL);
				_exit(1);
			}
			child_play(w.fd, w.seed);
			_exit(0);
		}
		count(ex ? C_EXEC : C_FORK, pid > 0);
		if (pid > 0 && one_in(r, 2))
			kill(pid, SIGKILL);
		while (pid > 0 && waitpid(-1, NULL, WNOHANG) > 0)
			;
		break;
	}
	case 7:
		if (one_in(r, 4)) {
			pid_t p = sh->workers[rnd(r, MAX_PROCS)];

			if (p && p != getpid())
				count(C_KILL_SIBLING, !kill(p, SIGKILL));
		}
		break;
	default:
		scribble(r);
		break;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* ------------------------------------------------------------------ */
/* a worker                                                           */
/* ------------------------------------------------------------------ */

/* The ev_qs: one per mailbox kind and flag mix, in the arena's first page. */
static int build_evqs(struct rng *r)
{
	struct event_queue_big *q = vt_arena_pages(w.fd, 1);
	char *pg = vt_arena_pages(w.fd, 1);
	int i;

	if (!q || !pg)
		return -1;
	for (i = 0; i < NR_EVQS; i++) {
		struct event_mbox *mb = &q[i].ev_imbox;

		q[i].ev_q.ev_flags = rnd(r, EVENT_FLAGS_ALL + 1);
		if (one_in(r, 2))
			q[i].ev_q.ev_flags |= EVENT_IPI;
		q[i].ev_q.ev_vcore = rnd(r, w.max_vcores);
		switch (i % 4) {
		case 0:
			mb->type = EV_MBOX_UCQ;
			if (vt_ucq_init(w.fd, &mb->ucq))
				return -1;
			break;
		case 1:
			mb->type = EV_MBOX_BITMAP;
			break;
		case 2:
			mb->type = EV_MBOX_CEQ;
			mb->ceq.events = (uintptr_t)pg;
			mb->ceq.nr_events = VCORE_MAX_NR_EVENT;
			mb->ceq.ring = (uintptr_t)(pg + 2048);
			mb->ceq.ring_sz = 64;
			mb->ceq.operation = CEQ_OR + rnd(r, 2);
			break;
		default:
			break;	/* the VCPD mailboxes */
		}
		if (i % 4 != 3)
			q[i].ev_q.ev_mbox = (uintptr_t)mb;
		w.evqs[i] = (uintptr_t)&q[i];
	}
	return 0;
}

static void open_tap_fds(void)
{
	struct itimerspec its = { .it_interval = { .tv_nsec = 1000000 },
				  .it_value = { .tv_nsec = 1000000 } };
	int *f = w.tap_fds, i;
	sigset_t set;

	for (i = 0; i < NR_TAP_FDS; i++)
		f[i] = -1;
	if (pipe2(f, O_NONBLOCK | O_CLOEXEC))
		f[0] = f[1] = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       f + 2))
		f[2] = f[3] = -1;
	f[4] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f[5] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (f[5] >= 0)
		timerfd_settime(f[5], 0, &its, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGURG);
	f[6] = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	f[7] = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	f[8] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC | EFD_SEMAPHORE);
}

static int worker_setup(struct rng *r)
{
	struct vcore_procdata *pd;
	unsigned int v;

	if (vt_mcp_open(&w.m, ARENA_SIZE))
		return -1;
	w.fd = w.m.fd;
	sh->worker_fd[w.slot] = w.fd;
	w.arena_base = (uintptr_t)w.m.arena;
	w.max_vcores = w.m.api.max_vcores;
	w.test_cmds = w.m.api.features & VCORE_FEAT_TEST;
	open_tap_fds();
	if (build_evqs(r))
		return -1;
	pd = w.m.pd;
	for (v = EV_PREEMPT_PENDING; v <= EV_POSIX_SIGNAL; v++)
		if (!one_in(r, 4))
			pd->kernel_evts[v] = w.evqs[rnd(r, NR_EVQS)];
	for (v = 0; v < w.max_vcores; v++) {
		char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (stack == MAP_FAILED)
			return -1;
		vcpd(v)->vcore_entry = (uintptr_t)fz_entry;
		vcpd(v)->vcore_stack = (uintptr_t)(stack + STACK_SIZE);
	}
	return 0;
}

static void drop_privileges(void)
{
	if (setgroups(0, NULL) || setresgid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID) ||
	    setresuid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID))
		_exit(4);
	prctl(PR_SET_DUMPABLE, 1);	/* so that siblings may steal our fds */
	count(C_UNPRIV, true);
}

static void worker(int slot, uint64_t seed, unsigned int nr_threads,
		   bool unpriv)
{
	struct rng r = { mix(seed, 1) };
	pthread_attr_t attr;
	unsigned int i, nr_vcore_threads;
	long lifetime_ms;
	pthread_t t;

	w.slot = slot;
	w.seed = seed;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unpriv)
		drop_privileges();
	w.root = geteuid() == 0;
	if (worker_setup(&r))
		_exit(2);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	nr_vcore_threads = nr_threads / 2;
	if (nr_vcore_threads > w.max_vcores)
		nr_vcore_threads = w.max_vcores;
	for (i = 0; i < nr_vcore_threads; i++)
		pthread_create(&t, &attr, vcore_thread,
			       (void *)(uintptr_t)(one_in(&r, 8) ?
						   rnd(&r, w.max_vcores + 2) : i));
	for (; i + 1 < nr_threads; i++)
		pthread_create(&t, &attr, ioctl_thread, (void *)(uintptr_t)i);
	set_wanted(1 + rnd(&r, w.max_vcores));
	xioctl(C_POKE, VCORE_IOC_POKE, NULL);
	lifetime_ms = 200 + rnd(&r, 3000);
	for (i = 0; i < lifetime_ms && !sh->stop; i += 4) {
		chaos(&r);
		usleep(4000);
	}
	/* exit_group with everything in flight */
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* the supervisor and its checks                                      */
/* ------------------------------------------------------------------ */

static int tap_nr;
static int tap_failed;

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++tap_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	tap_failed += !ok;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void count_exit(int st)
{
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		count(C_WORKER_KILLED, true);
	else if (WIFSIGNALED(st))
		count(C_WORKER_CRASHED, true);
	else if (WEXITSTATUS(st))
		count(C_WORKER_FAILED, true);
}

/* Reap every descendant (we are their subreaper); false on a timeout. */
static bool reap_all(double timeout)
{
	double end = now() + timeout;
	int st;

	for (;;) {
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p < 0 && errno == ECHILD)
			return true;
		if (p > 0)
			continue;
		if (now() > end)
			return false;
		usleep(10000);
	}
}

static bool live_is_zero(double timeout, long *procs, long *bytes)
{
	double end = now() + timeout;

	do {
		if (!vt_read_live(procs, bytes) && !*procs && !*bytes &&
		    !vt_read_live_taps())
			return true;
		usleep(20000);
	} while (now() < end);
	return false;
}

static int module_unload(void)
{
	return syscall(SYS_delete_module, "vcore", O_NONBLOCK) ? -errno : 0;
}

static int module_load(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* A fresh process sends itself an event through a UCQ and reads it. */
static bool trivial_event(void)
{
	struct vcore_send_event s = { 0 };
	struct event_queue_big *q;
	struct event_msg got;
	struct vt_mcp m;
	bool ok = false;
	int i;

	if (vt_mcp_open(&m, 1 << 20))
		goto out;
	q = vt_arena_pages(m.fd, 1);
	if (!q || vt_ucq_init(m.fd, &q->ev_imbox.ucq))
		goto out;
	q->ev_imbox.type = EV_MBOX_UCQ;
	q->ev_q.ev_mbox = (uintptr_t)&q->ev_imbox;
	s.ev_q = (uintptr_t)q;
	s.msg.ev_type = EV_USER_IPI;
	s.msg.ev_arg4 = 0xfeedf00d;
	if (vt_ioctl(m.fd, VCORE_IOC_SEND_EVENT, &s))
		goto out;
	for (i = 0; i < 1000 && !ok; i++)
		ok = vt_ucq_get(m.fd, &q->ev_imbox.ucq, &got, NULL) == 1 &&
		     got.ev_type == EV_USER_IPI && got.ev_arg4 == 0xfeedf00d;
out:
	if (m.fd >= 0)
		close(m.fd);
	return ok;
}

static void print_table(void)
{
	unsigned long calls = 0, ok = 0;
	int c;

	printf("# %-26s %10s %10s  %s\n", "command", "calls", "succeeded",
	       "most frequent errors");
	for (c = 0; c < C_NR; c++) {
		char errs[96] = "";
		size_t n = 0;
		unsigned int i, j;

		if (c < C_NR_IOCTLS) {
			calls += sh->calls[c];
			ok += sh->ok[c];
			for (j = 0; j < 3; j++) {
				unsigned long best = 0;
				unsigned int bi = 0;

				for (i = 0; i <= NR_ERRNOS; i++)
					if (sh->err[c][i] > best)
						best = sh->err[c][i], bi = i;
				if (!best)
					break;
				n += snprintf(errs + n, sizeof(errs) - n, "%s%s %lu",
					      j ? ", " : "", bi < NR_ERRNOS ?
					      strerrorname_np(errnos[bi]) : "other",
					      best);
				sh->err[c][bi] = 0;
			}
		}
		printf("# %-26s %10lu %10lu  %s\n", cmd_names[c], sh->calls[c],
		       sh->ok[c], errs);
	}
	printf("# ioctls: %lu calls, %lu succeeded (%.1f%%)\n", calls, ok,
	       calls ? 100.0 * ok / calls : 0.0);
}

static int child_main(int argc, char **argv)
{
	if (argc < 4)
		return 1;
	child_play(atoi(argv[2]), strtoull(argv[3], NULL, 10));
	return 0;
}

static void reset_test_param(char *buf, size_t len)
{
	FILE *f = fopen("/sys/module/vcore/parameters/test", "r");
	char c = 'N';

	if (f) {
		if (fscanf(f, " %c", &c) != 1)
			c = 'N';
		fclose(f);
	}
	snprintf(buf, len, "%s", c == 'Y' ? "test=1" : "");
}

int main(int argc, char **argv)
{
	unsigned long seed = 1, duration = 20, procs = 4, threads = 6;
	unsigned long gen = 0, spawned = 0, calls = 0, ok = 0;
	const char *ko = getenv("VCORE_KO");
	struct rng r;
	double end;
	long lp, lb;
	bool root = geteuid() == 0, live;
	char params[32];
	int opt, i;

	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child_main(argc, argv);
	while ((opt = getopt(argc, argv, "s:d:p:t:")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			duration = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			procs = strtoul(optarg, NULL, 0);
			break;
		case 't':
			threads = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-s SEED] [-d SECONDS] [-p PROCS] [-t THREADS]\n",
				argv[0]);
			return 2;
		}
	}
	if (procs < 1 || procs > MAX_PROCS || threads < 3 ||
	    threads > MAX_THREADS) {
		fprintf(stderr, "vcore_fuzz: 1..%d procs, 3..%d threads\n",
			MAX_PROCS, MAX_THREADS);
		return 2;
	}
	printf("TAP version 13\n1..6\n");
	printf("# vcore_fuzz -s %lu -d %lu -p %lu -t %lu (%s)\n", seed,
	       duration, procs, threads,
	       root ? "root; half the workers unprivileged" : "unprivileged");
	fflush(stdout);
	if (access(VCORE_DEV, F_OK)) {
		for (i = 0; i < 6; i++)
			printf("ok %d # SKIP module not loaded\n", i + 1);
		return 0;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	w.self_exe = realpath("/proc/self/exe", NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	r.s = mix(seed, 0);
	end = now() + duration;
	while (now() < end) {
		for (i = 0; i < (int)procs; i++) {
			pid_t p = sh->workers[i];
			int st;

			if (p && waitpid(p, &st, WNOHANG) == 0)
				continue;
			if (p)
				count_exit(st);
			p = fork();
			if (p == 0)
				worker(i, mix(seed, ++gen * 64 + i), threads,
				       root && (i & 1));
			gen++;
			sh->workers[i] = p > 0 ? p : 0;
			spawned += p > 0;
			count(C_SPAWN, p > 0);
		}
		if (one_in(&r, 100)) {
			pid_t p = sh->workers[rnd(&r, procs)];

			if (p)
				kill(p, SIGKILL);
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;	/* grandchildren handed to us */
		usleep(10000);
	}
	sh->stop = 1;
	for (i = 0; i < (int)procs; i++)
		if (sh->workers[i])
			kill(sh->workers[i], SIGKILL);
	tap(reap_all(60.0 * vt_time_scale()),
	    "every fuzzer process is gone (%lu workers ran)", spawned);
	lp = lb = -1;
	live = live_is_zero(20.0 * vt_time_scale(), &lp, &lb);
	tap(live, "debugfs: no live MCP, region bytes or fd tap (procs %ld, bytes %ld, taps %ld)",
	    lp, lb, vt_read_live_taps());
	if (root && ko) {
		int u, l;

		reset_test_param(params, sizeof(params));
		u = module_unload();
		l = u ? -1 : module_load(ko, params);
		tap(!u && !l, "the module unloads (%d) and loads again (%d)",
		    u, l);
	} else {
		printf("ok %d # SKIP unload and reload need root and VCORE_KO\n",
		       ++tap_nr);
	}
	tap(trivial_event(), "a fresh process still gets its event");
	print_table();
	for (i = 0; i < C_NR_IOCTLS; i++) {
		calls += sh->calls[i];
		ok += sh->ok[i];
	}
	/* mostly-valid arguments: a fuzzer that never gets past the checks
	 * tests nothing but the checks
	 */
	tap(calls && ok * 10 >= calls,
	    "at least 10%% of the ioctls got past validation (%lu of %lu)",
	    ok, calls);
	tap(sh->ok[C_SEND_EVENT] && sh->ok[C_ATTACH] && sh->ok[C_POKE] &&
	    sh->calls[C_ENTRY_NOTIFY] && sh->ok[C_YIELD] &&
	    sh->ok[C_ARENA_ALLOC] && sh->ok[C_ALARM_SET] &&
	    (!root || sh->ok[C_PREEMPT]),
	    "events were sent, alarms set, vcores ran, were notified, yielded%s",
	    root ? " and were preempted" : "");
	return tap_failed ? 1 : 0;
}
