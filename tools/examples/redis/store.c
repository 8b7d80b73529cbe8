// SPDX-License-Identifier: MIT
/*
 * The striped hash table (store.h).  A key's hash picks its stripe (low
 * bits) and its bucket in the stripe (the bits above); each stripe's lock
 * guards its buckets, its count and every entry in them.  No operation
 * takes two locks.  The hash is seeded per store at random, so that a
 * client cannot choose keys that all land in one chain.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "resp.h"
#include "store.h"

struct entry {
	struct entry *next;
	uint64_t hash;
	size_t vlen;
	char *val;
	size_t klen;
	char key[];
};

struct stripe {
	void *lock;			/* guards the rest */
	struct entry **buckets;
	size_t mask;			/* buckets - 1 */
	size_t count;
} __attribute__((aligned(64)));

struct store {
	const struct store_lock_ops *ops;
	uint64_t seed;
	unsigned int mask;		/* nr_stripes - 1 */
	unsigned int shift;		/* log2(nr_stripes) */
	struct stripe *stripes;
	char *locks;
};

#define STRIPE_BUCKETS	16

/* 64-bit multiply-xorshift over 8-byte words, seeded. */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return h;
}

static uint64_t hash(uint64_t seed, const char *p, size_t len)
{
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		h = mix(h ^ w);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;

		memcpy(&w, p, len);
		h = mix(h ^ w ^ ((uint64_t)len << 56));
	}
	return mix(h);
}

struct store *store_create(const struct store_lock_ops *ops,
			   unsigned int nr_stripes)
{
	struct store *s;
	unsigned int i;

	if (!nr_stripes || (nr_stripes & (nr_stripes - 1)) || !ops->size) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ops = ops;
	s->mask = nr_stripes - 1;
	while ((1u << s->shift) < nr_stripes)
		s->shift++;
	if (getrandom(&s->seed, sizeof(s->seed), 0) != sizeof(s->seed))
		s->seed = (uintptr_t)s ^ 0x5bd1e995;
	s->stripes = aligned_alloc(64, nr_stripes * sizeof(*s->stripes));
	s->locks = calloc(nr_stripes, ops->size);
	if (!s->stripes || !s->locks)
		goto err;
	memset(s->stripes, 0, nr_stripes * sizeof(*s->stripes));
	for (i = 0; i < nr_stripes; i++) {
		struct stripe *st = &s->stripes[i];

		st->buckets = calloc(STRIPE_BUCKETS, sizeof(*st->buckets));
		if (!st->buckets)
			goto err;
		st->mask = STRIPE_BUCKETS - 1;
		st->lock = s->locks + (size_t)i * ops->size;
		ops->init(st->lock);
	}
	return s;
err:
	store_destroy(s);
	errno = ENOMEM;
	return NULL;
}

static void free_entry(struct entry *e)
{
	free(e->val);
	free(e);
}

void store_destroy(struct store *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; s->stripes && i <= s->mask; i++) {
		struct stripe *st = &s->stripes[i];

		if (!st->buckets)
			continue;
		for (size_t b = 0; b <= st->mask; b++) {
			struct entry *e = st->buckets[b], *next;

			for (; e; e = next) {
				next = e->next;
				free_entry(e);
			}
		}
		free(st->buckets);
		if (s->ops->destroy)
			s->ops->destroy(st->lock);
	}
	free(s->stripes);
	free(s->locks);
	free(s);
}

static struct stripe *stripe_of(struct store *s, uint64_t h)
{
	return &s->stripes[h & s->mask];
}

static struct entry **slot(struct store *s, struct stripe *st, uint64_t h)
{
	return &st->buckets[(h >> s->shift) & st->mask];
}

/* The link that points at key's entry (*link NULL if it has none). */
static struct entry **find(struct store *s, struct stripe *st, uint64_t h,
			   const char *key, size_t klen)
{
	struct entry **link = slot(s, st, h);

	for (; *link; link = &(*link)->next) {
		struct entry *e = *link;

		if (e->hash == h && e->klen == klen &&
		    !memcmp(e->key, key, klen))
			return link;
	}
	return link;
}

/* Double st's buckets when it holds twice as many keys; failing is fine. */
static void grow(struct store *s, struct stripe *st)
{
	size_t n = (st->mask + 1) * 2;
	struct entry **b;

	if (st->count < 2 * (st->mask + 1) || n > ((size_t)1 << 40))
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i <= st->mask; i++) {
		struct entry *e = st->buckets[i], *next;

		for (; e; e = next) {
			struct entry **to = &b[(e->hash >> s->shift) & (n - 1)];

			next = e->next;
			e->next = *to;
			*to = e;
		}
	}
	free(st->buckets);
	st->buckets = b;
	st->mask = n - 1;
}

