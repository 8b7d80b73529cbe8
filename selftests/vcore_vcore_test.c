// SPDX-License-Identifier: GPL-2.0
/*
 * Vcores that run, driven directly through the ioctls (no library): grants
 * start threads at vcore_entry on their pcores, notifications interrupt a
 * spinning vcore into vcore_entry with its registers saved, yield and
 * WAITING and the wakeup, preemption with the context and FP state in the
 * VCPD, and exit with vcores online.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/vcore_test.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"

#define STACK_SZ	(64 * 1024)
#define PAT(n)		(0x5a5a000000000000ULL | ((__u64)(n) << 8) | (n))

/* One process's view, shared with its vcore threads through globals. */
static struct {
	int fd;
	struct vcore_api api;
	struct vcore_procinfo *pi;
	void *pd;
	volatile int mode;		/* what vcore_entry does */
	volatile int stop;
	volatile unsigned long entries[VCORE_MAX_VCORES][3];
	volatile int last_cpu[VCORE_MAX_VCORES];
	volatile unsigned long notified_ok, notified_bad;
	volatile int yield_ret[VCORE_MAX_VCORES];
	volatile int yield_tries, yield_vcore;
	volatile int changer, change_to, change_ret[3], change_restart;
	volatile int sleeping, nice_eagain;
	volatile int sleep_again;	/* MODE_SLEEP: stay in syscalls */
	volatile unsigned int sleeps;	/* MODE_SLEEP: nanosleeps begun */
	int attaching;
	volatile unsigned long vc_loops[VCORE_MAX_VCORES];
	volatile int exit_vcore, exiting;
} g;

enum { MODE_SPIN, MODE_YIELD, MODE_YIELD_PENDING, MODE_CHANGE, MODE_SLEEP,
       MODE_NICE, MODE_EXIT, MODE_THREAD_EXIT, MODE_YIELD_WANTED };

static struct vcore_preempt_data *vcpd(unsigned int v)
{
	return (void *)((char *)g.pd + g.api.vcpd_offset + v * g.api.vcpd_size);
}

/*
 * vt_spin: enable notifications and spin with known values in every
 * callee-saved and scratch register and in xmm0-15, until g.stop.  A
 * notification or preemption interrupts it; the saved context must hold
 * these values.
 */
void vt_spin(volatile int *stop, __u8 *notif_disabled);
__asm__(
	".text\n"
	".globl vt_spin\n"
	"vt_spin:\n"
	"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"	mov $0x5a5a000000000303, %rax; movq %rax, %xmm3\n"
	"	mov $0x5a5a000000000707, %rax; movq %rax, %xmm7\n"
	"	mov $0x5a5a000000000f0f, %rax; movq %rax, %xmm15\n"
	"	mov $0x5a5a000000000303, %rbx\n"
	"	mov $0x5a5a000000000505, %rbp\n"
	"	mov $0x5a5a000000000c0c, %r12\n"
	"	mov $0x5a5a000000000d0d, %r13\n"
	"	mov $0x5a5a000000000e0e, %r14\n"
	"	mov $0x5a5a000000000f0f, %r15\n"
	"	movb $0, (%rsi)\n"		/* notifications on */
	"	mfence\n"
	"1:	pause\n"
	"	cmpl $0, (%rdi)\n"
	"	je 1b\n"
	"	movb $1, (%rsi)\n"
	"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
	"	ret\n");

static bool ctx_is_spin(const struct vcore_user_ctx *c)
{
	return c->type == VCORE_CTX_HW && c->rbx == PAT(3) &&
	       c->rbp == PAT(5) && c->r12 == PAT(12) && c->r13 == PAT(13) &&
	       c->r14 == PAT(14) && c->r15 == PAT(15);
}

void vt_entry_c(unsigned long vcoreid, unsigned long why);

/* The kernel starts us with rsp = vcore_stack (16-aligned). */
void vt_entry(void);
__asm__(
	".text\n"
	".globl vt_entry\n"
	"vt_entry:\n"
	"	and $-16, %rsp\n"
	"	call vt_entry_c\n"
	"	ud2\n");

/* In vcore context: the refusals, then hand our pcore to an offline vcore. */
static void change_from_here(unsigned int me)
{
	struct vcore_change c = { 0 };
	unsigned int v, busy = me, idle = me;

	for (v = 0; v < g.api.max_vcores; v++) {
		if (v == me)
			continue;
		if (g.pi->vcoremap[v].valid)
			busy = v;
		else
			idle = v;
	}
	c.vcoreid = busy;
	g.change_ret[0] = vt_ioctl(g.fd, VCORE_IOC_CHANGE_VCORE, &c);
	c.vcoreid = idle;
	vcpd(me)->notif_disabled = 0;
	g.change_ret[1] = vt_ioctl(g.fd, VCORE_IOC_CHANGE_VCORE, &c);
	vcpd(me)->notif_disabled = 1;
	g.change_to = idle;
	c.enable_my_notif = g.change_restart;
	g.change_ret[2] = vt_ioctl(g.fd, VCORE_IOC_CHANGE_VCORE, &c);
}

