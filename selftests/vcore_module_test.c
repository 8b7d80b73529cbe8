// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifetime: vcore.ko refuses to unload while any process holds its
 * device (an fd or a mapping) and unloads once the last one is gone.
 * Needs root and VCORE_KO, the path of the module to load again.  Leaves
 * the module loaded.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/vcore_test.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"

static int unload(void)
{
	return syscall(SYS_delete_module, "vcore", O_NONBLOCK) ? -errno : 0;
}

static int load(const char *params)
{
	const char *ko = getenv("VCORE_KO");
	int fd, ret;

	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

FIXTURE(module) {
	int unused;
};

FIXTURE_SETUP(module)
{
	if (geteuid() != 0 || !getenv("VCORE_KO"))
		SETUP_SKIP("needs root and VCORE_KO");
	if (access(VCORE_DEV, F_OK))
		SETUP_SKIP("module not loaded");
}

FIXTURE_TEARDOWN(module)
{
	/* whatever happened, leave the module loaded for what runs next */
	if (access(VCORE_DEV, F_OK))
		load("");
}

TEST_F(module, unload_refused_while_fd_open)
{
	int fd = vt_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EWOULDBLOCK, unload());
	close(fd);
}

TEST_F(module, unload_refused_while_mapped)
{
	struct vcore_api api;
	void *p;
	int fd = vt_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_handshake(fd, &api));
	p = mmap(NULL, api.procdata_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, (off_t)api.procdata_offset);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	EXPECT_EQ(-EWOULDBLOCK, unload());
	munmap(p, api.procdata_size);
}

TEST_F(module, unload_refused_while_a_child_holds_it)
{
	int pipefd[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = vt_open();

		close(pipefd[0]);
		if (write(pipefd[1], fd < 0 ? "n" : "y", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	ASSERT_EQ('y', c);
	EXPECT_EQ(-EWOULDBLOCK, unload());
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(pipefd[0]);
}

TEST_F(module, unload_and_reload_after_last_user)
{
	struct vcore_api api;
	int fd;

	EXPECT_EQ(0, unload());
	EXPECT_NE(0, access(VCORE_DEV, F_OK));
	ASSERT_EQ(0, load(""));
	fd = vt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, vt_handshake(fd, &api));
	close(fd);
}

TEST_F(module, bad_cpus_parameter_is_refused)
{
	ASSERT_EQ(0, unload());
	EXPECT_EQ(-EINVAL, load("cpus=nonsense"));
	EXPECT_EQ(-EINVAL, load("cpus=4095"));
	ASSERT_EQ(0, load("cpus=0"));
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load(""));
}

/* arena_max_mb is 1..65536: the arena's page count must fit its pagemap. */
TEST_F(module, arena_max_mb_is_bounded)
{
	struct vcore_setup su = { 0 };
	struct vcore_api api;
	int fd;

	ASSERT_EQ(0, unload());
	EXPECT_EQ(-EINVAL, load("arena_max_mb=0"));
	EXPECT_EQ(-EINVAL, load("arena_max_mb=65537"));
	EXPECT_EQ(-EINVAL, load("arena_max_mb=4294967295"));
	EXPECT_EQ(-ERANGE, load("arena_max_mb=18446744073709551615"));
	ASSERT_EQ(0, load("arena_max_mb=65536"));
	fd = vt_open();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vt_handshake(fd, &api));
	EXPECT_EQ(65536ULL << 20, api.arena_max_size);
	su.arena_size = api.arena_max_size + 4096;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_SETUP, &su));
	su.arena_size = ~0ULL - 4095;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_SETUP, &su));
	close(fd);
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load(""));
}

/* A parameter's value as /sys/module/vcore/parameters/ has it, no newline. */
static int param(const char *name, char *buf, size_t len)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/module/vcore/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The managed CPUs as procinfo's pcoremap has them, as a cpulist. */
static int managed_cpulist(char *buf, size_t len)
{
	const struct vcore_procinfo *pi;
	struct vcore_api api;
	unsigned int cpu, first;
	size_t n = 0;
	int fd = vt_open();

	buf[0] = '\0';
	if (fd < 0 || vt_handshake(fd, &api))
		return -1;
	pi = mmap(NULL, api.procinfo_size, PROT_READ, MAP_SHARED, fd,
		  (off_t)api.procinfo_offset);
	if (pi == MAP_FAILED) {
		close(fd);
		return -1;
	}
	for (cpu = 0; cpu < pi->nr_pcores; cpu++) {
		if (!pi->pcoremap[cpu].managed)
			continue;
		first = cpu;
		while (cpu + 1 < pi->nr_pcores && pi->pcoremap[cpu + 1].managed)
			cpu++;
		n += snprintf(buf + n, len - n, first == cpu ? "%s%u" : "%s%u-%u",
			      n ? "," : "", first, cpu);
	}
	munmap((void *)pi, api.procinfo_size);
	close(fd);
	return 0;
}

