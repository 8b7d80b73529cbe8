// SPDX-License-Identifier: GPL-2.0
/* A stand-alone MCP and user space's side of it; see hmcp.h. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hmcp.h"

static size_t procdata_bytes(unsigned int max_vcores)
{
	return PAGE_ALIGN(sizeof(struct vcore_procdata) +
			  (size_t)max_vcores *
			  sizeof(struct vcore_preempt_data));
}

static void init_procinfo(struct h_mcp *h, unsigned int nr_pcores)
{
	struct vcore_procinfo *pi = h->m.procinfo;
	unsigned int i;

	pi->pid = (u32)getpid();
	pi->max_vcores = h->m.max_vcores;
	pi->nr_pcores = nr_pcores;
	for (i = 0; i < nr_pcores; i++) {
		pi->pcoremap[i].managed = 1;
		pi->pcoremap[i].numa_node = -1;
		pi->pcoremap[i].core_id = i;
	}
}

/* VCORE_IOC_SETUP's allocation: the arena and its page map. */
static int setup_arena(struct h_mcp *h, unsigned long nr_pages)
{
	unsigned long *pagemap;
	void *kaddr;

	kaddr = vmalloc_user(nr_pages * PAGE_SIZE);
	pagemap = bitmap_zalloc(nr_pages, GFP_KERNEL);
	if (!kaddr || !pagemap) {
		vfree(kaddr);
		bitmap_free(pagemap);
		return -ENOMEM;
	}
	mcp_arena_init(&h->m.arena, kaddr, nr_pages * PAGE_SIZE, pagemap);
	return 0;
}

static void map_all(struct h_mcp *h, const struct h_opts *o)
{
	struct mcp *m = &h->m;
	u64 gap = o->apart ? H_UAPART : 0;

	if (o->identity) {
		h->procinfo_u = (uintptr_t)m->procinfo;
		h->procdata_u = (uintptr_t)m->procdata.kaddr;
		h->arena_u = (uintptr_t)m->arena.r.kaddr;
	} else {
		h->procinfo_u = H_UBASE;
		h->procdata_u = h->procinfo_u + h->procinfo_size + gap;
		h->arena_u = h->procdata_u + m->procdata.size + gap;
	}
	h_remap(h, H_PROCDATA);
	if (m->arena.r.kaddr)
		h_remap(h, H_ARENA);
}

struct h_mcp *h_mcp_create(const struct h_opts *o)
{
	unsigned int nr_pcores = o->nr_pcores ? o->nr_pcores : o->max_vcores;
	struct mcp_vcore *vcores;
	struct h_mcp *h;
	struct mcp *m;

	if (!o->max_vcores || o->max_vcores > VCORE_MAX_VCORES ||
	    nr_pcores > VCORE_MAX_PCORES)
		return NULL;
	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return NULL;
	m = &h->m;
	vc_lock_init(&m->ucq_lock);
	h->procinfo_size = PAGE_ALIGN(sizeof(struct vcore_procinfo));
	m->procdata.size = procdata_bytes(o->max_vcores);

	vcores = kcalloc(o->max_vcores, sizeof(*vcores), GFP_KERNEL);
	if (!vcores)
		goto err_free_h;
	m->procinfo = vmalloc_user(h->procinfo_size);
	if (!m->procinfo)
		goto err_free_vcores;
	m->procdata.kaddr = vmalloc_user(m->procdata.size);
	if (!m->procdata.kaddr)
		goto err_free_procinfo;

	m->max_vcores = o->max_vcores;
	init_procinfo(h, nr_pcores);
	mcp_vcores_init(m, vcores, o->max_vcores);
	if (o->arena_pages && setup_arena(h, o->arena_pages))
		goto err_free_procdata;
	map_all(h, o);
	return h;

err_free_procdata:
	vfree(m->procdata.kaddr);
err_free_procinfo:
	vfree(m->procinfo);
err_free_vcores:
	kfree(vcores);
err_free_h:
	kfree(h);
	return NULL;
}

void h_mcp_destroy(struct h_mcp *h)
{
	struct mcp *m;

	if (!h)
		return;
	m = &h->m;
	mcp_set_dying(m);
	h_synchronize_rcu();
	bitmap_free(m->arena.pagemap);
	vfree(m->arena.r.kaddr);
	vfree(m->procdata.kaddr);
	vfree(m->procinfo);
	kfree(m->vcores);
	kfree(h);
}

