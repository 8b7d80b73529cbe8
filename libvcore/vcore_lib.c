// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The vcore layer: transition stacks, vcore threads, the C side of
 * vcore_entry, notifications on and off, requests for vcores, yield.
 *
 * Who touches what:
 *
 *   state                      written by                read by
 *   -------------------------  ------------------------  --------------------
 *   vc_tls (per thread)        the thread itself          the thread itself
 *   vcore_blks[], blk fields   vcore_lib_init() (before   everyone
 *   but notif_fp and           the threads start)
 *   entry_reason
 *   blk->notif_fp,             the vcore itself (vcore    the vcore's entry
 *   blk->entry_reason          context, pop)              code and C
 *   VCPD notif_disabled        the vcore, the kernel      both
 *   VCPD flags                 both, atomic RMW           both
 *   procdata amt_wanted        any thread (store, CAS)    the kernel (POKE)
 *   procinfo maps              the kernel, seqcount       any thread
 *
 * The notification handshake and the pop are in vcore_entry.S.
 */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "event.h"
#include "vcore_ctx.h"
#include "vcore_ctx_internal.h"

#define VC_ASSERT_OFF(s, f, n) \
	_Static_assert(offsetof(struct s, f) == (n), #s "." #f)

VC_ASSERT_OFF(vcore_user_ctx, type, VC_CTX_TYPE);
VC_ASSERT_OFF(vcore_user_ctx, rax, VC_CTX_RAX);
VC_ASSERT_OFF(vcore_user_ctx, rbx, VC_CTX_RBX);
VC_ASSERT_OFF(vcore_user_ctx, rcx, VC_CTX_RCX);
VC_ASSERT_OFF(vcore_user_ctx, rdx, VC_CTX_RDX);
VC_ASSERT_OFF(vcore_user_ctx, rsi, VC_CTX_RSI);
VC_ASSERT_OFF(vcore_user_ctx, rdi, VC_CTX_RDI);
VC_ASSERT_OFF(vcore_user_ctx, rbp, VC_CTX_RBP);
VC_ASSERT_OFF(vcore_user_ctx, rsp, VC_CTX_RSP);
VC_ASSERT_OFF(vcore_user_ctx, r8, VC_CTX_R8);
VC_ASSERT_OFF(vcore_user_ctx, r9, VC_CTX_R9);
VC_ASSERT_OFF(vcore_user_ctx, r10, VC_CTX_R10);
VC_ASSERT_OFF(vcore_user_ctx, r11, VC_CTX_R11);
VC_ASSERT_OFF(vcore_user_ctx, r12, VC_CTX_R12);
VC_ASSERT_OFF(vcore_user_ctx, r13, VC_CTX_R13);
VC_ASSERT_OFF(vcore_user_ctx, r14, VC_CTX_R14);
VC_ASSERT_OFF(vcore_user_ctx, r15, VC_CTX_R15);
VC_ASSERT_OFF(vcore_user_ctx, rip, VC_CTX_RIP);
VC_ASSERT_OFF(vcore_user_ctx, rflags, VC_CTX_RFLAGS);
VC_ASSERT_OFF(vcore_user_ctx, mxcsr, VC_CTX_MXCSR);
VC_ASSERT_OFF(vcore_user_ctx, fpucw, VC_CTX_FPUCW);
VC_ASSERT_OFF(vcore_preempt_data, preempt_fp, VC_VCPD_PREEMPT_FP);
VC_ASSERT_OFF(vcore_preempt_data, vcore_ctx, VC_VCPD_VCORE_CTX);
VC_ASSERT_OFF(vcore_preempt_data, racy_flags, VC_VCPD_RACY_FLAGS);
VC_ASSERT_OFF(vcore_preempt_data, notif_disabled, VC_VCPD_NOTIF_DISABLED);
VC_ASSERT_OFF(vcore_preempt_data, notif_pending, VC_VCPD_NOTIF_PENDING);
VC_ASSERT_OFF(vcore_blk, vcpd, VC_BLK_VCPD);
VC_ASSERT_OFF(vcore_blk, notif_fp, VC_BLK_NOTIF_FP);
VC_ASSERT_OFF(vcore_blk, fd, VC_BLK_FD);
VC_ASSERT_OFF(vcore_blk, sn_cmd, VC_BLK_SN_CMD);
VC_ASSERT_OFF(vcore_blk, sn_arg, VC_BLK_SN_ARG);
VC_ASSERT_OFF(vcore_blk, start_fp, VC_BLK_START_FP);
VC_ASSERT_OFF(vcore_blk, entry_tsc, VC_BLK_ENTRY_TSC);
VC_ASSERT_OFF(vcore_blk, scratch_fp, VC_BLK_SCRATCH_FP);
_Static_assert(VC_F_RIP + 8 == VC_F_SIZE && VC_F_RAX + 8 == VC_F_RFLAGS &&
	       VC_F_RFLAGS + 8 == VC_F_RIP &&
	       VC_F_R15 == VC_F_HDR, "pop frame");
_Static_assert(sizeof(struct vcore_blk) <= VC_BLK_SCRATCH_FP, "vcore_blk");
_Static_assert(VC_VCPD_PREEMPT_FP % 64 == 0, "preempt_fp alignment");

/* The transition stack; its guard page is below it. */
#define VC_TSTACK_SIZE		(128UL * 1024)
/* The vcore thread's own stack, left when ATTACH sends it to vcore_entry. */
#define VC_THREAD_STACK_SIZE	(256UL * 1024)

/* XSAVE components libvcore saves: x87 .. Hi16_ZMM (bits 0-7). */
#define VC_XFEATURES		0xffULL

/* The entry code's FP save and restore (vcore_ctx_internal.h). */
unsigned char vcore_fp_mode;
unsigned char vcore_fp_avx;
__u64 vcore_fp_mask;
__u64 vcore_fp_bytes;
unsigned char vcore_entry_stamp;
const __u32 vcore_default_mxcsr = VC_DEFAULT_MXCSR;
static size_t fp_size;

static struct vcore_dev *vc_dev;
static void (*vc_entry_hook)(void);
static struct vcore_blk **vcore_blks;
static unsigned int nr_vcores;
static __u32 vc_init_done;

/* The thread is the vcore: its id and whether it runs in vcore context. */
struct vcore_tls {
	unsigned int vcoreid;
	unsigned int in_vcore_ctx;
};

static __thread struct vcore_tls vc_tls
	__attribute__((tls_model("initial-exec"))) = { .vcoreid = -1U };

/* ---- FP state --------------------------------------------------------- */

static __u64 xgetbv0(void)
{
	__u32 lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((__u64)hi << 32) | lo;
}

static int fp_detect(void)
{
	unsigned int a, b, c, d, i;
	size_t size;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return -EOPNOTSUPP;
	/* XSAVE (26) and OSXSAVE (27): the OS enabled XSAVE and set XCR0. */
	if ((c & (1U << 26)) && (c & (1U << 27))) {
		__u64 xcr0 = xgetbv0();

		/*
		 * PKRU (9) is per-thread state, like fs_base: a uthread must
		 * not carry one thread's to another.  AMX (17, 18) needs a
		 * permission request and is not saved here.
		 */
		vcore_fp_mask = xcr0 & VC_XFEATURES;
		vcore_fp_mode = VC_FP_XSAVE;
		size = 512 + 64;	/* legacy area and XSAVE header */
		for (i = 2; i < 64; i++) {
			if (!(vcore_fp_mask & (1ULL << i)))
				continue;
			__cpuid_count(0xd, i, a, b, c, d);
			if (b + a > size)
				size = b + a;
		}
		vcore_fp_avx = (xcr0 & 0x6) == 0x6;
	} else {
		vcore_fp_mask = 0x3;
		vcore_fp_mode = VC_FP_FXSAVE;
		size = 512;
		vcore_fp_avx = 0;
	}
	fp_size = (size + 63) & ~(size_t)63;
	vcore_fp_bytes = fp_size;
	/* Stolen contexts come from preempt_fp; it must hold ours. */
	if (fp_size > VCORE_FP_STATE_SIZE)
		return -EOPNOTSUPP;
	return 0;
}

size_t vcore_fp_size(void)
{
	return fp_size;
}

void *vcore_fp_alloc(void)
{
	void *fp = aligned_alloc(64, fp_size);

	if (fp)
		memset(fp, 0, fp_size);
	return fp;
}

void vcore_fp_free(void *fp)
{
	free(fp);
}

/*
 * A copy that leaves the FP registers alone: in vcore context they may be
 * what a preemption is about to save or a RESUME has just restored.
 */
static void copy_nofp(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb"
			 : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

void vcore_fp_from_preempt(unsigned int vcoreid, void *fp)
{
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(vcoreid);

	if (!vcpd)
		return;
	if (vcoreid == vc_tls.vcoreid)
		copy_nofp(fp, vcore_blks[vcoreid]->start_fp, fp_size);
	else
		copy_nofp(fp, vcpd->preempt_fp.xsave, fp_size);
}

/* ---- Who and where ---------------------------------------------------- */

int vcore_thread_tid(unsigned int vcoreid)
{
	if (vcoreid >= nr_vcores || !vcore_blks)
		return -1;
	return vcore_blks[vcoreid]->tid;
}

struct vcore_dev *vcore_lib_dev(void)
{
	return vc_dev;
}

unsigned int vcore_id(void)
{
	return vc_tls.vcoreid;
}

bool vcore_in_vcore_context(void)
{
	return vc_tls.in_vcore_ctx;
}

unsigned int vcore_max_vcores(void)
{
	return nr_vcores;
}

struct vcore_preempt_data *vcore_vcpd_of(unsigned int vcoreid)
{
	if (!vc_dev || vcoreid >= nr_vcores)
		return NULL;
	return vcore_blks[vcoreid]->vcpd;
}

/*
 * procinfo's maps: a seqcount.  The kernel makes coremap_seq odd, writes,
 * makes it even (MAP-1, kmod/core/vcores.c); a reader retries while it is
 * odd or has changed (MAP-2, pairs with MAP-1).  The acquire on the first
 * load pairs with the kernel's write barrier before the even store (the
 * fields are whole); smp_rmb() keeps the field loads before the second
 * look, and pairs with the write barrier after the odd store.
 */
static __u32 map_read_begin(const struct vcore_procinfo *pi)
{
	unsigned int spins = 0;
	__u32 seq;

	while ((seq = smp_load_acquire(&pi->coremap_seq)) & 1)
		spin_relax(&spins);
	return seq;
}

static bool map_read_retry(const struct vcore_procinfo *pi, __u32 seq)
{
	smp_rmb();
	return READ_ONCE(pi->coremap_seq) != seq;
}

unsigned int vcore_num_vcores(void)
{
	const struct vcore_procinfo *pi;
	unsigned int n;
	__u32 seq;

	if (!vc_dev)
		return 0;
	pi = vc_dev->kprocinfo;
	do {
		seq = map_read_begin(pi);
		n = READ_ONCE(pi->num_vcores);
	} while (map_read_retry(pi, seq));
	return n;
}

int vcore_pcoreid(unsigned int vcoreid)
{
	const struct vcore_procinfo *pi;
	__u32 seq, valid, pcoreid;

	if (!vc_dev || vcoreid >= nr_vcores || vcoreid >= VCORE_MAX_VCORES)
		return -1;
	pi = vc_dev->kprocinfo;
	do {
		seq = map_read_begin(pi);
		valid = READ_ONCE(pi->vcoremap[vcoreid].valid);
		pcoreid = READ_ONCE(pi->vcoremap[vcoreid].pcoreid);
	} while (map_read_retry(pi, seq));
	return valid ? (int)pcoreid : -1;
}

bool vcore_is_mapped(unsigned int vcoreid)
{
	return vcore_pcoreid(vcoreid) >= 0;
}

bool vcore_is_preempted(unsigned int vcoreid)
{
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(vcoreid);

	return vcpd && (READ_ONCE(vcpd->flags) & VC_PREEMPTED);
}

/* ---- Requests --------------------------------------------------------- */

static __u64 *amt_wanted(void)
{
	return &vc_dev->procdata->res_req[VCORE_RES_CORES].amt_wanted;
}

static int poke(void)
{
	int ret = ioctl(vc_dev->fd, VCORE_IOC_POKE);

	return ret < 0 ? -errno : ret;
}

int vcore_request_total(unsigned long nr)
{
	if (!vc_dev)
		return -EINVAL;
	if (nr > nr_vcores)
		nr = nr_vcores;
	/* The ioctl is a full barrier: the kernel reads it after. */
	WRITE_ONCE(*amt_wanted(), (__u64)nr);
	return poke();
}

int vcore_request_more(unsigned long nr)
{
	__u64 *amt, old, want;

	if (!vc_dev)
		return -EINVAL;
	amt = amt_wanted();
	old = READ_ONCE(*amt);
	do {
		want = old > vcore_num_vcores() ? old : vcore_num_vcores();
		want = want + nr > nr_vcores ? nr_vcores : want + nr;
	} while (!try_cmpxchg(amt, &old, want));
	return poke();
}

/* ---- Notifications ---------------------------------------------------- */

int vcore_self_notify(unsigned int vcoreid, const struct event_msg *msg,
		      bool priv)
{
	struct vcore_self_notify sn = {
		.vcoreid = vcoreid,
		.flags = priv ? VCORE_SELF_NOTIFY_PRIVATE : 0,
	};

	if (!vc_dev)
		return -EINVAL;
	if (msg)
		sn.msg = *msg;
	return ioctl(vc_dev->fd, VCORE_IOC_SELF_NOTIFY, &sn) ? -errno : 0;
}

void vcore_disable_notifs(unsigned int vcoreid)
{
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(vcoreid);

	/*
	 * A plain store: a notification racing with it is looked at again
	 * by this thread's own task work, after this store, before it
	 * redirects us (NOTIF-6 in ORDERING.md).
	 */
	if (vcpd)
		WRITE_ONCE(vcpd->notif_disabled, 1);
}

void vcore_enable_notifs(unsigned int vcoreid)
{
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(vcoreid);

	if (!vcpd)
		return;
	/*
	 * NOTIF-3 (as vcore_entry.S's pop does it), pairs with NOTIF-1 in
	 * kmod/core/event.c mcp_notify(): clear, full barrier, then look.
	 */
	smp_store_mb(vcpd->notif_disabled, 0);
	if (READ_ONCE(vcpd->notif_pending))
		vcore_self_notify(vcoreid, NULL, true);
}

void vcore_entry_tsc_enable(bool on)
{
	WRITE_ONCE(vcore_entry_stamp, on);
}

__u64 vcore_entry_tsc(void)
{
	unsigned int v = vc_tls.vcoreid;

	return v < nr_vcores ? READ_ONCE(vcore_blks[v]->entry_tsc) : 0;
}

unsigned int vcore_entry_reason(void)
{
	unsigned int v = vc_tls.vcoreid;

	return v < nr_vcores ? vcore_blks[v]->entry_reason : VCORE_ENTRY_START;
}

/* ---- Yield ------------------------------------------------------------ */

void vcore_yield(bool preempt_pending)
{
	unsigned int v = vc_tls.vcoreid;
	struct vcore_preempt_data *vcpd = vcore_vcpd_of(v);
	struct vcore_yield y = {
		.flags = preempt_pending ? VCORE_YIELD_BEING_NICE : 0,
	};
	__u64 *amt, old;

	if (!vcpd)
		return;
	/*
	 * We no longer promise to look at our public mbox; the kernel's
	 * fallback then prefers other vcores.  FB-4, pairs with FB-1 in
	 * kmod/core/event.c try_spam_vcore(): the RMW is a full barrier
	 * ahead of vcore_handle_events()'s look (NOTIF-4).
	 */
	fetch_and(&vcpd->flags, ~(__u32)VC_CAN_RCV_MSG);
	if (vcore_handle_events(vc_dev, v) > 0) {
		fetch_or(&vcpd->flags, (__u32)VC_CAN_RCV_MSG);
		return;
	}
	if (!preempt_pending) {
		/* One fewer; never below zero (another vcore may lower it). */
		amt = amt_wanted();
		old = READ_ONCE(*amt);
		while (old && !try_cmpxchg(amt, &old, old - 1))
			;
	}
	/*
	 * Returns only when refused: EAGAIN means notif_pending was set (the
	 * kernel looked before and after taking us off the online list,
	 * NOTIF-5), so the caller handles events.
	 */
	ioctl(vc_dev->fd, VCORE_IOC_YIELD, &y);
	fetch_or(&vcpd->flags, (__u32)VC_CAN_RCV_MSG);
}

void vcore_idle(void)
{
	unsigned int v = vc_tls.vcoreid;
	unsigned int spins = 0;

	if (vcore_handle_events(vc_dev, v) > 0)
		return;
	/*
	 * From here a notification restarts the vcore at vcore_entry; this
	 * context is dropped (the entry hook finds no user context of its
	 * own in uthread_ctx).
	 */
	vcore_enable_notifs(v);
	for (;;)
		spin_relax(&spins);
}

static int change_vcore(unsigned int vcoreid, bool restart)
{
	struct vcore_change c = { .vcoreid = vcoreid,
				  .enable_my_notif = restart };

	if (!vc_dev)
		return -EINVAL;
	if (!vcore_dev_has_ioctl(vc_dev, VCORE_IOC_NR_CHANGE_VCORE))
		return -ENOTTY;
	return ioctl(vc_dev->fd, VCORE_IOC_CHANGE_VCORE, &c) ? -errno : 0;
}

int vcore_change_to(unsigned int vcoreid)
{
	return change_vcore(vcoreid, false);
}

int vcore_change_and_restart(unsigned int vcoreid)
{
	return change_vcore(vcoreid, true);
}

/* ---- Leaving and entering vcore context ------------------------------- */

void vcore_pop_user_ctx(struct vcore_user_ctx *ctx, void *fp)
{
	struct vcore_blk *blk = vcore_blks[vc_tls.vcoreid];

	/* A notification while ctx runs saves its FP state here. */
	blk->notif_fp = fp ? fp : blk->scratch_fp;
	vc_tls.in_vcore_ctx = 0;
	__vcore_pop(ctx, fp, blk);
}

extern VCORE_HIDDEN const char __vcore_pop_enabled[], __vcore_pop_popf[],
	__vcore_pop_ret[], __vcore_pop_end[];

/*
 * The frame lies below the context's stack pointer, written by assembly,
 * where AddressSanitizer may still see a dead C frame's poison.
 */
__attribute__((no_sanitize_address))
uintptr_t vcore_resume_pc(uintptr_t rip, uintptr_t rsp)
{
	uintptr_t frame = rsp;

	if (rip < (uintptr_t)__vcore_pop_enabled ||
	    rip >= (uintptr_t)__vcore_pop_end)
		return rip;
	if (rip == (uintptr_t)__vcore_pop_popf)
		frame -= VC_F_RFLAGS;
	else if (rip == (uintptr_t)__vcore_pop_ret)
		frame -= VC_F_RIP;
	/* the frame is on the context's own stack, written by our pop */
	return *(const uintptr_t *)(frame + VC_F_RIP);
}

uintptr_t vcore_ctx_resume_pc(const struct vcore_user_ctx *ctx)
{
	if (ctx->type != VCORE_CTX_HW)
		return ctx->rip;
	return vcore_resume_pc(ctx->rip, ctx->rsp);
}

void vcore_save_ctx_and_call(struct vcore_user_ctx *save,
			     void (*fn)(void *arg), void *arg)
{
	/* Notifications are off: the vcore cannot change under us. */
	__vcore_save_and_call(save, fn, arg, vcore_blks[vc_tls.vcoreid]);
}

void vcore_init_sw_ctx(struct vcore_user_ctx *ctx, void (*fn)(void),
		       void *stack_top)
{
	__u64 *sp = (__u64 *)((uintptr_t)stack_top & ~(uintptr_t)15) - 1;

	/* As though called: rsp = 16n + 8, a zero return address. */
	*sp = 0;
	memset(ctx, 0, sizeof(*ctx));
	ctx->type = VCORE_CTX_SW;
	ctx->rsp = (uintptr_t)sp;
	ctx->rip = (uintptr_t)fn;
	ctx->mxcsr = VC_DEFAULT_MXCSR;
	ctx->fpucw = VC_DEFAULT_FPUCW;
}

/* Stack frames left behind by the last visit are dead. */
static void unpoison_tstack(struct vcore_blk *blk)
{
	char *sp = __builtin_frame_address(0);

	vcore_san_unpoison(blk->stack_lo, (size_t)(sp - blk->stack_lo));
	(void)sp;
}

void __vcore_entry_c(unsigned int vcoreid, unsigned int reason)
{
	struct vcore_blk *blk;

	if (vcoreid >= nr_vcores || vcoreid != vc_tls.vcoreid) {
		fprintf(stderr, "libvcore: vcore_entry for vcore %u on vcore %u's thread\n",
			vcoreid, vc_tls.vcoreid);
		abort();
	}
	blk = vcore_blks[vcoreid];
	vc_tls.in_vcore_ctx = 1;
	blk->entry_reason = reason;
	/* the FP state vcore context leaves behind is nobody's */
	blk->notif_fp = blk->scratch_fp;
	unpoison_tstack(blk);
	vc_entry_hook();
	for (;;) {
		vcore_yield(false);
		blk->entry_reason = VCORE_ENTRY_START;
		vc_entry_hook();
	}
}

void __vcore_resume_lost(unsigned int vcoreid)
{
	fprintf(stderr, "libvcore: vcore %u: preempted again before its RESUME "
		"took vcore_ctx; the kernel saved over it and the context is "
		"lost\n", vcoreid);
	abort();
}

void __vcore_switch_landing(void (*fn)(void *), void *arg)
{
	struct vcore_blk *blk = vcore_blks[vc_tls.vcoreid];

	vc_tls.in_vcore_ctx = 1;
	blk->notif_fp = blk->scratch_fp;
	unpoison_tstack(blk);
	fn(arg);
	fprintf(stderr, "libvcore: a vcore context function returned\n");
	abort();
}

/* ---- Setup ------------------------------------------------------------ */

static void *vcore_thread(void *arg)
{
	struct vcore_blk *blk = arg;
	struct vcore_attach a = { .vcoreid = blk->vcoreid };
	__u64 tp;

	vc_tls.vcoreid = blk->vcoreid;
	/* published by the release below; threads_start() waits for it */
	blk->tid = (int)syscall(SYS_gettid);
	/* x86-64 TLS: the thread pointer (fs_base) is stored at %fs:0. */
	__asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
	WRITE_ONCE(blk->vcpd->vcore_tls_desc, tp);
	smp_store_release(&blk->thread_state, VC_THREAD_ATTACHING);
	/* On success we continue at vcore_entry, never here. */
	ioctl(vc_dev->fd, VCORE_IOC_VCORE_ATTACH, &a);
	blk->attach_err = errno;
	smp_store_release(&blk->thread_state, VC_THREAD_FAILED);
	vc_tls.vcoreid = -1U;
	return NULL;
}

static struct vcore_blk *blk_create(struct vcore_dev *dev, unsigned int v)
{
	size_t pg = VCORE_PAGE_SIZE;
	size_t blk_len = (VC_BLK_SCRATCH_FP + 2 * fp_size + pg - 1) &
			 ~(pg - 1);
	size_t len = pg + VC_TSTACK_SIZE + blk_len;
	struct vcore_blk *blk;
	char *map;

	map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	if (mprotect(map, pg, PROT_NONE)) {
		munmap(map, len);
		return NULL;
	}
	/* the stack and the state on the node the VCPD lives on */
	if (dev->api.features & VCORE_FEAT_NUMA)
		vcore_numa_place(dev, map + pg, len - pg,
				 dev->kprocinfo->vcoremap[v].home_node);
	blk = (struct vcore_blk *)(map + pg + VC_TSTACK_SIZE);
	blk->vcpd = vcore_dev_vcpd(dev, v);
	blk->notif_fp = blk->scratch_fp;
	blk->start_fp = blk->scratch_fp + fp_size;
	blk->fd = (__u64)dev->fd;
	blk->sn_cmd = VCORE_IOC_SELF_NOTIFY;
	blk->sn.vcoreid = v;
	blk->sn.flags = VCORE_SELF_NOTIFY_PRIVATE;
	blk->sn.msg.ev_type = EV_NONE;
	blk->sn_arg = &blk->sn;
	blk->vcoreid = v;
	blk->stack_lo = map + pg;
	blk->map = map;
	blk->map_len = len;
	return blk;
}

static void blks_destroy(unsigned int n)
{
	for (unsigned int v = 0; v < n; v++)
		munmap(vcore_blks[v]->map, vcore_blks[v]->map_len);
	free(vcore_blks);
	vcore_blks = NULL;
}

/* Signals vcore threads leave unblocked besides the synchronous ones. */
static sigset_t vc_unblocked;

void vcore_unblock_signals(const int *signals, unsigned int nr)
{
	sigemptyset(&vc_unblocked);
	for (unsigned int i = 0; i < nr; i++)
		sigaddset(&vc_unblocked, signals[i]);
}

/*
 * A vcore thread blocks every asynchronous signal: a handler would run
 * on whatever the vcore runs (a uthread, or vcore context on its
 * transition stack), and could take a lock the interrupted code holds.
 * Process-directed signals go to the process's other threads.  A fault
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) is the thread's own
 * and stays deliverable.
 */
static void vcore_thread_sigmask(sigset_t *m)
{
	static const int sync_signals[] = {
		SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
	};
	unsigned int i;
	int sig;

	sigfillset(m);
	for (i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
		sigdelset(m, sync_signals[i]);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&vc_unblocked, sig) == 1)
			sigdelset(m, sig);
}

static int threads_start(void)
{
	sigset_t mask, old;
	pthread_attr_t attr;
	pthread_t tid;
	unsigned int v;
	int err;

	err = pthread_attr_init(&attr);
	if (err)
		return -err;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, VC_THREAD_STACK_SIZE);
	/* the new threads inherit the mask: no window with it open */
	vcore_thread_sigmask(&mask);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	for (v = 0; v < nr_vcores; v++) {
		err = pthread_create(&tid, &attr, vcore_thread, vcore_blks[v]);
		if (err)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err)
		return -err;
	/*
	 * Every thread is in ATTACH or has failed; the kernel checks the
	 * arguments first, so a bad request has failed by now.
	 */
	for (v = 0; v < nr_vcores; v++) {
		unsigned int spins = 0;
		int st;

		while (!(st = smp_load_acquire(&vcore_blks[v]->thread_state)))
			spin_relax(&spins);
		if (st == VC_THREAD_FAILED)
			return -vcore_blks[v]->attach_err;
	}
	return 0;
}

