// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Every public libvcore header, compiled as C11 with -pedantic and as
 * C++11 (make unit).  Only declarations: nothing is linked.
 */
#include "akaros.h"
#include "arena.h"
#include "ceq.h"
#include "event.h"
#include "evbitmap.h"
#include "libvcore.h"
#include "ucq.h"
#include "uthread.h"
#include "vcore.h"
#include "vcore_alarm.h"
#include "vcore_atomic.h"
#include "vcore_ctx.h"
#include "vcore_numa.h"

/* Take the address of a few, so the declarations are really used. */
typedef void (*any_fn)(void);

extern const any_fn headers_used[];
const any_fn headers_used[] = {
	(any_fn)&vcore_arena_zalloc,
	(any_fn)&vcore_get_ucq_msg,
	(any_fn)&vcore_get_ceq_msg,
	(any_fn)&vcore_get_evbitmap_msg,
	(any_fn)&vcore_handle_event_q,
	(any_fn)&vcore_register_ev_handler,
	(any_fn)&vcore_set_alarm,
	(any_fn)&vcore_pop_user_ctx,
	(any_fn)&vcore_lib_init,
	(any_fn)&vcore_uthread_create,
	(any_fn)&vcore_uth_blockon_evqs_arr,
	(any_fn)&vcore_arena_region,
	(any_fn)&vcore_uthread_create_on_node,
};

/* The public atomics, on the kinds of fields the uapi structs have. */
extern unsigned long headers_atomics(unsigned int *w, unsigned long long *d);
unsigned long headers_atomics(unsigned int *w, unsigned long long *d)
{
	unsigned int old = 0;
	unsigned long r;

	vcore_write_once(*w, 1U);
	vcore_store_release(d, 2ULL);
	vcore_mb();
	vcore_rmb();
	vcore_wmb();
	vcore_barrier();
	vcore_cpu_relax();
	r = vcore_read_once(*w) + vcore_load_acquire(d);
	r += vcore_xchg(w, 3U) + (vcore_cas(w, &old, 4U) ? 1 : 0);
	r += vcore_fetch_add(d, 1ULL) + vcore_fetch_sub(d, 1ULL);
	r += vcore_fetch_or(w, 8U) + vcore_fetch_and(w, ~8U);
	return r;
}

/* Akaros's spellings (akaros.h) reach the vcore_ functions. */
extern unsigned int headers_akaros(void);
unsigned int headers_akaros(void)
{
	return max_vcores() + num_vcores() + (in_vcore_context() ? 1 : 0);
}
