/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vcore: Akaros-style event delivery and vcore notification for Linux.
 *
 * The one ABI shared by vcore.ko and user space.  Opening /dev/vcore makes
 * the calling process an MCP (a "many-core process").  The process then does
 * the VCORE_IOC_API handshake and maps the regions it reports:
 *
 *   procinfo  read-only; the kernel publishes process state and the
 *             vcore/pcore maps here.
 *   procdata  read-write; the VCPD array (one vcore_preempt_data per vcore),
 *             the kernel event table and the resource requests.
 *   arena     read-write; sized by VCORE_IOC_SETUP.  User space carves its
 *             event queues, mailboxes, UCQ pages and CEQ arrays out of it.
 *
 * Every address in this ABI is a user virtual address stored in a __u64.
 * The kernel follows an address only after checking that it lies, whole and
 * aligned, inside procdata or the arena of the same process; anything else
 * is dropped and counted (see enum vcore_drop_reason).  All shared memory is
 * owned by the module; the kernel never touches other user memory.
 *
 * Access rules for shared fields are written next to each field as
 * "writer -> reader: rule".  "atomic" means both sides use atomic
 * read-modify-write operations on the whole field.
 */
#ifndef _UAPI_LINUX_VCORE_H
#define _UAPI_LINUX_VCORE_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VCORE_DEVICE_NAME	"vcore"
#define VCORE_API_VERSION	1

/* ------------------------------------------------------------------ */
/* Limits                                                               */
/* ------------------------------------------------------------------ */

#define VCORE_MAX_VCORES	256	/* bound of procinfo.vcoremap */
#define VCORE_MAX_PCORES	256	/* bound of procinfo.pcoremap (CPU ids) */
#define VCORE_MAX_NR_EVENT	50	/* event types are 0 .. MAX_NR_EVENT - 1 */
#define VCORE_MAX_NUM_RESOURCES	4
#define VCORE_FP_STATE_SIZE	4096	/* XSAVE area; AVX-512 needs 2696 */

/* ------------------------------------------------------------------ */
/* Messages                                                             */
/* ------------------------------------------------------------------ */

/* Event types (event_msg.ev_type). 2, 4 and 6 are unused, as in Akaros. */
#define EV_NONE			0
#define EV_PREEMPT_PENDING	1	/* ev_arg1 = vcoreid */
#define EV_VCORE_PREEMPT	3	/* ev_arg2 = vcoreid */
#define EV_USER_IPI		5	/* from another process */
#define EV_ALARM		7	/* ev_arg3 = alarm id (VCORE_IOC_ALARM_SET) */
#define EV_EVENT		8	/* INDIR: ev_arg3 = the ev_q to check */
#define EV_FREE_APPLE_PIE	9	/* diagnostic */
#define EV_SYSCALL		10
#define EV_CHECK_MSGS		11	/* ev_arg2 = vcoreid whose mbox to check */
#define EV_POSIX_SIGNAL		12	/* ev_arg1 = signal number */

struct event_msg {
	__u16 ev_type;
	__u16 ev_arg1;
	__u32 ev_arg2;
	__u64 ev_arg3;		/* a user address or a value */
	__u64 ev_arg4;
};

/* ------------------------------------------------------------------ */
/* Mailboxes                                                            */
/* ------------------------------------------------------------------ */

#define EV_MBOX_UCQ		1
#define EV_MBOX_BITMAP		2
#define EV_MBOX_CEQ		3

/*
 * UCQ: an unbounded queue of 4 KiB pages in the arena.  An index is the
 * user address of a page ORed with a slot number (pages are page-aligned,
 * so the low 12 bits are free).  Slot 0 of a page the kernel links is
 * reserved for the kernel itself, so the producer that extends the queue
 * always makes progress.
 */
#define VCORE_UCQ_PAGE_SIZE	4096
#define VCORE_UCQ_SLOT_MASK	(VCORE_UCQ_PAGE_SIZE - 1)

struct ucq_page_header {
	/* kernel -> user: set once, before a slot past the end is claimed */
	__u64 cons_next_pg;
	__u32 nr_cons;		/* user only: slots consumed (atomic) */
	__u32 resv0;
	__u64 resv[2];
};

struct ucq_msg_slot {
	struct event_msg ev_msg;	/* kernel -> user, before ready */
	__u32 ready;		/* kernel sets (release), user clears */
	__u32 resv0;
};

#define VCORE_UCQ_SLOTS_PER_PAGE \
	((VCORE_UCQ_PAGE_SIZE - sizeof(struct ucq_page_header)) / \
	 sizeof(struct ucq_msg_slot))

struct ucq_page {
	struct ucq_page_header header;
	struct ucq_msg_slot msgs[127];	/* VCORE_UCQ_SLOTS_PER_PAGE */
};

struct ucq {
	__u64 prod_idx;		/* kernel (atomic) -> user: next slot to fill */
	/*
	 * user only (atomic): next slot to consume; libvcore keeps a page-flip
	 * count in bits 48-63 so a stalled consumer cannot claim a stale slot
	 */
	__u64 cons_idx;
	__u64 spare_pg;		/* user leaves a page, kernel takes it (xchg) */
	/* kernel counts pages it took from the arena, user as it frees them */
	__u64 nr_extra_pgs;
	__u32 prod_overflow;	/* kernel -> user: a new page is being linked */
	__u32 ucq_ready;	/* user -> kernel: set last, after init */
	__u64 u_lock;		/* user only: serialises consumers' page flips */
	__u64 resv;
};

