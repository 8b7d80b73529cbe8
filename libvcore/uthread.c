// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The uthread layer: scheduler entry, run queue, blocking, creation and
 * exit, preemption recovery.  Mutexes, condition variables and blocking
 * on ev_qs are in uth_sync.c.
 *
 * Who touches what:
 *
 *   state                     who                        rule
 *   ------------------------  -------------------------  -------------------
 *   current_uthread (TLS)     its vcore; a stealer        the stealer holds
 *                             through uvcs[].cur          VC_UTHREAD_STEALING
 *                                                         on the (preempted)
 *                                                         vcore
 *   uthread ctx, fp           the uthread's vcore while   whoever runs or
 *                             it runs or blocks; the      steals it
 *                             stealer
 *   uthread flags             the uthread itself (DONT_   atomic RMW
 *                             MIGRATE), vcore context
 *   run queue, wait lists,    anyone                      their vcore_pdr_lock,
 *   u->state/joiner/detached                             notifs disabled
 *   uvcs[].yielding,          the vcore; enqueuers        xchg (full barrier)
 *   nr_yielding
 *
 * A lock here is held only with notifications disabled (in vcore context,
 * or by a uthread between vcore_uth_disable_notifs() and vcore_uth_enable_notifs()),
 * so no notification can take its holder off the CPU and lead the same
 * vcore to the lock again.  Preemption still can: a waiter that sees the
 * holder's vcore preempted recovers it (see recover_vcore()).
 *
 * Lost wakeup of an idle vcore.  A vcore with nothing to run marks itself
 * yielding, looks at the run queue again, and yields its pcore; an
 * enqueuer makes the uthread visible, then looks for yielding vcores:
 *
 *   idle vcore                           vcore_uthread_runnable()
 *   -----------------------------------  -----------------------------------
 *   [Y1] xchg(yielding, 1)               [R1] queue the uthread (lock)
 *   [Y2] run queue empty? else run it    [R2] smp_mb()
 *   [Y3] vcore_yield(): the kernel       [R3] for each yielding vcore:
 *        refuses while notif_pending          xchg(yielding, 0) was 1:
 *                                             VCORE_IOC_SELF_NOTIFY to it
 *                                        [R4] more vcores if too few
 *
 *   Y1-Y2 against R1-R3 (store buffering): the vcore sees the uthread, or
 *   the enqueuer sees the mark and notifies the vcore, whose yield the
 *   kernel then refuses (notif_pending), or which is already offline, and
 *   R4's POKE grants it again (its pcore is free).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>

#include "event.h"
#include "uthread.h"
#include "vcore_alarm.h"
#include "vcore_ctx.h"
#include "vcore_numa.h"
#include "uthread_internal.h"
#include "vcore_ctx_internal.h"

#define UTH_STACK_SIZE		(256UL * 1024)
#define UTH_IDLE_SPINS		2000	/* look at the run queue, then yield */
#define PDR_CHECK_EVERY		1024	/* spins between holder checks */

/* Per vcore. */
struct uth_vcore {
	struct uthread **cur;		/* &current_uthread of its thread */
	unsigned int yielding;		/* Y1 */
	unsigned int tick_us;		/* its tick alarm's period, 0: none */
	struct event_queue *tick_evq;	/* to its private mbox */
};

static __thread struct uthread *current_uthread
	__attribute__((tls_model("initial-exec")));
/* a tick came to this vcore thread and is not yet dealt with */
static __thread unsigned int tick_due
	__attribute__((tls_model("initial-exec")));

static struct vcore_dev *dev;
static struct event_queue *wake_evq;	/* EVENT_WAKEUP to ourselves */
static struct uth_vcore *uvcs;
static unsigned int nr_uvcs;
static unsigned int nr_yielding;
static unsigned int nr_busy;		/* vcores with a current uthread */

static struct {
	unsigned int lock;
	unsigned int nr;
	struct uthread *head, *tail;
} runq;

static struct uthread_stats stats;
#define STAT_INC(f)	fetch_add(&stats.f, 1)

static unsigned int quantum_us;		/* vcore_uthread_set_quantum() */
static struct vcore_uthread_preempt_stats pstats;
#define PSTAT_INC(f)	fetch_add(&pstats.f, 1)

static void change_to_vcore(unsigned int rem);
static void ensure_vcore_runs(unsigned int rem);

/* ---- errno across a switch ------------------------------------------- */

/*
 * errno is per vcore thread, and __errno_location() is a const function
 * whose result the compiler may keep across a switch; out of line, these
 * look it up on the thread that runs them.
 */
static __attribute__((noinline)) int errno_get(void)
{
	return errno;
}

static __attribute__((noinline)) void errno_set(int e)
{
	errno = e;
}

/* ---- Locks ----------------------------------------------------------- */

/*
 * A spinlock that knows its holder: the word holds the holder's vcore id
 * plus one, or NONVC for a thread that is no vcore.  A holder has
 * notifications off, so a preempted holder waits in vcore_ctx; a waiter
 * that finds it so gives it its pcore (or, not being a vcore, asks for
 * one), or it could spin until the kernel happens to grant that vcore
 * again.  Notifications must be off.
 */
#define PDR_NONVC	0xffffffffU

static unsigned int pdr_me(void)
{
	unsigned int v = vcore_id();

	return v < nr_uvcs ? v + 1 : PDR_NONVC;
}

/*
 * The vcore whose id + 1 is @holder is preempted, and we wait for it:
 * give it our pcore, or, from a thread that is no vcore (or a uthread
 * that may move), ask for one more vcore: the kernel grants preempted
 * vcores first.
 */
static void run_holder(unsigned int me, unsigned int holder)
{
	if (!holder || holder == PDR_NONVC || holder - 1 >= nr_uvcs ||
	    !vcore_is_preempted(holder - 1))
		return;
	if (me != PDR_NONVC)
		ensure_vcore_runs(holder - 1);
	else
		vcore_request_more(1);
}

