// SPDX-License-Identifier: MIT
/* A connection's requests and replies, without its I/O (conn.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "conn.h"

void conn_init(struct conn *c)
{
	memset(c, 0, sizeof(*c));
}

void conn_free(struct conn *c)
{
	rbuf_free(&c->in);
	rbuf_free(&c->out);
	resp_req_free(&c->req);
}

static int protocol_error(struct conn *c, const char *why)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "ERR Protocol error: %s", why);
	c->close_after = true;
	return resp_error(&c->out, msg) ? CONN_ABORT : CONN_CLOSE;
}

int conn_read_space(struct conn *c, char **p, size_t *len)
{
	size_t pending = rbuf_pending(&c->in), want;
	int err;

	if (pending >= RESP_MAX_REQUEST)
		return protocol_error(c, "request too big");
	want = RESP_MAX_REQUEST - pending;
	if (want > CONN_READ_CHUNK)
		want = CONN_READ_CHUNK;
	err = rbuf_reserve(&c->in, want, RESP_MAX_REQUEST);
	if (err)
		return CONN_ABORT;
	*p = c->in.data + c->in.len;
	*len = c->in.cap - c->in.len;
	return CONN_READ;
}

int conn_run(struct conn *c, struct store *s)
{
	if (c->close_after)
		return CONN_CLOSE;
	for (;;) {
		int ret;

		if (rbuf_pending(&c->out) > CONN_OUT_HIGH)
			return CONN_WRITE;
		ret = resp_parse(&c->req, c->in.data + c->in.off,
				 rbuf_pending(&c->in));
		if (ret == RESP_NEED_MORE)
			break;
		if (ret == RESP_NOMEM)
			return CONN_ABORT;
		if (ret == RESP_ERROR)
			return protocol_error(c, c->req.err);
		ret = cmd_run(s, &c->req, &c->out);
		rbuf_consume(&c->in, c->req.used);
		if (ret == CMD_NOMEM)
			return CONN_ABORT;
		if (ret == CMD_CLOSE) {
			c->close_after = true;
			return CONN_CLOSE;
		}
	}
	if (!rbuf_pending(&c->in))
		rbuf_shrink(&c->in, CONN_KEEP);
	return CONN_READ;
}

void conn_written(struct conn *c)
{
	c->out.off = c->out.len = 0;
	rbuf_shrink(&c->out, CONN_KEEP);
}
