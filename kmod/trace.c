// SPDX-License-Identifier: GPL-2.0
/* The tracepoints, and the hooks through which the portable core fires them. */
#include <linux/tracepoint.h>

#include "core/mcp.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

void vcore_trace_send(struct mcp *m, u64 ev_q, const struct event_msg *msg,
		      u32 vcoreid)
{
	trace_vcore_send(m->procinfo->pid, ev_q, msg->ev_type, vcoreid);
}

void vcore_trace_post(struct mcp *m, u32 mbox_type,
		      const struct event_msg *msg)
{
	trace_vcore_post(m->procinfo->pid, mbox_type, msg->ev_type);
}

void vcore_trace_wakeup(struct mcp *m)
{
	trace_vcore_wakeup(m->procinfo->pid);
}