void vcore_pdr_lock(unsigned int *l)
{
	unsigned int me = pdr_me(), spins = 0;

	for (;;) {
		unsigned int old = READ_ONCE(*l);

		if (!old) {
			if (try_cmpxchg(l, &old, me))
				return;
			continue;
		}
		/* spin_relax() counts the spins */
		spin_relax(&spins);
		if (spins % PDR_CHECK_EVERY == 0)
			run_holder(me, old);
	}
}

void vcore_pdr_unlock(unsigned int *l)
{
	smp_store_release(l, 0);
}

/*
 * The mailboxes' waits on other consumers (internal.h).  Only a caller
 * that stays on its vcore names it: vcore context, or a uthread with
 * notifications off.
 */
static unsigned int waits_self(void)
{
	struct uthread *u = current_uthread;

	if (!vcore_in_vcore_context() && u && !u->notif_depth)
		return PDR_NONVC;
	return pdr_me();
}

static void waits_help(unsigned int holder)
{
	run_holder(waits_self(), holder);
}

/* Akaros's cpu_relax_any(): one vcore per call, in turn. */
static void waits_help_any(void)
{
	static __thread unsigned int next;
	unsigned int r = next++ % nr_uvcs;

	if (!vcore_is_mapped(r))
		run_holder(waits_self(), r + 1);
}

/*
 * A uthread holds a consumer lock with notifications off: a tick (or a
 * notification whose handlers take the same lock) cannot switch it out
 * while others spin on it, and it leaves its vcore id in the lock word
 * for them.  Elsewhere (vcore context, threads that are no uthread) they
 * do nothing; no uthread exists before this table is published.
 */
static void waits_hold(void)
{
	if (current_uthread && !vcore_in_vcore_context())
		vcore_uth_disable_notifs();
}

static void waits_release(void)
{
	if (current_uthread && !vcore_in_vcore_context())
		vcore_uth_enable_notifs();
}

static const struct vcore_waits uthread_waits = {
	.self = waits_self,
	.help = waits_help,
	.help_any = waits_help_any,
	.hold = waits_hold,
	.release = waits_release,
};

/* ---- Notifications, uthread side ------------------------------------- */

struct uthread *vcore_uthread_self(void)
{
	return current_uthread;
}

void vcore_uth_disable_notifs(void)
{
	struct uthread *u;

	if (vcore_in_vcore_context())
		return;
	u = current_uthread;
	if (u) {
		if (u->notif_depth++)
			return;
		/*
		 * Not movable first: a notification between here and the
		 * disable resumes us on this vcore (the scheduler runs the
		 * interrupted uthread again), and a stealer leaves us alone,
		 * so the vcore id read below stays ours.
		 */
		fetch_or(&u->flags, UTH_DONT_MIGRATE);
	}
	vcore_disable_notifs(vcore_id());
}

static void take_deferred_preemption(struct uthread *u);

void vcore_uth_enable_notifs(void)
{
	struct uthread *u;
	unsigned int v;

	if (vcore_in_vcore_context())
		return;
	u = current_uthread;
	if (u && u->notif_depth && --u->notif_depth)
		return;
	v = vcore_id();
	if (u)
		fetch_and(&u->flags, ~(unsigned int)UTH_DONT_MIGRATE);
	/* From here we may move; v is only used as vcore_enable_notifs() allows. */
	vcore_enable_notifs(v);
	if (u)
		take_deferred_preemption(u);
}

/* ---- Run queue and vcore requests ------------------------------------ */

static struct uthread *runq_pop(void)
{
	struct uthread *u;

	if (!READ_ONCE(runq.nr))
		return NULL;
	vcore_pdr_lock(&runq.lock);
	u = runq.head;
	if (u) {
		runq.head = u->next;
		if (!runq.head)
			runq.tail = NULL;
		WRITE_ONCE(runq.nr, runq.nr - 1);
	}
	vcore_pdr_unlock(&runq.lock);
	return u;
}

static void runq_push(struct uthread *u)
{
	u->next = NULL;
	vcore_pdr_lock(&runq.lock);
	if (runq.tail)
		runq.tail->next = u;
	else
		runq.head = u;
	runq.tail = u;
	WRITE_ONCE(runq.nr, runq.nr + 1);
	vcore_pdr_unlock(&runq.lock);
}

/* R3: tell every vcore that is about to yield that there is work. */
static bool kick_yielding(void)
{
	bool kicked = false;

	for (unsigned int v = 0; v < nr_uvcs; v++) {
		if (!READ_ONCE(uvcs[v].yielding) || !xchg(&uvcs[v].yielding, 0))
			continue;
		fetch_sub(&nr_yielding, 1);
		STAT_INC(kicks);
		vcore_self_notify(v, NULL, true);
		kicked = true;
	}
	return kicked;
}

/*
 * No vcore online after a POKE: if the last one yielded (R3 may have
 * kicked it too late), the process was WAITING.  The POKE ends that when
 * amt_wanted is above 0; if a yield lowered it to 0 between our raise and
 * the POKE, the process is still WAITING, and we wake it as an event from
 * outside would: EVENT_WAKEUP, which also makes the kernel grant a vcore.
 * The POKE's return and the state come from the same kernel, after the
 * yield published WAITING.
 */
static void wake_if_waiting(void)
{
	struct vcore_send_event se = { .ev_q = (uintptr_t)wake_evq };

	if (!wake_evq ||
	    READ_ONCE(dev->kprocinfo->state) != VCORE_PROC_WAITING)
		return;
	STAT_INC(wakeups);
	ioctl(dev->fd, VCORE_IOC_SEND_EVENT, &se);
}

/*
 * R4: want as many vcores as are busy plus runnable uthreads; poke the
 * kernel when that raised amt_wanted (an idle vcore's yield lowers it), a
 * yielding vcore was kicked (it may be offline already), or no vcore is
 * online at all.  The last: amt_wanted may already be high enough (a
 * preempted vcore does not lower it) while the other vcores yielded and
 * made the process WAITING, which no grant ends; the POKE wakes it.  A
 * standing request is the kernel's to meet as pcores come free.
 */
