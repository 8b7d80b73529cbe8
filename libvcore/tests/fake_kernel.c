// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The fake vcore.ko; see fake_kernel.h.  It is the module's Linux side
 * only (kmod/vcore_run.c, kick.c, provision.c, ioctl.c), step by step
 * where it matters to user space: everything those files ask of the
 * portable core (the vcore lists, grants, yield, preemption,
 * change_vcore, notification, event routing) it asks of the same core,
 * through lib/kernel_side.h, and the core's two hooks into the Linux side
 * (the notification IPI, the grant after a wakeup) come back here as a
 * signal and a grant.  What stays here is what the module does with
 * threads and registers: vcore threads sleeping offline until a grant
 * names their pcore, the redirect into vcore_entry, saving contexts, and
 * the pcores themselves.
 *
 * Locking: fk.lock (a pthread mutex) guards the threads' grants, the
 * pcores and the preemption requests, and is taken before the core's
 * locks (a core call under it is a core call with no lock of the core's
 * held).  The core calls back without it: the IPI hook takes no lock at
 * all (it may run under mcp.lock), the wakeup hook takes fk.lock, so the
 * fake never sends an event with fk.lock held.  The signal handlers that
 * take fk.lock (SIGSYS, the preemption) block each other and the
 * notification signal; the notification handler takes no lock (it
 * interrupts library code at any point).  A thread in the core is "in
 * the kernel": the fake's own entry points block its signals around core
 * calls, as interrupts are taken only on the way back to user space.
 */
#define _GNU_SOURCE	/* REG_* */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <fcntl.h>
#include <unistd.h>

#include "barrier.h"
#include "fake_kernel.h"
#include "lib/kernel_side.h"
#include "vcore_ctx.h"

#define ALTSTACK_SIZE	(256 * 1024)

struct fake_vc {
	pid_t tid;			/* 0 until it attached */
	/* the pcore a grant named (vt->grant_cpu), -1: none */
	int grant_cpu;
	bool preempt_req;		/* a preemption waits for the thread */
	bool preempt_acked;
	int preempt_others;		/* mcp_preempt_vcore()'s answer */
	pthread_cond_t cond;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t ack;
	struct vcore_dev *dev;
	unsigned int nr_vcores;
	unsigned int nr_pcores;
	bool pcore_held[VCORE_MAX_VCORES];	/* provision.c's owner[] */
	bool unprotected;		/* VCORE_FAKE_UNPROTECTED set */
	unsigned int change_window_us;	/* fake_set_change_window() */
	struct fake_vc vc[VCORE_MAX_VCORES];
	struct fake_stats st;
} fk = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.ack = PTHREAD_COND_INITIALIZER,
};

static __thread int fk_vcoreid = -1;
/* whether the core's last IPI hook call on this thread sent a signal */
static __thread bool fk_ipi_sent;

#define STAT_INC(f)	fetch_add(&fk.st.f, 1)

static struct vcore_preempt_data *vcpd(unsigned int v)
{
	return vcore_dev_vcpd(fk.dev, v);
}

/*
 * "In the kernel": the fake's IPIs wait until a vcore's thread leaves it
 * (on other threads their handlers do nothing).
 */
