// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: the core's producers (send_event on pthreads playing CPUs,
 * through lib/kernel_side.h, the kernel libvcore's unit tests use too)
 * against libvcore's real consumers, with conservation checks.
 *
 *   ucq     P producers into one UCQ ev_q, C consumers (vcore_get_ucq_msg):
 *           every message exactly once, each producer's messages in order
 *           as each consumer sees them, sent == received + drained.
 *   ceq     P producers ADD 1 into 64 CEQ entries through an 8-slot ring
 *           (overflow and recovery all the time), C consumers: per entry,
 *           the sum taken equals the number posted.
 *   bitmap  P producers set bits, C consumers take them: every type
 *           posted is taken, nothing else is.
 *   indir   P producers into a UCQ ev_q with EVENT_INDIR | EVENT_IPI; one
 *           consumer, vcore 0, runs vcore_handle_events() only when its
 *           notif_pending says so: every message arrives through the
 *           INDIR path alone, none is left behind in the ev_q.
 *   spam    P producers with EVENT_SPAM_PUBLIC while a scheduler thread
 *           keeps rearranging the vcore lists and user space flips
 *           VC_CAN_RCV_MSG; C consumers drain every public VCPD mbox:
 *           every message arrives at least once (the fallback may post
 *           twice by design), nothing is dropped.
 *
 * Each prints one line "SUMMARY scenario=... ok=1" and the program exits
 * non-zero if any check failed.  Options: -s scenarios (comma list),
 * -p producers, -c consumers, -n messages per producer, -i delay
 * injection rate (one access in N, core and libvcore), -t seconds before
 * the watchdog fires.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "barrier.h"
#include "event.h"
#include "internal.h"
#include "lib/kernel_side.h"

#define MAX_P		16
#define MAX_C		16
#define NR_VC		4
#define CEQ_TYPES	64
#define CEQ_RING	8

static unsigned int nr_p = 2, nr_c = 2, inject_rate;
static unsigned long per_p = 20000;
static struct vcore_dev dev;

/* ---- delay injection at libvcore's points ---- */
void vcore_inject_delay(unsigned int point)
{
	static __thread unsigned int x;
	unsigned int rate = READ_ONCE(inject_rate), spins;

	(void)point;
	if (!rate)
		return;
	if (!x)
		x = (unsigned int)(uintptr_t)&x | 1;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	if (x % rate)
		return;
	if ((x >> 16) % 4 == 0) {
		sched_yield();
		return;
	}
	for (spins = 32 + (x >> 20) % 2048; spins; spins--)
		cpu_relax();
}

/* ---- bookkeeping shared by the consumers ---- */
static struct {
	unsigned long *seen;		/* bit per (producer, seq); atomic */
	unsigned long received, dup, reorder, corrupt;	/* atomic */
	unsigned long posted;		/* UCQ messages sent so far; atomic */
	__u64 ceq_sum[CEQ_TYPES];	/* atomic */
	__u64 types_taken;		/* bitmap scenario, atomic */
	int stop;			/* producers are done; atomic */
} bk;

static __u64 tag_of(unsigned int p, unsigned long seq)
{
	return (__u64)p << 40 | seq;
}

static struct event_msg make_msg(__u16 type, unsigned int p, unsigned long seq)
{
	struct event_msg m = {
		.ev_type = type,
		.ev_arg1 = (__u16)p,
		.ev_arg2 = 1,
		.ev_arg3 = ~tag_of(p, seq),
		.ev_arg4 = tag_of(p, seq),
	};

	return m;
}