/*
 * A fork()ed child: none of the vcore threads came along, and the device
 * the parent set up is the parent's.  The child starts over, as a new
 * process would (the calling thread is no vcore there).
 */
static void vcore_lib_forget(void)
{
	for (unsigned int v = 0; vcore_blks && v < nr_vcores; v++)
		if (vcore_blks[v])
			munmap(vcore_blks[v]->map, vcore_blks[v]->map_len);
	free(vcore_blks);
	vcore_blks = NULL;
	nr_vcores = 0;
	vc_dev = NULL;
	vc_tls.vcoreid = -1U;
	vc_tls.in_vcore_ctx = 0;
	WRITE_ONCE(vc_init_done, 0);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, vcore_lib_forget);
}

int vcore_lib_init(struct vcore_dev *dev, void (*entry)(void))
{
	unsigned int n, v;
	int err;

	if (!entry || dev->fd < 0)
		return -EINVAL;
	pthread_once(&atfork_once, atfork_register);
	if (xchg(&vc_init_done, 1))
		return -EBUSY;
	n = dev->api.max_vcores;
	if (n > VCORE_MAX_VCORES)
		n = VCORE_MAX_VCORES;
	err = -EINVAL;
	if (!n)
		goto err_undo;
	err = -EOPNOTSUPP;
	if (!vcore_dev_has_ioctl(dev, VCORE_IOC_NR_VCORE_ATTACH) ||
	    !vcore_dev_has_ioctl(dev, VCORE_IOC_NR_POKE) ||
	    !vcore_dev_has_ioctl(dev, VCORE_IOC_NR_YIELD))
		goto err_undo;
	err = fp_detect();
	if (err)
		goto err_undo;
	err = -ENOMEM;
	vcore_blks = calloc(n, sizeof(*vcore_blks));
	if (!vcore_blks)
		goto err_undo;
	for (v = 0; v < n; v++) {
		struct vcore_preempt_data *vcpd;

		vcore_blks[v] = blk_create(dev, v);
		if (!vcore_blks[v]) {
			blks_destroy(v);
			goto err_undo;
		}
		vcpd = vcore_blks[v]->vcpd;
		vcpd->vcore_entry = (uintptr_t)__vcore_entry;
		vcpd->vcore_stack = (uintptr_t)vcore_blks[v];
		/* the kernel sets it when it grants; nobody is to notify yet */
		WRITE_ONCE(vcpd->notif_disabled, 1);
	}
	vc_dev = dev;
	vc_entry_hook = entry;
	nr_vcores = n;
	/*
	 * Threads that attached stay attached (nothing takes a vcore thread
	 * back out of the kernel but process exit), so the state stays too.
	 */
	return threads_start();

err_undo:
	WRITE_ONCE(vc_init_done, 0);
	return err;
}
