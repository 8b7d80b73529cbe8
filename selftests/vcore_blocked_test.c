// SPDX-License-Identifier: GPL-2.0
/*
 * Vcore threads that block in the kernel: a plain blocking read() in vcore
 * context counts in kernel_blocks (VCORE_IOC_GET_STATS, debugfs, the
 * vcore_blocked tracepoint) for that vcore only; spinning, yielding and
 * being preempted do not.  The detector's notifier goes with its thread
 * on every path: thread exit (and a new thread on the same vcore), process
 * exit, kill -9, and the device closed by another thread while vcore
 * threads still run, when the module stays loaded until they have exited.
 * Driven through the ioctls directly, as vcore_vcore_test is.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"

#define STACK_SZ	(64 * 1024)
#define NV		3	/* vcores these tests use */
#define REFCNT		"/sys/module/vcore/refcnt"

enum { MODE_SPIN, MODE_READ, MODE_YIELD, MODE_EXIT };

/* One process's view, shared with its vcore threads. */
static struct {
	int fd;
	struct vcore_api api;
	struct vcore_procinfo *pi;
	void *pd;
	int pipe[2];			/* vcores read [0] in MODE_READ */
	volatile int mode[NV];		/* what each vcore does */
	volatile unsigned long entries[NV];
	volatile unsigned long loops[NV];
	volatile int tid[NV];
	volatile int reads[NV];		/* read() calls begun */
	volatile int read_done[NV];	/* and returned */
	volatile int attaching;
} g;

static struct vcore_preempt_data *vcpd(unsigned int v)
{
	return (void *)((char *)g.pd + g.api.vcpd_offset + v * g.api.vcpd_size);
}

/* Wait up to ~10 s (times vt_time_scale()) for cond. */
#define WAIT_FOR(cond) ({						\
	unsigned int __i, __n = 10000 * vt_time_scale();		\
	for (__i = 0; __i < __n && !(cond); __i++)			\
		usleep(1000);						\
	(cond);								\
})

void vb_entry_c(unsigned long vcoreid, unsigned long why);

/* The kernel starts us with rsp = vcore_stack (16-aligned). */
void vb_entry(void);
__asm__(
	".text\n"
	".globl vb_entry\n"
	"vb_entry:\n"
	"	and $-16, %rsp\n"
	"	call vb_entry_c\n"
	"	ud2\n");