/* Bitmap: one bit per event type; the payload is lost. */
#define VCORE_EVBITMAP_WORDS	((VCORE_MAX_NR_EVENT + 63) / 64)

struct evbitmap {
	__u32 check_bits;	/* kernel sets after a bit, user clears first */
	__u32 resv0;
	/* kernel sets bits (atomic or), user clears them (atomic) */
	__u64 bitmap[VCORE_EVBITMAP_WORDS];
};

/* CEQ: one coalescing entry per event type plus a ring of posted indices. */
#define CEQ_OR			1
#define CEQ_ADD			2

struct ceq_event {
	/* kernel ORs/ADDs ev_arg2 (atomic), user takes it with an exchange */
	__u64 coalesce;
	__u64 blob_data;	/* kernel -> user: last ev_arg3, racy */
	__u32 idx_posted;	/* kernel sets (atomic), user clears */
	__u32 user_data;	/* user only */
	__u64 resv;
};

struct ceq {
	/* user -> kernel: address of struct ceq_event[nr_events] */
	__u64 events;
	__u64 ring;		/* user -> kernel: address of __s32[ring_sz] */
	__u32 nr_events;	/* user -> kernel, set at init */
	__u32 ring_sz;		/* user -> kernel, a power of two */
	__s32 max_event_ever;	/* kernel (atomic max) -> user */
	__u32 last_recovered;	/* user only */
	__u32 prod_idx;		/* kernel (atomic) -> user */
	__u32 cons_pub_idx;	/* user -> kernel: consumed up to here */
	__u32 cons_pvt_idx;	/* user only (atomic): claimed up to here */
	__u8 operation;		/* user -> kernel: CEQ_OR or CEQ_ADD */
	__u8 ring_overflowed;	/* kernel sets, user clears before recovery */
	__u8 overflow_recovery;	/* user only */
	__u8 resv0;
	__u32 u_lock;		/* user only */
	__u32 ring_mask;	/* user only: ring_sz - 1, set at init */
	__u64 resv[4];
};

struct event_mbox {
	__u32 type;		/* EV_MBOX_*; user -> kernel, set at init */
	__u32 resv0;
	union {
		struct ucq ucq;
		struct evbitmap evbm;
		struct ceq ceq;
		__u8 resv[120];
	};
};

/* ------------------------------------------------------------------ */
/* Event queues                                                         */
/* ------------------------------------------------------------------ */

/* event_queue.ev_flags */
#define EVENT_IPI		0x001	/* notify the target vcore if mapped */
#define EVENT_SPAM_PUBLIC	0x002	/* spam the message to public mboxes */
#define EVENT_INDIR		0x004	/* post EV_EVENT(ev_q) to a VCPD mbox */
#define EVENT_VCORE_PRIVATE	0x008	/* use the private VCPD mbox */
#define EVENT_SPAM_INDIR	0x010	/* send the INDIR through the fallback */
#define EVENT_VCORE_MUST_RUN	0x020	/* the spam must reach a mapped vcore */
#define EVENT_NOTHROTTLE	0x040	/* ignore ev_alert_pending */
#define EVENT_ROUNDROBIN	0x080	/* next vcore each time (overrides APPRO) */
#define EVENT_VCORE_APPRO	0x100	/* use the vcore the kernel suggests */
#define EVENT_WAKEUP		0x200	/* wake the process if it is WAITING */
#define EVENT_FLAGS_ALL		0x3ff

struct event_queue {
	/* user -> kernel: mbox address, 0 = the target vcore's VCPD mbox */
	__u64 ev_mbox;
	__u32 ev_flags;		/* user -> kernel: EVENT_* */
	/* kernel sets (xchg) before an INDIR, user clears before draining */
	__u32 ev_alert_pending;
	/* user -> kernel: target vcore; ROUNDROBIN writes the cursor back */
	__u32 ev_vcore;
	__u32 resv0;
	__u64 ev_handler;	/* user only */
	__u64 ev_udata;		/* user only */
	__u64 resv[3];
};

/* An ev_q with its own mbox: ev_q.ev_mbox points at ev_imbox. */
struct event_queue_big {
	struct event_queue ev_q;
	struct event_mbox ev_imbox;
};

/* ------------------------------------------------------------------ */
/* Saved contexts and the VCPD                                          */
/* ------------------------------------------------------------------ */

/*
 * vcore_user_ctx.type: HW = every register is valid (the kernel saved it);
 * SW = only what a voluntary switch keeps: rbx rbp rsp r12-r15 rip fs_base
 * mxcsr fpucw.
 */
#define VCORE_CTX_NONE		0
#define VCORE_CTX_HW		1
#define VCORE_CTX_SW		2

struct vcore_user_ctx {
	__u32 type;		/* VCORE_CTX_* */
	__u32 flags;		/* reserved, 0 */
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip;
	__u64 rflags;
	__u64 fs_base;
	__u64 gs_base;
	__u32 mxcsr;
	__u16 fpucw;
	__u16 cs;
	__u16 ss;
	__u16 resv0[3];
	__u64 resv[9];
};

/* The standard-format XSAVE image; 64-byte aligned inside the VCPD. */
struct vcore_fp_state {
	__u8 xsave[VCORE_FP_STATE_SIZE];
};

/* vcore_preempt_data.flags (atomic, both sides) */
#define VC_K_LOCK		0x01	/* the kernel is mid-preemption */
#define VC_PREEMPTED		0x02
#define VC_CAN_RCV_MSG		0x04	/* this vcore will check its public mbox */
#define VC_UTHREAD_STEALING	0x08	/* another vcore is taking the uthread */
#define VC_SCP_NOVCCTX		0x10	/* vcore 0 cannot enter vcore context */

