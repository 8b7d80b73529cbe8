// SPDX-License-Identifier: GPL-2.0
/*
 * The harness's run-time half of env.h: the access hook, spinlocks with
 * irqsave and lock-order checks, RCU on liburcu, printk.  See the headers
 * in this directory for what each promises.
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <urcu/urcu-memb.h>

#include "../env.h"

#define NR_WATCHES	8
#define NR_HELD		8
#define NR_CLASSES	32

struct watch {
	const char *lo, *hi;
	unsigned int kinds, skip, times, fired;
	h_watch_fn fn;
	void *arg;
	bool on;
};

/* Everything per thread; a thread starts in process context, irqs on. */
static __thread struct {
	bool in_hook;
	unsigned long steps, budget;
	struct watch w[NR_WATCHES];
	unsigned int nr_watches;
	/* simulated interrupt */
	bool irq_armed, irq_fired, in_irq;
	unsigned int irq_after;
	void (*irq_fn)(void *);
	void *irq_arg;
	/* locking */
	bool irqs_off;
	struct h_spinlock *held[NR_HELD];
	int nr_held;
	int preempt;
	int rcu_depth;
	bool rcu_registered;
	unsigned int rng;
} T;

static void (*budget_fn)(void);
static void (*validate_fn)(const struct h_site *, const volatile void *,
			   unsigned int);
static unsigned int inject_rate;
static unsigned long inject_count;
static struct h_site *sites;
static unsigned long warnings;
static unsigned long notify_ipis, wakeup_grants;
static h_notify_ipi_fn notify_ipi_cb;
static h_wakeup_grant_fn wakeup_grant_cb;
static bool quiet;

static unsigned int rnd(void)
{
	if (!T.rng)
		T.rng = (unsigned int)(uintptr_t)&T | 1;
	T.rng ^= T.rng << 13;
	T.rng ^= T.rng >> 17;
	T.rng ^= T.rng << 5;
	return T.rng;
}

