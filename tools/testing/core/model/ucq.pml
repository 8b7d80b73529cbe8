/*
 * SPDX-License-Identifier: GPL-2.0
 *
 * The UCQ protocol: kmod/core/ucq.c's producer and libvcore/ucq.c's consumer,
 * at the granularity of their shared accesses (sequentially consistent:
 * this checks the protocol, not the barriers).  The comments name the
 * accesses by ORDERING.md's UCQ labels.
 *
 * NPROD producers post NMSG messages each; pages hold SLOTS slots; the
 * arena has NPAGES pages.  The producer claims with a fetch-add, and the
 * one that runs off a page links a new page (the spare, else a fresh one)
 * under ucq_lock and keeps its slot 0; one that finds no page (no spare,
 * arena full) drops its message and gives the slots back (prod_idx back
 * to the page end).  NCONS consumers claim with a CAS on cons_idx (a flip
 * count, a page, a slot), wait for ready, copy, count the page consumed;
 * the one that finds cons_idx at a page end flips to the next page under
 * u_lock once prod_idx has left the page (giving up if prod_idx is back at
 * the page end), waits until every slot of the old page is consumed, and
 * recycles it as the spare (freeing an extra one).
 *
 * Checked: a slot a consumer claims is one a producer owns, every message
 * is received exactly once (or dropped for want of a page, counted), each
 * consumer sees each producer's messages in order, a message read is the
 * one written to that slot, and everything terminates (no deadlock:
 * spin's invalid end states).
 *
 * Broken variants (must fail):
 *   BROKEN_FLIP_RECHECK  the flip does not re-check cons_idx under u_lock
 *   BROKEN_FLIP_NOWAIT   the flip recycles the page without waiting for
 *                        the consumers still copying out of it
 *   BROKEN_FLIP_ON_LINK  the flip follows the page link alone, without
 *                        waiting for prod_idx to leave the page (consumers
 *                        run ahead of prod_idx onto the new page)
 *   BROKEN_FLIP_NO_GIVEUP  the flip waits for prod_idx to leave the page
 *                        even when a failed claim has given it back
 */
#ifndef NPROD
#define NPROD	2
#endif
#ifndef NMSG
#define NMSG	2
#endif
#ifndef NCONS
#define NCONS	1
#endif
#ifndef SLOTS
#define SLOTS	2
#endif
#ifndef NPAGES
#define NPAGES	4
#endif
#define NTOT	(NPROD * NMSG)

byte next_pg[NPAGES + 1];		/* header.cons_next_pg */
byte nr_cons[NPAGES + 1];
bool ready[(NPAGES + 1) * SLOTS];
byte slot_msg[(NPAGES + 1) * SLOTS];	/* producer * NMSG + seq, + 1 */
bool in_use[NPAGES + 1];		/* the arena's page map */
bool owned[(NPAGES + 1) * SLOTS];	/* a producer claimed the slot */

byte prod_pg, prod_sl;			/* prod_idx */
byte cons_fl, cons_pg, cons_sl;		/* cons_idx: flips, page, slot */
byte spare;
bool prod_overflow, ucq_lock, u_lock;

byte received[NTOT];
byte dropped, nr_received, prods_done;

inline lock(l) { atomic { !l -> l = 1 } }

inline zero_page(pg) {
	d_step {
		next_pg[pg] = 0; nr_cons[pg] = 0;
		k = 0;
		do
		:: k < SLOTS -> ready[pg * SLOTS + k] = 0;
			slot_msg[pg * SLOTS + k] = 0;
			owned[pg * SLOTS + k] = 0; k++
		:: else -> break
		od
	}
}

proctype producer(byte id)
{
	byte seq = 0, pg, sl, newpg, k;

	do
	:: seq == NMSG -> break
	:: else ->
		if
		:: !prod_overflow ->
			d_step {	/* UCQ-3: the claim */
				pg = prod_pg; sl = prod_sl; prod_sl++;
				if
				:: sl < SLOTS -> owned[pg * SLOTS + sl] = 1
				:: else -> skip
				fi
			};
			if
			:: sl < SLOTS -> goto have_slot
			:: else -> prod_overflow = 1
			fi
		:: else -> skip
		fi;
		lock(ucq_lock);
		d_step {
			pg = prod_pg; sl = prod_sl; prod_sl++;
			if
			:: sl < SLOTS -> owned[pg * SLOTS + sl] = 1
			:: else -> skip
			fi
		};
		if
		:: sl < SLOTS -> skip
		:: else ->
			d_step { newpg = spare; spare = 0 };	/* UCQ-4 */
			if
			:: newpg == 0 ->
				d_step {
					k = 1;
					do
					:: k > NPAGES -> break
					:: k <= NPAGES && in_use[k] -> k++
					:: k <= NPAGES && !in_use[k] ->
						in_use[k] = 1; newpg = k; break
					od
				}
			:: else -> skip
			fi;
			if
			:: newpg == 0 ->	/* VCORE_DROP_UCQ_NOMEM */
				/* give the slots back: the page end */
				d_step { prod_pg = pg; prod_sl = SLOTS };
				dropped++; prod_overflow = 0; ucq_lock = 0;
				seq++;
				goto next_msg
			:: else -> skip
			fi;
			zero_page(newpg);
			owned[newpg * SLOTS] = 1;		/* slot 0: ours */
			next_pg[pg] = newpg;			/* UCQ-5 */
			d_step { prod_pg = newpg; prod_sl = 1 };	/* UCQ-6 */
			pg = newpg; sl = 0
		fi;
		prod_overflow = 0;
		ucq_lock = 0;
have_slot:
		slot_msg[pg * SLOTS + sl] = id * NMSG + seq + 1;
		ready[pg * SLOTS + sl] = 1;			/* UCQ-7 */
		seq++;
next_msg:	skip
	od;
	prods_done++
}