static void kernel_enter(sigset_t *old)
{
	sigset_t set;

	if (fk_vcoreid < 0)
		return;
	sigemptyset(&set);
	sigaddset(&set, FAKE_SIG_NOTIFY);
	sigaddset(&set, FAKE_SIG_PREEMPT);
	sigaddset(&set, FAKE_SIG_TICK);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static void kernel_leave(const sigset_t *old)
{
	if (fk_vcoreid >= 0)
		pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- pcores and grants (provision.c, kick.c) -------------------------- */

/* claim_pcore(): the lowest free pcore, or -1; fk.lock held */
static int claim_pcore_locked(void)
{
	for (unsigned int c = 0; c < fk.nr_pcores; c++) {
		if (!fk.pcore_held[c]) {
			fk.pcore_held[c] = true;
			return (int)c;
		}
	}
	return -1;
}

/* vcore_hand_pcore(): the offline thread moves to cpu; fk.lock held */
static void hand_pcore_locked(unsigned int v, int cpu)
{
	WRITE_ONCE(fk.vc[v].grant_cpu, cpu);
	STAT_INC(grants);
	pthread_cond_signal(&fk.vc[v].cond);
}

/*
 * vcore_grant(): a free pcore for each vcore the core says the process
 * wants, mapped by the core; fk.lock held.  As the module's passes leave
 * an MCP alone for a while after a yield or a preemption (the hold-off),
 * a freed pcore comes back only when the process asks: POKE, ATTACH, a
 * wakeup.
 */
static void grant_locked(void)
{
	while (ks_vcores_wanted()) {
		int cpu = claim_pcore_locked(), v;

		if (cpu < 0)
			break;
		v = ks_grant_vcore((uint32_t)cpu);
		if (v < 0) {
			fk.pcore_held[cpu] = false;
			break;
		}
		hand_pcore_locked((unsigned int)v, cpu);
	}
	/* the module tells of bulk-preempted vcores now: the fake has none */
}

/* vcore_drop_pcore(): v went offline, its pcore is free; fk.lock held */
static void drop_pcore_locked(unsigned int v)
{
	int cpu = fk.vc[v].grant_cpu;

	WRITE_ONCE(fk.vc[v].grant_cpu, -1);
	if (cpu >= 0)
		fk.pcore_held[cpu] = false;
}

/*
 * vcore_forget_preemption(): gone offline by itself, a preemption asked
 * for meanwhile is moot (fake_preempt() sees it withdrawn); fk.lock held.
 */
static void forget_preemption_locked(unsigned int v)
{
	fk.vc[v].preempt_req = false;
	fetch_and(&vcpd(v)->flags, ~(__u32)VC_K_LOCK);
	pthread_cond_broadcast(&fk.ack);
}

/* The core's wakeup hook (vcore_wakeup_grant()); never under fk.lock. */
static void wakeup_grant(void)
{
	__u64 *want = &fk.dev->procdata->res_req[VCORE_RES_CORES].amt_wanted;

	cmpxchg(want, 0, 1);
	pthread_mutex_lock(&fk.lock);
	grant_locked();
	pthread_mutex_unlock(&fk.lock);
}

/* The core's IPI hook (vcore_notify_ipi()): any context, no lock. */
static void notify_ipi(uint32_t v)
{
	pid_t tid;

	if (v >= fk.nr_vcores || READ_ONCE(fk.vc[v].grant_cpu) < 0)
		return;
	tid = READ_ONCE(fk.vc[v].tid);
	if (!tid)
		return;
	STAT_INC(ipis);
	fk_ipi_sent = true;
	syscall(SYS_tgkill, getpid(), tid, FAKE_SIG_NOTIFY);
}

/* ---- entering vcore context (vcore_run.c) ----------------------------- */

static void set_reg(ucontext_t *uc, int reg, __u64 val)
{
	uc->uc_mcontext.gregs[reg] = (greg_t)val;
}

static __u64 reg(const ucontext_t *uc, int r)
{
	return (__u64)uc->uc_mcontext.gregs[r];
}

/* vcore_enter(): the return to user space lands in vcore_entry. */
static void enter(ucontext_t *uc, unsigned int v, unsigned int why)
{
	struct vcore_preempt_data *p = vcpd(v);

	WRITE_ONCE(p->notif_disabled, 1);
	set_reg(uc, REG_RIP, READ_ONCE(p->vcore_entry));
	set_reg(uc, REG_RSP, READ_ONCE(p->vcore_stack));
	set_reg(uc, REG_RDI, v);
	set_reg(uc, REG_RSI, why);
	set_reg(uc, REG_RAX, 0);
	set_reg(uc, REG_EFL, reg(uc, REG_EFL) & ~0x100ULL);	/* TF */
}

static void save_ctx(struct vcore_user_ctx *c, const ucontext_t *uc)
{
	__u64 fsbase;

	__asm__ volatile("movq %%fs:0, %0" : "=r"(fsbase));
	c->flags = 0;
	c->rax = reg(uc, REG_RAX);
	c->rbx = reg(uc, REG_RBX);
	c->rcx = reg(uc, REG_RCX);
	c->rdx = reg(uc, REG_RDX);
	c->rsi = reg(uc, REG_RSI);
	c->rdi = reg(uc, REG_RDI);
	c->rbp = reg(uc, REG_RBP);
	c->rsp = reg(uc, REG_RSP);
	c->r8 = reg(uc, REG_R8);
	c->r9 = reg(uc, REG_R9);
	c->r10 = reg(uc, REG_R10);
	c->r11 = reg(uc, REG_R11);
	c->r12 = reg(uc, REG_R12);
	c->r13 = reg(uc, REG_R13);
	c->r14 = reg(uc, REG_R14);
	c->r15 = reg(uc, REG_R15);
	c->rip = reg(uc, REG_RIP);
	c->rflags = reg(uc, REG_EFL);
	c->fs_base = fsbase;
	c->gs_base = 0;
	/* PREEMPT-2: the registers, then the type */
	smp_store_release(&c->type, VCORE_CTX_HW);
}

/* vcore_notify_self(): the task work, on the vcore's own thread */
static void notify_here(ucontext_t *uc, unsigned int v)
{
	struct vcore_preempt_data *p = vcpd(v);

	if (!ks_vcore_mapped(v) || READ_ONCE(p->notif_disabled)) {
		STAT_INC(ignored);
		return;
	}
	save_ctx(&p->uthread_ctx, uc);
	STAT_INC(notified);
	enter(uc, v, VCORE_ENTRY_NOTIFY);
}

static void sig_notify(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	if (fk_vcoreid >= 0)
		notify_here(ucv, (unsigned int)fk_vcoreid);
}

/*
 * vcore_wait_and_enter(): offline until a grant names a pcore the core
 * has v mapped on (a stale one is forgotten), fk.lock held; then enter
 * vcore_entry, with RESUME if it stopped in vcore context.
 */
static void wait_grant_and_enter(ucontext_t *uc, unsigned int v)
{
	struct fake_vc *fv = &fk.vc[v];
	int resume;

	for (;;) {
		while (fv->grant_cpu < 0)
			pthread_cond_wait(&fv->cond, &fk.lock);
		resume = ks_take_grant(v, (uint32_t)fv->grant_cpu);
		if (resume >= 0)
			break;
		WRITE_ONCE(fv->grant_cpu, -1);
	}
	if (resume)
		STAT_INC(resumes);
	enter(uc, v, resume ? VCORE_ENTRY_RESUME : VCORE_ENTRY_START);
}

/*
 * The signal handlers' own stack.  Under ASan the thread already has one
 * (the sanitizer's), and this handler runs on it: keep it then.
 */
static void setup_altstack(void)
{
	stack_t ss = { .ss_size = ALTSTACK_SIZE }, cur;

	if (!sigaltstack(NULL, &cur) && (cur.ss_flags & SS_ONSTACK))
		return;
	ss.ss_sp = malloc(ALTSTACK_SIZE);
	if (!ss.ss_sp || sigaltstack(&ss, NULL)) {
		perror("fake kernel: sigaltstack");
		abort();
	}
}

/* ---- the ioctls (ioctl.c, vcore_run.c) --------------------------------- */

static long do_attach(ucontext_t *uc, const struct vcore_attach *a)
{
	unsigned int v = a->vcoreid;
	long err;

	if (a->flags || a->resv[0] || a->resv[1] || a->resv[2] ||
	    v >= fk.nr_vcores)
		return -EINVAL;
	if (!vcpd(v)->vcore_entry || !vcpd(v)->vcore_stack ||
	    vcpd(v)->vcore_stack % 16)
		return -EINVAL;
	pthread_mutex_lock(&fk.lock);
	if (fk_vcoreid >= 0) {
		pthread_mutex_unlock(&fk.lock);
		return -EBUSY;
	}
	err = ks_attach_vcore(v);
	if (err) {
		pthread_mutex_unlock(&fk.lock);
		return err;
	}
	setup_altstack();
	fk_vcoreid = (int)v;
	WRITE_ONCE(fk.vc[v].tid, (pid_t)syscall(SYS_gettid));
	fk.vc[v].preempt_req = false;
	/* vcore_provision_ask() */
	grant_locked();
	wait_grant_and_enter(uc, v);
	pthread_mutex_unlock(&fk.lock);
	return 0;
}

static long do_yield(ucontext_t *uc, const struct vcore_yield *y)
{
	int v = fk_vcoreid;
	long ret;

	if ((y->flags & ~VCORE_YIELD_BEING_NICE) || y->resv0)
		return -EINVAL;
	if (v < 0)
		return -EPERM;
	pthread_mutex_lock(&fk.lock);
	ret = ks_yield_vcore((unsigned int)v,
			     y->flags & VCORE_YIELD_BEING_NICE);
	if (ret) {
		if (ret == -EAGAIN)
			STAT_INC(yields_refused);
		pthread_mutex_unlock(&fk.lock);
		return ret;
	}
	STAT_INC(yields);
	forget_preemption_locked((unsigned int)v);
	drop_pcore_locked((unsigned int)v);
	wait_grant_and_enter(uc, (unsigned int)v);
	pthread_mutex_unlock(&fk.lock);
	return 0;
}

/*
 * SELF_NOTIFY as the module's: the core posts and notifies.  To the
 * calling vcore itself the IPI is a signal to this thread, blocked while
 * this handler runs: it arrives as the ioctl returns, with the return
 * value already in rax, as the module's task work does.
 */
static long do_self_notify(const struct vcore_self_notify *s)
{
	unsigned int v = s->vcoreid;
	bool priv = s->flags & VCORE_SELF_NOTIFY_PRIVATE;

	if ((s->flags & ~VCORE_SELF_NOTIFY_PRIVATE) || s->resv[0] ||
	    s->resv[1] || v >= fk.nr_vcores)
		return -EINVAL;
	STAT_INC(self_notifies);
	if (s->msg.ev_type == EV_CHECK_MSGS) {
		if (priv)
			STAT_INC(check_msgs_private);
		else
			STAT_INC(check_msgs_public);
	}
	ks_post_vcore_event(&s->msg, v, priv ? EVENT_VCORE_PRIVATE : 0);
	ks_notify(v);
	return 0;
}

/*
 * SEND_EVENT: the core's mcp_send_event() on the caller's ev_q.  An ev_q
 * outside the regions is the core's counted drop (the module also
 * returns EFAULT for it).
 */
static long do_send_event(const struct vcore_send_event *se)
{
	if (se->flags || se->resv[0] || se->resv[1])
		return -EINVAL;
	/* as the module's: an ev_q outside the regions is the caller's */
	if (!ks_send_event_checked(se->ev_q, &se->msg, se->vcoreid))
		return -EFAULT;
	return 0;
}

/*
 * The interrupted XSAVE image in the signal frame, into preempt_fp.  The
 * kernel marks an XSAVE-format frame in the FXSAVE area's software bytes
 * (struct _fpx_sw_bytes at 464: magic1, extended_size, xfeatures,
 * xstate_size).
 */
#define FPX_SW_OFF		464
#define FPX_MAGIC1		0x46505853U
#define FPX_XSTATE_SIZE_OFF	(FPX_SW_OFF + 16)

static void save_sig_fp(struct vcore_preempt_data *p, const ucontext_t *uc)
{
	const unsigned char *fp = (const void *)uc->uc_mcontext.fpregs;
	__u32 magic, xsize;
	size_t n = 512;

	if (!fp)
		return;
	memcpy(&magic, fp + FPX_SW_OFF, sizeof(magic));
	memcpy(&xsize, fp + FPX_XSTATE_SIZE_OFF, sizeof(xsize));
	if (magic == FPX_MAGIC1)
		n = xsize;
	if (n > sizeof(p->preempt_fp.xsave))
		n = sizeof(p->preempt_fp.xsave);
	memcpy(p->preempt_fp.xsave, fp, n);
	/* bytes 464-511 are the kernel's; XRSTOR ignores them */
}

/*
 * CHANGE_VCORE as vcore_change(): the core moves the caller (vcore
 * context) off its pcore and the target onto it; without enable_my_notif
 * the caller's context (returning 0) goes to vcore_ctx, where it
 * resumes.  The target hears EV_VCORE_PREEMPT, or EV_CHECK_MSGS with
 * enable_my_notif, through the kernel_evts ev_q, then gets the pcore.
 */
static long do_change(ucontext_t *uc, const struct vcore_change *c)
{
	struct event_msg msg = { 0 };
	struct vcore_preempt_data *p;
	bool restart = c->enable_my_notif;
	int v = fk_vcoreid, cpu;

	if (c->enable_my_notif > 1 || c->resv[0] || c->resv[1] || c->resv[2])
		return -EINVAL;
	if (v < 0)
		return -EPERM;
	p = vcpd((unsigned int)v);
	pthread_mutex_lock(&fk.lock);
	if (!ks_vcore_mapped((unsigned int)v)) {
		pthread_mutex_unlock(&fk.lock);
		return -EPERM;
	}
	if (!READ_ONCE(p->notif_disabled)) {
		pthread_mutex_unlock(&fk.lock);
		return -EINVAL;
	}
	cpu = ks_change_vcore((unsigned int)v, c->vcoreid);
	if (cpu < 0) {
		pthread_mutex_unlock(&fk.lock);
		return cpu;
	}
	if (!restart) {
		set_reg(uc, REG_RAX, 0);
		save_ctx(&p->vcore_ctx, uc);
	}
	forget_preemption_locked((unsigned int)v);
	ks_set_resume_vcore_ctx((unsigned int)v, !restart);
	STAT_INC(changes);
	if (restart)
		STAT_INC(change_restarts);
	pthread_mutex_unlock(&fk.lock);

	msg.ev_type = restart ? EV_CHECK_MSGS : EV_VCORE_PREEMPT;
	msg.ev_arg2 = (__u32)v;
	ks_send_kernel_event(&msg, c->vcoreid);
	if (READ_ONCE(fk.change_window_us))
		usleep(READ_ONCE(fk.change_window_us));

	/*
	 * Unlocked since the change, v was at the head of the inactive
	 * list: a grant may have named it again.  Only the old pcore's
	 * grant goes, as the module's compare and swap.
	 */
	pthread_mutex_lock(&fk.lock);
	if (fk.vc[v].grant_cpu == cpu)
		WRITE_ONCE(fk.vc[v].grant_cpu, -1);
	hand_pcore_locked(c->vcoreid, cpu);
	wait_grant_and_enter(uc, (unsigned int)v);
	pthread_mutex_unlock(&fk.lock);
	return 0;
}

/*
 * POKE as the module's: a WAITING process that asks for vcores wakes,
 * and gets what is free.
 */
static long do_poke(void)
{
	__u64 want;
	long n;

	STAT_INC(pokes);
	want = READ_ONCE(fk.dev->procdata->res_req[VCORE_RES_CORES]
			 .amt_wanted);
	pthread_mutex_lock(&fk.lock);
	if (ks_state() == VCORE_PROC_WAITING && want)
		ks_wakeup();
	grant_locked();
	n = ks_num_vcores();
	pthread_mutex_unlock(&fk.lock);
	return n;
}

/* ---- alarms (alarm.c), wall-clock only ------------------------------- */

#define FAKE_ALARMS	512

struct fake_alarm {
	bool used, armed;
	__u32 id, vcoreid;
	__u64 ev_q, deadline, period;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* a change, or a send finished */
	struct fake_alarm a[FAKE_ALARMS];
	long sending;			/* the id being sent, or -1 */
	bool started;
	pthread_t thread;
	unsigned long fired;
} fa = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sending = -1,
};

static struct fake_alarm *alarm_find(__u32 id)
{
	for (unsigned int i = 0; i < FAKE_ALARMS; i++)
		if (fa.a[i].used && fa.a[i].id == id)
			return &fa.a[i];
	return NULL;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* The hrtimers: one thread sends each expiry as the module's callback. */
static void *alarm_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&fa.lock);
	for (;;) {
		struct fake_alarm *next = NULL;
		struct event_msg msg = { .ev_type = EV_ALARM };
		struct timespec ts;
		__u64 now = mono_ns(), folded = 1;
		__u64 ev_q;

		for (unsigned int i = 0; i < FAKE_ALARMS; i++)
			if (fa.a[i].used && fa.a[i].armed &&
			    (!next || fa.a[i].deadline < next->deadline))
				next = &fa.a[i];
		if (!next) {
			pthread_cond_wait(&fa.cond, &fa.lock);
			continue;
		}
		if (next->deadline > now) {
			ts.tv_sec = (time_t)(next->deadline / 1000000000ULL);
			ts.tv_nsec = (long)(next->deadline % 1000000000ULL);
			pthread_cond_timedwait(&fa.cond, &fa.lock, &ts);
			continue;
		}
		msg.ev_arg1 = next->vcoreid;
		msg.ev_arg3 = next->id;
		msg.ev_arg4 = next->deadline;
		if (next->period) {
			while (next->deadline + next->period <= now) {
				next->deadline += next->period;
				folded++;
			}
			next->deadline += next->period;
		} else {
			next->armed = false;
		}
		msg.ev_arg2 = (__u32)folded;
		ev_q = next->ev_q;
		fa.sending = next->id;
		fa.fired++;
		pthread_mutex_unlock(&fa.lock);
		fake_send_event((struct event_queue *)(uintptr_t)ev_q, &msg);
		pthread_mutex_lock(&fa.lock);
		fa.sending = -1;
		pthread_cond_broadcast(&fa.cond);
	}
	return NULL;
}