/* vcore_preempt_data.racy_flags (user only) */
#define VC_FPU_SAVED		0x01

/*
 * VCPD: per-vcore preemption data, one per vcore, in procdata at
 * api.vcpd_offset + vcoreid * api.vcpd_size.
 */
struct vcore_preempt_data {
	/*
	 * kernel -> user at a preemption in uthread context, unless
	 * VC_UTHREAD_STEALING
	 */
	struct vcore_fp_state preempt_fp;
	/* kernel -> user: preempted while in vcore context */
	struct vcore_user_ctx vcore_ctx;
	/* kernel -> user: the interrupted uthread (notify or preempt) */
	struct vcore_user_ctx uthread_ctx;
	__u64 vcore_entry;	/* user -> kernel: where vcore context starts */
	__u64 vcore_stack;	/* user -> kernel: transition stack top */
	__u64 vcore_tls_desc;	/* user -> kernel: fs_base in vcore context */
	__u32 flags;		/* VC_*, atomic on both sides */
	__u32 racy_flags;	/* user only: VC_FPU_SAVED */
	__u8 notif_disabled;	/* user -> kernel: "in vcore context" */
	__u8 notif_pending;	/* kernel sets after posting, user clears */
	__u8 resv0[6];
	__u64 resv[19];
	struct event_mbox ev_mbox_public;	/* kernel posts, any vcore reads */
	struct event_mbox ev_mbox_private;	/* kernel posts, this vcore reads */
	__u64 resv1[40];
};

/* ------------------------------------------------------------------ */
/* procinfo (read-only to user space)                                   */
/* ------------------------------------------------------------------ */

/* procinfo.state */
#define VCORE_PROC_RUNNABLE_S	1	/* opened, no vcore requested yet */
#define VCORE_PROC_RUNNABLE_M	2	/* wants vcores, none granted */
#define VCORE_PROC_RUNNING_M	3	/* at least one vcore online */
#define VCORE_PROC_WAITING	4	/* no vcore online, none wanted */
#define VCORE_PROC_DYING	5

struct vcore_vcoremap_entry {
	__u32 pcoreid;		/* valid when .valid */
	__u32 valid;
	__u32 nr_preempts_sent;
	__u32 nr_preempts_done;
	__u64 preempt_pending;	/* deadline in TSC ticks, 0 = none */
	/*
	 * kernel -> user, set at open and never changed: the NUMA node the
	 * vcore's VCPD (from vcore_ctx to its end) lives on, -1 when unknown;
	 * grants prefer a pcore on this node (VCORE_FEAT_NUMA)
	 */
	__s32 home_node;
	__u32 resv0;
};

struct vcore_pcoremap_entry {
	__u32 vcoreid;		/* valid when .valid */
	__u32 valid;
	__u32 managed;		/* 1 if the module grants this CPU */
	__s32 numa_node;	/* -1 when unknown */
	__u32 package_id;
	__u32 core_id;
	__u64 resv;
};

/*
 * vcoremap, pcoremap and num_vcores change only inside a coremap_seq write
 * section: the kernel makes coremap_seq odd, updates, then makes it even.
 * Readers retry while it is odd or changed (a seqcount).
 */
struct vcore_procinfo {
	__u32 pid;		/* the owning process (thread group id) */
	__u32 state;		/* VCORE_PROC_* */
	__u32 num_vcores;	/* vcores online */
	__u32 max_vcores;	/* VCPDs in procdata */
	__u32 nr_pcores;	/* valid entries in pcoremap (CPU ids) */
	__u32 coremap_seq;
	__u64 tsc_freq;		/* Hz; 0 when unknown */
	__u32 nr_nodes;		/* node ids are below this (VCORE_FEAT_NUMA) */
	__u32 resv0;
	__u64 resv[27];
	struct vcore_vcoremap_entry vcoremap[VCORE_MAX_VCORES];
	struct vcore_pcoremap_entry pcoremap[VCORE_MAX_PCORES];
};

/* ------------------------------------------------------------------ */
/* procdata (read-write)                                                */
/* ------------------------------------------------------------------ */

#define VCORE_RES_CORES		0

struct vcore_resource_req {
	__u64 amt_wanted;	/* user -> kernel */
	__u64 amt_wanted_min;	/* user -> kernel */
	__u64 flags;		/* reserved, 0 */
	__u64 resv;
};

/*
 * The fixed header of procdata.  The VCPD array follows at api.vcpd_offset
 * (4096 in this version), api.max_vcores entries of api.vcpd_size bytes.
 */
struct vcore_procdata {
	struct vcore_resource_req res_req[VCORE_MAX_NUM_RESOURCES];
	/* user -> kernel: ev_q address per kernel event type, 0 = none */
	__u64 kernel_evts[VCORE_MAX_NR_EVENT];
	__u64 resv[446];
};

/* ------------------------------------------------------------------ */
/* ioctls                                                               */
/* ------------------------------------------------------------------ */

#define VCORE_IOC_MAGIC		0xB9

