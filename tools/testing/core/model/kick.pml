/*
 * SPDX-License-Identifier: GPL-2.0
 *
 * Reaching a vcore's thread (kmod/kick.c, vcore_run.c vcore_work_fn()):
 * a request (a preemption's VT_PREEMPT, or a notification's
 * notif_pending) followed by a kick must be read by a task work that
 * runs after the request was made.  Every step here is a locked
 * instruction on x86 (fully ordered), so plain interleaving is the
 * memory model.
 *
 *   requester (any CPU)      IPI handler (the pcore)  task work (the thread)
 *   -----------------------  -----------------------  ----------------------
 *   set the request (KICK-6) IPI_BUSY = 0 (KICK-5)   WORK_QUEUED = 0 (KICK-4)
 *   test_and_set IPI_BUSY:   test_and_set             read and take the
 *     was 0: send the IPI      WORK_QUEUED (KICK-3):    request
 *     (KICK-5)                 was 0: task_work_add
 *
 * The handler and the task work run on different CPUs when the thread
 * moved after the kick read its pcore.  The run starts with an IPI in
 * flight and a task work queued, and the thread returning to user space,
 * as after an earlier request; NREQ requests then come.
 *
 * The check, when nothing can move any more: no request is left unread.
 *
 * Broken variant (must fail): BROKEN_UNLOCK_LATE, the handler unlocks
 * IPI_BUSY after its look at WORK_QUEUED: a kick that finds the IPI busy
 * after that look, whose request the task work read too early, is lost.
 */
#ifndef NREQ
#define NREQ	2
#endif

bool request, ipi_busy = 1, work_queued = 1, work_added = 1;
byte ipis = 1;			/* IPIs sent, not yet handled */
byte reqs_done;

proctype requester()
{
	request = 1;					/* KICK-6 */
	atomic {					/* KICK-5 */
		if
		:: !ipi_busy -> ipi_busy = 1; ipis++
		:: else -> skip
		fi
	};
	reqs_done++
}

proctype handler()
{
	bool queue;

end:	do
	:: atomic { ipis > 0 -> ipis-- };
#ifdef BROKEN_UNLOCK_LATE
		atomic { queue = !work_queued; work_queued = 1 };	/* KICK-3 */
		ipi_busy = 0;					/* KICK-5 */
#else
		ipi_busy = 0;					/* KICK-5 */
		atomic { queue = !work_queued; work_queued = 1 };	/* KICK-3 */
#endif
		if
		:: queue -> work_added = 1
		:: else -> skip
		fi
	od
}

proctype work()
{
end:	do
	:: atomic { work_added -> work_added = 0 };
		work_queued = 0;				/* KICK-4 */
		request = 0					/* take it */
	od
}

init {
	byte i;

	atomic {
		run handler(); run handler(); run work();
		for (i : 1 .. NREQ) { run requester() }
	};
	timeout ->
	assert(reqs_done == NREQ);
	assert(!request)
}
