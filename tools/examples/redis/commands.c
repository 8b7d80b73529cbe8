// SPDX-License-Identifier: MIT
/* The command table (commands.h): each command's arity, then its handler. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "commands.h"
#include "store.h"

struct cmd {
	const char *name;
	int arity;	/* argc including the name; -n: at least n */
	int (*run)(struct store *s, const struct resp_arg *argv,
		   unsigned int argc, struct rbuf *out);
};

static bool arg_is(const struct resp_arg *a, const char *s)
{
	return a->len == strlen(s) && !strncasecmp(a->p, s, a->len);
}

static int cmd_ping(struct store *s, const struct resp_arg *argv,
		    unsigned int argc, struct rbuf *out)
{
	(void)s;
	if (argc > 2)
		return resp_error(out, "ERR wrong number of arguments for 'ping' command");
	if (argc == 2)
		return resp_bulk(out, argv[1].p, argv[1].len);
	return resp_simple(out, "PONG");
}

static int copy_bulk(void *arg, const char *val, size_t len)
{
	return resp_bulk(arg, val, len);
}

static int cmd_get(struct store *s, const struct resp_arg *argv,
		   unsigned int argc, struct rbuf *out)
{
	int ret = store_get(s, argv[1].p, argv[1].len, copy_bulk, out);

	(void)argc;
	if (ret < 0)
		return ret;
	return ret ? 0 : resp_null(out);
}

static int cmd_set(struct store *s, const struct resp_arg *argv,
		   unsigned int argc, struct rbuf *out)
{
	unsigned int flags = 0;
	int ret;

	for (unsigned int i = 3; i < argc; i++) {
		if (arg_is(&argv[i], "NX") && !(flags & STORE_XX))
			flags |= STORE_NX;
		else if (arg_is(&argv[i], "XX") && !(flags & STORE_NX))
			flags |= STORE_XX;
		else
			return resp_error(out, "ERR syntax error");
	}
	ret = store_set(s, argv[1].p, argv[1].len, argv[2].p, argv[2].len,
			flags);
	if (ret < 0)
		return resp_error(out, "OOM command not allowed when used memory > 'maxmemory'");
	return ret ? resp_simple(out, "OK") : resp_null(out);
}

static int cmd_del(struct store *s, const struct resp_arg *argv,
		   unsigned int argc, struct rbuf *out)
{
	long long n = 0;

	for (unsigned int i = 1; i < argc; i++)
		n += store_del(s, argv[i].p, argv[i].len);
	return resp_int(out, n);
}

static int cmd_exists(struct store *s, const struct resp_arg *argv,
		      unsigned int argc, struct rbuf *out)
{
	long long n = 0;

	for (unsigned int i = 1; i < argc; i++)
		n += store_exists(s, argv[i].p, argv[i].len);
	return resp_int(out, n);
}

static int incr_by(struct store *s, const struct resp_arg *key, long long by,
		   struct rbuf *out)
{
	long long v;
	int ret = store_incr(s, key->p, key->len, by, &v);

	if (ret == -EINVAL)
		return resp_error(out, "ERR value is not an integer or out of range");
	if (ret == -ERANGE)
		return resp_error(out, "ERR increment or decrement would overflow");
	if (ret)
		return resp_error(out, "OOM command not allowed when used memory > 'maxmemory'");
	return resp_int(out, v);
}

static int cmd_incr(struct store *s, const struct resp_arg *argv,
		    unsigned int argc, struct rbuf *out)
{
	(void)argc;
	return incr_by(s, &argv[1], 1, out);
}

static int cmd_decr(struct store *s, const struct resp_arg *argv,
		    unsigned int argc, struct rbuf *out)
{
	(void)argc;
	return incr_by(s, &argv[1], -1, out);
}

static int cmd_incrby(struct store *s, const struct resp_arg *argv,
		      unsigned int argc, struct rbuf *out)
{
	long long by;

	(void)argc;
	if (resp_strtoll(argv[2].p, argv[2].len, &by))
		return resp_error(out, "ERR value is not an integer or out of range");
	return incr_by(s, &argv[1], by, out);
}

