/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test-only commands and hooks: built into the test build of the module
 * only (VCORE_TEST=1, see Kbuild), and there enabled by the module
 * parameter test=1.  In the default build they are empty inlines and
 * test.c is not compiled.
 */
#ifndef _VCORE_TEST_H
#define _VCORE_TEST_H

#include <linux/compiler_types.h>
#include <linux/types.h>

struct vcore_proc;
struct vcore_test_arrange;
struct vcore_test_ipi;
struct vcore_test_kevent;
struct vcore_test_produce;

#ifdef VCORE_TEST
bool vcore_test_enabled(void);
void vcore_test_preempt_delay(void);
long vcore_test_arrange(struct vcore_proc *p, const struct vcore_test_arrange *a);
long vcore_test_kevent(struct vcore_proc *p, const struct vcore_test_kevent *k);
long vcore_test_produce(struct vcore_proc *p,
			const struct vcore_test_produce *a);
long vcore_test_ipi(struct vcore_test_ipi *t);
#else
static inline bool vcore_test_enabled(void)
{
	return false;
}

static inline void vcore_test_preempt_delay(void)
{
}
#endif

#endif /* _VCORE_TEST_H */
