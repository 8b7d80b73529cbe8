/* SPDX-License-Identifier: GPL-2.0 */
/* Event delivery: Akaros's send_event (mcp_send_event()) and its helpers. */
#ifndef _VCORE_EVENT_H
#define _VCORE_EVENT_H

#include "mcp.h"

void mcp_send_event(struct mcp *m, u64 ev_q, const struct event_msg *msg,
		    u32 vcoreid);
bool mcp_send_event_checked(struct mcp *m, u64 ev_q,
			    const struct event_msg *msg, u32 vcoreid);
void mcp_send_kernel_event(struct mcp *m, const struct event_msg *msg,
			   u32 vcoreid);
bool mcp_post_vcore_event(struct mcp *m, const struct event_msg *msg,
			  u32 vcoreid, u32 ev_flags);
void mcp_notify(struct mcp *m, u32 vcoreid);
void mcp_send_posix_signal(struct mcp *m, int signo);

#endif /* _VCORE_EVENT_H */