void vt_entry_c(unsigned long vcoreid, unsigned long why)
{
	struct vcore_preempt_data *d = vcpd(vcoreid);

	if (vcoreid >= VCORE_MAX_VCORES || why > 2)
		abort();
	/*
	 * Counted before the entry the tests wait for, and atomically: the
	 * next vcore may be notified as soon as this entry shows.
	 */
	if (why == VCORE_ENTRY_NOTIFY)
		__atomic_fetch_add(ctx_is_spin(&d->uthread_ctx) ?
				   &g.notified_ok : &g.notified_bad, 1,
				   __ATOMIC_SEQ_CST);
	{
		/*
		 * The kernel's answer, getcpu(2), rather than glibc's
		 * sched_getcpu(), which reads the cpu_id of the rseq area.
		 * Stored before the entry is counted: the tests that wait
		 * for the count read it then.
		 */
		unsigned int cpu = -1U;

		syscall(SYS_getcpu, &cpu, NULL, NULL);
		g.last_cpu[vcoreid] = (int)cpu;
	}
	g.entries[vcoreid][why]++;
	for (;;) {
		__atomic_store_n(&d->notif_pending, 0, __ATOMIC_SEQ_CST);
		if (g.mode == MODE_EXIT)
			_exit(0);	/* the whole process, from vcore context */
		if (g.mode == MODE_YIELD) {
			struct vcore_yield y = { 0 };
			struct vcore_procdata *pd = g.pd;

			__atomic_fetch_sub(&pd->res_req[VCORE_RES_CORES].amt_wanted,
					   1, __ATOMIC_SEQ_CST);
			g.yield_ret[vcoreid] = vt_ioctl(g.fd, VCORE_IOC_YIELD, &y);
			/* refused (EAGAIN): want the core back and go again */
			__atomic_fetch_add(&pd->res_req[VCORE_RES_CORES].amt_wanted,
					   1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (g.mode == MODE_CHANGE) {
			if (__sync_bool_compare_and_swap(&g.changer, -1,
							 (int)vcoreid))
				change_from_here(vcoreid);
			while (g.mode == MODE_CHANGE)
				sched_yield();
			continue;
		}
		if (g.mode == MODE_SLEEP) {
			struct timespec ts = {
				.tv_sec = vt_time_scale(),
				.tv_nsec = 300 * 1000 * 1000,
			};

			/* a notification now waits for the syscall's end */
			do {
				__atomic_store_n(&d->notif_disabled, 0,
						 __ATOMIC_SEQ_CST);
				g.sleeping = 1;
				g.sleeps++;
				syscall(SYS_nanosleep, &ts, NULL);
				d->notif_disabled = 1;
			} while (g.sleep_again && g.mode == MODE_SLEEP);
			g.sleeping = 2;
			while (g.mode == MODE_SLEEP)
				sched_yield();
			continue;
		}
		if (g.mode == MODE_NICE) {
			struct vcore_yield y = { .flags = VCORE_YIELD_BEING_NICE };

			if (vt_ioctl(g.fd, VCORE_IOC_YIELD, &y) == -EAGAIN)
				g.nice_eagain++;
			usleep(1000);
			continue;
		}
		if (g.mode == MODE_THREAD_EXIT && (int)vcoreid == g.exit_vcore) {
			/* the vcore's thread goes; the process lives on */
			g.exiting = 1;
			pthread_exit(NULL);
		}
		if (g.mode == MODE_YIELD_WANTED && !g.yield_tries) {
			struct vcore_yield y = { 0 };

			/* amt_wanted left as it is: the process wants us */
			g.yield_vcore = vcoreid;
			g.yield_ret[vcoreid] = vt_ioctl(g.fd, VCORE_IOC_YIELD, &y);
			g.yield_tries++;
			continue;
		}
		if (g.mode == MODE_YIELD_PENDING && !g.yield_tries) {
			struct vcore_yield y = { 0 };
			struct vcore_procdata *pd = g.pd;

			/* a yield it would otherwise allow */
			__atomic_fetch_sub(&pd->res_req[VCORE_RES_CORES].amt_wanted,
					   1, __ATOMIC_SEQ_CST);
			d->notif_pending = 1;
			g.yield_vcore = vcoreid;
			g.yield_ret[vcoreid] = vt_ioctl(g.fd, VCORE_IOC_YIELD, &y);
			g.yield_tries++;
			continue;
		}
		vt_spin(&g.stop, &d->notif_disabled);
		while (g.stop && g.mode == MODE_SPIN) {
			g.vc_loops[vcoreid]++;
			sched_yield();
		}
	}
}

static void *vcore_thread(void *arg)
{
	struct vcore_attach a = { .vcoreid = (uintptr_t)arg };

	__atomic_fetch_add(&g.attaching, 1, __ATOMIC_SEQ_CST);

	/* returns only on failure */
	return (void *)(intptr_t)vt_ioctl(g.fd, VCORE_IOC_VCORE_ATTACH, &a);
}

/* Open, map, set up every VCPD's entry and stack, start the threads. */
static int vt_setup(unsigned int nr_threads)
{
	unsigned int v;

	g.fd = vt_open();
	if (g.fd < 0 || vt_handshake(g.fd, &g.api))
		return -1;
	g.pi = mmap(NULL, g.api.procinfo_size, PROT_READ, MAP_SHARED, g.fd,
		    g.api.procinfo_offset);
	g.pd = mmap(NULL, g.api.procdata_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, g.fd, g.api.procdata_offset);
	if (g.pi == MAP_FAILED || g.pd == MAP_FAILED)
		return -1;
	for (v = 0; v < nr_threads && v < g.api.max_vcores; v++) {
		char *stack = aligned_alloc(64, STACK_SZ);
		pthread_t t;

		if (!stack)
			return -1;
		vcpd(v)->vcore_entry = (uintptr_t)vt_entry;
		vcpd(v)->vcore_stack = (uintptr_t)(stack + STACK_SZ);
		if (pthread_create(&t, NULL, vcore_thread, (void *)(uintptr_t)v))
			return -1;
		pthread_detach(t);
	}
	return 0;
}

/* The lowest online vcore, or max_vcores if none is. */
static unsigned int first_online(void)
{
	unsigned int v;

	for (v = 0; v < g.api.max_vcores && !g.pi->vcoremap[v].valid; v++)
		;
	return v;
}

static int want(unsigned int n)
{
	struct vcore_procdata *pd = g.pd;

	__atomic_store_n(&pd->res_req[VCORE_RES_CORES].amt_wanted, n,
			 __ATOMIC_SEQ_CST);
	return ioctl(g.fd, VCORE_IOC_POKE);
}

static unsigned long total_entries(unsigned int why)
{
	unsigned long n = 0;
	unsigned int v;

	for (v = 0; v < VCORE_MAX_VCORES; v++)
		n += g.entries[v][why];
	return n;
}

/* Wait up to ~10 s (times vt_time_scale()) for cond. */
#define WAIT_FOR(cond) ({						\
	unsigned int __i, __n = 10000 * vt_time_scale();		\
	for (__i = 0; __i < __n && !(cond); __i++)			\
		usleep(1000);						\
	(cond);								\
})

/* Every online vcore leaves its spin and yields; the last makes WAITING. */
static bool yield_all(void)
{
	g.mode = MODE_YIELD;
	g.stop = 1;
	return WAIT_FOR(g.pi->num_vcores == 0 &&
			g.pi->state == VCORE_PROC_WAITING);
}

/* SETUP with a 1 MiB arena, mapped; NULL on failure. */
static void *map_arena(void)
{
	struct vcore_setup su = { .arena_size = 1 << 20 };
	void *arena;

	if (vt_ioctl(g.fd, VCORE_IOC_SETUP, &su))
		return NULL;
	arena = mmap(NULL, su.arena_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		     g.fd, g.api.arena_offset);
	return arena == MAP_FAILED ? NULL : arena;
}

FIXTURE(vc) {
	unsigned int nv;
};

FIXTURE_SETUP(vc)
{
	long procs, bytes;

	if (access(VCORE_DEV, F_OK))
		SETUP_SKIP("module not loaded");
	/*
	 * The last test's MCP may still be going (slowly, on a debug
	 * kernel): while it lives it competes for the pcores, and the
	 * provisioning would preempt ours for it.
	 */
	WAIT_FOR(vt_read_live(&procs, &bytes) || !procs);
	memset(&g, 0, sizeof(g));
	ASSERT_EQ(0, vt_setup(VCORE_MAX_VCORES));
	self->nv = g.api.max_vcores;
	/*
	 * Every vcore's thread in ATTACH before a test starts: one attaching
	 * later would be granted what a test expects to stay free.
	 */
	ASSERT_TRUE(WAIT_FOR(__atomic_load_n(&g.attaching, __ATOMIC_SEQ_CST) ==
			     (int)self->nv));
	usleep(100000);
	ASSERT_NE(0, g.api.features & VCORE_FEAT_VCORES);
}

#define PREEMPT_DELAY "/sys/module/vcore/parameters/test_preempt_delay_ms"

/* The module's test delay before EV_VCORE_PREEMPT goes out; 0 on success. */
static int set_preempt_delay(unsigned int ms)
{
	FILE *f = fopen(PREEMPT_DELAY, "w");
	int bad;

	if (!f)
		return -1;
	bad = fprintf(f, "%u\n", ms) < 0;
	return fclose(f) || bad ? -1 : 0;
}

FIXTURE_TEARDOWN(vc)
{
	if (!access(PREEMPT_DELAY, W_OK))
		set_preempt_delay(0);
}

TEST_F(vc, grants_start_vcores_on_their_pcores)
{
	unsigned int v, n = self->nv, online;
	__u32 seq;

	EXPECT_EQ(VCORE_PROC_RUNNABLE_S, g.pi->state);
	EXPECT_EQ(0, want(0));
	usleep(100000);
	EXPECT_EQ(0, total_entries(VCORE_ENTRY_START));
	online = want(n);
	/* the threads may not all be attached yet: poke until they are */
	ASSERT_TRUE(WAIT_FOR((online = want(n)) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	do {
		seq = __atomic_load_n(&g.pi->coremap_seq, __ATOMIC_ACQUIRE);
		EXPECT_EQ(n, g.pi->num_vcores);
		EXPECT_EQ(VCORE_PROC_RUNNING_M, g.pi->state);
		for (v = 0; v < n; v++) {
			__u32 pc = g.pi->vcoremap[v].pcoreid;

			EXPECT_EQ(1, g.pi->vcoremap[v].valid);
			EXPECT_EQ(1, g.pi->pcoremap[pc].managed);
			EXPECT_EQ(v, g.pi->pcoremap[pc].vcoreid);
			EXPECT_EQ((int)pc, g.last_cpu[v]);
			EXPECT_EQ(1, vcpd(v)->flags & VC_CAN_RCV_MSG ? 1 : 0);
		}
	} while (seq & 1 || seq != g.pi->coremap_seq);
	/* no more pcores to give */
	EXPECT_EQ(n, want(n + 1));
}

TEST_F(vc, notification_enters_vcore_entry_with_the_context_saved)
{
	unsigned int n = self->nv, i, v;
	struct vcore_self_notify s = { .msg = { .ev_type = 7 } };
	unsigned long sent = 0;

	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	for (i = 0; i < 200; i++) {
		v = i % n;
		/* wait until vcore v spins with notifications enabled */
		ASSERT_TRUE(WAIT_FOR(!vcpd(v)->notif_disabled));
		s.vcoreid = v;
		ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SELF_NOTIFY, &s));
		sent++;
		ASSERT_TRUE(WAIT_FOR(total_entries(VCORE_ENTRY_NOTIFY) ==
				     sent));
	}
	EXPECT_EQ(sent, g.notified_ok);
	EXPECT_EQ(0, g.notified_bad);
	/* notifications disabled: pending is set, no entry */
	g.stop = 1;
	ASSERT_TRUE(WAIT_FOR(vcpd(0)->notif_disabled));
	usleep(10000);
	s.vcoreid = 0;
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SELF_NOTIFY, &s));
	usleep(100000);
	EXPECT_EQ(sent, total_entries(VCORE_ENTRY_NOTIFY));
	EXPECT_EQ(1, vcpd(0)->notif_pending);
}

