/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * A little TAP for the unit tests: one "ok N name" / "not ok N name" line
 * per test, "# " diagnostics, the plan at the end, and a watchdog that
 * bails out of a hung test instead of hanging make.
 *
 *	TEST(name) { ...; expect(cond); ... }
 *	int main(void) { tap_start(60); RUN(name); return tap_done(); }
 */
#ifndef _VCORE_TEST_TAP_H
#define _VCORE_TEST_TAP_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int tap_n, tap_failed, tap_test_failed;

static void __attribute__((format(printf, 1, 2))) diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* A failed expectation fails the running test and says where. */
#define expect(cond)							\
	do {								\
		if (!(cond)) {						\
			tap_test_failed++;				\
			diag("%s:%d: expected %s", __FILE__, __LINE__,	\
			     #cond);					\
		}							\
	} while (0)

/* The same with the two values, for integers. */
#define expect_eq(a, b)							\
	do {								\
		unsigned long long __a = (unsigned long long)(a);	\
		unsigned long long __b = (unsigned long long)(b);	\
		if (__a != __b) {					\
			tap_test_failed++;				\
			diag("%s:%d: expected %s == %s (%llu != %llu)",	\
			     __FILE__, __LINE__, #a, #b, __a, __b);	\
		}							\
	} while (0)

#define TEST(name)	static void test_##name(void)

#define RUN(name)							\
	do {								\
		tap_test_failed = 0;					\
		test_##name();						\
		tap_ok(!tap_test_failed, #name);			\
	} while (0)

static void tap_ok(int pass, const char *name)
{
	printf("%sok %d %s\n", pass ? "" : "not ", ++tap_n, name);
	fflush(stdout);
	if (!pass)
		tap_failed++;
}

static void tap_watchdog(int sig)
{
	static const char msg[] = "Bail out! watchdog: test hung\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(2);
}

static void tap_start(unsigned int timeout_s)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, tap_watchdog);
	alarm(timeout_s);
}

static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN	1
#else
#define UNDER_TSAN	0
#endif

#endif /* _VCORE_TEST_TAP_H */
