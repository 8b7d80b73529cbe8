// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/vcore/live: how many MCPs and how many bytes of region
 * memory exist right now.  Tests read it to prove that nothing outlives its
 * process.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "debugfs.h"
#include "proc.h"

static struct dentry *vcore_debugfs_dir;

static int live_show(struct seq_file *m, void *unused)
{
	unsigned long procs, bytes;

	vcore_proc_live(&procs, &bytes);
	seq_printf(m, "procs %lu\nbytes %lu\n", procs, bytes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(live);

void vcore_debugfs_init(void)
{
	vcore_debugfs_dir = debugfs_create_dir("vcore", NULL);
	debugfs_create_file("live", 0444, vcore_debugfs_dir, NULL, &live_fops);
}

void vcore_debugfs_exit(void)
{
	debugfs_remove_recursive(vcore_debugfs_dir);
}
