/* SPDX-License-Identifier: MIT */
/*
 * The commands (Redis's meaning, a subset): PING [msg], GET key,
 * SET key value [NX|XX], DEL key..., EXISTS key..., INCR key, DECR key,
 * INCRBY key n, CONFIG GET param (only what redis-benchmark asks for),
 * SPIN usec (burn the CPU that long, at most 10 s; reply +OK), QUIT.
 */
#ifndef REDIS_COMMANDS_H
#define REDIS_COMMANDS_H

#include "rbuf.h"
#include "resp.h"

struct store;

#define SPIN_MAX_USEC	10000000

enum cmd_result {
	CMD_NOMEM = -1,		/* the reply could not be built */
	CMD_OK = 0,
	CMD_CLOSE = 1,		/* reply, then close the connection (QUIT) */
};

/* Run req against s; append its reply to out. */
int cmd_run(struct store *s, const struct resp_req *req, struct rbuf *out);

#endif /* REDIS_COMMANDS_H */