TEST_F(vc, last_yield_makes_waiting_and_wakeup_restarts)
{
	unsigned int n = self->nv;
	struct vcore_procdata *pd = g.pd;
	struct vcore_test_kevent k = {
		.msg = { .ev_type = 9 },
	};
	struct event_queue *q;
	struct event_mbox *mb;
	void *arena;

	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	/* out of the spin, and every vcore yields, lowering amt_wanted */
	ASSERT_TRUE(yield_all());
	g.stop = 0;
	EXPECT_EQ(VCORE_PROC_WAITING, g.pi->state);
	EXPECT_EQ(0, pd->res_req[VCORE_RES_CORES].amt_wanted);
	/* WAITING: a poke that asks for nothing grants nothing */
	EXPECT_EQ(0, ioctl(g.fd, VCORE_IOC_POKE));
	EXPECT_EQ(VCORE_PROC_WAITING, g.pi->state);
	/* an EVENT_WAKEUP kernel event brings one vcore back */
	arena = map_arena();
	ASSERT_NE(NULL, arena);
	q = arena;
	mb = (struct event_mbox *)((char *)arena + 4096);
	mb->type = EV_MBOX_BITMAP;
	q->ev_flags = EVENT_WAKEUP;
	q->ev_mbox = (uintptr_t)mb;
	pd->kernel_evts[9] = (uintptr_t)q;
	if (!(g.api.features & VCORE_FEAT_TEST))
		SKIP(return, "needs the test build with test=1 for kernel events");
	g.mode = MODE_SPIN;
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_TEST_KEVENT, &k));
	ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == 1 &&
			     total_entries(VCORE_ENTRY_START) > n));
	EXPECT_EQ(VCORE_PROC_RUNNING_M, g.pi->state);
	EXPECT_NE(0, mb->evbm.check_bits);
}

/*
 * This MCP's debugfs vcores file: how many of its lines contain @a (and
 * @b, if not NULL); -1 if it cannot be read.
 */
static int dbg_vcores_count(const char *a, const char *b)
{
	FILE *f = vt_debugfs_open("vcores");
	char line[256];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, a) && (!b || strstr(line, b)))
			n++;
	fclose(f);
	return n;
}

TEST_F(vc, debugfs_shows_the_process_and_each_vcore)
{
	unsigned int n = self->nv;
	char line[64];

	if (access(VCORE_LIVE, R_OK))
		SKIP(return, "no debugfs");
	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	snprintf(line, sizeof(line), "num_vcores %u max_vcores %u amt_wanted %u",
		 n, n, n);
	EXPECT_EQ(1, dbg_vcores_count("state RUNNING_M ", line));
	EXPECT_EQ((int)n, dbg_vcores_count(" online pcore ", "attached 1"));
	ASSERT_TRUE(yield_all());
	g.stop = 0;
	snprintf(line, sizeof(line), "num_vcores 0 max_vcores %u amt_wanted 0",
		 n);
	EXPECT_EQ(1, dbg_vcores_count("state WAITING ", line));
	EXPECT_EQ((int)n, dbg_vcores_count(" inactive attached", NULL));
	EXPECT_EQ(0, dbg_vcores_count(" online", NULL));
}

/* A wakeup gives a vcore even when the last yield left amt_wanted at 0. */
TEST_F(vc, wakeup_grants_a_vcore_with_nothing_wanted)
{
	unsigned int n = self->nv;
	struct vcore_procdata *pd = g.pd;
	struct vcore_test_kevent k = { .msg = { .ev_type = 9 } };
	struct event_queue *q;
	void *arena;

	if (!(g.api.features & VCORE_FEAT_TEST))
		SKIP(return, "needs the test build with test=1 for kernel events");
	arena = map_arena();
	ASSERT_NE(NULL, arena);
	q = arena;
	q->ev_flags = EVENT_WAKEUP | EVENT_SPAM_PUBLIC;
	pd->kernel_evts[9] = (uintptr_t)q;
	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	ASSERT_TRUE(yield_all());
	g.stop = 0;
	ASSERT_EQ(0, pd->res_req[VCORE_RES_CORES].amt_wanted);
	g.mode = MODE_SPIN;
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_TEST_KEVENT, &k));
	/* the spammed message's vcore runs, with no poke */
	ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == 1 &&
			     total_entries(VCORE_ENTRY_START) > n));
	EXPECT_EQ(1, pd->res_req[VCORE_RES_CORES].amt_wanted);
	EXPECT_EQ(VCORE_PROC_RUNNING_M, g.pi->state);
}

/*
 * A vcore whose thread exits while the process lives is detached: its
 * pcore is free, it is offline and grants skip it, the others hear
 * EV_CHECK_MSGS about it (its public mbox may hold messages), and a new
 * thread may attach to it and run.
 */
TEST_F(vc, exited_vcore_thread_is_detached_and_can_be_replaced)
{
	unsigned int n = self->nv, v = self->nv - 1;
	struct vcore_self_notify s = { .vcoreid = self->nv - 1 };
	struct vcore_procdata *pd = g.pd;
	struct event_queue *q;
	struct event_mbox *mb;
	void *arena;
	pthread_t t;

	arena = map_arena();
	ASSERT_NE(NULL, arena);
	q = arena;
	mb = (struct event_mbox *)((char *)arena + 4096);
	mb->type = EV_MBOX_BITMAP;
	q->ev_mbox = (uintptr_t)mb;
	pd->kernel_evts[EV_CHECK_MSGS] = (uintptr_t)q;
	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	EXPECT_EQ(0, mb->evbm.check_bits);
	g.exit_vcore = v;
	g.mode = MODE_THREAD_EXIT;
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SELF_NOTIFY, &s));
	ASSERT_TRUE(WAIT_FOR(g.exiting && !g.pi->vcoremap[v].valid));
	EXPECT_EQ(n - 1, g.pi->num_vcores);
	EXPECT_EQ(VCORE_PROC_RUNNING_M, g.pi->state);
	ASSERT_TRUE(WAIT_FOR(mb->evbm.check_bits != 0));
	EXPECT_NE(0, mb->evbm.bitmap[EV_CHECK_MSGS / 64] &
		     (1ULL << (EV_CHECK_MSGS % 64)));
	/* still wanted, but no grant goes to a vcore without a thread */
	EXPECT_EQ((int)n - 1, want(n));
	usleep(100000);
	EXPECT_EQ(n - 1, g.pi->num_vcores);
	EXPECT_FALSE(g.pi->vcoremap[v].valid);
	/* a new thread for it: attached, granted the free pcore, started */
	g.mode = MODE_SPIN;
	ASSERT_EQ(0, pthread_create(&t, NULL, vcore_thread,
				    (void *)(uintptr_t)v));
	pthread_detach(t);
	ASSERT_TRUE(WAIT_FOR(g.pi->vcoremap[v].valid &&
			     g.pi->num_vcores == n && g.entries[v][0] == 2));
	EXPECT_EQ(n, want(n));
}

/*
 * System-wide provisioning: an MCP that asked once is served whenever a
 * pcore comes free (a vcore thread exiting, a yield), without poking.
 */