/* api.features */
#define VCORE_FEAT_EVENTS	(1ULL << 0)	/* arena, send paths, mboxes */
#define VCORE_FEAT_VCORES	(1ULL << 1)	/* grant, notify, yield */
#define VCORE_FEAT_PREEMPT	(1ULL << 2)	/* preemption and recovery */
#define VCORE_FEAT_TOPOLOGY	(1ULL << 3)	/* pcoremap topology fields */
#define VCORE_FEAT_TEST		(1ULL << 4)	/* test-only commands */
/* node-local VCPDs and arena, VCORE_ARENA_NODE, VCORE_IOC_SET_NODE */
#define VCORE_FEAT_NUMA		(1ULL << 5)
/* vcore_stats.kernel_blocks counts (the kernel has preempt notifiers) */
#define VCORE_FEAT_KERNEL_BLOCKS	(1ULL << 6)

/*
 * VCORE_IOC_API: must be the first command on a new fd; exactly once.
 * In: api = VCORE_API_VERSION, flags = 0, everything else 0.
 * Out: what this module supports and where the regions are.
 * ioctls[n / 64] bit (n % 64) is set when command number n is supported.
 */
struct vcore_api {
	__u32 api;
	__u32 flags;
	__u64 features;
	__u64 ioctls[2];
	__u64 procinfo_offset;	/* mmap offsets and sizes */
	__u64 procinfo_size;
	__u64 procdata_offset;
	__u64 procdata_size;
	__u64 arena_offset;
	__u64 arena_max_size;
	__u32 vcpd_offset;	/* within procdata */
	__u32 vcpd_size;
	__u32 max_vcores;
	__u32 max_nr_event;
	__u32 nr_pcores;	/* CPUs the module manages */
	__u32 fp_state_size;	/* XSAVE bytes saved at preemption */
	__u64 resv[8];
};

/*
 * VCORE_IOC_SETUP: once, after API; sizes the event arena.  Errors: EINVAL
 * for a bad size, EBUSY the second time, ENOMEM (nothing is left behind:
 * it may be tried again).  open() and mmap() fail with ENOMEM the same way.
 */
struct vcore_setup {
	__u64 arena_size;	/* page multiple, <= api.arena_max_size */
	__u32 flags;		/* 0 */
	__u32 resv0;
	__u64 resv[4];
};

/*
 * VCORE_IOC_ARENA_ALLOC / VCORE_IOC_ARENA_FREE: whole pages of the arena.
 * The kernel owns the arena's page map because it takes UCQ pages from it
 * too.  ALLOC returns the user address of nr_pages contiguous zeroed pages;
 * FREE gives back pages that ALLOC (or a UCQ) handed out.  Both need the
 * arena mapped (ENXIO otherwise).
 *
 * The arena is split into one slice per NUMA node that has managed pcores,
 * each slice's pages on its node.  ALLOC with VCORE_ARENA_NODE takes the
 * pages from node's slice if it has such a run free, else from anywhere
 * (EINVAL for a node < 0 or >= procinfo.nr_nodes); without the flag node
 * must be 0.  A page the kernel takes to extend a UCQ comes from the slice
 * of the node the UCQ itself lives on, when it has one free.
 */
#define VCORE_ARENA_NODE	0x1	/* ALLOC only: prefer pages on node */

struct vcore_arena_alloc {
	__u64 addr;		/* out for ALLOC, in for FREE */
	__u32 nr_pages;
	__u32 flags;		/* VCORE_ARENA_* for ALLOC, 0 for FREE */
	__s32 node;		/* with VCORE_ARENA_NODE, else 0 */
	__u32 resv0;
	__u64 resv;
};

/*
 * VCORE_IOC_SEND_EVENT: Akaros's send_event to one of our own ev_qs.
 * Errors: EFAULT when ev_q is not an 8-byte aligned struct event_queue
 * wholly inside the caller's mapped procdata or arena (also counted as
 * VCORE_DROP_BAD_EVQ), EINVAL for non-zero flags or resv.  Everything that
 * goes wrong past the ev_q (its mbox, its vcore) is a counted drop only,
 * as for the kernel's own sends.
 */
struct vcore_send_event {
	__u64 ev_q;		/* address of an ev_q in the arena or procdata */
	struct event_msg msg;
	__u32 vcoreid;		/* the suggestion EVENT_VCORE_APPRO uses */
	__u32 flags;		/* 0 */
	__u64 resv[2];
};

/* VCORE_IOC_SELF_NOTIFY: post into a vcore's VCPD mbox and notify it. */
#define VCORE_SELF_NOTIFY_PRIVATE	0x1

struct vcore_self_notify {
	__u32 vcoreid;
	__u32 flags;		/* VCORE_SELF_NOTIFY_* */
	struct event_msg msg;
	__u64 resv[2];
};

/*
 * VCORE_IOC_NOTIFY: send EV_USER_IPI to another MCP, to the ev_q in its
 * kernel_evts[EV_USER_IPI].  The target is named by target_fd, an fd of the
 * target's own /dev/vcore (e.g. received over SCM_RIGHTS), or, with
 * target_fd = -1, by target_pid, which needs kill(2)'s permission on the
 * target process as it is at the time of the call (the caller's real or
 * effective uid matches the target's real or saved uid, or CAP_KILL).
 * Errors: EPERM without that permission, ESRCH for a pid with no MCP,
 * EBADF for a bad fd, EINVAL for an fd that is not /dev/vcore.
 */
struct vcore_notify {
	__s32 target_fd;
	__s32 target_pid;
	struct event_msg msg;
	__u64 resv[2];
};