/* A UCQ message: exactly once (or at least once), and in order. */
static void record(const struct event_msg *m, __u64 *last, bool dups_ok)
{
	unsigned int p = m->ev_arg1;
	unsigned long seq = m->ev_arg4 & ((1ULL << 40) - 1), bit, old;

	if (p >= nr_p || seq >= per_p || m->ev_arg3 != ~m->ev_arg4 ||
	    m->ev_arg4 != tag_of(p, seq)) {
		fetch_add(&bk.corrupt, 1);
		return;
	}
	fetch_add(&bk.received, 1);
	bit = p * per_p + seq;
	old = fetch_or(&bk.seen[bit / 64], 1UL << (bit % 64));
	if (old & (1UL << (bit % 64))) {
		if (!dups_ok)
			fetch_add(&bk.dup, 1);
		return;
	}
	if (last) {
		if (last[p] != ~0ULL && seq <= last[p])
			fetch_add(&bk.reorder, 1);
		last[p] = seq;
	}
}

static unsigned long nr_unseen(void)
{
	unsigned long n = 0, i;

	for (i = 0; i < nr_p * per_p; i++)
		n += !(bk.seen[i / 64] & (1UL << (i % 64)));
	return n;
}

/* ---- producers ---- */
struct producer {
	pthread_t t;
	unsigned int id;
	__u64 ev_q;
	const char *scenario;
};

/*
 * UCQ messages not yet taken sit in arena pages; a consumer that falls far
 * behind (a loaded host) would exhaust the arena and turn the test into a
 * count of UCQ_NOMEM drops.  Producers stay at most this many ahead, well
 * inside the arena (about 127 messages per page).
 */
#define UCQ_BACKLOG_MAX 16384

static void wait_for_backlog(void)
{
	while ((long)(READ_ONCE(bk.posted) - READ_ONCE(bk.received)) >
	       UCQ_BACKLOG_MAX)
		cpu_relax();
}

static void *producer_main(void *arg)
{
	struct producer *pr = arg;
	unsigned long seq;
	__u16 type;

	for (seq = 0; seq < per_p; seq++) {
		struct event_msg m;

		if (!strcmp(pr->scenario, "ceq"))
			type = (__u16)((seq * 7 + pr->id) % CEQ_TYPES);
		else if (!strcmp(pr->scenario, "bitmap"))
			type = (__u16)((seq * 3 + pr->id) % (VCORE_MAX_NR_EVENT -
							   1) + 1);
		else
			type = EV_USER_IPI;
		m = make_msg(type, pr->id, seq);
		if (type == EV_USER_IPI)
			wait_for_backlog();
		ks_send_event(pr->ev_q, &m, pr->id % NR_VC);
		if (type == EV_USER_IPI)
			fetch_add(&bk.posted, 1);
	}
	return NULL;
}

/* ---- consumers ---- */
struct consumer {
	pthread_t t;
	struct event_mbox *mbox[NR_VC];
	unsigned int nr_mbox;
	const char *scenario;
	__u64 last[MAX_P];
};

static void take(struct consumer *c, const struct event_msg *m)
{
	if (!strcmp(c->scenario, "ceq") || !strcmp(c->scenario, "bitmap"))
		fetch_add(&bk.received, 1);
	if (!strcmp(c->scenario, "ceq")) {
		if (m->ev_type < CEQ_TYPES)
			fetch_add(&bk.ceq_sum[m->ev_type], m->ev_arg4);
		else
			fetch_add(&bk.corrupt, 1);
	} else if (!strcmp(c->scenario, "bitmap")) {
		fetch_or(&bk.types_taken, 1ULL << m->ev_type);
	} else {
		record(m, !strcmp(c->scenario, "spam") ? NULL : c->last,
		       !strcmp(c->scenario, "spam"));
	}
}

static void *consumer_main(void *arg)
{
	struct consumer *c = arg;
	struct event_msg m;
	unsigned int i;
	bool got;

	for (;;) {
		got = false;
		for (i = 0; i < c->nr_mbox; i++)
			while (vcore_extract_one_mbox_msg(c->mbox[i], &m)) {
				take(c, &m);
				got = true;
			}
		if (!got) {
			if (smp_load_acquire(&bk.stop))
				break;
			cpu_relax();
		}
	}
	return NULL;
}

