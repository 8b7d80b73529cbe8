// SPDX-License-Identifier: GPL-2.0
/* The kernel as user-space code sees it; see kernel_side.h. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "hmcp.h"
#include "kernel_side.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define poison(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define poison(p, n)	memset((p), 0xa5, (n))	/* garbage, at least */
#define unpoison(p, n)	((void)(p), (void)(n))
#endif

static struct {
	struct h_mcp *h;
	/* under the arena's lock: the page map as last seen, and the peak */
	unsigned long *seen;
	unsigned long peak;
	unsigned long bad_frees;	/* atomic */
	long fail_after;		/* atomic */
} K = { .fail_after = -1 };

/*
 * Bring the pages' poisoning in line with the page map, the arena's lock
 * held: called by every thread that changed the map, right after, so a
 * page the core handed out is addressable before the core zeroes it.
 */
static void sync_pages_locked(struct mcp_arena *a)
{
	unsigned long w, nr_words = BITS_TO_LONGS(a->nr_pages);

	for (w = 0; w < nr_words; w++) {
		unsigned long diff = a->pagemap[w] ^ K.seen[w];

		while (diff) {
			unsigned long b = (unsigned long)__builtin_ctzl(diff);
			unsigned long pg = w * BITS_PER_LONG + b;
			void *k = (char *)a->r.kaddr + pg * PAGE_SIZE;

			diff &= diff - 1;
			if (test_bit(pg, a->pagemap))
				unpoison(k, PAGE_SIZE);
			else
				poison(k, PAGE_SIZE);
		}
		K.seen[w] = a->pagemap[w];
	}
	if (a->nr_used > K.peak)
		K.peak = a->nr_used;
}

/* The access hook's global callback: after each unlock of the page map. */
static void on_access(const struct h_site *site, const volatile void *addr,
		      unsigned int kind)
{
	struct mcp_arena *a = &K.h->m.arena;
	unsigned long flags;

	(void)site;
	if (kind != H_UNLOCK || addr != &a->lock)
		return;
	vc_lock_irqsave(&a->lock, flags);
	sync_pages_locked(a);
	vc_unlock_irqrestore(&a->lock, flags);
}

int ks_init(unsigned int max_vcores, unsigned long arena_pages)
{
	struct h_opts o = { .max_vcores = max_vcores,
			    .arena_pages = arena_pages, .identity = true };

	K.h = h_mcp_create(&o);
	if (!K.h)
		return -ENOMEM;
	K.seen = calloc(BITS_TO_LONGS(arena_pages) + 1, sizeof(long));
	if (!K.seen) {
		h_mcp_destroy(K.h);
		K.h = NULL;
		return -ENOMEM;
	}
	K.peak = 0;
	K.bad_frees = 0;
	K.fail_after = -1;
	if (arena_pages)
		poison(K.h->m.arena.r.kaddr, arena_pages * PAGE_SIZE);
	h_validate_set(arena_pages ? on_access : NULL);
	return 0;
}

void ks_fini(void)
{
	struct mcp_arena *a = &K.h->m.arena;

	ks_set_linux_side(NULL, NULL);
	h_validate_set(NULL);
	if (a->r.kaddr)
		unpoison(a->r.kaddr, a->nr_pages * PAGE_SIZE);
	h_mcp_destroy(K.h);
	K.h = NULL;
	free(K.seen);
	K.seen = NULL;
	if (h_alloc_live()) {
		h_alloc_leaks(stderr);
		abort();
	}
}

struct vcore_procdata *ks_procdata(void)
{
	return mcp_procdata(&K.h->m);
}

struct vcore_procinfo *ks_procinfo(void)
{
	return K.h->m.procinfo;
}

unsigned int ks_max_vcores(void)
{
	return K.h ? K.h->m.max_vcores : 0;
}

