// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch.  Commands are looked up by number; a known number with
 * the wrong size or direction is -EINVAL, an unknown one -ENOTTY.  Every
 * command but VCORE_IOC_API needs the handshake first (-EBADFD) and must
 * come from the owning process (-EPERM).  Reserved fields and unknown
 * flags are -EINVAL.
 *
 * Every command's handler is here: it copies the argument in, checks its
 * flags and reserved fields, and calls the file that does the work
 * (proc.c, provision.c, vcore_run.c, kick.c, alarm.c, fdtap.c or the
 * portable core).
 */
#include <linux/capability.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/nodemask.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vcore_test.h>

#include "alarm.h"
#include "blocked.h"
#include "core/arena.h"
#include "core/event.h"
#include "core/vcores.h"
#include "fdtap.h"
#include "ioctl.h"
#include "kick.h"
#include "mmap.h"
#include "pcores.h"
#include "proc.h"
#include "provision.h"
#include "test.h"
#include "vcore_run.h"

struct vcore_cmd {
	unsigned int cmd;
	long (*fn)(struct vcore_proc *p, void __user *arg);
	bool test;		/* a test build's, only with test=1 */
};

/* The one check of a reserved field, scalar or array: all zero bytes. */
#define vcore_resv_zero(field) (!memchr_inv(&(field), 0, sizeof(field)))

static long vcore_ioc_api(struct vcore_proc *p, void __user *arg);

static long vcore_ioc_setup(struct vcore_proc *p, void __user *arg)
{
	struct vcore_setup s;

	if (copy_from_user(&s, arg, sizeof(s)))
		return -EFAULT;
	if (s.flags || !vcore_resv_zero(s.resv0) || !vcore_resv_zero(s.resv))
		return -EINVAL;
	return vcore_proc_setup_arena(p, s.arena_size);
}

static long vcore_ioc_arena_alloc(struct vcore_proc *p, void __user *arg)
{
	struct vcore_arena_alloc a;
	void *k;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~VCORE_ARENA_NODE) || a.addr || !a.nr_pages ||
	    !vcore_resv_zero(a.resv0) || !vcore_resv_zero(a.resv))
		return -EINVAL;
	if (a.flags & VCORE_ARENA_NODE ?
	    a.node < 0 || a.node >= nr_node_ids : a.node)
		return -EINVAL;
	if (!READ_ONCE(p->mcp.arena.r.uaddr))
		return -ENXIO;
	a.addr = mcp_arena_alloc_pages_node(&p->mcp, a.nr_pages,
					    a.flags & VCORE_ARENA_NODE ?
					    a.node : -1, &k);
	if (!a.addr)
		return -ENOMEM;
	if (copy_to_user(arg, &a, sizeof(a))) {
		mcp_arena_free_pages(&p->mcp, a.addr, a.nr_pages);
		return -EFAULT;
	}
	return 0;
}

static long vcore_ioc_arena_free(struct vcore_proc *p, void __user *arg)
{
	struct vcore_arena_alloc a;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.node || !vcore_resv_zero(a.resv0) ||
	    !vcore_resv_zero(a.resv))
		return -EINVAL;
	return mcp_arena_free_pages(&p->mcp, a.addr, a.nr_pages);
}

static long vcore_ioc_send_event(struct vcore_proc *p, void __user *arg)
{
	struct vcore_send_event s;

	if (copy_from_user(&s, arg, sizeof(s)))
		return -EFAULT;
	if (s.flags || !vcore_resv_zero(s.resv))
		return -EINVAL;
	/*
	 * The caller owns the ev_q: an address outside its regions is its
	 * error to hear about, and is counted.  A region unmapped after the
	 * one translation only sends into memory no one maps any more.
	 */
	if (!mcp_send_event_checked(&p->mcp, s.ev_q, &s.msg, s.vcoreid))
		return -EFAULT;
	return 0;
}

static long vcore_ioc_self_notify(struct vcore_proc *p, void __user *arg)
{
	struct vcore_self_notify s;

	if (copy_from_user(&s, arg, sizeof(s)))
		return -EFAULT;
	if ((s.flags & ~VCORE_SELF_NOTIFY_PRIVATE) || !vcore_resv_zero(s.resv))
		return -EINVAL;
	if (s.vcoreid >= p->mcp.max_vcores)
		return -EINVAL;
	mcp_post_vcore_event(&p->mcp, &s.msg, s.vcoreid,
			     s.flags & VCORE_SELF_NOTIFY_PRIVATE ?
			     EVENT_VCORE_PRIVATE : 0);
	mcp_notify(&p->mcp, s.vcoreid);
	return 0;
}