/* Vcore context, notifications disabled throughout. */
void vb_entry_c(unsigned long v, unsigned long why)
{
	struct vcore_procdata *pd = g.pd;

	if (v >= NV)
		abort();
	g.tid[v] = (int)syscall(SYS_gettid);
	g.entries[v]++;
	for (;;) {
		switch (g.mode[v]) {
		case MODE_READ: {
			char c;

			g.reads[v]++;
			/* an empty pipe: a plain, blocking read */
			if (read(g.pipe[0], &c, 1) != 1)
				abort();
			g.mode[v] = MODE_SPIN;
			g.read_done[v]++;
			break;
		}
		case MODE_YIELD: {
			struct vcore_yield y = { 0 };

			/* returns only if refused; succeeds with nothing wanted */
			__atomic_store_n(&pd->res_req[VCORE_RES_CORES].amt_wanted,
					 0, __ATOMIC_SEQ_CST);
			vt_ioctl(g.fd, VCORE_IOC_YIELD, &y);
			break;
		}
		case MODE_EXIT:
			syscall(SYS_exit, 0);	/* this thread only */
			abort();
		default:
			g.loops[v]++;
			__builtin_ia32_pause();
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

static int start_thread(unsigned int v)
{
	pthread_t t;

	if (pthread_create(&t, NULL, vcore_thread, (void *)(uintptr_t)v))
		return -1;
	pthread_detach(t);
	return 0;
}

/* Open, map, set up NV vcores' entries and stacks, start @nr threads. */
static int vb_setup(unsigned int nr)
{
	unsigned int v;

	g.fd = vt_open();
	if (g.fd < 0 || vt_handshake(g.fd, &g.api) || pipe(g.pipe))
		return -1;
	if (g.api.max_vcores < NV || g.api.nr_pcores < 2)
		return -2;
	g.pi = mmap(NULL, g.api.procinfo_size, PROT_READ, MAP_SHARED, g.fd,
		    g.api.procinfo_offset);
	g.pd = mmap(NULL, g.api.procdata_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, g.fd, g.api.procdata_offset);
	if (g.pi == MAP_FAILED || g.pd == MAP_FAILED)
		return -1;
	for (v = 0; v < NV; v++) {
		char *stack = aligned_alloc(64, STACK_SZ);

		if (!stack)
			return -1;
		/* touched now: no fault on it in vcore context */
		memset(stack, 0, STACK_SZ);
		vcpd(v)->vcore_entry = (uintptr_t)vb_entry;
		vcpd(v)->vcore_stack = (uintptr_t)(stack + STACK_SZ);
	}
	/* no page faults in vcore context: they might sleep */
	mlockall(MCL_CURRENT);
	for (v = 0; v < nr; v++)
		if (start_thread(v))
			return -1;
	return WAIT_FOR(__atomic_load_n(&g.attaching, __ATOMIC_SEQ_CST) ==
			(int)nr) ? 0 : -1;
}

static int want(unsigned int n)
{
	struct vcore_procdata *pd = g.pd;

	__atomic_store_n(&pd->res_req[VCORE_RES_CORES].amt_wanted, n,
			 __ATOMIC_SEQ_CST);
	return ioctl(g.fd, VCORE_IOC_POKE);
}

static __u64 kernel_blocks(void)
{
	struct vcore_stats s;

	memset(&s, 0xff, sizeof(s));
	if (vt_ioctl(g.fd, VCORE_IOC_GET_STATS, &s))
		return ~0ULL;
	return s.kernel_blocks;
}

/* A line "name value" of this MCP's debugfs stats: 0 if absent, -1 unreadable. */
static long long dbg_stat(const char *name)
{
	FILE *f = vt_debugfs_open("stats");
	long long val, ret = 0;
	char key[64];

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &val) == 2)
		if (!strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

static long long dbg_vcore(unsigned int v)
{
	char name[32];

	snprintf(name, sizeof(name), "kernel_blocks_vcore%u", v);
	return dbg_stat(name);
}

/* The state letter of thread @tid of this process, or 0. */
static char thread_state(int tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Vcore @v reads the empty pipe; once it sleeps there, a byte wakes it.
 * 0, or -1 if it never got there or never came back.
 */
static int block_once(unsigned int v)
{
	int done = g.read_done[v];

	g.mode[v] = MODE_READ;
	if (!WAIT_FOR(g.reads[v] > done && thread_state(g.tid[v]) == 'S'))
		return -1;
	if (write(g.pipe[1], "x", 1) != 1)
		return -1;
	return WAIT_FOR(g.read_done[v] > done) ? 0 : -1;
}

static int module_refcnt(void)
{
	FILE *f = fopen(REFCNT, "r");
	int n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

#define SETUP_OR_SKIP(nr) do {						\
	int __r;							\
									\
	if (access(VCORE_DEV, F_OK))					\
		SKIP(return, "module not loaded");			\
	memset(&g, 0, sizeof(g));					\
	__r = vb_setup(nr);						\
	if (__r == -2)							\
		SKIP(return, "needs %d vcores and 2 pcores", NV);	\
	ASSERT_EQ(0, __r);						\
	/* every kernel with KVM has preempt notifiers: a missing bit fails */ \
	ASSERT_NE(0, g.api.features & VCORE_FEAT_KERNEL_BLOCKS)		\
		TH_LOG("kernel_blocks not counted");			\
} while (0)

/*
 * A vcore reading an empty pipe blocks in the kernel: kernel_blocks goes
 * up, debugfs shows it for that vcore and not for the one spinning next
 * to it, and vcore_blocked fires with its vcoreid.
 */
TEST(a_blocking_read_counts_for_its_vcore)
{
	static char buf[1 << 20];
	char want_str[64];
	int i, fd, tracing;
	ssize_t n;

	SETUP_OR_SKIP(2);
	ASSERT_TRUE(WAIT_FOR(want(2) == 2 && g.entries[0] && g.entries[1]));
	/* the wait in ATTACH and the grant were the module's own */
	EXPECT_EQ(0, kernel_blocks());
	EXPECT_EQ(0, dbg_stat("kernel_blocks"));
	tracing = !vt_tracefs_write("events/vcore/vcore_blocked/enable", "1") &&
		  !vt_tracefs_write("trace", "") &&
		  !vt_tracefs_write("tracing_on", "1");
	for (i = 1; i <= 3; i++) {
		ASSERT_EQ(0, block_once(0));
		EXPECT_LE(i, kernel_blocks());
		EXPECT_LE(i, dbg_stat("kernel_blocks"));
		EXPECT_LE(i, dbg_vcore(0));
	}
	EXPECT_EQ(kernel_blocks(), dbg_stat("kernel_blocks"));
	EXPECT_EQ(kernel_blocks(), dbg_vcore(0));
	/* the spinning one, and the main thread's sleeps: none */
	EXPECT_EQ(0, dbg_vcore(1));
	EXPECT_LT(0, g.loops[1]);
	if (!tracing)
		SKIP(return, "no tracefs");
	ASSERT_EQ(0, vt_tracefs_write("events/vcore/vcore_blocked/enable", "0"));
	fd = open("/sys/kernel/tracing/trace", O_RDONLY);
	ASSERT_GE(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_GT(n, 0);
	buf[n] = 0;
	snprintf(want_str, sizeof(want_str), "vcore_blocked: pid=%d vcoreid=0 ",
		 getpid());
	EXPECT_NE(NULL, strstr(buf, want_str));
	snprintf(want_str, sizeof(want_str), "vcore_blocked: pid=%d vcoreid=1 ",
		 getpid());
	EXPECT_EQ(NULL, strstr(buf, want_str));
}

/*
 * The module's own waits are not counted: the offline wait after a yield
 * (the process WAITING), after a preemption (in the task work), the wait
 * for a grant in ATTACH; nor is a vcore spinning.
 */
TEST(spinning_yielding_and_preemption_do_not_count)
{
	struct vcore_preempt r = { .target_fd = -1, .target_pid = getpid() };
	unsigned long loops, entries;
	int i;

	SETUP_OR_SKIP(1);
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.entries[0] == 1));
	for (i = 0; i < 3; i++) {
		entries = g.entries[0];
		g.mode[0] = MODE_YIELD;
		ASSERT_TRUE(WAIT_FOR(g.pi->state == VCORE_PROC_WAITING));
		g.mode[0] = MODE_SPIN;
		ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.entries[0] > entries));
	}
	/* VCORE_IOC_PREEMPT needs CAP_SYS_NICE */
	for (i = 0; i < 3 && !geteuid(); i++) {
		ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == 1));
		ASSERT_EQ(1, ioctl(g.fd, VCORE_IOC_PREEMPT, &r));
		ASSERT_TRUE(WAIT_FOR(g.pi->num_vcores == 0));
		loops = g.loops[0];
		/* granted again, it carries on in its loop */
		ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.loops[0] > loops));
	}
	EXPECT_EQ(0, kernel_blocks());
	EXPECT_EQ(0, dbg_stat("kernel_blocks"));
	EXPECT_EQ(0, dbg_vcore(0));
	/* and the detector still counts */
	ASSERT_EQ(0, block_once(0));
	EXPECT_LE(1, kernel_blocks());
}