static void want_vcores(bool kicked)
{
	__u64 *amt = &dev->procdata->res_req[VCORE_RES_CORES].amt_wanted;
	__u64 want = (__u64)READ_ONCE(nr_busy) + READ_ONCE(runq.nr);
	__u64 old = READ_ONCE(*amt);
	bool raised = false;

	if (want > nr_uvcs)
		want = nr_uvcs;
	while (old < want && !(raised = try_cmpxchg(amt, &old, want)))
		;
	if (!raised && !kicked && READ_ONCE(dev->kprocinfo->num_vcores))
		return;
	STAT_INC(requests);
	/* the ioctl is a full barrier; POKE reads amt_wanted after it */
	if (ioctl(dev->fd, VCORE_IOC_POKE) == 0)
		wake_if_waiting();
}

void vcore_uthread_runnable(struct uthread *u)
{
	bool kicked = false;

	vcore_uth_disable_notifs();
	runq_push(u);					/* R1 */
	smp_mb();					/* R2 */
	if (READ_ONCE(nr_yielding))
		kicked = kick_yielding();		/* R3 */
	want_vcores(kicked);				/* R4 */
	vcore_uth_enable_notifs();
}

/* ---- The scheduler (vcore context) ----------------------------------- */

static void set_current(struct uthread *u)
{
	struct uthread *old = current_uthread;

	current_uthread = u;
	if (!old && u)
		fetch_add(&nr_busy, 1);
	else if (old && !u)
		fetch_sub(&nr_busy, 1);
}

static void tick_sync(unsigned int v);

static __attribute__((__noreturn__)) void run_uthread(struct uthread *u)
{
	set_current(u);
	u->notif_depth = 0;
	/* a fresh slice: a tick that came while we looked is spent */
	WRITE_ONCE(tick_due, 0);
	tick_sync(vcore_id());
	vcore_pop_user_ctx(&u->ctx, u->fp);
}

static void clear_yielding(unsigned int v)
{
	if (READ_ONCE(uvcs[v].yielding) && xchg(&uvcs[v].yielding, 0))
		fetch_sub(&nr_yielding, 1);
}

/*
 * An offline vcore that was preempted (or gave its pcore away with
 * CHANGE_VCORE) while running a uthread that could not be stolen holds
 * work no one else can do.  Before we give up our pcore for lack of work,
 * it gets it.  A preempted vcore without a uthread is left to the kernel:
 * handing pcores back and forth between idle vcores helps no one.
 */
static bool run_stranded(unsigned int v)
{
	for (unsigned int r = 0; r < nr_uvcs; r++) {
		struct uthread **cur = smp_load_acquire(&uvcs[r].cur);

		if (r == v || !cur || !READ_ONCE(*cur) ||
		    !vcore_is_preempted(r) || vcore_is_mapped(r))
			continue;
		change_to_vcore(r);
		return true;
	}
	return false;
}

static __attribute__((__noreturn__)) void schedule(unsigned int v)
{
	struct uthread *u;

	for (;;) {
		for (unsigned int i = 0; i < UTH_IDLE_SPINS; i++) {
			u = runq_pop();
			if (u)
				run_uthread(u);
			cpu_relax();
		}
		if (vcore_handle_events(dev, v) > 0 || run_stranded(v))
			continue;
		tick_sync(v);		/* no uthread: no tick while idle */
		xchg(&uvcs[v].yielding, 1);		/* Y1 */
		fetch_add(&nr_yielding, 1);
		u = runq_pop();				/* Y2 */
		if (u) {
			clear_yielding(v);
			run_uthread(u);
		}
		STAT_INC(vcore_yields);
		vcore_yield(false);			/* Y3 */
		/* refused: a notification is pending, or events came */
		clear_yielding(v);
		vcore_handle_events(dev, v);
	}
}

/* The FP state and context of a uthread preempted on this vcore. */
static void take_preempted(struct vcore_preempt_data *vcpd,
			   unsigned int v, struct uthread *u)
{
	u->ctx = vcpd->uthread_ctx;
	vcore_fp_from_preempt(v, u->fp);
}

/* Leave a uthread that someone is stealing from us alone. */
static void wait_for_stealer(unsigned int v, struct vcore_preempt_data *vcpd)
{
	unsigned int spins = 0;

	while (READ_ONCE(vcpd->flags) & VC_UTHREAD_STEALING) {
		/*
		 * The stealer may be preempted in turn, with the message
		 * about it in our public mbox: keep handling messages.
		 */
		if (++spins % PDR_CHECK_EVERY == 0)
			vcore_handle_events(dev, v);
		cpu_relax();
	}
}

/* Akaros's preemption warning: hand our uthread on, then yield nicely. */
static void check_preempt_pending(unsigned int v)
{
	struct uthread *u = current_uthread;

	if (!READ_ONCE(dev->kprocinfo->vcoremap[v].preempt_pending))
		return;
	if (u && !(READ_ONCE(u->flags) & UTH_DONT_MIGRATE)) {
		set_current(NULL);
		vcore_uthread_runnable(u);
	}
	if (!current_uthread)
		vcore_yield(true);
}

/* ---- Time slicing ----------------------------------------------------- */

/*
 * Each vcore's tick is a periodic per-vcore alarm of the module, set and
 * cancelled by that vcore only (tick_sync(), at its scheduling points:
 * running a uthread, resuming one after an entry, going idle), with the
 * id of the vcore: the alarm service (alarm.c) gives its alarms ids with
 * a non-zero generation above VCORE_ALARM_SLOTS, so ids below are free.
 * An expiry goes to the vcore's private mbox with an IPI; handle_tick()
 * notes it in tick_due, and uth_vcore_entry() acts on it before it
 * resumes the interrupted uthread.  The signal tick source
 * (uth_preempt_from_signal()) comes to the same policy, tick_policy().
 *
 * A uthread's preempt_depth, preempt_pending and nr_preempted are
 * touched only by the thread running it: itself, or its vcore context,
 * or a signal handler on that thread.  A steal moves the uthread with
 * full barriers on the way.
 */
_Static_assert(VCORE_MAX_VCORES <= VCORE_ALARM_SLOTS, "tick alarm ids");

#define TICK_ID(v)	(v)

enum { TICK_IDLE, TICK_DEFER, TICK_SWITCH };

