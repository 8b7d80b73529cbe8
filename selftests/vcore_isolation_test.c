// SPDX-License-Identifier: GPL-2.0
/*
 * Isolation between processes.  An MCP belongs to the address space that
 * opened the device: its fd in another process (passed by SCM_RIGHTS or
 * inherited through fork) maps nothing and commands nothing (EPERM), and
 * reopening it through /proc/<pid>/fd makes a new MCP of the opener's own.
 * Another process reaches an MCP only through the documented paths: NOTIFY
 * by pid under kill(2)'s rule (EPERM across uids), NOTIFY by an fd of the
 * target's device (holding the fd is the permission), PREEMPT with
 * CAP_SYS_NICE.  Event queue addresses are always translated against the
 * sender's own regions: another process's ev_q addresses reach nothing of
 * the other process's.  Reading another process's memory is ptrace's
 * business (/proc/<pid>/mem, process_vm_readv), refused across uids.
 * Needs root.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/vcore_test.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"

#define PAGE		4096UL
#define ARENA		(64 * PAGE)
#define NOBODY		65534

struct mcp {
	int fd;
	struct vcore_api api;
	struct vcore_procinfo *pi;
	struct vcore_procdata *pd;
	char *arena;
	struct event_queue *q;		/* kernel_evts[EV_USER_IPI] */
	struct event_mbox *mb;		/* its mailbox, a bitmap */
	struct event_queue *uq;		/* an ev_q with a bitmap of its own */
	struct event_mbox *umb;
};

static void *pages(struct mcp *m, unsigned int n)
{
	return vt_arena_pages(m->fd, n);
}

static int mcp_open(struct mcp *m)
{
	struct vt_mcp r;
	int ret = vt_mcp_open(&r, ARENA);

	m->fd = r.fd;
	m->api = r.api;
	m->pi = r.pi;
	m->pd = r.pd;
	m->arena = r.arena;
	if (ret)
		return -1;
	m->mb = pages(m, 1);
	m->q = pages(m, 1);
	m->umb = pages(m, 1);
	m->uq = pages(m, 1);
	if (!m->mb || !m->q || !m->umb || !m->uq)
		return -1;
	m->mb->type = EV_MBOX_BITMAP;
	m->q->ev_mbox = (uintptr_t)m->mb;
	m->umb->type = EV_MBOX_BITMAP;
	m->uq->ev_mbox = (uintptr_t)m->umb;
	m->pd->kernel_evts[EV_USER_IPI] = (uintptr_t)m->q;
	return 0;
}

static int notify(int fd, int target_fd, pid_t pid)
{
	struct vcore_notify n = {
		.target_fd = target_fd, .target_pid = pid,
		.msg = { .ev_type = EV_USER_IPI },
	};

	return vt_ioctl(fd, VCORE_IOC_NOTIFY, &n);
}

static int send_to(int fd, void *evq, __u16 type)
{
	struct vcore_send_event s = {
		.ev_q = (uintptr_t)evq, .msg = { .ev_type = type },
	};

	return vt_ioctl(fd, VCORE_IOC_SEND_EVENT, &s);
}

static __u64 dropped(int fd, unsigned int why)
{
	struct vcore_stats st;

	if (vt_ioctl(fd, VCORE_IOC_GET_STATS, &st))
		return ~0ULL;
	return st.dropped[why];
}

/*
 * Every command and every region through @fd, an MCP of another process:
 * 0 if each is refused with EPERM, else a code saying which was not.
 */
static int all_refused(int fd, const struct vcore_api *api)
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
	const __u64 offs[] = { api->procinfo_offset, api->procdata_offset,
			       api->arena_offset };
	static char buf[8192];
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int r = vt_ioctl(fd, cmds[i], buf);

		/* test-only commands are unknown without test=1 */
		if (r != -EPERM && !(r == -ENOTTY && _IOC_NR(cmds[i]) >= 0x40))
			return 10 + i;
	}
	for (i = 0; i < 3; i++) {
		void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, offs[i]);

		if (p != MAP_FAILED || errno != EPERM)
			return 40 + i;
	}
	return 0;
}

