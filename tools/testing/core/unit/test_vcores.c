// SPDX-License-Identifier: GPL-2.0
/* The vcore lists and the process state (kmod/core/vcores.c). */
#include "vcores.c"

#include "unit.h"

static char buf[64];

static const char *list(int which)
{
	return h_list_str(H, which, buf, sizeof(buf));
}

static int arrange(unsigned int state, const u8 *list_of, const u16 *order)
{
	u32 pcoreid[VCORE_MAX_VCORES] = { 0 };

	for (unsigned int i = 0; i < H->m.max_vcores; i++)
		pcoreid[i] = i;
	return mcp_arrange(&H->m, state, list_of, order, pcoreid);
}

TEST(a_new_mcp_has_every_vcore_inactive_in_id_order)
{
	setup();
	expect_str(list(MCP_INACTIVE), "0,1,2,3");
	expect_str(list(MCP_ONLINE), "");
	expect_str(list(MCP_BULK_PREEMPTED), "");
	expect_eq(H->m.state, VCORE_PROC_RUNNABLE_S);
	expect_eq(H->m.num_vcores, 0);
	expect_eq(H->m.procinfo->state, VCORE_PROC_RUNNABLE_S);
	expect_eq(H->m.procinfo->coremap_seq, 2);
	teardown();
}

TEST(arrange_rejects_bad_input_and_changes_nothing)
{
	u8 list_of[NR_VC] = { 0, 1, 2, 2 };
	u16 order[NR_VC] = { 0, 1, 2, 3 };
	u32 seq;

	setup();
	seq = H->m.procinfo->coremap_seq;
	expect_eq(arrange(0, list_of, order), -EINVAL);
	expect_eq(arrange(VCORE_PROC_DYING, list_of, order), -EINVAL);
	expect_eq(arrange(99, list_of, order), -EINVAL);
	order[3] = NR_VC;				/* out of range */
	expect_eq(arrange(VCORE_PROC_RUNNING_M, list_of, order), -EINVAL);
	order[3] = 2;					/* duplicate */
	expect_eq(arrange(VCORE_PROC_RUNNING_M, list_of, order), -EINVAL);
	order[3] = 3;
	list_of[3] = MCP_INACTIVE + 1;			/* no such list */
	expect_eq(arrange(VCORE_PROC_RUNNING_M, list_of, order), -EINVAL);
	expect_str(list(MCP_INACTIVE), "0,1,2,3");
	expect_eq(H->m.procinfo->coremap_seq, seq);
	list_of[3] = MCP_INACTIVE;
	expect_eq(arrange(VCORE_PROC_RUNNING_M, list_of, order), 0);
	expect_eq(H->m.procinfo->coremap_seq, seq + 2);
	teardown();
}

TEST(arrange_sets_lists_maps_and_procinfo)
{
	struct vcore_procinfo *pi;

	setup();
	pi = H->m.procinfo;
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:3,1 B:0 I:2");
	expect_str(list(MCP_ONLINE), "3,1");
	expect_str(list(MCP_BULK_PREEMPTED), "0");
	expect_str(list(MCP_INACTIVE), "2");
	expect_eq(H->m.num_vcores, 2);
	expect(H->m.vcores[3].mapped && H->m.vcores[1].mapped);
	expect(!H->m.vcores[0].mapped && !H->m.vcores[2].mapped);
	expect_eq(pi->num_vcores, 2);
	expect_eq(pi->state, VCORE_PROC_RUNNING_M);
	expect(pi->vcoremap[3].valid && pi->vcoremap[3].pcoreid == 0);
	expect(pi->vcoremap[1].valid && pi->vcoremap[1].pcoreid == 1);
	expect(pi->pcoremap[0].valid && pi->pcoremap[0].vcoreid == 3);
	expect(pi->pcoremap[1].valid && pi->pcoremap[1].vcoreid == 1);
	expect(!pi->pcoremap[2].valid && !pi->vcoremap[0].valid);
	/* everything off again: the maps are cleared */
	h_arrange(H, VCORE_PROC_WAITING, "I:0,1,2,3");
	expect(!pi->pcoremap[0].valid && !pi->pcoremap[1].valid);
	expect(!pi->vcoremap[3].valid);
	expect_eq(pi->num_vcores, 0);
	expect_eq(mcp_list_first(&H->m.online), NULL);
	expect_eq(mcp_list_first(&H->m.inactive), &H->m.vcores[0]);
	teardown();
}

