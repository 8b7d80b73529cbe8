// SPDX-License-Identifier: MIT
/* Growable byte buffers (rbuf.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rbuf.h"

void rbuf_free(struct rbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int rbuf_reserve(struct rbuf *b, size_t want, size_t limit)
{
	size_t pending = rbuf_pending(b);
	size_t need, cap;
	char *p;

	if (b->cap - b->len >= want)
		return 0;
	if (want > limit || pending > limit - want)
		return -E2BIG;
	need = pending + want;
	if (b->off && b->cap >= need) {
		memmove(b->data, b->data + b->off, pending);
		b->off = 0;
		b->len = pending;
		return 0;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > limit / 2 ? limit : cap * 2;
	if (cap > limit)
		cap = limit;
	if (b->off) {
		memmove(b->data, b->data + b->off, pending);
		b->off = 0;
		b->len = pending;
	}
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int rbuf_append(struct rbuf *b, const void *p, size_t n)
{
	int err;

	if (!n)
		return 0;
	err = rbuf_reserve(b, n, (size_t)-1 / 2);
	if (err)
		return err;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void rbuf_shrink(struct rbuf *b, size_t keep)
{
	if (b->cap > keep && !rbuf_pending(b)) {
		free(b->data);
		b->data = NULL;
		b->off = b->len = b->cap = 0;
	}
}
