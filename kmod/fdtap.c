// SPDX-License-Identifier: GPL-2.0
/*
 * Fd taps (VCORE_IOC_TAP): Akaros's sys_tap_fds on Linux files.  A tap
 * polls the file once, with a poll_table whose queue callback hooks the
 * tap's own wait-queue entries onto the file's wait queues; from then on
 * every wakeup of those queues calls tap_wake() in the waker's context,
 * and that sends the event straight away (mcp_send_event() neither
 * sleeps nor faults).  This is what KVM's irqfd and epoll do.
 *
 * Concurrency:
 * - Adding, changing and removing taps, and the teardown at release, run
 *   in process context under p->tap_lock.  The xarray maps an fd number
 *   to its tap; a tap is freed only by whoever erased it from there.
 * - tap_wake() runs with the wait queue's lock held, interrupts off,
 *   possibly in hard IRQ.  It reads only fields that are fixed before the
 *   tap is armed, sends, and allocates nothing.
 * - A head's whead is the queue it hangs on.  A queue that is about to
 *   be freed wakes its waiters with POLLFREE (signalfd, when its sighand
 *   goes): tap_wake() then unhooks the entry under that queue's lock and
 *   clears whead with a release, its last touch of the tap.  Disarming
 *   reads whead with an acquire inside an RCU read-side section (the
 *   queue's memory outlives a grace period after POLLFREE) and unhooks
 *   the entry under the queue's lock only if whead is still set.  Once
 *   every head is disarmed no tap_wake() can run for the tap or be
 *   running, so it is freed at once.
 * - The module cannot go while a /dev/vcore file is open, and each tap
 *   is disarmed before its file's release finishes; vcore_taps_exit()
 *   waits a grace period for a tap_wake() that is still returning from a
 *   POLLFREE (it runs with interrupts off).
 */
#include <linux/atomic.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/moduleparam.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "core/event.h"
#include "fdtap.h"
#include "proc.h"
#include "trace.h"

/* A file that polls on more queues than this is refused (-EINVAL). */
#define VCORE_TAP_MAX_HEADS	2

static unsigned int max_taps = 4096;
module_param(max_taps, uint, 0644);
MODULE_PARM_DESC(max_taps, "fd taps one process may have (default 4096)");

/* Taps alive in every process, for leak checks through debugfs. */
static atomic_long_t live_taps;

struct vcore_tap;

/* One wait-queue entry of a tap, on one of its file's wait queues. */
struct vcore_tap_head {
	wait_queue_entry_t wait;
	/* the queue; NULL once a POLLFREE unhooked the entry (see above) */
	wait_queue_head_t *whead;
	struct vcore_tap *tap;
};

struct vcore_tap {
	/* fixed before the tap is armed; tap_wake() reads them */
	struct vcore_proc *p;
	u64 ev_q;
	u64 data;
	u32 filter;
	u16 ev_id;
	int fd;
	/* process context only */
	struct file *file;	/* referenced */
	poll_table pt;
	unsigned int nr_heads;
	bool too_many_heads;
	struct vcore_tap_head heads[VCORE_TAP_MAX_HEADS];
};

/* The VCORE_TAP_* conditions that a poll mask reports. */
static u32 tap_bits(__poll_t mask)
{
	u32 bits = 0;

	if (mask & (EPOLLIN | EPOLLRDNORM))
		bits |= VCORE_TAP_READABLE;
	if (mask & (EPOLLOUT | EPOLLWRNORM))
		bits |= VCORE_TAP_WRITABLE;
	if (mask & (EPOLLHUP | EPOLLRDHUP))
		bits |= VCORE_TAP_HANGUP;
	if (mask & EPOLLERR)
		bits |= VCORE_TAP_ERROR;
	return bits;
}

/* Send the tap's event for @bits, if it asked for any of them.  Any context. */
static void tap_fire(struct vcore_tap *t, u32 bits)
{
	struct event_msg msg = { 0 };

	bits &= t->filter;
	if (!bits)
		return;
	msg.ev_type = t->ev_id;
	msg.ev_arg2 = bits;
	msg.ev_arg3 = t->data;
	atomic64_inc(&t->p->tap_fires);
	trace_vcore_tap_fire(vcore_proc_pid(t->p), t->fd, bits, t->ev_id);
	mcp_send_event(&t->p->mcp, t->ev_q, &msg, 0);
}