/* The core runs as in the kernel: no lock, RCU section or irq-off left. */
static void check_balanced(const char *what)
{
	if (h_locks_held() || h_rcu_depth() || h_irqs_disabled()) {
		fprintf(stderr, "%s left a lock, RCU or irqs off\n", what);
		abort();
	}
}

void ks_send_event(uint64_t ev_q, const struct event_msg *msg,
		   uint32_t vcoreid)
{
	mcp_send_event(&K.h->m, ev_q, msg, vcoreid);
	check_balanced("send_event");
}

bool ks_send_event_checked(uint64_t ev_q, const struct event_msg *msg,
			   uint32_t vcoreid)
{
	bool ok = mcp_send_event_checked(&K.h->m, ev_q, msg, vcoreid);

	check_balanced("send_event_checked");
	return ok;
}

bool ks_mbox_post(struct event_mbox *mbox, const struct event_msg *msg)
{
	bool ok = mcp_mbox_post(&K.h->m, mbox, msg);

	check_balanced("mbox_post");
	return ok;
}

bool ks_post_vcore_event(const struct event_msg *msg, uint32_t vcoreid,
			 uint32_t ev_flags)
{
	bool ok;

	if (vcoreid >= K.h->m.max_vcores)
		return false;
	ok = mcp_post_vcore_event(&K.h->m, msg, vcoreid, ev_flags);
	check_balanced("post_vcore_event");
	return ok;
}

int ks_ucq_post(struct ucq *ucq, const struct event_msg *msg)
{
	int err = ucq_post(&K.h->m, ucq, msg);

	check_balanced("ucq_post");
	return err;
}

int ks_ceq_post(struct ceq *ceq, const struct event_msg *msg)
{
	return ceq_post(&K.h->m, ceq, msg);
}

int ks_evbitmap_post(struct evbitmap *bm, const struct event_msg *msg,
		     bool *newly_set)
{
	return evbitmap_post(bm, msg, newly_set);
}

void ks_arrange(const uint16_t *order, unsigned int nr_online)
{
	u8 list_of[VCORE_MAX_VCORES];
	u32 pcoreid[VCORE_MAX_VCORES];
	unsigned int i;

	for (i = 0; i < K.h->m.max_vcores; i++) {
		list_of[order[i]] = i < nr_online ? MCP_ONLINE : MCP_INACTIVE;
		pcoreid[order[i]] = i;
	}
	if (mcp_arrange(&K.h->m, VCORE_PROC_RUNNING_M, list_of, order,
			pcoreid))
		abort();
}

void ks_send_kernel_event(const struct event_msg *msg, uint32_t vcoreid)
{
	mcp_send_kernel_event(&K.h->m, msg, vcoreid);
	check_balanced("send_kernel_event");
}

void ks_notify(uint32_t vcoreid)
{
	if (vcoreid >= K.h->m.max_vcores)
		return;
	mcp_notify(&K.h->m, vcoreid);
	check_balanced("notify");
}

/* ---- the vcore lists ------------------------------------------------ */

static struct {
	void (*notify_ipi)(uint32_t vcoreid);
	void (*wakeup_grant)(void);
} linux_side;

static void notify_ipi_hook(struct mcp *m, u32 vcoreid)
{
	(void)m;
	linux_side.notify_ipi(vcoreid);
}

static void wakeup_grant_hook(struct mcp *m)
{
	(void)m;
	linux_side.wakeup_grant();
}

void ks_set_linux_side(void (*notify_ipi)(uint32_t vcoreid),
		       void (*wakeup_grant)(void))
{
	h_linux_side_set(NULL, NULL);
	linux_side.notify_ipi = notify_ipi;
	linux_side.wakeup_grant = wakeup_grant;
	h_linux_side_set(notify_ipi ? notify_ipi_hook : NULL,
			 wakeup_grant ? wakeup_grant_hook : NULL);
}

int ks_attach_vcore(uint32_t vcoreid)
{
	return mcp_attach_vcore(&K.h->m, vcoreid);
}