TEST_F(vc, freed_pcores_go_to_a_waiting_requester_without_a_poke)
{
	unsigned int n = self->nv, v, online;
	volatile unsigned int *other = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct vcore_procdata *pd = g.pd;
	struct vcore_self_notify s = { 0 };
	pid_t child;
	int status;

	ASSERT_NE(MAP_FAILED, other);
	if (n < 3)
		SKIP(return, "needs three managed pcores");
	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	other[0] = other[1] = 0;
	child = fork();
	ASSERT_GE(child, 0);
	if (!child) {
		memset(&g, 0, sizeof(g));
		if (vt_setup(VCORE_MAX_VCORES))
			_exit(1);
		while (__atomic_load_n(&g.attaching, __ATOMIC_SEQ_CST) <
		       (int)g.api.max_vcores)
			usleep(1000);
		usleep(100000);
		/* one request, one poke, and from then on only watching */
		other[0] = want(g.api.max_vcores);
		other[1] = 1;
		for (;;) {
			other[0] = g.pi->num_vcores;
			usleep(1000);
		}
	}
	ASSERT_TRUE(WAIT_FOR(other[1]));
	/* its fair share takes one vcore from us at once */
	ASSERT_TRUE(WAIT_FOR(other[0] >= 1 && g.pi->num_vcores + other[0] == n));
	online = g.pi->num_vcores;
	TH_LOG("after one poke: %u here, %u there", online, other[0]);
	/* we want no more than we have; one of our vcore threads exits */
	__atomic_store_n(&pd->res_req[VCORE_RES_CORES].amt_wanted, online - 1,
			 __ATOMIC_SEQ_CST);
	for (v = 0; v < n && !g.pi->vcoremap[v].valid; v++)
		;
	ASSERT_LT(v, n);
	g.exit_vcore = v;
	g.mode = MODE_THREAD_EXIT;
	s.vcoreid = v;
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SELF_NOTIFY, &s));
	ASSERT_TRUE(WAIT_FOR(g.exiting && other[0] == n - online + 1));
	/* the rest of ours yield: the other MCP gets every pcore */
	g.mode = MODE_YIELD;
	g.stop = 1;
	ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == 0 && other[0] == n));
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
}

/*
 * Preempted vcores of an MCP that still wants them come back once the
 * hold-off after the preemption is over, with no poke.
 */
/* An MCP that goes away hands its pcores to one that asked once. */
TEST_F(vc, a_closing_mcp_hands_its_pcores_to_a_waiting_requester)
{
	unsigned int n = self->nv;
	volatile unsigned int *other = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t child;
	int status;

	ASSERT_NE(MAP_FAILED, other);
	if (n < 2)
		SKIP(return, "needs two managed pcores");
	other[0] = other[1] = 0;
	child = fork();
	ASSERT_GE(child, 0);
	if (!child) {
		memset(&g, 0, sizeof(g));
		if (vt_setup(VCORE_MAX_VCORES))
			_exit(1);
		for (;;) {
			other[0] = want(g.api.max_vcores);
			if (other[1])
				_exit(0);
			usleep(2000);
		}
	}
	ASSERT_TRUE(WAIT_FOR(other[0] == n));
	/* one request: the fair share gives us some at once, not all */
	EXPECT_LT(want(n), (int)n);
	ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores >= 1));
	other[1] = 1;
	ASSERT_EQ(child, waitpid(child, &status, 0));
	/* no more pokes: the pcores it held come to us */
	ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == n));
}

TEST_F(vc, preempted_vcores_come_back_without_a_poke)
{
	struct vcore_preempt r = { .target_fd = -1, .target_pid = getpid(),
				   .flags = VCORE_PREEMPT_ALL };
	unsigned int n = self->nv, v;

	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	for (v = 0; v < n; v++)
		ASSERT_TRUE(WAIT_FOR(!vcpd(v)->notif_disabled));
	EXPECT_EQ(n, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	ASSERT_TRUE(WAIT_FOR(total_entries(VCORE_ENTRY_START) == 2 * n &&
			     g.pi->num_vcores == n));
}

/*
 * A vcore is preempted while the others are online, and they all yield
 * before EV_VCORE_PREEMPT goes out (the module's test delay holds it
 * back): the process is WAITING, yet the event is sent, and its ev_q's
 * EVENT_WAKEUP brings a vcore back to hear it.
 */
TEST_F(vc, a_preemption_the_others_yield_behind_still_wakes_the_process)
{
	struct vcore_preempt r = { .target_fd = -1, .target_pid = getpid() };
	struct vcore_procdata *pd = g.pd;
	unsigned int n = self->nv, v;
	unsigned long started;
	struct event_queue *q;
	void *arena;

	if (!(g.api.features & VCORE_FEAT_TEST) || access(PREEMPT_DELAY, W_OK))
		SKIP(return, "needs the test build, test=1, test_preempt_delay_ms");
	if (n < 2)
		SKIP(return, "needs two vcores");
	arena = map_arena();
	ASSERT_NE(NULL, arena);
	q = arena;
	q->ev_flags = EVENT_IPI | EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN |
		      EVENT_WAKEUP;
	pd->kernel_evts[EV_VCORE_PREEMPT] = (uintptr_t)q;
	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	for (v = 0; v < n; v++)
		ASSERT_TRUE(WAIT_FOR(!vcpd(v)->notif_disabled));
	ASSERT_EQ(0, set_preempt_delay(2000 * vt_time_scale()));
	r.vcoreid = 0;
	ASSERT_EQ(1, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	/* offline, the others still online; the event is held back */
	ASSERT_TRUE(WAIT_FOR(!g.pi->vcoremap[0].valid));
	EXPECT_EQ(n - 1, g.pi->num_vcores);
	started = total_entries(VCORE_ENTRY_START);
	/*
	 * The process stops wanting vcore 0, and the others yield, lowering
	 * amt_wanted: the last makes WAITING (a yield that would leave fewer
	 * vcores than wanted is refused).
	 */
	__atomic_fetch_sub(&pd->res_req[VCORE_RES_CORES].amt_wanted, 1,
			   __ATOMIC_SEQ_CST);
	ASSERT_TRUE(yield_all());
	EXPECT_EQ(started, total_entries(VCORE_ENTRY_START));
	EXPECT_EQ(0, pd->res_req[VCORE_RES_CORES].amt_wanted);
	/* the event comes after all and wakes the process */
	ASSERT_TRUE(WAIT_FOR(total_entries(VCORE_ENTRY_START) > started));
}

/*
 * As Akaros: a bulk preemption tells the process nothing while its vcores
 * go offline (the others are being preempted too); when it runs again,
 * it hears EV_VCORE_PREEMPT about each vcore still left offline.
 */
TEST_F(vc, bulk_preemption_is_told_when_the_process_runs_again)
{
	struct vcore_preempt r = { .target_fd = -1, .target_pid = getpid(),
				   .flags = VCORE_PREEMPT_ALL };
	struct vcore_procdata *pd = g.pd;
	unsigned int n = self->nv, got = 0, v;
	unsigned long about = 0;
	struct event_queue_big *q;
	struct event_msg msg;

	if (n < 2)
		SKIP(return, "needs two vcores");
	ASSERT_NE(NULL, map_arena());
	q = vt_arena_pages(g.fd, 1);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, vt_ucq_init(g.fd, &q->ev_imbox.ucq));
	q->ev_imbox.type = EV_MBOX_UCQ;
	q->ev_q.ev_mbox = (uintptr_t)&q->ev_imbox;
	pd->kernel_evts[EV_VCORE_PREEMPT] = (uintptr_t)q;
	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	for (v = 0; v < n; v++)
		ASSERT_TRUE(WAIT_FOR(!vcpd(v)->notif_disabled));
	/* one vcore back, not all: the others stay preempted */
	pd->res_req[VCORE_RES_CORES].amt_wanted = 1;
	/*
	 * With the test build, the requests go out slowly: each vcore is
	 * offline before the next is asked, and must still not take the
	 * ones not asked yet for vcores the process runs on.
	 */
	if (g.api.features & VCORE_FEAT_TEST)
		ASSERT_EQ(0, set_preempt_delay(300 * vt_time_scale()));
	EXPECT_EQ((int)n, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	/*
	 * All offline, nothing told yet.  (On a slow machine the kernel's
	 * provisioning may restart one first: it still wants one.)
	 */
	ASSERT_TRUE(WAIT_FOR(!g.pi->num_vcores ||
			     total_entries(VCORE_ENTRY_START) > n));
	if (!g.pi->num_vcores) {
		__u64 prod = __atomic_load_n(&q->ev_imbox.ucq.prod_idx,
					     __ATOMIC_ACQUIRE);

		if (!g.pi->num_vcores)
			EXPECT_EQ(q->ev_imbox.ucq.cons_idx, prod);
		want(1);
	}
	for (v = 0; got < n - 1 && v < 10000 * vt_time_scale(); v++) {
		if (vt_ucq_get(g.fd, &q->ev_imbox.ucq, &msg, NULL) != 1) {
			usleep(1000);
			continue;
		}
		EXPECT_EQ(EV_VCORE_PREEMPT, msg.ev_type);
		EXPECT_LT(msg.ev_arg2, n);
		EXPECT_EQ(0, g.pi->vcoremap[msg.ev_arg2].valid);
		about |= 1UL << msg.ev_arg2;
		got++;
	}
	EXPECT_EQ(n - 1, got);
	EXPECT_EQ(n - 1, (unsigned int)__builtin_popcountl(about));
}

/*
 * Every vcore inactive (WAITING): the fallback posts a spammed message to
 * the inactive list's head and promises that vcore runs next.  The grant
 * the wakeup makes must keep the promise even when it prefers another
 * vcore, one homed on the node of the pcore it takes: on two nodes, the
 * head is homed on one and the process asks for pcores on the other.
 */
TEST_F(vc, the_vcore_the_fallback_posted_to_runs_first)
{
	struct vcore_test_arrange a = { .state = VCORE_PROC_WAITING };
	struct vcore_node_req nr = { .flags = VCORE_NODE_STRICT };
	struct vcore_send_event se = { .msg = { .ev_type = EV_USER_IPI } };
	unsigned int n = self->nv, v, h = n, i = 1, cpu;
	int node_b = -1;
	struct event_queue *q;
	void *arena;

	if (!(g.api.features & VCORE_FEAT_TEST))
		SKIP(return, "needs the test build with test=1");
	/* node_b: has a managed pcore and a vcore homed there; h: not */
	for (cpu = 0; cpu < g.pi->nr_pcores && h == n; cpu++) {
		if (!g.pi->pcoremap[cpu].managed)
			continue;
		node_b = g.pi->pcoremap[cpu].numa_node;
		for (v = 0; v < n; v++)
			if (g.pi->vcoremap[v].home_node != node_b)
				h = v;
		for (v = 0; v < n && h < n; v++)
			if (g.pi->vcoremap[v].home_node == node_b)
				break;
		if (v == n)
			h = n;
	}
	if (h == n)
		SKIP(return, "needs vcores homed on two nodes with pcores");
	arena = map_arena();
	ASSERT_NE(NULL, arena);
	q = arena;
	q->ev_flags = EVENT_SPAM_PUBLIC | EVENT_WAKEUP;
	se.ev_q = (uintptr_t)q;
	for (v = 0; v < n; v++)
		vcpd(v)->ev_mbox_public.type = EV_MBOX_BITMAP;
	a.order[0] = h;
	for (v = 0; v < n; v++) {
		a.list_of[v] = VCORE_TEST_INACTIVE;
		if (v != h)
			a.order[i++] = v;
	}
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_TEST_ARRANGE, &a));
	nr.node = node_b;
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SET_NODE, &nr));
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SEND_EVENT, &se));
	ASSERT_TRUE(WAIT_FOR(total_entries(VCORE_ENTRY_START) >= 1));
	usleep(100000);
	EXPECT_EQ(1, g.entries[h][VCORE_ENTRY_START])
		TH_LOG("head %u homed on node %d, pcores asked on node %d",
		       h, g.pi->vcoremap[h].home_node, node_b);
	EXPECT_EQ(1, g.pi->vcoremap[h].valid);
	EXPECT_NE(0, vcpd(h)->ev_mbox_public.evbm.check_bits);
}

