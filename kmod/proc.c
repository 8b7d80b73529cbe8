// SPDX-License-Identifier: GPL-2.0
/*
 * The MCP object: one per process that opened /dev/vcore.
 *
 * A process is identified by its address space: a second open from a
 * thread sharing current->mm fails with -EBUSY for as long as the first
 * open file lives (its fds and its mappings).  The mm is grabbed, not
 * pinned, so the key cannot be reused by another process while we hold it.
 */
#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "pcores.h"
#include "proc.h"

static struct {
	struct mutex lock;		/* protects list */
	struct list_head list;
} registry = {
	.lock = __MUTEX_INITIALIZER(registry.lock),
	.list = LIST_HEAD_INIT(registry.list),
};

/* What is alive right now, for leak checks through debugfs. */
static atomic_long_t live_procs;
static atomic_long_t live_bytes;

static size_t procdata_bytes(unsigned int max_vcores)
{
	return PAGE_ALIGN(sizeof(struct vcore_procdata) +
			  (size_t)max_vcores *
			  sizeof(struct vcore_preempt_data));
}

static void init_procinfo(struct vcore_proc *p)
{
	struct vcore_procinfo *pi = p->procinfo;

	pi->pid = task_tgid_vnr(current);
	pi->state = VCORE_PROC_RUNNABLE_S;
	pi->max_vcores = p->max_vcores;
	vcore_pcores_fill_procinfo(pi);
}

static int registry_add(struct vcore_proc *p)
{
	struct vcore_proc *q;

	mutex_lock(&registry.lock);
	list_for_each_entry(q, &registry.list, node) {
		if (q->mm == p->mm) {
			mutex_unlock(&registry.lock);
			return -EBUSY;
		}
	}
	list_add(&p->node, &registry.list);
	mutex_unlock(&registry.lock);
	return 0;
}

static void registry_del(struct vcore_proc *p)
{
	mutex_lock(&registry.lock);
	list_del(&p->node);
	mutex_unlock(&registry.lock);
}

/**
 * vcore_proc_create() - make the calling process an MCP
 *
 * Return: the new object, or ERR_PTR(-EINVAL) for a caller without an
 * address space, -EBUSY if the process already has one, -ENOMEM.
 */
struct vcore_proc *vcore_proc_create(void)
{
	struct vcore_proc *p;
	int ret;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return ERR_PTR(-ENOMEM);
	p->max_vcores = vcore_pcores_nr_managed();
	p->procinfo_size = PAGE_ALIGN(sizeof(struct vcore_procinfo));
	p->procdata_size = procdata_bytes(p->max_vcores);

	ret = -ENOMEM;
	p->procinfo = vmalloc_user(p->procinfo_size);
	if (!p->procinfo)
		goto err_free_proc;
	p->procdata = vmalloc_user(p->procdata_size);
	if (!p->procdata)
		goto err_free_procinfo;

	p->mm = current->mm;
	mmgrab(p->mm);
	p->tgid = get_pid(task_tgid(current));
	init_procinfo(p);

	ret = registry_add(p);
	if (ret)
		goto err_put_owner;
	atomic_long_inc(&live_procs);
	atomic_long_add(p->procinfo_size + p->procdata_size, &live_bytes);
	return p;

err_put_owner:
	put_pid(p->tgid);
	mmdrop(p->mm);
	vfree(p->procdata);
err_free_procinfo:
	vfree(p->procinfo);
err_free_proc:
	kfree(p);
	return ERR_PTR(ret);
}

/**
 * vcore_proc_destroy() - tear down an MCP once nothing refers to it
 * @p: the object; no mapping of its regions and no fd remain.
 */
void vcore_proc_destroy(struct vcore_proc *p)
{
	registry_del(p);
	atomic_long_sub(p->procinfo_size + p->procdata_size, &live_bytes);
	atomic_long_dec(&live_procs);
	put_pid(p->tgid);
	mmdrop(p->mm);
	vfree(p->procdata);
	vfree(p->procinfo);
	kfree(p);
}

/* Whether the calling thread belongs to the process that opened @p. */
bool vcore_proc_is_owner(const struct vcore_proc *p)
{
	return current->mm == p->mm;
}

void vcore_proc_live(unsigned long *nr_procs, unsigned long *nr_bytes)
{
	*nr_procs = atomic_long_read(&live_procs);
	*nr_bytes = atomic_long_read(&live_bytes);
}
