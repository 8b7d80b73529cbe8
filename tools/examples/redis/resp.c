// SPDX-License-Identifier: MIT
/*
 * RESP2 requests and replies (resp.h).  The parser starts again from the
 * first byte of the request each time more arrives: it keeps no state
 * but argv, so a request split at any byte parses the same.  It looks at
 * no byte past n, trusts no count before checking it against the bounds
 * in resp.h, and reads a bulk argument's bytes only once the whole of it
 * and its "\r\n" are there.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

void resp_req_free(struct resp_req *req)
{
	free(req->argv);
	memset(req, 0, sizeof(*req));
}

static int add_arg(struct resp_req *req, const char *p, size_t len)
{
	if (req->argc == req->cap) {
		unsigned int cap = req->cap ? req->cap * 2 : 8;
		struct resp_arg *a;

		if (cap > RESP_MAX_ARGS)
			cap = RESP_MAX_ARGS;
		if (cap <= req->cap)
			return RESP_ERROR;
		a = realloc(req->argv, cap * sizeof(*a));
		if (!a)
			return RESP_NOMEM;
		req->argv = a;
		req->cap = cap;
	}
	req->argv[req->argc].p = p;
	req->argv[req->argc].len = len;
	req->argc++;
	return RESP_OK;
}

int resp_strtoll(const char *p, size_t len, long long *v)
{
	unsigned long long acc = 0, lim = (unsigned long long)LLONG_MAX;
	size_t i = 0;
	int neg = 0;

	if (!len || len > 20)
		return -EINVAL;
	if (p[0] == '-') {
		neg = 1;
		lim++;			/* -LLONG_MIN */
		i = 1;
		if (len == 1)
			return -EINVAL;
	}
	if (p[i] == '0' && len > i + 1)
		return -EINVAL;
	if (p[i] == '0' && neg)		/* "-0" */
		return -EINVAL;
	for (; i < len; i++) {
		unsigned int d = (unsigned char)p[i] - '0';

		if (d > 9 || acc > (lim - d) / 10)
			return -EINVAL;
		acc = acc * 10 + d;
	}
	*v = neg ? (long long)(0 - acc) : (long long)acc;
	return 0;
}

/*
 * A "<c>N\r\n" header line at p[0 .. n): RESP_OK with *v and *used,
 * RESP_NEED_MORE, or RESP_ERROR with req->err.
 */
static int header(struct resp_req *req, const char *p, size_t n,
		  long long *v, size_t *used, const char *what)
{
	size_t lim = n < RESP_MAX_HDR ? n : RESP_MAX_HDR;
	const char *cr = memchr(p, '\r', lim);

	if (!cr) {
		if (n >= RESP_MAX_HDR) {
			req->err = what;
			return RESP_ERROR;
		}
		return RESP_NEED_MORE;
	}
	if ((size_t)(cr - p) + 1 >= n)
		return RESP_NEED_MORE;
	if (cr[1] != '\n' || resp_strtoll(p + 1, cr - p - 1, v)) {
		req->err = what;
		return RESP_ERROR;
	}
	*used = cr - p + 2;
	return RESP_OK;
}

static int parse_multibulk(struct resp_req *req, const char *p, size_t n)
{
	long long count, len;
	size_t pos, used;
	int ret;

	ret = header(req, p, n, &count, &used, "invalid multibulk length");
	if (ret != RESP_OK)
		return ret;
	if (count > RESP_MAX_ARGS) {
		req->err = "invalid multibulk length";
		return RESP_ERROR;
	}
	pos = used;
	/* "*0" and "*-1" are empty requests, as Redis takes them */
	for (long long i = 0; i < count; i++) {
		if (pos == n)
			return RESP_NEED_MORE;
		if (p[pos] != '$') {
			req->err = "expected '$'";
			return RESP_ERROR;
		}
		ret = header(req, p + pos, n - pos, &len, &used,
			     "invalid bulk length");
		if (ret != RESP_OK)
			return ret;
		if (len < 0 || len > RESP_MAX_BULK) {
			req->err = "invalid bulk length";
			return RESP_ERROR;
		}
		pos += used;
		if (n - pos < (size_t)len + 2)
			return RESP_NEED_MORE;
		if (p[pos + len] != '\r' || p[pos + len + 1] != '\n') {
			req->err = "bulk argument not followed by CRLF";
			return RESP_ERROR;
		}
		ret = add_arg(req, p + pos, len);
		if (ret != RESP_OK)
			return ret;
		pos += len + 2;
	}
	req->used = pos;
	return RESP_OK;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Space-separated words up to '\n' (an optional '\r' before it). */
static int parse_inline(struct resp_req *req, const char *p, size_t n)
{
	size_t lim = n < RESP_MAX_INLINE ? n : RESP_MAX_INLINE;
	const char *nl = memchr(p, '\n', lim);
	size_t end, i = 0;
	int ret;

	if (!nl) {
		if (n >= RESP_MAX_INLINE) {
			req->err = "too big inline request";
			return RESP_ERROR;
		}
		return RESP_NEED_MORE;
	}
	end = nl - p;
	for (;;) {
		size_t start;

		while (i < end && is_space(p[i]))
			i++;
		if (i == end)
			break;
		start = i;
		while (i < end && !is_space(p[i]))
			i++;
		ret = add_arg(req, p + start, i - start);
		if (ret == RESP_ERROR)
			req->err = "too many arguments in inline request";
		if (ret != RESP_OK)
			return ret;
	}
	req->used = end + 1;
	return RESP_OK;
}

int resp_parse(struct resp_req *req, const char *p, size_t n)
{
	req->argc = 0;
	req->used = 0;
	req->err = NULL;
	if (!n)
		return RESP_NEED_MORE;
	if (p[0] == '*')
		return parse_multibulk(req, p, n);
	return parse_inline(req, p, n);
}

/* ---- replies ----------------------------------------------------------- */

static int line(struct rbuf *out, char type, const char *s, size_t len)
{
	int err = rbuf_reserve(out, len + 3, (size_t)-1 / 2);

	if (err)
		return err;
	out->data[out->len++] = type;
	memcpy(out->data + out->len, s, len);
	out->len += len;
	out->data[out->len++] = '\r';
	out->data[out->len++] = '\n';
	return 0;
}

int resp_simple(struct rbuf *out, const char *s)
{
	return line(out, '+', s, strlen(s));
}

int resp_error(struct rbuf *out, const char *s)
{
	return line(out, '-', s, strlen(s));
}

static int number(struct rbuf *out, char type, long long v)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "%lld", v);

	return line(out, type, s, n);
}

int resp_int(struct rbuf *out, long long v)
{
	return number(out, ':', v);
}

int resp_array(struct rbuf *out, size_t n)
{
	return number(out, '*', (long long)n);
}

int resp_null(struct rbuf *out)
{
	return line(out, '$', "-1", 2);
}

int resp_bulk(struct rbuf *out, const char *p, size_t len)
{
	int err = number(out, '$', (long long)len);

	if (!err)
		err = rbuf_reserve(out, len + 2, (size_t)-1 / 2);
	if (err)
		return err;
	memcpy(out->data + out->len, p, len);
	out->len += len;
	out->data[out->len++] = '\r';
	out->data[out->len++] = '\n';
	return 0;
}
