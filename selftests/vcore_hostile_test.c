// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile process.  While kernel producers (the test ioctls) and another
 * process (NOTIFY by pid) send it events, each hostile child scribbles
 * random values over every byte it shares with the kernel (procdata with
 * the VCPDs, the arena with its ev_qs, UCQ, CEQ and bitmap mailboxes),
 * calls every ioctl number of the vcore magic with random arguments,
 * sizes and pointers, maps, unmaps, mprotects and mremaps the regions at
 * random, forks, attaches vcores that yield, notify, change_vcore,
 * preempt and now and then exit their thread, and exits (or is killed) at
 * a random point.
 *
 * Meanwhile a bystander MCP receives kernel-produced messages and
 * notifications, and must get every one of them, in order.  Afterwards the
 * live counts in debugfs return to where they were.  The kernel log is
 * checked by the VM runner, the module's unload by vcore_module_test,
 * leaks by kmemleak on the debug kernel.
 *
 * VCORE_HOSTILE_SEED=N replays a run (each child i uses seed + i);
 * VCORE_HOSTILE_ITERS=N sets the number of hostile children (default 300,
 * divided by half of VCORE_TEST_TIME_SCALE, which also stretches each
 * child's random lifetime of 40 to 200 ms).  Needs root and vcore.ko test=1.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/vcore_test.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"

#define PAGE		4096UL
#define NR_IOC		0x48		/* ioctl numbers tried: 0 .. NR_IOC-1 */
#define MAX_ACTIONS	400
#define STACK_SZ	(32 * 1024)
#define BYST_MAGIC	0xb157a7d0U

/* xorshift64*: per thread, deterministic from the seed */
static __thread __u64 rs;

static __u64 rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545F4914F6CDD1DULL;
}

static __u64 below(__u64 n)
{
	return n ? rnd() % n : 0;
}

