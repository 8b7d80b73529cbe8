// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/vcore: the handshake, the ioctl dispatch rules, the mappings and
 * the one-MCP-per-process lifecycle.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/vcore_test.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"

#define PAGE 4096UL

FIXTURE(dev) {
	int fd;
	struct vcore_api api;
};

FIXTURE_SETUP(dev)
{
	self->fd = vt_open();
	if (self->fd < 0)
		SETUP_SKIP("%s: %s (module not loaded?)", VCORE_DEV,
			   strerror(errno));
	ASSERT_EQ(0, vt_handshake(self->fd, &self->api));
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

static void *map(int fd, __u64 off, size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, fd, (off_t)off);
}

/* ---- handshake ---- */

TEST_F(dev, api_reports_layout)
{
	const struct vcore_api *a = &self->api;
	size_t pd = 4096 + (size_t)a->max_vcores * a->vcpd_size;

	EXPECT_EQ(VCORE_API_VERSION, a->api);
	EXPECT_EQ(0, a->procinfo_size % PAGE);
	EXPECT_GE(a->procinfo_size, sizeof(struct vcore_procinfo));
	EXPECT_EQ(sizeof(struct vcore_procdata), a->vcpd_offset);
	EXPECT_EQ(sizeof(struct vcore_preempt_data), a->vcpd_size);
	EXPECT_EQ((pd + PAGE - 1) / PAGE * PAGE, a->procdata_size);
	EXPECT_GE(a->max_vcores, 1);
	EXPECT_LE(a->max_vcores, VCORE_MAX_VCORES);
	EXPECT_EQ(a->nr_pcores, a->max_vcores);
	EXPECT_EQ(VCORE_MAX_NR_EVENT, a->max_nr_event);
	EXPECT_EQ(0, a->flags);
	EXPECT_LE(a->fp_state_size, VCORE_FP_STATE_SIZE);
	EXPECT_NE(0, a->ioctls[0] & (1ULL << VCORE_IOC_NR_API));
	EXPECT_EQ(0, a->ioctls[1] & (1ULL << 63));
	/* the regions do not overlap */
	EXPECT_LE(a->procinfo_offset + a->procinfo_size, a->procdata_offset);
	EXPECT_LE(a->procdata_offset + a->procdata_size, a->arena_offset);
}

TEST_F(dev, api_twice_is_ebusy)
{
	struct vcore_api api;

	EXPECT_EQ(-EBUSY, vt_handshake(self->fd, &api));
}

TEST(api_wrong_version_is_einval)
{
	struct vcore_api api = { .api = VCORE_API_VERSION + 1 };
	int fd = vt_open();

	if (fd < 0)
		SKIP(return, "no %s", VCORE_DEV);
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_API, &api));
	api.api = 0;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_API, &api));
	/* a refused handshake leaves the fd usable */
	EXPECT_EQ(0, vt_handshake(fd, &api));
	close(fd);
}

TEST(api_unknown_flags_are_einval)
{
	struct vcore_api api = { .api = VCORE_API_VERSION, .flags = 1 };
	int fd = vt_open();

	if (fd < 0)
		SKIP(return, "no %s", VCORE_DEV);
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_API, &api));
	close(fd);
}

TEST(api_nonzero_reserved_is_einval)
{
	struct vcore_api api;
	int fd = vt_open();

	if (fd < 0)
		SKIP(return, "no %s", VCORE_DEV);
	memset(&api, 0, sizeof(api));
	api.api = VCORE_API_VERSION;
	api.resv[7] = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_API, &api));
	api.resv[7] = 0;
	api.features = 1;
	EXPECT_EQ(-EINVAL, vt_ioctl(fd, VCORE_IOC_API, &api));
	close(fd);
}

TEST(api_bad_pointer_is_efault)
{
	int fd = vt_open();

	if (fd < 0)
		SKIP(return, "no %s", VCORE_DEV);
	EXPECT_EQ(-EFAULT, vt_ioctl(fd, VCORE_IOC_API, NULL));
	EXPECT_EQ(-EFAULT, vt_ioctl(fd, VCORE_IOC_API, (void *)16));
	close(fd);
}

