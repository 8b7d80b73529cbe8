// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifetime: vcore.ko refuses to unload while any process holds its
 * device (an fd or a mapping) and unloads once the last one is gone.
 * Needs root and VCORE_KO, the path of the module to load again.  Leaves
 * the module loaded.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

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
		SKIP(return, "needs root and VCORE_KO");
	if (access(VCORE_DEV, F_OK))
		SKIP(return, "module not loaded");
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

TEST_F_TIMEOUT(module, load_unload_cycles, 300)
{
	int i, fd;

	for (i = 0; i < 20; i++) {
		fd = vt_open();
		ASSERT_LE(0, fd);
		close(fd);
		ASSERT_EQ(0, unload());
		ASSERT_EQ(0, load(""));
	}
}

TEST_HARNESS_MAIN