TEST_F(module, cpus_parameter_reads_the_managed_cpus)
{
	char got[256], want[256];

	/* as loaded for the run: without cpus=, every online CPU but 0 */
	ASSERT_EQ(0, param("cpus", got, sizeof(got)));
	ASSERT_EQ(0, managed_cpulist(want, sizeof(want)));
	EXPECT_STRNE("(null)", got);
	EXPECT_STREQ(want, got);
	/* and as given, in canonical form */
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load("cpus=1,0"));
	ASSERT_EQ(0, param("cpus", got, sizeof(got)));
	EXPECT_STREQ("0-1", got);
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load(""));
	ASSERT_EQ(0, param("cpus", got, sizeof(got)));
	ASSERT_EQ(0, managed_cpulist(want, sizeof(want)));
	EXPECT_STREQ(want, got);
}

TEST_F(module, mode_parameter_sets_the_device_mode)
{
	char got[16];
	struct stat st;

	ASSERT_EQ(0, param("mode", got, sizeof(got)));
	EXPECT_STREQ("0666", got);
	ASSERT_EQ(0, stat(VCORE_DEV, &st));
	EXPECT_EQ(0666, st.st_mode & 07777);
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load("mode=0660"));
	ASSERT_EQ(0, param("mode", got, sizeof(got)));
	EXPECT_STREQ("0660", got);
	ASSERT_EQ(0, stat(VCORE_DEV, &st));
	EXPECT_EQ(0660, st.st_mode & 07777);
	ASSERT_EQ(0, unload());
	EXPECT_EQ(-EINVAL, load("mode=04666"));
	EXPECT_EQ(-EINVAL, load("mode=rw"));
	ASSERT_EQ(0, load(""));
}