TEST(pcores_past_procinfos_map_are_not_published)
{
	struct h_opts o = { .max_vcores = 4, .nr_pcores = 2 };
	u8 list_of[4] = { MCP_ONLINE, MCP_ONLINE, MCP_INACTIVE, MCP_INACTIVE };
	u16 order[4] = { 0, 1, 2, 3 };
	u32 pcoreid[4] = { 1, 7, 0, 0 };

	setup_opts(&o);
	expect_eq(mcp_arrange(&H->m, VCORE_PROC_RUNNING_M, list_of, order,
			      pcoreid), 0);
	expect(H->m.procinfo->pcoremap[1].valid);
	expect_eq(H->m.procinfo->pcoremap[1].vcoreid, 0);
	expect(H->m.procinfo->vcoremap[1].valid);
	expect_eq(H->m.procinfo->vcoremap[1].pcoreid, 7);
	expect(!H->m.procinfo->pcoremap[7].valid);
	expect(!H->m.procinfo->pcoremap[0].valid);
	teardown();
}

TEST(wakeup_moves_only_waiting_to_runnable_m)
{
	u32 seq;

	setup();
	seq = H->m.procinfo->coremap_seq;
	mcp_wakeup(&H->m);				/* RUNNABLE_S */
	expect_eq(H->m.state, VCORE_PROC_RUNNABLE_S);
	expect_eq(H->m.procinfo->coremap_seq, seq);
	h_arrange(H, VCORE_PROC_WAITING, "I:0,1,2,3");
	seq = H->m.procinfo->coremap_seq;
	mcp_wakeup(&H->m);
	expect_eq(H->m.state, VCORE_PROC_RUNNABLE_M);
	expect_eq(H->m.procinfo->state, VCORE_PROC_RUNNABLE_M);
	expect_eq(H->m.procinfo->coremap_seq, seq + 2);
	mcp_wakeup(&H->m);				/* harmless again */
	expect_eq(H->m.procinfo->coremap_seq, seq + 2);
	teardown();
}

TEST(dying_is_published)
{
	setup();
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0 I:1,2,3");
	mcp_set_dying(&H->m);
	expect_eq(H->m.state, VCORE_PROC_DYING);
	expect_eq(H->m.procinfo->state, VCORE_PROC_DYING);
	mcp_wakeup(&H->m);
	expect_eq(H->m.state, VCORE_PROC_DYING);
	teardown();
}

TEST(max_vcores_of_one_and_of_the_limit)
{
	struct h_opts o = { .max_vcores = 1 };

	setup_opts(&o);
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0");
	expect_eq(H->m.num_vcores, 1);
	teardown();
	o.max_vcores = VCORE_MAX_VCORES;
	setup_opts(&o);
	expect_eq(h_list_count(&H->m.inactive, 1000), VCORE_MAX_VCORES);
	expect_eq(H->m.vcores[VCORE_MAX_VCORES - 1].id, VCORE_MAX_VCORES - 1);
	teardown();
}

static void wants(u64 n)
{
	mcp_procdata(&H->m)->res_req[VCORE_RES_CORES].amt_wanted = n;
}

static u32 vflags(u32 v)
{
	return mcp_vcpd(&H->m, v)->flags;
}

TEST(attach_checks_the_id_twice_and_dying)
{
	setup();
	expect_eq(mcp_attach_vcore(&H->m, NR_VC), -EINVAL);
	expect_eq(mcp_attach_vcore(&H->m, 1), 0);
	expect_eq(mcp_attach_vcore(&H->m, 1), -EBUSY);
	mcp_set_dying(&H->m);
	expect_eq(mcp_attach_vcore(&H->m, 2), -ESRCH);
	teardown();
}