/* VCORE_IOC_GET_STATS: per-process counters. */
enum vcore_drop_reason {
	VCORE_DROP_DYING,	/* the process is exiting */
	VCORE_DROP_BAD_VCOREID,	/* vcoreid >= max_vcores */
	VCORE_DROP_BAD_EVQ,	/* ev_q address outside the regions */
	VCORE_DROP_BAD_MBOX,	/* mbox address outside the regions */
	VCORE_DROP_BAD_MBOX_TYPE,	/* type not one of EV_MBOX_* */
	VCORE_DROP_BAD_EV_TYPE,	/* ev_type >= VCORE_MAX_NR_EVENT */
	VCORE_DROP_UCQ_NOT_READY,
	VCORE_DROP_UCQ_CORRUPT,	/* index or page link outside the arena */
	VCORE_DROP_UCQ_NOMEM,	/* no spare page and the arena is full */
	VCORE_DROP_CEQ_CORRUPT,	/* bad array, ring size or operation */
	VCORE_DROP_NO_VCORE,	/* no vcore in any list */
	VCORE_DROP_NR,
};

#define VCORE_STATS_MAX_DROP	32

struct vcore_stats {
	__u64 sent;		/* events accepted for delivery */
	__u64 posted[4];	/* indexed by EV_MBOX_*; [0] unused */
	__u64 notifs;		/* notification IPIs sent */
	__u64 indirs;		/* EV_EVENT messages sent */
	__u64 spams;		/* messages that went through the fallback */
	__u64 alarms_fired;	/* EV_ALARM expiries sent (VCORE_IOC_ALARM_SET) */
	/* times a per-vcore alarm stopped counting: its vcore went offline */
	__u64 alarms_held;
	__u64 tap_fires;	/* events sent by fd taps (VCORE_IOC_TAP) */
	__u64 tap_pollfree;	/* taps detached by their file's POLLFREE */
	/*
	 * times a vcore thread was switched out asleep in the kernel outside
	 * the module's own waits (a blocking syscall, a page fault on I/O, a
	 * futex wait): its vcore could take no notification meanwhile
	 */
	__u64 kernel_blocks;
	__u64 resv[3];
	__u64 dropped[VCORE_STATS_MAX_DROP];	/* by enum vcore_drop_reason */
};

/*
 * VCORE_IOC_VCORE_ATTACH: the calling thread becomes vcore vcoreid and
 * waits in the kernel, offline, until the vcore is granted a pcore.  The
 * vcore's VCPD must name its vcore_entry and a 16-byte aligned
 * vcore_stack first.  The command does not return on a grant: the thread,
 * now pinned to the pcore, continues at vcore_entry (see below).  It
 * returns only with an error: EINVAL (bad vcoreid, entry or stack),
 * EBUSY (vcoreid already has a thread, or this thread is a vcore),
 * EPERM (not the owner), ESRCH (the process is dying), EINTR (a fatal
 * signal).
 *
 * Entering vcore_entry, always with notif_disabled set by the kernel and
 * rsp = vcore_stack:
 *   rdi = vcoreid
 *   rsi = VCORE_ENTRY_START   a fresh start: granted, or restarted after a
 *                             yield, a change_vcore with enable_my_notif,
 *                             or a preemption in uthread context
 *                             (uthread_ctx then holds that uthread,
 *                             FP state in preempt_fp, VC_PREEMPTED was
 *                             cleared and VC_CAN_RCV_MSG set)
 *         VCORE_ENTRY_NOTIFY  a notification: uthread_ctx (type HW) holds
 *                             the interrupted general registers, rip,
 *                             rflags and fs_base; FP/SIMD state is still
 *                             live in the registers and must be saved
 *                             before it is touched
 *         VCORE_ENTRY_RESUME  reserved: a vcore preempted in vcore context
 *                             is not restarted here but continues where it
 *                             stopped, every register and its FP state
 *                             intact (vcore_ctx holds a copy of the general
 *                             registers, for inspection only)
 * Every other register is unspecified.
 */
#define VCORE_ENTRY_START	0
#define VCORE_ENTRY_NOTIFY	1
#define VCORE_ENTRY_RESUME	2

struct vcore_attach {
	__u32 vcoreid;
	__u32 flags;		/* 0 */
	__u64 resv[3];
};

/*
 * VCORE_IOC_YIELD: a vcore gives its pcore back and waits offline, to be
 * restarted at vcore_entry (VCORE_ENTRY_START) when granted again; the
 * last vcore out makes the process WAITING (RUNNABLE_M with BEING_NICE:
 * it still wants the vcore).  Returns only when it does not
 * yield: EAGAIN (notif_pending is set; BEING_NICE and no preemption is
 * pending; or, with no preemption pending, amt_wanted is at least the
 * number of vcores online, so the process asked for this one to run:
 * lower amt_wanted first, as Akaros's vcore_yield() does), EPERM (the
 * caller is not an online vcore), EINTR, ESRCH.
 *
 * A yield, like a preemption, keeps the process out of the kernel's
 * provisioning passes for up to a second, so that it does not get back
 * at once the pcore it gave up; a POKE (or an ATTACH, or a wakeup) ends
 * that at once.  A process that wants a vcore again after a yield raises
 * amt_wanted and POKEs.
 */
#define VCORE_YIELD_BEING_NICE	0x1	/* only if a preemption is pending */

struct vcore_yield {
	__u32 flags;
	__u32 resv0;
	__u64 resv[3];
};

