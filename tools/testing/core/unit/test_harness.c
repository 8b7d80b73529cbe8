// SPDX-License-Identifier: GPL-2.0
/*
 * The harness checks itself: each check the core's tests rely on (leaks,
 * allocation failure, guard pages, lock order, irqsave, RCU balance, the
 * step budget, watchpoints, simulated interrupts, h_check) is shown to
 * fire on a deliberate mistake, and to stay quiet without it.
 */
#include <signal.h>
#include <sys/wait.h>

#include "unit.h"

/* Run fn in a child; whether it died (signal or non-zero exit). */
static bool dies(void (*fn)(bool), bool mistake)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		fn(mistake);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

TEST(every_allocation_failure_in_mcp_create_unwinds_cleanly)
{
	struct h_opts o = { .max_vcores = 3, .arena_pages = 4 };
	unsigned long before, needed, n;
	struct h_mcp *h;

	before = h_alloc_count();
	h = h_mcp_create(&o);
	needed = h_alloc_count() - before;
	expect(h != NULL);
	h_mcp_destroy(h);
	expect_eq(h_alloc_live(), 0);
	diag("h_mcp_create makes %lu allocations", needed);
	expect(needed >= 5);
	for (n = 1; n <= needed; n++) {
		h_alloc_fail_nth(n);
		h = h_mcp_create(&o);
		h_alloc_fail_off();
		expect(h == NULL);
		h_mcp_destroy(h);
		if (h_alloc_live()) {
			diag("failing allocation %lu leaks:", n);
			h_alloc_leaks(stdout);
			expect_eq(h_alloc_live(), 0);
		}
	}
	h_alloc_fail_after(0);
	expect(h_mcp_create(&o) == NULL);
	h_alloc_fail_off();
	expect_eq(h_alloc_live(), 0);
}

TEST(leaks_are_reported_with_their_site)
{
	void *p = kmalloc(24, GFP_KERNEL), *r = vmalloc_user(100);
	FILE *f = tmpfile();
	char line[256] = "";

	expect_eq(h_alloc_live(), 2);
	expect_eq(h_alloc_leaks(f), 2);
	rewind(f);
	expect(fgets(line, sizeof(line), f) && strstr(line, "test_harness.c"));
	fclose(f);
	kfree(p);
	vfree(r);
	expect_eq(h_alloc_live(), 0);
	expect_eq(h_alloc_leaks(stdout), 0);
}

static void write_past_a_region(bool mistake)
{
	char *r = vmalloc_user(100);

	r[4095] = 1;			/* the region is a whole page */
	if (mistake)
		r[4096] = 1;		/* the guard page */
	vfree(r);
}

TEST(regions_are_fenced_by_guard_pages)
{
	expect(!dies(write_past_a_region, false));
	expect(dies(write_past_a_region, true));
}

static void lock_order(bool mistake)
{
	struct h_spinlock a, b;
	unsigned long f1, f2;

	h_spin_init(&a, "test_a");
	h_spin_init(&b, "test_b");
	f1 = h_spin_lock_irqsave(&a);
	f2 = h_spin_lock_irqsave(&b);
	h_spin_unlock_irqrestore(&b, f2);
	h_spin_unlock_irqrestore(&a, f1);
	if (!mistake) {
		f1 = h_spin_lock_irqsave(&a);
		f2 = h_spin_lock_irqsave(&b);
	} else {
		f1 = h_spin_lock_irqsave(&b);
		f2 = h_spin_lock_irqsave(&a);
	}
	(void)f1;
	(void)f2;
}

static void lock_twice(bool mistake)
{
	struct h_spinlock a;

	h_spin_init(&a, "test_twice");
	h_spin_lock(&a);
	if (mistake)
		h_spin_lock(&a);
	h_spin_unlock(&a);
}

static void unlock_unheld(bool mistake)
{
	struct h_spinlock a;

	h_spin_init(&a, "test_unheld");
	if (!mistake)
		h_spin_lock(&a);
	h_spin_unlock(&a);
}

static void assert_unheld(bool mistake)
{
	struct h_spinlock a;

	h_spin_init(&a, "test_assert");
	if (!mistake)
		h_spin_lock(&a);
	vc_assert_held(&a);
}

static void irq_restore_garbage(bool mistake)
{
	unsigned long f = h_local_irq_save();

	h_local_irq_restore(mistake ? 12345 : f);
}

