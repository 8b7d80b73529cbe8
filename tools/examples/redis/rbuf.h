/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer with a read offset: what a connection reads into
 * and writes out of.  Bytes [off, len) are pending; cap never exceeds the
 * limit given to rbuf_reserve().
 */
#ifndef REDIS_RBUF_H
#define REDIS_RBUF_H

#include <stdbool.h>
#include <stddef.h>

struct rbuf {
	char *data;
	size_t off;		/* first pending byte */
	size_t len;		/* one past the last */
	size_t cap;
};

void rbuf_free(struct rbuf *b);

static inline size_t rbuf_pending(const struct rbuf *b)
{
	return b->len - b->off;
}

static inline void rbuf_consume(struct rbuf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

/*
 * Make room for at least want more bytes after len, moving the pending
 * bytes to the front and growing the buffer, with cap at most limit
 * (a limit below off..len + want is an error).  0, or -ENOMEM / -E2BIG.
 */
int rbuf_reserve(struct rbuf *b, size_t want, size_t limit);

/* Append n bytes (no limit but memory).  0 or -ENOMEM. */
int rbuf_append(struct rbuf *b, const void *p, size_t n);

/* Give back memory above keep bytes once nothing is pending. */
void rbuf_shrink(struct rbuf *b, size_t keep);

#endif /* REDIS_RBUF_H */
