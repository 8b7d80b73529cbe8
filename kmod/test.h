/* SPDX-License-Identifier: GPL-2.0 */
/* Test-only commands (module parameter test=1). */
#ifndef _VCORE_TEST_H
#define _VCORE_TEST_H

#include <linux/compiler_types.h>
#include <linux/types.h>

struct vcore_proc;
struct vcore_test_arrange;
struct vcore_test_ipi;
struct vcore_test_kevent;
struct vcore_test_produce;

bool vcore_test_enabled(void);
void vcore_test_preempt_delay(void);
long vcore_test_arrange(struct vcore_proc *p, const struct vcore_test_arrange *a);
long vcore_test_kevent(struct vcore_proc *p, const struct vcore_test_kevent *k);
long vcore_test_produce(struct vcore_proc *p,
			const struct vcore_test_produce *a);
long vcore_test_ipi(struct vcore_test_ipi *t);

#endif /* _VCORE_TEST_H */