TEST_F(vc, yield_is_refused_while_notif_pending)
{
	g.mode = MODE_YIELD_PENDING;
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.yield_tries > 0));
	EXPECT_EQ(-EAGAIN, g.yield_ret[g.yield_vcore]);
	EXPECT_EQ(1, g.pi->num_vcores);
	EXPECT_EQ(VCORE_PROC_RUNNING_M, g.pi->state);
}

/* As Akaros's: a yield that would leave fewer vcores than wanted. */
TEST_F(vc, yield_is_refused_while_the_process_wants_the_vcore)
{
	g.mode = MODE_YIELD_WANTED;
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.yield_tries > 0));
	EXPECT_EQ(-EAGAIN, g.yield_ret[g.yield_vcore]);
	EXPECT_EQ(1, g.pi->num_vcores);
	EXPECT_EQ(VCORE_PROC_RUNNING_M, g.pi->state);
}

TEST_F(vc, preemption_saves_the_context_and_fp_state)
{
	unsigned int n = self->nv, v;
	struct vcore_preempt r = { .target_fd = -1, .target_pid = getpid() };
	struct vcore_preempt_data *d;
	__u64 xmm7;

	ASSERT_TRUE(WAIT_FOR(want(n) == n &&
			     total_entries(VCORE_ENTRY_START) == n));
	for (v = 0; v < n; v++)
		ASSERT_TRUE(WAIT_FOR(!vcpd(v)->notif_disabled));
	r.vcoreid = 0;
	ASSERT_EQ(1, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == n - 1));
	d = vcpd(0);
	EXPECT_NE(0, d->flags & VC_PREEMPTED);
	EXPECT_EQ(0, d->flags & VC_K_LOCK);
	EXPECT_EQ(0, g.pi->vcoremap[0].valid);
	EXPECT_EQ(1, g.pi->vcoremap[0].nr_preempts_sent);
	EXPECT_EQ(1, g.pi->vcoremap[0].nr_preempts_done);
	/* preempted with notifications enabled: uthread_ctx, and the FP */
	EXPECT_TRUE(ctx_is_spin(&d->uthread_ctx));
	if (g.api.fp_state_size) {
		memcpy(&xmm7, d->preempt_fp.xsave + 160 + 7 * 16, 8);
		EXPECT_EQ(PAT(7), xmm7);
	}
	/* the pcore is free: the next grant restarts vcore 0 fresh */
	/* the pcore comes free just after the vcore leaves the list */
	ASSERT_TRUE(WAIT_FOR(want(n) == (int)n));
	ASSERT_TRUE(WAIT_FOR(total_entries(VCORE_ENTRY_START) == n + 1));
	EXPECT_EQ(0, vcpd(0)->flags & VC_PREEMPTED);
	EXPECT_NE(0, vcpd(0)->flags & VC_CAN_RCV_MSG);
	/* bulk: every vcore goes, onto the bulk-preempted list */
	r.flags = VCORE_PREEMPT_ALL;
	for (v = 0; v < n; v++)
		ASSERT_TRUE(WAIT_FOR(!vcpd(v)->notif_disabled));
	EXPECT_EQ(n, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == 0));
	EXPECT_EQ(VCORE_PROC_RUNNABLE_M, g.pi->state);
	ASSERT_TRUE(WAIT_FOR(want(n) == (int)n));
	ASSERT_TRUE(WAIT_FOR(total_entries(VCORE_ENTRY_START) == 2 * n + 1));
}

TEST_F(vc, preemption_in_vcore_context_continues_in_place)
{
	struct vcore_preempt r = { .target_fd = -1, .target_pid = getpid() };
	unsigned long loops;
	unsigned int v;

	g.stop = 1;		/* the vcore stays in vcore context */
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 &&
			     total_entries(VCORE_ENTRY_START) == 1));
	v = first_online();
	ASSERT_LT(v, self->nv);
	/* out of vt_spin, looping in vcore context */
	ASSERT_TRUE(WAIT_FOR(g.vc_loops[v] > 0));
	EXPECT_EQ(1, vcpd(v)->notif_disabled);
	r.vcoreid = v;
	ASSERT_EQ(1, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == 0));
	EXPECT_EQ(VCORE_CTX_HW, vcpd(v)->vcore_ctx.type);
	EXPECT_EQ(0, vcpd(v)->uthread_ctx.type);
	loops = g.vc_loops[v];
	usleep(50000);
	EXPECT_EQ(loops, g.vc_loops[v]);	/* stopped */
	/* granted again, it carries on in its loop: no new entry */
	ASSERT_TRUE(WAIT_FOR(want(1) == 1));
	ASSERT_TRUE(WAIT_FOR(g.vc_loops[v] > loops));
	EXPECT_EQ(1, total_entries(VCORE_ENTRY_START));
	EXPECT_EQ(0, total_entries(VCORE_ENTRY_RESUME));
}

