// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection at every allocation an operation on /dev/vcore makes,
 * the systematic way: for n = 1, 2, ... /proc/thread-self/fail-nth = n
 * fails the n-th allocation (slab or page) the calling thread makes, then
 * the operation runs; it must fail with ENOMEM or succeed, leave the live
 * counts where they were once its process lets go, and leave the MCP usable
 * (a retry succeeds and delivers events).  The loop ends when an operation
 * runs through with no fault left to inject.
 *
 * Every allocation the module makes happens in the calling task: open
 * (the MCP, its vcore arrays, procinfo and procdata, debugfs), mmap (page
 * tables through remap_vmalloc_range), SETUP (the arena and its page map),
 * TAP (the tap and its xarray slot) and the test-only commands.  UCQ pages
 * come from the arena's page map, never from the kernel's allocators; an
 * empty arena is the counted drop
 * VCORE_DROP_UCQ_NOMEM (vcore_event_test).  Vcore attach, grants, IPIs,
 * task work and the deferred free allocate nothing.
 *
 * Needs CONFIG_FAULT_INJECTION with failslab and fail_page_alloc in
 * debugfs (the debug kernel); elsewhere the test is skipped.  Needs root
 * and vcore.ko test=1.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <linux/vcore_test.h>

#include "kselftest_harness.h"
#include "vcore_test_util.h"

#define PAGE		4096UL
#define ARENA		(16 * PAGE)
#define MAX_NTH		5000

static int fnfd = -1;

/* Arm fail-nth for this thread: the n-th allocation from now fails. */
static int arm(unsigned int n)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%u", n);

	return pwrite(fnfd, b, l, 0) == l ? 0 : -errno;
}

/* Disarm; whether the armed fault was injected. */
static int fired(void)
{
	char b[16] = { 0 };
	int left;

	if (pread(fnfd, b, sizeof(b) - 1, 0) <= 0)
		return -1;
	left = atoi(b);
	if (pwrite(fnfd, "0", 1, 0) != 1)
		return -1;
	return left == 0;
}

/* ---- the debugfs knobs: every allocation may fail, quietly ---- */

struct knob {
	const char *path, *val;
	char old[32];
};

static struct knob knobs[] = {
	{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N", "" },
	{ "/sys/kernel/debug/failslab/verbose", "0", "" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N", "" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N", "" },
	{ "/sys/kernel/debug/fail_page_alloc/min-order", "0", "" },
	{ "/sys/kernel/debug/fail_page_alloc/verbose", "0", "" },
};

/* debugfs attribute files cannot seek: one open to read, one to write */
static int knob_rw(const char *path, char *old, size_t n, const char *val)
{
	int fd;
	ssize_t r;

	if (old) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		r = read(fd, old, n - 1);
		close(fd);
		if (r <= 0)
			return -1;
		old[r] = 0;
		old[strcspn(old, "\n")] = 0;
	}
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	r = write(fd, val, strlen(val));
	close(fd);
	return r == (ssize_t)strlen(val) ? 0 : -1;
}

/* NULL, or the knob that could not be set */
static const char *knobs_set(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (knob_rw(knobs[i].path, knobs[i].old, sizeof(knobs[i].old),
			    knobs[i].val))
			return knobs[i].path;
	return NULL;
}

static void knobs_restore(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (knobs[i].old[0])
			knob_rw(knobs[i].path, NULL, 0, knobs[i].old);
}

/* ---- the MCP an operation works on ---- */

struct st {
	int fd;
	struct vcore_api api;
	void *pi;
	char *pd, *arena;
	int api_done, setup_done;
};

static struct vcore_preempt_data *vcpd0(struct st *s)
{
	return (void *)(s->pd + s->api.vcpd_offset);
}

static int do_open(struct st *s)
{
	s->fd = vt_open();
	return s->fd < 0 ? -errno : 0;
}

static int do_api(struct st *s)
{
	int r = vt_handshake(s->fd, &s->api);

	s->api_done = !r;
	return r;
}

