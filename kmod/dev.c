// SPDX-License-Identifier: GPL-2.0
/*
 * vcore: Akaros-style event delivery and vcore notification for Linux.
 *
 * The /dev/vcore misc device.  Opening it makes the calling process an MCP;
 * the open file is the MCP's handle, and its release tears the MCP down.
 * This file puts the pieces together: it builds an MCP from proc.c's
 * object, vcore_run.c's threads and debugfs.c's directory, and takes it
 * down again, and brings the module up and down.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>

#include "../uapi/vcore_abi_check.h"
#include "alarm.h"
#include "debugfs.h"
#include "fdtap.h"
#include "ioctl.h"
#include "mmap.h"
#include "pcores.h"
#include "proc.h"
#include "provision.h"
#include "vcore_run.h"

/* Reads back as the CPUs managed, whether cpus= was given or not. */
static int cpus_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%*pbl\n",
			  cpumask_pr_args(vcore_pcores_mask()));
}

static const struct kernel_param_ops cpus_ops = {
	.set	= param_set_charp,
	.get	= cpus_get,
	.free	= param_free_charp,
};

static char *cpus;
module_param_cb(cpus, &cpus_ops, &cpus, 0444);
__MODULE_PARM_TYPE(cpus, "charp");
MODULE_PARM_DESC(cpus,
		 "CPU list the module grants to vcores (default: all online CPUs but CPU 0)");

/* Octal both ways: mode=0660 sets it, and it reads back as 0660. */
static int mode_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%04o\n", *(unsigned short *)kp->arg);
}

static const struct kernel_param_ops mode_ops = {
	.set	= param_set_ushort,
	.get	= mode_get,
};

static unsigned short mode = 0666;
module_param_cb(mode, &mode_ops, &mode, 0444);
__MODULE_PARM_TYPE(mode, "ushort");
MODULE_PARM_DESC(mode,
		 "permissions /dev/vcore is created with (default 0666; udev rules may change them)");

/*
 * The calling process becomes an MCP: its threads are ready before the
 * registry (and so provisioning) can see it.  -EBUSY if it already is one.
 */
static int vcore_open(struct inode *inode, struct file *file)
{
	struct vcore_proc *p;
	int ret;

	p = vcore_proc_create();
	if (IS_ERR(p))
		return PTR_ERR(p);
	vcore_threads_init(p);
	vcore_alarms_init(p);
	ret = vcore_proc_register(p);
	if (ret) {
		vcore_proc_put(p);
		return ret;
	}
	p->debugfs = vcore_debugfs_add(p);
	file->private_data = p;
	return 0;
}

/*
 * The owner's file is gone: its fd taps go, no more events, no alarm
 * fires once vcore_alarms_release() returns, its vcore threads leave,
 * its pcores go to others.  In-flight senders and IPIs hold their own
 * references on the MCP.
 */
static int vcore_release(struct inode *inode, struct file *file)
{
	struct vcore_proc *p = file->private_data;

	vcore_taps_release(p);
	vcore_proc_unregister(p);
	vcore_alarms_release(p);
	vcore_threads_release(p);
	vcore_provision(false);
	vcore_debugfs_remove(p->debugfs);
	vcore_proc_put(p);
	return 0;
}

static const struct file_operations vcore_fops = {
	.owner		= THIS_MODULE,
	.open		= vcore_open,
	.release	= vcore_release,
	.unlocked_ioctl	= vcore_ioctl,
	.mmap		= vcore_mmap,
	.llseek		= noop_llseek,
};

static struct miscdevice vcore_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= VCORE_DEVICE_NAME,
	.fops	= &vcore_fops,
};

static int __init vcore_init(void)
{
	int ret;

	if (mode & ~0777) {
		pr_err("mode=%#o is not a permission mode\n", mode);
		return -EINVAL;
	}
	vcore_miscdev.mode = mode;
	ret = vcore_pcores_init(cpus);
	if (ret)
		return ret;
	ret = vcore_procs_init();
	if (ret)
		return ret;
	ret = vcore_run_init();
	if (ret)
		goto err_procs;
	vcore_debugfs_init();
	ret = misc_register(&vcore_miscdev);
	if (ret)
		goto err_debugfs;
	pr_info("managing %u pcores, api %d\n", vcore_pcores_nr_managed(),
		VCORE_API_VERSION);
	return 0;

err_debugfs:
	vcore_debugfs_exit();
	vcore_run_exit();
err_procs:
	vcore_provision_exit();
	vcore_procs_exit();
	return ret;
}

static void __exit vcore_exit(void)
{
	misc_deregister(&vcore_miscdev);
	vcore_taps_exit();
	vcore_debugfs_exit();
	vcore_run_exit();
	vcore_provision_exit();
	vcore_procs_exit();
}

module_init(vcore_init);
module_exit(vcore_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Akaros-style event delivery and vcore notification");