/*
 * A vcore's thread exits from vcore context; a new thread attaches to the
 * vcore (the notifier in the vcore is registered again) and its blocks
 * count on.
 */
TEST(a_new_thread_on_an_exited_vcore_counts_on)
{
	unsigned long long before;

	SETUP_OR_SKIP(1);
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.entries[0] == 1));
	ASSERT_EQ(0, block_once(0));
	before = kernel_blocks();
	ASSERT_LE(1, before);
	g.mode[0] = MODE_EXIT;
	ASSERT_TRUE(WAIT_FOR(!g.pi->vcoremap[0].valid &&
			     thread_state(g.tid[0]) == 0));
	EXPECT_EQ(before, kernel_blocks());
	g.mode[0] = MODE_SPIN;
	ASSERT_EQ(0, start_thread(0));
	ASSERT_TRUE(WAIT_FOR(want(1) == 1 && g.entries[0] == 2));
	EXPECT_EQ(before, kernel_blocks());
	ASSERT_EQ(0, block_once(0));
	EXPECT_LT(before, kernel_blocks());
	EXPECT_EQ(kernel_blocks(), dbg_vcore(0));
}

/*
 * Process exit and kill -9 with a vcore asleep in read(), one spinning
 * and one waiting in ATTACH: everything goes, and so do the module
 * references the notifiers held.
 */
TEST(exit_and_kill_with_a_vcore_blocked_free_everything)
{
	long procs0, bytes0, procs, bytes;
	int how, ref0;

	if (access(VCORE_DEV, F_OK))
		SKIP(return, "module not loaded");
	ASSERT_EQ(0, vt_read_live(&procs0, &bytes0));
	ref0 = module_refcnt();
	for (how = 0; how < 4; how++) {
		int pfd[2], status;
		pid_t child;
		char c = 0;

		ASSERT_EQ(0, pipe(pfd));
		child = fork();
		ASSERT_LE(0, child);
		if (!child) {
			int ok;

			memset(&g, 0, sizeof(g));
			ok = !vb_setup(NV) &&
			     WAIT_FOR(want(2) == 2 && g.entries[0] &&
				      g.entries[1]);
			if (ok) {
				g.mode[0] = MODE_READ;
				ok = WAIT_FOR(g.reads[0] &&
					      thread_state(g.tid[0]) == 'S');
			}
			if (write(pfd[1], ok ? "y" : "n", 1) != 1 || !ok)
				_exit(1);
			if (how % 2)
				_exit(0);	/* the main thread exits all */
			for (;;)
				pause();
		}
		close(pfd[1]);
		EXPECT_EQ(1, read(pfd[0], &c, 1));
		close(pfd[0]);
		EXPECT_EQ('y', c);
		if (!(how % 2))
			kill(child, SIGKILL);
		ASSERT_EQ(child, waitpid(child, &status, 0));
		EXPECT_TRUE(WAIT_FOR(!vt_read_live(&procs, &bytes) &&
				     procs == procs0 && bytes == bytes0))
			TH_LOG("way %d: %ld procs, %ld bytes live", how, procs,
			       bytes);
		if (ref0 >= 0)
			EXPECT_TRUE(WAIT_FOR(module_refcnt() == ref0));
	}
}

