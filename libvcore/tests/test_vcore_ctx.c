// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The vcore layer against the fake kernel, one vcore: notifications land
 * at any instruction of a context that keeps every register live, and it
 * resumes with every general, vector and mask register, DF and MXCSR
 * intact; a preemption in that context restarts it from uthread_ctx and
 * preempt_fp (START); a preemption in vcore context resumes it in place
 * (RESUME); the entry code resets the FP control state for C.
 */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>

#include "barrier.h"
#include "event.h"
#include "lib/kernel_side.h"
#include "fake_kernel.h"
#include "tap.h"
#include "vcore_ctx.h"
#include "vcore_ctx_internal.h"

unsigned long regs_torture(unsigned long rounds, unsigned long spin,
			   unsigned long mode, unsigned long *badmask);
extern const char __vcore_pop_enabled[], __vcore_pop_end[];

#define USTACK_SIZE	(256 * 1024)
#define WEIRD_MXCSR	0x7f80	/* round toward zero, all masked */
#define MXCSR_FLAGS	0x3f	/* the sticky exception flags */

static struct vcore_dev dev;

enum scenario {
	S_IDLE,
	S_USER_TORTURE,		/* the torture in a popped user context */
	S_VC_TORTURE,		/* the torture in vcore context */
};

/* set by main before a grant, read by the vcore */
static unsigned int scenario;
static unsigned long torture_mode;
static unsigned int stop;		/* main: the torture may end */
static unsigned int late_posts;		/* post while in vcore context */
static unsigned long sends_back;	/* pops left to send back at once */

/* the vcore's own */
static struct vcore_user_ctx uctx;
static void *ufp;
static char *ustack_top;
static int user_live;

/* results, read by main after done */
static unsigned long rounds, bad_rounds, badmask;
static unsigned long nr_notify, nr_in_pop, nr_in_pop_tail, nr_restart;
static unsigned long nr_bad_vc_mxcsr, nr_bad_user_mxcsr, nr_bad_ctx;
static unsigned long tail_rsp_lo, tail_rsp_hi;	/* of contexts in the tail */
static unsigned long nr_tail_pc_in_pop;	/* their resume pc: in the pop */
static unsigned int done;

/* messages the firer posted, and those handled */
static unsigned long handled;

static void count_handler(struct event_msg *m, unsigned int t, void *d)
{
	(void)m;
	(void)t;
	(void)d;
	WRITE_ONCE(handled, handled + 1);
}

static unsigned int get_mxcsr(void)
{
	unsigned int m;

	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

static void set_mxcsr(unsigned int m)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(m));
}

static void finish(void *arg)
{
	(void)arg;
	user_live = 0;
	smp_store_release(&done, 1);
	/* returning from the hook later: the library yields the vcore */
	vcore_yield(false);
	for (;;)
		vcore_yield(false);
}

static void torture_main(void)
{
	unsigned long mask = 0;

	if (vcore_in_vcore_context() || vcore_id() != 0)
		nr_bad_ctx++;
	set_mxcsr(WEIRD_MXCSR);
	while (!READ_ONCE(stop)) {
		bad_rounds += regs_torture(200, 3000, torture_mode, &mask);
		rounds += 200;
		if ((get_mxcsr() & ~MXCSR_FLAGS) != WEIRD_MXCSR)
			nr_bad_user_mxcsr++;
	}
	badmask |= mask;
	set_mxcsr(0x1f80);
	vcore_disable_notifs(vcore_id());
	vcore_save_ctx_and_call(NULL, finish, NULL);
}