/*
 * VCORE_IOC_CHANGE_VCORE: a vcore in vcore context gives its pcore to the
 * offline vcoreid and waits offline itself, VC_PREEMPTED, as Akaros's
 * change_to_vcore.  With enable_my_notif 0 it looks preempted in vcore
 * context: its registers are in vcore_ctx, it continues where it called
 * when it runs again (the command returns 0 there), and the target hears
 * EV_VCORE_PREEMPT, ev_arg2 = the caller, to recover it as any preempted
 * vcore.  With enable_my_notif 1 nothing is saved (uthread_ctx and
 * preempt_fp are left as they are): the caller must hold nothing it needs,
 * it restarts at vcore_entry (VCORE_ENTRY_START) when it runs again, and
 * the target hears EV_CHECK_MSGS, ev_arg2 = the caller.  The message goes
 * through the kernel_evts ev_q of its type, with the target as the
 * preferred vcore; with none registered, none is sent.  EINVAL (bad
 * target or one without a thread, the caller's notifications enabled, or
 * enable_my_notif above 1), EBUSY (target online), EAGAIN (not RUNNING_M,
 * or the caller is being preempted), EPERM (the caller is not an online
 * vcore).
 */
struct vcore_change {
	__u32 vcoreid;
	__u32 enable_my_notif;
	__u64 resv[3];
};

/*
 * VCORE_IOC_POKE: (any thread of the owner) grant attached, offline vcores
 * free managed pcores until res_req[VCORE_RES_CORES].amt_wanted vcores are
 * online; bulk-preempted vcores first, then the inactive list's order.
 * Returns the number of vcores online.  EPERM (not the owner).  One POKE
 * is enough: whatever it cannot grant now, the kernel grants as pcores
 * come free (a yield, a preemption, an exit, another MCP closing).  A
 * POKE while the process is WAITING (every vcore yielded), from a thread
 * that is no vcore, with amt_wanted above 0 wakes it, as an event with
 * EVENT_WAKEUP would; with amt_wanted 0 it stays WAITING.
 */

/*
 * VCORE_IOC_PREEMPT (CAP_SYS_NICE): preempt one or all vcores of a target.
 * A preempted vcore saves its context in its VCPD and waits offline; its
 * pcore is free for others, and the target gets it back on its next grant
 * (POKE, or a WAKEUP event while WAITING), or from the kernel's
 * provisioning about a second later if it still wants the vcore.  EPERM,
 * ESRCH, EBADF; EINVAL: unknown flags, non-zero resv, vcoreid out of range,
 * or VCORE_PREEMPT_WARN with warn_ns above VCORE_PREEMPT_WARN_MAX_NS.
 *
 * VCORE_PREEMPT_WARN only warns: the vcore's preempt_pending (procinfo's
 * vcoremap) becomes the TSC deadline now + warn_ns, with its low bit set,
 * and the target hears EV_PREEMPT_PENDING.  warn_ns is ignored without it.
 */
#define VCORE_PREEMPT_ALL	0x1	/* bulk preemption; vcoreid ignored */
#define VCORE_PREEMPT_WARN	0x2	/* only warn: EV_PREEMPT_PENDING */
#define VCORE_PREEMPT_WARN_MAX_NS	3600000000000ULL	/* one hour */

struct vcore_preempt {
	__s32 target_fd;	/* as in vcore_notify */
	__s32 target_pid;
	__u32 vcoreid;
	__u32 flags;		/* VCORE_PREEMPT_* */
	__u64 warn_ns;		/* deadline after the warning */
	__u64 resv[2];
};

/*
 * VCORE_IOC_SET_NODE: (any thread of the owner) where the process's next
 * grants take pcores.  node = -1, flags = 0: the default policy, a free
 * pcore on a node the process already holds pcores on, else any.  node >= 0
 * prefers that node's free pcores; with VCORE_NODE_STRICT only those are
 * granted (a request that no free pcore there can meet waits, as one does
 * when no pcore is free at all).  Among the offline vcores, a grant prefers
 * one whose home_node is the pcore's node.  Vcores already online stay
 * where they are.  EINVAL: unknown flags, non-zero resv, node < -1,
 * node >= procinfo.nr_nodes, a node with no managed pcore, or -1 with
 * VCORE_NODE_STRICT.
 */
#define VCORE_NODE_STRICT	0x1

struct vcore_node_req {
	__s32 node;
	__u32 flags;		/* VCORE_NODE_* */
	__u64 resv[3];
};