static int send_fd(int sock, int fd)
{
	char c = 'f';
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u = { 0 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.b, .msg_controllen = sizeof(u.b),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.b, .msg_controllen = sizeof(u.b),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* What the other process reports: what it did to us, in its own terms. */
struct report {
	int code;
	__u64 addr_q, addr_uq;		/* our ev_qs' addresses, from us */
};

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

FIXTURE(iso) {
	struct mcp m;
};

FIXTURE_SETUP(iso)
{
	if (access(VCORE_DEV, F_OK) || geteuid())
		SETUP_SKIP("needs the module and root");
}

FIXTURE_TEARDOWN(iso)
{
}

/*
 * The child gets our fd by SCM_RIGHTS (as root, then as nobody): it can
 * neither command nor map our MCP, NOTIFY through the fd reaches us (the
 * fd is the permission), and our ev_q addresses in its own SEND_EVENT are
 * translated in its own regions and reach nothing of ours.
 */
static int scm_child(int sock, int as_nobody)
{
	struct mcp c;
	struct vcore_api api;
	__u64 addrs[2];
	int fd, r;

	fd = recv_fd(sock);
	if (fd < 0 || read(sock, &api, sizeof(api)) != sizeof(api) ||
	    read(sock, addrs, sizeof(addrs)) != sizeof(addrs))
		return 1;
	if (as_nobody && setresuid(NOBODY, NOBODY, NOBODY))
		return 2;
	r = all_refused(fd, &api);
	if (r)
		return r;
	if (mcp_open(&c))
		return 3;
	/* the documented path: an fd of the target's device */
	if (notify(c.fd, fd, 0))
		return 4;
	/* by pid, kill(2)'s rule: same uid yes, another uid EPERM */
	r = notify(c.fd, -1, getppid());
	if (r != (as_nobody ? -EPERM : 0))
		return 5;
	/* the target's ev_q addresses mean only our own memory here */
	send_to(c.fd, (void *)(uintptr_t)addrs[0], 9);
	send_to(c.fd, (void *)(uintptr_t)addrs[1], 9);
	munmap(c.arena, ARENA);
	if (send_to(c.fd, (void *)(uintptr_t)addrs[1], 9) != -EFAULT ||
	    dropped(c.fd, VCORE_DROP_BAD_EVQ) < 1)
		return 6;
	return 0;
}

static void scm_rights(struct __test_metadata *_metadata, struct mcp *m,
		       int as_nobody)
{
	__u64 addrs[2];
	int sv[2];
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	/* the child exists before our MCP: it shares nothing of it */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sv[0]);
		_exit(scm_child(sv[1], as_nobody));
	}
	close(sv[1]);
	ASSERT_EQ(0, mcp_open(m));
	addrs[0] = (uintptr_t)m->q;
	addrs[1] = (uintptr_t)m->uq;
	ASSERT_EQ(0, send_fd(sv[0], m->fd));
	ASSERT_EQ(sizeof(m->api), write(sv[0], &m->api, sizeof(m->api)));
	ASSERT_EQ(sizeof(addrs), write(sv[0], addrs, sizeof(addrs)));
	EXPECT_EQ(0, wait_child(pid));
	/* one NOTIFY by fd, one by pid unless refused; nothing else */
	EXPECT_EQ(1ULL << EV_USER_IPI, m->mb->evbm.bitmap[0]);
	EXPECT_EQ(0, m->umb->evbm.bitmap[0]);
	EXPECT_EQ(0, m->umb->evbm.check_bits);
	EXPECT_EQ(0, dropped(m->fd, VCORE_DROP_BAD_EVQ));
	close(sv[0]);
}

TEST_F(iso, fd_passed_by_scm_rights_same_uid)
{
	scm_rights(_metadata, &self->m, 0);
}

TEST_F(iso, fd_passed_by_scm_rights_other_uid)
{
	scm_rights(_metadata, &self->m, 1);
}