static void hook(void)
{
	unsigned int v = vcore_id();
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(v);
	unsigned long mask = 0;

	if (!vcore_in_vcore_context() || v != 0)
		nr_bad_ctx++;
	if ((get_mxcsr() & ~MXCSR_FLAGS) != 0x1f80)
		nr_bad_vc_mxcsr++;
	if (vcore_entry_reason() == VCORE_ENTRY_NOTIFY) {
		uintptr_t rip = vcpd->uthread_ctx.rip;

		nr_notify++;
		if (rip >= (uintptr_t)__vcore_pop &&
		    rip < (uintptr_t)__vcore_pop_end) {
			nr_in_pop++;
			if (rip > (uintptr_t)__vcore_pop_enabled) {
				uintptr_t rsp = vcpd->uthread_ctx.rsp;
				uintptr_t pc = vcore_ctx_resume_pc(&vcpd->uthread_ctx);

				nr_in_pop_tail++;
				if (pc >= (uintptr_t)__vcore_pop &&
				    pc < (uintptr_t)__vcore_pop_end)
					nr_tail_pc_in_pop++;
				if (!tail_rsp_lo || rsp < tail_rsp_lo)
					tail_rsp_lo = rsp;
				if (rsp > tail_rsp_hi)
					tail_rsp_hi = rsp;
			}
		}
		vcore_handle_events(&dev, v);
		/*
		 * A message that arrives after vcore_handle_events() looked: the
		 * kernel sees notifications off and sends no IPI, so the pop
		 * must find notif_pending and go back (through the kernel,
		 * which saves the half-popped context as uthread_ctx).
		 */
		if ((READ_ONCE(late_posts) && nr_notify % 4 == 0) ||
		    (sends_back && sends_back--)) {
			/* not EV_ALARM: the firer counts those */
			struct event_msg m = { .ev_type = EV_FREE_APPLE_PIE };

			fake_send_vc_msg(v, true, &m);
		}
		if (user_live)
			vcore_pop_user_ctx(&vcpd->uthread_ctx, ufp);
		return;
	}
	/* START */
	vcore_handle_events(&dev, v);
	if (user_live) {
		/* preempted in the user context: it waits in the VCPD */
		nr_restart++;
		vcore_fp_from_preempt(v, ufp);
		vcore_pop_user_ctx(&vcpd->uthread_ctx, ufp);
	}
	switch (READ_ONCE(scenario)) {
	case S_USER_TORTURE:
		vcore_init_sw_ctx(&uctx, torture_main, ustack_top);
		user_live = 1;
		vcore_pop_user_ctx(&uctx, ufp);
	case S_VC_TORTURE:
		WRITE_ONCE(scenario, S_IDLE);
		while (!READ_ONCE(stop)) {
			bad_rounds += regs_torture(200, 3000, torture_mode,
						   &mask);
			rounds += 200;
		}
		badmask |= mask;
		smp_store_release(&done, 1);
		return;
	default:
		return;
	}
}

static unsigned long best_mode(void)
{
	unsigned int a, b, c, d;
	unsigned int lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1U << 27)))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 0xe6) == 0xe6) {
		__cpuid_count(7, 0, a, b, c, d);
		if (b & (1U << 16))
			return 2;	/* AVX-512F, state enabled */
	}
	if ((c & (1U << 28)) && (lo & 6) == 6)
		return 1;
	return 0;
}

/*
 * Run a scenario on vcore 0, firing at it, until enough has happened
 * (at least MIN_SECS and the counts the test wants) or MAX_SECS: the
 * machine may be loaded, and a signal waits for its thread to run.
 */
#define MIN_SECS	0.5
#define MAX_SECS	6.0

struct firer {
	unsigned int notify;		/* post + notify in a loop */
	unsigned int preempt;		/* preempt and regrant in a loop */
	unsigned long want_notify, want_tail, want_preempt, want_restart;
	unsigned long posted, preempts;
	unsigned long base;		/* handled before */
	double secs;
};

static bool enough(const struct firer *f, double t0)
{
	double t = now_s() - t0;

	if (t >= MAX_SECS)
		return true;
	return t >= MIN_SECS && READ_ONCE(nr_notify) >= f->want_notify &&
	       READ_ONCE(nr_in_pop_tail) >= f->want_tail &&
	       f->preempts >= f->want_preempt &&
	       READ_ONCE(nr_restart) >= f->want_restart;
}