static long do_alarm_set(struct vcore_alarm *req)
{
	struct fake_alarm *a;

	if ((req->flags & ~(__u32)(VCORE_ALARM_VCORE | VCORE_ALARM_WALL)) ||
	    req->vcoreid >= fk.nr_vcores ||
	    (req->period_ns && req->period_ns < VCORE_ALARM_MIN_PERIOD_NS))
		return -EINVAL;
	pthread_mutex_lock(&fa.lock);
	a = alarm_find(req->id);
	for (unsigned int i = 0; !a && i < FAKE_ALARMS; i++)
		if (!fa.a[i].used)
			a = &fa.a[i];
	if (!a) {
		pthread_mutex_unlock(&fa.lock);
		return -ENOSPC;
	}
	/* a modification drops an expiry being sent: wait for it */
	while (fa.sending == (long)req->id)
		pthread_cond_wait(&fa.cond, &fa.lock);
	a->used = a->armed = true;
	a->id = req->id;
	a->vcoreid = req->vcoreid;
	a->ev_q = req->ev_q;
	a->deadline = req->deadline_ns;
	a->period = req->period_ns;
	pthread_cond_broadcast(&fa.cond);
	pthread_mutex_unlock(&fa.lock);
	return 0;
}

static long do_alarm_cancel(struct vcore_alarm_cancel *req)
{
	struct fake_alarm *a;
	long ret;

	pthread_mutex_lock(&fa.lock);
	a = alarm_find(req->id);
	if (!a) {
		pthread_mutex_unlock(&fa.lock);
		return -ENOENT;
	}
	ret = a->armed;
	a->used = a->armed = false;
	/* synchronous: nothing more is sent once we return */
	while (fa.sending == (long)req->id)
		pthread_cond_wait(&fa.cond, &fa.lock);
	pthread_mutex_unlock(&fa.lock);
	return ret;
}