TEST(wanted_is_amt_wanted_less_online_capped_zero_when_waiting_one_when_runnable)
{
	setup();
	wants(3);
	expect_eq(mcp_vcores_wanted(&H->m), 3);
	wants(1000);
	expect_eq(mcp_vcores_wanted(&H->m), NR_VC);
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0 I:1,2,3");
	expect_eq(mcp_vcores_wanted(&H->m), NR_VC - 1);
	h_arrange(H, VCORE_PROC_WAITING, "I:0,1,2,3");
	expect_eq(mcp_vcores_wanted(&H->m), 0);
	/* RUNNABLE_M with none online has work: one, whatever amt_wanted */
	wants(0);
	h_arrange(H, VCORE_PROC_RUNNABLE_M, "B:0 I:1,2,3");
	expect_eq(mcp_vcores_wanted(&H->m), 1);
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0 I:1,2,3");
	expect_eq(mcp_vcores_wanted(&H->m), 0);
	mcp_set_dying(&H->m);
	expect_eq(mcp_vcores_wanted(&H->m), 0);
	teardown();
}

TEST(grant_takes_bulk_preempted_then_inactive_with_a_thread)
{
	struct mcp_vcore *vc;

	setup();
	h_arrange(H, VCORE_PROC_RUNNABLE_M, "B:2,3 I:0,1");
	mcp_vcpd(&H->m, 3)->flags = VC_PREEMPTED;
	expect_eq(mcp_grant_vcore(&H->m, 5), NULL);	/* no thread yet */
	mcp_attach_vcore(&H->m, 3);
	mcp_attach_vcore(&H->m, 1);
	vc = mcp_grant_vcore(&H->m, 5);
	expect_eq(vc, &H->m.vcores[3]);			/* 2 has no thread */
	expect_eq(vc->pcoreid, 5);
	expect(vc->mapped);
	expect_eq(vflags(3) & (VC_PREEMPTED | VC_CAN_RCV_MSG), VC_CAN_RCV_MSG);
	expect_eq(H->m.state, VCORE_PROC_RUNNING_M);
	expect_eq(H->m.procinfo->vcoremap[3].pcoreid, 5);
	expect_eq(mcp_grant_vcore(&H->m, 6), &H->m.vcores[1]);
	expect_str(list(MCP_ONLINE), "3,1");
	expect_eq(mcp_grant_vcore(&H->m, 7), NULL);
	expect_eq(H->m.num_vcores, 2);
	h_arrange(H, VCORE_PROC_WAITING, "I:0,1,2,3");
	expect_eq(mcp_grant_vcore(&H->m, 7), NULL);	/* not while WAITING */
	teardown();
}

TEST(grant_near_a_node_prefers_a_vcore_homed_there)
{
	unsigned int v;

	setup();
	h_arrange(H, VCORE_PROC_RUNNABLE_M, "I:0,1,2,3");
	for (v = 0; v < 4; v++) {
		H->m.vcores[v].home_node = v >= 2;
		mcp_attach_vcore(&H->m, v);
	}
	expect_eq(mcp_grant_vcore_near(&H->m, 5, 1), &H->m.vcores[2]);
	expect_eq(mcp_grant_vcore_near(&H->m, 6, 0), &H->m.vcores[0]);
	expect_eq(mcp_grant_vcore_near(&H->m, 7, 1), &H->m.vcores[3]);
	/* none homed there: the list's order */
	expect_eq(mcp_grant_vcore_near(&H->m, 8, 1), &H->m.vcores[1]);
	expect_str(list(MCP_ONLINE), "2,0,3,1");
	teardown();
}

