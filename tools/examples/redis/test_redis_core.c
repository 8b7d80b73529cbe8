// SPDX-License-Identifier: MIT
/*
 * Unit tests of the Redis-protocol server's shared part (parser, store,
 * commands, connection), in user space with ASan+UBSan: requests split
 * at every byte, malformed and random input, the store's semantics and
 * exact counts from concurrent threads, pipelined replies in order and
 * output held back while it is above CONN_OUT_HIGH.  TAP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "conn.h"
#include "resp.h"
#include "store.h"

static int nr_tests, nr_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("# %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
		return 1;						\
	}								\
} while (0)

static void run(const char *name, int (*fn)(void))
{
	int bad = fn();

	nr_tests++;
	nr_failed += bad;
	printf("%sok %d %s\n", bad ? "not " : "", nr_tests, name);
}

static void mutex_init(void *l) { pthread_mutex_init(l, NULL); }
static void mutex_destroy(void *l) { pthread_mutex_destroy(l); }
static void mutex_lock(void *l) { pthread_mutex_lock(l); }
static void mutex_unlock(void *l) { pthread_mutex_unlock(l); }

static const struct store_lock_ops ops = {
	.size = sizeof(pthread_mutex_t),
	.init = mutex_init,
	.destroy = mutex_destroy,
	.lock = mutex_lock,
	.unlock = mutex_unlock,
};

static int test_strtoll(void)
{
	long long v;

	CHECK(!resp_strtoll("0", 1, &v) && v == 0);
	CHECK(!resp_strtoll("-12", 3, &v) && v == -12);
	CHECK(!resp_strtoll("9223372036854775807", 19, &v) && v == 9223372036854775807LL);
	CHECK(!resp_strtoll("-9223372036854775808", 20, &v) && v == (-9223372036854775807LL - 1));
	CHECK(resp_strtoll("9223372036854775808", 19, &v) == -EINVAL);
	CHECK(resp_strtoll("-9223372036854775809", 20, &v) == -EINVAL);
	CHECK(resp_strtoll("", 0, &v) == -EINVAL);
	CHECK(resp_strtoll("-", 1, &v) == -EINVAL);
	CHECK(resp_strtoll("-0", 2, &v) == -EINVAL);
	CHECK(resp_strtoll("01", 2, &v) == -EINVAL);
	CHECK(resp_strtoll("+1", 2, &v) == -EINVAL);
	CHECK(resp_strtoll(" 1", 2, &v) == -EINVAL);
	CHECK(resp_strtoll("1a", 2, &v) == -EINVAL);
	return 0;
}

/* Parsed whole, and at every split: NEED_MORE before the end, same argv. */
static int parses_as(const char *req, size_t len, unsigned int argc,
		     const char *const *argv)
{
	struct resp_req r = { 0 };
	int ret;

	for (size_t cut = 0; cut < len; cut++)
		CHECK(resp_parse(&r, req, cut) == RESP_NEED_MORE);
	ret = resp_parse(&r, req, len);
	CHECK(ret == RESP_OK);
	CHECK(r.used == len);
	CHECK(r.argc == argc);
	for (unsigned int i = 0; i < argc; i++)
		CHECK(r.argv[i].len == strlen(argv[i]) &&
		      !memcmp(r.argv[i].p, argv[i], r.argv[i].len));
	resp_req_free(&r);
	return 0;
}

#define S(x) x, sizeof(x) - 1

static int test_parse_split(void)
{
	static const char *const set[] = { "SET", "key", "a\r\nb" };
	static const char *const ping[] = { "PING" };
	static const char *const inl[] = { "SET", "k", "v" };

	CHECK(!parses_as(S("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4\r\na\r\nb\r\n"), 3, set));
	CHECK(!parses_as(S("*1\r\n$4\r\nPING\r\n"), 1, ping));
	CHECK(!parses_as(S("PING\r\n"), 1, ping));
	CHECK(!parses_as(S("  SET\tk  v \n"), 3, inl));
	CHECK(!parses_as(S("*0\r\n"), 0, NULL));
	CHECK(!parses_as(S("*-1\r\n"), 0, NULL));
	CHECK(!parses_as(S("\r\n"), 0, NULL));
	return 0;
}