/* The waker's context, its queue's lock held: see the top of the file. */
static int tap_wake(wait_queue_entry_t *wait, unsigned int mode, int sync,
		    void *key)
{
	struct vcore_tap_head *h = container_of(wait, struct vcore_tap_head,
						wait);
	struct vcore_tap *t = h->tap;
	__poll_t mask = key_to_poll(key);

	if (mask & POLLFREE) {
		atomic64_inc(&t->p->tap_pollfree);
		list_del_init(&wait->entry);
		/*
		 * TAP-1, pairs with TAP-2 in tap_disarm(): the last touch of
		 * h, a disarm may free the tap after it
		 */
		smp_store_release(&h->whead, NULL);
		return 0;
	}
	/* a wakeup that does not say what changed fires the whole filter */
	tap_fire(t, mask ? tap_bits(mask) : VCORE_TAP_FILTER_ALL);
	return 0;
}

/* vfs_poll()'s callback, once per wait queue the file's poll names. */
static void tap_queue(struct file *file, wait_queue_head_t *whead,
		      poll_table *pt)
{
	struct vcore_tap *t = container_of(pt, struct vcore_tap, pt);
	struct vcore_tap_head *h;

	if (t->nr_heads == VCORE_TAP_MAX_HEADS) {
		t->too_many_heads = true;
		return;
	}
	h = &t->heads[t->nr_heads++];
	h->tap = t;
	h->whead = whead;
	init_waitqueue_func_entry(&h->wait, tap_wake);
	add_wait_queue(whead, &h->wait);
}

/* Unhook every head; afterwards no tap_wake() runs for @t. */
static void tap_disarm(struct vcore_tap *t)
{
	unsigned int i;

	for (i = 0; i < t->nr_heads; i++) {
		struct vcore_tap_head *h = &t->heads[i];
		wait_queue_head_t *whead;

		rcu_read_lock();
		/* TAP-2, pairs with TAP-1 in tap_wake()'s POLLFREE */
		whead = smp_load_acquire(&h->whead);
		if (whead)
			remove_wait_queue(whead, &h->wait);
		rcu_read_unlock();
	}
}

static void tap_free(struct vcore_tap *t)
{
	fput(t->file);
	kfree(t);
}

/*
 * A tap for @r on @file, armed: its heads hooked, so that no wakeup after
 * this is missed.  Takes over the reference on @file, whatever happens.
 * *@mask is what the file reported at the arming.
 *
 * Return: the tap, or ERR_PTR(-EPERM, -EINVAL or -ENOMEM).
 */
static struct vcore_tap *tap_create(struct vcore_proc *p,
				    const struct vcore_tap_req *r,
				    struct file *file, __poll_t *mask)
{
	struct vcore_tap *t;
	long err;

	if (!file_can_poll(file)) {
		err = -EPERM;
		goto err_put;
	}
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t) {
		err = -ENOMEM;
		goto err_put;
	}
	t->p = p;
	t->ev_q = r->ev_q;
	t->data = r->data;
	t->filter = r->filter;
	t->ev_id = r->ev_id;
	t->fd = r->fd;
	t->file = file;
	init_poll_funcptr(&t->pt, tap_queue);
	*mask = vfs_poll(file, &t->pt);
	if (t->too_many_heads || !t->nr_heads) {
		/* a file that never wakes a poller cannot fire */
		err = t->nr_heads ? -EINVAL : -EPERM;
		tap_disarm(t);
		tap_free(t);
		return ERR_PTR(err);
	}
	atomic_long_inc(&live_taps);
	return t;

err_put:
	fput(file);
	return ERR_PTR(err);
}

static void tap_destroy(struct vcore_tap *t)
{
	tap_disarm(t);
	tap_free(t);
	atomic_long_dec(&live_taps);
}

/* ADD, with the reference on @file that ioctl.c took. */
static long tap_add(struct vcore_proc *p, const struct vcore_tap_req *r,
		    struct file *file)
{
	struct vcore_tap *t;
	__poll_t mask;
	long ret;