static void *map(struct st *s, __u64 off, size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, s->fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static int do_map_pi(struct st *s)
{
	s->pi = map(s, s->api.procinfo_offset, s->api.procinfo_size, PROT_READ);
	return s->pi ? 0 : -errno;
}

static int do_map_pd(struct st *s)
{
	s->pd = map(s, s->api.procdata_offset, s->api.procdata_size,
		    PROT_READ | PROT_WRITE);
	return s->pd ? 0 : -errno;
}

static int do_setup(struct st *s)
{
	struct vcore_setup a = { .arena_size = ARENA };
	int r = vt_ioctl(s->fd, VCORE_IOC_SETUP, &a);

	s->setup_done = !r;
	return r;
}

static int do_map_arena(struct st *s)
{
	s->arena = map(s, s->api.arena_offset, ARENA, PROT_READ | PROT_WRITE);
	return s->arena ? 0 : -errno;
}

static int (*const steps[])(struct st *) = {
	do_open, do_api, do_map_pi, do_map_pd, do_setup, do_map_arena,
};

static void teardown(struct st *s)
{
	if (s->pi)
		munmap(s->pi, s->api.procinfo_size);
	if (s->pd)
		munmap(s->pd, s->api.procdata_size);
	if (s->arena)
		munmap(s->arena, ARENA);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/*
 * The MCP works: an event through an ev_q in procdata (or the arena, once
 * mapped) lands in vcore 0's public mailbox, a bitmap.
 */
static int delivers(struct st *s)
{
	struct vcore_procdata *pd = (void *)s->pd;
	struct event_queue *q = (void *)&pd->resv[0];
	struct event_mbox *mb = &vcpd0(s)->ev_mbox_public;
	struct vcore_send_event e = { .msg = { .ev_type = 7 } };

	if (!s->pd)
		return 1;
	if (s->arena) {
		struct vcore_arena_alloc a = { .nr_pages = 1 };

		if (vt_ioctl(s->fd, VCORE_IOC_ARENA_ALLOC, &a))
			return 0;
		q = (void *)(uintptr_t)a.addr;
	}
	memset(mb, 0, sizeof(*mb));
	mb->type = EV_MBOX_BITMAP;
	memset(q, 0, sizeof(*q));
	q->ev_mbox = (uintptr_t)mb;
	e.ev_q = (uintptr_t)q;
	if (vt_ioctl(s->fd, VCORE_IOC_SEND_EVENT, &e))
		return 0;
	return mb->evbm.bitmap[0] == 1ULL << 7 && mb->evbm.check_bits;
}

static int live_is(long procs0, long bytes0)
{
	long procs, bytes;
	int i;

	for (i = 0; i < 500 * (int)vt_time_scale(); i++) {
		/* no fd tap outlives the operation that added it */
		if (!vt_read_live(&procs, &bytes) && procs == procs0 &&
		    bytes == bytes0 && !vt_read_live_taps())
			return 1;
		usleep(10000);
	}
	return 0;
}

/* One ioctl on a complete MCP; 0 or -errno. */
static int ioc_send(struct st *s)
{
	struct vcore_send_event e = {
		.ev_q = (uintptr_t)s->pd + 8, .msg = { .ev_type = 3 },
	};

	return vt_ioctl(s->fd, VCORE_IOC_SEND_EVENT, &e);
}

static int ioc_self_notify(struct st *s)
{
	struct vcore_self_notify n = { .msg = { .ev_type = 3 } };

	return vt_ioctl(s->fd, VCORE_IOC_SELF_NOTIFY, &n);
}

static int ioc_notify(struct st *s)
{
	struct vcore_notify n = {
		.target_fd = -1, .target_pid = getpid(),
		.msg = { .ev_type = EV_USER_IPI },
	};

	return vt_ioctl(s->fd, VCORE_IOC_NOTIFY, &n);
}

static int ioc_stats(struct st *s)
{
	struct vcore_stats st;

	return vt_ioctl(s->fd, VCORE_IOC_GET_STATS, &st);
}

static int ioc_arena(struct st *s)
{
	struct vcore_arena_alloc a = { .nr_pages = 2 };
	int r = vt_ioctl(s->fd, VCORE_IOC_ARENA_ALLOC, &a);

	return r ? r : vt_ioctl(s->fd, VCORE_IOC_ARENA_FREE, &a);
}

static int ioc_poke(struct st *s)
{
	return ioctl(s->fd, VCORE_IOC_POKE) < 0 ? -errno : 0;
}

static int ioc_preempt(struct st *s)
{
	struct vcore_preempt r = {
		.target_fd = s->fd, .flags = VCORE_PREEMPT_WARN,
	};
	int ret = vt_ioctl(s->fd, VCORE_IOC_PREEMPT, &r);

	return ret < 0 ? ret : 0;	/* a count of vcores warned */
}

static int ioc_kevent(struct st *s)
{
	struct vcore_test_kevent k = { .msg = { .ev_type = 3 } };

	return vt_ioctl(s->fd, VCORE_IOC_TEST_KEVENT, &k);
}

static int ioc_arrange(struct st *s)
{
	struct vcore_test_arrange a = { .state = VCORE_PROC_RUNNABLE_M };
	unsigned int v;

	for (v = 0; v < s->api.max_vcores; v++) {
		a.list_of[v] = VCORE_TEST_INACTIVE;
		a.order[v] = v;
	}
	return vt_ioctl(s->fd, VCORE_IOC_TEST_ARRANGE, &a);
}

static int ioc_produce(struct st *s)
{
	struct vcore_test_produce p = {
		.ev_q = (uintptr_t)s->pd + 8, .nr_producers = 2, .nr_msgs = 4,
	};

	return vt_ioctl(s->fd, VCORE_IOC_TEST_PRODUCE, &p);
}

/* Two alarms, a plain one and a per-vcore periodic one, then cancelled. */
static int ioc_alarm(struct st *s)
{
	struct timespec now;
	struct vcore_alarm a = { .ev_q = (uintptr_t)s->pd + 8, .id = 1 };
	struct vcore_alarm_cancel c = { .id = 1 };
	int r;

	clock_gettime(CLOCK_MONOTONIC, &now);
	a.deadline_ns = (now.tv_sec + 3600) * 1000000000ULL;
	r = vt_ioctl(s->fd, VCORE_IOC_ALARM_SET, &a);
	if (r)
		return r;
	a.id = 2;
	a.flags = VCORE_ALARM_VCORE;
	a.period_ns = 1000000;
	r = vt_ioctl(s->fd, VCORE_IOC_ALARM_SET, &a);
	if (r)
		return r;
	r = vt_ioctl(s->fd, VCORE_IOC_ALARM_CANCEL, &c);
	if (r < 0)
		return r;
	c.id = 2;
	r = vt_ioctl(s->fd, VCORE_IOC_ALARM_CANCEL, &c);
	return r < 0 ? r : 0;
}

/*
 * A tap on an eventfd, added, fired and removed: a failed ADD must leave
 * no tap behind (-EIO if REMOVE finds one; live_is() counts them too).
 */
static int ioc_tap(struct st *s)
{
	struct vcore_tap_req r = {
		.cmd = VCORE_TAP_ADD, .filter = VCORE_TAP_READABLE,
		.flags = VCORE_TAP_INITIAL, .ev_q = (uintptr_t)s->pd + 8,
		.ev_id = 3,
	};
	__u64 one = 1;
	int ret;

	r.fd = eventfd(0, EFD_CLOEXEC);
	if (r.fd < 0)
		return -errno;
	ret = vt_ioctl(s->fd, VCORE_IOC_TAP, &r);
	if (!ret && write(r.fd, &one, sizeof(one)) != sizeof(one))
		ret = -errno;
	memset(&r.filter, 0, sizeof(r) - sizeof(r.fd) - sizeof(r.cmd));
	r.cmd = VCORE_TAP_REMOVE;
	if (vt_ioctl(s->fd, VCORE_IOC_TAP, &r) != (ret ? -ENOENT : 0))
		ret = -EIO;
	close(r.fd);
	return ret;
}

struct op {
	const char *name;
	int (*fn)(struct st *s);
	unsigned int nr_pre;		/* steps[] done first, without faults */
};

static const struct op ops[] = {
	{ "open", do_open, 0 },
	{ "handshake", do_api, 1 },
	{ "mmap procinfo", do_map_pi, 2 },
	{ "mmap procdata", do_map_pd, 3 },
	{ "SETUP", do_setup, 4 },
	{ "mmap arena", do_map_arena, 5 },
	{ "SEND_EVENT", ioc_send, 6 },
	{ "SELF_NOTIFY", ioc_self_notify, 6 },
	{ "NOTIFY", ioc_notify, 6 },
	{ "GET_STATS", ioc_stats, 6 },
	{ "ARENA_ALLOC/FREE", ioc_arena, 6 },
	{ "POKE", ioc_poke, 6 },
	{ "PREEMPT (warning)", ioc_preempt, 6 },
	{ "ALARM_SET/CANCEL", ioc_alarm, 6 },
	{ "TEST_KEVENT", ioc_kevent, 6 },
	{ "TEST_ARRANGE", ioc_arrange, 6 },
	{ "TEST_PRODUCE", ioc_produce, 6 },
	{ "TAP", ioc_tap, 6 },
};

FIXTURE(fi) {
	int knobs_set;
};

FIXTURE_SETUP(fi)
{
	struct vcore_api api;
	const char *bad;
	int fd;

	if (access(VCORE_DEV, F_OK) || geteuid())
		SETUP_SKIP("needs the module and root");
	fd = vt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_handshake(fd, &api));
	close(fd);
	if (!(api.features & VCORE_FEAT_TEST))
		SETUP_SKIP("needs the test build loaded with test=1");
	fnfd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fnfd < 0)
		SETUP_SKIP("no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)");
	bad = knobs_set();
	if (bad) {
		knobs_restore();
		SETUP_SKIP("cannot set %s: %s", bad, strerror(errno));
	}
	self->knobs_set = 1;
}