/* ---- dispatch ---- */

TEST_F(dev, unknown_ioctl_is_enotty)
{
	char buf[64] = { 0 };

	EXPECT_EQ(-ENOTTY, vt_ioctl(self->fd, _IO(VCORE_IOC_MAGIC, 0x3f), buf));
	EXPECT_EQ(-ENOTTY, vt_ioctl(self->fd, _IO(VCORE_IOC_MAGIC, 0xff), buf));
	EXPECT_EQ(-ENOTTY, vt_ioctl(self->fd,
				    _IOWR(VCORE_IOC_MAGIC + 1, 0,
					  struct vcore_api), buf));
	EXPECT_EQ(-ENOTTY, vt_ioctl(self->fd, TCGETS, buf));
}

TEST_F(dev, unsupported_commands_are_enotty_and_unadvertised)
{
	unsigned int nr;
	char buf[512] = { 0 };

	for (nr = 0; nr < 128; nr++) {
		if (self->api.ioctls[nr / 64] & (1ULL << (nr % 64)))
			continue;
		EXPECT_EQ(-ENOTTY, vt_ioctl(self->fd,
					    _IOWR(VCORE_IOC_MAGIC, nr,
						  struct vcore_api), buf));
	}
}

TEST_F(dev, wrong_size_or_direction_is_einval)
{
	char buf[512] = { 0 };

	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd,
				    _IOWR(VCORE_IOC_MAGIC, VCORE_IOC_NR_API,
					  char[8]), buf));
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd,
				    _IOWR(VCORE_IOC_MAGIC, VCORE_IOC_NR_API,
					  char[sizeof(struct vcore_api) + 8]),
				    buf));
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd,
				    _IOR(VCORE_IOC_MAGIC, VCORE_IOC_NR_API,
					 struct vcore_api), buf));
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd,
				    _IO(VCORE_IOC_MAGIC, VCORE_IOC_NR_API),
				    buf));
}

/* ---- mappings ---- */

TEST(mmap_before_handshake_is_ebadfd)
{
	int fd = vt_open();
	void *p;

	if (fd < 0)
		SKIP(return, "no %s", VCORE_DEV);
	p = map(fd, 0, PAGE, PROT_READ, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EBADFD, errno);
	close(fd);
}

TEST_F(dev, procinfo_publishes_process_and_pcores)
{
	const struct vcore_procinfo *pi;
	unsigned int cpu, managed = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	pi = map(self->fd, self->api.procinfo_offset, self->api.procinfo_size,
		 PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, pi);
	EXPECT_EQ((__u32)getpid(), pi->pid);
	EXPECT_EQ(VCORE_PROC_RUNNABLE_S, pi->state);
	EXPECT_EQ(0, pi->num_vcores);
	EXPECT_EQ(self->api.max_vcores, pi->max_vcores);
	EXPECT_EQ(0, pi->coremap_seq & 1);
	EXPECT_EQ((__u32)(ncpu < VCORE_MAX_PCORES ? ncpu : VCORE_MAX_PCORES),
		  pi->nr_pcores);
	for (cpu = 0; cpu < pi->nr_pcores; cpu++) {
		managed += pi->pcoremap[cpu].managed;
		EXPECT_EQ(0, pi->pcoremap[cpu].valid);
		EXPECT_GE(pi->pcoremap[cpu].numa_node, 0);
	}
	for (cpu = 0; cpu < VCORE_MAX_VCORES; cpu++)
		EXPECT_EQ(0, pi->vcoremap[cpu].valid);
	EXPECT_EQ(self->api.nr_pcores, managed);
	/* default policy: CPU 0 stays with Linux when there are others */
	if (ncpu > 1)
		EXPECT_EQ(0, pi->pcoremap[0].managed);
	munmap((void *)pi, self->api.procinfo_size);
}

