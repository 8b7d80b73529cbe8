// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the core's send paths and producers on hostile shared
 * memory.
 *
 * Each input builds a fresh MCP (1..8 vcores, a 64-page arena, fake user
 * addresses, VCPD mboxes as UCQs, four ready-made ev_qs: UCQ, CEQ, bitmap
 * and VCPD) and then runs a little program of operations decoded from the
 * input: kernel operations (send_event, kernel events, post_vcore_event,
 * mcp_notify, arrange, wakeup, arena alloc/free) and user space's
 * mischief (writes of interesting values into any field of procdata or
 * the arena, unmapping a region, a write timed to land at the Nth shared
 * access of the next kernel operation, a simulated interrupt that sends
 * from inside the next one).
 *
 * What must hold, checked at every step:
 *   - no crash, no ASan/UBSan report; the regions are fenced by guard
 *     pages, so a stray plain write outside them faults;
 *   - every shared access the core makes (the hooked ones) is inside
 *     procdata, the arena, procinfo or the MCP's own objects, and only
 *     vcores.c writes procinfo;
 *   - no kernel operation makes more than STEP_BUDGET hooked accesses (a
 *     loop over shared state that does not end), and libFuzzer's -timeout
 *     backs that up;
 *   - h_check(): lists, maps, counters, procinfo's mirror, no lock or RCU
 *     section left, interrupts on.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lib/hmcp.h"
#include "lib/reader.h"

#define ARENA_PAGES	64
#define STEP_BUDGET	200000
#define NR_EVQ		4

enum op {
	OP_SEND, OP_WRITE, OP_EVQ_FIELD, OP_UCQ_FIELD, OP_CEQ_FIELD,
	OP_VCPD, OP_ARRANGE, OP_KEVENT, OP_POST_VCORE, OP_NOTIFY,
	OP_ARENA_ALLOC, OP_ARENA_FREE, OP_WAKEUP, OP_MIDWRITE, OP_IRQ,
	OP_UNMAP, OP_CONSUME, OP_DYING, OP_NR
};

static struct {
	const u8 *p;
	size_t left;
} in;

static struct h_mcp *H;
static u64 evq_u[NR_EVQ];
static struct event_queue *evq_k[NR_EVQ];
/* their own mboxes, as built (ev_mbox itself is fair game) */
static struct event_mbox *mbox_k[NR_EVQ];

static u64 take(unsigned int n)
{
	u64 v = 0;

	for (unsigned int i = 0; i < n; i++) {
		v |= (u64)(in.left ? *in.p : 0) << (8 * i);
		if (in.left) {
			in.p++;
			in.left--;
		}
	}
	return v;
}

/* An address user space might write: mostly near something real. */
static u64 gen_addr(void)
{
	u64 sel = take(1), off = take(2);
	struct mcp *m = &H->m;

	switch (sel % 10) {
	case 0:
		return 0;
	case 1:
		return H->arena_u + (off * 8) % m->arena.r.size;
	case 2:	/* a page of the arena, with a slot number */
		return H->arena_u + (off % ARENA_PAGES) * PAGE_SIZE +
		       take(1) % (VCORE_UCQ_SLOTS_PER_PAGE + 2);
	case 3:
		return H->procdata_u + (off * 8) % m->procdata.size;
	case 4:
		return H->procinfo_u + (off * 8) % H->procinfo_size;
	case 5:	/* around the arena's end */
		return H->arena_u + m->arena.r.size - 64 + (off % 128);
	case 6:
		return take(8);
	case 7:
		return evq_u[off % NR_EVQ] + (s64)(s8)take(1);
	case 8:	/* a procdata page: translatable as a UCQ page */
		return H->procdata_u + (off % (m->procdata.size / PAGE_SIZE)) *
		       PAGE_SIZE + take(1) % 130;
	default:
		return off;
	}
}

/* A value to write: an address or a number. */
static u64 gen_value(void)
{
	u64 k = take(1);

	if (k & 1)
		return gen_addr();
	switch ((k >> 1) % 4) {
	case 0:
		return take(1);
	case 1:
		return take(4);
	case 2:
		return ~0ULL - take(1);
	default:
		return take(8);
	}
}

