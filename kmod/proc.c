// SPDX-License-Identifier: GPL-2.0
/*
 * The MCP object: one per process that opened /dev/vcore, its region
 * memory, the registry of live ones, and the event arena's set-up.  The
 * callers (dev.c) build an MCP in steps: vcore_proc_create(), the vcore
 * threads (vcore_run.c), vcore_proc_register(); and take it down in the
 * reverse order.  Nothing here calls out of this file but into the
 * portable core and pcores.c.
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
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "core/arena.h"
#include "core/vcores.h"
#include "pcores.h"
#include "proc.h"

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

struct vcore_registry vcore_registry = {
	.lock = __MUTEX_INITIALIZER(vcore_registry.lock),
	.list = LIST_HEAD_INIT(vcore_registry.list),
};

/* Frees MCPs whose last reference went in atomic context. */
static struct workqueue_struct *free_wq;

/* What is alive right now, for leak checks through debugfs. */
static atomic_long_t live_procs;
static atomic_long_t live_bytes;

/*
 * region_alloc() - zeroed memory to share with the process, each page
 * on a chosen node
 * @nr: how many pages
 * @node_of: the node for page @pg (NUMA_NO_NODE: the caller's); NULL for
 *	the caller's node everywhere
 * @arg: passed to @node_of
 *
 * What vmalloc_user() gives, page by page: freed with vfree(), mapped by
 * vcore_mmap().  A node short of memory lends its neighbours' (no
 * __GFP_THISNODE).  The sizes are the process's to choose, so running out
 * of memory is its -ENOMEM, never a warning with a stack trace.  Process
 * context.
 *
 * Return: the kernel address, or NULL.
 */
static void *region_alloc(unsigned long nr,
			  int (*node_of)(unsigned long pg, void *arg),
			  void *arg)
{
	struct page **pages;
	unsigned long i;
	void *k;

	pages = kvcalloc(nr, sizeof(*pages), GFP_KERNEL | __GFP_NOWARN);
	if (!pages)
		return NULL;
	for (i = 0; i < nr; i++) {
		int node = node_of ? node_of(i, arg) : NUMA_NO_NODE;

		pages[i] = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO |
					    __GFP_NOWARN, 0);
		if (!pages[i])
			goto err_free_pages;
		cond_resched();
	}
	/* VM_MAP_PUT_PAGES: vfree() frees the pages and the array */
	k = vmap(pages, nr, VM_MAP | VM_USERMAP | VM_MAP_PUT_PAGES,
		 PAGE_KERNEL);
	if (k)
		return k;
err_free_pages:
	while (i--)
		__free_page(pages[i]);
	kvfree(pages);
	return NULL;
}

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

/**
 * vcore_proc_create() - the MCP object of the calling process
 *
 * Not yet registered: see vcore_proc_register().
 *
 * Return: the new object, or ERR_PTR(-EINVAL) for a caller without an
 * address space, -ENOMEM.
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
	mutex_init(&p->tap_lock);
	xa_init(&p->taps);
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
	m->procinfo = region_alloc(p->procinfo_size >> PAGE_SHIFT, NULL, NULL);
	if (!m->procinfo)
		goto err_free_vcores;
	m->procdata.kaddr = region_alloc(m->procdata.size >> PAGE_SHIFT,
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
	atomic_long_inc(&live_procs);
	atomic_long_add(region_bytes(p), &live_bytes);
	return p;

err_free_procinfo:
	vfree(m->procinfo);
err_free_vcores:
	kfree(vcores);
err_free_proc:
	kfree(p->vt);
	kfree(p);
	return ERR_PTR(ret);
}

/**
 * vcore_proc_register() - make @p a live MCP, one per process
 * @p: from vcore_proc_create(), its vcore threads set up
 *
 * From here on provisioning may grant @p pcores and other processes may
 * find it.  Return: 0, or -EBUSY if the process already has an MCP (the
 * caller then drops its reference).
 */
int vcore_proc_register(struct vcore_proc *p)
{
	struct vcore_proc *q;

	mutex_lock(&vcore_registry.lock);
	list_for_each_entry(q, &vcore_registry.list, node) {
		if (q->mm == p->mm) {
			mutex_unlock(&vcore_registry.lock);
			return -EBUSY;
		}
	}
	list_add(&p->node, &vcore_registry.list);
	mutex_unlock(&vcore_registry.lock);
	return 0;
}

static void vcore_proc_free(struct kref *ref)
{
	struct vcore_proc *p = container_of(ref, struct vcore_proc, ref);
	struct mcp *m = &p->mcp;
	unsigned int i;

	atomic_long_sub(region_bytes(p), &live_bytes);
	atomic_long_dec(&live_procs);
	put_pid(p->tgid);
	mmdrop(p->mm);
	/* the references vcore_attach() took on the vcores' threads */
	for (i = 0; i < m->max_vcores; i++)
		if (p->vt[i].task)
			put_task_struct(p->vt[i].task);
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
	destroy_workqueue(free_wq);
}

/**
 * vcore_proc_unregister() - the owner's file is gone: no more events
 * @p: the MCP
 *
 * Other processes no longer find it, provisioning no longer serves it,
 * and the core drops every event sent to it from now on.
 */
void vcore_proc_unregister(struct vcore_proc *p)
{
	mutex_lock(&vcore_registry.lock);
	list_del(&p->node);
	mutex_unlock(&vcore_registry.lock);
	mcp_set_dying(&p->mcp);
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
	mutex_lock(&vcore_registry.lock);
	list_for_each_entry(p, &vcore_registry.list, node) {
		if (p->tgid == pid) {
			kref_get(&p->ref);
			found = p;
			break;
		}
	}
	mutex_unlock(&vcore_registry.lock);
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
	kaddr = region_alloc(size / PAGE_SIZE, arena_page_node, &l);
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
int vcore_proc_may_signal(struct vcore_proc *t)
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
