/*
 * SPDX-License-Identifier: GPL-2.0
 *
 * The notification handshake between the kernel's send path and a vcore,
 * on x86-TSO: each CPU's plain stores go through a FIFO store buffer that
 * drains to memory at any time; a full barrier (vc_mb, smp_mb, a locked
 * instruction) waits for it to drain; a CPU's loads see its own buffered
 * stores first.
 *
 *   kernel, another CPU (send_event -> mcp_notify), for each message:
 *     post the message; notif_pending = 1; vc_mb();
 *     if (!notif_disabled && mapped) IPI
 *   vcore (user), starting in vcore context:
 *     handle_events: notif_pending = 0 (exchange), drain the mbox; then
 *     either pop to its uthread: notif_disabled = 0; smp_mb();
 *       if (notif_pending) back into vcore context
 *     or yield; the kernel, on the vcore's CPU: refuse if notif_pending;
 *       else take it off the online list (mapped = 0, under the lock);
 *       check notif_pending again and put it back if set.
 *   An IPI finds the vcore in its uthread with notifications enabled and
 *   drops it into vcore context (else it is ignored).
 *
 * No lost notification, checked when nothing can move any more: a vcore
 * left running its uthread with notifications on has taken every message;
 * a vcore that yielded has taken every message whose notif_pending became
 * visible while it was still online (a later one is for the vcore's next
 * start, which begins with handle_events).
 *
 * The labels are ORDERING.md's: NOTIF-2 (the post, then notif_pending),
 * NOTIF-1 (mcp_notify's barrier and look), NOTIF-4 (handle_events),
 * NOTIF-3 (the pop), NOTIF-5 (the yield's two looks), NOTIF-6 (the IPI's
 * look on the vcore's CPU).
 *
 * Broken variants (must fail): BROKEN_NOTIFY_NO_MB (mcp_notify without
 * its vc_mb, NOTIF-1), BROKEN_POP_NO_MB (enabling notifications without a
 * barrier before the check, NOTIF-3), BROKEN_YIELD_NO_RECHECK (yield
 * without the second look at notif_pending, NOTIF-5).
 */
#ifndef NMSG
#define NMSG	2
#endif

/* memory */
byte posted;			/* messages in the mbox, ever */
bool notif_pending, notif_disabled = 1, mapped = 1, ipi;
/* the kernel CPU's store buffer: (variable, value, message number) */
#define V_POSTED	1
#define V_PENDING	2
byte kb_var[2], kb_val[2], kb_msg[2];
byte kb_n;
/* the vcore CPU's store buffer holds at most its notif_disabled store */
bool vb_full, vb_val;

byte taken;			/* messages the vcore has drained */
byte must_take;			/* ghost: pending seen while online */
bool sender_done, yielded, in_uthread;

/* drain one kernel store to memory */
proctype kflush()
{
end:	do
	:: atomic {
		kb_n > 0 ->
		if
		:: kb_var[0] == V_POSTED -> posted = kb_val[0]
		:: else ->
			notif_pending = kb_val[0];
			if
			:: mapped -> must_take = kb_msg[0]
			:: else -> skip
			fi
		fi;
		kb_var[0] = kb_var[1]; kb_val[0] = kb_val[1];
		kb_msg[0] = kb_msg[1]; kb_n--
	   }
	od
}

proctype vflush()
{
end:	do
	:: atomic { vb_full -> notif_disabled = vb_val; vb_full = 0 }
	od
}

inline kstore(var, val, msg) {
	atomic {
		kb_n < 2 -> kb_var[kb_n] = var; kb_val[kb_n] = val;
		kb_msg[kb_n] = msg; kb_n++
	}
}

proctype sender()
{
	byte i = 0;

	do
	:: i == NMSG -> break
	:: else ->
		i++;
		kstore(V_POSTED, i, i);		/* the post (UCQ-7's ready) */
		kstore(V_PENDING, 1, i);	/* NOTIF-2, in program order */
#ifndef BROKEN_NOTIFY_NO_MB
		kb_n == 0;			/* NOTIF-1: vc_mb() */
#endif
		/* NOTIF-1: look at notif_disabled */
		if
		:: atomic { !notif_disabled && mapped -> ipi = 1 }
		:: atomic { !(!notif_disabled && mapped) -> skip }
		fi
	od;
	sender_done = 1
}

/* where the vcore is, for the interrupt */
#define VC_CTX		0
#define POPPING		1
#define UTHREAD		2
#define KERNEL		3
byte where = VC_CTX;
bool redirect;

/* the IPI: handled at once, by the vcore's CPU */
proctype irq()
{
end:	do
	:: atomic {
		ipi -> ipi = 0;
		/* NOTIF-6: notifications enabled, as this CPU sees them? */
		if
		:: (where == POPPING || where == UTHREAD) &&
		   ((vb_full && !vb_val) || (!vb_full && !notif_disabled)) ->
			redirect = 1
		:: else -> skip
		fi
	   }
	od
}

proctype vcore()
{
vcore_ctx:
	/* __notify or a fresh start: notifications disabled */
	atomic { !vb_full -> notif_disabled = 1; redirect = 0; where = VC_CTX };
	/* NOTIF-4: exchange (drains the buffer), then drain */
	notif_pending = 0;
	taken = posted;
	if
	:: goto pop
	:: goto yield
	fi;
pop:
	/* NOTIF-3: enable (U1) */
	atomic { vb_full = 1; vb_val = 0; where = POPPING };
#ifndef BROKEN_POP_NO_MB
	!vb_full;				/* NOTIF-3: U2 */
#endif
	/* NOTIF-3: look (U3) */
	if
	:: redirect -> goto vcore_ctx
	:: notif_pending -> goto vcore_ctx	/* back into vcore context */
	:: atomic { !redirect && !notif_pending -> where = UTHREAD;
		    in_uthread = 1 }
	fi;
end_uthread:
	do
	:: redirect -> in_uthread = 0; goto vcore_ctx
	od;
yield:
	/* the syscall: a locked region, so this CPU's buffer is empty */
	atomic { !vb_full -> where = KERNEL };
	if
	:: notif_pending -> goto vcore_ctx	/* NOTIF-5: refused */
	:: else -> skip
	fi;
	mapped = 0;				/* off the online list */
#ifndef BROKEN_YIELD_NO_RECHECK
	/* NOTIF-5: the second look (vc_mb: the syscall's buffer is empty) */
	if
	:: notif_pending -> mapped = 1; goto vcore_ctx
	:: else -> skip
	fi;
#endif
	yielded = 1;
end_yielded:
	skip
}

init {
	atomic {
		run kflush(); run vflush(); run irq(); run sender(); run vcore()
	};
	/* nothing can move: check the end state */
	timeout ->
	assert(sender_done);
	assert(!in_uthread || taken == NMSG);
	assert(!yielded || taken >= must_take)
}
