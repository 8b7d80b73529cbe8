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
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "arena.h"
#include "debugfs.h"
#include "mmap.h"
#include "pcores.h"
#include "proc.h"
#include "vcores.h"

/* An arena's page count must fit the pagemap's unsigned int bit count. */
#define ARENA_MAX_MB_LIMIT	65536

static unsigned int arena_max_mb = 64;

static int arena_max_mb_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, ARENA_MAX_MB_LIMIT);
}

static const struct kernel_param_ops arena_max_mb_ops = {
	.set = arena_max_mb_set,
	.get = param_get_uint,
};

module_param_cb(arena_max_mb, &arena_max_mb_ops, &arena_max_mb, 0444);
MODULE_PARM_DESC(arena_max_mb,
		 "largest event arena a process may set up, MiB (1..65536)");

static struct {
	struct mutex lock;		/* protects list */
	struct list_head list;
} registry = {
	.lock = __MUTEX_INITIALIZER(registry.lock),
	.list = LIST_HEAD_INIT(registry.list),
};

/* Frees MCPs whose last reference went in atomic context. */
static struct workqueue_struct *free_wq;

/* The provisioning pass (see vcore_provision()), queued from any context. */
static void provision_fn(struct work_struct *w);
static DECLARE_WORK(provision_work, provision_fn);
static DECLARE_DELAYED_WORK(reserve_pass, provision_fn);
static DECLARE_DELAYED_WORK(hold_off_pass, provision_fn);

/* What is alive right now, for leak checks through debugfs. */
static atomic_long_t live_procs;
static atomic_long_t live_bytes;

static size_t procdata_bytes(unsigned int max_vcores)
{
	return PAGE_ALIGN(sizeof(struct vcore_procdata) +
			  (size_t)max_vcores *
			  sizeof(struct vcore_preempt_data));
}

static size_t region_bytes(struct vcore_proc *p)
{
	return p->procinfo_size + p->mcp.procdata.size + p->mcp.arena.r.size;
}

/*
 * procdata's page @pg goes on the home node of the vcore whose VCPD holds
 * its first byte; the header's pages on the opener's node.  A VCPD is
 * 5376 bytes and its hot part (vcore_ctx to the end: the saved contexts,
 * flags and mailboxes) its last 1280, so every page that part touches
 * starts inside that VCPD: only the head of preempt_fp can share a page
 * with the previous vcore.
 */
static int procdata_page_node(unsigned long pg, void *arg)
{
	unsigned int max_vcores = *(unsigned int *)arg;
	size_t off = pg << PAGE_SHIFT;
	unsigned int v;

	if (off < sizeof(struct vcore_procdata))
		return NUMA_NO_NODE;
	v = (off - sizeof(struct vcore_procdata)) /
	    sizeof(struct vcore_preempt_data);
	return vcore_pcores_home_node(min(v, max_vcores - 1));
}

/* Each vcore's home: where its VCPD's hot part really landed. */
static void init_home_nodes(struct mcp *m)
{
	unsigned int v;

	for (v = 0; v < m->max_vcores; v++) {
		int node = page_to_nid(vmalloc_to_page(&mcp_vcpd(m, v)->vcore_ctx));

		m->vcores[v].home_node = node;
		m->procinfo->vcoremap[v].home_node = node;
	}
}

