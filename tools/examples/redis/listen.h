/* SPDX-License-Identifier: MIT */
/* The listening socket both front ends open. */
#ifndef REDIS_LISTEN_H
#define REDIS_LISTEN_H

#include <stdbool.h>

/*
 * A TCP socket bound to addr:port (IPv4 dotted quad) and listening, with
 * SO_REUSEADDR, and SO_REUSEPORT if reuseport; flags for socket(2) such as
 * SOCK_NONBLOCK.  The fd, or -1 with errno.
 */
int listen_tcp(const char *addr, unsigned int port, bool reuseport, int flags);

/* TCP_NODELAY on a connection; failing is harmless. */
void tcp_nodelay(int fd);

#endif /* REDIS_LISTEN_H */