static int test_parse_errors(void)
{
	static const char *const bad[] = {
		"*1\r\n$-1\r\n", "*1\r\n$x\r\n", "*x\r\n", "*1\r\nPING\r\n",
		"*1\r\n$4\r\nPINGxx", "*1\r\n$4\r\nPING\rx", "*1\r\n$99999999\r\n",
		"*5000\r\n", "*1\r\n$+1\r\nx\r\n",
		"*1\r\n$01\r\nx\r\n", "*123456789012345678901234567890123\r\n",
	};
	struct resp_req r = { 0 };
	char *big = malloc(RESP_MAX_INLINE + 1);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(resp_parse(&r, bad[i], strlen(bad[i])) == RESP_ERROR);
		CHECK(r.err != NULL);
	}
	/* a header line that never ends is an error once it is too long */
	CHECK(resp_parse(&r, "*1\n", 3) == RESP_NEED_MORE);
	/* an inline line longer than RESP_MAX_INLINE */
	if (!big)
		return 1;
	memset(big, '1', RESP_MAX_HDR);
	big[0] = '*';
	CHECK(resp_parse(&r, big, RESP_MAX_HDR) == RESP_ERROR);
	memset(big, 'a', RESP_MAX_INLINE + 1);
	CHECK(resp_parse(&r, big, RESP_MAX_INLINE - 1) == RESP_NEED_MORE);
	CHECK(resp_parse(&r, big, RESP_MAX_INLINE + 1) == RESP_ERROR);
	/* more inline words than RESP_MAX_ARGS */
	for (size_t i = 0; i < RESP_MAX_INLINE / 2; i++)
		big[i] = i % 2 ? ' ' : 'a';
	big[RESP_MAX_INLINE / 2] = '\n';
	CHECK(resp_parse(&r, big, RESP_MAX_INLINE / 2 + 1) == RESP_ERROR);
	free(big);
	resp_req_free(&r);
	return 0;
}

/* Random bytes after likely prefixes: any status, no fault, bounded. */
static int test_parse_random(void)
{
	static const char *const heads[] = { "", "*", "$", "*2\r\n$", "*1\r\n$3\r\n" };
	struct resp_req r = { 0 };
	unsigned int seed = 12345;
	char buf[512];

	for (int i = 0; i < 200000; i++) {
		size_t h = rand_r(&seed) % 5, hl = strlen(heads[h]);
		size_t n = hl + rand_r(&seed) % (sizeof(buf) - hl);
		int ret;

		memcpy(buf, heads[h], hl);
		for (size_t j = hl; j < n; j++) {
			int c = rand_r(&seed) % 16;

			buf[j] = c < 4 ? "\r\n$*"[c] : c < 8 ? '0' + c : rand_r(&seed);
		}
		ret = resp_parse(&r, buf, n);
		CHECK(ret >= RESP_ERROR && ret <= RESP_OK);
		if (ret == RESP_OK) {
			CHECK(r.used <= n);
			for (unsigned int a = 0; a < r.argc; a++)
				CHECK(r.argv[a].p >= buf &&
				      r.argv[a].p + r.argv[a].len <= buf + n);
		}
	}
	resp_req_free(&r);
	return 0;
}

static int copy_out(void *arg, const char *v, size_t len)
{
	char *to = arg;

	memcpy(to, v, len);
	to[len] = '\0';
	return 0;
}

static int test_store(void)
{
	struct store *s = store_create(&ops, 4);
	char key[32], got[64];
	long long v;

	CHECK(s);
	CHECK(store_get(s, S("a"), copy_out, got) == 0);
	CHECK(store_set(s, S("a"), S("1"), 0) == 1);
	CHECK(store_get(s, S("a"), copy_out, got) == 1 && !strcmp(got, "1"));
	CHECK(store_set(s, S("a"), S("2"), STORE_NX) == 0);
	CHECK(store_set(s, S("b"), S("2"), STORE_XX) == 0);
	CHECK(store_exists(s, S("b")) == 0);
	CHECK(store_incr(s, S("a"), 41, &v) == 0 && v == 42);
	CHECK(store_get(s, S("a"), copy_out, got) == 1 && !strcmp(got, "42"));
	CHECK(store_incr(s, S("n"), -5, &v) == 0 && v == -5);
	CHECK(store_set(s, S("x"), S("9223372036854775807"), 0) == 1);
	CHECK(store_incr(s, S("x"), 1, &v) == -ERANGE);
	CHECK(store_set(s, S("y"), S("1.5"), 0) == 1);
	CHECK(store_incr(s, S("y"), 1, &v) == -EINVAL);
	CHECK(store_del(s, S("a")) == 1 && store_del(s, S("a")) == 0);
	CHECK(store_set(s, S(""), S(""), 0) == 1);
	CHECK(store_get(s, S(""), copy_out, got) == 1 && !got[0]);
	/* many keys: the stripes grow, every key is found */
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof(key), "k%d", i);

		CHECK(store_set(s, key, n, key, n, 0) == 1);
	}
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof(key), "k%d", i);

		CHECK(store_get(s, key, n, copy_out, got) == 1 && !strcmp(got, key));
	}
	CHECK(store_count(s) == 100000 + 4);	/* n, x, y, "" */
	store_destroy(s);
	return 0;
}

static struct store *shared;

static void *incr_many(void *arg)
{
	long long v;

	(void)arg;
	for (int i = 0; i < 50000; i++) {
		char key[8];
		int n = snprintf(key, sizeof(key), "c%d", i % 7);

		if (store_incr(shared, key, n, 1, &v))
			return (void *)1;
	}
	return NULL;
}