static char *dup_val(const char *val, size_t vlen)
{
	char *v = malloc(vlen ? vlen : 1);

	if (v)
		memcpy(v, val, vlen);
	return v;
}

/* Put a new value on key, whose link is *link; __ under st's lock. */
static int __store_put(struct store *s, struct stripe *st, struct entry **link,
		       uint64_t h, const char *key, size_t klen, char *v,
		       size_t vlen)
{
	struct entry *e = *link;

	if (e) {
		free(e->val);
		e->val = v;
		e->vlen = vlen;
		return 0;
	}
	e = malloc(sizeof(*e) + klen);
	if (!e)
		return -ENOMEM;
	e->hash = h;
	e->klen = klen;
	memcpy(e->key, key, klen);
	e->val = v;
	e->vlen = vlen;
	e->next = *slot(s, st, h);
	*slot(s, st, h) = e;
	st->count++;
	grow(s, st);
	return 0;
}

int store_get(struct store *s, const char *key, size_t klen,
	      int (*copy)(void *arg, const char *val, size_t len), void *arg)
{
	uint64_t h = hash(s->seed, key, klen);
	struct stripe *st = stripe_of(s, h);
	struct entry *e;
	int ret = 0;

	s->ops->lock(st->lock);
	e = *find(s, st, h, key, klen);
	if (e)
		ret = copy(arg, e->val, e->vlen) ?: 1;
	s->ops->unlock(st->lock);
	return ret;
}

int store_set(struct store *s, const char *key, size_t klen,
	      const char *val, size_t vlen, unsigned int flags)
{
	uint64_t h = hash(s->seed, key, klen);
	struct stripe *st = stripe_of(s, h);
	char *v = dup_val(val, vlen);		/* outside the lock */
	struct entry **link;
	int ret;

	if (!v)
		return -ENOMEM;
	s->ops->lock(st->lock);
	link = find(s, st, h, key, klen);
	if ((*link && (flags & STORE_NX)) || (!*link && (flags & STORE_XX)))
		ret = 0;
	else
		ret = __store_put(s, st, link, h, key, klen, v, vlen) ?: 1;
	s->ops->unlock(st->lock);
	if (ret != 1)
		free(v);
	return ret;
}

int store_del(struct store *s, const char *key, size_t klen)
{
	uint64_t h = hash(s->seed, key, klen);
	struct stripe *st = stripe_of(s, h);
	struct entry **link, *e;

	s->ops->lock(st->lock);
	link = find(s, st, h, key, klen);
	e = *link;
	if (e) {
		*link = e->next;
		st->count--;
	}
	s->ops->unlock(st->lock);
	if (e)
		free_entry(e);
	return !!e;
}

int store_exists(struct store *s, const char *key, size_t klen)
{
	uint64_t h = hash(s->seed, key, klen);
	struct stripe *st = stripe_of(s, h);
	int ret;

	s->ops->lock(st->lock);
	ret = !!*find(s, st, h, key, klen);
	s->ops->unlock(st->lock);
	return ret;
}

int store_incr(struct store *s, const char *key, size_t klen, long long by,
	       long long *result)
{
	uint64_t h = hash(s->seed, key, klen);
	struct stripe *st = stripe_of(s, h);
	struct entry **link;
	long long old = 0;
	char num[24];
	char *v;
	int n, ret;

	/* one long long's digits at most: a buffer taken before the lock */
	v = malloc(sizeof(num));
	if (!v)
		return -ENOMEM;
	s->ops->lock(st->lock);
	link = find(s, st, h, key, klen);
	if (*link && resp_strtoll((*link)->val, (*link)->vlen, &old)) {
		ret = -EINVAL;
	} else if (__builtin_add_overflow(old, by, result)) {
		ret = -ERANGE;
	} else {
		n = snprintf(num, sizeof(num), "%lld", *result);
		memcpy(v, num, n);
		ret = __store_put(s, st, link, h, key, klen, v, n);
		if (!ret)
			v = NULL;
	}
	s->ops->unlock(st->lock);
	free(v);
	return ret;
}

size_t store_count(struct store *s)
{
	size_t n = 0;

	for (unsigned int i = 0; i <= s->mask; i++) {
		struct stripe *st = &s->stripes[i];

		s->ops->lock(st->lock);
		n += st->count;
		s->ops->unlock(st->lock);
	}
	return n;
}