/* Two MCPs want every pcore: each ends up with its share. */
TEST_F(vc, two_processes_share_the_pcores)
{
	unsigned int n = self->nv, share = (n + 1) / 2;
	volatile unsigned int *other = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned int mine;
	pid_t child;
	int status;

	ASSERT_NE(MAP_FAILED, other);
	if (n < 2)
		SKIP(return, "needs two managed pcores");
	child = fork();
	ASSERT_GE(child, 0);
	if (!child) {
		struct event_queue *q;
		struct event_mbox *mb;
		char *arena;

		memset(&g, 0, sizeof(g));
		if (vt_setup(VCORE_MAX_VCORES))
			_exit(1);
		/* the preemption warnings the kernel sends, in a bitmap */
		arena = map_arena();
		if (!arena)
			_exit(2);
		q = (struct event_queue *)arena;
		mb = (struct event_mbox *)(arena + 4096);
		mb->type = EV_MBOX_BITMAP;
		q->ev_mbox = (uintptr_t)mb;
		((struct vcore_procdata *)g.pd)->kernel_evts[EV_PREEMPT_PENDING] =
			(uintptr_t)q;
		for (;;) {
			*other = want(g.api.max_vcores);
			other[1] = (mb->evbm.bitmap[EV_PREEMPT_PENDING / 64] >>
				    (EV_PREEMPT_PENDING % 64)) & 1;
			usleep(2000);
		}
	}
	/* the other one takes everything first, then gives up its excess */
	ASSERT_TRUE(WAIT_FOR(*other == n));
	ASSERT_TRUE(WAIT_FOR(want(n) >= (int)(n / 2) &&
			     *other >= n / 2 && want(n) + *other == n));
	usleep(200000);
	/* stable: each keeps at least half, and neither takes the rest */
	mine = want(n);
	EXPECT_GE(mine, n / 2);
	EXPECT_LE(mine, share);
	EXPECT_EQ(n, mine + *other);
	/* as Akaros: warned of each preemption the policy made */
	EXPECT_EQ(1, other[1]);
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WAIT_FOR(want(n) == n));
}

TEST_F(vc, change_vcore_hands_the_pcore_over)
{
	unsigned int n = self->nv, me, to;
	__u32 pcore;

	if (n < 3)
		SKIP(return, "needs three managed pcores");
	ASSERT_TRUE(WAIT_FOR(want(2) == 2 &&
			     total_entries(VCORE_ENTRY_START) == 2));
	g.changer = -1;
	g.change_to = -1;
	g.change_ret[2] = 1;
	g.mode = MODE_CHANGE;
	g.stop = 1;
	ASSERT_TRUE(WAIT_FOR(g.change_to >= 0));
	me = g.changer;
	to = g.change_to;
	pcore = g.pi->vcoremap[me].pcoreid;
	ASSERT_TRUE(WAIT_FOR(g.entries[to][VCORE_ENTRY_START] == 1));
	EXPECT_EQ(-EBUSY, g.change_ret[0]);
	EXPECT_EQ(-EINVAL, g.change_ret[1]);
	EXPECT_EQ(1, g.change_ret[2]);		/* did not return */
	EXPECT_EQ(2, g.pi->num_vcores);
	EXPECT_EQ(0, g.pi->vcoremap[me].valid);
	EXPECT_EQ(1, g.pi->vcoremap[to].valid);
	EXPECT_EQ(pcore, g.pi->vcoremap[to].pcoreid);
	EXPECT_EQ((int)pcore, g.last_cpu[to]);
	EXPECT_NE(0, vcpd(me)->flags & VC_PREEMPTED);
	EXPECT_EQ(VCORE_CTX_HW, vcpd(me)->vcore_ctx.type);
	EXPECT_EQ(0, vcpd(me)->vcore_ctx.rax);
	g.mode = MODE_SPIN;
	g.stop = 0;
}

/*
 * An ev_q with its own UCQ for the kernel's messages about vcores; NULL
 * if the arena cannot be had.
 */
static struct ucq *kevents_to_a_ucq(void)
{
	struct vcore_procdata *pd = g.pd;
	struct event_queue *q;
	struct event_mbox *mb;
	char *pg;

	if (!map_arena())
		return NULL;
	pg = vt_arena_pages(g.fd, 1);
	if (!pg)
		return NULL;
	q = (struct event_queue *)pg;
	mb = (struct event_mbox *)(pg + 512);
	mb->type = EV_MBOX_UCQ;
	if (vt_ucq_init(g.fd, &mb->ucq))
		return NULL;
	q->ev_mbox = (uintptr_t)mb;
	__atomic_store_n(&pd->kernel_evts[EV_VCORE_PREEMPT], (uintptr_t)q,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&pd->kernel_evts[EV_CHECK_MSGS], (uintptr_t)q,
			 __ATOMIC_RELEASE);
	return &mb->ucq;
}

/*
 * Akaros's change_to_vcore, both ways.  Without enable_my_notif the
 * caller looks preempted in vcore context: it resumes where it called,
 * and the target hears EV_VCORE_PREEMPT so that it recovers the caller.
 * With it, the caller restarts afresh, and the target hears only
 * EV_CHECK_MSGS.  Either message goes through the kernel_evts ev_q.
 */
static void change_and_come_back(struct __test_metadata *_metadata,
				 unsigned int n, int restart)
{
	struct event_msg msg;
	unsigned int me, to;
	struct ucq *kq;

	if (n < 3)
		SKIP(return, "needs three managed pcores");
	kq = kevents_to_a_ucq();
	ASSERT_NE(NULL, kq);
	ASSERT_TRUE(WAIT_FOR(want(2) == 2 &&
			     total_entries(VCORE_ENTRY_START) == 2));
	g.changer = -1;
	g.change_to = -1;
	g.change_ret[2] = 1;
	g.change_restart = restart;
	g.mode = MODE_CHANGE;
	g.stop = 1;
	ASSERT_TRUE(WAIT_FOR(g.change_to >= 0));
	me = g.changer;
	to = g.change_to;
	ASSERT_TRUE(WAIT_FOR(g.entries[to][VCORE_ENTRY_START] == 1));
	ASSERT_EQ(1, vt_ucq_get(g.fd, kq, &msg, NULL));
	EXPECT_EQ(restart ? EV_CHECK_MSGS : EV_VCORE_PREEMPT, msg.ev_type);
	EXPECT_EQ(me, msg.ev_arg2);
	EXPECT_EQ(0, vt_ucq_get(g.fd, kq, &msg, NULL));
	EXPECT_NE(0, vcpd(me)->flags & VC_PREEMPTED);
	/* granted again: preempted vcores first */
	ASSERT_TRUE(WAIT_FOR(want(3) == 3 && g.pi->vcoremap[me].valid));
	if (restart) {
		ASSERT_TRUE(WAIT_FOR(g.entries[me][VCORE_ENTRY_START] == 2));
		EXPECT_EQ(1, g.change_ret[2]);	/* never returned */
	} else {
		ASSERT_TRUE(WAIT_FOR(g.change_ret[2] == 0));
		EXPECT_EQ(1, g.entries[me][VCORE_ENTRY_START]);
	}
	EXPECT_EQ(0, vcpd(me)->flags & VC_PREEMPTED);
	g.mode = MODE_SPIN;
	g.stop = 0;
}

TEST_F(vc, change_vcore_resumes_the_caller_and_tells_the_target_to_recover_it)
{
	change_and_come_back(_metadata, self->nv, 0);
}

TEST_F(vc, change_vcore_with_enable_my_notif_restarts_the_caller_afresh)
{
	change_and_come_back(_metadata, self->nv, 1);
}