TEST(yield_refuses_pending_and_the_last_out_waits)
{
	struct vcore_procinfo *pi;

	setup();
	pi = H->m.procinfo;
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0,1 I:2,3");
	expect_eq(mcp_yield_vcore(&H->m, 2, false), -EPERM);	/* offline */
	expect_eq(mcp_yield_vcore(&H->m, NR_VC, false), -EPERM);
	mcp_vcpd(&H->m, 0)->notif_pending = 1;
	expect_eq(mcp_yield_vcore(&H->m, 0, false), -EAGAIN);
	expect_str(list(MCP_ONLINE), "0,1");
	mcp_vcpd(&H->m, 0)->notif_pending = 0;
	expect_eq(mcp_yield_vcore(&H->m, 0, true), -EAGAIN);	/* nice */
	pi->vcoremap[0].preempt_pending = 99;
	expect_eq(mcp_yield_vcore(&H->m, 0, true), 0);
	expect_eq(pi->vcoremap[0].preempt_pending, 0);
	expect_str(list(MCP_INACTIVE), "0,2,3");
	expect_eq(H->m.state, VCORE_PROC_RUNNING_M);
	expect_eq(mcp_yield_vcore(&H->m, 1, false), 0);
	expect_eq(H->m.state, VCORE_PROC_WAITING);
	expect_eq(pi->state, VCORE_PROC_WAITING);
	expect_eq(pi->num_vcores, 0);
	/* a nice yield of the last one: it still wants it, RUNNABLE_M */
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0 I:1,2,3");
	pi->vcoremap[0].preempt_pending = 99;
	expect_eq(mcp_yield_vcore(&H->m, 0, true), 0);
	expect_eq(H->m.state, VCORE_PROC_RUNNABLE_M);
	expect_eq(pi->state, VCORE_PROC_RUNNABLE_M);
	teardown();
}

/* A message lands (notif_pending) between the two looks of a yield. */
static void set_pending(void *arg, const volatile void *addr,
			unsigned int kind)
{
	(void)addr;
	(void)kind;
	*(__u8 *)arg = 1;
}

TEST(yield_goes_back_online_if_a_message_came_while_leaving)
{
	setup();
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:1 I:0,2,3");
	h_watch(&mcp_vcpd(&H->m, 1)->notif_pending, 1, H_LOAD, 1, 1,
		set_pending, &mcp_vcpd(&H->m, 1)->notif_pending);
	expect_eq(mcp_yield_vcore(&H->m, 1, false), -EAGAIN);
	h_watch_clear();
	expect_str(list(MCP_ONLINE), "1");
	expect(H->m.vcores[1].mapped);
	expect_eq(H->m.num_vcores, 1);
	expect_eq(H->m.state, VCORE_PROC_RUNNING_M);
	expect_eq(H->m.procinfo->vcoremap[1].valid, 1);
	teardown();
}

TEST(preempt_one_goes_inactive_all_go_bulk)
{
	struct vcore_procinfo *pi;

	setup();
	pi = H->m.procinfo;
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0,1,2 I:3");
	expect_eq(mcp_preempt_vcore(&H->m, 3, false), -EPERM);
	expect_eq(mcp_preempt_vcore(&H->m, NR_VC, false), -EPERM);
	expect_eq(mcp_preempt_vcore(&H->m, 1, false), 2);
	expect_str(list(MCP_INACTIVE), "1,3");
	expect_eq(pi->vcoremap[1].nr_preempts_done, 1);
	expect_eq(mcp_preempt_vcore(&H->m, 0, true), 1);
	expect_eq(mcp_preempt_vcore(&H->m, 2, true), 0);
	expect_str(list(MCP_BULK_PREEMPTED), "2,0");
	expect_eq(H->m.state, VCORE_PROC_RUNNABLE_M);
	expect_eq(pi->num_vcores, 0);
	teardown();
}