/*
 * A forked child holds our fd: refused the same way.  MADV_DOFORK lets it
 * share our procdata mapping (our choice, as for any shared mapping), and
 * its copy going away leaves our translation alone.
 */
TEST_F(iso, fd_inherited_through_fork)
{
	struct mcp *m = &self->m;
	pid_t pid;

	ASSERT_EQ(0, mcp_open(m));
	ASSERT_EQ(0, madvise(m->pd, m->api.procdata_size, MADV_DOFORK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int r = all_refused(m->fd, &m->api);

		if (r)
			_exit(r);
		/* the shared copy: written here, seen by the parent */
		m->pd->resv[0] = 0x1234;
		munmap(m->pd, m->api.procdata_size);
		_exit(0);
	}
	EXPECT_EQ(0, wait_child(pid));
	EXPECT_EQ(0x1234, m->pd->resv[0]);
	/* the kernel still translates our procdata: a VCPD mbox works */
	m->q->ev_mbox = (uintptr_t)&((struct vcore_preempt_data *)
			((char *)m->pd + m->api.vcpd_offset))->ev_mbox_public;
	((struct event_mbox *)(uintptr_t)m->q->ev_mbox)->type = EV_MBOX_BITMAP;
	EXPECT_EQ(0, send_to(m->fd, m->q, 9));
	EXPECT_EQ(1ULL << 9, ((struct event_mbox *)(uintptr_t)m->q->ev_mbox)->evbm.bitmap[0]);
	EXPECT_EQ(0, dropped(m->fd, VCORE_DROP_BAD_MBOX));
}

/* Reopening our fd through /proc/<pid>/fd gives the opener its own MCP. */
TEST_F(iso, reopen_through_proc_is_a_new_mcp)
{
	struct mcp *m = &self->m;
	char path[64];
	pid_t pid;

	ASSERT_EQ(0, mcp_open(m));
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), m->fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vcore_api api;
		struct vcore_procinfo *pi;
		int fd = open(path, O_RDWR);

		if (fd < 0 || vt_handshake(fd, &api))
			_exit(1);
		pi = mmap(NULL, api.procinfo_size, PROT_READ, MAP_SHARED, fd,
			  api.procinfo_offset);
		if (pi == MAP_FAILED || pi->pid != (__u32)getpid())
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(0, wait_child(pid));
	/* and our own process cannot open a second one that way */
	EXPECT_EQ(-1, open(path, O_RDWR));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ((__u32)getpid(), m->pi->pid);
}

/*
 * Another uid: NOTIFY by pid and PREEMPT are refused with EPERM, and our
 * memory is not readable through ptrace's paths.  The same uid (without
 * root) may notify.
 */
TEST_F(iso, other_uid_is_refused)
{
	struct mcp *m = &self->m;
	pid_t pid, me = getpid();

	ASSERT_EQ(0, mcp_open(m));
	m->pd->resv[0] = 0x5ec7e7;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vcore_preempt r = { .target_fd = -1, .target_pid = me };
		struct iovec local, remote;
		__u64 v = 0;
		char path[64];
		struct mcp c;

		if (setresuid(NOBODY, NOBODY, NOBODY) || mcp_open(&c))
			_exit(1);
		if (notify(c.fd, -1, me) != -EPERM)
			_exit(2);
		if (vt_ioctl(c.fd, VCORE_IOC_PREEMPT, &r) != -EPERM)
			_exit(3);
		snprintf(path, sizeof(path), "/proc/%d/mem", me);
		if (open(path, O_RDONLY) >= 0 || errno != EACCES)
			_exit(4);
		local.iov_base = &v;
		local.iov_len = sizeof(v);
		remote.iov_base = &m->pd->resv[0];
		remote.iov_len = sizeof(v);
		if (process_vm_readv(me, &local, 1, &remote, 1, 0) >= 0 ||
		    errno != EPERM || v)
			_exit(5);
		_exit(0);
	}
	EXPECT_EQ(0, wait_child(pid));
	EXPECT_EQ(0, m->mb->evbm.bitmap[0]);
}