unsigned int ks_vcores_wanted(void)
{
	return mcp_vcores_wanted(&K.h->m);
}

int ks_grant_vcore(uint32_t pcoreid)
{
	struct mcp_vcore *vc = mcp_grant_vcore_near(&K.h->m, pcoreid, -1);

	return vc ? (int)vc->id : -1;
}

int ks_yield_vcore(uint32_t vcoreid, bool being_nice)
{
	return mcp_yield_vcore(&K.h->m, vcoreid, being_nice);
}

int ks_preempt_vcore(uint32_t vcoreid, bool bulk)
{
	return mcp_preempt_vcore(&K.h->m, vcoreid, bulk);
}

int ks_change_vcore(uint32_t caller, uint32_t target)
{
	return mcp_change_vcore(&K.h->m, caller, target);
}

bool ks_wakeup(void)
{
	return mcp_wakeup(&K.h->m);
}

unsigned int ks_state(void)
{
	return READ_ONCE(K.h->m.state);
}

unsigned int ks_num_vcores(void)
{
	return READ_ONCE(K.h->m.num_vcores);
}

bool ks_vcore_mapped(uint32_t vcoreid)
{
	return vcoreid < K.h->m.max_vcores &&
	       mcp_vcore_is_mapped(&K.h->m, vcoreid);
}

void ks_set_resume_vcore_ctx(uint32_t vcoreid, bool resume)
{
	struct mcp *m = &K.h->m;
	unsigned long flags;

	if (vcoreid >= m->max_vcores)
		return;
	vc_lock_irqsave(&m->lock, flags);
	m->vcores[vcoreid].resume_vcore_ctx = resume;
	vc_unlock_irqrestore(&m->lock, flags);
}

int ks_take_grant(uint32_t vcoreid, uint32_t pcoreid)
{
	struct mcp *m = &K.h->m;
	struct mcp_vcore *vc;
	unsigned long flags;
	int ret = -1;

	if (vcoreid >= m->max_vcores)
		return -1;
	vc = &m->vcores[vcoreid];
	vc_lock_irqsave(&m->lock, flags);
	if (vc->mapped && vc->pcoreid == pcoreid) {
		ret = vc->resume_vcore_ctx;
		vc->resume_vcore_ctx = false;
	}
	vc_unlock_irqrestore(&m->lock, flags);
	return ret;
}

/* ---- counters ------------------------------------------------------- */

uint64_t ks_sent(void)
{
	return H_STAT(K.h, sent);
}

uint64_t ks_dropped(void)
{
	return h_drops_total(K.h);
}

uint64_t ks_spams(void)
{
	return H_STAT(K.h, spams);
}

unsigned int ks_check(void)
{
	return h_check(K.h);
}

/* ---- the arena ------------------------------------------------------ */

unsigned long ks_arena_used(void)
{
	unsigned long n, flags;

	vc_lock_irqsave(&K.h->m.arena.lock, flags);
	n = K.h->m.arena.nr_used;
	vc_unlock_irqrestore(&K.h->m.arena.lock, flags);
	return n;
}

unsigned long ks_arena_peak(void)
{
	unsigned long n, flags;

	vc_lock_irqsave(&K.h->m.arena.lock, flags);
	n = K.peak;
	vc_unlock_irqrestore(&K.h->m.arena.lock, flags);
	return n;
}

void ks_arena_reset_peak(void)
{
	unsigned long flags;

	vc_lock_irqsave(&K.h->m.arena.lock, flags);
	K.peak = K.h->m.arena.nr_used;
	vc_unlock_irqrestore(&K.h->m.arena.lock, flags);
}

unsigned long ks_arena_bad_frees(void)
{
	return __atomic_load_n(&K.bad_frees, __ATOMIC_RELAXED);
}

void ks_arena_fail_after(long n)
{
	__atomic_store_n(&K.fail_after, n, __ATOMIC_RELAXED);
}