static void init_procinfo(struct vcore_proc *p)
{
	struct vcore_procinfo *pi = p->mcp.procinfo;

	pi->pid = task_tgid_vnr(current);
	pi->max_vcores = p->mcp.max_vcores;
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

/**
 * vcore_proc_create() - make the calling process an MCP
 *
 * Return: the new object, or ERR_PTR(-EINVAL) for a caller without an
 * address space, -EBUSY if the process already has one, -ENOMEM.
 */
struct vcore_proc *vcore_proc_create(void)
{
	unsigned int max_vcores = vcore_pcores_nr_managed();
	struct mcp_vcore *vcores;
	struct vcore_proc *p;
	struct mcp *m;
	int ret;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return ERR_PTR(-ENOMEM);
	m = &p->mcp;
	kref_init(&p->ref);
	mutex_init(&p->setup_lock);
	vc_lock_init(&m->ucq_lock);
	p->procinfo_size = PAGE_ALIGN(sizeof(struct vcore_procinfo));
	m->procdata.size = procdata_bytes(max_vcores);

	ret = -ENOMEM;
	p->vt = kcalloc(max_vcores, sizeof(*p->vt), GFP_KERNEL);
	if (!p->vt)
		goto err_free_proc;
	vcores = kcalloc(max_vcores, sizeof(*vcores), GFP_KERNEL);
	if (!vcores)
		goto err_free_proc;
	m->procinfo = vcore_region_alloc(p->procinfo_size >> PAGE_SHIFT, NULL,
					  NULL);
	if (!m->procinfo)
		goto err_free_vcores;
	m->procdata.kaddr = vcore_region_alloc(m->procdata.size >> PAGE_SHIFT,
					       procdata_page_node, &max_vcores);
	if (!m->procdata.kaddr)
		goto err_free_procinfo;

	p->mm = current->mm;
	mmgrab(p->mm);
	p->tgid = get_pid(task_tgid(current));
	m->max_vcores = max_vcores;
	init_procinfo(p);
	mcp_vcores_init(m, vcores, max_vcores);
	init_home_nodes(m);
	atomic_set(&p->node_req, 0);
	vcore_threads_init(p);

	ret = registry_add(p);
	if (ret)
		goto err_put_owner;
	p->debugfs = vcore_debugfs_add(p);
	atomic_long_inc(&live_procs);
	atomic_long_add(region_bytes(p), &live_bytes);
	return p;

err_put_owner:
	put_pid(p->tgid);
	mmdrop(p->mm);
	vfree(m->procdata.kaddr);
err_free_procinfo:
	vfree(m->procinfo);
err_free_vcores:
	kfree(vcores);
err_free_proc:
	kfree(p->vt);
	kfree(p);
	return ERR_PTR(ret);
}

static void vcore_proc_free(struct kref *ref)
{
	struct vcore_proc *p = container_of(ref, struct vcore_proc, ref);
	struct mcp *m = &p->mcp;

	atomic_long_sub(region_bytes(p), &live_bytes);
	atomic_long_dec(&live_procs);
	put_pid(p->tgid);
	mmdrop(p->mm);
	vcore_threads_free(p);
	bitmap_free(m->arena.pagemap);
	kfree(m->arena.slices);
	vfree(m->arena.r.kaddr);
	vfree(m->procdata.kaddr);
	vfree(m->procinfo);
	kfree(m->vcores);
	kfree(p->vt);
	kfree(p);
}

/* Drop a reference; process context only (the last one vfree()s). */
void vcore_proc_put(struct vcore_proc *p)
{
	kref_put(&p->ref, vcore_proc_free);
}

static void vcore_proc_free_work(struct work_struct *w)
{
	vcore_proc_free(&container_of(w, struct vcore_proc, free_work)->ref);
}

static void vcore_proc_free_later(struct kref *ref)
{
	struct vcore_proc *p = container_of(ref, struct vcore_proc, ref);

	INIT_WORK(&p->free_work, vcore_proc_free_work);
	queue_work(free_wq, &p->free_work);
}

/* Drop a reference from any context; a last one is freed by a worker. */
void vcore_proc_put_any(struct vcore_proc *p)
{
	kref_put(&p->ref, vcore_proc_free_later);
}

int vcore_procs_init(void)
{
	free_wq = alloc_workqueue("vcore_free", 0, 0);
	return free_wq ? 0 : -ENOMEM;
}

/* Every MCP is gone (the module is unused): wait for deferred frees. */
void vcore_procs_exit(void)
{
	cancel_delayed_work_sync(&reserve_pass);
	cancel_delayed_work_sync(&hold_off_pass);
	cancel_work_sync(&provision_work);
	destroy_workqueue(free_wq);
}

/**
 * vcore_proc_release() - the owner's file is gone: no more events
 * @p: the MCP; the caller's reference is dropped
 */
void vcore_proc_release(struct vcore_proc *p)
{
	mutex_lock(&registry.lock);
	list_del(&p->node);
	mutex_unlock(&registry.lock);
	mcp_set_dying(&p->mcp);
	vcore_threads_release(p);
	vcore_provision(false);
	vcore_debugfs_remove(p->debugfs);
	vcore_proc_put(p);
}

/*
 * Fair share: the managed pcores divided evenly among the MCPs that want
 * vcores or hold some (rounded up).  @p wants more and counts as wanting.
 * If it is below its share, one MCP above the share loses a vcore for it.
 */
static void __rebalance(struct vcore_proc *p)
	__must_hold(&registry.lock)
{
	unsigned int wanting = 0, share, nr = vcore_pcores_nr_managed();
	struct vcore_proc *q;

	lockdep_assert_held(&registry.lock);
	list_for_each_entry(q, &registry.list, node)
		wanting += q == p || READ_ONCE(q->mcp.num_vcores) ||
			   mcp_vcores_wanted(&q->mcp);
	share = DIV_ROUND_UP(nr, max(wanting, 1U));
	if (READ_ONCE(p->mcp.num_vcores) >= share)
		return;
	list_for_each_entry(q, &registry.list, node)
		if (vcore_rebalance_one(p, q, share))
			break;
}

/**
 * vcore_rebalance() - take a pcore from an MCP above its fair share
 * @p: an MCP that wants more vcores than it has
 *
 * Process context.
 */
void vcore_rebalance(struct vcore_proc *p)
{
	mutex_lock(&registry.lock);
	__rebalance(p);
	mutex_unlock(&registry.lock);
}

/*
 * System-wide provisioning.  Whenever a pcore comes free (a yield, a
 * preemption completing, a vcore thread exiting, an MCP going away, a
 * reservation for another MCP running out) every MCP that wants vcores is
 * offered the free pcores, and each one below its fair share may take a
 * vcore from one above it.  An MCP that asked once (one POKE) is served
 * as pcores come free without asking again.
 *
 * A pcore is released in any context (hard IRQ included, from a wakeup);
 * the pass needs the registry mutex, so the release only queues it.  A
 * pcore kept for another MCP is offered to everyone once its reservation
 * has run out: the pass is queued again for then (reserve_pass).
 *
 * An MCP that yielded a pcore or had one preempted is left out of the
 * pass for VCORE_HOLD_OFF_JIFFIES, or until it asks again (POKE, ATTACH,
 * a wakeup): otherwise it would get back at once what it gave up or what
 * was taken from it.  A pass queued for the end of the earliest hold-off
 * (hold_off_pass) serves it then.
 */
#define VCORE_HOLD_OFF_JIFFIES	HZ

static bool held_off(struct vcore_proc *p)
{
	return test_bit(VCORE_PROC_HELD_OFF, &p->flags) &&
	       time_before(jiffies, READ_ONCE(p->held_off_until));
}

static void provision_fn(struct work_struct *w)
{
	unsigned long next = 0;
	struct vcore_proc *p;

	mutex_lock(&registry.lock);
	list_for_each_entry(p, &registry.list, node)
		if (!held_off(p))
			vcore_grant(p);
	list_for_each_entry(p, &registry.list, node) {
		if (held_off(p)) {
			unsigned long left = READ_ONCE(p->held_off_until) -
					     jiffies;

			if (!next || left < next)
				next = left;
		} else if (mcp_vcores_wanted(&p->mcp)) {
			__rebalance(p);
		}
	}
	mutex_unlock(&registry.lock);
	if (next)
		queue_delayed_work(system_unbound_wq, &hold_off_pass, next + 1);
}

/**
 * vcore_provision() - run the provisioning pass soon
 * @reserved: a pcore was just kept for an MCP: pass again when that ends
 *
 * Any context.
 */
void vcore_provision(bool reserved)
{
	queue_work(system_unbound_wq, &provision_work);
	if (reserved)
		mod_delayed_work(system_unbound_wq, &reserve_pass,
				 VCORE_RESERVE_JIFFIES + 1);
}

/* @p gave up or lost a pcore: leave it out of passes for a while. */
void vcore_hold_off(struct vcore_proc *p)
{
	WRITE_ONCE(p->held_off_until, jiffies + VCORE_HOLD_OFF_JIFFIES);
	/* the deadline before the bit: pairs with held_off()'s reads */
	smp_mb__before_atomic();
	set_bit(VCORE_PROC_HELD_OFF, &p->flags);
	queue_delayed_work(system_unbound_wq, &hold_off_pass,
			   VCORE_HOLD_OFF_JIFFIES + 1);
}

/* @p asks for vcores: the passes serve it again. */
void vcore_unhold(struct vcore_proc *p)
{
	clear_bit(VCORE_PROC_HELD_OFF, &p->flags);
}

/**
 * vcore_proc_get_by_pid() - a reference on the MCP of process @nr
 * @nr: a thread group id in the caller's pid namespace
 *
 * Return: the MCP, or NULL if that process has none.
 */
struct vcore_proc *vcore_proc_get_by_pid(pid_t nr)
{
	struct vcore_proc *p, *found = NULL;
	struct pid *pid = find_get_pid(nr);

	if (!pid)
		return NULL;
	mutex_lock(&registry.lock);
	list_for_each_entry(p, &registry.list, node) {
		if (p->tgid == pid) {
			kref_get(&p->ref);
			found = p;
			break;
		}
	}
	mutex_unlock(&registry.lock);
	put_pid(pid);
	return found;
}

/* Whether the calling thread belongs to the process that opened @p. */
bool vcore_proc_is_owner(const struct vcore_proc *p)
{
	return current->mm == p->mm;
}

u64 vcore_proc_arena_max(void)
{
	return (u64)arena_max_mb << 20;
}

struct arena_layout {
	struct mcp_arena_slice *slices;
	unsigned int nr;
};

static int arena_page_node(unsigned long pg, void *arg)
{
	const struct arena_layout *l = arg;
	unsigned int i;

	for (i = 0; i < l->nr; i++)
		if (pg - l->slices[i].first < l->slices[i].nr)
			return l->slices[i].node;
	return NUMA_NO_NODE;
}

/* One slice per node of the managed pcores, in equal shares. */
static struct mcp_arena_slice *arena_slices(unsigned long nr_pages,
					    unsigned int *nr)
{
	struct mcp_arena_slice *slices;
	unsigned int i = 0, k;
	nodemask_t nodes;
	int node;

	vcore_pcores_nodes(&nodes);
	k = nodes_weight(nodes);
	*nr = 0;
	if (!k)
		return NULL;
	slices = kcalloc(k, sizeof(*slices), GFP_KERNEL);
	if (!slices)
		return NULL;
	for_each_node_mask(node, nodes) {
		slices[i].first = nr_pages * i / k;
		slices[i].nr = nr_pages * (i + 1) / k - slices[i].first;
		slices[i].node = node;
		i++;
	}
	*nr = k;
	return slices;
}

/**
 * vcore_proc_setup_arena() - allocate the event arena, once
 * @p: the MCP
 * @size: bytes, a page multiple no larger than arena_max_mb
 *
 * The arena is split into equal slices, one per node of the managed
 * pcores, each on its node.
 *
 * Return: 0; -EINVAL for a bad size, -EBUSY if already set up, -ENOMEM.
 */
int vcore_proc_setup_arena(struct vcore_proc *p, u64 size)
{
	struct mcp_arena *a = &p->mcp.arena;
	struct arena_layout l = { };
	unsigned long *pagemap;
	void *kaddr;
	int ret = 0;

	if (!size || size % PAGE_SIZE || size > vcore_proc_arena_max())
		return -EINVAL;
	mutex_lock(&p->setup_lock);
	if (a->r.kaddr) {
		ret = -EBUSY;
		goto out;
	}
	l.slices = arena_slices(size / PAGE_SIZE, &l.nr);
	kaddr = vcore_region_alloc(size / PAGE_SIZE, arena_page_node, &l);
	pagemap = bitmap_zalloc(size / PAGE_SIZE, GFP_KERNEL);
	if (!kaddr || !pagemap) {
		vfree(kaddr);
		bitmap_free(pagemap);
		kfree(l.slices);
		ret = -ENOMEM;
		goto out;
	}
	mcp_arena_init(a, kaddr, size, pagemap);
	a->slices = l.slices;
	a->nr_slices = l.nr;
	atomic_long_add(size, &live_bytes);
out:
	mutex_unlock(&p->setup_lock);
	return ret;
}

/**
 * vcore_proc_set_node() - where @p's next grants take pcores
 * @p: the MCP
 * @node: a node with managed pcores, or -1 for the default policy
 * @flags: VCORE_NODE_STRICT: only that node
 *
 * Return: 0, or -EINVAL (see VCORE_IOC_SET_NODE).
 */
int vcore_proc_set_node(struct vcore_proc *p, s32 node, u32 flags)
{
	bool strict = flags & VCORE_NODE_STRICT;

	if ((flags & ~VCORE_NODE_STRICT) || node < -1 ||
	    (node == -1 && strict) ||
	    (node >= 0 && !vcore_pcores_node_managed(node)))
		return -EINVAL;
	atomic_set(&p->node_req, (node + 1) |
		   (strict ? VCORE_PROC_NODE_STRICT : 0));
	return 0;
}

/* The node request as one snapshot. */
void vcore_proc_node_req(struct vcore_proc *p, int *node, bool *strict)
{
	int req = atomic_read(&p->node_req);

	*node = (req & VCORE_PROC_NODE_MASK) - 1;
	*strict = req & VCORE_PROC_NODE_STRICT;
}

void vcore_proc_live(unsigned long *nr_procs, unsigned long *nr_bytes)
{
	*nr_procs = atomic_long_read(&live_procs);
	*nr_bytes = atomic_long_read(&live_bytes);
}

/*
 * kill(2)'s rule, against the target's credentials as they are now (they
 * may have changed since it opened the device): a matching real or
 * effective uid, or CAP_KILL.  Return: 0, -EPERM, or -ESRCH if the
 * process is gone.
 */
static int may_signal(struct vcore_proc *t)
{
	const struct cred *cred = current_cred(), *tcred;
	struct task_struct *task;
	bool ok;

	rcu_read_lock();
	task = pid_task(t->tgid, PIDTYPE_TGID);
	if (!task) {
		rcu_read_unlock();
		return -ESRCH;
	}
	tcred = __task_cred(task);
	ok = uid_eq(cred->euid, tcred->suid) ||
	     uid_eq(cred->euid, tcred->uid) ||
	     uid_eq(cred->uid, tcred->suid) ||
	     uid_eq(cred->uid, tcred->uid);
	rcu_read_unlock();
	return ok || capable(CAP_KILL) ? 0 : -EPERM;
}

/**
 * vcore_target() - the MCP another process names, with a reference
 * @fd: an fd of the target's own /dev/vcore, or -1
 * @pid: with @fd = -1, the target's pid; the caller needs kill(2)'s rights
 * @err: set on failure: -EBADF, -EINVAL, -ESRCH or -EPERM
 *
 * Return: the MCP, or NULL.
 */
struct vcore_proc *vcore_target(s32 fd, s32 pid, long *err)
{
	struct vcore_proc *t;
	struct file *f;

	if (fd >= 0) {
		f = fget(fd);
		*err = -EBADF;
		if (!f)
			return NULL;
		t = vcore_proc_from_file(f);
		if (t)
			kref_get(&t->ref);
		fput(f);
		*err = -EINVAL;
		return t;
	}
	*err = -EINVAL;
	if (fd != -1 || pid <= 0)
		return NULL;
	t = vcore_proc_get_by_pid(pid);
	*err = t ? may_signal(t) : -ESRCH;
	if (t && *err) {
		vcore_proc_put(t);
		return NULL;
	}
	return t;
}
