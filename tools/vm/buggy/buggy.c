// SPDX-License-Identifier: GPL-2.0
/*
 * A module with one deliberate bug per load, chosen by bug=, for
 * tools/vm/test-debug-kernel: it checks that the debug kernel reports each
 * kind the debug tier relies on, in a module built the way vcore.ko is.
 * Loading always fails (-EAGAIN) once the bug has happened, so the module
 * can be loaded again with another bug.  Never load it anywhere else.
 */
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *bug = "";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "kasan|sleep|leak|lockdep|rcu|list");

static void *volatile sink;
static DEFINE_SPINLOCK(buggy_spin);
static DEFINE_MUTEX(buggy_a);
static DEFINE_MUTEX(buggy_b);
static DEFINE_MUTEX(buggy_c);
static int __rcu *buggy_rcu_ptr;

static noinline void bug_kasan(void)
{
	char *p = kmalloc(40, GFP_KERNEL);
	volatile char *q = p;

	if (!p)
		return;
	q[40] = 1;		/* one past the end */
	kfree(p);
}

static noinline void bug_sleep(void)
{
	spin_lock(&buggy_spin);
	mutex_lock(&buggy_c);	/* might sleep, in atomic context */
	mutex_unlock(&buggy_c);
	spin_unlock(&buggy_spin);
}

static noinline void bug_leak(void)
{
	char *p = kmalloc(128, GFP_KERNEL);

	if (p)
		memset(p, 0x5a, 128);
	sink = p;
	sink = NULL;		/* the only reference is gone */
}

static noinline void bug_lockdep(void)
{
	mutex_lock(&buggy_a);
	mutex_lock(&buggy_b);
	mutex_unlock(&buggy_b);
	mutex_unlock(&buggy_a);
	mutex_lock(&buggy_b);	/* the other order: a possible deadlock */
	mutex_lock(&buggy_a);
	mutex_unlock(&buggy_a);
	mutex_unlock(&buggy_b);
}

static noinline void bug_rcu(void)
{
	sink = rcu_dereference(buggy_rcu_ptr);	/* outside rcu_read_lock() */
}

static noinline void bug_list(void)
{
	LIST_HEAD(head);
	struct list_head a, b;

	list_add(&a, &head);
	a.prev = &b;		/* corrupt: the next add checks next->prev */
	list_add(&b, &head);
}

static int __init buggy_init(void)
{
	if (!strcmp(bug, "kasan"))
		bug_kasan();
	else if (!strcmp(bug, "sleep"))
		bug_sleep();
	else if (!strcmp(bug, "leak"))
		bug_leak();
	else if (!strcmp(bug, "lockdep"))
		bug_lockdep();
	else if (!strcmp(bug, "rcu"))
		bug_rcu();
	else if (!strcmp(bug, "list"))
		bug_list();
	else
		return -EINVAL;
	return -EAGAIN;
}
module_init(buggy_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("deliberate bugs for checking the debug kernel's reports");
