// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/vcore/live: how many MCPs, bytes of region memory and
 * fd taps exist right now; tests read it to prove that nothing outlives its
 * process.  /sys/kernel/debug/vcore/<pid>/stats: that MCP's counters, with
 * kernel_blocks per vcore (kernel_blocks_vcore<id>, for those above 0).
 * /sys/kernel/debug/vcore/<pid>/vcores: that MCP's state and each vcore's,
 * for finding out why a process stopped making progress.
 */
#include <linux/debugfs.h>
#include <linux/pid.h>
#include <linux/seq_file.h>

#include "debugfs.h"
#include "fdtap.h"
#include "proc.h"

static struct dentry *vcore_debugfs_dir;

static const char *const drop_names[VCORE_DROP_NR] = {
	[VCORE_DROP_DYING] = "dying",
	[VCORE_DROP_BAD_VCOREID] = "bad_vcoreid",
	[VCORE_DROP_BAD_EVQ] = "bad_evq",
	[VCORE_DROP_BAD_MBOX] = "bad_mbox",
	[VCORE_DROP_BAD_MBOX_TYPE] = "bad_mbox_type",
	[VCORE_DROP_BAD_EV_TYPE] = "bad_ev_type",
	[VCORE_DROP_UCQ_NOT_READY] = "ucq_not_ready",
	[VCORE_DROP_UCQ_CORRUPT] = "ucq_corrupt",
	[VCORE_DROP_UCQ_NOMEM] = "ucq_nomem",
	[VCORE_DROP_CEQ_CORRUPT] = "ceq_corrupt",
	[VCORE_DROP_NO_VCORE] = "no_vcore",
};

static int live_show(struct seq_file *m, void *unused)
{
	unsigned long procs, bytes;

	vcore_proc_live(&procs, &bytes);
	seq_printf(m, "procs %lu\nbytes %lu\ntaps %ld\n", procs, bytes,
		   vcore_taps_live());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(live);

static int stats_show(struct seq_file *m, void *unused)
{
	struct vcore_proc *p = m->private;
	struct mcp_stats *st = &p->mcp.stats;
	s64 blocks = 0;
	unsigned int i;

	seq_printf(m, "sent %lld\n", atomic64_read(&st->sent));
	seq_printf(m, "posted_ucq %lld\nposted_bitmap %lld\nposted_ceq %lld\n",
		   atomic64_read(&st->posted[EV_MBOX_UCQ]),
		   atomic64_read(&st->posted[EV_MBOX_BITMAP]),
		   atomic64_read(&st->posted[EV_MBOX_CEQ]));
	seq_printf(m, "notifs %lld\nindirs %lld\nspams %lld\n",
		   atomic64_read(&st->notifs), atomic64_read(&st->indirs),
		   atomic64_read(&st->spams));
	for (i = 0; i < VCORE_DROP_NR; i++)
		seq_printf(m, "dropped_%s %lld\n", drop_names[i],
			   atomic64_read(&st->dropped[i]));
	seq_printf(m, "alarms_set %lld\nalarms_fired %lld\nalarms_held %lld\n",
		   atomic64_read(&p->alarms.set),
		   atomic64_read(&p->alarms.fired),
		   atomic64_read(&p->alarms.held));
	seq_printf(m, "arena_pages_used %lu\n", READ_ONCE(p->mcp.arena.nr_used));
	seq_printf(m, "taps %u\ntap_fires %lld\ntap_pollfree %lld\n",
		   vcore_taps_nr(p), atomic64_read(&p->tap_fires),
		   atomic64_read(&p->tap_pollfree));
	for (i = 0; i < p->mcp.max_vcores; i++)
		blocks += atomic64_read(&p->vt[i].blocked.count);
	seq_printf(m, "kernel_blocks %lld\n", blocks);
	/* per vcore, those that ever blocked */
	for (i = 0; i < p->mcp.max_vcores; i++) {
		s64 n = atomic64_read(&p->vt[i].blocked.count);

		if (n)
			seq_printf(m, "kernel_blocks_vcore%u %lld\n", i, n);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static const char *const proc_state_names[] = {
	[VCORE_PROC_RUNNABLE_S] = "RUNNABLE_S",
	[VCORE_PROC_RUNNABLE_M] = "RUNNABLE_M",
	[VCORE_PROC_RUNNING_M] = "RUNNING_M",
	[VCORE_PROC_WAITING] = "WAITING",
	[VCORE_PROC_DYING] = "DYING",
};

static void vcores_show_list(struct seq_file *m, struct mcp *mcp,
			     struct list_head *l, const char *where)
{
	struct mcp_vcore *vc;

	list_for_each_entry(vc, l, list) {
		struct vcore_preempt_data *vcpd = mcp_vcpd(mcp, vc->id);

		seq_printf(m, "vcore %u %s", vc->id, where);
		if (vc->mapped)
			seq_printf(m, " pcore %u", vc->pcoreid);
		seq_printf(m, " attached %d resume_vcore_ctx %d flags %#x notif_disabled %u notif_pending %u preempt_pending %llu\n",
			   vc->attached, vc->resume_vcore_ctx,
			   READ_ONCE(vcpd->flags), READ_ONCE(vcpd->notif_disabled),
			   READ_ONCE(vcpd->notif_pending),
			   READ_ONCE(mcp->procinfo->vcoremap[vc->id].preempt_pending));
	}
}

static int vcores_show(struct seq_file *m, void *unused)
{
	struct vcore_proc *p = m->private;
	struct mcp *mcp = &p->mcp;
	struct vcore_procdata *pd = mcp_procdata(mcp);
	unsigned int state;
	unsigned long flags;

	vc_lock_irqsave(&mcp->lock, flags);
	state = mcp->state;
	seq_printf(m, "state %s num_vcores %u max_vcores %u amt_wanted %llu\n",
		   state < ARRAY_SIZE(proc_state_names) &&
		   proc_state_names[state] ? proc_state_names[state] : "?",
		   mcp->num_vcores, mcp->max_vcores,
		   READ_ONCE(pd->res_req[VCORE_RES_CORES].amt_wanted));
	vcores_show_list(m, mcp, &mcp->online, "online");
	vcores_show_list(m, mcp, &mcp->bulk_preempted, "preempted");
	vcores_show_list(m, mcp, &mcp->inactive, "inactive");
	vc_unlock_irqrestore(&mcp->lock, flags);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vcores);

void vcore_debugfs_init(void)
{
	vcore_debugfs_dir = debugfs_create_dir("vcore", NULL);
	debugfs_create_file("live", 0444, vcore_debugfs_dir, NULL, &live_fops);
}

void vcore_debugfs_exit(void)
{
	debugfs_remove_recursive(vcore_debugfs_dir);
}

/* The directory is removed when the owner releases the device. */
struct dentry *vcore_debugfs_add(struct vcore_proc *p)
{
	char name[16];
	struct dentry *d;

	snprintf(name, sizeof(name), "%d", pid_nr(p->tgid));
	d = debugfs_create_dir(name, vcore_debugfs_dir);
	debugfs_create_file("stats", 0444, d, p, &stats_fops);
	debugfs_create_file("vcores", 0444, d, p, &vcores_fops);
	return d;
}

void vcore_debugfs_remove(struct dentry *d)
{
	debugfs_remove_recursive(d);
}