/*
 * libc's and the dynamic loader's code (and the malloc in use, which may
 * be another library's) takes internal locks - malloc's arenas, stdio,
 * the loader's - on futexes that know nothing of uthreads.  A uthread
 * switched out in there with one held leaves every uthread that then
 * wants it blocking its vcore in the kernel; when that is every vcore, no
 * one runs the holder again.  A tick that finds a uthread in their text
 * is deferred, like one that finds preemption off: the next tick (or the
 * uthread's next vcore_uth_enable_notifs()) looks again.  Where it is is
 * where it goes on (vcore_ctx_resume_pc()): a uthread stopped in a pop's
 * tail, sent back before it got there, is in the code it was popped into.
 * Code of theirs that calls back into the program with a lock held
 * (dl_iterate_phdr()) is not covered.  Found once, at
 * vcore_uthread_lib_init().
 */
#define LOCKED_TEXT_MAX	8

static struct {
	uintptr_t lo, hi;
} locked_text[LOCKED_TEXT_MAX];
static unsigned int nr_locked_text;

static bool is_locking_lib(const struct dl_phdr_info *info)
{
	const char *name = info->dlpi_name, *base;
	uintptr_t m = (uintptr_t)&malloc;

	if (!name || !*name)
		return false;	/* the program itself: libc may be linked in */
	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (!strncmp(base, "libc.so", 7) || !strncmp(base, "ld-linux", 8))
		return true;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && m >= lo && m - lo < ph->p_memsz)
			return true;
	}
	return false;
}

static int note_locked_text(struct dl_phdr_info *info, size_t size,
			    void *data)
{
	(void)size;
	(void)data;
	if (!is_locking_lib(info))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (nr_locked_text == LOCKED_TEXT_MAX)
			return 1;
		locked_text[nr_locked_text].lo = lo;
		locked_text[nr_locked_text].hi = lo + ph->p_memsz;
		nr_locked_text++;
	}
	return 0;
}

static void find_locked_text(void)
{
	if (!nr_locked_text)
		dl_iterate_phdr(note_locked_text, NULL);
}

static bool pc_in_locked_text(uintptr_t pc)
{
	for (unsigned int i = 0; i < nr_locked_text; i++)
		if (pc >= locked_text[i].lo && pc < locked_text[i].hi)
			return true;
	return false;
}

/*
 * What a tick does to u, the uthread it interrupted (notifs_off: its
 * notifications were disabled), counted.
 */
static int tick_policy(struct uthread *u, bool notifs_off, uintptr_t pc)
{
	PSTAT_INC(ticks);
	if (!u) {
		PSTAT_INC(idle_ticks);
		return TICK_IDLE;
	}
	if (notifs_off || READ_ONCE(u->preempt_depth) ||
	    pc_in_locked_text(pc) ||
	    (READ_ONCE(u->flags) & UTH_DONT_MIGRATE)) {
		WRITE_ONCE(u->preempt_pending, 1);
		PSTAT_INC(deferred);
		return TICK_DEFER;
	}
	if (!READ_ONCE(runq.nr)) {
		PSTAT_INC(idle_ticks);
		return TICK_IDLE;
	}
	PSTAT_INC(preemptions);
	WRITE_ONCE(u->nr_preempted, u->nr_preempted + 1);
	return TICK_SWITCH;
}

/* In vcore context: our uthread's context is in u->ctx and u->fp. */
static void tick_in_vcore_ctx(void)
{
	struct uthread *u = current_uthread;

	if (tick_policy(u, false, u ? vcore_ctx_resume_pc(&u->ctx) : 0) !=
	    TICK_SWITCH)
		return;
	set_current(NULL);
	vcore_uthread_runnable(u);		/* at the back */
}

/* A uthread that took a tick with preemption off turns it back on. */
static void take_deferred_preemption(struct uthread *u)
{
	if (!READ_ONCE(u->preempt_pending) || READ_ONCE(u->notif_depth) ||
	    READ_ONCE(u->preempt_depth))
		return;
	WRITE_ONCE(u->preempt_pending, 0);
	if (!READ_ONCE(runq.nr))
		return;
	PSTAT_INC(deferred_taken);
	WRITE_ONCE(u->nr_preempted, u->nr_preempted + 1);
	vcore_uthread_yield();
}

/*
 * The handler's frame holds the alternate signal stack of the thread the
 * signal came to (uc_stack), and sigreturn installs it on the thread that
 * returns: after a switch that may be another vcore thread, which would
 * then share the first one's alternate stack (the SA_ONSTACK handlers of
 * the two threads overwriting each other's frames).  The frame gets the
 * alternate stack of the thread it returns on.
 */
static void keep_own_altstack(ucontext_t *uc)
{
	stack_t ss;

	if (uc && !sigaltstack(NULL, &ss))
		uc->uc_stack = ss;
}