static int test_store_threads(void)
{
	pthread_t t[4];
	long long sum = 0;
	char got[32];
	void *ret;

	shared = store_create(&ops, 2);
	CHECK(shared);
	for (int i = 0; i < 4; i++)
		CHECK(!pthread_create(&t[i], NULL, incr_many, NULL));
	for (int i = 0; i < 4; i++) {
		CHECK(!pthread_join(t[i], &ret));
		CHECK(!ret);
	}
	for (int i = 0; i < 7; i++) {
		char key[8];
		int n = snprintf(key, sizeof(key), "c%d", i);

		CHECK(store_get(shared, key, n, copy_out, got) == 1);
		sum += atoll(got);
	}
	CHECK(sum == 4 * 50000);
	store_destroy(shared);
	return 0;
}

/* Feed input to a connection; take what it writes, as a front end does. */
static int feed(struct conn *c, struct store *s, const char *in, size_t len,
		struct rbuf *all_out, size_t *max_pending)
{
	size_t pos = 0;

	for (;;) {
		int st = conn_run(c, s);
		size_t room;
		char *p;

		if (rbuf_pending(&c->out) > *max_pending)
			*max_pending = rbuf_pending(&c->out);
		if (st == CONN_ABORT)
			return -1;
		if (rbuf_append(all_out, c->out.data + c->out.off,
				rbuf_pending(&c->out)))
			return -1;
		conn_written(c);
		if (st == CONN_CLOSE)
			return 1;
		if (st == CONN_WRITE)
			continue;
		if (pos == len)
			return 0;
		if (conn_read_space(c, &p, &room) != CONN_READ)
			return -1;
		if (room > len - pos)
			room = len - pos;
		if (room > 7)		/* odd-sized reads */
			room = 7 + pos % 13;
		if (room > len - pos)
			room = len - pos;
		memcpy(p, in + pos, room);
		conn_read_done(c, room);
		pos += room;
	}
}

static int test_conn_pipeline(void)
{
	struct store *s = store_create(&ops, 8);
	struct rbuf in = { 0 }, out = { 0 }, want = { 0 };
	size_t max_pending = 0;
	char val[4000], line[64];
	struct conn c;

	CHECK(s);
	memset(val, 'v', sizeof(val));
	conn_init(&c);
	CHECK(!rbuf_append(&in, S("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000\r\n")));
	CHECK(!rbuf_append(&in, val, sizeof(val)));
	CHECK(!rbuf_append(&in, S("\r\n")));
	CHECK(!rbuf_append(&want, S("+OK\r\n")));
	for (int i = 0; i < 200; i++) {
		int n = snprintf(line, sizeof(line), ":%d\r\n", i + 1);

		CHECK(!rbuf_append(&in, S("*2\r\n$3\r\nGET\r\n$1\r\nk\r\nINCR n\r\n")));
		CHECK(!rbuf_append(&want, S("$4000\r\n")));
		CHECK(!rbuf_append(&want, val, sizeof(val)));
		CHECK(!rbuf_append(&want, S("\r\n")));
		CHECK(!rbuf_append(&want, line, n));
	}
	CHECK(!rbuf_append(&in, S("*1\r\n$4\r\nQUIT\r\nPING\r\n")));
	CHECK(!rbuf_append(&want, S("+OK\r\n")));
	CHECK(feed(&c, s, in.data, in.len, &out, &max_pending) == 1);
	CHECK(out.len == want.len && !memcmp(out.data, want.data, out.len));
	/* output stops growing once above the mark: one reply past it */
	CHECK(max_pending <= CONN_OUT_HIGH + 4100);
	conn_free(&c);
	rbuf_free(&in);
	rbuf_free(&out);
	rbuf_free(&want);
	store_destroy(s);
	return 0;
}

static int test_conn_protocol_error(void)
{
	struct store *s = store_create(&ops, 1);
	struct rbuf out = { 0 };
	size_t max_pending = 0;
	struct conn c;
	static const char in[] = "PING\r\n*1\r\n$-3\r\nPING\r\n";

	CHECK(s);
	conn_init(&c);
	CHECK(feed(&c, s, in, sizeof(in) - 1, &out, &max_pending) == 1);
	CHECK(out.len > 7 && !memcmp(out.data, "+PONG\r\n-ERR Protocol error", 26));
	CHECK(!memmem(out.data, out.len, "PONG\r\n+PONG", 11));
	conn_free(&c);
	rbuf_free(&out);
	store_destroy(s);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..8\n");
	run("resp_strtoll takes only Redis's integers", test_strtoll);
	run("requests split at every byte parse the same", test_parse_split);
	run("malformed requests are errors", test_parse_errors);
	run("random input: no fault, argv inside the input", test_parse_random);
	run("store: commands' semantics, 100000 keys", test_store);
	run("store: INCR from 4 threads is exact", test_store_threads);
	run("connection: pipelined replies in order, output held at the mark",
	    test_conn_pipeline);
	run("connection: a protocol error replies and closes", test_conn_protocol_error);
	return nr_failed ? 1 : 0;
}