/*
 * VCORE_IOC_ALARM_SET / VCORE_IOC_ALARM_CANCEL: kernel alarms that send
 * EV_ALARM through an ev_q, as Akaros's #alarm device does.
 *
 * An alarm is named by the process's own id.  SET creates the alarm, or,
 * for an id that exists, modifies it (its pending expiry is dropped, and
 * it is armed anew with the new ev_q, deadline, period and flags).  It
 * fires at deadline_ns, an absolute CLOCK_MONOTONIC time (one in the past
 * fires at once), and then every period_ns if that is not 0.  Each expiry
 * sends through ev_q (an 8-byte aligned struct event_queue in procdata or
 * the arena, checked as VCORE_IOC_SEND_EVENT checks it) the message
 *
 *   ev_type = EV_ALARM
 *   ev_arg1 = vcoreid (the field of the request)
 *   ev_arg2 = how many periods this expiry stands for: 1, or more when
 *             the timer was late and periods were folded into one (a CEQ
 *             with CEQ_ADD sums them)
 *   ev_arg3 = id, where Akaros's #alarm puts its alarm id
 *   ev_arg4 = the time this expiry was due, CLOCK_MONOTONIC ns (for an
 *             online-time per-vcore alarm, moved on by the time its vcore
 *             spent offline)
 *
 * with vcoreid as the EVENT_VCORE_APPRO suggestion.  The expiry is sent
 * from the timer interrupt; what goes wrong past the ev_q (unmapped since
 * SET, a bad mbox) is a counted drop, as for every kernel event.  A
 * one-shot alarm that has fired stays, disarmed, until it is cancelled or
 * set again; it still counts towards the cap.
 *
 * VCORE_ALARM_VCORE makes it a per-vcore alarm (Akaros's pvcalarm) for
 * vcore vcoreid: its timer runs on the pcore that vcore is online on and
 * follows it when it moves, and it counts only the time the vcore is
 * online: when the vcore goes offline (yield, preemption, change_vcore,
 * its thread exiting) the time left is held, and counting resumes where it
 * stopped when the vcore runs again.  Its deadline is when it would fire
 * were the vcore online from SET on.  With VCORE_ALARM_WALL as well it
 * keeps counting while the vcore is offline (firing on whatever CPU it is
 * on then), and only moves with the vcore.
 *
 * CANCEL disarms and deletes alarm id.  It is synchronous: once it
 * returns, that alarm sends nothing more, even if it was firing on
 * another CPU at the time (an expiry that was already being sent is in
 * its mbox by then).  Closing /dev/vcore (or exiting) cancels every alarm.
 *
 * SET errors: EINVAL (unknown flags, non-zero resv, VCORE_ALARM_WALL
 * without VCORE_ALARM_VCORE, vcoreid >= api.max_vcores, or a period that
 * is neither 0 nor at least VCORE_ALARM_MIN_PERIOD_NS), EFAULT (ev_q not
 * an 8-byte aligned struct event_queue wholly inside the caller's mapped
 * procdata or arena; also counted as VCORE_DROP_BAD_EVQ), ENOSPC (a new id
 * past the module's alarms_max alarms per process), ENOMEM.
 * CANCEL returns 1 if the alarm was armed (an expiry was still to come),
 * 0 if it was not (a one-shot that has fired).  CANCEL errors: ENOENT (no
 * alarm has that id), EINVAL (non-zero flags or resv).
 */
#define VCORE_ALARM_VCORE	0x1	/* per-vcore: counts vcoreid's online time */
#define VCORE_ALARM_WALL	0x2	/* with VCORE_ALARM_VCORE: wall-clock time */
#define VCORE_ALARM_MIN_PERIOD_NS	10000ULL	/* 10 us */

struct vcore_alarm {
	__u64 ev_q;		/* address of an ev_q in the arena or procdata */
	__u64 deadline_ns;	/* absolute, CLOCK_MONOTONIC */
	__u64 period_ns;	/* 0 = one shot */
	__u32 id;		/* the process's name for the alarm; ev_arg3 */
	__u32 flags;		/* VCORE_ALARM_* */
	__u32 vcoreid;		/* ev_arg1 and EVENT_VCORE_APPRO's vcore */
	__u32 resv0;
	__u64 resv[3];
};

struct vcore_alarm_cancel {
	__u32 id;
	__u32 flags;		/* 0 */
	__u64 resv[3];
};

/*
 * VCORE_IOC_TAP: Akaros's sys_tap_fds, one request per call.  A tap turns
 * readiness changes of one of the caller's fds into events sent through an
 * ev_q of the caller's, from whatever context the fd's wakeup runs in.
 *
 * cmd VCORE_TAP_ADD arms a tap on fd; VCORE_TAP_MOD replaces the filter,
 * ev_q, ev_id and data of the tap on fd; VCORE_TAP_REMOVE disarms it (only
 * fd and cmd are looked at; every other field must be 0).  A tap is named
 * by its fd number: at most one tap per fd number.
 *
 * The event, as Akaros's fire_tap() sends it:
 *   ev_type = ev_id      (with a CEQ: the entry, so one entry per tap
 *                         coalesces every fire until it is consumed)
 *   ev_arg2 = the VCORE_TAP_* filter bits that fired (a CEQ_OR CEQ
 *             accumulates them)
 *   ev_arg3 = data       (a CEQ's blob_data)
 *   ev_arg1 = ev_arg4 = 0
 *
 * Edge-triggered, as in Akaros and epoll's EPOLLET: a tap fires when the
 * fd's file signals a change towards one of the filter's conditions (data
 * arrives, room appears, the peer hangs up), not while the condition
 * holds.  A file whose wakeup says nothing about what changed (signalfd,
 * for one) fires every bit of the filter: a fire means "look", and the
 * consumer reads until EAGAIN.  A tap does not fire at ADD or MOD for a
 * condition that already holds unless VCORE_TAP_INITIAL is given: then the
 * tap is armed first and fires once at once for the conditions that hold,
 * so that nothing between the caller's last read and the ADD is missed.
 *
 * The tapped file: the tap keeps a reference to the open file it was
 * added on.  Closing the tapped fd does not disarm the tap: the file stays
 * open and the tap keeps firing until VCORE_TAP_REMOVE (by the same fd
 * number, which may since have been closed or reused), the close of the
 * /dev/vcore file, or the exit of the process.  (epoll instead forgets a
 * file when its last fd goes; KVM's irqfd, like this, holds the file.)
 * A file that frees its wait queue while tapped (POLLFREE: a signalfd
 * whose polling thread's signal handlers go away) detaches the tap: it
 * stays in place, fires no more, and is counted in tap_pollfree.
 *
 * ev_q is checked at ADD and MOD as VCORE_IOC_SEND_EVENT checks it, and
 * again at each fire; a fire through an ev_q that has since become bad is
 * a counted drop.
 *
 * Errors: EBADF (fd negative, or for ADD not open), EINVAL (unknown cmd, flags or
 * filter bits, an empty filter, ev_id above 0xffff, non-zero resv, fd a
 * /dev/vcore file, or a file that waits on more than two wait queues),
 * EPERM (the file does not support poll, or never wakes a poller), EFAULT
 * (bad ev_q, also counted as VCORE_DROP_BAD_EVQ), EEXIST (ADD: the fd
 * number already has a tap), ENOENT (MOD, REMOVE: no tap on the fd
 * number), ENOSPC (ADD: the process already has the module parameter
 * max_taps taps), ENOMEM.
 */