proctype consumer(byte id)
{
	byte fl, pg, sl, nxt, old, m, k;
	byte last[NPROD];
	bool got;

	k = 0;
	do
	:: k < NPROD -> last[k] = 255; k++
	:: else -> break
	od;
get:	skip;
	d_step { fl = cons_fl; pg = cons_pg; sl = cons_sl };	/* UCQ-8 */
	do
	:: d_step { pg == prod_pg && sl == prod_sl } ->
		/* empty: done once every producer is */
		if
		:: prods_done == NPROD && pg == prod_pg && sl == prod_sl ->
			goto out
		:: else -> goto get
		fi
	:: d_step { !(pg == prod_pg && sl == prod_sl) } ->
		if
		:: sl >= SLOTS ->
			/* flip */
			lock(u_lock);
#ifndef BROKEN_FLIP_RECHECK
			if
			:: d_step { cons_fl != fl || cons_pg != pg ||
				    cons_sl != sl } ->
				u_lock = 0; goto get
			:: else -> skip
			fi;
#endif
#ifndef BROKEN_FLIP_ON_LINK
			/* UCQ-9: wait for prod_idx to leave the page */
			if
#ifndef BROKEN_FLIP_NO_GIVEUP
			:: d_step { prod_pg == pg && prod_sl == SLOTS } ->
				/* a claim found no page: given back, empty */
				u_lock = 0; goto get
#endif
			:: prod_pg != pg -> skip
			fi;
#endif
			next_pg[pg] != 0;			/* UCQ-10 */
			nxt = next_pg[pg];
			/* UCQ-11 */
			d_step { cons_fl = fl + 1; cons_pg = nxt; cons_sl = 0 };
#ifndef BROKEN_FLIP_NOWAIT
			nr_cons[pg] == SLOTS;			/* UCQ-14 */
#endif
			next_pg[pg] = 0;
			nr_cons[pg] = 0;
			d_step { old = spare; spare = pg };	/* UCQ-15 */
			if
			:: old != 0 -> in_use[old] = 0
			:: else -> skip
			fi;
			u_lock = 0;
			goto get
		:: else ->
			/* claim: try_cmpxchg, reloading on failure */
			d_step {
				if
				:: cons_fl == fl && cons_pg == pg &&
				   cons_sl == sl -> cons_sl = sl + 1; got = 1;
					/* "cons != prod": a producer owns it */
					assert(owned[pg * SLOTS + sl])
				:: else -> fl = cons_fl; pg = cons_pg;
					sl = cons_sl; got = 0
				fi
			};
			if
			:: got -> break
			:: else -> skip
			fi
		fi
	od;
	ready[pg * SLOTS + sl];					/* UCQ-12 */
	m = slot_msg[pg * SLOTS + sl];
	ready[pg * SLOTS + sl] = 0;
	d_step {
		assert(m >= 1 && m <= NTOT);
		m--;
		assert(received[m] == 0);	/* exactly once */
		received[m] = 1;
		nr_received++;
		/* in order, per producer, as this consumer sees them */
		assert(last[m / NMSG] == 255 || last[m / NMSG] < m % NMSG);
		last[m / NMSG] = m % NMSG
	};
	nr_cons[pg]++;						/* UCQ-13 */
	goto get;
out:	skip
}

init {
	byte i, k;

	atomic {
		in_use[1] = 1; in_use[2] = 1;
		prod_pg = 1; cons_pg = 1; spare = 2;
		i = 0;
		do
		:: i < NPROD -> run producer(i); i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NCONS -> run consumer(i); i++
		:: else -> break
		od
	};
	/* every process has ended */
	(_nr_pr == 1);
	assert(nr_received + dropped == NTOT);
	k = 0;
	do
	:: k < NTOT -> k++
	:: else -> break
	od
}
