/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every core unit test shares: a fresh MCP per test (4 vcores, a
 * 128-page arena, VCPD mboxes set up as UCQs, fake user addresses), and a
 * teardown that checks the MCP's invariants, the reader, the counting
 * allocator (no leaks) and the warnings count.  TAP comes from libvcore's
 * tests/tap.h.
 */
#ifndef _H_UNIT_H
#define _H_UNIT_H

#include "lib/hmcp.h"
#include "lib/reader.h"
#include "tap.h"

#define NR_VC		4
#define ARENA_PAGES	128

static struct h_mcp *H;
static unsigned long warn0;
static unsigned int reader_errs0;
static unsigned long want_warnings;

static struct h_mcp *setup_opts(const struct h_opts *o)
{
	H = h_mcp_create(o);
	if (!H) {
		diag("h_mcp_create failed");
		exit(1);
	}
	warn0 = h_warnings();
	reader_errs0 = h_reader_errors();
	want_warnings = 0;
	return H;
}

/* The usual MCP: VCPD mboxes ready, every vcore inactive, RUNNABLE_S. */
static __maybe_unused struct h_mcp *setup(void)
{
	struct h_opts o = { .max_vcores = NR_VC, .arena_pages = ARENA_PAGES };

	setup_opts(&o);
	h_vcpd_mboxes_init(H);
	return H;
}

static void teardown(void)
{
	expect_eq(h_check(H), 0);
	expect_eq(h_reader_errors() - reader_errs0, 0);
	expect_eq(h_warnings() - warn0, want_warnings);
	h_watch_clear();
	h_mcp_destroy(H);
	H = NULL;
	if (h_alloc_live()) {
		h_alloc_leaks(stdout);
		expect_eq(h_alloc_live(), 0);
	}
}

/* A message that says who sent it. */
static inline __maybe_unused struct event_msg msg_of(u16 type, u32 arg2)
{
	struct event_msg m = {
		.ev_type = type,
		.ev_arg1 = 0x5a,
		.ev_arg2 = arg2,
		.ev_arg3 = 0xa5a5a5a5a5a5a5a5ULL ^ arg2,
		.ev_arg4 = (u64)type << 32 | arg2,
	};

	return m;
}

static inline __maybe_unused bool msg_is(const struct event_msg *m, u16 type, u32 arg2)
{
	struct event_msg want = msg_of(type, arg2);

	return !memcmp(m, &want, sizeof(want));
}

/* Messages waiting in a VCPD mbox (a UCQ here), not taken. */
static inline __maybe_unused unsigned int pub_count(u32 v)
{
	return h_ucq_count(H, &h_vcpd_mbox(H, v, false)->ucq);
}

static inline __maybe_unused unsigned int priv_count(u32 v)
{
	return h_ucq_count(H, &h_vcpd_mbox(H, v, true)->ucq);
}

/* Take one message from a VCPD mbox; false if empty. */
static inline __maybe_unused bool take_pub(u32 v, struct event_msg *m)
{
	return h_mbox_take(H, h_vcpd_mbox(H, v, false), m);
}

static inline __maybe_unused bool take_priv(u32 v, struct event_msg *m)
{
	return h_mbox_take(H, h_vcpd_mbox(H, v, true), m);
}

static inline __maybe_unused u8 pending(u32 v)
{
	return h_vcpd(H, v)->notif_pending;
}

static inline __maybe_unused void clear_pending(void)
{
	for (u32 v = 0; v < H->m.max_vcores; v++)
		h_vcpd(H, v)->notif_pending = 0;
}

static inline __maybe_unused bool can_rcv(u32 v)
{
	return h_vcpd(H, v)->flags & VC_CAN_RCV_MSG;
}

/* Every VCPD public mbox's message count, as "v0,v1,v2,v3". */
static inline __maybe_unused const char *pub_counts(char *buf, size_t len)
{
	size_t at = 0;

	for (u32 v = 0; v < H->m.max_vcores && at < len; v++)
		at += (size_t)snprintf(buf + at, len - at, v ? ",%u" : "%u",
				       pub_count(v));
	return buf;
}

#define expect_str(a, b)						\
	do {								\
		const char *__a = (a), *__b = (b);			\
		if (strcmp(__a, __b)) {					\
			tap_test_failed++;				\
			diag("%s:%d: expected %s == \"%s\" (got \"%s\")",	\
			     __FILE__, __LINE__, #a, __b, __a);		\
		}							\
	} while (0)

/*
 * A test of a known core bug, TAP's TODO: "not ok N name # TODO why" while
 * the bug is there (not counted as a failure), "ok N name # TODO why" once
 * it is fixed (then drop the TODO).
 */
#define RUN_TODO(name, why)						\
	do {								\
		tap_test_failed = 0;					\
		test_##name();						\
		printf("%sok %d %s # TODO %s\n",			\
		       tap_test_failed ? "not " : "", ++tap_n, #name, why); \
	} while (0)

#endif /* _H_UNIT_H */
