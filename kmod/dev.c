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

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "../uapi/vcore_abi_check.h"
#include "debugfs.h"
#include "ioctl.h"
#include "mmap.h"
#include "pcores.h"
#include "proc.h"
#include "provision.h"
#include "vcore_run.h"

static char *cpus;
module_param(cpus, charp, 0444);
MODULE_PARM_DESC(cpus,
		 "CPU list the module grants to vcores (default: all online CPUs but CPU 0)");

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
 * The owner's file is gone: no more events, its vcore threads leave,
 * its pcores go to others.  In-flight senders and IPIs hold their own
 * references on the MCP.
 */
static int vcore_release(struct inode *inode, struct file *file)
{
	struct vcore_proc *p = file->private_data;

	vcore_proc_unregister(p);
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
	.mode	= 0666,
};

static int __init vcore_init(void)
{
	int ret;

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
	vcore_debugfs_exit();
	vcore_run_exit();
	vcore_provision_exit();
	vcore_procs_exit();
}

module_init(vcore_init);
module_exit(vcore_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Akaros-style event delivery and vcore notification");