	mutex_lock(&p->tap_lock);
	if (xa_load(&p->taps, r->fd)) {
		ret = -EEXIST;
		goto err_put;
	}
	if (p->nr_taps >= READ_ONCE(max_taps)) {
		ret = -ENOSPC;
		goto err_put;
	}
	t = tap_create(p, r, file, &mask);
	if (IS_ERR(t)) {
		ret = PTR_ERR(t);
		goto out_unlock;
	}
	ret = xa_insert(&p->taps, r->fd, t, GFP_KERNEL_ACCOUNT);
	if (ret) {
		tap_destroy(t);
		goto out_unlock;
	}
	WRITE_ONCE(p->nr_taps, p->nr_taps + 1);
	/* under the lock: a REMOVE cannot free the tap under us */
	if (r->flags & VCORE_TAP_INITIAL)
		tap_fire(t, tap_bits(mask));
	goto out_unlock;

err_put:
	fput(file);
out_unlock:
	mutex_unlock(&p->tap_lock);
	return ret;
}

/*
 * MOD: a new tap on the old one's file takes its place, armed before the
 * old one is disarmed, so no wakeup in between is lost (one may fire
 * both).
 */
static long tap_mod(struct vcore_proc *p, const struct vcore_tap_req *r)
{
	struct vcore_tap *old, *t;
	__poll_t mask;
	long ret = 0;

	mutex_lock(&p->tap_lock);
	old = xa_load(&p->taps, r->fd);
	if (!old) {
		ret = -ENOENT;
		goto out_unlock;
	}
	t = tap_create(p, r, get_file(old->file), &mask);
	if (IS_ERR(t)) {
		ret = PTR_ERR(t);
		goto out_unlock;
	}
	/* the slot exists: replacing it allocates nothing */
	xa_store(&p->taps, r->fd, t, GFP_KERNEL_ACCOUNT);
	tap_destroy(old);
	if (r->flags & VCORE_TAP_INITIAL)
		tap_fire(t, tap_bits(mask));
out_unlock:
	mutex_unlock(&p->tap_lock);
	return ret;
}

static long tap_remove(struct vcore_proc *p, int fd)
{
	struct vcore_tap *t;

	mutex_lock(&p->tap_lock);
	t = xa_erase(&p->taps, fd);
	if (t)
		WRITE_ONCE(p->nr_taps, p->nr_taps - 1);
	mutex_unlock(&p->tap_lock);
	if (!t)
		return -ENOENT;
	tap_destroy(t);
	return 0;
}

/**
 * vcore_tap_cmd() - carry out one checked VCORE_IOC_TAP request
 * @p: the caller's MCP
 * @r: the request, its fields checked by ioctl.c
 * @file: for VCORE_TAP_ADD, a reference on @r->fd's file, which this takes
 *	over; NULL otherwise
 *
 * Process context.  Return: 0, or the errno uapi/linux/vcore.h lists.
 */
long vcore_tap_cmd(struct vcore_proc *p, const struct vcore_tap_req *r,
		   struct file *file)
{
	switch (r->cmd) {
	case VCORE_TAP_ADD:
		return tap_add(p, r, file);
	case VCORE_TAP_MOD:
		return tap_mod(p, r);
	default:
		return tap_remove(p, r->fd);
	}
}

/*
 * The owner's /dev/vcore file is going: disarm and free every tap, which
 * drops the tapped files.  No tap command can run concurrently (the file
 * has no other user), but the taps' wakeups can, on any CPU.
 */
void vcore_taps_release(struct vcore_proc *p)
{
	struct vcore_tap *t;
	unsigned long fd;

	mutex_lock(&p->tap_lock);
	xa_for_each(&p->taps, fd, t) {
		xa_erase(&p->taps, fd);
		tap_destroy(t);
		cond_resched();
	}
	WRITE_ONCE(p->nr_taps, 0);
	mutex_unlock(&p->tap_lock);
	xa_destroy(&p->taps);
}

/* How many taps @p has right now. */
unsigned int vcore_taps_nr(struct vcore_proc *p)
{
	return READ_ONCE(p->nr_taps);
}

/* Taps alive in every process. */
long vcore_taps_live(void)
{
	return atomic_long_read(&live_taps);
}

/*
 * Module unload: a tap_wake() that cleared whead on a POLLFREE may still
 * be returning, interrupts off; a grace period covers it.
 */
void vcore_taps_exit(void)
{
	synchronize_rcu();
}