/* redis-benchmark reads "save" and "appendonly" at its start. */
static int cmd_config(struct store *s, const struct resp_arg *argv,
		      unsigned int argc, struct rbuf *out)
{
	static const char *const params[][2] = {
		{ "save", "" }, { "appendonly", "no" },
	};
	int err;

	(void)s;
	if (!arg_is(&argv[1], "GET"))
		return resp_error(out, "ERR CONFIG: only CONFIG GET is supported");
	if (argc != 3)
		return resp_error(out, "ERR wrong number of arguments for 'config|get' command");
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (!arg_is(&argv[2], params[i][0]))
			continue;
		err = resp_array(out, 2);
		if (!err)
			err = resp_bulk(out, params[i][0], strlen(params[i][0]));
		if (!err)
			err = resp_bulk(out, params[i][1], strlen(params[i][1]));
		return err;
	}
	return resp_array(out, 0);
}

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/*
 * Burn the CPU without a system call but the vDSO's clock, which it
 * reads every 64 pauses: mostly the program's own code, as a request's
 * work would be, and not the C library's (where a time slice's tick is
 * put off: vcore_uthread(3)).
 */
static int cmd_spin(struct store *s, const struct resp_arg *argv,
		    unsigned int argc, struct rbuf *out)
{
	long long us, end;

	(void)s;
	(void)argc;
	if (resp_strtoll(argv[1].p, argv[1].len, &us) || us < 0 ||
	    us > SPIN_MAX_USEC)
		return resp_error(out, "ERR SPIN takes microseconds from 0 to 10000000");
	end = now_ns() + us * 1000;
	while (now_ns() < end)
		for (int i = 0; i < 64; i++)
			__asm__ __volatile__("pause" ::: "memory");
	return resp_simple(out, "OK");
}

static int cmd_quit(struct store *s, const struct resp_arg *argv,
		    unsigned int argc, struct rbuf *out)
{
	(void)s;
	(void)argv;
	(void)argc;
	return resp_simple(out, "OK") ?: CMD_CLOSE;
}

static const struct cmd cmds[] = {
	{ "GET",	2,	cmd_get },
	{ "SET",	-3,	cmd_set },
	{ "INCR",	2,	cmd_incr },
	{ "PING",	-1,	cmd_ping },
	{ "DEL",	-2,	cmd_del },
	{ "EXISTS",	-2,	cmd_exists },
	{ "DECR",	2,	cmd_decr },
	{ "INCRBY",	3,	cmd_incrby },
	{ "SPIN",	2,	cmd_spin },
	{ "CONFIG",	-2,	cmd_config },
	{ "QUIT",	1,	cmd_quit },
};

/* "'name'" for an error message, at most 64 bytes of it, non-printing as ? */
static void quote_name(char *to, size_t size, const struct resp_arg *a)
{
	size_t n = a->len < 64 ? a->len : 64, i;

	for (i = 0; i < n && i + 1 < size; i++) {
		unsigned char c = a->p[i];

		to[i] = (c >= 0x20 && c < 0x7f && c != '\'') ? c : '?';
	}
	to[i] = '\0';
}

int cmd_run(struct store *s, const struct resp_req *req, struct rbuf *out)
{
	const struct resp_arg *argv = req->argv;
	char name[65], msg[160];
	int ret;

	if (!req->argc)
		return CMD_OK;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const struct cmd *c = &cmds[i];

		if (!arg_is(&argv[0], c->name))
			continue;
		if ((c->arity > 0 && req->argc != (unsigned int)c->arity) ||
		    (c->arity < 0 && req->argc < (unsigned int)-c->arity)) {
			quote_name(name, sizeof(name), &argv[0]);
			for (char *p = name; *p; p++)
				*p = (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p;
			snprintf(msg, sizeof(msg),
				 "ERR wrong number of arguments for '%s' command",
				 name);
			ret = resp_error(out, msg);
		} else {
			ret = c->run(s, argv, req->argc, out);
		}
		return ret < 0 ? CMD_NOMEM : ret;
	}
	quote_name(name, sizeof(name), &argv[0]);
	snprintf(msg, sizeof(msg), "ERR unknown command '%s'", name);
	return resp_error(out, msg) ? CMD_NOMEM : CMD_OK;
}