static void seed_rnd(__u64 s)
{
	rs = s * 0x9E3779B97F4A7C15ULL + 1;
	rnd();
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* ---- an MCP, its arena pages and a single-consumer UCQ reader ---- */

struct mcp {
	int fd;
	struct vcore_api api;
	struct vcore_procinfo *pi;
	char *pd;
	char *arena;
	__u64 arena_size;
};

static struct vcore_preempt_data *vcpd(struct mcp *m, unsigned int v)
{
	return (void *)(m->pd + m->api.vcpd_offset + (size_t)v * m->api.vcpd_size);
}

static int mcp_open(struct mcp *m, __u64 arena_size)
{
	struct vt_mcp r;
	int ret = vt_mcp_open(&r, arena_size);

	m->fd = r.fd;
	m->api = r.api;
	m->pi = r.pi;
	m->pd = r.pd;
	m->arena = r.arena;
	m->arena_size = arena_size;
	return ret;
}

static void *pages(struct mcp *m, unsigned int n)
{
	return vt_arena_pages(m->fd, n);
}

static int ucq_mbox_init(struct mcp *m, struct event_mbox *mb)
{
	memset(mb, 0, sizeof(*mb));
	mb->type = EV_MBOX_UCQ;
	return vt_ucq_init(m->fd, &mb->ucq);
}

static struct event_queue *evq_new(struct mcp *m, __u32 flags,
				   struct event_mbox *mb)
{
	struct event_queue *q = pages(m, 1);

	if (q) {
		q->ev_mbox = (uintptr_t)mb;
		q->ev_flags = flags;
	}
	return q;
}

/* ---- the bystander ---- */

struct byst {
	struct mcp m;
	struct event_mbox *prod_mb, *ipi_mb;
	volatile int stop;
	unsigned long got, bad, ipis, magic_ipis, odd_ipis, rounds;
	__u32 next[4];
};

static void byst_drain(struct byst *b)
{
	struct event_msg msg;

	while (vt_ucq_get(b->m.fd, &b->prod_mb->ucq, &msg, NULL)) {
		b->got++;
		if (msg.ev_type != 20 || msg.ev_arg2 >= 4 ||
		    msg.ev_arg4 != b->next[msg.ev_arg2]++)
			b->bad++;
	}
	while (vt_ucq_get(b->m.fd, &b->ipi_mb->ucq, &msg, NULL)) {
		b->ipis++;
		if (msg.ev_type != EV_USER_IPI)
			b->odd_ipis++;
		else if (msg.ev_arg2 == BYST_MAGIC)
			b->magic_ipis++;
	}
}

static void *byst_consume(void *arg)
{
	struct byst *b = arg;

	while (!b->stop)
		byst_drain(b);
	byst_drain(b);
	return NULL;
}

/* Until the consumer has every message sent so far (or 60 s x scale). */
static int wait_got(struct byst *b)
{
	unsigned int i;

	for (i = 0; i < 60000 * vt_time_scale(); i++) {
		if (__atomic_load_n(&b->got, __ATOMIC_SEQ_CST) >= b->rounds * 2000)
			return 1;
		usleep(1000);
	}
	return 0;
}

/*
 * Rounds of 2 x 1000 kernel-produced messages until the parent closes the
 * pipe; then reports what it got.
 */
static void bystander(int stop_rd, int res_wr)
{
	static struct byst b;
	struct event_queue *q;
	unsigned long res[6];
	pthread_t t;
	char c;
	int i;

	if (mcp_open(&b.m, 1 << 20))
		_exit(10);
	b.prod_mb = pages(&b.m, 1);
	b.ipi_mb = pages(&b.m, 1);
	if (!b.prod_mb || !b.ipi_mb || ucq_mbox_init(&b.m, b.prod_mb) ||
	    ucq_mbox_init(&b.m, b.ipi_mb))
		_exit(11);
	q = evq_new(&b.m, 0, b.ipi_mb);
	if (!q)
		_exit(12);
	((struct vcore_procdata *)b.m.pd)->kernel_evts[EV_USER_IPI] =
		(uintptr_t)q;
	q = evq_new(&b.m, 0, b.prod_mb);
	if (!q || pthread_create(&t, NULL, byst_consume, &b))
		_exit(13);
	if (write(res_wr, "r", 1) != 1)
		_exit(14);
	fcntl(stop_rd, F_SETFL, O_NONBLOCK);
	while (read(stop_rd, &c, 1) < 0 && errno == EAGAIN) {
		struct vcore_test_produce p = {
			.ev_q = (uintptr_t)q, .nr_producers = 2,
			.nr_msgs = 1000, .ev_type = 20,
			.mode = b.rounds % 2 ? VCORE_TEST_PRODUCE_HRTIMER :
					       VCORE_TEST_PRODUCE_KTHREAD,
		};

		/* each round restarts the producers' sequence numbers */
		if (!wait_got(&b))
			break;
		for (i = 0; i < 4; i++)
			b.next[i] = 0;
		if (vt_ioctl(b.m.fd, VCORE_IOC_TEST_PRODUCE, &p))
			_exit(15);
		b.rounds++;
		usleep(5000);
	}
	wait_got(&b);
	b.stop = 1;
	pthread_join(t, NULL);
	res[0] = b.rounds;
	res[1] = b.got;
	res[2] = b.bad;
	res[3] = b.ipis;
	res[4] = b.magic_ipis;
	res[5] = b.odd_ipis;
	if (write(res_wr, res, sizeof(res)) != sizeof(res))
		_exit(16);
	_exit(0);
}

/* ---- the hostile child ---- */

/* What the children got done, in memory the parent shares with them. */
static struct hcount {
	unsigned long ready, actions, entries;
} *hc;

#define HC_INC(f)	__atomic_fetch_add(&hc->f, 1, __ATOMIC_RELAXED)

static struct {
	struct mcp m;
	__u64 seed;
	int may_arrange;		/* no vcores: TEST_ARRANGE is fair game */
	int peer;
	struct event_queue *evq[4];
	struct { char *addr; size_t len; } maps[16];
	unsigned int nmaps;
	volatile int produce_stop;
} h;

/* Addresses worth trying: in the regions, near them, and nowhere. */
static __u64 rnd_addr(void)
{
	switch (below(8)) {
	case 0: return (uintptr_t)h.m.arena + below(h.m.arena_size + PAGE);
	case 1: return (uintptr_t)h.m.arena + below(h.m.arena_size / PAGE) * PAGE;
	case 2: return (uintptr_t)h.m.pd + below(h.m.api.procdata_size + 64);
	case 3: return (uintptr_t)h.m.pi + below(h.m.api.procinfo_size);
	case 4: return (uintptr_t)h.evq[below(4)];
	case 5: return 0xffff888000000000ULL + below(1ULL << 30);
	case 6: return below(2) ? 0 : ~0ULL - below(64);
	default: return rnd();
	}
}

/* Random bytes, or plausible values, over shared memory. */
static void scribble(char *base, size_t size)
{
	size_t off, n, i;

	if (!size)
		return;
	off = below(size) & ~7UL;
	n = 1 + below(64);
	if (n > size - off)
		n = size - off;
	for (i = 0; i + 8 <= n; i += 8) {
		__u64 v;

		switch (below(4)) {
		case 0: v = rnd(); break;
		case 1: v = rnd_addr(); break;
		case 2: v = below(256); break;
		default: v = rnd_addr() | below(4096); break;
		}
		memcpy(base + off + i, &v, 8);
	}
}

static void scribble_vcpd_fields(void)
{
	struct vcore_preempt_data *d = vcpd(&h.m, below(h.m.api.max_vcores));

	switch (below(6)) {
	case 0: d->flags = rnd(); break;
	case 1: d->notif_disabled = rnd(); d->notif_pending = rnd(); break;
	case 2: scribble((char *)&d->vcore_ctx, sizeof(d->vcore_ctx)); break;
	case 3: scribble((char *)&d->uthread_ctx, sizeof(d->uthread_ctx)); break;
	case 4: scribble((char *)&d->ev_mbox_public, 2 * sizeof(struct event_mbox)); break;
	default: d->vcore_stack = rnd_addr(); break;
	}
}

static char buf[2][8192] __attribute__((aligned(64)));

static int in_rnd_buf(const void *p)
{
	return (const char *)p >= buf[0] && (const char *)p < buf[2];
}

static void *rnd_buf(void)
{
	char *b = buf[below(2)];
	size_t i;

	switch (below(4)) {
	case 0:
		for (i = 0; i < 256; i += 8)
			*(__u64 *)(b + i) = rnd();
		break;
	case 1:			/* mostly zero: passes the reserved checks */
		memset(b, 0, 256);
		for (i = 0; i < 4; i++)
			*(__u64 *)(b + below(4) * 8) = below(2) ? rnd_addr() : below(300);
		break;
	case 2:
		memset(b, 0, 256);
		*(__u64 *)b = rnd_addr();
		*(__u32 *)(b + 24) = below(70000);
		break;
	default:
		return (void *)(uintptr_t)rnd_addr();
	}
	return b;
}

static const unsigned int dirs[] = { _IOC_NONE, _IOC_READ, _IOC_WRITE,
				     _IOC_READ | _IOC_WRITE };

static int exact_cmd(unsigned int nr, unsigned int *cmd)
{
	static const unsigned int cmds[] = {
		VCORE_IOC_API, VCORE_IOC_SETUP, VCORE_IOC_SEND_EVENT,
		VCORE_IOC_SELF_NOTIFY, VCORE_IOC_NOTIFY, VCORE_IOC_GET_STATS,
		VCORE_IOC_ARENA_ALLOC, VCORE_IOC_ARENA_FREE,
		VCORE_IOC_VCORE_ATTACH, VCORE_IOC_POKE, VCORE_IOC_YIELD,
		VCORE_IOC_CHANGE_VCORE, VCORE_IOC_PREEMPT,
		VCORE_IOC_TEST_ARRANGE, VCORE_IOC_TEST_KEVENT,
		VCORE_IOC_TEST_PRODUCE,
	};
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (_IOC_NR(cmds[i]) == nr) {
			*cmd = cmds[i];
			return 1;
		}
	return 0;
}

static void rnd_ioctl(int fd)
{
	unsigned int nr = below(NR_IOC), cmd;
	void *arg = rnd_buf();

	if (!exact_cmd(nr, &cmd) || !below(4))
		cmd = _IOC(dirs[below(4)], VCORE_IOC_MAGIC, nr, below(16384));
	else if (below(2))
		cmd = _IOC(dirs[below(4)], below(4) ? VCORE_IOC_MAGIC : below(256),
			   nr, _IOC_SIZE(cmd));
	/*
	 * A valid ATTACH would make this thread a vcore and end the
	 * scribbling; the vcore threads attach properly instead.  A valid
	 * PRODUCE is bounded so that it ends.  ARRANGE rewrites the vcore
	 * lists without the pcores behind them: only without vcore threads.
	 */
	if (cmd == VCORE_IOC_VCORE_ATTACH && (uintptr_t)arg > 0xffff)
		return;
	if (cmd == VCORE_IOC_TEST_ARRANGE && !h.may_arrange)
		return;
	if (cmd == VCORE_IOC_TEST_PRODUCE && (uintptr_t)arg > 0xffff &&
	    (uintptr_t)arg < (1ULL << 47)) {
		struct vcore_test_produce *p = arg;

		if (!in_rnd_buf(arg))
			return;		/* we could not bound it */
		p->nr_producers = 1 + below(3);
		p->nr_msgs = below(3000);
	}
	ioctl(fd, cmd, arg);
}

static void rnd_mmap(void)
{
	const __u64 bases[] = { h.m.api.procinfo_offset,
				h.m.api.procdata_offset, h.m.api.arena_offset };
	__u64 off = bases[below(3)] + below(4) * PAGE;
	size_t len = (1 + below(h.m.arena_size / PAGE + 2)) * PAGE;
	int prot = below(8), flags = below(4) ? MAP_SHARED : MAP_PRIVATE;
	void *at = NULL;
	char *p;

	if (!below(8))
		off = rnd() & ~(PAGE - 1);
	if (h.nmaps && !below(4)) {
		at = h.maps[below(h.nmaps)].addr;
		flags |= MAP_FIXED;
	}
	p = mmap(at, len, prot, flags, h.m.fd, off);
	if (p != MAP_FAILED && h.nmaps < 16) {
		h.maps[h.nmaps].addr = p;
		h.maps[h.nmaps++].len = len;
	}
}

static void rnd_unmap(void)
{
	unsigned int i = below(h.nmaps);
	size_t off, len;

	/* the first three are the translated mappings: rarely */
	if (!h.nmaps || (i < 3 && below(8)))
		return;
	off = below(h.maps[i].len / PAGE) * PAGE;
	len = (1 + below(h.maps[i].len / PAGE)) * PAGE;
	switch (below(3)) {
	case 0:
		munmap(h.maps[i].addr + off, len);
		break;
	case 1:
		mprotect(h.maps[i].addr + off, len, below(8));
		break;
	default:
		mremap(h.maps[i].addr, h.maps[i].len, len, MREMAP_MAYMOVE);
		break;
	}
}

/* ---- the hostile child's vcores ---- */

void hv_entry_c(unsigned long vcoreid, unsigned long why);
void hv_entry(void);
__asm__(
	".text\n"
	".globl hv_entry\n"
	"hv_entry:\n"
	"	and $-16, %rsp\n"
	"	call hv_entry_c\n"
	"	ud2\n");

void hv_entry_c(unsigned long vcoreid, unsigned long why)
{
	struct vcore_procdata *pd = (void *)h.m.pd;
	struct vcore_preempt_data *d;
	int i;

	if (!rs)
		seed_rnd(h.seed ^ (vcoreid << 20));
	if (vcoreid >= h.m.api.max_vcores)
		abort();
	HC_INC(entries);
	d = vcpd(&h.m, vcoreid);
	for (;;) {
		__atomic_store_n(&d->notif_pending, 0, __ATOMIC_SEQ_CST);
		switch (below(7)) {
		case 0: {
			struct vcore_yield y = { .flags = below(2) };

			__atomic_fetch_sub(&pd->res_req[VCORE_RES_CORES].amt_wanted,
					   1, __ATOMIC_SEQ_CST);
			ioctl(h.m.fd, VCORE_IOC_YIELD, &y);
			break;
		}
		case 1: {
			struct vcore_self_notify s = {
				.vcoreid = below(h.m.api.max_vcores + 1),
				.flags = below(2),
				.msg = { .ev_type = below(60) },
			};

			ioctl(h.m.fd, VCORE_IOC_SELF_NOTIFY, &s);
			break;
		}
		case 2: {
			struct vcore_change c = {
				.vcoreid = below(h.m.api.max_vcores + 1),
				.enable_my_notif = below(2),
			};

			ioctl(h.m.fd, VCORE_IOC_CHANGE_VCORE, &c);
			break;
		}
		case 3: {
			struct vcore_preempt r = {
				.target_fd = below(2) ? h.m.fd : -1,
				.target_pid = getpid(),
				.vcoreid = below(h.m.api.max_vcores),
				.flags = below(4), .warn_ns = below(1000000),
			};

			ioctl(h.m.fd, VCORE_IOC_PREEMPT, &r);
			break;
		}
		case 4:
			__atomic_store_n(&d->notif_disabled, 0, __ATOMIC_SEQ_CST);
			for (i = 0; i < 20000; i++)
				__asm__ volatile("pause");
			__atomic_store_n(&d->notif_disabled, 1, __ATOMIC_SEQ_CST);
			break;
		case 5:
			ioctl(h.m.fd, VCORE_IOC_POKE);
			break;
		default:
			/* now and then this thread alone exits, online */
			if (!below(64))
				syscall(SYS_exit, 0);
			sched_yield();
			break;
		}
	}
}

static void *hv_attach(void *arg)
{
	struct vcore_attach a = { .vcoreid = (uintptr_t)arg };

	ioctl(h.m.fd, VCORE_IOC_VCORE_ATTACH, &a);
	return NULL;
}

static void *hv_produce(void *arg)
{
	seed_rnd(h.seed ^ 0x5555);
	while (!h.produce_stop) {
		struct vcore_test_produce p = {
			.ev_q = below(8) ? (uintptr_t)h.evq[below(4)] : rnd_addr(),
			.nr_producers = 1 + below(4),
			.nr_msgs = below(2000),
			.mode = below(2), .ev_type = below(60),
			.nr_types = below(4),
		};

		ioctl(h.m.fd, VCORE_IOC_TEST_PRODUCE, &p);
	}
	return NULL;
}

/* @peer: the process it notifies (the bystander, or the other child) */
static void hostile(__u64 seed, int peer)
{
	struct vcore_procdata *pd;
	struct event_mbox *mb;
	pthread_t t;
	unsigned int i, v, nv, nactions;

	h.seed = seed;
	h.peer = peer;
	seed_rnd(seed);
	if (mcp_open(&h.m, (1 + below(64)) * PAGE))
		_exit(1);
	pd = (void *)h.m.pd;
	h.maps[0].addr = (char *)h.m.pi;
	h.maps[0].len = h.m.api.procinfo_size;
	h.maps[1].addr = h.m.pd;
	h.maps[1].len = h.m.api.procdata_size;
	h.maps[2].addr = h.m.arena;
	h.maps[2].len = h.m.arena_size;
	h.nmaps = 3;
	/* a UCQ, a bitmap, a CEQ and a VCPD-mbox ev_q, some well-formed */
	for (i = 0; i < 4; i++) {
		mb = pages(&h.m, 1);
		h.evq[i] = evq_new(&h.m, below(EVENT_FLAGS_ALL + 1), i == 3 ? NULL : mb);
		if (!mb || !h.evq[i])
			_exit(2);
		if (i == 0 && ucq_mbox_init(&h.m, mb))
			_exit(3);
		if (i == 1)
			mb->type = EV_MBOX_BITMAP;
		if (i == 2) {
			__s32 *ring = pages(&h.m, 1);

			mb->type = EV_MBOX_CEQ;
			mb->ceq.events = (uintptr_t)pages(&h.m, 1);
			mb->ceq.nr_events = PAGE / sizeof(struct ceq_event);
			mb->ceq.ring = (uintptr_t)ring;
			mb->ceq.ring_sz = 256;
			if (ring)
				memset(ring, 0xff, 1024);
		}
	}
	for (i = 0; i < VCORE_MAX_NR_EVENT; i++)
		pd->kernel_evts[i] = (uintptr_t)h.evq[below(4)];
	for (v = 0; v < h.m.api.max_vcores; v++)
		ucq_mbox_init(&h.m, &vcpd(&h.m, v)->ev_mbox_public);

	if (pthread_create(&t, NULL, hv_produce, NULL))
		_exit(4);
	h.may_arrange = below(3) == 0;
	if (!h.may_arrange) {
		nv = 1 + below(h.m.api.max_vcores);
		for (v = 0; v < nv; v++) {
			char *stack = aligned_alloc(64, STACK_SZ);

			if (!stack)
				_exit(5);
			vcpd(&h.m, v)->vcore_entry = (uintptr_t)hv_entry;
			vcpd(&h.m, v)->vcore_stack = (uintptr_t)(stack + STACK_SZ);
			if (pthread_create(&t, NULL, hv_attach, (void *)(uintptr_t)v))
				_exit(6);
		}
		pd->res_req[VCORE_RES_CORES].amt_wanted = 1 + below(nv);
		ioctl(h.m.fd, VCORE_IOC_POKE);
	}

	HC_INC(ready);
	nactions = below(MAX_ACTIONS);
	for (i = 0; i < nactions; i++) {
		HC_INC(actions);
		switch (below(20)) {
		case 0: case 1:
			scribble(h.m.pd, h.m.api.procdata_size);
			break;
		case 2:
			scribble_vcpd_fields();
			break;
		case 3: case 4:
			scribble(h.m.arena, h.m.arena_size);
			break;
		case 5:
			/* an ev_q's fields, within its page */
			scribble((char *)h.evq[below(4)], 64);
			break;
		case 6: case 7: case 8:
			rnd_ioctl(h.m.fd);
			break;
		case 9:
			rnd_mmap();
			break;
		case 10:
			rnd_unmap();
			break;
		case 11: {
			pid_t c = fork();

			if (c == 0) {
				/* the inherited fd belongs to the parent */
				for (v = 0; v < 8; v++)
					rnd_ioctl(h.m.fd);
				rnd_mmap();
				_exit(0);
			}
			if (c > 0)
				waitpid(c, NULL, 0);
			break;
		}
		case 12: {
			struct vcore_notify n = {
				.target_fd = below(4) ? -1 : (int)below(8),
				.target_pid = below(4) ? h.peer : getpid(),
				.msg = { .ev_type = EV_USER_IPI,
					 .ev_arg2 = rnd(), .ev_arg3 = rnd_addr() },
			};

			ioctl(h.m.fd, VCORE_IOC_NOTIFY, &n);
			break;
		}
		case 13: {
			struct vcore_send_event s = {
				.ev_q = below(2) ? (uintptr_t)h.evq[below(4)] : rnd_addr(),
				.msg = { .ev_type = below(60), .ev_arg3 = rnd_addr() },
				.vcoreid = below(h.m.api.max_vcores + 2),
			};

			ioctl(h.m.fd, VCORE_IOC_SEND_EVENT, &s);
			break;
		}
		case 14:
			pd->res_req[VCORE_RES_CORES].amt_wanted = below(2) ? below(8) : rnd();
			ioctl(h.m.fd, VCORE_IOC_POKE);
			break;
		case 15: {
			struct vcore_test_kevent k = {
				.msg = { .ev_type = below(60), .ev_arg1 = below(70) },
				.vcoreid = below(h.m.api.max_vcores + 2),
				.how = below(3),
			};

			ioctl(h.m.fd, VCORE_IOC_TEST_KEVENT, &k);
			break;
		}
		case 16:
			if (!below(8)) {
				/* the fd goes; the mappings keep the MCP */
				close(h.m.fd);
				h.m.fd = below(2) ? dup(1) : -1;
			}
			break;
		case 17:
			usleep(below(2000));
			break;
		default:
			if (!below(16))
				switch (below(3)) {
				case 0: _exit(0);
				case 1: raise(SIGKILL); break;
				default: raise(SIGSEGV); break;
				}
			break;
		}
	}
	_exit(0);
}

/* ---- the parent ---- */

static volatile pid_t target;
static volatile int sender_stop;
static unsigned long sent_to_byst;
static pid_t byst_pid;

/* Another process notifying the hostile child and the bystander. */
static void *sender(void *arg)
{
	int fd = *(int *)arg;

	while (!sender_stop) {
		struct vcore_notify n = {
			.target_fd = -1, .target_pid = target,
			.msg = { .ev_type = EV_USER_IPI, .ev_arg2 = 7 },
		};

		if (n.target_pid > 0)
			ioctl(fd, VCORE_IOC_NOTIFY, &n);
		n.target_pid = byst_pid;
		n.msg.ev_arg2 = BYST_MAGIC;
		if (!vt_ioctl(fd, VCORE_IOC_NOTIFY, &n))
			sent_to_byst++;
		usleep(500);
	}
	return NULL;
}

#define WAIT_FOR(cond) ({						\
	int __i, __ok = 0;						\
	for (__i = 0; __i < 2000 * (int)vt_time_scale(); __i++) {	\
		if (cond) { __ok = 1; break; }				\
		usleep(10000);						\
	}								\
	__ok; })