void ks_arena_unwatch(void)
{
	struct mcp_arena *a = &K.h->m.arena;
	unsigned long flags;

	h_validate_set(NULL);
	vc_lock_irqsave(&a->lock, flags);
	if (a->r.kaddr)
		unpoison(a->r.kaddr, a->nr_pages * PAGE_SIZE);
	vc_unlock_irqrestore(&a->lock, flags);
}

/* Whether this allocation is one ks_arena_fail_after() lets through. */
static bool arena_may_alloc(void)
{
	long n = __atomic_load_n(&K.fail_after, __ATOMIC_RELAXED);

	do {
		if (n < 0)
			return true;
		if (n == 0)
			return false;
	} while (!__atomic_compare_exchange_n(&K.fail_after, &n, n - 1, false,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

/* ---- libvcore's arena page layer (libvcore/arena.h) ----------------- */

/*
 * The page layer plays VCORE_IOC_ARENA_ALLOC and _FREE: a thread in them
 * is in the kernel.  With a fake Linux side installed (its IPIs are
 * signals, whose handlers call the core) the asynchronous signals wait
 * until it is out, as the module's task work runs only on the way back
 * to user space; a handler would otherwise enter the core on a thread
 * that holds the arena's lock.
 */
static bool ioctl_enter(sigset_t *old)
{
	sigset_t all;

	if (!linux_side.notify_ipi)
		return false;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	pthread_sigmask(SIG_BLOCK, &all, old);
	return true;
}

static void ioctl_leave(bool blocked, const sigset_t *old)
{
	if (blocked)
		pthread_sigmask(SIG_SETMASK, old, NULL);
}

int vcore_arena_contains(const void *p, size_t len);
int vcore_arena_region(void **base, size_t *size);
void *vcore_arena_alloc_pages(unsigned int nr_pages);
int vcore_arena_free_pages(void *addr, unsigned int nr_pages);

int vcore_arena_contains(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, base;
	size_t size;

	if (!K.h || !K.h->m.arena.r.kaddr)
		return 0;
	base = (uintptr_t)K.h->m.arena.r.kaddr;
	size = K.h->m.arena.r.size;
	return a >= base && len <= size && a - base <= size - len;
}

int vcore_arena_region(void **base, size_t *size)
{
	if (!K.h || !K.h->m.arena.r.kaddr)
		return -ENXIO;
	if (base)
		*base = K.h->m.arena.r.kaddr;
	if (size)
		*size = K.h->m.arena.r.size;
	return 0;
}

void *vcore_arena_alloc_pages(unsigned int nr_pages)
{
	sigset_t old;
	bool blocked;
	void *k;
	u64 u;

	if (!nr_pages) {
		errno = EINVAL;
		return NULL;
	}
	if (!K.h || !K.h->m.arena.r.kaddr) {
		errno = ENXIO;
		return NULL;
	}
	if (!arena_may_alloc()) {
		errno = ENOMEM;
		return NULL;
	}
	blocked = ioctl_enter(&old);
	u = mcp_arena_alloc_pages(&K.h->m, nr_pages, &k);
	ioctl_leave(blocked, &old);
	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	return (void *)(uintptr_t)u;
}

int vcore_arena_free_pages(void *addr, unsigned int nr_pages)
{
	sigset_t old;
	bool blocked = ioctl_enter(&old);
	int err = mcp_arena_free_pages(&K.h->m, (uintptr_t)addr, nr_pages);

	ioctl_leave(blocked, &old);
	if (err)
		__atomic_fetch_add(&K.bad_frees, 1, __ATOMIC_RELAXED);
	return err;
}

/* ---- delay injection ------------------------------------------------ */

void ks_inject(unsigned int rate)
{
	h_inject_set(rate);
}

unsigned long ks_injected(void)
{
	return h_inject_count();
}

unsigned int ks_sites_hit(void)
{
	return h_sites_hit();
}