int fake_kernel_enable_alarms(void)
{
	pthread_condattr_t ca;
	int err;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fa.cond, &ca);
	pthread_condattr_destroy(&ca);
	err = -pthread_create(&fa.thread, NULL, alarm_thread, NULL);
	if (err)
		return err;
	fa.started = true;
	fk.dev->api.ioctls[0] |= (1ULL << VCORE_IOC_NR_ALARM_SET) |
				 (1ULL << VCORE_IOC_NR_ALARM_CANCEL);
	return 0;
}

unsigned long fake_alarms_fired(void)
{
	unsigned long n;

	pthread_mutex_lock(&fa.lock);
	n = fa.fired;
	pthread_mutex_unlock(&fa.lock);
	return n;
}

pid_t fake_vcore_tid(unsigned int vcoreid)
{
	return vcoreid < fk.nr_vcores ? READ_ONCE(fk.vc[vcoreid].tid) : 0;
}

static void sig_sys(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	unsigned long cmd = reg(uc, REG_RSI);
	void *arg = (void *)(uintptr_t)reg(uc, REG_RDX);
	long ret;

	(void)sig;
	(void)si;
	switch (cmd) {
	case VCORE_IOC_VCORE_ATTACH:
		ret = do_attach(uc, arg);
		break;
	case VCORE_IOC_YIELD:
		ret = do_yield(uc, arg);
		break;
	case VCORE_IOC_SELF_NOTIFY:
		ret = do_self_notify(arg);
		break;
	case VCORE_IOC_POKE:
		ret = do_poke();
		break;
	case VCORE_IOC_SEND_EVENT:
		ret = do_send_event(arg);
		break;
	case VCORE_IOC_ALARM_SET:
	case VCORE_IOC_ALARM_CANCEL:
		if (fk.dev->api.ioctls[0] & (1ULL << VCORE_IOC_NR_ALARM_SET))
			ret = cmd == VCORE_IOC_ALARM_SET ? do_alarm_set(arg) :
							   do_alarm_cancel(arg);
		else
			ret = -ENOTTY;
		break;
	case VCORE_IOC_CHANGE_VCORE:
		/* a test may take the command away: the library falls back */
		if (fk.dev->api.ioctls[0] & (1ULL << VCORE_IOC_NR_CHANGE_VCORE))
			ret = do_change(uc, arg);
		else
			ret = -ENOTTY;
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	/* the return value (0 after a redirect into vcore_entry, too) */
	set_reg(uc, REG_RAX, (__u64)ret);
}

/* ---- preemption (kick.c, vcore_run.c) ---------------------------------- */

/* vcore_preempt_self(): the preemption's task work, on the vcore's thread */
static void sig_preempt(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct vcore_preempt_data *p;
	struct fake_vc *fv;
	bool in_vc;
	int v = fk_vcoreid;

	(void)sig;
	(void)si;
	if (v < 0)
		return;
	p = vcpd((unsigned int)v);
	fv = &fk.vc[v];
	pthread_mutex_lock(&fk.lock);
	if (!fv->preempt_req) {
		/* withdrawn: the vcore went offline first */
		pthread_mutex_unlock(&fk.lock);
		return;
	}
	fv->preempt_req = false;
	if (!ks_vcore_mapped((unsigned int)v) || fv->grant_cpu < 0) {
		fetch_and(&p->flags, ~(__u32)VC_K_LOCK);
		fv->preempt_others = -1;
		fv->preempt_acked = true;
		pthread_cond_broadcast(&fk.ack);
		pthread_mutex_unlock(&fk.lock);
		return;
	}
	in_vc = READ_ONCE(p->notif_disabled);
	/*
	 * What libvcore asks of the kernel beyond kmod today (see
	 * fake_kernel.h): an entry that has not yet taken vcore_ctx or
	 * preempt_fp (vcore_ctx still HW, VC_FPU_SAVED still set) finds them
	 * as they were when it runs again.  fk.unprotected plays kmod today.
	 */
	if (fk.unprotected || !in_vc ||
	    READ_ONCE(p->vcore_ctx.type) != VCORE_CTX_HW)
		save_ctx(in_vc ? &p->vcore_ctx : &p->uthread_ctx, uc);
	if (!(READ_ONCE(p->flags) & VC_UTHREAD_STEALING) &&
	    (fk.unprotected || !(READ_ONCE(p->racy_flags) & VC_FPU_SAVED))) {
		save_sig_fp(p, uc);
		fetch_or(&p->racy_flags, (__u32)VC_FPU_SAVED);
	}
	ks_set_resume_vcore_ctx((unsigned int)v, in_vc);
	/* PREEMPT-2: the context, VC_PREEMPTED, then VC_K_LOCK cleared */
	fetch_or(&p->flags, (__u32)VC_PREEMPTED);
	fetch_and(&p->flags, ~(__u32)VC_K_LOCK);
	fv->preempt_others = ks_preempt_vcore((unsigned int)v, false);
	drop_pcore_locked((unsigned int)v);
	STAT_INC(preempts);
	fv->preempt_acked = true;
	pthread_cond_broadcast(&fk.ack);
	wait_grant_and_enter(uc, (unsigned int)v);
	pthread_mutex_unlock(&fk.lock);
}

void fake_set_change_window(unsigned int usec)
{
	WRITE_ONCE(fk.change_window_us, usec);
}

int fake_preempt(unsigned int v)
{
	struct event_msg msg = { .ev_type = EV_VCORE_PREEMPT, .ev_arg2 = v };
	struct fake_vc *fv;
	int others;

	if (v >= fk.nr_vcores)
		return -1;
	fv = &fk.vc[v];
	pthread_mutex_lock(&fk.lock);
	if (!ks_vcore_mapped(v) || fv->grant_cpu < 0) {
		pthread_mutex_unlock(&fk.lock);
		return -1;
	}
	/* vcore_preempt_request(): PREEMPT-1, then the kick */
	fetch_or(&vcpd(v)->flags, (__u32)VC_K_LOCK);
	fv->preempt_req = true;
	fv->preempt_acked = false;
	syscall(SYS_tgkill, getpid(), fv->tid, FAKE_SIG_PREEMPT);
	/*
	 * The signal waits while the thread is in the kernel (a YIELD going
	 * offline): then there is nothing to preempt, as in the module.
	 */
	while (!fv->preempt_acked && fv->preempt_req)
		pthread_cond_wait(&fk.ack, &fk.lock);
	others = fv->preempt_acked ? fv->preempt_others : -1;
	if (!fv->preempt_acked) {
		fv->preempt_req = false;
		fetch_and(&vcpd(v)->flags, ~(__u32)VC_K_LOCK);
	}
	pthread_mutex_unlock(&fk.lock);
	if (others < 0)
		return -1;
	/*
	 * Someone must hear of it if anyone was online as it went: the
	 * module sends this from the preempted thread, the fake from the
	 * one that asked (a signal handler may have interrupted the thread
	 * in the core).  The core routes it.
	 */
	if (others)
		ks_send_kernel_event(&msg, 0);
	return 0;
}

/* ---- messages from the kernel ------------------------------------------ */

bool fake_notify(unsigned int v)
{
	sigset_t old;
	bool sent;

	kernel_enter(&old);
	fk_ipi_sent = false;
	ks_notify(v);
	sent = fk_ipi_sent;
	kernel_leave(&old);
	return sent;
}

int fake_send_vc_msg(unsigned int v, bool priv, const struct event_msg *msg)
{
	sigset_t old;
	bool ok;

	kernel_enter(&old);
	ok = ks_post_vcore_event(msg, v, priv ? EVENT_VCORE_PRIVATE : 0);
	if (ok)
		ks_notify(v);
	kernel_leave(&old);
	return ok ? 0 : -1;
}

void fake_send_event(struct event_queue *ev_q, const struct event_msg *msg)
{
	sigset_t old;

	kernel_enter(&old);
	ks_send_event((uintptr_t)ev_q, msg, 0);
	kernel_leave(&old);
}

/* ---- setup ------------------------------------------------------------ */

static int install_seccomp(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FAKE_KERNEL_FD, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = {
		.len = sizeof(f) / sizeof(f[0]),
		.filter = f,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    SECCOMP_FILTER_FLAG_TSYNC, &prog))
		return -errno;
	return 0;
}