FIXTURE_TEARDOWN(fi)
{
	if (self->knobs_set)
		knobs_restore();
	if (fnfd >= 0)
		close(fnfd);
}

TEST_F_TIMEOUT(fi, every_allocation_failure_is_clean, 900)
{
	unsigned int i, k, n, total = 0;
	long procs0, bytes0, procs1, bytes1;
	struct st s = { .fd = -1 };

	if (!self->knobs_set)
		return;		/* skipped in the set-up */
	ASSERT_EQ(0, vt_read_live(&procs0, &bytes0));
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const struct op *op = &ops[i];
		unsigned int failed = 0, swallowed = 0, injected = 0;

		for (n = 1; n <= MAX_NTH; n++) {
			int r, f;

			for (k = 0; k < op->nr_pre; k++)
				ASSERT_EQ(0, steps[k](&s)) TH_LOG("%s: step %u", op->name, k);
			ASSERT_EQ(0, vt_read_live(&procs1, &bytes1));
			ASSERT_EQ(0, arm(n));
			r = op->fn(&s);
			f = fired();
			ASSERT_LE(0, f);
			injected += f;
			if (r) {
				failed++;
				/* only an injected fault may fail it, with ENOMEM */
				EXPECT_TRUE(f && r == -ENOMEM)
					TH_LOG("%s, fault %u: %s", op->name, n, strerror(-r));
				/* nothing left behind by the failure */
				EXPECT_TRUE(live_is(procs1, bytes1))
					TH_LOG("%s, fault %u: live counts", op->name, n);
				/* and it can be done again */
				EXPECT_EQ(0, op->fn(&s))
					TH_LOG("%s, fault %u: retry", op->name, n);
			} else {
				swallowed += f;
			}
			/* the rest of the set-up works, and so does delivery */
			for (k = op->nr_pre + 1; k < 6 && op->nr_pre < 6; k++)
				EXPECT_EQ(0, steps[k](&s))
					TH_LOG("%s, fault %u: step %u after", op->name, n, k);
			EXPECT_TRUE(delivers(&s))
				TH_LOG("%s, fault %u: no delivery afterwards", op->name, n);
			teardown(&s);
			ASSERT_TRUE(live_is(procs0, bytes0))
				TH_LOG("%s, fault %u: live counts after close", op->name, n);
			if (!f)
				break;
		}
		ASSERT_GE(MAX_NTH, n) TH_LOG("%s: still injecting at %u", op->name, n);
		TH_LOG("%-18s %3u allocations failed in turn: %u failed with ENOMEM, %u absorbed",
		       op->name, injected, failed, swallowed);
		total += injected;
	}
	TH_LOG("%u faults injected in all", total);
}

TEST_HARNESS_MAIN