void h_unmap(struct h_mcp *h, enum h_region r)
{
	if (r == H_PROCDATA)
		WRITE_ONCE(h->m.procdata.uaddr, 0);
	else if (r == H_ARENA)
		WRITE_ONCE(h->m.arena.r.uaddr, 0);
}

void h_remap(struct h_mcp *h, enum h_region r)
{
	if (r == H_PROCDATA)
		WRITE_ONCE(h->m.procdata.uaddr, h->procdata_u);
	else if (r == H_ARENA)
		WRITE_ONCE(h->m.arena.r.uaddr, h->arena_u);
}

static void *in(u64 base, void *k, u64 size, u64 u, u64 len)
{
	if (!k || u < base || len > size || u - base > size - len)
		return NULL;
	return (char *)k + (u - base);
}

void *h_u2k(struct h_mcp *h, u64 uaddr, u64 size)
{
	struct mcp *m = &h->m;
	void *k;

	k = in(h->arena_u, m->arena.r.kaddr, m->arena.r.size, uaddr, size);
	if (!k)
		k = in(h->procdata_u, m->procdata.kaddr, m->procdata.size,
		       uaddr, size);
	if (!k)
		k = in(h->procinfo_u, m->procinfo, h->procinfo_size, uaddr,
		       size);
	return k;
}

void *h_u2k_rw(struct h_mcp *h, u64 uaddr, u64 size, u64 align)
{
	struct mcp *m = &h->m;
	void *k;

	if (uaddr & (align - 1))
		return NULL;
	k = in(h->arena_u, m->arena.r.kaddr, m->arena.r.size, uaddr, size);
	if (!k)
		k = in(h->procdata_u, m->procdata.kaddr, m->procdata.size,
		       uaddr, size);
	return k;
}

static u64 out(const void *k, void *kbase, u64 size, u64 ubase)
{
	const char *c = k, *b = kbase;

	if (!b || c < b || (u64)(c - b) >= size)
		return 0;
	return ubase + (u64)(c - b);
}

u64 h_k2u(struct h_mcp *h, const void *k)
{
	struct mcp *m = &h->m;
	u64 u;

	u = out(k, m->arena.r.kaddr, m->arena.r.size, h->arena_u);
	if (!u)
		u = out(k, m->procdata.kaddr, m->procdata.size, h->procdata_u);
	if (!u)
		u = out(k, m->procinfo, h->procinfo_size, h->procinfo_u);
	if (!u) {
		fprintf(stderr, "HARNESS: %p is in no region\n", k);
		abort();
	}
	return u;
}

void *h_pages(struct h_mcp *h, unsigned int nr, u64 *uaddr)
{
	void *k;
	u64 u;

	u = mcp_arena_alloc_pages(&h->m, nr, &k);
	if (!u) {
		fprintf(stderr, "HARNESS: arena full (%u pages wanted)\n", nr);
		abort();
	}
	if (uaddr)
		*uaddr = u;
	return k;
}

void *h_obj(struct h_mcp *h, size_t size, u64 *uaddr)
{
	void *k;

	size = (size + 63) & ~(size_t)63;
	if (size > PAGE_SIZE)
		return h_pages(h, (unsigned int)(PAGE_ALIGN(size) / PAGE_SIZE),
			       uaddr);
	if (h->obj_left < size) {
		h->obj_k = h_pages(h, 1, NULL);
		h->obj_left = PAGE_SIZE;
	}
	k = h->obj_k;
	h->obj_k += size;
	h->obj_left -= size;
	memset(k, 0, size);
	if (uaddr)
		*uaddr = h_k2u(h, k);
	return k;
}

void h_ucq_init(struct h_mcp *h, struct ucq *ucq, bool spare)
{
	u64 pg, sp = 0;

	h_pages(h, 1, &pg);
	if (spare)
		h_pages(h, 1, &sp);
	ucq->ucq_ready = 0;
	ucq->prod_idx = pg;
	ucq->cons_idx = pg;
	ucq->spare_pg = sp;
	ucq->nr_extra_pgs = 0;
	ucq->prod_overflow = 0;
	ucq->u_lock = 0;
	__atomic_store_n(&ucq->ucq_ready, 1, __ATOMIC_RELEASE);
}

