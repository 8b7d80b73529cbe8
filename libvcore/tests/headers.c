// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Every public libvcore header, compiled as C11 with -pedantic and as
 * C++11 (make unit).  Only declarations: nothing is linked.
 */
#include "arena.h"
#include "ceq.h"
#include "event.h"
#include "evbitmap.h"
#include "libvcore.h"
#include "ucq.h"
#include "uthread.h"
#include "vcore.h"
#include "vcore_ctx.h"
#include "vcore_export.h"
#include "vcore_numa.h"

/* Take the address of a few, so the declarations are really used. */
typedef void (*any_fn)(void);

extern const any_fn headers_used[];
const any_fn headers_used[] = {
	(any_fn)&vcore_arena_zalloc,
	(any_fn)&get_ucq_msg,
	(any_fn)&get_ceq_msg,
	(any_fn)&get_evbitmap_msg,
	(any_fn)&handle_event_q,
	(any_fn)&register_ev_handler,
	(any_fn)&pop_user_ctx,
	(any_fn)&vcore_lib_init,
	(any_fn)&uthread_create,
	(any_fn)&uth_blockon_evqs_arr,
	(any_fn)&vcore_arena_region,
	(any_fn)&uthread_create_on_node,
};