static void write_k(void *k, unsigned int width, u64 v)
{
	switch (width) {
	case 1:
		__atomic_store_n((u8 *)k, (u8)v, __ATOMIC_RELAXED);
		break;
	case 2:
		__atomic_store_n((u16 *)k, (u16)v, __ATOMIC_RELAXED);
		break;
	case 4:
		__atomic_store_n((u32 *)k, (u32)v, __ATOMIC_RELAXED);
		break;
	default:
		__atomic_store_n((u64 *)k, v, __ATOMIC_RELAXED);
		break;
	}
}

/* user space writes v at user address u, if u is in a writable region */
static void user_write(u64 u, unsigned int width, u64 v)
{
	void *k;

	u &= ~(u64)(width - 1);
	k = h_u2k(H, u, width);
	if (!k || (k >= (void *)H->m.procinfo &&
		   (char *)k < (char *)H->m.procinfo + H->procinfo_size))
		return;			/* procinfo is read-only to user */
	write_k(k, width, v);
}

static struct ucq *pick_ucq(void)
{
	u64 w = take(1);
	u32 v = (u32)(w >> 2) % H->m.max_vcores;

	if (w & 1)
		return &mbox_k[0]->ucq;
	return &h_vcpd_mbox(H, v, w & 2)->ucq;
}

/* ---- the checks ----------------------------------------------------- */

static bool inside(const volatile void *a, const void *base, size_t len)
{
	const char *c = (const char *)a, *b = base;

	return c >= b && c < b + len;
}

static void validate(const struct h_site *site, const volatile void *addr,
		     unsigned int kind)
{
	struct mcp *m = &H->m;
	size_t n;

	if (!(kind & H_MEM) || !addr)
		return;
	if (inside(addr, m->procinfo, H->procinfo_size)) {
		n = strlen(site->file);
		if ((kind & H_WRITES) &&
		    (n < 8 || strcmp(site->file + n - 8, "vcores.c"))) {
			fprintf(stderr, "FUZZ: %s:%d writes procinfo\n",
				site->file, site->line);
			abort();
		}
		return;
	}
	if (inside(addr, m->procdata.kaddr, m->procdata.size) ||
	    inside(addr, m->arena.r.kaddr, m->arena.r.size) ||
	    inside(addr, H, sizeof(*H)) ||
	    inside(addr, m->vcores, m->max_vcores * sizeof(*m->vcores)))
		return;
	fprintf(stderr, "FUZZ: %s:%d (%s) touches %p, outside every region\n",
		site->file, site->line, site->what, (void *)addr);
	abort();
}

static void check(void)
{
	if (h_check(H)) {
		fprintf(stderr, "FUZZ: invariants broken\n");
		abort();
	}
}

/* ---- user space racing the kernel, and interrupts -------------------- */

struct midwrite {
	unsigned int width;
	u64 value;
	void *k;
} mw;

static void do_midwrite(void *arg, const volatile void *addr, unsigned int kind)
{
	struct midwrite *w = arg;

	(void)addr;
	(void)kind;
	write_k(w->k, w->width, w->value);
}

static struct event_msg irq_msg;
static u64 irq_evq;

static void irq_send(void *arg)
{
	(void)arg;
	mcp_send_event(&H->m, irq_evq, &irq_msg, 0);
}

/* ---- one input -------------------------------------------------------- */

static void build(void)
{
	struct h_opts o = {
		.max_vcores = 1 + (unsigned int)take(1) % 8,
		.arena_pages = ARENA_PAGES,
	};

	o.apart = take(1) & 1;
	H = h_mcp_create(&o);
	if (!H)
		abort();
	h_vcpd_mboxes_init(H);
	evq_k[0] = h_evq(H, 0, 0, EV_MBOX_UCQ, &evq_u[0]);
	evq_k[1] = h_evq(H, 0, 0, EV_MBOX_CEQ, &evq_u[1]);
	evq_k[2] = h_evq(H, 0, 0, EV_MBOX_BITMAP, &evq_u[2]);
	evq_k[3] = h_evq(H, 0, 0, 0, &evq_u[3]);
	for (int i = 0; i < 3; i++)
		mbox_k[i] = h_evq_mbox(H, evq_k[i]);
}

