/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvcore: every public header at once.  Installed as <vcore/libvcore.h>
 * with the others beside it in include/vcore/ (they include each other by
 * their plain names), and the ABI as <linux/vcore.h>; pkg-config's
 * "libvcore" gives the flags:
 *
 *	cc prog.c $(pkg-config --cflags --libs libvcore)
 *
 * vcore.h: the device; arena.h: the event arena; ucq.h, ceq.h, evbitmap.h:
 * the mailbox consumers; event.h: ev_qs, handlers, dispatch; vcore_ctx.h:
 * vcore context; uthread.h: uthreads; vcore_numa.h: NUMA placement;
 * vcore_tap.h: fd taps and an epoll look-alike on them;
 * vcore_atomic.h: the barriers and atomics for memory shared with the
 * kernel and between vcores; vcore_alarm.h: alarms with handlers in vcore
 * context; vcore_uio.h: uthread I/O that blocks the uthread, not its
 * vcore.
 */
#ifndef _VCORE_LIBVCORE_H
#define _VCORE_LIBVCORE_H

#include "vcore.h"
#include "arena.h"
#include "ucq.h"
#include "ceq.h"
#include "evbitmap.h"
#include "event.h"
#include "vcore_ctx.h"
#include "uthread.h"
#include "vcore_numa.h"
#include "vcore_tap.h"
#include "vcore_atomic.h"
#include "vcore_alarm.h"
#include "vcore_uio.h"

#endif /* _VCORE_LIBVCORE_H */
