/* SPDX-License-Identifier: MIT */
/*
 * RESP2, the Redis protocol: requests (multibulk "*N\r\n$L\r\n...\r\n"
 * and inline "CMD arg ...\r\n") parsed in place, replies appended to an
 * rbuf.  Every length and count is bounded before it is used.
 */
#ifndef REDIS_RESP_H
#define REDIS_RESP_H

#include <stddef.h>

#include "rbuf.h"

#define RESP_MAX_ARGS		4096		/* arguments in one request */
#define RESP_MAX_BULK		(16u << 20)	/* bytes in one argument */
#define RESP_MAX_INLINE		(64u << 10)	/* an inline request's line */
#define RESP_MAX_HDR		32		/* a "*N" or "$N" line */
/* the largest request: every argument of it is bounded above */
#define RESP_MAX_REQUEST	(RESP_MAX_BULK + (64u << 10))

struct resp_arg {
	const char *p;
	size_t len;
};

/* One parsed request; argv points into the parsed bytes. */
struct resp_req {
	unsigned int argc;
	unsigned int cap;		/* argv's room, at most RESP_MAX_ARGS */
	struct resp_arg *argv;
	size_t used;			/* bytes the request took */
	const char *err;		/* RESP_ERROR: why, for -ERR Protocol error */
};

enum resp_status {
	RESP_ERROR = -2,		/* malformed: reply err and close */
	RESP_NOMEM = -1,
	RESP_NEED_MORE = 0,		/* incomplete: read more, parse again */
	RESP_OK = 1,			/* argc (may be 0: nothing to run) */
};

/* Parse the request at the start of p[0 .. n).  See enum resp_status. */
int resp_parse(struct resp_req *req, const char *p, size_t n);

void resp_req_free(struct resp_req *req);

/* Replies.  0 or -ENOMEM. */
int resp_simple(struct rbuf *out, const char *s);	/* "+s" */
int resp_error(struct rbuf *out, const char *s);	/* "-s" */
int resp_int(struct rbuf *out, long long v);		/* ":v" */
int resp_bulk(struct rbuf *out, const char *p, size_t len);
int resp_null(struct rbuf *out);			/* "$-1" */
int resp_array(struct rbuf *out, size_t n);		/* "*n", then n replies */

/*
 * Strictly a decimal long long, as Redis reads one: an optional '-', no
 * spaces, no '+', no leading zeros.  0 or -EINVAL (also out of range).
 */
int resp_strtoll(const char *p, size_t len, long long *v);

#endif /* REDIS_RESP_H */