/*
 * The MCP another process names, with a reference: by an fd of the
 * target's own /dev/vcore (@fd >= 0), or by its pid (@fd = -1; the caller
 * needs kill(2)'s rights over it).  A /dev/vcore file is one whose ioctls
 * come here.
 *
 * Return: the MCP, or ERR_PTR(-EBADF, -EINVAL, -ESRCH or -EPERM).
 */
static struct vcore_proc *vcore_target(s32 fd, s32 pid)
{
	struct vcore_proc *t = NULL;
	struct file *f;
	int err;

	if (fd >= 0) {
		f = fget(fd);
		if (!f)
			return ERR_PTR(-EBADF);
		if (f->f_op->unlocked_ioctl == vcore_ioctl) {
			t = f->private_data;
			kref_get(&t->ref);
		}
		fput(f);
		return t ? t : ERR_PTR(-EINVAL);
	}
	if (fd != -1 || pid <= 0)
		return ERR_PTR(-EINVAL);
	t = vcore_proc_get_by_pid(pid);
	if (!t)
		return ERR_PTR(-ESRCH);
	err = vcore_proc_may_signal(t);
	if (err) {
		vcore_proc_put(t);
		return ERR_PTR(err);
	}
	return t;
}

static long vcore_ioc_notify(struct vcore_proc *p, void __user *arg)
{
	struct vcore_notify n;
	struct vcore_proc *t;

	if (copy_from_user(&n, arg, sizeof(n)))
		return -EFAULT;
	if (!vcore_resv_zero(n.resv) || n.msg.ev_type != EV_USER_IPI)
		return -EINVAL;
	t = vcore_target(n.target_fd, n.target_pid);
	if (IS_ERR(t))
		return PTR_ERR(t);
	mcp_send_kernel_event(&t->mcp, &n.msg, 0);
	vcore_proc_put(t);
	return 0;
}

static long vcore_ioc_tap(struct vcore_proc *p, void __user *arg)
{
	struct vcore_tap_req r;
	struct file *f = NULL;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if ((r.flags & ~VCORE_TAP_INITIAL) || !vcore_resv_zero(r.resv0) ||
	    !vcore_resv_zero(r.resv))
		return -EINVAL;
	switch (r.cmd) {
	case VCORE_TAP_ADD:
	case VCORE_TAP_MOD:
		if (!r.filter || (r.filter & ~VCORE_TAP_FILTER_ALL) ||
		    r.ev_id > U16_MAX)
			return -EINVAL;
		break;
	case VCORE_TAP_REMOVE:
		if (r.filter || r.flags || r.ev_q || r.data || r.ev_id)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (r.fd < 0)
		return -EBADF;
	if (r.cmd != VCORE_TAP_REMOVE &&
	    !mcp_translate(&p->mcp, r.ev_q, sizeof(struct event_queue),
			   sizeof(__u64))) {
		/* as SEND_EVENT: the caller's own error, and counted */
		mcp_drop(&p->mcp, VCORE_DROP_BAD_EVQ);
		return -EFAULT;
	}
	if (r.cmd == VCORE_TAP_ADD) {
		f = fget(r.fd);
		if (!f)
			return -EBADF;
		/* no /dev/vcore: it cannot be polled, and would hold itself */
		if (f->f_op->unlocked_ioctl == vcore_ioctl) {
			fput(f);
			return -EINVAL;
		}
	}
	return vcore_tap_cmd(p, &r, f);
}

static long vcore_ioc_get_stats(struct vcore_proc *p, void __user *arg)
{
	struct mcp_stats *st = &p->mcp.stats;
	struct vcore_stats s = { 0 };
	unsigned int i;

	s.sent = atomic64_read(&st->sent);
	for (i = 0; i < ARRAY_SIZE(s.posted); i++)
		s.posted[i] = atomic64_read(&st->posted[i]);
	s.notifs = atomic64_read(&st->notifs);
	s.indirs = atomic64_read(&st->indirs);
	s.spams = atomic64_read(&st->spams);
	s.alarms_fired = atomic64_read(&p->alarms.fired);
	s.alarms_held = atomic64_read(&p->alarms.held);
	s.tap_fires = atomic64_read(&p->tap_fires);
	s.tap_pollfree = atomic64_read(&p->tap_pollfree);
	for (i = 0; i < p->mcp.max_vcores; i++)
		s.kernel_blocks += atomic64_read(&p->vt[i].blocked.count);
	for (i = 0; i < VCORE_DROP_NR; i++)
		s.dropped[i] = atomic64_read(&st->dropped[i]);
	return copy_to_user(arg, &s, sizeof(s)) ? -EFAULT : 0;
}

static long vcore_ioc_alarm_set(struct vcore_proc *p, void __user *arg)
{
	struct vcore_alarm a;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~(VCORE_ALARM_VCORE | VCORE_ALARM_WALL)) ||
	    ((a.flags & VCORE_ALARM_WALL) && !(a.flags & VCORE_ALARM_VCORE)) ||
	    !vcore_resv_zero(a.resv0) || !vcore_resv_zero(a.resv) ||
	    a.vcoreid >= p->mcp.max_vcores ||
	    (a.period_ns && a.period_ns < VCORE_ALARM_MIN_PERIOD_NS))
		return -EINVAL;
	/* as for SEND_EVENT; a later unmapping makes each expiry a drop */
	if (!mcp_translate(&p->mcp, a.ev_q, sizeof(struct event_queue),
			   sizeof(__u64))) {
		mcp_drop(&p->mcp, VCORE_DROP_BAD_EVQ);
		return -EFAULT;
	}
	return vcore_alarm_set(p, &a);
}

