/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/* The handler table's dispatch, for event.c.  Not installed. */
#ifndef _VCORE_EV_HANDLER_H
#define _VCORE_EV_HANDLER_H

#include <linux/vcore.h>

#include "internal.h"

/* Run ev_type's handlers on ev_msg, in registration order. */
VCORE_HIDDEN void vcore_run_ev_handlers(unsigned int ev_type,
				  struct event_msg *ev_msg);

#endif /* _VCORE_EV_HANDLER_H */