TEST_F(dev, procinfo_writable_mapping_is_eperm)
{
	void *p = map(self->fd, self->api.procinfo_offset, PAGE,
		      PROT_READ | PROT_WRITE, MAP_SHARED);

	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
}

TEST_F(dev, procinfo_mprotect_to_writable_is_eacces)
{
	void *p = map(self->fd, self->api.procinfo_offset, PAGE, PROT_READ,
		      MAP_SHARED);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, PAGE);
}

TEST_F_SIGNAL(dev, procinfo_store_faults, SIGSEGV)
{
	volatile __u32 *p = map(self->fd, self->api.procinfo_offset, PAGE,
				PROT_READ, MAP_SHARED);

	ASSERT_NE(MAP_FAILED, (void *)p);
	p[0] = 1;
}

TEST_F(dev, procdata_is_shared_read_write)
{
	size_t len = self->api.procdata_size, i;
	__u64 *a, *b;

	a = map(self->fd, self->api.procdata_offset, len,
		PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, a);
	for (i = 0; i < len / 8; i++)
		EXPECT_EQ(0, a[i]);	/* fresh memory is zeroed */
	for (i = 0; i < len / 8; i++)
		a[i] = i * 0x9e3779b97f4a7c15ULL;
	/* a second mapping, of the second page on, sees the same memory */
	b = map(self->fd, self->api.procdata_offset + PAGE, len - PAGE,
		PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, b);
	for (i = 0; i < (len - PAGE) / 8; i++)
		if (b[i] != (i + PAGE / 8) * 0x9e3779b97f4a7c15ULL)
			break;
	EXPECT_EQ((len - PAGE) / 8, i);
	munmap(b, len - PAGE);
	munmap(a, len);
}