/*
 * The children's own crashes are expected: keep the kernel from logging
 * each one (the log scanner would take "general protection fault" in a
 * user process for a kernel report).  Returns the old setting.
 */
static int exception_trace(int on)
{
	const char *path = "/proc/sys/debug/exception-trace";
	char old = '1', c = on ? '1' : '0';
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return 1;
	if (read(fd, &old, 1) != 1 || pwrite(fd, &c, 1, 0) != 1)
		old = '1';
	close(fd);
	return old != '0';
}

static __u64 env_u64(const char *name, __u64 dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : dflt;
}

FIXTURE(hostile) {
	int unused;
};

FIXTURE_SETUP(hostile)
{
}

FIXTURE_TEARDOWN(hostile)
{
}

TEST_F_TIMEOUT(hostile, processes_do_not_hurt_the_kernel_or_a_bystander, 900)
{
	unsigned int scale = vt_time_scale();
	__u64 seed = env_u64("VCORE_HOSTILE_SEED", (__u64)time(NULL) ^ getpid());
	unsigned long iters = env_u64("VCORE_HOSTILE_ITERS",
				      300 / (scale > 2 ? scale / 2 : 1));
	unsigned long it, killed = 0, exited = 0, signalled = 0, res[6];
	int stop[2], resp[2], status, fd, trace_was;
	long procs0, bytes0, procs, bytes;
	struct vcore_api api;
	__u64 t0 = now_ms();
	pthread_t st;
	char c;

	if (access(VCORE_DEV, F_OK) || geteuid())
		SKIP(return, "needs the module and root");
	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_handshake(fd, &api));
	if (!(api.features & VCORE_FEAT_TEST))
		SKIP(return, "needs the test build loaded with test=1");
	close(fd);
	TH_LOG("seed %llu, %lu hostile processes (replay: VCORE_HOSTILE_SEED=%llu VCORE_HOSTILE_ITERS=%lu)",
	       (unsigned long long)seed, iters, (unsigned long long)seed, iters);
	hc = mmap(NULL, sizeof(*hc), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hc);
	ASSERT_EQ(0, vt_read_live(&procs0, &bytes0));
	trace_was = exception_trace(0);

	ASSERT_EQ(0, pipe(stop));
	ASSERT_EQ(0, pipe(resp));
	byst_pid = fork();
	ASSERT_LE(0, byst_pid);
	if (!byst_pid) {
		close(stop[1]);
		close(resp[0]);
		bystander(stop[0], resp[1]);
	}
	close(stop[0]);
	close(resp[1]);
	ASSERT_EQ(1, read(resp[0], &c, 1));

	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_handshake(fd, &api));
	ASSERT_EQ(0, pthread_create(&st, NULL, sender, &fd));

	seed_rnd(seed);
	/* two at a time: they share the pcores, preempt and notify each other */
	for (it = 0; it < iters; it += 2) {
		__u64 deadline[2];
		pid_t pid[2];
		int j, left = 2;

		for (j = 0; j < 2; j++) {
			deadline[j] = now_ms() + (40 + below(160)) * scale;
			pid[j] = fork();
			ASSERT_LE(0, pid[j]);
			if (!pid[j])
				hostile(seed + it + j, j ? pid[0] : byst_pid);
		}
		target = pid[0];
		while (left) {
			for (j = 0; j < 2; j++) {
				if (!pid[j])
					continue;
				if (!waitpid(pid[j], &status, WNOHANG)) {
					if (now_ms() < deadline[j])
						continue;
					kill(pid[j], SIGKILL);
					killed++;
					ASSERT_EQ(pid[j], waitpid(pid[j], &status, 0));
				}
				pid[j] = 0;
				left--;
				if (WIFEXITED(status))
					exited++;
				else
					signalled++;
			}
			usleep(2000);
		}
		target = 0;
	}
	exception_trace(trace_was);
	sender_stop = 1;
	pthread_join(st, NULL);
	close(fd);

	close(stop[1]);
	ASSERT_EQ(sizeof(res), read(resp[0], res, sizeof(res)));
	ASSERT_EQ(byst_pid, waitpid(byst_pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	TH_LOG("%lu hostile processes in %llu ms: %lu exited, %lu died of a signal (%lu killed at their deadline)",
	       iters, (unsigned long long)(now_ms() - t0), exited, signalled,
	       killed);
	TH_LOG("%lu set up their MCP, then did %lu hostile actions; %lu entries into vcore context",
	       hc->ready, hc->actions, hc->entries);
	TH_LOG("bystander: %lu rounds, %lu messages, %lu out of order, %lu notifications (%lu from the sender of %lu sent, %lu malformed)",
	       res[0], res[1], res[2], res[3], res[4], sent_to_byst, res[5]);
	EXPECT_LT(0, res[0]);
	EXPECT_EQ(res[0] * 2000, res[1]);
	EXPECT_EQ(0, res[2]);
	EXPECT_EQ(sent_to_byst, res[4]);
	EXPECT_EQ(0, res[5]);
	EXPECT_TRUE(WAIT_FOR(!vt_read_live(&procs, &bytes) &&
			     procs == procs0 && bytes == bytes0));
	TH_LOG("live: %ld procs %ld bytes (before: %ld, %ld)", procs, bytes,
	       procs0, bytes0);
}

TEST_HARNESS_MAIN