static int unload(void)
{
	return syscall(SYS_delete_module, "vcore", O_NONBLOCK) ? -errno : 0;
}

/* An unload this test did not mean to make: load the module again. */
static void reload(void)
{
	const char *ko = getenv("VCORE_KO");
	int fd;

	if (!ko)
		return;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	syscall(SYS_finit_module, fd, "test=1", 0);
	close(fd);
}

/*
 * Another thread closes the device (and unmaps it) while vcore 0 sleeps
 * in read(), vcore 1 spins and vcore 2 waits offline after a preemption
 * (in the task work, outside any ioctl: a thread in ATTACH or YIELD would
 * hold the file open).  Vcore 2's thread is sent back to user space and
 * lets go of the module; the two that still run keep the MCP's memory and
 * the module, which cannot be unloaded until they exit.  Then nothing is
 * left.
 */
TEST(close_from_another_thread_keeps_the_module_until_the_threads_exit)
{
	long procs0, bytes0, procs, bytes;
	int ref0, status;
	pid_t child;

	if (access(VCORE_DEV, F_OK))
		SKIP(return, "module not loaded");
	ref0 = module_refcnt();
	if (ref0 < 0 || geteuid())
		SKIP(return, "needs root and " REFCNT);
	ASSERT_EQ(0, vt_read_live(&procs0, &bytes0));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		struct vcore_preempt r = { .target_fd = -1,
					   .target_pid = getpid(),
					   .vcoreid = 2 };
		unsigned long loops;
		int ret;

		memset(&g, 0, sizeof(g));
		if (vb_setup(NV))
			_exit(10);
		if (!(g.api.features & VCORE_FEAT_KERNEL_BLOCKS))
			_exit(9);
		if (g.api.nr_pcores < NV)
			_exit(11);
		if (!WAIT_FOR(want(NV) == NV && g.entries[0] && g.entries[1] &&
			      g.entries[2]))
			_exit(12);
		/* vcore 2 goes offline and stays: only two are wanted */
		want(NV - 1);
		if (ioctl(g.fd, VCORE_IOC_PREEMPT, &r) != 1 ||
		    !WAIT_FOR(!g.pi->vcoremap[2].valid))
			_exit(13);
		g.mode[0] = MODE_READ;
		if (!WAIT_FOR(g.reads[0] && thread_state(g.tid[0]) == 'S'))
			_exit(14);
		loops = g.loops[2];
		munmap(g.pi, g.api.procinfo_size);
		munmap(g.pd, g.api.procdata_size);
		close(g.fd);
		/* vcore 2's thread is back in its loop, a vcore no more */
		if (!WAIT_FOR(g.loops[2] > loops))
			_exit(15);
		/* the two others still hold it: the module stays */
		if (!WAIT_FOR(module_refcnt() == ref0 + 2))
			_exit(16);
		ret = unload();
		if (ret != -EWOULDBLOCK) {
			if (!ret)
				reload();
			_exit(17);
		}
		/* the reader wakes, in vcore context of a closed MCP */
		if (write(g.pipe[1], "x", 1) != 1 || !WAIT_FOR(g.read_done[0]))
			_exit(18);
		g.mode[0] = MODE_EXIT;
		g.mode[1] = MODE_EXIT;
		g.mode[2] = MODE_EXIT;
		if (!WAIT_FOR(!thread_state(g.tid[0]) &&
			      !thread_state(g.tid[1]) &&
			      !thread_state(g.tid[2])))
			_exit(19);
		if (!WAIT_FOR(module_refcnt() == ref0))
			_exit(20);
		if (!WAIT_FOR(!vt_read_live(&procs, &bytes) &&
			      procs == procs0 && bytes == bytes0))
			_exit(21);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 11)
		SKIP(return, "needs %d pcores", NV);
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_TRUE(WAIT_FOR(!vt_read_live(&procs, &bytes) &&
			     procs == procs0 && bytes == bytes0));
	EXPECT_TRUE(WAIT_FOR(module_refcnt() == ref0));
}

TEST_HARNESS_MAIN