TEST_F(dev, private_mapping_is_einval)
{
	void *p = map(self->fd, self->api.procdata_offset, PAGE,
		      PROT_READ | PROT_WRITE, MAP_PRIVATE);

	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = map(self->fd, self->api.procinfo_offset, PAGE, PROT_READ,
		MAP_PRIVATE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, mapping_outside_a_region_is_einval)
{
	const struct vcore_api *a = &self->api;
	void *p;

	/* past the end of procinfo, of procdata, and between regions */
	p = map(self->fd, a->procinfo_offset, a->procinfo_size + PAGE,
		PROT_READ, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = map(self->fd, a->procdata_offset + a->procdata_size - PAGE,
		2 * PAGE, PROT_READ, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = map(self->fd, a->procdata_offset + a->procdata_size, PAGE,
		PROT_READ, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = map(self->fd, a->procinfo_offset + a->procinfo_size, PAGE,
		PROT_READ, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* no arena before VCORE_IOC_SETUP */
	p = map(self->fd, a->arena_offset, PAGE, PROT_READ, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

/* ---- one MCP per process ---- */

TEST_F(dev, second_open_is_ebusy)
{
	int fd2 = vt_open();

	EXPECT_EQ(-1, fd2);
	EXPECT_EQ(EBUSY, errno);
}

static void *open_in_thread(void *arg)
{
	int fd = vt_open();

	*(int *)arg = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	return NULL;
}

TEST_F(dev, second_open_from_another_thread_is_ebusy)
{
	pthread_t t;
	int err = -1;

	ASSERT_EQ(0, pthread_create(&t, NULL, open_in_thread, &err));
	pthread_join(t, NULL);
	EXPECT_EQ(EBUSY, err);
}

TEST(reopen_after_close_and_munmap)
{
	struct vcore_api api;
	void *p;
	int fd;

	fd = vt_open();
	if (fd < 0)
		SKIP(return, "no %s", VCORE_DEV);
	ASSERT_EQ(0, vt_handshake(fd, &api));
	p = map(fd, api.procdata_offset, PAGE, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	/* the mapping keeps the MCP alive */
	EXPECT_EQ(-1, vt_open());
	EXPECT_EQ(EBUSY, errno);
	munmap(p, PAGE);
	fd = vt_open();
	EXPECT_LE(0, fd);
	close(fd);
}

TEST_F(dev, forked_child_is_another_process)
{
	void *p = map(self->fd, self->api.procdata_offset, PAGE,
		      PROT_READ | PROT_WRITE, MAP_SHARED);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct vcore_api api = { .api = VCORE_API_VERSION };
		unsigned char vec;
		int fd;

		/* the inherited fd is not the child's MCP */
		if (vt_ioctl(self->fd, VCORE_IOC_API, &api) != -EPERM)
			_exit(1);
		if (map(self->fd, self->api.procdata_offset, PAGE, PROT_READ,
			MAP_SHARED) != MAP_FAILED || errno != EPERM)
			_exit(2);
		/* the parent's mapping is not inherited */
		if (mincore(p, PAGE, &vec) == 0 || errno != ENOMEM)
			_exit(3);
		/* and the child may become an MCP of its own */
		fd = vt_open();
		if (fd < 0 || vt_handshake(fd, &api))
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	munmap(p, PAGE);
}

struct mcp {
	int fd;
	struct vcore_api api;
	void *procinfo, *procdata;
};

/* Open, handshake, map both regions and touch procdata; 0 on success. */
static int become_mcp_and_map(struct mcp *m)
{
	m->fd = vt_open();
	if (m->fd < 0 || vt_handshake(m->fd, &m->api))
		return -1;
	m->procinfo = map(m->fd, m->api.procinfo_offset,
			  m->api.procinfo_size, PROT_READ, MAP_SHARED);
	m->procdata = map(m->fd, m->api.procdata_offset,
			  m->api.procdata_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED);
	if (m->procinfo == MAP_FAILED || m->procdata == MAP_FAILED)
		return -1;
	memset(m->procdata, 0xa5, m->api.procdata_size);
	return 0;
}

static void unmap_mcp(struct mcp *m)
{
	munmap(m->procinfo, m->api.procinfo_size);
	munmap(m->procdata, m->api.procdata_size);
}

FIXTURE(live) {
	long procs, bytes;
};

FIXTURE_SETUP(live)
{
	if (access(VCORE_DEV, R_OK | W_OK))
		SETUP_SKIP("no %s", VCORE_DEV);
	if (vt_read_live(&self->procs, &self->bytes))
		SETUP_SKIP("%s not readable (debugfs, root)", VCORE_LIVE);
}

FIXTURE_TEARDOWN(live)
{
}

TEST_F_TIMEOUT(live, open_close_cycles_free_everything, 240)
{
	long procs, bytes;
	struct mcp m;
	int i;

	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(0, become_mcp_and_map(&m));
		ASSERT_EQ(0, vt_read_live(&procs, &bytes));
		ASSERT_EQ(self->procs + 1, procs);
		ASSERT_EQ(self->bytes + (long)(m.api.procinfo_size +
					       m.api.procdata_size), bytes);
		if (i % 2) {
			/* close first: the mappings keep the MCP alive */
			close(m.fd);
			ASSERT_EQ(0, vt_read_live(&procs, &bytes));
			ASSERT_EQ(self->procs + 1, procs);
			unmap_mcp(&m);
		} else {
			unmap_mcp(&m);
			ASSERT_EQ(0, vt_read_live(&procs, &bytes));
			ASSERT_EQ(self->procs + 1, procs);
			close(m.fd);
		}
		ASSERT_EQ(0, vt_read_live(&procs, &bytes));
		ASSERT_EQ(self->procs, procs);
		ASSERT_EQ(self->bytes, bytes);
	}
}

TEST_F_TIMEOUT(live, process_exit_frees_everything, 240)
{
	long procs = -1, bytes = -1;
	int i, status;

	for (i = 0; i < 300; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct mcp m;

			/* exit holding the fd and both mappings */
			_exit(become_mcp_and_map(&m) < 0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	ASSERT_EQ(0, vt_read_live(&procs, &bytes));
	EXPECT_EQ(self->procs, procs);
	EXPECT_EQ(self->bytes, bytes);
}

/* ---- the benchmark's floor: a timed bare IPI (test=1) ---- */

TEST_F(dev, test_ipi_reaches_the_cpu_and_rejects_bad_input)
{
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct vcore_test_ipi t = { .cpu = ncpus > 1 ? 1 : 0 };

	if (!(self->api.features & VCORE_FEAT_TEST))
		SKIP(return, "needs the test build loaded with test=1");
	ASSERT_EQ(0, vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, &t));
	EXPECT_NE(0, t.tsc_recv);	/* the handler ran and stamped */
	EXPECT_NE(0, t.tsc_send);
	EXPECT_NE(0, t.tsc_done);
	t = (struct vcore_test_ipi){ .cpu = 1U << 30 };
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, &t));
	t = (struct vcore_test_ipi){ .flags = 1 };
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, &t));
	t = (struct vcore_test_ipi){ .resv = { 0, 1 } };
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, &t));
	EXPECT_EQ(-EFAULT, vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, NULL));
}

/* VCORE_TEST_IPI_TO_USER: a thread spinning on the target CPU lands here */
static int to_user_ready, to_user_stop, to_user_landed;	/* atomic */
static char to_user_stack[16384] __attribute__((aligned(64)));

__attribute__((noreturn, force_align_arg_pointer))
static void to_user_land(void)
{
	__atomic_store_n(&to_user_landed, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&to_user_stop, __ATOMIC_ACQUIRE))
		;
	/* its own stack is gone: leave without unwinding; join still works */
	syscall(SYS_exit, 0);
	__builtin_unreachable();
}

