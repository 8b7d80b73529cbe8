/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libvcore: the user side of vcore.
 *
 * vcore_dev_open() opens /dev/vcore, does the API handshake and maps
 * procinfo and procdata; everything else in the library builds on it.
 * vcore_ctx.h has vcore context (entry, notifications, yield, the pop of
 * a saved context), uthread.h the uthreads built on it.
 */
#ifndef _VCORE_H
#define _VCORE_H

#include <linux/vcore.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vcore_dev {
	int fd;
	struct vcore_api api;		/* what the module answered */
	/* kernel-written, read-only: the k prefix marks it (as liburing) */
	const struct vcore_procinfo *kprocinfo;
	struct vcore_procdata *procdata;
};

/* Open, handshake and map.  Returns 0 or a negative errno. */
int vcore_dev_open(struct vcore_dev *dev);

/* Unmap and close; safe on a dev that failed to open. */
void vcore_dev_close(struct vcore_dev *dev);

/* vcoreid's VCPD, or NULL if vcoreid >= api.max_vcores. */
struct vcore_preempt_data *vcore_dev_vcpd(const struct vcore_dev *dev,
					  unsigned int vcoreid);

/* Whether the module implements ioctl command number nr. */
int vcore_dev_has_ioctl(const struct vcore_dev *dev, unsigned int nr);

#ifdef __cplusplus
}
#endif

#endif /* _VCORE_H */