TEST_F(vc, notification_to_a_vcore_in_a_syscall_waits_for_its_return)
{
	struct vcore_self_notify s = { 0 };
	unsigned int v, sleeps;

	/* in syscalls until the end: a late look still finds it asleep */
	g.sleep_again = 1;
	g.mode = MODE_SLEEP;
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.sleeping == 1));
	/* at the start of a sleep, so that the 50 ms below fall in it */
	sleeps = g.sleeps;
	ASSERT_TRUE(WAIT_FOR(g.sleeps != sleeps));
	v = first_online();
	ASSERT_LT(v, self->nv);
	s.vcoreid = v;
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SELF_NOTIFY, &s));
	usleep(50000);
	EXPECT_EQ(1, g.sleeping);		/* still in nanosleep */
	EXPECT_EQ(0, g.entries[v][VCORE_ENTRY_NOTIFY]);
	/* on the way out of the syscall: nanosleep's 0 is in the context */
	ASSERT_TRUE(WAIT_FOR(g.entries[v][VCORE_ENTRY_NOTIFY] == 1));
	EXPECT_EQ(1, g.sleeping);
	EXPECT_EQ(VCORE_CTX_HW, vcpd(v)->uthread_ctx.type);
	EXPECT_EQ(0, vcpd(v)->uthread_ctx.rax);
	g.sleep_again = 0;
	g.mode = MODE_SPIN;
}

TEST_F(vc, warned_preemption_lets_a_nice_yield_through)
{
	struct vcore_preempt r = { .target_fd = -1, .target_pid = getpid(),
				   .flags = VCORE_PREEMPT_WARN,
				   .warn_ns = 1000000000 };
	unsigned int v;

	g.mode = MODE_NICE;
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.nice_eagain > 2));
	v = first_online();
	ASSERT_LT(v, self->nv);
	EXPECT_EQ(0, g.pi->vcoremap[v].preempt_pending);
	EXPECT_EQ(1, g.pi->num_vcores);
	r.vcoreid = v;
	ASSERT_EQ(1, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == 0));
	EXPECT_EQ(0, g.pi->vcoremap[v].preempt_pending);
	EXPECT_EQ(0, g.pi->vcoremap[v].nr_preempts_done);
	/* it still wants the vcore: not WAITING, which only a wakeup ends */
	EXPECT_EQ(VCORE_PROC_RUNNABLE_M, g.pi->state);
}

TEST_F(vc, tracepoints_follow_an_event_and_a_notification)
{
	struct vcore_self_notify s = { 0 };
	struct vcore_send_event se = { .ev_q = 0 };
	struct vcore_procdata *pd = g.pd;
	static char buf[1 << 20];
	char pidstr[32];
	unsigned int v;
	ssize_t n;
	int fd;

	if (vt_tracefs_write("events/vcore/enable", "1"))
		SKIP(return, "no tracefs");
	ASSERT_EQ(0, vt_tracefs_write("trace", ""));
	ASSERT_EQ(0, vt_tracefs_write("tracing_on", "1"));
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 &&
			     total_entries(VCORE_ENTRY_START) == 1));
	v = first_online();
	ASSERT_LT(v, self->nv);
	ASSERT_TRUE(WAIT_FOR(!vcpd(v)->notif_disabled));
	s.vcoreid = v;
	ASSERT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SELF_NOTIFY, &s));
	ASSERT_TRUE(WAIT_FOR(g.entries[v][VCORE_ENTRY_NOTIFY] == 1));
	/* refused before any send: no ev_q there */
	EXPECT_EQ(-EFAULT, vt_ioctl(g.fd, VCORE_IOC_SEND_EVENT, &se));
	/* a zeroed ev_q in procdata: a send to vcore 0's VCPD mbox */
	se.ev_q = (uintptr_t)pd->resv;
	EXPECT_EQ(0, vt_ioctl(g.fd, VCORE_IOC_SEND_EVENT, &se));
	ASSERT_EQ(0, vt_tracefs_write("events/vcore/enable", "0"));
	fd = open("/sys/kernel/tracing/trace", O_RDONLY);
	ASSERT_GE(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_GT(n, 0);
	buf[n] = 0;
	snprintf(pidstr, sizeof(pidstr), "pid=%d ", getpid());
	EXPECT_NE(NULL, strstr(buf, "vcore_grant: "));
	EXPECT_NE(NULL, strstr(buf, "vcore_ipi: "));
	EXPECT_NE(NULL, strstr(buf, "vcore_notify: "));
	EXPECT_NE(NULL, strstr(buf, "vcore_send: "));
	EXPECT_NE(NULL, strstr(buf, pidstr));
}

/*
 * Every vcore has yielded (WAITING); a thread that is no vcore asks for
 * one (POKE with amt_wanted 1): the process wakes and gets it.  A POKE
 * asking for none leaves it WAITING.
 */
TEST_F(vc, a_request_from_another_thread_wakes_a_waiting_process)
{
	ASSERT_TRUE(WAIT_FOR(want(1) == 1));
	ASSERT_TRUE(yield_all());
	g.mode = MODE_SPIN;
	g.stop = 0;
	EXPECT_EQ(0, want(0));
	usleep(100000);
	EXPECT_EQ(VCORE_PROC_WAITING, g.pi->state);
	EXPECT_EQ(0, g.pi->num_vcores);
	want(1);
	EXPECT_TRUE(WAIT_FOR(g.pi->num_vcores == 1 &&
			     g.pi->state == VCORE_PROC_RUNNING_M));
}

/*
 * A warning's deadline is now + warn_ns in TSC cycles: 0, 1 and the bound
 * are accepted and land in preempt_pending; past the bound is EINVAL (the
 * conversion to cycles would not fit in 64 bits).
 */
TEST_F(vc, preempt_warning_deadline_is_bounded)
{
	static const unsigned long long ok[] = {
		0, 1, VCORE_PREEMPT_WARN_MAX_NS,
	};
	static const unsigned long long bad[] = {
		VCORE_PREEMPT_WARN_MAX_NS + 1, 1ULL << 63, ~0ULL,
	};
	struct vcore_preempt r = { .target_fd = -1, .target_pid = getpid(),
				   .flags = VCORE_PREEMPT_WARN };
	unsigned long long freq = g.pi->tsc_freq, pending, now, ticks;
	unsigned int v, i;

	ASSERT_TRUE(WAIT_FOR(want(1) == 1 && first_online() < self->nv));
	v = first_online();
	r.vcoreid = v;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r.warn_ns = bad[i];
		EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
		r.flags |= VCORE_PREEMPT_ALL;
		EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
		r.flags &= ~VCORE_PREEMPT_ALL;
		EXPECT_EQ(0, g.pi->vcoremap[v].preempt_pending);
	}
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		r.warn_ns = ok[i];
		ASSERT_EQ(1, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
		now = __builtin_ia32_rdtsc();
		pending = g.pi->vcoremap[v].preempt_pending;
		EXPECT_EQ(1, pending & 1);
		if (!freq)
			continue;
		ticks = (unsigned __int128)ok[i] * freq / 1000000000ULL;
		/* set before we read the TSC, at most a minute before */
		EXPECT_LE(pending, now + ticks + 1);
		EXPECT_GE(pending + 60 * freq * vt_time_scale(), now + ticks);
	}
	/* without the warning flag warn_ns means nothing */
	r.flags = 0;
	r.warn_ns = ~0ULL;
	EXPECT_EQ(1, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	EXPECT_TRUE(WAIT_FOR(g.pi->vcoremap[v].nr_preempts_done == 1));
}