static void run_scenario(unsigned int s, struct firer *f)
{
	struct event_msg msg = { .ev_type = EV_ALARM };
	unsigned int spins = 0;
	double t0 = now_s();

	f->base = READ_ONCE(handled);
	rounds = bad_rounds = badmask = 0;
	nr_notify = nr_in_pop = nr_in_pop_tail = nr_restart = 0;
	nr_tail_pc_in_pop = 0;
	WRITE_ONCE(stop, 0);
	WRITE_ONCE(done, 0);
	WRITE_ONCE(scenario, s);
	/* 0 if the vcore has not attached yet: ATTACH grants then */
	expect(vcore_request_total(1) >= 0);
	while (!smp_load_acquire(&done)) {
		bool posted = false;

		if (!READ_ONCE(stop) && enough(f, t0))
			WRITE_ONCE(stop, 1);
		if (f->notify &&
		    f->posted - (READ_ONCE(handled) - f->base) < 32 &&
		    fake_vcore_online(0)) {
			expect_eq(fake_send_vc_msg(0, true, &msg), 0);
			f->posted++;
			posted = true;
		}
		if (f->preempt && ++spins % (f->notify ? 16 : 2) == 0) {
			if (!fake_preempt(0))
				f->preempts++;
			for (int i = 0; i < 2000; i++)
				cpu_relax();
			vcore_request_total(1);
		}
		/* leave the CPU to the vcore when there is nothing to do */
		if (!posted)
			sched_yield();
		for (int i = 0; i < 200; i++)
			cpu_relax();
	}
	f->secs = now_s() - t0;
	/* it yields once done; wait for that before the next scenario */
	while (fake_online())
		sched_yield();
}

static void report(const char *what, const struct firer *f)
{
	diag("%s: mode %lu, %.1f s, %lu rounds, %lu bad (mask %#lx), "
	     "%lu notified (%lu in the pop, %lu after its enable), "
	     "%lu restarts, %lu preempts, %lu posted", what, torture_mode,
	     f->secs, rounds, bad_rounds, badmask, nr_notify, nr_in_pop,
	     nr_in_pop_tail, nr_restart, f->preempts, f->posted);
}

TEST(notifications_keep_every_register_of_the_interrupted_context)
{
	for (unsigned long m = 0; m <= best_mode(); m++) {
		struct firer f = { .notify = 1, .want_notify = 1000 };

		torture_mode = m;
		run_scenario(S_USER_TORTURE, &f);
		report("notify", &f);
		expect_eq(bad_rounds, 0);
		expect_eq(badmask, 0);
		expect(rounds > 0);
		expect(nr_notify >= 100);
	}
	/* the FP control state: default in vcore context, kept in ours */
	expect_eq(nr_bad_vc_mxcsr, 0);
	expect_eq(nr_bad_user_mxcsr, 0);
	expect_eq(nr_bad_ctx, 0);
}

TEST(notifications_land_inside_the_pop_and_it_completes)
{
	struct firer f = { .notify = 1, .want_tail = 100 };

	torture_mode = best_mode();
	WRITE_ONCE(late_posts, 1);
	run_scenario(S_USER_TORTURE, &f);
	WRITE_ONCE(late_posts, 0);
	report("notify, pop", &f);
	expect_eq(bad_rounds, 0);
	/*
	 * A notification inside the pop (after its enable: a signal that
	 * landed there, or the pop's own way back) shows that the rest of
	 * the pop ran from uthread_ctx: a torture round sees it.
	 */
	expect(nr_in_pop_tail > 0);
}

/*
 * Every pop finds a message and goes back before it is done, hundreds of
 * times in a row: each time the context is the one the pop before was
 * restoring, and its pop must reuse that pop's frame, not build a new one
 * below it (the 256 KiB stack holds about 900).
 */