void h_ceq_init(struct h_mcp *h, struct ceq *ceq, u8 op, u32 nr_events,
		u32 ring_sz)
{
	u64 ev_u, ring_u;
	__s32 *ring;
	u32 i;

	h_obj(h, (size_t)nr_events * sizeof(struct ceq_event), &ev_u);
	ring = h_obj(h, (size_t)ring_sz * sizeof(*ring), &ring_u);
	for (i = 0; i < ring_sz; i++)
		ring[i] = -1;
	memset(ceq, 0, sizeof(*ceq));
	ceq->events = ev_u;
	ceq->ring = ring_u;
	ceq->nr_events = nr_events;
	ceq->ring_sz = ring_sz;
	ceq->operation = op;
}

void h_mbox_init(struct h_mcp *h, struct event_mbox *mbox, u32 type)
{
	mbox->type = 0;
	switch (type) {
	case EV_MBOX_UCQ:
		h_ucq_init(h, &mbox->ucq, true);
		break;
	case EV_MBOX_CEQ:
		h_ceq_init(h, &mbox->ceq, CEQ_OR, 64, 64);
		break;
	case EV_MBOX_BITMAP:
		memset(&mbox->evbm, 0, sizeof(mbox->evbm));
		break;
	default:
		break;
	}
	__atomic_store_n(&mbox->type, type, __ATOMIC_RELEASE);
}

void h_vcpd_mboxes_init(struct h_mcp *h)
{
	unsigned int v;

	for (v = 0; v < h->m.max_vcores; v++) {
		h_mbox_init(h, &h_vcpd(h, v)->ev_mbox_public, EV_MBOX_UCQ);
		h_mbox_init(h, &h_vcpd(h, v)->ev_mbox_private, EV_MBOX_UCQ);
	}
}

struct event_queue *h_evq(struct h_mcp *h, u32 flags, u32 vcore,
			  u32 mbox_type, u64 *uaddr)
{
	struct event_queue_big *big;
	struct event_queue *evq;

	if (!mbox_type) {
		evq = h_obj(h, sizeof(*evq), uaddr);
	} else {
		big = h_obj(h, sizeof(*big), uaddr);
		evq = &big->ev_q;
		h_mbox_init(h, &big->ev_imbox, mbox_type);
		evq->ev_mbox = h_k2u(h, &big->ev_imbox);
	}
	evq->ev_flags = flags;
	evq->ev_vcore = vcore;
	return evq;
}

struct event_mbox *h_evq_mbox(struct h_mcp *h, struct event_queue *evq)
{
	return h_u2k(h, evq->ev_mbox, sizeof(struct event_mbox));
}

static int list_code(char c)
{
	switch (c) {
	case 'O':
		return MCP_ONLINE;
	case 'B':
		return MCP_BULK_PREEMPTED;
	case 'I':
		return MCP_INACTIVE;
	default:
		return -1;
	}
}

void h_arrange(struct h_mcp *h, unsigned int state, const char *spec)
{
	u8 list_of[VCORE_MAX_VCORES];
	u16 order[VCORE_MAX_VCORES];
	u32 pcoreid[VCORE_MAX_VCORES];
	unsigned int n = 0, pc = 0;
	const char *s = spec;
	int which = -1;
	char *end;

	memset(list_of, 0xff, sizeof(list_of));
	while (*s) {
		if (*s == ' ' || *s == ',') {
			s++;
		} else if (s[1] == ':' && list_code(*s) >= 0) {
			which = list_code(*s);
			s += 2;
		} else {
			unsigned long v = strtoul(s, &end, 10);

			if (end == s || which < 0 || v >= h->m.max_vcores ||
			    list_of[v] != 0xff)
				goto bad;
			list_of[v] = (u8)which;
			pcoreid[v] = which == MCP_ONLINE ? pc++ : 0;
			order[n++] = (u16)v;
			s = end;
		}
	}
	if (n != h->m.max_vcores ||
	    mcp_arrange(&h->m, state, list_of, order, pcoreid))
		goto bad;
	return;
bad:
	fprintf(stderr, "HARNESS: bad arrangement \"%s\"\n", spec);
	abort();
}

