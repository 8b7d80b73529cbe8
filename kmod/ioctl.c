// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch.  Commands are looked up by number; a known number with
 * the wrong size or direction is -EINVAL, an unknown one -ENOTTY.  Every
 * command but VCORE_IOC_API needs the handshake first (-EBADFD) and must
 * come from the owning process (-EPERM).
 */
#include <linux/fs.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "ioctl.h"
#include "mmap.h"
#include "pcores.h"
#include "proc.h"

struct vcore_cmd {
	unsigned int cmd;
	long (*fn)(struct vcore_proc *p, void __user *arg);
};

static long vcore_ioc_api(struct vcore_proc *p, void __user *arg);

static const struct vcore_cmd vcore_cmds[] = {
	[VCORE_IOC_NR_API] = { VCORE_IOC_API, vcore_ioc_api },
};

static void supported_ioctls(__u64 mask[2])
{
	unsigned int nr;

	for (nr = 0; nr < ARRAY_SIZE(vcore_cmds); nr++)
		if (vcore_cmds[nr].fn)
			mask[nr / 64] |= 1ULL << (nr % 64);
}

/*
 * The handshake: the caller names the version it speaks; we answer with
 * what we support and where the regions are.  Exactly once per fd.
 */
static long vcore_ioc_api(struct vcore_proc *p, void __user *arg)
{
	struct vcore_api api;
	size_t in_head = offsetofend(struct vcore_api, flags);

	if (copy_from_user(&api, arg, sizeof(api)))
		return -EFAULT;
	if (api.api != VCORE_API_VERSION || api.flags)
		return -EINVAL;
	if (memchr_inv((u8 *)&api + in_head, 0, sizeof(api) - in_head))
		return -EINVAL;
	if (test_bit(VCORE_PROC_API_DONE, &p->flags))
		return -EBUSY;

	api.features = VCORE_FEAT_TOPOLOGY;
	supported_ioctls(api.ioctls);
	api.procinfo_offset = VCORE_OFF_PROCINFO;
	api.procinfo_size = p->procinfo_size;
	api.procdata_offset = VCORE_OFF_PROCDATA;
	api.procdata_size = p->procdata_size;
	api.arena_offset = VCORE_OFF_ARENA;
	api.arena_max_size = 0;
	api.vcpd_offset = sizeof(struct vcore_procdata);
	api.vcpd_size = sizeof(struct vcore_preempt_data);
	api.max_vcores = p->max_vcores;
	api.max_nr_event = VCORE_MAX_NR_EVENT;
	api.nr_pcores = vcore_pcores_nr_managed();
	api.fp_state_size = vcore_pcores_fp_state_size();
	if (copy_to_user(arg, &api, sizeof(api)))
		return -EFAULT;
	if (test_and_set_bit(VCORE_PROC_API_DONE, &p->flags))
		return -EBUSY;
	return 0;
}

/**
 * vcore_ioctl() - dispatch a /dev/vcore command
 * @file: the open device
 * @cmd: the command
 * @arg: its argument, a user address
 *
 * Return: the command's result; -ENOTTY for an unknown command, -EINVAL
 * for a known one with the wrong size or direction, -EPERM from a process
 * that is not the owner, -EBADFD before the handshake.
 */
long vcore_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vcore_proc *p = file->private_data;
	const struct vcore_cmd *c;
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != VCORE_IOC_MAGIC || nr >= ARRAY_SIZE(vcore_cmds))
		return -ENOTTY;
	c = &vcore_cmds[nr];
	if (!c->fn)
		return -ENOTTY;
	if (cmd != c->cmd)
		return -EINVAL;
	if (!vcore_proc_is_owner(p))
		return -EPERM;
	if (nr != VCORE_IOC_NR_API && !test_bit(VCORE_PROC_API_DONE, &p->flags))
		return -EBADFD;
	return c->fn(p, (void __user *)arg);
}