static void *to_user_spin(void *arg)
{
	vt_pin((int)(intptr_t)arg);
	__atomic_store_n(&to_user_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&to_user_stop, __ATOMIC_ACQUIRE))
		;
	return NULL;
}

TEST_F(dev, test_ipi_to_user_sends_a_spinning_thread_to_its_entry)
{
	__u64 top = (uintptr_t)to_user_stack + sizeof(to_user_stack);
	struct vcore_test_ipi t = { .cpu = 1, .flags = VCORE_TEST_IPI_TO_USER,
				    .resv = { (uintptr_t)to_user_land, top } };
	struct timespec ms = { 0, 1000000 };
	pthread_t th;
	int i;

	if (!(self->api.features & VCORE_FEAT_TEST))
		SKIP(return, "needs the test build loaded with test=1");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	t.resv[1] = top - 8;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, &t));
	t.resv[1] = top;
	t.resv[0] = 0;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, &t));
	t.resv[0] = ~0ULL << 47;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, &t));
	t.resv[0] = (uintptr_t)to_user_land;
	t.flags = 2;
	EXPECT_EQ(-EINVAL, vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, &t));
	t.flags = VCORE_TEST_IPI_TO_USER;

	ASSERT_EQ(0, pthread_create(&th, NULL, to_user_spin, (void *)1L));
	while (!__atomic_load_n(&to_user_ready, __ATOMIC_ACQUIRE))
		nanosleep(&ms, NULL);
	/* the spinner may be off its CPU for a moment: a miss is retried */
	for (i = 0; i < 5000 && !__atomic_load_n(&to_user_landed,
						   __ATOMIC_ACQUIRE); i++) {
		long r = vt_ioctl(self->fd, VCORE_IOC_TEST_IPI, &t);

		ASSERT_TRUE(r == 0 || r == -EBUSY) TH_LOG("TEST_IPI: %ld", r);
		nanosleep(&ms, NULL);
	}
	EXPECT_EQ(1, __atomic_load_n(&to_user_landed, __ATOMIC_ACQUIRE));
	__atomic_store_n(&to_user_stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
}

TEST_HARNESS_MAIN