static void __attribute__((noreturn)) report(const char *fmt, ...)
{
	va_list ap;

	fputs("HARNESS: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ---- the hook ---------------------------------------------------------- */

static void site_register(struct h_site *site)
{
	struct h_site *head;

	if (__atomic_load_n(&site->listed, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&site->listed, 1, __ATOMIC_ACQ_REL))
		return;
	head = __atomic_load_n(&sites, __ATOMIC_RELAXED);
	do {
		site->next = head;
	} while (!__atomic_compare_exchange_n(&sites, &head, site, true,
					      __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

static void inject(void)
{
	unsigned int rate = __atomic_load_n(&inject_rate, __ATOMIC_RELAXED);
	unsigned int x, spins;

	if (!rate)
		return;
	x = rnd();
	if (x % rate)
		return;
	__atomic_fetch_add(&inject_count, 1, __ATOMIC_RELAXED);
	if ((x >> 16) % 4 == 0) {
		sched_yield();
		return;
	}
	for (spins = 32 + (x >> 20) % 2048; spins; spins--)
		__builtin_ia32_pause();
}

static void run_watches(const volatile void *addr, unsigned int kind)
{
	const char *a = (const char *)addr;
	unsigned int i;

	for (i = 0; i < T.nr_watches; i++) {
		struct watch *w = &T.w[i];

		if (!w->on || !(w->kinds & kind) || a < w->lo || a >= w->hi)
			continue;
		if (w->skip) {
			w->skip--;
			continue;
		}
		w->fired++;
		if (w->times && w->fired >= w->times)
			w->on = false;
		w->fn(w->arg, addr, kind);
	}
}

static void run_irq(void)
{
	if (!T.irq_armed || T.irqs_off || T.in_irq)
		return;
	if (T.irq_after) {
		T.irq_after--;
		return;
	}
	T.irq_armed = false;
	T.irq_fired = true;
	T.in_irq = true;
	T.irqs_off = true;
	T.in_hook = false;	/* the handler's own accesses are hooked */
	T.irq_fn(T.irq_arg);
	T.in_hook = true;
	T.irqs_off = false;
	T.in_irq = false;
}

void h_access(struct h_site *site, const volatile void *addr,
	      unsigned int kind)
{
	site_register(site);
	__atomic_fetch_add(&site->hits, 1, __ATOMIC_RELAXED);
	if (T.in_hook)
		return;
	T.in_hook = true;
	if (validate_fn)
		validate_fn(site, addr, kind);
	if (T.budget && ++T.steps > T.budget) {
		if (budget_fn)
			budget_fn();
		report("step budget of %lu exceeded at %s:%d (%s): "
		       "an unbounded loop?", T.budget, site->file, site->line,
		       site->what);
	}
	if (T.nr_watches)
		run_watches(addr, kind);
	run_irq();
	inject();
	T.in_hook = false;
}

int h_watch(const volatile void *addr, size_t len, unsigned int kinds,
	    unsigned int skip, unsigned int times, h_watch_fn fn, void *arg)
{
	struct watch *w;

	if (T.nr_watches == NR_WATCHES)
		return -1;
	w = &T.w[T.nr_watches];
	w->lo = (const char *)addr;
	w->hi = (const char *)addr + len;
	w->kinds = kinds;
	w->skip = skip;
	w->times = times;
	w->fired = 0;
	w->fn = fn;
	w->arg = arg;
	w->on = true;
	return (int)T.nr_watches++;
}

unsigned int h_watch_fired(int id)
{
	return id >= 0 && (unsigned int)id < T.nr_watches ? T.w[id].fired : 0;
}

void h_watch_clear(void)
{
	T.nr_watches = 0;
}

void h_budget_set(unsigned long steps)
{
	T.budget = steps;
	T.steps = 0;
}

unsigned long h_steps(void)
{
	return T.steps;
}

void h_budget_on_exceeded(void (*fn)(void))
{
	budget_fn = fn;
}

void h_irq_arm(unsigned int after, void (*fn)(void *), void *arg)
{
	T.irq_after = after;
	T.irq_fn = fn;
	T.irq_arg = arg;
	T.irq_fired = false;
	T.irq_armed = true;
}

bool h_irq_fired(void)
{
	return T.irq_fired;
}

void h_irq_disarm(void)
{
	T.irq_armed = false;
}

bool h_in_irq(void)
{
	return T.in_irq;
}

void h_validate_set(void (*fn)(const struct h_site *, const volatile void *,
			       unsigned int))
{
	validate_fn = fn;
}

void h_inject_set(unsigned int one_in)
{
	__atomic_store_n(&inject_rate, one_in, __ATOMIC_RELAXED);
}

unsigned long h_inject_count(void)
{
	return __atomic_load_n(&inject_count, __ATOMIC_RELAXED);
}

unsigned int h_sites_hit(void)
{
	struct h_site *s = __atomic_load_n(&sites, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	for (; s; s = s->next)
		n++;
	return n;
}

void h_sites_report(FILE *f)
{
	struct h_site *s = __atomic_load_n(&sites, __ATOMIC_ACQUIRE);

	for (; s; s = s->next)
		fprintf(f, "#   %s:%d %s: %lu\n", s->file, s->line, s->what,
			__atomic_load_n(&s->hits, __ATOMIC_RELAXED));
}

/* ---- the Linux side's hooks (env.h) ------------------------------------ */

void h_linux_side_set(h_notify_ipi_fn notify_ipi,
		      h_wakeup_grant_fn wakeup_grant)
{
	__atomic_store_n(&notify_ipi_cb, notify_ipi, __ATOMIC_RELEASE);
	__atomic_store_n(&wakeup_grant_cb, wakeup_grant, __ATOMIC_RELEASE);
}

void h_notify_ipi(struct mcp *m, u32 vcoreid)
{
	h_notify_ipi_fn cb = __atomic_load_n(&notify_ipi_cb, __ATOMIC_ACQUIRE);

	__atomic_fetch_add(&notify_ipis, 1, __ATOMIC_RELAXED);
	if (cb)
		cb(m, vcoreid);
}

void h_wakeup_grant(struct mcp *m)
{
	h_wakeup_grant_fn cb = __atomic_load_n(&wakeup_grant_cb,
					       __ATOMIC_ACQUIRE);

	__atomic_fetch_add(&wakeup_grants, 1, __ATOMIC_RELAXED);
	if (cb)
		cb(m);
}

unsigned long h_notify_ipis(void)
{
	return __atomic_load_n(&notify_ipis, __ATOMIC_RELAXED);
}

unsigned long h_wakeup_grants(void)
{
	return __atomic_load_n(&wakeup_grants, __ATOMIC_RELAXED);
}

/* ---- locks ------------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;		/* guards name[] and nr */
	const char *name[NR_CLASSES];
	unsigned int nr;
	unsigned char after[NR_CLASSES][NR_CLASSES];	/* atomic */
} classes = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned int lock_class(const char *name)
{
	unsigned int i;

	pthread_mutex_lock(&classes.lock);
	for (i = 0; i < classes.nr; i++)
		if (!strcmp(classes.name[i], name))
			goto out;
	if (classes.nr == NR_CLASSES)
		report("more than %d lock classes", NR_CLASSES);
	classes.name[classes.nr++] = name;
out:
	pthread_mutex_unlock(&classes.lock);
	return i;
}

void h_spin_init(struct h_spinlock *l, const char *name)
{
	pthread_spin_init(&l->lock, PTHREAD_PROCESS_PRIVATE);
	l->cls = lock_class(name);
	l->held = 0;
}

static void check_order(struct h_spinlock *l)
{
	int i;

	for (i = 0; i < T.nr_held; i++) {
		struct h_spinlock *h = T.held[i];

		if (h == l)
			report("recursive acquisition of %s",
			       classes.name[l->cls]);
		if (h->cls == l->cls)
			report("two locks of class %s held at once",
			       classes.name[l->cls]);
		if (__atomic_load_n(&classes.after[l->cls][h->cls],
				    __ATOMIC_RELAXED))
			report("lock inversion: %s taken while holding %s, "
			       "the reverse order was seen before",
			       classes.name[l->cls], classes.name[h->cls]);
		__atomic_store_n(&classes.after[h->cls][l->cls], 1,
				 __ATOMIC_RELAXED);
	}
	if (T.nr_held == NR_HELD)
		report("more than %d locks held", NR_HELD);
}

void h_spin_lock(struct h_spinlock *l)
{
	check_order(l);
	pthread_spin_lock(&l->lock);
	l->owner = pthread_self();
	l->held = 1;
	T.held[T.nr_held++] = l;
}

void h_spin_unlock(struct h_spinlock *l)
{
	int i;

	for (i = T.nr_held - 1; i >= 0 && T.held[i] != l; i--)
		;
	if (i < 0)
		report("unlock of %s, which this thread does not hold",
		       classes.name[l->cls]);
	for (; i < T.nr_held - 1; i++)
		T.held[i] = T.held[i + 1];
	T.nr_held--;
	l->held = 0;
	pthread_spin_unlock(&l->lock);
}

#define IRQ_FLAGS_MAGIC	0x5a00UL

unsigned long h_local_irq_save(void)
{
	unsigned long flags = IRQ_FLAGS_MAGIC | T.irqs_off;

	T.irqs_off = true;
	return flags;
}

void h_local_irq_restore(unsigned long flags)
{
	if ((flags & ~1UL) != IRQ_FLAGS_MAGIC)
		report("irq restore with flags %#lx that no save returned",
		       flags);
	if (!T.irqs_off)
		report("irq restore while interrupts are enabled");
	T.irqs_off = flags & 1;
}

bool h_irqs_disabled(void)
{
	return T.irqs_off;
}

unsigned long h_spin_lock_irqsave(struct h_spinlock *l)
{
	unsigned long flags = h_local_irq_save();

	h_spin_lock(l);
	return flags;
}

void h_spin_unlock_irqrestore(struct h_spinlock *l, unsigned long flags)
{
	h_spin_unlock(l);
	h_local_irq_restore(flags);
}

void h_assert_held(struct h_spinlock *l, const char *file, int line)
{
	if (!l->held || !pthread_equal(l->owner, pthread_self()))
		report("%s:%d: %s is not held by this thread", file, line,
		       classes.name[l->cls]);
}

int h_locks_held(void)
{
	return T.nr_held;
}

void h_preempt_count_add(int d)
{
	T.preempt += d;
	if (T.preempt < 0)
		report("preempt count below zero");
}

int h_preempt_count(void)
{
	return T.preempt;
}

/* ---- RCU --------------------------------------------------------------- */

static pthread_key_t rcu_key;
static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;

static void rcu_thread_exit(void *arg)
{
	(void)arg;
	urcu_memb_unregister_thread();
}

static void rcu_key_init(void)
{
	pthread_key_create(&rcu_key, rcu_thread_exit);
}

void h_rcu_read_lock(void)
{
	if (!T.rcu_registered) {
		pthread_once(&rcu_once, rcu_key_init);
		urcu_memb_register_thread();
		pthread_setspecific(rcu_key, (void *)1);
		T.rcu_registered = true;
	}
	urcu_memb_read_lock();
	T.rcu_depth++;
}

void h_rcu_read_unlock(void)
{
	if (T.rcu_depth <= 0)
		report("rcu_read_unlock() without rcu_read_lock()");
	T.rcu_depth--;
	urcu_memb_read_unlock();
}

int h_rcu_depth(void)
{
	return T.rcu_depth;
}

void h_synchronize_rcu(void)
{
	if (T.rcu_depth)
		report("synchronize_rcu() inside a read-side section");
	urcu_memb_synchronize_rcu();
}

/* ---- printk ------------------------------------------------------------ */

static void vprintk(const char *fmt, va_list ap)
{
	if (fmt[0] == '<' && fmt[1] >= '0' && fmt[1] <= '7' && fmt[2] == '>') {
		if (fmt[1] <= '4')
			__atomic_fetch_add(&warnings, 1, __ATOMIC_RELAXED);
		fmt += 3;
	}
	if (__atomic_load_n(&quiet, __ATOMIC_RELAXED))
		return;
	vfprintf(stderr, fmt, ap);
}

void h_printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}

void h_printk_limited(int *budget, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_sub(budget, 1, __ATOMIC_RELAXED) <= 0) {
		if (fmt[0] == '<' && fmt[1] <= '4')
			__atomic_fetch_add(&warnings, 1, __ATOMIC_RELAXED);
		return;
	}
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}

unsigned long h_warnings(void)
{
	return __atomic_load_n(&warnings, __ATOMIC_RELAXED);
}

void h_printk_quiet(bool q)
{
	__atomic_store_n(&quiet, q, __ATOMIC_RELAXED);
}

void h_warn_at(const char *file, int line, const char *cond)
{
	h_printk(KERN_WARNING "WARNING: %s:%d: %s\n", file, line, cond);
}

void h_bug_at(const char *file, int line, const char *cond)
{
	fprintf(stderr, "BUG: %s:%d: %s\n", file, line, cond);
	abort();
}
