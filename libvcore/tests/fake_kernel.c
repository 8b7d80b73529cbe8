// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The fake vcore.ko; see fake_kernel.h.  It follows kmod/vcore_run.c and
 * kmod/core/vcores.c step by step where they matter to user space: grants set
 * VC_CAN_RCV_MSG and clear VC_PREEMPTED; entering vcore_entry sets
 * notif_disabled, rsp = vcore_stack, rdi, rsi, rax = 0; a notification
 * looks at the mapping and notif_disabled again on the vcore's own thread;
 * yield is refused while notif_pending is set, before and after leaving
 * the online list; a freed pcore is not given back until the next POKE.
 *
 * Locking: fk.lock (a pthread mutex) guards the vcore states and procinfo.
 * The signal handlers that take it (SIGSYS, the preemption) block each
 * other and the notification signal; the notification handler takes no
 * lock (it interrupts library code at any point).
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
#include <ucontext.h>
#include <fcntl.h>
#include <unistd.h>

#include "barrier.h"
#include "fake_kernel.h"
#include "lib/kernel_side.h"
#include "vcore_ctx.h"

#define ALTSTACK_SIZE	(256 * 1024)

struct fake_vc {
	pid_t tid;
	bool attached;
	bool online;
	bool granted;			/* a grant waits for the thread */
	bool resume_vcore_ctx;		/* preempted in vcore context */
	bool preempt_req;		/* a preemption waits for the thread */
	bool preempt_acked;
	pthread_cond_t cond;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t ack;
	struct vcore_dev *dev;
	struct vcore_procinfo *pi;
	unsigned int nr_vcores;
	unsigned int nr_pcores;
	unsigned int online;
	bool unprotected;		/* VCORE_FAKE_UNPROTECTED set */
	struct fake_vc vc[VCORE_MAX_VCORES];
	struct fake_stats st;
} fk = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.ack = PTHREAD_COND_INITIALIZER,
};

static __thread int fk_vcoreid = -1;

#define STAT_INC(f)	fetch_add(&fk.st.f, 1)

/* The kernel's post_vc_msg(): the core's, into the MCP's procdata. */
static int post_vc_msg(unsigned int v, bool priv, const struct event_msg *msg)
{
	return ks_post_vcore_event(msg, v, priv ? EVENT_VCORE_PRIVATE : 0) ?
	       0 : -1;
}

static struct vcore_preempt_data *vcpd(unsigned int v)
{
	return vcore_dev_vcpd(fk.dev, v);
}

/* procinfo under its seqcount, fk.lock held */
static void map_update_locked(unsigned int v, bool online)
{
	struct vcore_procinfo *pi = fk.pi;

	WRITE_ONCE(pi->coremap_seq, pi->coremap_seq + 1);
	smp_wmb();
	fk.vc[v].online = online;
	if (online)
		fk.online++;
	else
		fk.online--;
	WRITE_ONCE(pi->vcoremap[v].valid, online);
	WRITE_ONCE(pi->vcoremap[v].pcoreid, online ? v : 0);
	WRITE_ONCE(pi->num_vcores, fk.online);
	WRITE_ONCE(pi->state, fk.online ? VCORE_PROC_RUNNING_M :
				       VCORE_PROC_WAITING);
	smp_wmb();
	WRITE_ONCE(pi->coremap_seq, pi->coremap_seq + 1);
}

static void grant_one_locked(unsigned int v)
{
	struct fake_vc *fv = &fk.vc[v];

	fetch_and(&vcpd(v)->flags, ~(__u32)VC_PREEMPTED);
	fetch_or(&vcpd(v)->flags, (__u32)VC_CAN_RCV_MSG);
	map_update_locked(v, true);
	fv->granted = true;
	STAT_INC(grants);
	pthread_cond_signal(&fv->cond);
}