static struct list_head *list_at(struct mcp *m, int which)
{
	return which == MCP_ONLINE ? &m->online :
	       which == MCP_BULK_PREEMPTED ? &m->bulk_preempted :
	       &m->inactive;
}

int h_list_of(struct h_mcp *h, unsigned int vcoreid)
{
	struct mcp_vcore *vc;
	int which;

	for (which = MCP_ONLINE; which <= MCP_INACTIVE; which++)
		list_for_each_entry(vc, list_at(&h->m, which), list)
			if (vc->id == vcoreid)
				return which;
	return -1;
}

const char *h_list_str(struct h_mcp *h, int which, char *buf, size_t len)
{
	struct mcp_vcore *vc;
	size_t at = 0;

	buf[0] = 0;
	list_for_each_entry(vc, list_at(&h->m, which), list)
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0,
				       at ? ",%u" : "%u", vc->id);
	return buf;
}

u64 h_drops_total(struct h_mcp *h)
{
	u64 n = 0;
	int i;

	for (i = 0; i < VCORE_DROP_NR; i++)
		n += H_DROPS(h, i);
	return n;
}

#define BAD(...)	do { fprintf(stderr, "# h_check: " __VA_ARGS__); \
			     bad++; } while (0)

unsigned int h_check(struct h_mcp *h)
{
	struct mcp *m = &h->m;
	struct vcore_procinfo *pi = m->procinfo;
	unsigned int seen[VCORE_MAX_VCORES] = { 0 };
	unsigned int bad = 0, i, online = 0, total = 0;
	int which;

	for (which = MCP_ONLINE; which <= MCP_INACTIVE; which++) {
		struct list_head *head = list_at(m, which), *p, *prev = head;
		unsigned long n = 0;

		for (p = head->next; p != head; prev = p, p = p->next) {
			struct mcp_vcore *vc;

			if (++n > m->max_vcores) {
				BAD("list %d longer than max_vcores\n", which);
				break;
			}
			if (p->prev != prev)
				BAD("list %d: broken prev link\n", which);
			vc = list_entry(p, struct mcp_vcore, list);
			if (vc < m->vcores || vc >= m->vcores + m->max_vcores ||
			    vc->id != (unsigned int)(vc - m->vcores)) {
				BAD("list %d: a stranger on it\n", which);
				break;
			}
			seen[vc->id]++;
			total++;
			if (vc->mapped != (which == MCP_ONLINE))
				BAD("vcore %u: mapped %d on list %d\n", vc->id,
				    vc->mapped, which);
			online += which == MCP_ONLINE;
		}
		if (head->prev != prev)
			BAD("list %d: head's prev is not the tail\n", which);
	}
	for (i = 0; i < m->max_vcores; i++)
		if (seen[i] != 1)
			BAD("vcore %u is on %u lists\n", i, seen[i]);
	if (total != m->max_vcores)
		BAD("%u vcores on lists, %u exist\n", total, m->max_vcores);
	if (online != m->num_vcores)
		BAD("num_vcores %u, %u online\n", m->num_vcores, online);
	if (m->state < VCORE_PROC_RUNNABLE_S || m->state > VCORE_PROC_DYING)
		BAD("state %u\n", m->state);
	if (pi->coremap_seq & 1)
		BAD("procinfo coremap_seq %u is odd\n", pi->coremap_seq);
	if (pi->state != m->state || pi->num_vcores != m->num_vcores)
		BAD("procinfo says state %u num_vcores %u, not %u %u\n",
		    pi->state, pi->num_vcores, m->state, m->num_vcores);
	for (i = 0; i < m->max_vcores; i++)
		if (pi->vcoremap[i].valid != m->vcores[i].mapped)
			BAD("procinfo vcoremap[%u].valid %u\n", i,
			    pi->vcoremap[i].valid);
	if (m->arena.pagemap &&
	    bitmap_weight(m->arena.pagemap, (unsigned int)m->arena.nr_pages) !=
	    m->arena.nr_used)
		BAD("arena nr_used %lu, page map says otherwise\n",
		    m->arena.nr_used);
	if (h_locks_held())
		BAD("%d locks still held\n", h_locks_held());
	if (h_rcu_depth())
		BAD("RCU read-side depth %d\n", h_rcu_depth());
	if (h_irqs_disabled())
		BAD("interrupts left disabled\n");
	return bad;
}