TEST_F(vc, preempt_needs_cap_sys_nice_and_a_target)
{
	struct vcore_preempt r = { .target_fd = -1, .target_pid = 0 };

	EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	r.target_pid = 0x7ffffff0;
	EXPECT_EQ(-ESRCH, vt_ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	r.target_pid = getpid();
	r.vcoreid = self->nv;
	EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
	r.vcoreid = 0;
	r.flags = 0x80;
	EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
}

TEST(attach_checks_its_arguments)
{
	struct vcore_attach a = { .vcoreid = 0 };
	struct vcore_yield y = { 0 };
	char *stack = aligned_alloc(64, STACK_SZ);
	pthread_t t;

	if (access(VCORE_DEV, F_OK))
		SKIP(return, "module not loaded");
	memset(&g, 0, sizeof(g));
	ASSERT_EQ(0, vt_setup(0));
	ASSERT_NE(NULL, stack);
	/* no entry yet, then a misaligned stack */
	EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_VCORE_ATTACH, &a));
	vcpd(0)->vcore_entry = (uintptr_t)vt_entry;
	vcpd(0)->vcore_stack = (uintptr_t)(stack + STACK_SZ - 8);
	EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_VCORE_ATTACH, &a));
	vcpd(0)->vcore_stack = (uintptr_t)(stack + STACK_SZ);
	a.flags = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_VCORE_ATTACH, &a));
	a.flags = 0;
	a.vcoreid = g.api.max_vcores;
	EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_VCORE_ATTACH, &a));
	/* a thread takes vcore 0; once it runs, vcore 0 is taken */
	ASSERT_EQ(0, pthread_create(&t, NULL, vcore_thread, (void *)0));
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.entries[0][0] == 1));
	a.vcoreid = 0;
	EXPECT_EQ(-EBUSY, vt_ioctl(g.fd, VCORE_IOC_VCORE_ATTACH, &a));
	/* this thread is no vcore */
	EXPECT_EQ(-EPERM, vt_ioctl(g.fd, VCORE_IOC_YIELD, &y));
	y.flags = 0x10;
	EXPECT_EQ(-EINVAL, vt_ioctl(g.fd, VCORE_IOC_YIELD, &y));
}

/*
 * Exit (and kill -9) with every vcore online, notifications and
 * preemptions in flight.
 */
TEST(exit_with_vcores_online_frees_everything)
{
	long procs0, bytes0, procs, bytes;
	int i, status;

	if (access(VCORE_DEV, F_OK))
		SKIP(return, "module not loaded");
	ASSERT_EQ(0, vt_read_live(&procs0, &bytes0));
	for (i = 0; i < 20; i++) {
		pid_t child = fork();

		ASSERT_GE(child, 0);
		if (!child) {
			struct vcore_self_notify s = { 0 };
			unsigned int n;

			memset(&g, 0, sizeof(g));
			if (vt_setup(VCORE_MAX_VCORES))
				_exit(1);
			n = g.api.max_vcores;
			while (want(n) < (int)n)
				usleep(1000);
			for (;;) {
				struct vcore_preempt r = {
					.target_fd = -1, .target_pid = getpid(),
					.vcoreid = s.vcoreid,
				};

				s.vcoreid = (s.vcoreid + 1) % n;
				vt_ioctl(g.fd, VCORE_IOC_SELF_NOTIFY, &s);
				/* preemptions in flight, and grants back */
				ioctl(g.fd, VCORE_IOC_PREEMPT, &r);
				want(n);
				if (i % 2)
					_exit(0);
			}
		}
		if (!(i % 2)) {
			usleep(20000);
			kill(child, SIGKILL);
		}
		ASSERT_EQ(child, waitpid(child, &status, 0));
		if (i % 2)
			EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	ASSERT_TRUE(WAIT_FOR(!vt_read_live(&procs, &bytes) &&
			     procs == procs0 && bytes == bytes0));
}

/* ---- exit in every state ---- */

enum { X_RUNNABLE_S, X_RUNNING_M, X_RUNNABLE_M, X_WAITING, X_IN_SYSCALL,
       X_PREEMPTING, X_CHANGING, X_NR };
static const char *const x_names[X_NR] = {
	"RUNNABLE_S", "RUNNING_M", "RUNNABLE_M", "WAITING",
	"a vcore in a syscall with a notification held",
	"a preemption in flight", "a change_vcore in flight",
};

/* Reach state @st; 0, or why not (an exit code). */
static int x_reach(unsigned int st)
{
	unsigned int n = g.api.max_vcores;
	struct vcore_preempt r = { .target_fd = g.fd, .flags = VCORE_PREEMPT_ALL };
	struct vcore_self_notify sn = { 0 };

	if (!WAIT_FOR(__atomic_load_n(&g.attaching, __ATOMIC_SEQ_CST) == (int)n))
		return 40;
	usleep(20000);
	if (st == X_RUNNABLE_S)
		return g.pi->state == VCORE_PROC_RUNNABLE_S ? 0 : 41;
	if (st == X_IN_SYSCALL) {
		/* however late we look, it is in a syscall */
		g.sleep_again = 1;
		g.mode = MODE_SLEEP;
		if (!WAIT_FOR(want(1) == 1 && g.sleeping == 1))
			return 42;
		sn.vcoreid = first_online();
		return vt_ioctl(g.fd, VCORE_IOC_SELF_NOTIFY, &sn) ? 43 : 0;
	}
	if (st == X_CHANGING) {
		g.changer = -1;
		g.mode = MODE_CHANGE;
		return WAIT_FOR(want(1) == 1) ? 0 : 44;
	}
	if (!WAIT_FOR(want(n) == (int)n && total_entries(VCORE_ENTRY_START) >= n))
		return 45;
	switch (st) {
	case X_RUNNABLE_M:
		if (vt_ioctl(g.fd, VCORE_IOC_PREEMPT, &r) < 0)
			return 46;
		return WAIT_FOR(g.pi->state == VCORE_PROC_RUNNABLE_M) ? 0 : 47;
	case X_WAITING:
		g.mode = MODE_YIELD;
		g.stop = 1;
		return WAIT_FOR(g.pi->state == VCORE_PROC_WAITING) ? 0 : 48;
	case X_PREEMPTING: {
		/* no waiting: the preemption is still on its way */
		int ret = vt_ioctl(g.fd, VCORE_IOC_PREEMPT, &r);

		if (ret < 0)
			fprintf(stderr, "PREEMPT of every vcore: %s\n",
				strerror(-ret));
		return ret < 0 ? 49 : 0;
	}
	default:
		return g.pi->state == VCORE_PROC_RUNNING_M ? 0 : 50;
	}
}

/*
 * Exit in each state three ways: the main thread exits, a vcore exits
 * the process from vcore context (when one is online), or kill -9.  The
 * live counts are back to where they were each time.
 */
TEST_F_TIMEOUT(vc, exit_in_every_state_frees_everything, 600)
{
	long procs0, bytes0, procs, bytes;
	unsigned int st, how;

	/* this fixture's own MCP stays; children come and go */
	ASSERT_EQ(0, vt_read_live(&procs0, &bytes0));
	for (st = 0; st < X_NR; st++) {
		for (how = 0; how < 3; how++) {
			int pfd[2], status, code;
			pid_t child;
			char c = 0;

			ASSERT_EQ(0, pipe(pfd));
			child = fork();
			ASSERT_LE(0, child);
			if (!child) {
				close(g.fd);
				munmap(g.pi, g.api.procinfo_size);
				munmap(g.pd, g.api.procdata_size);
				memset(&g, 0, sizeof(g));
				if (vt_setup(VCORE_MAX_VCORES))
					_exit(30);
				code = x_reach(st);
				if (write(pfd[1], code ? "n" : "y", 1) != 1 || code)
					_exit(code ? code : 31);
				if (how == 1 && g.pi->num_vcores) {
					g.mode = MODE_EXIT;
					g.stop = 1;
				}
				if (how == 0 || (how == 1 && !g.pi->num_vcores))
					_exit(0);
				/* a vcore exits; grants for those preempted */
				for (code = 0; how == 1 && code < 1000; code++) {
					want(g.api.max_vcores);
					usleep(10000);
				}
				if (how == 1)
					_exit(0);
				for (;;)
					pause();
			}
			close(pfd[1]);
			EXPECT_EQ(1, read(pfd[0], &c, 1));
			close(pfd[0]);
			if (how == 2)
				kill(child, SIGKILL);
			ASSERT_EQ(child, waitpid(child, &status, 0));
			EXPECT_EQ('y', c) TH_LOG("%s: not reached (%d)", x_names[st],
						 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			if (how == 2) {
				EXPECT_TRUE(WIFSIGNALED(status));
			} else {
				EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
					TH_LOG("%s, way %u: status %#x", x_names[st], how, status);
			}
			EXPECT_TRUE(WAIT_FOR(!vt_read_live(&procs, &bytes) &&
					     procs == procs0 && bytes == bytes0))
				TH_LOG("%s, way %u: %ld procs, %ld bytes live", x_names[st],
				       how, procs, bytes);
		}
	}
}

TEST_HARNESS_MAIN