#define VCORE_TAP_ADD		1
#define VCORE_TAP_MOD		2
#define VCORE_TAP_REMOVE	3

/* vcore_tap_req.filter, and the bits ev_arg2 carries */
#define VCORE_TAP_READABLE	0x1	/* EPOLLIN, EPOLLRDNORM */
#define VCORE_TAP_WRITABLE	0x2	/* EPOLLOUT, EPOLLWRNORM */
#define VCORE_TAP_HANGUP	0x4	/* EPOLLHUP, EPOLLRDHUP */
#define VCORE_TAP_ERROR		0x8	/* EPOLLERR */
#define VCORE_TAP_FILTER_ALL	0xf

/* vcore_tap_req.flags */
#define VCORE_TAP_INITIAL	0x1	/* ADD, MOD: fire for what holds now */

struct vcore_tap_req {
	__s32 fd;
	__u32 cmd;		/* VCORE_TAP_ADD, _MOD or _REMOVE */
	__u32 filter;		/* VCORE_TAP_* bits, at least one */
	__u32 flags;		/* VCORE_TAP_INITIAL */
	__u64 ev_q;		/* address of an ev_q in the arena or procdata */
	__u64 data;		/* ev_arg3 of every event */
	__u32 ev_id;		/* ev_type of every event, <= 0xffff */
	__u32 resv0;
	__u64 resv[2];
};

#define VCORE_IOC_NR_API		0x00
#define VCORE_IOC_NR_SETUP		0x01
#define VCORE_IOC_NR_SEND_EVENT		0x02
#define VCORE_IOC_NR_SELF_NOTIFY	0x03
#define VCORE_IOC_NR_NOTIFY		0x04
#define VCORE_IOC_NR_GET_STATS		0x05
#define VCORE_IOC_NR_ARENA_ALLOC	0x06
#define VCORE_IOC_NR_ARENA_FREE		0x07
#define VCORE_IOC_NR_VCORE_ATTACH	0x10
#define VCORE_IOC_NR_POKE		0x11
#define VCORE_IOC_NR_YIELD		0x12
#define VCORE_IOC_NR_CHANGE_VCORE	0x13
#define VCORE_IOC_NR_PREEMPT		0x14
#define VCORE_IOC_NR_SET_NODE		0x18
#define VCORE_IOC_NR_ALARM_SET		0x20
#define VCORE_IOC_NR_ALARM_CANCEL	0x21
#define VCORE_IOC_NR_TAP		0x28

#define VCORE_IOC_API		_IOWR(VCORE_IOC_MAGIC, VCORE_IOC_NR_API, \
				      struct vcore_api)
#define VCORE_IOC_SETUP		_IOW(VCORE_IOC_MAGIC, VCORE_IOC_NR_SETUP, \
				     struct vcore_setup)
#define VCORE_IOC_SEND_EVENT	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_SEND_EVENT, \
				     struct vcore_send_event)
#define VCORE_IOC_SELF_NOTIFY	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_SELF_NOTIFY, \
				     struct vcore_self_notify)
#define VCORE_IOC_NOTIFY	_IOW(VCORE_IOC_MAGIC, VCORE_IOC_NR_NOTIFY, \
				     struct vcore_notify)
#define VCORE_IOC_GET_STATS	_IOR(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_GET_STATS, \
				     struct vcore_stats)
#define VCORE_IOC_ARENA_ALLOC	_IOWR(VCORE_IOC_MAGIC, \
				      VCORE_IOC_NR_ARENA_ALLOC, \
				      struct vcore_arena_alloc)
#define VCORE_IOC_ARENA_FREE	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_ARENA_FREE, \
				     struct vcore_arena_alloc)
#define VCORE_IOC_VCORE_ATTACH	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_VCORE_ATTACH, \
				     struct vcore_attach)
#define VCORE_IOC_POKE		_IO(VCORE_IOC_MAGIC, VCORE_IOC_NR_POKE)
#define VCORE_IOC_YIELD		_IOW(VCORE_IOC_MAGIC, VCORE_IOC_NR_YIELD, \
				     struct vcore_yield)
#define VCORE_IOC_CHANGE_VCORE	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_CHANGE_VCORE, \
				     struct vcore_change)
#define VCORE_IOC_PREEMPT	_IOW(VCORE_IOC_MAGIC, VCORE_IOC_NR_PREEMPT, \
				     struct vcore_preempt)
#define VCORE_IOC_SET_NODE	_IOW(VCORE_IOC_MAGIC, VCORE_IOC_NR_SET_NODE, \
				     struct vcore_node_req)
#define VCORE_IOC_ALARM_SET	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_ALARM_SET, \
				     struct vcore_alarm)
#define VCORE_IOC_ALARM_CANCEL	_IOW(VCORE_IOC_MAGIC, \
				     VCORE_IOC_NR_ALARM_CANCEL, \
				     struct vcore_alarm_cancel)

#define VCORE_IOC_TAP		_IOW(VCORE_IOC_MAGIC, VCORE_IOC_NR_TAP, \
				     struct vcore_tap_req)

#endif /* _UAPI_LINUX_VCORE_H */