TEST(a_pop_sent_back_again_and_again_keeps_its_stack)
{
	struct firer f = { .notify = 1, .want_tail = 600 };

	torture_mode = best_mode();
	tail_rsp_lo = tail_rsp_hi = 0;
	sends_back = 600;
	run_scenario(S_USER_TORTURE, &f);
	report("notify, sent back", &f);
	diag("%lu pops left to send back; the tail's rsp spans %lu bytes",
	     sends_back, tail_rsp_hi - tail_rsp_lo);
	expect_eq(bad_rounds, 0);
	expect_eq(sends_back, 0);
	expect(nr_in_pop_tail >= 600);
	/*
	 * The firer's notifications stop the torture at any depth, a few
	 * KiB apart; frames built one below another take 296 bytes a pop,
	 * 177 KiB for the 600.
	 */
	expect(tail_rsp_hi - tail_rsp_lo < 32768);
	/*
	 * Where those contexts go on is the torture's code, which a tick
	 * must judge (is it in libc, holding a lock?), not the pop's.
	 */
	diag("%lu of them resume inside the pop", nr_tail_pc_in_pop);
	expect_eq(nr_tail_pc_in_pop, 0);
}

TEST(a_preempted_user_context_restarts_from_uthread_ctx_and_preempt_fp)
{
	struct firer f = { .preempt = 1, .want_restart = 50 };

	torture_mode = best_mode();
	run_scenario(S_USER_TORTURE, &f);
	report("preempt, user", &f);
	expect_eq(bad_rounds, 0);
	expect_eq(badmask, 0);
	expect(nr_restart >= 10);
}

TEST(notifications_and_preemptions_together_lose_no_register)
{
	/*
	 * With both signals pending the notification comes first (the
	 * lower signal number), so most preemptions land in vcore context:
	 * RESUME, START and NOTIFY entries all interleave here.
	 */
	struct firer f = { .notify = 1, .preempt = 1, .want_notify = 500,
			   .want_preempt = 100 };

	torture_mode = best_mode();
	run_scenario(S_USER_TORTURE, &f);
	report("preempt and notify", &f);
	expect_eq(bad_rounds, 0);
	expect_eq(badmask, 0);
	expect(f.preempts > 10);
}

TEST(a_vcore_preempted_in_vcore_context_resumes_in_place)
{
	struct firer f = { .preempt = 1, .want_preempt = 100 };
	struct fake_stats st0, st;

	fake_get_stats(&st0);
	torture_mode = best_mode();
	run_scenario(S_VC_TORTURE, &f);
	fake_get_stats(&st);
	report("preempt, vcore context", &f);
	expect_eq(bad_rounds, 0);
	expect_eq(badmask, 0);
	expect(st.resumes - st0.resumes > 10);
}

int main(void)
{
	void *stk;
	int err;

	tap_start(120);
	err = ks_init(1, 256);
	if (!err)
		err = fake_kernel_init(&dev, 1, 1);
	if (!err)
		err = vcore_vcpd_mboxes_init(&dev);
	if (!err)
		err = vcore_register_ev_handler(EV_ALARM, count_handler, NULL);
	if (!err)
		err = vcore_lib_init(&dev, hook);
	stk = mmap(NULL, USTACK_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ufp = vcore_fp_alloc();
	if (err || stk == MAP_FAILED || !ufp) {
		printf("Bail out! setup: %d\n", err);
		return 1;
	}
	ustack_top = (char *)stk + USTACK_SIZE;
	diag("fp area %zu bytes", vcore_fp_size());
	RUN(notifications_keep_every_register_of_the_interrupted_context);
	RUN(notifications_land_inside_the_pop_and_it_completes);
	RUN(a_pop_sent_back_again_and_again_keeps_its_stack);
	RUN(a_preempted_user_context_restarts_from_uthread_ctx_and_preempt_fp);
	RUN(a_vcore_preempted_in_vcore_context_resumes_in_place);
	RUN(notifications_and_preemptions_together_lose_no_register);
	return tap_done();
}