/* Where the thread the signal interrupted goes on (in a pop: after it). */
static uintptr_t signal_pc(void *ucontext)
{
	ucontext_t *uc = ucontext;

	if (!uc)
		return 0;
	return vcore_resume_pc((uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
			       (uintptr_t)uc->uc_mcontext.gregs[REG_RSP]);
}

void uth_preempt_from_signal(void *ucontext)
{
	struct vcore_preempt_data *vcpd;
	struct uthread *u;
	unsigned int v = vcore_id();

	/*
	 * Whether or not this call switches: a tick nested in this handler
	 * before its first instruction may have switched and moved it.
	 */
	keep_own_altstack(ucontext);
	if (v >= nr_uvcs)
		return;
	if (vcore_in_vcore_context()) {
		/* acted on before the vcore resumes its uthread, if it has one */
		WRITE_ONCE(tick_due, 1);
		return;
	}
	u = current_uthread;
	if (!u)
		return;		/* a vcore thread before its first entry */
	vcpd = vcore_vcpd_of(v);
	/*
	 * With notifications on, this handler may be interrupted and even
	 * moved to another vcore like the uthread it interrupted; the
	 * yield saves and switches whatever vcore it is on by then.
	 */
	if (tick_policy(u, !vcpd || READ_ONCE(vcpd->notif_disabled) ||
			   READ_ONCE(u->notif_depth), signal_pc(ucontext)) ==
	    TICK_SWITCH) {
		vcore_uthread_yield();
		keep_own_altstack(ucontext);
	}
}

void vcore_uth_preempt_disable(void)
{
	struct uthread *u = current_uthread;

	if (!u || vcore_in_vcore_context())
		return;
	WRITE_ONCE(u->preempt_depth, u->preempt_depth + 1);
	barrier();
}

void vcore_uth_preempt_enable(void)
{
	struct uthread *u = current_uthread;

	if (!u || vcore_in_vcore_context() || !u->preempt_depth)
		return;
	barrier();
	WRITE_ONCE(u->preempt_depth, u->preempt_depth - 1);
	/* a tick after the store switches us out itself */
	if (!u->preempt_depth)
		take_deferred_preemption(u);
}

/* An expiry of this vcore's tick alarm (its private mbox, vcore context). */
static void handle_tick(struct event_msg *msg, unsigned int type, void *data)
{
	unsigned int v = vcore_id();

	(void)type;
	(void)data;
	if (v >= nr_uvcs || msg->ev_arg3 != TICK_ID(v) || msg->ev_arg1 != v ||
	    !vcore_in_vcore_context())
		return;
	WRITE_ONCE(tick_due, 1);
}

/*
 * Our tick alarm as it should be: the quantum's period while we have a
 * uthread, none otherwise.  Vcore context on vcore v.  If the module
 * refuses, we go on without (and try again at the next scheduling point).
 */
static void tick_sync(unsigned int v)
{
	unsigned int want = current_uthread ? READ_ONCE(quantum_us) : 0;
	struct uth_vcore *uv;

	if (v >= nr_uvcs)
		return;
	uv = &uvcs[v];
	if (want == uv->tick_us)
		return;
	if (want && uv->tick_evq) {
		__u64 period = (__u64)want * 1000;
		struct vcore_alarm a = {
			.ev_q = (uintptr_t)uv->tick_evq,
			.deadline_ns = vcore_alarm_now() + period,
			.period_ns = period,
			.id = TICK_ID(v),
			.flags = VCORE_ALARM_VCORE,
			.vcoreid = v,
		};

		if (ioctl(dev->fd, VCORE_IOC_ALARM_SET, &a))
			return;
		uv->tick_us = want;
		PSTAT_INC(arms);
	} else if (uv->tick_us) {
		struct vcore_alarm_cancel c = { .id = TICK_ID(v) };

		ioctl(dev->fd, VCORE_IOC_ALARM_CANCEL, &c);
		uv->tick_us = 0;
		PSTAT_INC(disarms);
	}
}

int vcore_uthread_set_quantum(unsigned int usec)
{
	static unsigned int setup_lock;
	unsigned int v;

	if (usec && (__u64)usec * 1000 < VCORE_ALARM_MIN_PERIOD_NS)
		return -EINVAL;
	if (!dev)
		return -ENXIO;
	if (!vcore_dev_has_ioctl(dev, VCORE_IOC_NR_ALARM_SET))
		return -ENOTTY;
	if (usec) {
		int err = 0;

		/* the ev_qs once, before any vcore may arm with them */
		vcore_uth_disable_notifs();
		vcore_pdr_lock(&setup_lock);
		for (v = 0; v < nr_uvcs && !err; v++) {
			struct event_queue *q;

			if (uvcs[v].tick_evq)
				continue;
			q = vcore_get_eventq_vcpd(v, EVENT_IPI |
						  EVENT_VCORE_PRIVATE);
			if (!q)
				err = -ENOMEM;
			else
				smp_store_release(&uvcs[v].tick_evq, q);
		}
		vcore_pdr_unlock(&setup_lock);
		vcore_uth_enable_notifs();
		if (err)
			return err;
	}
	WRITE_ONCE(quantum_us, usec);
	smp_mb();
	/* busy vcores take it at their next entry: make that now */
	for (v = 0; v < nr_uvcs; v++)
		if (vcore_is_mapped(v))
			vcore_self_notify(v, NULL, true);
	return 0;
}

unsigned int vcore_uthread_quantum(void)
{
	return READ_ONCE(quantum_us);
}

int vcore_uthread_get_preempt_stats(struct vcore_uthread_preempt_stats *st,
				    size_t size)
{
	struct vcore_uthread_preempt_stats now;
	unsigned long *dst = (unsigned long *)&now;
	unsigned long *src = (unsigned long *)&pstats;

	if (!st)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(now) / sizeof(*dst); i++)
		dst[i] = READ_ONCE(src[i]);
	memset(st, 0, size);
	memcpy(st, &now, size < sizeof(now) ? size : sizeof(now));
	return 0;
}

void uth_count_sleep(bool timed_out)
{
	if (timed_out)
		PSTAT_INC(timeouts);
	else
		PSTAT_INC(sleeps);
}

static void uth_vcore_entry(void)
{
	unsigned int v = vcore_id();
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(v);
	struct uthread *u;

	if (!uvcs[v].cur)
		smp_store_release(&uvcs[v].cur, &current_uthread);
	clear_yielding(v);
	if (current_uthread) {
		if (vcore_entry_reason() == VCORE_ENTRY_NOTIFY) {
			/* its FP state is in u->fp already (the pop said so) */
			current_uthread->ctx = vcpd->uthread_ctx;
		} else {
			/* restarted after a preemption in it, unless stolen */
			wait_for_stealer(v, vcpd);
			u = current_uthread;
			if (u)
				take_preempted(vcpd, v, u);
		}
	}
	vcore_handle_events(dev, v);
	check_preempt_pending(v);
	if (READ_ONCE(tick_due)) {
		WRITE_ONCE(tick_due, 0);
		tick_in_vcore_ctx();
	}
	if (current_uthread) {
		tick_sync(v);		/* the quantum may have changed */
		vcore_pop_user_ctx(&current_uthread->ctx, current_uthread->fp);
	}
	schedule(v);
}

/* ---- Leaving a uthread for vcore context ----------------------------- */

static void __uthread_block_vc(void *arg)
{
	struct uthread *u = arg;

	fetch_and(&u->flags, ~(unsigned int)UTH_DONT_MIGRATE);
	/* it leaves the CPU: a tick it put off is taken */
	WRITE_ONCE(u->preempt_pending, 0);
	set_current(NULL);
	/* u may run elsewhere as soon as the callback makes it runnable */
	u->block_cb(u, u->block_arg);
	schedule(vcore_id());
}