static void rcu_unbalanced(bool mistake)
{
	h_rcu_read_lock();
	h_rcu_read_unlock();
	if (mistake)
		h_rcu_read_unlock();
}

TEST(lock_irq_and_rcu_misuse_is_caught)
{
	expect(!dies(lock_order, false));
	expect(dies(lock_order, true));
	expect(!dies(lock_twice, false));
	expect(dies(lock_twice, true));
	expect(!dies(unlock_unheld, false));
	expect(dies(unlock_unheld, true));
	expect(!dies(assert_unheld, false));
	expect(dies(assert_unheld, true));
	expect(!dies(irq_restore_garbage, false));
	expect(dies(irq_restore_garbage, true));
	expect(!dies(rcu_unbalanced, false));
	expect(dies(rcu_unbalanced, true));
}

static void spin_on_shared(bool mistake)
{
	u32 word = 0;
	int i;

	h_budget_set(1000);
	for (i = 0; i < (mistake ? 100000 : 500); i++)
		(void)vc_load(&word);
	h_budget_set(0);
}

TEST(step_budget_catches_a_runaway_loop)
{
	expect(!dies(spin_on_shared, false));
	expect(dies(spin_on_shared, true));
}

static unsigned int watch_hits;

static void count_hit(void *arg, const volatile void *addr, unsigned int k)
{
	expect(addr == arg);
	expect_eq(k, H_STORE);
	watch_hits++;
}

TEST(watchpoints_fire_on_the_chosen_accesses)
{
	u32 w[4] = { 0 };
	int id;

	id = h_watch(&w[1], sizeof(w[1]), H_STORE, 2, 3, count_hit, &w[1]);
	for (int i = 0; i < 10; i++) {
		vc_store(&w[1], i);
		vc_store(&w[0], i);
		(void)vc_load(&w[1]);
	}
	expect_eq(h_watch_fired(id), 3);
	expect_eq(watch_hits, 3);
	h_watch_clear();
}

static int irq_runs;

static void irq_fn(void *arg)
{
	(void)arg;
	expect(h_in_irq() && h_irqs_disabled());
	irq_runs++;
}

TEST(interrupts_fire_only_while_enabled)
{
	struct h_spinlock l;
	unsigned long f;
	u32 word = 0;

	h_spin_init(&l, "test_irq");
	f = h_spin_lock_irqsave(&l);
	h_irq_arm(0, irq_fn, NULL);
	for (int i = 0; i < 10; i++)
		(void)vc_load(&word);
	expect_eq(irq_runs, 0);
	h_spin_unlock_irqrestore(&l, f);
	(void)vc_load(&word);
	expect_eq(irq_runs, 1);
	expect(h_irq_fired() && !h_in_irq() && !h_irqs_disabled());
}

TEST(h_check_notices_broken_invariants)
{
	setup();
	expect_eq(h_check(H), 0);
	H->m.num_vcores = 3;
	expect(h_check(H) > 0);
	H->m.num_vcores = 0;
	H->m.vcores[2].mapped = true;
	expect(h_check(H) > 0);
	H->m.vcores[2].mapped = false;
	H->m.procinfo->coremap_seq++;
	expect(h_check(H) > 0);
	H->m.procinfo->coremap_seq++;
	list_del(&H->m.vcores[1].list);
	expect(h_check(H) > 0);
	list_add(&H->m.vcores[1].list, &H->m.inactive);
	teardown();
}

TEST(the_core_was_built_against_this_harness)
{
	/* the core's lock type is the harness's, and its accesses are hooked */
	_Static_assert(sizeof(((struct mcp *)0)->lock) ==
		       sizeof(struct h_spinlock), "harness env.h not in use");
	setup();
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0 I:1,2,3");
	expect(h_sites_hit() > 10);
	teardown();
}

int main(void)
{
	tap_start(60);
	RUN(every_allocation_failure_in_mcp_create_unwinds_cleanly);
	RUN(leaks_are_reported_with_their_site);
	RUN(regions_are_fenced_by_guard_pages);
	RUN(lock_irq_and_rcu_misuse_is_caught);
	RUN(step_budget_catches_a_runaway_loop);
	RUN(watchpoints_fire_on_the_chosen_accesses);
	RUN(interrupts_fire_only_while_enabled);
	RUN(h_check_notices_broken_invariants);
	RUN(the_core_was_built_against_this_harness);
	return tap_done();
}