/* ---- the INDIR consumer: vcore 0 ---- */
static void indir_handler(struct event_msg *m, unsigned int type, void *data)
{
	(void)type;
	record(m, data, false);
}

static void *vcore0_main(void *arg)
{
	struct vcore_preempt_data *vcpd = vcore_dev_vcpd(&dev, 0);

	(void)arg;
	for (;;) {
		if (READ_ONCE(vcpd->notif_pending)) {
			vcore_handle_events(&dev, 0);
			continue;
		}
		if (smp_load_acquire(&bk.stop) && !READ_ONCE(vcpd->notif_pending))
			break;
		cpu_relax();
	}
	return NULL;
}

/* ---- the scheduler of the spam scenario ---- */
static void *scheduler_main(void *arg)
{
	unsigned int x = 12345, moves = 0;
	uint16_t order[NR_VC];

	(void)arg;
	while (!smp_load_acquire(&bk.stop)) {
		for (unsigned int i = 0; i < NR_VC; i++)
			order[i] = (uint16_t)i;
		for (unsigned int i = NR_VC - 1; i > 0; i--) {
			unsigned int j;
			uint16_t t;

			x = x * 1103515245 + 12345;
			j = (x >> 16) % (i + 1);
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		x = x * 1103515245 + 12345;
		ks_arrange(order, (x >> 16) % NR_VC + 1);
		/* user space: vcores start and stop looking */
		for (unsigned int v = 0; v < NR_VC; v++) {
			struct vcore_preempt_data *vcpd = vcore_dev_vcpd(&dev, v);

			x = x * 1103515245 + 12345;
			if ((x >> 16) & 1)
				fetch_or(&vcpd->flags, VC_CAN_RCV_MSG);
			else
				fetch_and(&vcpd->flags, ~VC_CAN_RCV_MSG);
		}
		moves++;
		if (moves % 4 == 0)
			sched_yield();
	}
	return (void *)(uintptr_t)moves;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *scenario)
{
	struct producer prs[MAX_P];
	struct consumer cs[MAX_C];
	struct event_queue *evq = NULL;
	unsigned long sent = nr_p * per_p, drained = 0, used0, unseen = 0;
	unsigned int nc = nr_c, i, bad = 0, check;
	pthread_t sched = 0, v0 = 0;
	void *moves = NULL;
	struct event_msg m;
	__u64 types_sent = 0;
	uint64_t sent0 = ks_sent(), drop0 = ks_dropped(), spam0 = ks_spams();
	double t0;
	bool ok;

	memset(&bk, 0, sizeof(bk));
	bk.seen = calloc((sent + 63) / 64, sizeof(long));
	if (!bk.seen)
		return 1;
	/* warm the sub-page allocator so that its pages do not count */
	vcore_put_eventq(vcore_get_eventq_raw());
	vcore_put_eventq(vcore_get_eventq_slim());
	used0 = ks_arena_used();
	if (!strcmp(scenario, "ucq") || !strcmp(scenario, "indir")) {
		evq = vcore_get_eventq(EV_MBOX_UCQ);
	} else if (!strcmp(scenario, "ceq")) {
		evq = vcore_get_eventq_raw();
		if (evq && vcore_event_mbox_init_ceq(event_q_mbox(evq), CEQ_ADD,
					       CEQ_TYPES, CEQ_RING)) {
			vcore_put_eventq(evq);
			evq = NULL;
		}
	} else if (!strcmp(scenario, "bitmap")) {
		evq = vcore_get_eventq(EV_MBOX_BITMAP);
	} else if (!strcmp(scenario, "spam")) {
		evq = vcore_get_eventq_slim();
	} else {
		fprintf(stderr, "unknown scenario %s\n", scenario);
		return 1;
	}
	if (!evq || vcore_vcpd_mboxes_init(&dev)) {
		fprintf(stderr, "%s: setup failed\n", scenario);
		return 1;
	}
	if (!strcmp(scenario, "indir")) {
		uint16_t order[NR_VC] = { 0, 1, 2, 3 };

		ks_arrange(order, 1);
		evq->ev_flags = EVENT_INDIR | EVENT_IPI;
		evq->ev_vcore = 0;
		nc = 0;
		vcore_register_ev_handler(EV_USER_IPI, indir_handler, cs[0].last);
		memset(cs[0].last, 0xff, sizeof(cs[0].last));
	}
	if (!strcmp(scenario, "spam"))
		evq->ev_flags = EVENT_SPAM_PUBLIC | EVENT_IPI | EVENT_VCORE_APPRO;

	for (i = 0; i < nc; i++) {
		memset(&cs[i], 0, sizeof(cs[i]));
		memset(cs[i].last, 0xff, sizeof(cs[i].last));
		cs[i].scenario = scenario;
		if (!strcmp(scenario, "spam")) {
			for (unsigned int v = 0; v < NR_VC; v++)
				cs[i].mbox[v] =
					&vcore_dev_vcpd(&dev, v)->ev_mbox_public;
			cs[i].nr_mbox = NR_VC;
		} else {
			cs[i].mbox[0] = event_q_mbox(evq);
			cs[i].nr_mbox = 1;
		}
	}
	t0 = now();
	READ_ONCE(inject_rate);
	for (i = 0; i < nc; i++)
		pthread_create(&cs[i].t, NULL, consumer_main, &cs[i]);
	if (!strcmp(scenario, "indir"))
		pthread_create(&v0, NULL, vcore0_main, NULL);
	if (!strcmp(scenario, "spam"))
		pthread_create(&sched, NULL, scheduler_main, NULL);
	for (i = 0; i < nr_p; i++) {
		prs[i].id = i;
		prs[i].ev_q = (uintptr_t)evq;
		prs[i].scenario = scenario;
		pthread_create(&prs[i].t, NULL, producer_main, &prs[i]);
	}
	for (i = 0; i < nr_p; i++)
		pthread_join(prs[i].t, NULL);
	smp_store_release(&bk.stop, 1);
	for (i = 0; i < nc; i++)
		pthread_join(cs[i].t, NULL);
	if (v0)
		pthread_join(v0, NULL);
	if (sched)
		pthread_join(sched, &moves);

	/* what the consumers left */
	if (!strcmp(scenario, "spam")) {
		for (unsigned int v = 0; v < NR_VC; v++)
			while (vcore_extract_one_mbox_msg(
				&vcore_dev_vcpd(&dev, v)->ev_mbox_public, &m)) {
				record(&m, NULL, true);
				drained++;
			}
	} else if (strcmp(scenario, "indir")) {
		struct consumer last = { .scenario = scenario };

		memset(last.last, 0xff, sizeof(last.last));
		while (vcore_extract_one_mbox_msg(event_q_mbox(evq), &m)) {
			take(&last, &m);
			drained++;
		}
	} else {
		/* nothing may be left: every message came with an alert */
		while (vcore_extract_one_mbox_msg(event_q_mbox(evq), &m)) {
			drained++;
			bad++;
		}
		for (unsigned int v = 0; v < NR_VC; v++)
			if (!vcore_mbox_is_empty(&vcore_dev_vcpd(&dev, v)->ev_mbox_public))
				bad++;
	}

	/* the checks */
	if (!strcmp(scenario, "ceq")) {
		__u64 want[CEQ_TYPES] = { 0 };

		for (i = 0; i < nr_p; i++)
			for (unsigned long s = 0; s < per_p; s++)
				want[(s * 7 + i) % CEQ_TYPES]++;
		for (i = 0; i < CEQ_TYPES; i++)
			bad += bk.ceq_sum[i] != want[i];
	} else if (!strcmp(scenario, "bitmap")) {
		for (i = 0; i < nr_p; i++)
			for (unsigned long s = 0; s < per_p && s < 64; s++)
				types_sent |= 1ULL << ((s * 3 + i) %
						       (VCORE_MAX_NR_EVENT - 1) + 1);
		bad += bk.types_taken != types_sent;
	} else {
		unseen = nr_unseen();
		bad += unseen + bk.dup + bk.reorder;
		if (strcmp(scenario, "spam"))
			bad += sent != bk.received;
	}
	bad += bk.corrupt;
	bad += ks_sent() - sent0 != sent;
	bad += ks_dropped() != drop0;
	check = ks_check();
	bad += check;
	vcore_vcpd_mboxes_cleanup(&dev);
	vcore_put_eventq(evq);
	/* every page the kernel took for the UCQs came back */
	bad += ks_arena_used() != used0;
	ok = !bad;
	printf("SUMMARY scenario=%s producers=%u consumers=%u sent=%lu "
	       "received=%lu drained=%lu unseen=%lu dup=%lu reorder=%lu "
	       "corrupt=%lu drops=%llu spams=%llu moves=%lu arena=%lu/%lu "
	       "check=%u injected=%lu sites=%u secs=%.2f ok=%d\n",
	       scenario, nr_p, nc, sent, bk.received, drained, unseen, bk.dup,
	       bk.reorder, bk.corrupt,
	       (unsigned long long)(ks_dropped() - drop0),
	       (unsigned long long)(ks_spams() - spam0), (unsigned long)(uintptr_t)moves,
	       ks_arena_used(), used0, check, ks_injected(), ks_sites_hit(),
	       now() - t0, ok);
	if (!strcmp(scenario, "indir"))
		vcore_deregister_ev_handler(EV_USER_IPI, indir_handler, cs[0].last);
	free(bk.seen);
	return ok ? 0 : 1;
}

static void watchdog(int sig)
{
	static const char msg[] = "SUMMARY watchdog: the stress test hung\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(2);
}

int main(int argc, char **argv)
{
	char scenarios[256] = "ucq,ceq,bitmap,indir,spam";
	unsigned int timeout = 120;
	int opt, rc = 0;
	char *s, *save;

	while ((opt = getopt(argc, argv, "s:p:c:n:i:t:")) != -1) {
		switch (opt) {
		case 's':
			snprintf(scenarios, sizeof(scenarios), "%s", optarg);
			break;
		case 'p':
			nr_p = (unsigned int)atoi(optarg);
			break;
		case 'c':
			nr_c = (unsigned int)atoi(optarg);
			break;
		case 'n':
			per_p = strtoul(optarg, NULL, 0);
			break;
		case 'i':
			inject_rate = (unsigned int)atoi(optarg);
			break;
		case 't':
			timeout = (unsigned int)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-s list] [-p n] [-c n] "
				"[-n msgs] [-i rate] [-t secs]\n", argv[0]);
			return 2;
		}
	}
	if (!nr_p || nr_p > MAX_P || nr_c > MAX_C || !nr_c || !per_p ||
	    per_p >= 1UL << 40)
		return 2;
	signal(SIGALRM, watchdog);
	alarm(timeout);
	/*
	 * One MCP for the whole run: libvcore's sub-page allocator keeps
	 * its pages for the life of the process, like the arena.
	 */
	if (ks_init(NR_VC, 1024))
		return 1;
	dev.fd = -1;
	dev.procdata = ks_procdata();
	dev.api.vcpd_offset = sizeof(struct vcore_procdata);
	dev.api.vcpd_size = sizeof(struct vcore_preempt_data);
	dev.api.max_vcores = NR_VC;
	dev.api.max_nr_event = VCORE_MAX_NR_EVENT;
	ks_inject(inject_rate);
	for (s = strtok_r(scenarios, ",", &save); s;
	     s = strtok_r(NULL, ",", &save))
		rc |= run(s);
	return rc;
}
