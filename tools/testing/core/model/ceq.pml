/*
 * SPDX-License-Identifier: GPL-2.0
 *
 * The CEQ ring: kmod/core/ceq.c's ceq_post() claiming and filling slots,
 * and libvcore/ceq.c's consumers claiming, taking and handing them back,
 * at the granularity of their shared accesses (sequentially consistent:
 * this checks the protocol, not the barriers).  The comments name the
 * accesses by ORDERING.md's CEQ labels.  The coalescing entries and the
 * overflow recovery are left out: an id the ring has no room for is
 * counted as gone to recovery.
 *
 * NPROD producers post NMSG ids each (all distinct) into a ring of RING
 * slots.  A producer loads prod_idx, then cons_pub_idx, finds the ring
 * full (the id goes to recovery) or claims with a cmpxchg of prod_idx,
 * and fills the slot (CEQ-2, CEQ-3).  NCONS consumers take ids with
 * vcore_get_ceq_msg(): the fast path loads cons_pub_idx, then prod_idx,
 * and claims with a cmpxchg of cons_pvt_idx from the cons_pub_idx value,
 * then hands the slot back with no wait; when that fails, the slow path
 * loads cons_pvt_idx, then prod_idx, claims, waits for the slot to be
 * filled, resets it, waits for its turn and hands it back (CEQ-5 to
 * CEQ-7).
 *
 * Checked: a slot a consumer claims is one a producer owns (below
 * prod_idx), a producer fills only a slot that was reset, every slot is
 * handed back in order (cons_pub_idx is at the slot when its holder moves
 * it), every id is received exactly once or went to recovery, and
 * everything terminates (spin's invalid end states).
 *
 * Broken variants (must fail):
 *   BROKEN_FAST_FROM_PVT   the fast path claims from cons_pvt_idx and
 *                          still hands back without waiting for its turn
 *   BROKEN_FAST_PROD_FIRST the fast path loads prod_idx before
 *                          cons_pub_idx (claims past a stale prod_idx)
 *   BROKEN_NO_RESET        the consumer hands back without resetting the
 *                          slot to -1
 */
#ifndef NPROD
#define NPROD	2
#endif
#ifndef NMSG
#define NMSG	2
#endif
#ifndef NCONS
#define NCONS	2
#endif
#ifndef RING
#define RING	2
#endif
#define NTOT	(NPROD * NMSG)
#define EMPTY	0			/* -1 in the real ring; ids are 1.. */

byte ring[RING];
bool owned[NTOT + 1];			/* a producer claimed ring index i */
byte prod, pub, pvt;			/* prod_idx, cons_pub_idx, cons_pvt_idx */
byte received[NTOT + 1];
byte nr_received, nr_recovered;

proctype producer(byte me)
{
	byte i, p, c;
	bool won;

	i = 0;
	do
	:: i == NMSG -> break
	:: else ->
again:
		p = prod;
		c = pub;					/* CEQ-2 */
		if
		:: p - c >= RING ->
			d_step { nr_recovered++; i++ };
			goto next
		:: else -> skip
		fi;
		d_step {
			if
			:: prod == p -> prod = p + 1; owned[p] = 1; won = 1
			:: else -> won = 0
			fi
		};
		if
		:: !won -> goto again
		:: else -> skip
		fi;
		assert(ring[p % RING] == EMPTY);	/* reset before reuse */
		ring[p % RING] = me * NMSG + i + 1;		/* CEQ-3 */
		i++;
next:		skip
	od
}

/* One id taken from the slot of ring index idx; the hand-back is apart. */
inline take(idx) {
	ring[idx % RING] != EMPTY;				/* CEQ-6 */
	id = ring[idx % RING];
#ifndef BROKEN_NO_RESET
	ring[idx % RING] = EMPTY;
#endif
	d_step {
		assert(id >= 1 && id <= NTOT);
		assert(received[id] == 0);	/* exactly once */
		received[id] = 1;
		nr_received++
	}
}

inline hand_back(idx) {
	d_step { assert(pub == idx); pub = idx + 1 }		/* CEQ-7 */
}

proctype consumer(byte me)
{
	byte idx, p, id;
	bool got;

get:
	if
	:: nr_received + nr_recovered == NTOT -> goto out
	:: else -> skip
	fi;
	/* the fast path */
#ifdef BROKEN_FAST_PROD_FIRST
	p = prod;
	idx = pub;
#elif defined(BROKEN_FAST_FROM_PVT)
	idx = pvt;
	p = prod;
#else
	idx = pub;						/* CEQ-5 */
	p = prod;
#endif
	if
	:: idx == p -> goto idle
	:: else -> skip
	fi;
	d_step {
		if
		:: pvt == idx -> pvt = idx + 1; got = 1;
			assert(owned[idx])
		:: else -> got = 0
		fi
	};
	if
	:: got ->
		take(idx);
		hand_back(idx);
		goto get
	:: else -> skip
	fi;
	/* the slow path */
slow:
	idx = pvt;						/* CEQ-5 */
	p = prod;
	if
	:: idx == p -> goto idle
	:: else -> skip
	fi;
	d_step {
		if
		:: pvt == idx -> pvt = idx + 1; got = 1;
			assert(owned[idx])
		:: else -> got = 0
		fi
	};
	if
	:: !got -> goto slow
	:: else -> skip
	fi;
	take(idx);
	pub == idx;						/* the turn */
	hand_back(idx);
	goto get;
	/*
	 * Empty (pub == prod, or pvt == prod): neither moves until prod_idx
	 * does, so a new look waits for that instead of spinning.
	 */
idle:
	(prod != p || nr_received + nr_recovered == NTOT);
	goto get;
out:	skip
}

init {
	byte i;

	atomic {
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
	(_nr_pr == 1);
	assert(nr_received + nr_recovered == NTOT);
	assert(pub == prod && pvt == prod)
}