static long vcore_ioc_alarm_cancel(struct vcore_proc *p, void __user *arg)
{
	struct vcore_alarm_cancel c;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	if (c.flags || !vcore_resv_zero(c.resv))
		return -EINVAL;
	return vcore_alarm_cancel(p, c.id);
}

static long vcore_ioc_set_node(struct vcore_proc *p, void __user *arg)
{
	struct vcore_node_req r;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (!vcore_resv_zero(r.resv))
		return -EINVAL;
	return vcore_set_node(p, r.node, r.flags);
}

static long vcore_ioc_attach(struct vcore_proc *p, void __user *arg)
{
	struct vcore_attach a;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.flags || !vcore_resv_zero(a.resv))
		return -EINVAL;
	return vcore_attach(p, a.vcoreid);
}

static long vcore_ioc_poke(struct vcore_proc *p, void __user *arg)
{
	/*
	 * Every vcore has yielded (WAITING), and a thread that is no vcore
	 * asks for vcores: as an EVENT_WAKEUP would, the request ends
	 * WAITING (Akaros has no such threads; here they are the process's
	 * other way in).  A POKE that asks for none leaves it WAITING.
	 */
	if (READ_ONCE(p->mcp.state) == VCORE_PROC_WAITING &&
	    READ_ONCE(mcp_procdata(&p->mcp)->res_req[VCORE_RES_CORES].amt_wanted) &&
	    mcp_wakeup(&p->mcp))
		vc_trace_wakeup(&p->mcp);
	vcore_provision_ask(p);
	if (mcp_vcores_wanted(&p->mcp))
		vcore_rebalance(p);
	return READ_ONCE(p->mcp.num_vcores);
}

static long vcore_ioc_yield(struct vcore_proc *p, void __user *arg)
{
	struct vcore_yield y;

	if (copy_from_user(&y, arg, sizeof(y)))
		return -EFAULT;
	if ((y.flags & ~VCORE_YIELD_BEING_NICE) || !vcore_resv_zero(y.resv0) ||
	    !vcore_resv_zero(y.resv))
		return -EINVAL;
	return vcore_yield(p, y.flags & VCORE_YIELD_BEING_NICE);
}

static long vcore_ioc_change_vcore(struct vcore_proc *p, void __user *arg)
{
	struct vcore_change c;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	if (c.enable_my_notif > 1 || !vcore_resv_zero(c.resv))
		return -EINVAL;
	return vcore_change(p, c.vcoreid, c.enable_my_notif);
}

static long vcore_ioc_preempt(struct vcore_proc *p, void __user *arg)
{
	struct vcore_preempt r;
	struct vcore_proc *t;
	long ret;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if ((r.flags & ~(VCORE_PREEMPT_ALL | VCORE_PREEMPT_WARN)) ||
	    !vcore_resv_zero(r.resv))
		return -EINVAL;
	/* bounded so that the deadline in TSC cycles fits in 64 bits */
	if ((r.flags & VCORE_PREEMPT_WARN) &&
	    r.warn_ns > VCORE_PREEMPT_WARN_MAX_NS)
		return -EINVAL;
	if (!capable(CAP_SYS_NICE))
		return -EPERM;
	t = vcore_target(r.target_fd, r.target_pid);
	if (IS_ERR(t))
		return PTR_ERR(t);
	if (r.flags & VCORE_PREEMPT_ALL)
		ret = vcore_preempt_all(t, r.flags, r.warn_ns);
	else if (r.vcoreid < t->mcp.max_vcores)
		ret = vcore_preempt_request(t, r.vcoreid, r.flags, r.warn_ns);
	else
		ret = -EINVAL;
	vcore_proc_put(t);
	return ret;
}