static struct event_msg gen_msg(void)
{
	struct event_msg msg = {
		.ev_type = (u16)(take(1) % (VCORE_MAX_NR_EVENT + 16)),
		.ev_arg1 = (u16)take(1),
		.ev_arg2 = (u32)take(2),
		.ev_arg3 = take(1),
		.ev_arg4 = 0x1234,
	};

	return msg;
}

static void arrange(void)
{
	u8 list_of[VCORE_MAX_VCORES];
	u16 order[VCORE_MAX_VCORES];
	u32 pcoreid[VCORE_MAX_VCORES];
	unsigned int state = 1 + (unsigned int)take(1) % 6, i, n;
	u64 shuffle = take(8), bits = take(4);

	n = H->m.max_vcores;
	for (i = 0; i < n; i++)
		order[i] = (u16)i;
	for (i = n - 1; i > 0; i--) {		/* a permutation ... */
		unsigned int j = (unsigned int)(shuffle % (i + 1));
		u16 t = order[i];

		shuffle /= i + 1;
		order[i] = order[j];
		order[j] = t;
	}
	if (bits & (1u << 31))			/* ... or not */
		order[bits % n] = (u16)(bits >> 8) % (n + 1);
	for (i = 0; i < n; i++) {
		list_of[i] = (u8)((bits >> (2 * i)) & 3);
		pcoreid[i] = i + (u32)(bits >> 24) % 3;
	}
	mcp_arrange(&H->m, state, list_of, order, pcoreid);
}

