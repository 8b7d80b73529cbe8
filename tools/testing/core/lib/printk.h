/* SPDX-License-Identifier: GPL-2.0 */
/*
 * printk and its pr_* forms write to stderr, with the level in front.
 * Warnings and errors are counted, so a test can tell an expected
 * rate-limited warning from an unexpected one.  The ratelimited forms
 * print the first few of each call site and count every one.
 */
#ifndef _H_PRINTK_H
#define _H_PRINTK_H

#define KERN_ERR	"<3>"
#define KERN_WARNING	"<4>"
#define KERN_INFO	"<6>"
#define KERN_DEBUG	"<7>"

void h_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void h_printk_limited(int *budget, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define printk(fmt, ...)	h_printk(fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)	h_printk(KERN_ERR fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	h_printk(KERN_WARNING fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	h_printk(KERN_INFO fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)	h_printk(KERN_DEBUG fmt, ##__VA_ARGS__)

#define H_PRINTK_BURST	5

#define pr_warn_ratelimited(fmt, ...)					\
	({ static int __budget = H_PRINTK_BURST;			\
	   h_printk_limited(&__budget, KERN_WARNING fmt, ##__VA_ARGS__); })
#define pr_err_ratelimited(fmt, ...)					\
	({ static int __budget = H_PRINTK_BURST;			\
	   h_printk_limited(&__budget, KERN_ERR fmt, ##__VA_ARGS__); })

/* Messages at warning level or worse, and WARN_ON()s, since the start. */
unsigned long h_warnings(void);
/* Silence printing (counting goes on), e.g. while fuzzing. */
void h_printk_quiet(bool quiet);

#endif /* _H_PRINTK_H */