/*
 * NOTIFY by pid checks the target's credentials as they are now, as
 * kill(2) does, not as they were when it opened the device: a target that
 * gave up root may be notified by its new uid, and one that became root
 * again (real uid nobody when it opened) may not be by nobody.
 */
static int target_changes_uid(int sv, uid_t r, uid_t e, uid_t s,
			      uid_t r2, uid_t e2, uid_t s2)
{
	struct mcp m;
	char c;
	int i;

	if (setresuid(r, e, s) || mcp_open(&m) || setresuid(r2, e2, s2) ||
	    write(sv, "r", 1) != 1 || read(sv, &c, 1) != 1)
		return 1;
	for (i = 0; i < 200 && !m.mb->evbm.bitmap[0]; i++)
		usleep(1000);
	return m.mb->evbm.bitmap[0] ? 10 : 0;	/* 10: notified */
}

static void notify_after_uid_change(struct __test_metadata *_metadata,
				    const uid_t ids[6], int want)
{
	int sv[2], status, got;
	pid_t t, s;
	char c;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	t = fork();
	ASSERT_LE(0, t);
	if (!t)
		_exit(target_changes_uid(sv[0], ids[0], ids[1], ids[2], ids[3],
					 ids[4], ids[5]));
	ASSERT_EQ(1, read(sv[1], &c, 1));
	s = fork();
	ASSERT_LE(0, s);
	if (!s) {
		struct mcp m;

		if (setresuid(NOBODY, NOBODY, NOBODY) || mcp_open(&m))
			_exit(1);
		got = notify(m.fd, -1, t);
		_exit(!got ? 0 : got == -EPERM ? 50 : 51);
	}
	got = wait_child(s);
	ASSERT_EQ(1, write(sv[1], "g", 1));
	ASSERT_EQ(t, waitpid(t, &status, 0));
	EXPECT_EQ(want, got);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(want ? 0 : 10, WEXITSTATUS(status));
	close(sv[0]);
	close(sv[1]);
}

TEST(notify_by_pid_follows_the_targets_uid_now)
{
	/* opened as root, then nobody throughout: nobody may notify */
	const uid_t dropped[6] = { 0, 0, 0, NOBODY, NOBODY, NOBODY };
	/* opened with real uid nobody, then root throughout: nobody may not */
	const uid_t regained[6] = { NOBODY, 0, 0, 0, 0, 0 };

	if (access(VCORE_DEV, F_OK) || geteuid())
		SKIP(return, "needs the module and root");
	notify_after_uid_change(_metadata, dropped, 0);
	notify_after_uid_change(_metadata, regained, 50);	/* EPERM */
}

TEST(same_uid_without_root_may_notify)
{
	int sv[2], status;
	pid_t a, b;
	char c;

	if (access(VCORE_DEV, F_OK) || geteuid())
		SKIP(return, "needs the module and root");
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	a = fork();
	ASSERT_LE(0, a);
	if (!a) {
		struct mcp m;
		int i;

		if (setresuid(NOBODY, NOBODY, NOBODY) || mcp_open(&m) ||
		    write(sv[0], "r", 1) != 1 || read(sv[0], &c, 1) != 1)
			_exit(1);
		for (i = 0; i < 1000 && !m.mb->evbm.bitmap[0]; i++)
			usleep(1000);
		_exit(m.mb->evbm.bitmap[0] == 1ULL << EV_USER_IPI ? 0 : 2);
	}
	ASSERT_EQ(1, read(sv[1], &c, 1));
	b = fork();
	ASSERT_LE(0, b);
	if (!b) {
		struct mcp m;

		if (setresuid(NOBODY, NOBODY, NOBODY) || mcp_open(&m))
			_exit(1);
		_exit(notify(m.fd, -1, a) ? 2 : 0);
	}
	EXPECT_EQ(0, wait_child(b));
	ASSERT_EQ(1, write(sv[1], "g", 1));
	ASSERT_EQ(a, waitpid(a, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