/* vcore_grant(): offline attached vcores, preempted ones first */
static void grant_locked(bool wakeup)
{
	__u64 want = READ_ONCE(fk.dev->procdata->res_req[VCORE_RES_CORES]
			       .amt_wanted);

	if (wakeup && want <= fk.online)
		want = fk.online + 1;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int v = 0; v < fk.nr_vcores; v++) {
			struct fake_vc *fv = &fk.vc[v];
			__u32 flags = READ_ONCE(vcpd(v)->flags);

			if (fk.online >= want || fk.online >= fk.nr_pcores)
				return;
			if (!fv->attached || fv->online || fv->granted)
				continue;
			if (pass == 0 && !(flags & VC_PREEMPTED))
				continue;
			grant_one_locked(v);
		}
	}
}

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
	smp_store_release(&c->type, VCORE_CTX_HW);
}

/* vcore_notify_self(): on the vcore's own thread */
static void notify_here(ucontext_t *uc, unsigned int v)
{
	struct vcore_preempt_data *p = vcpd(v);

	if (!READ_ONCE(fk.vc[v].online) || READ_ONCE(p->notif_disabled)) {
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

void fake_notify(unsigned int v)
{
	struct vcore_preempt_data *p = vcpd(v);

	WRITE_ONCE(p->notif_pending, 1);
	/* NOTIF-1: notif_pending before notif_disabled */
	smp_mb();
	if (READ_ONCE(p->notif_disabled) || !READ_ONCE(fk.vc[v].online))
		return;
	STAT_INC(ipis);
	syscall(SYS_tgkill, getpid(), READ_ONCE(fk.vc[v].tid),
		FAKE_SIG_NOTIFY);
}

int fake_send_vc_msg(unsigned int v, bool priv, const struct event_msg *msg)
{
	if (post_vc_msg(v, priv, msg))
		return -1;
	fake_notify(v);
	return 0;
}

/* Wait offline for a grant, fk.lock held; then enter vcore_entry. */
static void wait_grant_and_enter(ucontext_t *uc, unsigned int v)
{
	struct fake_vc *fv = &fk.vc[v];
	unsigned int why;

	while (!fv->granted)
		pthread_cond_wait(&fv->cond, &fk.lock);
	fv->granted = false;
	why = fv->resume_vcore_ctx ? VCORE_ENTRY_RESUME : VCORE_ENTRY_START;
	if (fv->resume_vcore_ctx)
		STAT_INC(resumes);
	fv->resume_vcore_ctx = false;
	enter(uc, v, why);
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

static long do_attach(ucontext_t *uc, const struct vcore_attach *a)
{
	unsigned int v = a->vcoreid;
	struct fake_vc *fv;

	if (a->flags || a->resv[0] || a->resv[1] || a->resv[2] ||
	    v >= fk.nr_vcores)
		return -EINVAL;
	if (!vcpd(v)->vcore_entry || !vcpd(v)->vcore_stack ||
	    vcpd(v)->vcore_stack % 16)
		return -EINVAL;
	fv = &fk.vc[v];
	pthread_mutex_lock(&fk.lock);
	if (fv->attached || fk_vcoreid >= 0) {
		pthread_mutex_unlock(&fk.lock);
		return -EBUSY;
	}
	setup_altstack();
	fk_vcoreid = (int)v;
	fv->tid = (pid_t)syscall(SYS_gettid);
	fv->attached = true;
	grant_locked(false);
	wait_grant_and_enter(uc, v);
	pthread_mutex_unlock(&fk.lock);
	return 0;
}

static long do_yield(ucontext_t *uc, const struct vcore_yield *y)
{
	struct vcore_preempt_data *p;
	int v = fk_vcoreid;

	if ((y->flags & ~VCORE_YIELD_BEING_NICE) || y->resv0)
		return -EINVAL;
	if (v < 0)
		return -EPERM;
	p = vcpd((unsigned int)v);
	pthread_mutex_lock(&fk.lock);
	if (!fk.vc[v].online) {
		pthread_mutex_unlock(&fk.lock);
		return -EPERM;
	}
	if ((y->flags & VCORE_YIELD_BEING_NICE) ||
	    READ_ONCE(p->notif_pending))
		goto refuse;
	map_update_locked((unsigned int)v, false);
	/* off the online list before the second look */
	smp_mb();
	if (READ_ONCE(p->notif_pending)) {
		map_update_locked((unsigned int)v, true);
		goto refuse;
	}
	STAT_INC(yields);
	/* a preemption under way finds it offline now */
	pthread_cond_broadcast(&fk.ack);
	wait_grant_and_enter(uc, (unsigned int)v);
	pthread_mutex_unlock(&fk.lock);
	return 0;

refuse:
	STAT_INC(yields_refused);
	pthread_mutex_unlock(&fk.lock);
	return -EAGAIN;
}

static long do_self_notify(ucontext_t *uc, const struct vcore_self_notify *s)
{
	unsigned int v = s->vcoreid;

	if ((s->flags & ~VCORE_SELF_NOTIFY_PRIVATE) || s->resv[0] ||
	    s->resv[1] || v >= fk.nr_vcores)
		return -EINVAL;
	STAT_INC(self_notifies);
	if (s->msg.ev_type == EV_CHECK_MSGS) {
		if (s->flags & VCORE_SELF_NOTIFY_PRIVATE)
			STAT_INC(check_msgs_private);
		else
			STAT_INC(check_msgs_public);
	}
	post_vc_msg(v, s->flags & VCORE_SELF_NOTIFY_PRIVATE, &s->msg);
	if (fk_vcoreid == (int)v) {
		/*
		 * The IPI to our own CPU: the task work runs as the ioctl
		 * returns, with the return value already in rax.
		 */
		WRITE_ONCE(vcpd(v)->notif_pending, 1);
		smp_mb();
		set_reg(uc, REG_RAX, 0);
		notify_here(uc, v);
		return 0;
	}
	fake_notify(v);
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
 * CHANGE_VCORE: the caller (vcore context) hands its pcore to the offline
 * target and waits offline, preempted.  Without enable_my_notif its
 * context (returning 0) goes to vcore_ctx, where it resumes, and the
 * target hears EV_VCORE_PREEMPT; with it nothing is saved, the caller
 * restarts at vcore_entry, and the target hears EV_CHECK_MSGS.  Either
 * message goes through the kernel_evts ev_q, as the module's: libvcore's
 * spams public mboxes, the target's first.
 */
static long do_change(ucontext_t *uc, const struct vcore_change *c)
{
	struct event_msg msg = { 0 };
	struct vcore_preempt_data *p;
	unsigned int t = c->vcoreid;
	bool restart = c->enable_my_notif;
	int v = fk_vcoreid;

	if (c->enable_my_notif > 1 || c->resv[0] || c->resv[1] || c->resv[2])
		return -EINVAL;
	if (v < 0)
		return -EPERM;
	p = vcpd((unsigned int)v);
	pthread_mutex_lock(&fk.lock);
	if (!fk.vc[v].online) {
		pthread_mutex_unlock(&fk.lock);
		return -EPERM;
	}
	if (!READ_ONCE(p->notif_disabled) || t >= fk.nr_vcores ||
	    !fk.vc[t].attached) {
		pthread_mutex_unlock(&fk.lock);
		return -EINVAL;
	}
	if (fk.vc[t].online || fk.vc[t].granted) {
		pthread_mutex_unlock(&fk.lock);
		return -EBUSY;
	}
	if (!restart) {
		set_reg(uc, REG_RAX, 0);
		save_ctx(&p->vcore_ctx, uc);
	}
	fetch_or(&p->flags, (__u32)VC_PREEMPTED);
	fk.vc[v].resume_vcore_ctx = !restart;
	map_update_locked((unsigned int)v, false);
	STAT_INC(changes);
	if (restart)
		STAT_INC(change_restarts);
	msg.ev_type = restart ? EV_CHECK_MSGS : EV_VCORE_PREEMPT;
	msg.ev_arg2 = (__u32)v;
	grant_one_locked(t);
	if (fk.dev->procdata->kernel_evts[msg.ev_type])
		fake_send_vc_msg(t, false, &msg);
	wait_grant_and_enter(uc, (unsigned int)v);
	pthread_mutex_unlock(&fk.lock);
	return 0;
}

static long do_poke(void)
{
	long n;

	STAT_INC(pokes);
	pthread_mutex_lock(&fk.lock);
	grant_locked(false);
	n = fk.online;
	pthread_mutex_unlock(&fk.lock);
	return n;
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
		ret = do_self_notify(uc, arg);
		break;
	case VCORE_IOC_POKE:
		ret = do_poke();
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

/* ---- preemption ------------------------------------------------------- */

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
	if (!fv->online) {
		fetch_and(&p->flags, ~(__u32)VC_K_LOCK);
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
	fv->resume_vcore_ctx = in_vc;
	fetch_or(&p->flags, (__u32)VC_PREEMPTED);
	fetch_and(&p->flags, ~(__u32)VC_K_LOCK);
	map_update_locked((unsigned int)v, false);
	STAT_INC(preempts);
	fv->preempt_acked = true;
	pthread_cond_broadcast(&fk.ack);
	wait_grant_and_enter(uc, (unsigned int)v);
	pthread_mutex_unlock(&fk.lock);
}

int fake_preempt(unsigned int v)
{
	struct event_msg msg = { .ev_type = EV_VCORE_PREEMPT, .ev_arg2 = v };
	struct fake_vc *fv = &fk.vc[v];
	int target = -1;

	pthread_mutex_lock(&fk.lock);
	if (!fv->online) {
		pthread_mutex_unlock(&fk.lock);
		return -1;
	}
	fetch_or(&vcpd(v)->flags, (__u32)VC_K_LOCK);
	fv->preempt_req = true;
	fv->preempt_acked = false;
	syscall(SYS_tgkill, getpid(), fv->tid, FAKE_SIG_PREEMPT);
	/*
	 * The signal waits while the thread is in the kernel (a YIELD going
	 * offline): then there is nothing to preempt, as in the module.
	 */
	while (!fv->preempt_acked && fv->online)
		pthread_cond_wait(&fk.ack, &fk.lock);
	if (!fv->preempt_acked) {
		fv->preempt_req = false;
		fetch_and(&vcpd(v)->flags, ~(__u32)VC_K_LOCK);
		pthread_mutex_unlock(&fk.lock);
		return -1;
	}
	for (unsigned int u = 0; u < fk.nr_vcores; u++) {
		if (fk.vc[u].online) {
			target = (int)u;
			break;
		}
	}
	pthread_mutex_unlock(&fk.lock);
	/* the spam to public mboxes, as the kernel's kernel_evts ev_q does */
	if (target >= 0 && fk.dev->procdata->kernel_evts[EV_VCORE_PREEMPT])
		fake_send_vc_msg((unsigned int)target, false, &msg);
	return 0;
}

/* ---- events ----------------------------------------------------------- */

static bool can_rcv(unsigned int v)
{
	return READ_ONCE(vcpd(v)->flags) & VC_CAN_RCV_MSG;
}

/*
 * SPAM_INDIR's fallback, as the module's: the preferred vcore if it says
 * it will look, then the online vcores, each "post, barrier, look again";
 * last, under the lock, an online vcore or (WAITING) the preferred one,
 * which gets VC_CAN_RCV_MSG and is granted (EVENT_WAKEUP).
 */
static int spam_indir(unsigned int v, const struct event_msg *msg)
{
	int ret = 0;

	if (can_rcv(v)) {
		if (fake_send_vc_msg(v, false, msg))
			return -1;
		smp_mb();
		if (can_rcv(v))
			return 0;
	}
	for (unsigned int u = 0; u < fk.nr_vcores; u++) {
		if (!fake_vcore_online(u))
			continue;
		if (fake_send_vc_msg(u, false, msg))
			return -1;
		smp_mb();
		if (fake_vcore_online(u))
			return 0;
	}
	pthread_mutex_lock(&fk.lock);
	for (unsigned int u = 0; u < fk.nr_vcores; u++) {
		if (fk.vc[u].online) {
			ret = fake_send_vc_msg(u, false, msg);
			goto out;
		}
	}
	ret = post_vc_msg(v, false, msg);
	fetch_or(&vcpd(v)->flags, (__u32)VC_CAN_RCV_MSG);
	if (fk.vc[v].attached && !fk.vc[v].granted &&
	    fk.online < fk.nr_pcores)
		grant_one_locked(v);
out:
	pthread_mutex_unlock(&fk.lock);
	return ret;
}

int fake_send_event(struct event_queue *ev_q, const struct event_msg *msg)
{
	struct event_msg indir = { .ev_type = EV_EVENT };
	struct event_mbox *mbox;
	unsigned int v = READ_ONCE(ev_q->ev_vcore);
	__u32 flags = READ_ONCE(ev_q->ev_flags);

	if (v >= fk.nr_vcores)
		return -1;
	mbox = (struct event_mbox *)(uintptr_t)READ_ONCE(ev_q->ev_mbox);
	if (mbox ? !ks_mbox_post(mbox, msg) : post_vc_msg(v, false, msg))
		return -1;
	if (!(flags & EVENT_INDIR)) {
		fake_notify(v);
		return 0;
	}
	/* event.c C: the throttle */
	if (!(flags & EVENT_NOTHROTTLE) && xchg(&ev_q->ev_alert_pending, 1))
		return 0;
	indir.ev_arg3 = (__u64)(uintptr_t)ev_q;
	if (flags & EVENT_SPAM_INDIR)
		return spam_indir(v, &indir);
	return fake_send_vc_msg(v, false, &indir);
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
	return sigaction(sig, &sa, NULL) ? -errno : 0;
}

int fake_kernel_init(struct vcore_dev *dev, unsigned int nr_vcores,
		     unsigned int nr_pcores)
{
	size_t vcpd_size = sizeof(struct vcore_preempt_data);
	int fd, err;

	if (!nr_vcores || nr_vcores > ks_max_vcores())
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
	/* procinfo and procdata are the kernel's MCP's */
	dev->procdata = ks_procdata();
	fk.pi = ks_procinfo();
	fk.pi->state = VCORE_PROC_RUNNABLE_S;
	fk.pi->max_vcores = nr_vcores;
	dev->kprocinfo = fk.pi;
	fk.dev = dev;
	fk.unprotected = getenv("VCORE_FAKE_UNPROTECTED") != NULL;
	fk.nr_vcores = nr_vcores;
	fk.nr_pcores = nr_pcores;
	for (unsigned int v = 0; v < nr_vcores; v++)
		pthread_cond_init(&fk.vc[v].cond, NULL);
	err = install_handler(SIGSYS, sig_sys);
	if (!err)
		err = install_handler(FAKE_SIG_NOTIFY, sig_notify);
	if (!err)
		err = install_handler(FAKE_SIG_PREEMPT, sig_preempt);
	if (!err)
		err = install_seccomp();
	if (!err) {
		/* the fake's IPIs are signals: vcore threads must take them */
		static const int ipis[] = { FAKE_SIG_NOTIFY, FAKE_SIG_PREEMPT };

		vcore_unblock_signals(ipis, 2);
	}
	return err;
}

unsigned int fake_online(void)
{
	unsigned int n;

	pthread_mutex_lock(&fk.lock);
	n = fk.online;
	pthread_mutex_unlock(&fk.lock);
	return n;
}

bool fake_vcore_online(unsigned int v)
{
	return READ_ONCE(fk.vc[v].online);
}

pid_t fake_vcore_tid(unsigned int v)
{
	return READ_ONCE(fk.vc[v].tid);
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