/* The module's reference count, as /sys/module/vcore/refcnt says; -1 if gone. */
static int refcnt(void)
{
	FILE *f = fopen("/sys/module/vcore/refcnt", "r");
	int n = -1;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

TEST_F(module, in_use_count_follows_the_users)
{
	int fd, n0 = refcnt();

	ASSERT_LE(0, n0);
	fd = vt_open();
	ASSERT_LE(0, fd);
	EXPECT_LT(n0, refcnt());
	EXPECT_EQ(-EWOULDBLOCK, unload());
	close(fd);
	EXPECT_EQ(n0, refcnt());
}

/* ---- load and unload with processes and events in flight ---- */

static struct {
	int fd;
	struct vcore_api api;
	char *pd, *arena;
} c;

void mt_entry_c(unsigned long vcoreid);
void mt_entry(void);
__asm__(
	".text\n"
	".globl mt_entry\n"
	"mt_entry:\n"
	"	and $-16, %rsp\n"
	"	call mt_entry_c\n"
	"	ud2\n");

/* Notifications on, and syscalls for them to land after. */
void mt_entry_c(unsigned long vcoreid)
{
	struct vcore_preempt_data *d = (void *)(c.pd + c.api.vcpd_offset +
						vcoreid * c.api.vcpd_size);

	__atomic_store_n(&d->notif_pending, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&d->notif_disabled, 0, __ATOMIC_SEQ_CST);
	for (;;)
		sched_yield();
}

static void *mt_attach(void *arg)
{
	struct vcore_attach a = { .vcoreid = (uintptr_t)arg };

	ioctl(c.fd, VCORE_IOC_VCORE_ATTACH, &a);
	return NULL;
}

static void *mt_produce(void *arg)
{
	struct vcore_test_produce p = {
		.ev_q = (uintptr_t)arg, .nr_producers = 2, .nr_msgs = 100000,
		.mode = VCORE_TEST_PRODUCE_HRTIMER,
	};

	for (;;) {
		ioctl(c.fd, VCORE_IOC_TEST_PRODUCE, &p);
		p.mode = !p.mode;
	}
	return NULL;
}

/*
 * Alarms armed on every CPU: from each CPU in turn a periodic alarm, and
 * a periodic per-vcore alarm (online-time or wall-clock) on every vcore,
 * all into @q.
 */
static void arm_alarms(struct event_queue *q)
{
	long cpu, n = sysconf(_SC_NPROCESSORS_ONLN);
	struct vcore_alarm a = { .ev_q = (uintptr_t)q, .period_ns = 200000 };
	unsigned int v;
	cpu_set_t set;

	for (cpu = 0; cpu < n; cpu++) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		a.id = cpu;
		ioctl(c.fd, VCORE_IOC_ALARM_SET, &a);
	}
	for (v = 0; v < c.api.max_vcores; v++) {
		a.id = 1000 + v;
		a.vcoreid = v;
		a.flags = VCORE_ALARM_VCORE | (v % 2 ? VCORE_ALARM_WALL : 0);
		ioctl(c.fd, VCORE_IOC_ALARM_SET, &a);
	}
	CPU_ZERO(&set);
	for (cpu = 0; cpu < n; cpu++)
		CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * An MCP with every kind of traffic until it is killed: kernel producers
 * into a UCQ nobody reads (it fills the arena: counted drops), alarms on
 * every CPU and vcore, vcores with notifications enabled,
 * self-notifications, and NOTIFYs to @peer.
 */
static void busy_mcp(pid_t peer, int ready)
{
	struct vcore_setup su = { .arena_size = 64 * 4096 };
	struct vcore_arena_alloc a = { .nr_pages = 3 };
	struct vcore_procdata *pd;
	struct event_queue *q;
	struct event_mbox *mb;
	unsigned int v;
	pthread_t t;

	c.fd = vt_open();
	if (c.fd < 0 || vt_handshake(c.fd, &c.api))
		_exit(1);
	c.pd = mmap(NULL, c.api.procdata_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, c.fd, c.api.procdata_offset);
	if (c.pd == MAP_FAILED || vt_ioctl(c.fd, VCORE_IOC_SETUP, &su))
		_exit(2);
	c.arena = mmap(NULL, su.arena_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, c.fd, c.api.arena_offset);
	if (c.arena == MAP_FAILED || vt_ioctl(c.fd, VCORE_IOC_ARENA_ALLOC, &a))
		_exit(3);
	q = (void *)(uintptr_t)a.addr;
	mb = (void *)(uintptr_t)(a.addr + 4096);
	mb->type = EV_MBOX_UCQ;
	mb->ucq.prod_idx = mb->ucq.cons_idx = a.addr + 8192;
	__atomic_store_n(&mb->ucq.ucq_ready, 1, __ATOMIC_RELEASE);
	q->ev_mbox = (uintptr_t)mb;
	q->ev_flags = EVENT_IPI | EVENT_INDIR | EVENT_SPAM_INDIR;
	pd = (void *)c.pd;
	pd->kernel_evts[EV_USER_IPI] = (uintptr_t)q;
	for (v = 0; v < c.api.max_vcores; v++) {
		struct vcore_preempt_data *d = (void *)(c.pd + c.api.vcpd_offset +
							v * c.api.vcpd_size);
		char *stack = aligned_alloc(64, 16384);

		d->vcore_entry = (uintptr_t)mt_entry;
		d->vcore_stack = (uintptr_t)(stack + 16384);
		pthread_create(&t, NULL, mt_attach, (void *)(uintptr_t)v);
	}
	pthread_create(&t, NULL, mt_produce, q);
	arm_alarms(q);
	pd->res_req[VCORE_RES_CORES].amt_wanted = c.api.max_vcores;
	if (write(ready, "r", 1) != 1)
		_exit(4);
	for (v = 0;; v++) {
		struct vcore_self_notify s = { .vcoreid = v % c.api.max_vcores };
		struct vcore_notify n = {
			.target_fd = -1, .target_pid = peer,
			.msg = { .ev_type = EV_USER_IPI },
		};

		ioctl(c.fd, VCORE_IOC_POKE);
		ioctl(c.fd, VCORE_IOC_SELF_NOTIFY, &s);
		if (peer > 0)
			ioctl(c.fd, VCORE_IOC_NOTIFY, &n);
		usleep(1000);
	}
}

/* Unload, waiting out references that go with exited processes. */
static int unload_settled(void)
{
	int i, r = -EWOULDBLOCK;

	for (i = 0; i < 1000 * (int)vt_time_scale() && r == -EWOULDBLOCK; i++) {
		r = unload();
		if (r == -EWOULDBLOCK)
			usleep(1000);
	}
	return r;
}

/*
 * 100 cycles: load with the test commands, two busy MCPs notifying each
 * other, unload refused while they live, kill both after 0-40 ms (times
 * VCORE_TEST_TIME_SCALE), unload.
 */
TEST_F_TIMEOUT(module, load_unload_cycles_with_traffic, 900)
{
	unsigned int scale = vt_time_scale();
	struct timespec t0, t1;
	int i, j, status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, unload());
	for (i = 0; i < 100; i++) {
		pid_t pids[2] = { 0, 0 };
		int rp[2];
		char ch;

		ASSERT_EQ(0, load("test=1")) TH_LOG("cycle %d", i);
		ASSERT_EQ(0, pipe(rp));
		for (j = 0; j < 2; j++) {
			pids[j] = fork();
			ASSERT_LE(0, pids[j]);
			if (!pids[j]) {
				close(rp[0]);
				busy_mcp(j ? pids[0] : 0, rp[1]);
			}
		}
		close(rp[1]);
		for (j = 0; j < 2; j++)
			EXPECT_EQ(1, read(rp[0], &ch, 1));
		close(rp[0]);
		/* busy for a while, then gone */
		usleep((i % 5) * 10000 * scale);
		EXPECT_EQ(-EWOULDBLOCK, unload());
		for (j = 0; j < 2; j++) {
			kill(pids[j], SIGKILL);
			ASSERT_EQ(pids[j], waitpid(pids[j], &status, 0));
		}
		ASSERT_EQ(0, unload_settled()) TH_LOG("cycle %d", i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("100 load/unload cycles with traffic in %ld ms",
	       (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	ASSERT_EQ(0, load(""));
}

TEST_HARNESS_MAIN