TEST(change_vcore_swaps_online_and_keeps_the_pcore)
{
	setup();
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0,1 I:2,3");
	mcp_attach_vcore(&H->m, 2);
	expect_eq(mcp_change_vcore(&H->m, 0, 0), -EINVAL);
	expect_eq(mcp_change_vcore(&H->m, 0, NR_VC), -EINVAL);
	expect_eq(mcp_change_vcore(&H->m, 2, 3), -EPERM);	/* offline */
	expect_eq(mcp_change_vcore(&H->m, 0, 1), -EBUSY);
	expect_eq(mcp_change_vcore(&H->m, 0, 3), -EINVAL);	/* no thread */
	mcp_vcpd(&H->m, 0)->flags = VC_K_LOCK;
	expect_eq(mcp_change_vcore(&H->m, 0, 2), -EAGAIN);
	mcp_vcpd(&H->m, 0)->flags = 0;
	mcp_vcpd(&H->m, 2)->flags = VC_PREEMPTED;
	expect_eq(mcp_change_vcore(&H->m, 0, 2), (int)H->m.vcores[0].pcoreid);
	expect_str(list(MCP_ONLINE), "1,2");
	expect_str(list(MCP_INACTIVE), "0,3");
	expect_eq(H->m.vcores[2].pcoreid, 0);
	expect_eq(vflags(0) & VC_PREEMPTED, VC_PREEMPTED);
	expect_eq(vflags(2) & (VC_PREEMPTED | VC_CAN_RCV_MSG), VC_CAN_RCV_MSG);
	expect_eq(H->m.num_vcores, 2);
	h_arrange(H, VCORE_PROC_RUNNABLE_M, "O:0 I:1,2,3");
	expect_eq(mcp_change_vcore(&H->m, 0, 2), -EAGAIN);	/* state */
	teardown();
}

TEST(detach_unmaps_to_the_inactive_tail_and_allows_a_new_attach)
{
	setup();
	h_arrange(H, VCORE_PROC_RUNNING_M, "O:0,1 B:2 I:3");
	mcp_attach_vcore(&H->m, 1);
	mcp_attach_vcore(&H->m, 2);
	mcp_vcpd(&H->m, 1)->flags = VC_CAN_RCV_MSG;
	expect_eq(mcp_detach_vcore(&H->m, NR_VC), -1);
	expect_eq(mcp_detach_vcore(&H->m, 1), (int)H->m.vcores[1].pcoreid);
	expect(!H->m.vcores[1].mapped);
	expect(!H->m.vcores[1].attached);
	expect_eq(vflags(1) & VC_CAN_RCV_MSG, 0);
	expect_str(list(MCP_ONLINE), "0");
	expect_str(list(MCP_INACTIVE), "3,1");
	expect_eq(H->m.procinfo->vcoremap[1].valid, 0);
	expect_eq(H->m.state, VCORE_PROC_RUNNING_M);
	/* offline: off the bulk-preempted list too, no pcore */
	expect_eq(mcp_detach_vcore(&H->m, 2), -1);
	expect_str(list(MCP_BULK_PREEMPTED), "");
	expect_str(list(MCP_INACTIVE), "3,1,2");
	/* the last one online: RUNNABLE_M, not WAITING */
	expect_eq(mcp_detach_vcore(&H->m, 0), 0);
	expect_eq(H->m.state, VCORE_PROC_RUNNABLE_M);
	expect_eq(H->m.num_vcores, 0);
	expect_eq(mcp_attach_vcore(&H->m, 1), 0);
	expect_eq(mcp_grant_vcore(&H->m, 4), &H->m.vcores[1]);
	teardown();
}

int main(void)
{
	tap_start(60);
	RUN(a_new_mcp_has_every_vcore_inactive_in_id_order);
	RUN(arrange_rejects_bad_input_and_changes_nothing);
	RUN(arrange_sets_lists_maps_and_procinfo);
	RUN(pcores_past_procinfos_map_are_not_published);
	RUN(wakeup_moves_only_waiting_to_runnable_m);
	RUN(dying_is_published);
	RUN(max_vcores_of_one_and_of_the_limit);
	RUN(attach_checks_the_id_twice_and_dying);
	RUN(wanted_is_amt_wanted_less_online_capped_zero_when_waiting_one_when_runnable);
	RUN(grant_takes_bulk_preempted_then_inactive_with_a_thread);
	RUN(grant_near_a_node_prefers_a_vcore_homed_there);
	RUN(yield_refuses_pending_and_the_last_out_waits);
	RUN(yield_goes_back_online_if_a_message_came_while_leaving);
	RUN(preempt_one_goes_inactive_all_go_bulk);
	RUN(change_vcore_swaps_online_and_keeps_the_pcore);
	RUN(detach_unmaps_to_the_inactive_tail_and_allows_a_new_attach);
	return tap_done();
}