#ifdef VCORE_TEST
/* The test-only commands: the parsing here, the work in test.c. */
static long vcore_ioc_test_arrange(struct vcore_proc *p, void __user *arg)
{
	struct vcore_test_arrange *a;
	long ret;

	a = memdup_user(arg, sizeof(*a));
	if (IS_ERR(a))
		return PTR_ERR(a);
	ret = vcore_resv_zero(a->resv0) ? vcore_test_arrange(p, a) : -EINVAL;
	kfree(a);
	return ret;
}

static long vcore_ioc_test_kevent(struct vcore_proc *p, void __user *arg)
{
	struct vcore_test_kevent k;

	if (copy_from_user(&k, arg, sizeof(k)))
		return -EFAULT;
	return vcore_test_kevent(p, &k);
}

static long vcore_ioc_test_produce(struct vcore_proc *p, void __user *arg)
{
	struct vcore_test_produce args;

	if (copy_from_user(&args, arg, sizeof(args)))
		return -EFAULT;
	return vcore_test_produce(p, &args);
}

static long vcore_ioc_test_ipi(struct vcore_proc *p, void __user *arg)
{
	struct vcore_test_ipi t;
	long ret;

	if (copy_from_user(&t, arg, sizeof(t)))
		return -EFAULT;
	if (t.flags & ~VCORE_TEST_IPI_TO_USER)
		return -EINVAL;
	if (!(t.flags & VCORE_TEST_IPI_TO_USER) && !vcore_resv_zero(t.resv))
		return -EINVAL;
	ret = vcore_test_ipi(&t);
	if (ret)
		return ret;
	if (copy_to_user(arg, &t, sizeof(t)))
		return -EFAULT;
	return 0;
}
#endif /* VCORE_TEST */

static const struct vcore_cmd vcore_cmds[] = {
	[VCORE_IOC_NR_API] = { VCORE_IOC_API, vcore_ioc_api },
	[VCORE_IOC_NR_SETUP] = { VCORE_IOC_SETUP, vcore_ioc_setup },
	[VCORE_IOC_NR_SEND_EVENT] = { VCORE_IOC_SEND_EVENT,
				      vcore_ioc_send_event },
	[VCORE_IOC_NR_SELF_NOTIFY] = { VCORE_IOC_SELF_NOTIFY,
				       vcore_ioc_self_notify },
	[VCORE_IOC_NR_NOTIFY] = { VCORE_IOC_NOTIFY, vcore_ioc_notify },
	[VCORE_IOC_NR_GET_STATS] = { VCORE_IOC_GET_STATS,
				     vcore_ioc_get_stats },
	[VCORE_IOC_NR_ARENA_ALLOC] = { VCORE_IOC_ARENA_ALLOC,
				       vcore_ioc_arena_alloc },
	[VCORE_IOC_NR_ARENA_FREE] = { VCORE_IOC_ARENA_FREE,
				      vcore_ioc_arena_free },
	[VCORE_IOC_NR_VCORE_ATTACH] = { VCORE_IOC_VCORE_ATTACH,
					vcore_ioc_attach },
	[VCORE_IOC_NR_POKE] = { VCORE_IOC_POKE, vcore_ioc_poke },
	[VCORE_IOC_NR_YIELD] = { VCORE_IOC_YIELD, vcore_ioc_yield },
	[VCORE_IOC_NR_CHANGE_VCORE] = { VCORE_IOC_CHANGE_VCORE,
					vcore_ioc_change_vcore },
	[VCORE_IOC_NR_PREEMPT] = { VCORE_IOC_PREEMPT, vcore_ioc_preempt },
	[VCORE_IOC_NR_SET_NODE] = { VCORE_IOC_SET_NODE, vcore_ioc_set_node },
	[VCORE_IOC_NR_ALARM_SET] = { VCORE_IOC_ALARM_SET, vcore_ioc_alarm_set },
	[VCORE_IOC_NR_ALARM_CANCEL] = { VCORE_IOC_ALARM_CANCEL,
					vcore_ioc_alarm_cancel },
	[VCORE_IOC_NR_TAP] = { VCORE_IOC_TAP, vcore_ioc_tap },
#ifdef VCORE_TEST
	[VCORE_IOC_NR_TEST_ARRANGE] = { VCORE_IOC_TEST_ARRANGE,
					vcore_ioc_test_arrange, true },
	[VCORE_IOC_NR_TEST_KEVENT] = { VCORE_IOC_TEST_KEVENT,
				       vcore_ioc_test_kevent, true },
	[VCORE_IOC_NR_TEST_PRODUCE] = { VCORE_IOC_TEST_PRODUCE,
					vcore_ioc_test_produce, true },
	[VCORE_IOC_NR_TEST_IPI] = { VCORE_IOC_TEST_IPI, vcore_ioc_test_ipi,
				    true },
#endif
};