static void step(void)
{
	enum op op = (enum op)(take(1) % OP_NR);
	struct mcp *m = &H->m;
	struct event_msg msg, got;
	unsigned int width;
	u64 u, v;
	void *k;

	switch (op) {
	case OP_SEND:
		u = take(1) & 0x80 ? gen_addr() : evq_u[take(1) % NR_EVQ];
		msg = gen_msg();
		mcp_send_event(m, u, &msg, (u32)take(1) % 12);
		break;
	case OP_WRITE:
		width = 1u << (take(1) % 4);
		u = gen_addr();
		user_write(u, width, gen_value());
		break;
	case OP_EVQ_FIELD: {
		struct event_queue *e = evq_k[take(1) % NR_EVQ];

		switch (take(1) % 4) {
		case 0:
			e->ev_mbox = gen_addr();
			break;
		case 1:
			e->ev_flags = (u32)take(2);
			break;
		case 2:
			e->ev_alert_pending = (u32)take(1);
			break;
		default:
			e->ev_vcore = (u32)take(1) % 12;
			break;
		}
		break;
	}
	case OP_UCQ_FIELD: {
		struct ucq *q = pick_ucq();

		switch (take(1) % 6) {
		case 0:
			q->prod_idx = gen_addr();
			break;
		case 1:
			q->cons_idx = gen_addr();
			break;
		case 2:
			q->spare_pg = gen_addr();
			break;
		case 3:
			q->prod_overflow = (u32)take(1);
			break;
		case 4:
			q->ucq_ready = (u32)take(1);
			break;
		default:	/* run prod_idx to the end of its page */
			q->prod_idx = (q->prod_idx & ~(u64)VCORE_UCQ_SLOT_MASK) +
				      VCORE_UCQ_SLOTS_PER_PAGE - take(1) % 3;
			break;
		}
		break;
	}
	case OP_CEQ_FIELD: {
		struct ceq *c = &mbox_k[1]->ceq;

		switch (take(1) % 8) {
		case 0:
			c->events = gen_addr();
			break;
		case 1:
			c->ring = gen_addr();
			break;
		case 2:
			c->nr_events = (u32)gen_value();
			break;
		case 3:
			c->ring_sz = (u32)gen_value();
			break;
		case 4:
			c->operation = (u8)take(1);
			break;
		case 5:
			c->prod_idx = (u32)gen_value();
			break;
		case 6:
			c->cons_pub_idx = (u32)gen_value();
			break;
		default:
			c->max_event_ever = (s32)gen_value();
			break;
		}
		break;
	}
	case OP_VCPD: {
		struct vcore_preempt_data *vcpd =
			h_vcpd(H, (u32)take(1) % m->max_vcores);

		switch (take(1) % 4) {
		case 0:
			vcpd->flags = (u32)take(1);
			break;
		case 1:
			vcpd->notif_disabled = (u8)take(1);
			break;
		case 2:
			vcpd->notif_pending = (u8)take(1);
			break;
		default:
			vcpd->ev_mbox_public.type = (u32)take(1) % 5;
			break;
		}
		break;
	}
	case OP_ARRANGE:
		arrange();
		break;
	case OP_KEVENT:
		msg = gen_msg();
		if (msg.ev_type < VCORE_MAX_NR_EVENT && (take(1) & 1))
			mcp_procdata(m)->kernel_evts[msg.ev_type] =
				take(1) & 1 ? gen_addr() : evq_u[take(1) % NR_EVQ];
		mcp_send_kernel_event(m, &msg, (u32)take(1) % 12);
		break;
	case OP_POST_VCORE:
		msg = gen_msg();
		mcp_post_vcore_event(m, &msg, (u32)take(1) % m->max_vcores,
				     (u32)take(1) & EVENT_VCORE_PRIVATE);
		break;
	case OP_NOTIFY:
		mcp_notify(m, (u32)take(1) % m->max_vcores);
		break;
	case OP_ARENA_ALLOC:
		mcp_arena_alloc_pages(m, (unsigned int)take(1) % 8, &k);
		break;
	case OP_ARENA_FREE:
		mcp_arena_free_pages(m, gen_addr(), (unsigned int)take(1) % 4);
		break;
	case OP_WAKEUP:
		mcp_wakeup(m);
		break;
	case OP_MIDWRITE:
		mw.width = 1u << (take(1) % 4);
		u = gen_addr() & ~(u64)(mw.width - 1);
		mw.k = h_u2k(H, u, mw.width);
		mw.value = gen_value();
		v = take(1);
		if (mw.k && !inside(mw.k, m->procinfo, H->procinfo_size))
			h_watch(mw.k, mw.width, H_MEM, (unsigned int)v % 16,
				1 + (unsigned int)(v >> 4) % 4, do_midwrite, &mw);
		break;
	case OP_IRQ:
		irq_msg = gen_msg();
		irq_evq = evq_u[take(1) % NR_EVQ];
		h_irq_arm((unsigned int)take(1), irq_send, NULL);
		break;
	case OP_UNMAP: {
		enum h_region r = take(1) & 1 ? H_ARENA : H_PROCDATA;

		if (take(1) & 1)
			h_unmap(H, r);
		else
			h_remap(H, r);
		break;
	}
	case OP_CONSUME:
		for (v = take(1) % 8; v; v--)
			h_ucq_take(H, pick_ucq(), &got);
		h_ceq_take(H, &mbox_k[1]->ceq, &got);
		break;
	case OP_DYING:
		if (take(1) == 0xd1)
			mcp_set_dying(m);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	h_printk_quiet(true);
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	unsigned int steps = 0;

	in.p = data;
	in.left = size;
	build();
	h_validate_set(validate);
	while (in.left && steps++ < 256) {
		h_budget_set(STEP_BUDGET);
		step();
		h_budget_set(0);
		check();
		/* a watch or an interrupt lives for one step only */
		h_watch_clear();
		h_irq_disarm();
	}
	h_validate_set(NULL);
	h_mcp_destroy(H);
	H = NULL;
	if (h_alloc_live()) {
		h_alloc_leaks(stderr);
		abort();
	}
	return 0;
}
