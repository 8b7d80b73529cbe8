/* SPDX-License-Identifier: MIT */
/*
 * One client connection, without its I/O: the front end reads into
 * conn_read_space(), calls conn_run() to run every complete request in
 * what has come, writes out the replies pending in c->out, and closes
 * when conn_run() says so and out is written.  A request is run only
 * once all of it has come, and replies come out in request order, so a
 * client that goes away mid-request leaves nothing behind but its
 * buffers.
 */
#ifndef REDIS_CONN_H
#define REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "rbuf.h"
#include "resp.h"

struct store;

#define CONN_READ_CHUNK		(16u << 10)
/* replies pending above this: stop running requests until they are out */
#define CONN_OUT_HIGH		(64u << 10)
/* buffers bigger than this are freed once empty */
#define CONN_KEEP		(64u << 10)

struct conn {
	struct rbuf in;
	struct rbuf out;
	struct resp_req req;
	bool close_after;		/* close once out is written */
};

enum conn_status {
	CONN_READ,	/* write out (if any), then read more */
	CONN_WRITE,	/* write out, then conn_run() again before reading */
	CONN_CLOSE,	/* write out, then close */
	CONN_ABORT,	/* close now (no memory for the reply) */
};

void conn_init(struct conn *c);
void conn_free(struct conn *c);

/*
 * Where the next read goes (*len >= 1), or CONN_CLOSE (after a protocol
 * error reply: the request is too big) or CONN_ABORT (no memory).
 * Returns CONN_READ when *p and *len are set.
 */
int conn_read_space(struct conn *c, char **p, size_t *len);

/* n bytes were read into the space. */
static inline void conn_read_done(struct conn *c, size_t n)
{
	c->in.len += n;
}

/* Run the complete requests that have come.  enum conn_status. */
int conn_run(struct conn *c, struct store *s);

/* out was written up to its end: drop it, and its memory if big. */
void conn_written(struct conn *c);

#endif /* REDIS_CONN_H */
