/* SPDX-License-Identifier: MIT */
/*
 * The key-value store: a hash table cut into stripes, each with its own
 * lock and its own buckets (which double as the stripe fills).  The lock
 * is the front end's: a pthread mutex for threads, a uthread mutex for
 * uthreads, so that a holder preempted in a uthread blocks its waiters
 * instead of spinning them.  Keys and values are binary strings.
 */
#ifndef REDIS_STORE_H
#define REDIS_STORE_H

#include <stddef.h>

struct store_lock_ops {
	size_t size;			/* bytes of one lock */
	void (*init)(void *lock);
	void (*destroy)(void *lock);	/* may be NULL */
	void (*lock)(void *lock);
	void (*unlock)(void *lock);
};

struct store;

/* A store with nr_stripes (a power of two) stripes.  NULL: ENOMEM, EINVAL. */
struct store *store_create(const struct store_lock_ops *ops,
			   unsigned int nr_stripes);
void store_destroy(struct store *s);

/*
 * key's value, handed to copy(arg, value, len) under the stripe's lock.
 * 1 if found, 0 if not; copy's non-zero return is returned instead.
 */
int store_get(struct store *s, const char *key, size_t klen,
	      int (*copy)(void *arg, const char *val, size_t len), void *arg);

#define STORE_NX	1	/* only if key does not exist */
#define STORE_XX	2	/* only if it does */

/* 1 if set, 0 if NX/XX said no, -ENOMEM. */
int store_set(struct store *s, const char *key, size_t klen,
	      const char *val, size_t vlen, unsigned int flags);

/* 1 if key was there (and is gone), 0 if not. */
int store_del(struct store *s, const char *key, size_t klen);

/* 1 if key is there, 0 if not. */
int store_exists(struct store *s, const char *key, size_t klen);

/*
 * Add by to key's value read as a decimal long long (a missing key is 0)
 * and store the result as its decimal string; *result gets it.  0, or
 * -EINVAL (not an integer), -ERANGE (overflow), -ENOMEM.
 */
int store_incr(struct store *s, const char *key, size_t klen, long long by,
	       long long *result);

/* Keys in the store (a moment's sum over the stripes). */
size_t store_count(struct store *s);

#endif /* REDIS_STORE_H */