static int install_handler(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa = {
		.sa_sigaction = fn,
		.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART,
	};

	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGSYS);
	sigaddset(&sa.sa_mask, FAKE_SIG_NOTIFY);
	sigaddset(&sa.sa_mask, FAKE_SIG_PREEMPT);
	sigaddset(&sa.sa_mask, FAKE_SIG_TICK);
	return sigaction(sig, &sa, NULL) ? -errno : 0;
}

int fake_kernel_init(struct vcore_dev *dev, unsigned int nr_vcores,
		     unsigned int nr_pcores)
{
	size_t vcpd_size = sizeof(struct vcore_preempt_data);
	int fd, err;

	if (!nr_vcores || nr_vcores > ks_max_vcores() || !nr_pcores ||
	    nr_pcores > ks_procinfo()->nr_pcores ||
	    nr_pcores > VCORE_MAX_VCORES)
		return -EINVAL;
	memset(dev, 0, sizeof(*dev));
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0 || dup2(fd, FAKE_KERNEL_FD) < 0)
		return -errno;
	close(fd);
	dev->fd = FAKE_KERNEL_FD;
	dev->api.api = VCORE_API_VERSION;
	dev->api.features = VCORE_FEAT_EVENTS | VCORE_FEAT_VCORES |
			    VCORE_FEAT_PREEMPT;
	dev->api.ioctls[0] = (1ULL << VCORE_IOC_NR_API) |
			     (1ULL << VCORE_IOC_NR_SEND_EVENT) |
			     (1ULL << VCORE_IOC_NR_SELF_NOTIFY) |
			     (1ULL << VCORE_IOC_NR_VCORE_ATTACH) |
			     (1ULL << VCORE_IOC_NR_POKE) |
			     (1ULL << VCORE_IOC_NR_YIELD) |
			     (1ULL << VCORE_IOC_NR_CHANGE_VCORE) |
			     (1ULL << VCORE_IOC_NR_PREEMPT);
	dev->api.vcpd_offset = sizeof(struct vcore_procdata);
	dev->api.vcpd_size = (__u32)vcpd_size;
	dev->api.max_vcores = nr_vcores;
	dev->api.max_nr_event = VCORE_MAX_NR_EVENT;
	dev->api.fp_state_size = VCORE_FP_STATE_SIZE;
	/* procinfo and procdata are the kernel's MCP's; the core fills them */
	dev->procdata = ks_procdata();
	dev->kprocinfo = ks_procinfo();
	ks_procinfo()->max_vcores = nr_vcores;
	fk.dev = dev;
	fk.unprotected = getenv("VCORE_FAKE_UNPROTECTED") != NULL;
	fk.nr_vcores = nr_vcores;
	fk.nr_pcores = nr_pcores;
	for (unsigned int v = 0; v < nr_vcores; v++) {
		fk.vc[v].grant_cpu = -1;
		pthread_cond_init(&fk.vc[v].cond, NULL);
	}
	ks_set_linux_side(notify_ipi, wakeup_grant);
	err = install_handler(SIGSYS, sig_sys);
	if (!err)
		err = install_handler(FAKE_SIG_NOTIFY, sig_notify);
	if (!err)
		err = install_handler(FAKE_SIG_PREEMPT, sig_preempt);
	if (!err)
		err = install_seccomp();
	if (!err) {
		/*
		 * the fake's IPIs are signals: vcore threads must take
		 * them, and a test's tick
		 */
		int sigs[] = { FAKE_SIG_NOTIFY, FAKE_SIG_PREEMPT,
			       FAKE_SIG_TICK };

		vcore_unblock_signals(sigs, 3);
	}
	return err;
}

unsigned int fake_online(void)
{
	return ks_num_vcores();
}

bool fake_vcore_online(unsigned int v)
{
	return ks_vcore_mapped(v);
}

int fake_current_vcore(void)
{
	return fk_vcoreid;
}

void fake_get_stats(struct fake_stats *st)
{
	pthread_mutex_lock(&fk.lock);
	*st = fk.st;
	pthread_mutex_unlock(&fk.lock);
}
