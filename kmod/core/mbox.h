/* SPDX-License-Identifier: GPL-2.0 */
/* The three mailbox producers and the dispatch between them. */
#ifndef _VCORE_MBOX_H
#define _VCORE_MBOX_H

#include "mcp.h"

/* Each returns 0 when the message was posted, else a drop reason. */
int ucq_post(struct mcp *m, struct ucq *ucq, const struct event_msg *msg);
int ceq_post(struct mcp *m, struct ceq *ceq, const struct event_msg *msg);
int evbitmap_post(struct evbitmap *bm, const struct event_msg *msg,
		  bool *newly_set);

bool mcp_mbox_post(struct mcp *m, struct event_mbox *mbox,
		   const struct event_msg *msg);

#endif /* _VCORE_MBOX_H */
