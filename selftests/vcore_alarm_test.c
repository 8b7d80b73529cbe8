// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel alarms (VCORE_IOC_ALARM_SET / _CANCEL): every errno and the
 * per-process cap, expiry order, periodic re-arm, modify, cancel (also
 * while the alarm fires on another CPU, thousands of times), exit with
 * alarms armed on every CPU; and per-vcore alarms that count only the
 * time their vcore is online, while it yields and is preempted, and
 * wall-clock ones that do not.
 *
 * Every expiry goes to a UCQ that this test reads; an event that should
 * never come is counted, never timed.
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

#include "kselftest_harness.h"
#include "vcore_test_util.h"

#define ALARMS_MAX	"/sys/module/vcore/parameters/alarms_max"
#define STACK_SZ	(64 * 1024)
#define MS		1000000ULL

/* Wait up to ~10 s (times vt_time_scale()) for cond. */
#define WAIT_FOR(cond) ({						\
	unsigned int __i, __n = 10000 * vt_time_scale();		\
	for (__i = 0; __i < __n && !(cond); __i++)			\
		usleep(1000);						\
	(cond);								\
})

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int nr_cpus(void)
{
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

static unsigned int read_alarms_max(void)
{
	FILE *f = fopen(ALARMS_MAX, "r");
	unsigned int n = 0;

	if (f) {
		if (fscanf(f, "%u", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

/* An ev_q with its own UCQ in the arena; no IPI, no vcore needed. */
static struct event_queue_big *evq_ucq(int fd)
{
	struct event_queue_big *q = vt_arena_pages(fd, 1);

	if (!q)
		return NULL;
	q->ev_imbox.type = EV_MBOX_UCQ;
	if (vt_ucq_init(fd, &q->ev_imbox.ucq))
		return NULL;
	q->ev_q.ev_mbox = (uintptr_t)&q->ev_imbox;
	return q;
}

static int alarm_set(int fd, __u32 id, struct event_queue_big *q,
		     __u64 deadline, __u64 period, __u32 flags, __u32 vcoreid)
{
	struct vcore_alarm a = {
		.ev_q = (uintptr_t)q, .deadline_ns = deadline,
		.period_ns = period, .id = id, .flags = flags,
		.vcoreid = vcoreid,
	};

	return vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a);
}

static int alarm_cancel(int fd, __u32 id)
{
	struct vcore_alarm_cancel c = { .id = id };

	return vt_ioctl(fd, VCORE_IOC_ALARM_CANCEL, &c);
}

static int next_msg(int fd, struct event_queue_big *q, struct event_msg *m)
{
	return vt_ucq_get(fd, &q->ev_imbox.ucq, m, NULL);
}

/* Wait (bounded, ~10 s times the time scale) for the next message. */
static int wait_msg(int fd, struct event_queue_big *q, struct event_msg *m)
{
	unsigned int i;

	for (i = 0; i < 100000 * vt_time_scale(); i++) {
		if (next_msg(fd, q, m) == 1)
			return 1;
		usleep(100);
	}
	return 0;
}

static int get_stats(int fd, struct vcore_stats *s)
{
	return vt_ioctl(fd, VCORE_IOC_GET_STATS, s);
}

FIXTURE(alarm) {
	struct vt_mcp m;
	struct event_queue_big *q;
};

FIXTURE_SETUP(alarm)
{
	if (access(VCORE_DEV, F_OK))
		SETUP_SKIP("module not loaded");
	ASSERT_EQ(0, vt_mcp_open(&self->m, 4 << 20));
	if (!(self->m.api.ioctls[0] & (1ULL << VCORE_IOC_NR_ALARM_SET)))
		SETUP_SKIP("no alarms in this module");
	self->q = evq_ucq(self->m.fd);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(alarm)
{
	if (self->m.fd >= 0)
		close(self->m.fd);
}

TEST_F(alarm, every_errno)
{
	int fd = self->m.fd;
	struct vcore_alarm a = { .ev_q = (uintptr_t)self->q };
	struct vcore_alarm_cancel c = { 0 };
	struct vcore_stats s0, s1;

	a.deadline_ns = now_ns() + 3600 * 1000 * MS;
	/* flags */
	a.flags = 0x4;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	a.flags = VCORE_ALARM_WALL;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	a.flags = 0;
	/* reserved fields */
	a.resv0 = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	a.resv0 = 0;
	a.resv[2] = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	a.resv[2] = 0;
	/* vcoreid, with and without VCORE_ALARM_VCORE */
	a.vcoreid = self->m.api.max_vcores;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	a.flags = VCORE_ALARM_VCORE;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	a.flags = 0;
	a.vcoreid = 0;
	/* a period too short */
	a.period_ns = VCORE_ALARM_MIN_PERIOD_NS - 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	a.period_ns = 0;
	/* ev_q: none, misaligned, outside the regions, counted */
	ASSERT_EQ(0, get_stats(fd, &s0));
	a.ev_q = 0;
	EXPECT_EQ(-EFAULT, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	a.ev_q = (uintptr_t)self->q + 4;
	EXPECT_EQ(-EFAULT, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	a.ev_q = (uintptr_t)&a;
	EXPECT_EQ(-EFAULT, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	ASSERT_EQ(0, get_stats(fd, &s1));
	EXPECT_EQ(s0.dropped[VCORE_DROP_BAD_EVQ] + 3,
		  s1.dropped[VCORE_DROP_BAD_EVQ]);
	/* a bad argument pointer */
	EXPECT_EQ(-EFAULT, vt_ioctl(fd, VCORE_IOC_ALARM_SET, NULL));
	EXPECT_EQ(-EFAULT, vt_ioctl(fd, VCORE_IOC_ALARM_CANCEL, NULL));
	/* cancel: unknown id, flags, reserved */
	c.id = 12345;
	EXPECT_EQ(-ENOENT, vt_ioctl(fd, VCORE_IOC_ALARM_CANCEL, &c));
	c.flags = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_ALARM_CANCEL, &c));
	c.flags = 0;
	c.resv[0] = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_ALARM_CANCEL, &c));
	/* an ev_q in procdata is as good as one in the arena */
	a.ev_q = (uintptr_t)self->m.pd + 2048;
	a.id = 7;
	EXPECT_EQ(0, vt_ioctl(fd, VCORE_IOC_ALARM_SET, &a));
	EXPECT_EQ(1, alarm_cancel(fd, 7));
	EXPECT_EQ(-ENOENT, alarm_cancel(fd, 7));
}

TEST_F(alarm, cap_is_enospc_and_frees_with_cancel)
{
	unsigned int cap = read_alarms_max(), i;
	__u64 far = now_ns() + 3600 * 1000 * MS;
	int fd = self->m.fd;

	ASSERT_LT(0, cap);
	for (i = 0; i < cap; i++)
		ASSERT_EQ(0, alarm_set(fd, i, self->q, far, 0, 0, 0));
	EXPECT_EQ(-ENOSPC, alarm_set(fd, cap, self->q, far, 0, 0, 0));
	/* modifying one that exists needs no room */
	EXPECT_EQ(0, alarm_set(fd, 0, self->q, far + 1, 0, 0, 0));
	EXPECT_EQ(1, alarm_cancel(fd, 3));
	EXPECT_EQ(0, alarm_set(fd, cap, self->q, far, 0, 0, 0));
	EXPECT_EQ(-ENOSPC, alarm_set(fd, cap + 1, self->q, far, 0, 0, 0));
}

/* 200 alarms set in a shuffled order expire in deadline order. */
TEST_F(alarm, many_alarms_expire_in_deadline_order)
{
	enum { N = 200 };
	__u64 base, step = 200000ULL * vt_time_scale(), last = 0;
	unsigned int perm[N], i, j, got = 0;
	int fd = self->m.fd;
	struct event_msg m;
	struct vcore_stats st;

	for (i = 0; i < N; i++)
		perm[i] = i;
	srand(42);
	for (i = N - 1; i > 0; i--) {
		unsigned int t;

		j = rand() % (i + 1);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	/* one CPU: the timers share a queue, expiries go out in order */
	vt_pin(0);
	base = now_ns() + 50 * MS * vt_time_scale();
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, alarm_set(fd, perm[i], self->q,
				       base + perm[i] * step, 0, 0, 0));
	while (got < N && wait_msg(fd, self->q, &m)) {
		EXPECT_EQ(EV_ALARM, m.ev_type);
		EXPECT_EQ(got, m.ev_arg3);
		EXPECT_EQ(base + m.ev_arg3 * step, m.ev_arg4);
		EXPECT_EQ(1, m.ev_arg2);
		EXPECT_LE(last, m.ev_arg4);
		last = m.ev_arg4;
		got++;
	}
	EXPECT_EQ(N, got);
	/* fired one-shots stay until cancelled, disarmed */
	for (i = 0; i < N; i++)
		EXPECT_EQ(0, alarm_cancel(fd, i));
	EXPECT_EQ(0, next_msg(fd, self->q, &m));
	ASSERT_EQ(0, get_stats(fd, &st));
	EXPECT_EQ(N, st.alarms_fired);
}

/* A periodic alarm re-arms: expiry k+1 is expiry k plus folded periods. */
TEST_F(alarm, periodic_alarm_rearms_until_cancelled)
{
	__u64 period = 2 * MS, prev = 0, prev_fold = 0;
	unsigned int got = 0, periods = 0;
	int fd = self->m.fd;
	struct event_msg m;
	struct vcore_stats st;

	ASSERT_EQ(0, alarm_set(fd, 5, self->q, now_ns() + period, period, 0,
			       0));
	while (got < 50 && wait_msg(fd, self->q, &m)) {
		EXPECT_EQ(5, m.ev_arg3);
		EXPECT_LE(1, m.ev_arg2);
		if (got)
			EXPECT_EQ(prev + prev_fold * period, m.ev_arg4);
		prev = m.ev_arg4;
		prev_fold = m.ev_arg2;
		periods += m.ev_arg2;
		got++;
	}
	ASSERT_EQ(50, got);
	EXPECT_EQ(1, alarm_cancel(fd, 5));
	/* drained after the cancel: nothing more, ever */
	while (next_msg(fd, self->q, &m))
		got++;
	usleep(20 * period / 1000);
	EXPECT_EQ(0, next_msg(fd, self->q, &m));
	ASSERT_EQ(0, get_stats(fd, &st));
	EXPECT_EQ(got, st.alarms_fired);
	EXPECT_LE(50, periods);
	/* and re-arming a cancelled id works */
	ASSERT_EQ(0, alarm_set(fd, 5, self->q, now_ns(), 0, 0, 0));
	ASSERT_TRUE(wait_msg(fd, self->q, &m));
	EXPECT_EQ(5, m.ev_arg3);
}

TEST_F(alarm, set_on_an_existing_id_modifies_it)
{
	struct event_queue_big *q2 = evq_ucq(self->m.fd);
	__u64 far = now_ns() + 3600 * 1000 * MS, d;
	int fd = self->m.fd, seen = 0;
	struct event_msg m;

	ASSERT_NE(NULL, q2);
	/* a far one made near: fires once, at the new deadline, on q2 */
	ASSERT_EQ(0, alarm_set(fd, 9, self->q, far, 0, 0, 0));
	d = now_ns() + 5 * MS;
	ASSERT_EQ(0, alarm_set(fd, 9, q2, d, 0, 0,
			       self->m.api.max_vcores - 1));
	ASSERT_TRUE(wait_msg(fd, q2, &m));
	EXPECT_EQ(9, m.ev_arg3);
	EXPECT_EQ(self->m.api.max_vcores - 1, m.ev_arg1);
	EXPECT_EQ(d, m.ev_arg4);
	/* a fired one-shot is re-armed by SET */
	d = now_ns() + 2 * MS;
	ASSERT_EQ(0, alarm_set(fd, 9, q2, d, 0, 0, 0));
	ASSERT_TRUE(wait_msg(fd, q2, &m));
	EXPECT_EQ(d, m.ev_arg4);
	/* a periodic one made one-shot stops after one more */
	ASSERT_EQ(0, alarm_set(fd, 9, q2, now_ns(), 1 * MS, 0, 0));
	ASSERT_TRUE(wait_msg(fd, q2, &m));
	ASSERT_TRUE(wait_msg(fd, q2, &m));
	d = now_ns() + 3 * MS;
	ASSERT_EQ(0, alarm_set(fd, 9, q2, d, 0, 0, 0));
	/* the periodic's last expiries, and maybe already the new one */
	while (next_msg(fd, q2, &m) == 1)
		seen += m.ev_arg4 == d;
	if (!seen) {
		ASSERT_TRUE(wait_msg(fd, q2, &m));
		EXPECT_EQ(d, m.ev_arg4);
	} else {
		EXPECT_EQ(1, seen);
	}
	usleep(20000);
	EXPECT_EQ(0, next_msg(fd, q2, &m));
	EXPECT_EQ(0, next_msg(fd, self->q, &m));
	EXPECT_EQ(0, alarm_cancel(fd, 9));
}

/* A period of 2^64 - 1 ns is as good as none, not a storm. */
TEST_F(alarm, an_enormous_period_fires_once)
{
	int fd = self->m.fd;
	struct event_msg m;

	ASSERT_EQ(0, alarm_set(fd, 11, self->q, now_ns(), ~0ULL, 0, 0));
	ASSERT_TRUE(wait_msg(fd, self->q, &m));
	EXPECT_EQ(11, m.ev_arg3);
	usleep(50000);
	EXPECT_EQ(0, next_msg(fd, self->q, &m));
	/* still armed, far away */
	EXPECT_EQ(1, alarm_cancel(fd, 11));
}

TEST_F(alarm, cancel_before_expiry_sends_nothing)
{
	int fd = self->m.fd;
	struct event_msg m;

	ASSERT_EQ(0, alarm_set(fd, 1, self->q, now_ns() + 20 * MS, 0, 0, 0));
	EXPECT_EQ(1, alarm_cancel(fd, 1));
	EXPECT_EQ(-ENOENT, alarm_cancel(fd, 1));
	usleep(60000);
	EXPECT_EQ(0, next_msg(fd, self->q, &m));
}

/*
 * Cancel from one CPU while a 10 us periodic alarm fires on another,
 * 3000 times: every expiry of round r is in the queue by the time CANCEL
 * returns; any later one would show up as id r in a later round.
 */
static struct {
	int fd;
	struct event_queue_big *q;
	volatile unsigned int round;	/* set by the canceller */
	volatile unsigned int armed;	/* round the setter armed */
	volatile int stop;
} cf;

static void *cancel_setter(void *arg)
{
	unsigned int r = 0;

	vt_pin((int)(uintptr_t)arg);
	while (!cf.stop) {
		while (cf.round == r && !cf.stop)
			;
		if (cf.stop)
			break;
		r = cf.round;
		if (alarm_set(cf.fd, r, cf.q, now_ns(),
			      VCORE_ALARM_MIN_PERIOD_NS, 0, 0))
			abort();
		__atomic_store_n(&cf.armed, r, __ATOMIC_RELEASE);
	}
	return NULL;
}

TEST_F_TIMEOUT(alarm, cancel_while_firing_on_another_cpu, 600)
{
	enum { ROUNDS = 3000 };
	unsigned int r, late = 0, fired = 0, stopped = 0;
	struct event_msg m;
	pthread_t t;

	if (nr_cpus() < 2)
		SKIP(return, "needs two CPUs");
	cf.fd = self->m.fd;
	cf.q = self->q;
	cf.round = 0;
	cf.armed = 0;
	cf.stop = 0;
	vt_pin(0);
	ASSERT_EQ(0, pthread_create(&t, NULL, cancel_setter,
				    (void *)(uintptr_t)1));
	for (r = 1; r <= ROUNDS; r++) {
		int ret;

		__atomic_store_n(&cf.round, r, __ATOMIC_RELEASE);
		while (__atomic_load_n(&cf.armed, __ATOMIC_ACQUIRE) != r)
			;
		/* let it fire a few times, or not at all */
		for (volatile int i = 0; i < (int)(r % 7) * 2000; i++)
			;
		ret = alarm_cancel(self->m.fd, r);
		EXPECT_EQ(1, ret);
		stopped += ret == 1;
		/* everything of round r is here now; older ids never again */
		while (next_msg(self->m.fd, self->q, &m) == 1) {
			if (m.ev_arg3 != r)
				late++;
			else
				fired++;
		}
	}
	cf.stop = 1;
	pthread_join(t, NULL);
	usleep(50000);
	while (next_msg(self->m.fd, self->q, &m) == 1)
		late++;
	EXPECT_EQ(0, late);
	EXPECT_EQ(ROUNDS, stopped);
	TH_LOG("%u expiries in %u rounds", fired, ROUNDS);
}

/*
 * A process exits (or is killed) with periodic alarms armed on every CPU:
 * they all go with it.
 */
static void armed_child(int ready)
{
	struct vt_mcp m;
	struct event_queue_big *q;
	int cpu;

	if (vt_mcp_open(&m, 1 << 20))
		_exit(1);
	q = evq_ucq(m.fd);
	if (!q)
		_exit(2);
	for (cpu = 0; cpu < nr_cpus(); cpu++) {
		vt_pin(cpu);
		if (alarm_set(m.fd, cpu, q, now_ns(), 50000, 0, 0) ||
		    alarm_set(m.fd, 1000 + cpu, q,
			      now_ns() + 3600 * 1000 * MS, 0, 0, 0))
			_exit(3);
	}
	if (write(ready, "r", 1) != 1)
		_exit(4);
	usleep(20000);
}

TEST_F(alarm, exit_and_kill_with_alarms_armed_on_every_cpu)
{
	long procs = -1, bytes;
	int i, status, rp[2];
	char ch;

	/* our own MCP goes first: its mappings hold it too */
	munmap(self->m.arena, 4 << 20);
	munmap(self->m.pd, self->m.api.procdata_size);
	munmap(self->m.pi, self->m.api.procinfo_size);
	close(self->m.fd);
	self->m.fd = -1;
	for (i = 0; i < 20; i++) {
		pid_t pid;

		ASSERT_EQ(0, pipe(rp));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(rp[0]);
			armed_child(rp[1]);
			if (i % 2)
				pause();
			_exit(0);
		}
		close(rp[1]);
		ASSERT_EQ(1, read(rp[0], &ch, 1));
		close(rp[0]);
		if (i % 2)
			kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (!(i % 2))
			EXPECT_EQ(0, status);
	}
	if (vt_read_live(&procs, &bytes))
		SKIP(return, "no debugfs");
	EXPECT_TRUE(WAIT_FOR(!vt_read_live(&procs, &bytes) && procs == 0));
}

/* ---- per-vcore alarms ---- */

static struct {
	int fd;
	struct vcore_api api;
	struct vcore_procinfo *pi;
	void *pd;
	volatile int mode;
	volatile unsigned long entries[VCORE_MAX_VCORES];
	volatile int cpu[VCORE_MAX_VCORES];
	int attaching;
} g;

enum { PV_SPIN, PV_YIELD };

static struct vcore_preempt_data *vcpd(unsigned int v)
{
	return (void *)((char *)g.pd + g.api.vcpd_offset + v * g.api.vcpd_size);
}

void pv_entry_c(unsigned long vcoreid);
void pv_entry(void);
__asm__(
	".text\n"
	".globl pv_entry\n"
	"pv_entry:\n"
	"	and $-16, %rsp\n"
	"	call pv_entry_c\n"
	"	ud2\n");

/* Vcore context throughout: spin, or yield when told to. */
void pv_entry_c(unsigned long vcoreid)
{
	struct vcore_preempt_data *d = vcpd(vcoreid);
	struct vcore_procdata *pd = g.pd;
	unsigned int cpu = -1U;

	syscall(SYS_getcpu, &cpu, NULL, NULL);
	g.cpu[vcoreid] = (int)cpu;
	__atomic_fetch_add(&g.entries[vcoreid], 1, __ATOMIC_SEQ_CST);
	for (;;) {
		__atomic_store_n(&d->notif_pending, 0, __ATOMIC_SEQ_CST);
		if (g.mode == PV_YIELD) {
			struct vcore_yield y = { 0 };

			__atomic_fetch_sub(&pd->res_req[VCORE_RES_CORES].amt_wanted,
					   1, __ATOMIC_SEQ_CST);
			vt_ioctl(g.fd, VCORE_IOC_YIELD, &y);
			/* refused: want the core back and go again */
			__atomic_fetch_add(&pd->res_req[VCORE_RES_CORES].amt_wanted,
					   1, __ATOMIC_SEQ_CST);
			continue;
		}
		__builtin_ia32_pause();
	}
}

static void *pv_attach(void *arg)
{
	struct vcore_attach a = { .vcoreid = (uintptr_t)arg };

	__atomic_fetch_add(&g.attaching, 1, __ATOMIC_SEQ_CST);
	vt_ioctl(g.fd, VCORE_IOC_VCORE_ATTACH, &a);
	return NULL;
}

static int want(unsigned int n)
{
	struct vcore_procdata *pd = g.pd;

	__atomic_store_n(&pd->res_req[VCORE_RES_CORES].amt_wanted, n,
			 __ATOMIC_SEQ_CST);
	return ioctl(g.fd, VCORE_IOC_POKE);
}

static unsigned long total_entries(void)
{
	unsigned long n = 0;
	unsigned int v;

	for (v = 0; v < VCORE_MAX_VCORES; v++)
		n += g.entries[v];
	return n;
}

static __u64 held(void)
{
	struct vcore_stats s;

	return get_stats(g.fd, &s) ? 0 : s.alarms_held;
}

/* Every online vcore yields; the last makes the process WAITING. */
static bool yield_all(void)
{
	g.mode = PV_YIELD;
	return WAIT_FOR(g.pi->num_vcores == 0 &&
			g.pi->state == VCORE_PROC_WAITING);
}

/*
 * Back online: n vcores, and n more entries than @before unless
 * @resumed (a vcore preempted in vcore context resumes in place).
 */
static bool run_vcores(unsigned int n, unsigned long before, bool resumed)
{
	g.mode = PV_SPIN;
	return WAIT_FOR(want(n) == (int)n &&
			(resumed || total_entries() >= before + n));
}

static unsigned int first_online(void)
{
	unsigned int v;

	for (v = 0; v < g.api.max_vcores && !g.pi->vcoremap[v].valid; v++)
		;
	return v;
}

/*
 * The vcore_alarm trace lines of our alarm @id: how many (in *@lines), and
 * how many of them fired on a CPU other than @cpu (returned).
 */
static int trace_alarm_cpus(unsigned int id, int cpu, int *lines)
{
	static char buf[1 << 20];
	char pat[64], *s;
	int fd, bad = 0, c;
	ssize_t n;

	*lines = 0;
	fd = open("/sys/kernel/tracing/trace", O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	snprintf(pat, sizeof(pat), "vcore_alarm: pid=%d id=%u ", getpid(), id);
	for (s = strstr(buf, pat); s; s = strstr(s + 1, pat)) {
		char *p = strstr(s, "cpu=");

		if (!p || sscanf(p, "cpu=%d", &c) != 1)
			return -1;
		(*lines)++;
		bad += c != cpu;
	}
	return bad;
}

FIXTURE(pv) {
	struct event_queue_big *q;
	unsigned int nv;
};

FIXTURE_SETUP(pv)
{
	struct vcore_setup su = { .arena_size = 1 << 20 };
	long procs, bytes;
	unsigned int v;
	void *arena;

	if (access(VCORE_DEV, F_OK))
		SETUP_SKIP("module not loaded");
	WAIT_FOR(vt_read_live(&procs, &bytes) || !procs);
	memset((void *)&g, 0, sizeof(g));
	g.fd = vt_open();
	ASSERT_LE(0, g.fd);
	ASSERT_EQ(0, vt_handshake(g.fd, &g.api));
	if (!(g.api.ioctls[0] & (1ULL << VCORE_IOC_NR_ALARM_SET)))
		SETUP_SKIP("no alarms in this module");
	g.pi = mmap(NULL, g.api.procinfo_size, PROT_READ, MAP_SHARED, g.fd,
		    g.api.procinfo_offset);
	g.pd = mmap(NULL, g.api.procdata_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, g.fd, g.api.procdata_offset);
	ASSERT_NE(MAP_FAILED, g.pi);
	ASSERT_NE(MAP_FAILED, g.pd);
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SETUP, &su));
	arena = mmap(NULL, su.arena_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		     g.fd, g.api.arena_offset);
	ASSERT_NE(MAP_FAILED, arena);
	self->q = evq_ucq(g.fd);
	ASSERT_NE(NULL, self->q);
	self->nv = g.api.max_vcores;
	for (v = 0; v < self->nv; v++) {
		char *stack = aligned_alloc(64, STACK_SZ);
		pthread_t t;

		ASSERT_NE(NULL, stack);
		vcpd(v)->vcore_entry = (uintptr_t)pv_entry;
		vcpd(v)->vcore_stack = (uintptr_t)(stack + STACK_SZ);
		ASSERT_EQ(0, pthread_create(&t, NULL, pv_attach,
					    (void *)(uintptr_t)v));
		pthread_detach(t);
	}
	ASSERT_TRUE(WAIT_FOR(__atomic_load_n(&g.attaching, __ATOMIC_SEQ_CST) ==
			     (int)self->nv));
	usleep(100000);
}

FIXTURE_TEARDOWN(pv)
{
}

/*
 * An online-time alarm set while its vcore runs, which then yields: it
 * is held while the vcore is offline (no expiry however long that is),
 * and fires once the vcore runs again, never before.
 */
TEST_F(pv, online_time_alarm_is_held_while_its_vcore_yields)
{
	__u64 d = 1000 * MS * vt_time_scale(), t_set, t_poke, h0;
	unsigned int v;
	struct event_msg m;

	ASSERT_TRUE(run_vcores(1, 0, false));
	v = first_online();
	ASSERT_LT(v, self->nv);
	h0 = held();
	t_set = now_ns();
	ASSERT_EQ(0, alarm_set(g.fd, 1, self->q, t_set + d, 0,
			       VCORE_ALARM_VCORE, v));
	ASSERT_TRUE(yield_all());
	ASSERT_TRUE(WAIT_FOR(held() == h0 + 1));
	if (now_ns() - t_set >= d)
		SKIP(return, "the yield took longer than the alarm");
	usleep(2 * d / 1000);
	EXPECT_EQ(0, next_msg(g.fd, self->q, &m));
	EXPECT_EQ(0, g.pi->num_vcores);
	t_poke = now_ns();
	ASSERT_TRUE(run_vcores(1, total_entries(), false));
	ASSERT_TRUE(wait_msg(g.fd, self->q, &m));
	EXPECT_EQ(1, m.ev_arg3);
	EXPECT_EQ(v, m.ev_arg1);
	/* its expiry moved by at least the time offline */
	EXPECT_LT(t_poke, m.ev_arg4);
	EXPECT_EQ(0, alarm_cancel(g.fd, 1));
}

/* The same alarm on wall-clock time fires while the vcore is offline. */
TEST_F(pv, wall_clock_alarm_fires_while_its_vcore_is_offline)
{
	__u64 d = 200 * MS * vt_time_scale(), dl;
	unsigned int v;
	struct event_msg m;

	ASSERT_TRUE(run_vcores(1, 0, false));
	v = first_online();
	ASSERT_LT(v, self->nv);
	dl = now_ns() + d;
	ASSERT_EQ(0, alarm_set(g.fd, 2, self->q, dl, 0,
			       VCORE_ALARM_VCORE | VCORE_ALARM_WALL, v));
	ASSERT_TRUE(yield_all());
	ASSERT_TRUE(wait_msg(g.fd, self->q, &m));
	EXPECT_EQ(0, g.pi->num_vcores);
	EXPECT_EQ(2, m.ev_arg3);
	EXPECT_EQ(dl, m.ev_arg4);
	/* set while the vcore is offline: wall-clock runs, online-time waits */
	dl = now_ns() + 20 * MS;
	ASSERT_EQ(0, alarm_set(g.fd, 2, self->q, dl, 0,
			       VCORE_ALARM_VCORE | VCORE_ALARM_WALL, v));
	ASSERT_EQ(0, alarm_set(g.fd, 3, self->q, dl, 0, VCORE_ALARM_VCORE,
			       v));
	ASSERT_TRUE(wait_msg(g.fd, self->q, &m));
	EXPECT_EQ(2, m.ev_arg3);
	usleep(100000);
	EXPECT_EQ(0, next_msg(g.fd, self->q, &m));
	EXPECT_EQ(1, alarm_cancel(g.fd, 3));
}

/*
 * A preempted vcore's online-time alarm waits for it, and a periodic one
 * keeps to its vcore's pcore through 10 rounds of every vcore yielding
 * or being preempted and coming back (maybe elsewhere): no expiry while
 * the vcore is offline.
 */
TEST_F_TIMEOUT(pv, periodic_alarm_stops_while_offline_and_follows_the_vcore,
	       300)
{
	struct vcore_preempt r = { .target_fd = -1, .target_pid = getpid(),
				   .flags = VCORE_PREEMPT_ALL };
	unsigned int n = self->nv, v, round, moved = 0, got;
	__u64 period = 2 * MS, h0;
	struct event_msg m;
	int last_cpu, cpu, lines;
	bool traced;

	traced = !vt_tracefs_write("events/vcore/vcore_alarm/enable", "1") &&
		 !vt_tracefs_write("trace", "") &&
		 !vt_tracefs_write("tracing_on", "1");
	ASSERT_TRUE(run_vcores(n, 0, false));
	v = n - 1;
	last_cpu = g.pi->vcoremap[v].pcoreid;
	ASSERT_EQ(0, alarm_set(g.fd, 4, self->q, now_ns() + period, period,
			       VCORE_ALARM_VCORE, v));
	for (round = 0; round < 10; round++) {
		for (got = 0; got < 3; got++) {
			ASSERT_TRUE(wait_msg(g.fd, self->q, &m));
			EXPECT_EQ(4, m.ev_arg3);
		}
		h0 = held();
		if (round % 2) {
			/* nothing wanted, so nothing comes back by itself */
			want(0);
			EXPECT_EQ(n, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
			ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == 0));
		} else {
			ASSERT_TRUE(yield_all());
		}
		ASSERT_TRUE(WAIT_FOR(held() > h0)) TH_LOG("round %u", round);
		/* held: what fired before is here; nothing comes after */
		while (next_msg(g.fd, self->q, &m) == 1)
			;
		usleep(20 * period / 1000 * vt_time_scale());
		EXPECT_EQ(0, next_msg(g.fd, self->q, &m)) TH_LOG("round %u",
								   round);
		/* nothing fires now: what is traced next is after the move */
		if (traced)
			vt_tracefs_write("trace", "");
		ASSERT_TRUE(run_vcores(n, total_entries(), round % 2));
		ASSERT_EQ(1, g.pi->vcoremap[v].valid);
		cpu = g.pi->vcoremap[v].pcoreid;
		moved += cpu != last_cpu;
		last_cpu = cpu;
		/* the next expiries fire on that pcore */
		if (traced) {
			for (got = 0; got < 3; got++)
				ASSERT_TRUE(wait_msg(g.fd, self->q, &m));
			EXPECT_EQ(0, trace_alarm_cpus(4, cpu, &lines));
			EXPECT_LE(3, lines);
		}
	}
	TH_LOG("the vcore moved %u times in 10 rounds%s", moved,
	       traced ? "" : " (no tracefs: its pcore was not checked)");
	if (traced)
		vt_tracefs_write("events/vcore/vcore_alarm/enable", "0");
	EXPECT_EQ(1, alarm_cancel(g.fd, 4));
}

TEST_HARNESS_MAIN