static const struct vcore_cmd *find_cmd(unsigned int nr)
{
	const struct vcore_cmd *c;

	if (nr >= ARRAY_SIZE(vcore_cmds))
		return NULL;
	c = &vcore_cmds[nr];
	if (!c->fn || (c->test && !vcore_test_enabled()))
		return NULL;
	return c;
}

static void supported_ioctls(__u64 mask[2])
{
	unsigned int nr;

	for (nr = 0; nr < ARRAY_SIZE(vcore_cmds); nr++)
		if (find_cmd(nr))
			mask[nr / 64] |= 1ULL << (nr % 64);
}

/*
 * The handshake: the caller names the version it speaks; we answer with
 * what we support and where the regions are.  Exactly once per fd.
 */
static long vcore_ioc_api(struct vcore_proc *p, void __user *arg)
{
	struct vcore_api api;
	size_t in_head = offsetofend(struct vcore_api, flags);

	if (copy_from_user(&api, arg, sizeof(api)))
		return -EFAULT;
	if (api.api != VCORE_API_VERSION || api.flags)
		return -EINVAL;
	if (memchr_inv((u8 *)&api + in_head, 0, sizeof(api) - in_head))
		return -EINVAL;
	if (test_bit(VCORE_PROC_API_DONE, &p->flags))
		return -EBUSY;

	api.features = VCORE_FEAT_EVENTS | VCORE_FEAT_TOPOLOGY |
		       VCORE_FEAT_VCORES | VCORE_FEAT_PREEMPT |
		       VCORE_FEAT_NUMA;
	if (vcore_test_enabled())
		api.features |= VCORE_FEAT_TEST;
	if (vcore_blocked_supported())
		api.features |= VCORE_FEAT_KERNEL_BLOCKS;
	supported_ioctls(api.ioctls);
	api.procinfo_offset = VCORE_OFF_PROCINFO;
	api.procinfo_size = p->procinfo_size;
	api.procdata_offset = VCORE_OFF_PROCDATA;
	api.procdata_size = p->mcp.procdata.size;
	api.arena_offset = VCORE_OFF_ARENA;
	api.arena_max_size = vcore_proc_arena_max();
	api.vcpd_offset = sizeof(struct vcore_procdata);
	api.vcpd_size = sizeof(struct vcore_preempt_data);
	api.max_vcores = p->mcp.max_vcores;
	api.max_nr_event = VCORE_MAX_NR_EVENT;
	api.nr_pcores = vcore_pcores_nr_managed();
	api.fp_state_size = vcore_pcores_fp_state_size();
	if (copy_to_user(arg, &api, sizeof(api)))
		return -EFAULT;
	if (test_and_set_bit(VCORE_PROC_API_DONE, &p->flags))
		return -EBUSY;
	return 0;
}

/**
 * vcore_ioctl() - dispatch a /dev/vcore command
 * @file: the open device
 * @cmd: the command
 * @arg: its argument, a user address
 *
 * Return: the command's result; -ENOTTY for an unknown command, -EINVAL
 * for a known one with the wrong size or direction, -EPERM from a process
 * that is not the owner, -EBADFD before the handshake.
 */
long vcore_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vcore_proc *p = file->private_data;
	const struct vcore_cmd *c;
	unsigned int nr = _IOC_NR(cmd);
	bool quiet;
	long ret;

	if (_IOC_TYPE(cmd) != VCORE_IOC_MAGIC)
		return -ENOTTY;
	c = find_cmd(nr);
	if (!c)
		return -ENOTTY;
	if (cmd != c->cmd)
		return -EINVAL;
	if (!vcore_proc_is_owner(p))
		return -EPERM;
	if (nr != VCORE_IOC_NR_API && !test_bit(VCORE_PROC_API_DONE, &p->flags))
		return -EBADFD;
	/* a vcore thread's sleeps in here are no kernel_blocks (blocked.c) */
	quiet = vcore_blocked_quiet(true);
	ret = c->fn(p, (void __user *)arg);
	vcore_blocked_quiet(quiet);
	return ret;
}