void vcore_uthread_block(void (*cb)(struct uthread *, void *), void *arg)
{
	struct uthread *u = current_uthread;
	int err = errno_get();

	vcore_uth_disable_notifs();
	u->block_cb = cb;
	u->block_arg = arg;
	vcore_save_ctx_and_call(&u->ctx, __uthread_block_vc, u);
	/* running again, perhaps on another vcore, notifications enabled */
	errno_set(err);
}

static void yield_cb(struct uthread *u, void *arg)
{
	(void)arg;
	vcore_uthread_runnable(u);
}

void vcore_uthread_yield(void)
{
	vcore_uthread_block(yield_cb, NULL);
}

/* ---- Creation, exit, join -------------------------------------------- */

static void uthread_free(struct uthread *u)
{
	vcore_san_unpoison(u->map, u->map_len);
	munmap(u->map, u->map_len);
	vcore_fp_free(u->fp);
	free(u);
}

static void uthread_start(void)
{
	struct uthread *u = current_uthread;

	vcore_uthread_exit(u->fn(u->arg));
}

struct uthread *vcore_uthread_create(void *(*fn)(void *), void *arg)
{
	return vcore_uthread_create_on_node(fn, arg, -1);
}

struct uthread *vcore_uthread_create_on_node(void *(*fn)(void *), void *arg,
				       int node)
{
	size_t pg = VCORE_PAGE_SIZE;
	struct uthread *u = calloc(1, sizeof(*u));

	if (!u)
		goto err;
	u->fp = vcore_fp_alloc();
	if (!u->fp)
		goto err_free_u;
	u->map_len = pg + UTH_STACK_SIZE;
	u->map = mmap(NULL, u->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (u->map == MAP_FAILED)
		goto err_free_fp;
	if (mprotect(u->map, pg, PROT_NONE))
		goto err_unmap;
	vcore_numa_place(vcore_lib_dev(), u->map + pg, UTH_STACK_SIZE,
			 node >= 0 ? node : vcore_numa_current_node());
	/* a new mapping may sit where a dead stack's shadow was */
	vcore_san_unpoison(u->map, u->map_len);
	u->fn = fn;
	u->arg = arg;
	vcore_init_sw_ctx(&u->ctx, uthread_start, u->map + u->map_len);
	STAT_INC(created);
	vcore_uthread_runnable(u);
	return u;

err_unmap:
	munmap(u->map, u->map_len);
err_free_fp:
	vcore_fp_free(u->fp);
err_free_u:
	free(u);
err:
	errno = ENOMEM;
	return NULL;
}

static void __uthread_exit_vc(void *arg)
{
	struct uthread *u = arg, *joiner;
	bool detached;

	set_current(NULL);
	STAT_INC(exited);
	vcore_pdr_lock(&u->lock);
	joiner = u->joiner;
	detached = u->detached;
	smp_store_release(&u->state, UTH_EXITED);
	vcore_pdr_unlock(&u->lock);
	/* a polling joiner may free u from here on */
	if (detached)
		uthread_free(u);
	else if (joiner)
		vcore_uthread_runnable(joiner);
	schedule(vcore_id());
}

void vcore_uthread_exit(void *retval)
{
	struct uthread *u = current_uthread;

	u->retval = retval;
	vcore_uth_disable_notifs();
	vcore_save_ctx_and_call(NULL, __uthread_exit_vc, u);
	__builtin_unreachable();
}

static void join_cb(struct uthread *self, void *arg)
{
	struct uthread *u = arg;

	(void)self;
	/* the exit path takes the lock: it now sees us as the joiner */
	vcore_pdr_unlock(&u->lock);
}

int vcore_uthread_join(struct uthread *u, void **retval)
{
	struct uthread *self = vcore_uthread_self();

	if (self) {
		vcore_uth_disable_notifs();
		vcore_pdr_lock(&u->lock);
		if (u->detached || u->joiner) {
			vcore_pdr_unlock(&u->lock);
			vcore_uth_enable_notifs();
			return -EINVAL;
		}
		if (u->state != UTH_EXITED) {
			u->joiner = self;
			vcore_uthread_block(join_cb, u);
		} else {
			vcore_pdr_unlock(&u->lock);
			vcore_uth_enable_notifs();
		}
	} else {
		struct timespec ts = { .tv_nsec = 50000 };

		if (READ_ONCE(u->detached))
			return -EINVAL;
		while (smp_load_acquire(&u->state) != UTH_EXITED)
			nanosleep(&ts, NULL);
		/* the exit path's unlock is its last touch of u */
		vcore_uth_disable_notifs();
		vcore_pdr_lock(&u->lock);
		vcore_pdr_unlock(&u->lock);
		vcore_uth_enable_notifs();
	}
	if (retval)
		*retval = u->retval;
	uthread_free(u);
	return 0;
}

int vcore_uthread_detach(struct uthread *u)
{
	bool exited;

	vcore_uth_disable_notifs();
	vcore_pdr_lock(&u->lock);
	if (u->detached || u->joiner) {
		vcore_pdr_unlock(&u->lock);
		vcore_uth_enable_notifs();
		return -EINVAL;
	}
	exited = u->state == UTH_EXITED;
	u->detached = true;
	vcore_pdr_unlock(&u->lock);
	vcore_uth_enable_notifs();
	if (exited)
		uthread_free(u);
	return 0;
}

/* ---- Preemption recovery (vcore context) ----------------------------- */

/* rem + 1 while this vcore drains rem's public mbox for it, else 0 */
static __thread unsigned int draining_for;

/*
 * Before this vcore gives its pcore away for good: a drain of another
 * vcore's mbox it is in the middle of is finished later, by whoever
 * handles our public mbox (us, restarted, or a vcore recovering us).
 */
static void might_not_return(void)
{
	struct event_msg check = { .ev_type = EV_CHECK_MSGS };
	struct vcore_preempt_data *rvcpd;

	if (!draining_for)
		return;
	rvcpd = vcore_vcpd_of(draining_for - 1);
	if (rvcpd && !vcore_mbox_is_empty(&rvcpd->ev_mbox_public)) {
		check.ev_arg2 = draining_for - 1;
		vcore_self_notify(vcore_id(), &check, false);
	}
	draining_for = 0;
}

/*
 * rem is preempted in vcore context, where we wait for it (a lock it
 * holds): give it our pcore and go on here when we run again; rem hears
 * EV_VCORE_PREEMPT about us.  Without the command (or with the kernel
 * refusing for now), ask for one more vcore: the kernel grants preempted
 * vcores first.
 */
static void ensure_vcore_runs(unsigned int rem)
{
	int err;

	/* counted first: it returns only when this vcore runs again */
	STAT_INC(changes);
	err = vcore_change_to(rem);
	if (!err)
		return;
	fetch_sub(&stats.changes, 1);
	if (err == -EBUSY)		/* it runs again already */
		return;
	STAT_INC(change_fallbacks);
	vcore_request_more(1);
}

/*
 * Before vcore context gives its pcore away, the uthread it interrupted
 * goes back to the run queue (Akaros pauses it too): it, and any lock it
 * holds, can run on another vcore meanwhile instead of waiting for this
 * one to be granted again.  Its context is in u->ctx and u->fp since the
 * entry.  Not a uthread that may not move.
 */
static void pause_current(void)
{
	struct uthread *u = current_uthread;

	if (!vcore_in_vcore_context() || !u ||
	    (READ_ONCE(u->flags) & UTH_DONT_MIGRATE))
		return;
	set_current(NULL);
	vcore_uthread_runnable(u);
	/*
	 * Another vcore online takes it at its next scheduling point.  If
	 * we are the last, ask the kernel again: u counted as busy until
	 * now, so the request above may have seen enough vcores.
	 */
	if (vcore_num_vcores() <= 1)
		vcore_request_more(0);
}

/*
 * Give our pcore to rem, preempted in vcore context (or with a uthread
 * that cannot move), as Akaros's change_to_vcore: with our uthread put
 * back on the run queue, this vcore holds nothing and restarts afresh
 * when it runs again, and rem hears EV_CHECK_MSGS about us.  While
 * someone steals our old uthread (its context is in our VCPD until they
 * are done) or with one that may not move, we change and come back here
 * instead.
 */
static void change_to_vcore(unsigned int rem)
{
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(vcore_id());
	unsigned int was_draining;
	int err;

	if (!vcpd || (READ_ONCE(vcpd->flags) & VC_UTHREAD_STEALING)) {
		ensure_vcore_runs(rem);
		return;
	}
	pause_current();
	if (current_uthread) {
		ensure_vcore_runs(rem);
		return;
	}
	was_draining = draining_for;
	might_not_return();
	STAT_INC(changes);
	err = vcore_change_and_restart(rem);	/* no return on success */
	fetch_sub(&stats.changes, 1);
	draining_for = was_draining;
	if (err == -EBUSY)
		return;
	STAT_INC(change_fallbacks);
	vcore_request_more(1);
}

/*
 * Drain rem's public mbox on its behalf, if it is still preempted: first
 * it stops promising to look there (VC_CAN_RCV_MSG), with a compare and
 * swap that only succeeds while VC_PREEMPTED holds, so that the kernel
 * sends its spammed messages to vcores that run.  A vcore that runs again
 * drains its own mbox.
 */
static void handle_vcpd_mbox(unsigned int rem)
{
	struct vcore_preempt_data *rvcpd = vcore_vcpd_of(rem);
	unsigned int spins = 0;
	__u32 old;

	if (!rvcpd || rem == vcore_id())
		return;
	/* PREEMPT-3, pairs with PREEMPT-1 and PREEMPT-2 (kmod/) */
	old = READ_ONCE(rvcpd->flags);
	do {
		/* the kernel is still saving it, while it is mapped */
		while ((old & VC_K_LOCK) && vcore_is_mapped(rem)) {
			spin_relax(&spins);
			old = READ_ONCE(rvcpd->flags);
		}
		if (!(old & VC_PREEMPTED))
			return;
	} while (!try_cmpxchg(&rvcpd->flags, &old,
			      old & ~(__u32)VC_CAN_RCV_MSG));
	/* one at a time: another vcore's drain waits for its message */
	if (draining_for) {
		struct event_msg check = { .ev_type = EV_CHECK_MSGS,
					   .ev_arg2 = rem };

		if (draining_for - 1 != rem)
			vcore_self_notify(vcore_id(), &check, false);
		return;
	}
	STAT_INC(remote_drains);
	draining_for = rem + 1;
	vcore_handle_mbox(&rvcpd->ev_mbox_public);
	draining_for = 0;
}

/* Steal rem's uthread if it has one; true if rem needs changing to. */
static bool steal_uthread(unsigned int rem, struct vcore_preempt_data *rvcpd)
{
	struct uthread **cur, *u = NULL;
	bool pinned = false;

	if (fetch_or(&rvcpd->flags, (__u32)VC_UTHREAD_STEALING) &
	    VC_UTHREAD_STEALING)
		return false;		/* someone else steals, and drains */
	/*
	 * PREEMPT-3: the RMW is a full barrier: look again, it may run by
	 * now.  The copies below are plain loads after a READ_ONCE of the
	 * flags; x86-TSO keeps loads in order, and the kernel's PREEMPT-2
	 * stored the context before VC_PREEMPTED.
	 */
	if ((READ_ONCE(rvcpd->flags) & VC_PREEMPTED) &&
	    !READ_ONCE(rvcpd->notif_disabled)) {
		cur = smp_load_acquire(&uvcs[rem].cur);
		u = cur ? READ_ONCE(*cur) : NULL;
		if (u && (READ_ONCE(u->flags) & UTH_DONT_MIGRATE)) {
			pinned = true;
			u = NULL;
		} else if (u) {
			WRITE_ONCE(*cur, NULL);
			fetch_sub(&nr_busy, 1);
			take_preempted(rvcpd, rem, u);
			STAT_INC(steals);
		}
	}
	/* full barrier: the copies and *cur before rem may look */
	fetch_and(&rvcpd->flags, ~(__u32)VC_UTHREAD_STEALING);
	if (u)
		vcore_uthread_runnable(u);
	return pinned;
}

static void recover_vcore(unsigned int rem)
{
	struct vcore_preempt_data *rvcpd = vcore_vcpd_of(rem);
	struct event_msg check = { .ev_type = EV_CHECK_MSGS, .ev_arg2 = rem };
	unsigned int me = vcore_id(), spins = 0;

	if (!rvcpd || rem == me || me >= nr_uvcs)
		return;
	/*
	 * PREEMPT-3, pairs with PREEMPT-1 and PREEMPT-2 in kmod/.  The
	 * kernel is still saving it: its flags are not final.  Only
	 * while it is mapped: a preemption asked of a vcore that went
	 * offline by itself keeps VC_K_LOCK until that vcore runs again.
	 */
	while ((READ_ONCE(rvcpd->flags) & VC_K_LOCK) && vcore_is_mapped(rem))
		spin_relax(&spins);
	if (!(READ_ONCE(rvcpd->flags) & VC_PREEMPTED))
		return;
	if (READ_ONCE(rvcpd->notif_disabled) || steal_uthread(rem, rvcpd)) {
		change_to_vcore(rem);
		return;
	}
	/*
	 * In case we do not get to the end of it (a handler blocks us, or
	 * we are preempted in turn): to our public mbox, so that whoever
	 * recovers us finishes the drain (Akaros's send_self_vc_msg()).
	 */
	vcore_self_notify(me, &check, false);
	/* rem no longer promises to look at its public mbox: we do */
	handle_vcpd_mbox(rem);
}

static void handle_vc_preempt(struct event_msg *msg, unsigned int type,
			      void *data)
{
	(void)type;
	(void)data;
	if (vcore_in_vcore_context())
		recover_vcore(msg->ev_arg2);
}

static void handle_check_msgs(struct event_msg *msg, unsigned int type,
			      void *data)
{
	(void)type;
	(void)data;
	handle_vcpd_mbox(msg->ev_arg2);
}

/* ---- Setup ------------------------------------------------------------ */

void vcore_uthread_get_stats(struct uthread_stats *st)
{
	st->created = READ_ONCE(stats.created);
	st->exited = READ_ONCE(stats.exited);
	st->steals = READ_ONCE(stats.steals);
	st->changes = READ_ONCE(stats.changes);
	st->change_fallbacks = READ_ONCE(stats.change_fallbacks);
	st->remote_drains = READ_ONCE(stats.remote_drains);
	st->vcore_yields = READ_ONCE(stats.vcore_yields);
	st->kicks = READ_ONCE(stats.kicks);
	st->requests = READ_ONCE(stats.requests);
	st->wakeups = READ_ONCE(stats.wakeups);
}

/*
 * The kernel's messages about vcores: spammed to public mboxes of vcores
 * that run (and a WAITING process is woken), the preemption warning to
 * the vcore concerned.
 */
static int kevent_qs_init(struct vcore_dev *d)
{
	struct event_queue *vq = vcore_get_eventq_slim(), *pq = vcore_get_eventq_slim();
	int err;

	if (!vq || !pq) {
		vcore_put_eventq(vq);
		vcore_put_eventq(pq);
		return -ENOMEM;
	}
	vq->ev_flags = EVENT_IPI | EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN |
		       EVENT_WAKEUP;
	pq->ev_flags = EVENT_IPI | EVENT_VCORE_APPRO | EVENT_VCORE_PRIVATE;
	/* a bitmap nobody reads: only the WAKEUP matters */
	wake_evq = vcore_get_eventq(EV_MBOX_BITMAP);
	if (!wake_evq)
		return -ENOMEM;
	wake_evq->ev_flags = EVENT_WAKEUP;
	err = vcore_register_kevent_q(d, vq, EV_VCORE_PREEMPT);
	if (!err)
		err = vcore_register_kevent_q(d, vq, EV_CHECK_MSGS);
	if (!err)
		err = vcore_register_kevent_q(d, pq, EV_PREEMPT_PENDING);
	return err;
}

/*
 * A fork()ed child: the vcores, their uthreads and the run queue were the
 * parent's.  The child starts over, as a new process would; the calling
 * thread (a uthread, perhaps) goes on as a plain thread.
 */
static void uthread_forget(void)
{
	free(uvcs);
	uvcs = NULL;
	nr_uvcs = 0;
	dev = NULL;
	wake_evq = NULL;
	nr_yielding = 0;
	nr_busy = 0;
	memset(&runq, 0, sizeof(runq));
	memset(&stats, 0, sizeof(stats));
	memset(&pstats, 0, sizeof(pstats));
	quantum_us = 0;
	current_uthread = NULL;
	tick_due = 0;
	vcore_waits = NULL;
	uth_timers_forget();
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, uthread_forget);
}

int vcore_uthread_lib_init(struct vcore_dev *d)
{
	unsigned int n = d->api.max_vcores;
	int err;

	pthread_once(&atfork_once, atfork_register);
	if (dev)
		return -EBUSY;
	find_locked_text();
	if (n > VCORE_MAX_VCORES)
		n = VCORE_MAX_VCORES;
	uvcs = calloc(n ? n : 1, sizeof(*uvcs));
	if (!uvcs)
		return -ENOMEM;
	nr_uvcs = n;
	dev = d;
	err = vcore_vcpd_mboxes_init(d);
	if (!err)
		err = vcore_register_ev_handler(EV_VCORE_PREEMPT, handle_vc_preempt,
					  NULL);
	if (!err)
		err = vcore_register_ev_handler(EV_CHECK_MSGS, handle_check_msgs,
					  NULL);
	if (!err)
		err = kevent_qs_init(d);
	if (!err && vcore_dev_has_ioctl(d, VCORE_IOC_NR_ALARM_SET))
		err = vcore_register_ev_handler(EV_ALARM, handle_tick, NULL);
	if (!err)
		err = vcore_lib_init(d, uth_vcore_entry);
	if (!err)
		smp_store_release(&vcore_waits, &uthread_waits);
	return err;
}
