/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Pins every size and offset that <linux/vcore.h> promises.  Included once
 * by vcore.ko and once by libvcore, so a layout change breaks both builds.
 * The test-only commands of <linux/vcore_test.h> are no ABI: their
 * structs are pinned in kmod/test.c, the test build's.
 * These numbers are the ABI: a change here is an ABI break unless it only
 * adds a new line.
 */
#ifndef _VCORE_ABI_CHECK_H
#define _VCORE_ABI_CHECK_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/stddef.h>
#define VCORE_STATIC_ASSERT(e, m) static_assert(e, m)
#elif defined(__cplusplus)
#include <cstddef>
#define VCORE_STATIC_ASSERT(e, m) static_assert(e, m)
#else
#include <stddef.h>
#define VCORE_STATIC_ASSERT(e, m) _Static_assert(e, m)
#endif

#include <linux/vcore.h>

#define VCORE_ABI_SIZE(s, n) \
	VCORE_STATIC_ASSERT(sizeof(struct s) == (n), "sizeof(struct " #s ")")
#define VCORE_ABI_OFFSET(s, f, n) \
	VCORE_STATIC_ASSERT(offsetof(struct s, f) == (n), #s "." #f)

VCORE_ABI_SIZE(event_msg, 24);
VCORE_ABI_OFFSET(event_msg, ev_type, 0);
VCORE_ABI_OFFSET(event_msg, ev_arg1, 2);
VCORE_ABI_OFFSET(event_msg, ev_arg2, 4);
VCORE_ABI_OFFSET(event_msg, ev_arg3, 8);
VCORE_ABI_OFFSET(event_msg, ev_arg4, 16);
VCORE_ABI_SIZE(ucq_page_header, 32);
VCORE_ABI_OFFSET(ucq_page_header, cons_next_pg, 0);
VCORE_ABI_OFFSET(ucq_page_header, nr_cons, 8);
VCORE_ABI_SIZE(ucq_msg_slot, 32);
VCORE_ABI_OFFSET(ucq_msg_slot, ev_msg, 0);
VCORE_ABI_OFFSET(ucq_msg_slot, ready, 24);
VCORE_ABI_SIZE(ucq_page, 4096);
VCORE_ABI_OFFSET(ucq_page, header, 0);
VCORE_ABI_OFFSET(ucq_page, msgs, 32);
VCORE_ABI_SIZE(ucq, 56);
VCORE_ABI_OFFSET(ucq, prod_idx, 0);
VCORE_ABI_OFFSET(ucq, cons_idx, 8);
VCORE_ABI_OFFSET(ucq, spare_pg, 16);
VCORE_ABI_OFFSET(ucq, nr_extra_pgs, 24);
VCORE_ABI_OFFSET(ucq, prod_overflow, 32);
VCORE_ABI_OFFSET(ucq, ucq_ready, 36);
VCORE_ABI_OFFSET(ucq, u_lock, 40);
VCORE_ABI_SIZE(evbitmap, 16);
VCORE_ABI_OFFSET(evbitmap, check_bits, 0);
VCORE_ABI_OFFSET(evbitmap, bitmap, 8);
VCORE_ABI_SIZE(ceq_event, 32);
VCORE_ABI_OFFSET(ceq_event, coalesce, 0);
VCORE_ABI_OFFSET(ceq_event, blob_data, 8);
VCORE_ABI_OFFSET(ceq_event, idx_posted, 16);
VCORE_ABI_OFFSET(ceq_event, user_data, 20);
VCORE_ABI_SIZE(ceq, 88);
VCORE_ABI_OFFSET(ceq, events, 0);
VCORE_ABI_OFFSET(ceq, ring, 8);
VCORE_ABI_OFFSET(ceq, nr_events, 16);
VCORE_ABI_OFFSET(ceq, ring_sz, 20);
VCORE_ABI_OFFSET(ceq, max_event_ever, 24);
VCORE_ABI_OFFSET(ceq, last_recovered, 28);
VCORE_ABI_OFFSET(ceq, prod_idx, 32);
VCORE_ABI_OFFSET(ceq, cons_pub_idx, 36);
VCORE_ABI_OFFSET(ceq, cons_pvt_idx, 40);
VCORE_ABI_OFFSET(ceq, operation, 44);
VCORE_ABI_OFFSET(ceq, ring_overflowed, 45);
VCORE_ABI_OFFSET(ceq, overflow_recovery, 46);
VCORE_ABI_OFFSET(ceq, u_lock, 48);
VCORE_ABI_OFFSET(ceq, ring_mask, 52);
VCORE_ABI_SIZE(event_mbox, 128);
VCORE_ABI_OFFSET(event_mbox, type, 0);
VCORE_ABI_OFFSET(event_mbox, ucq, 8);
VCORE_ABI_OFFSET(event_mbox, evbm, 8);
VCORE_ABI_OFFSET(event_mbox, ceq, 8);
VCORE_ABI_SIZE(event_queue, 64);
VCORE_ABI_OFFSET(event_queue, ev_mbox, 0);
VCORE_ABI_OFFSET(event_queue, ev_flags, 8);
VCORE_ABI_OFFSET(event_queue, ev_alert_pending, 12);
VCORE_ABI_OFFSET(event_queue, ev_vcore, 16);
VCORE_ABI_OFFSET(event_queue, ev_handler, 24);
VCORE_ABI_OFFSET(event_queue, ev_udata, 32);
VCORE_ABI_SIZE(event_queue_big, 192);
VCORE_ABI_OFFSET(event_queue_big, ev_q, 0);
VCORE_ABI_OFFSET(event_queue_big, ev_imbox, 64);
VCORE_ABI_SIZE(vcore_user_ctx, 256);
VCORE_ABI_OFFSET(vcore_user_ctx, type, 0);
VCORE_ABI_OFFSET(vcore_user_ctx, flags, 4);
VCORE_ABI_OFFSET(vcore_user_ctx, rax, 8);
VCORE_ABI_OFFSET(vcore_user_ctx, rbx, 16);
VCORE_ABI_OFFSET(vcore_user_ctx, rcx, 24);
VCORE_ABI_OFFSET(vcore_user_ctx, rdx, 32);
VCORE_ABI_OFFSET(vcore_user_ctx, rsi, 40);
VCORE_ABI_OFFSET(vcore_user_ctx, rdi, 48);
VCORE_ABI_OFFSET(vcore_user_ctx, rbp, 56);
VCORE_ABI_OFFSET(vcore_user_ctx, rsp, 64);
VCORE_ABI_OFFSET(vcore_user_ctx, r8, 72);
VCORE_ABI_OFFSET(vcore_user_ctx, r9, 80);
VCORE_ABI_OFFSET(vcore_user_ctx, r10, 88);
VCORE_ABI_OFFSET(vcore_user_ctx, r11, 96);
VCORE_ABI_OFFSET(vcore_user_ctx, r12, 104);
VCORE_ABI_OFFSET(vcore_user_ctx, r13, 112);
VCORE_ABI_OFFSET(vcore_user_ctx, r14, 120);
VCORE_ABI_OFFSET(vcore_user_ctx, r15, 128);
VCORE_ABI_OFFSET(vcore_user_ctx, rip, 136);
VCORE_ABI_OFFSET(vcore_user_ctx, rflags, 144);
VCORE_ABI_OFFSET(vcore_user_ctx, fs_base, 152);
VCORE_ABI_OFFSET(vcore_user_ctx, gs_base, 160);
VCORE_ABI_OFFSET(vcore_user_ctx, mxcsr, 168);
VCORE_ABI_OFFSET(vcore_user_ctx, fpucw, 172);
VCORE_ABI_OFFSET(vcore_user_ctx, cs, 174);
VCORE_ABI_OFFSET(vcore_user_ctx, ss, 176);
VCORE_ABI_SIZE(vcore_fp_state, 4096);
VCORE_ABI_SIZE(vcore_preempt_data, 5376);
VCORE_ABI_OFFSET(vcore_preempt_data, preempt_fp, 0);
VCORE_ABI_OFFSET(vcore_preempt_data, vcore_ctx, 4096);
VCORE_ABI_OFFSET(vcore_preempt_data, uthread_ctx, 4352);
VCORE_ABI_OFFSET(vcore_preempt_data, vcore_entry, 4608);
VCORE_ABI_OFFSET(vcore_preempt_data, vcore_stack, 4616);
VCORE_ABI_OFFSET(vcore_preempt_data, vcore_tls_desc, 4624);
VCORE_ABI_OFFSET(vcore_preempt_data, flags, 4632);
VCORE_ABI_OFFSET(vcore_preempt_data, racy_flags, 4636);
VCORE_ABI_OFFSET(vcore_preempt_data, notif_disabled, 4640);
VCORE_ABI_OFFSET(vcore_preempt_data, notif_pending, 4641);
VCORE_ABI_OFFSET(vcore_preempt_data, ev_mbox_public, 4800);
VCORE_ABI_OFFSET(vcore_preempt_data, ev_mbox_private, 4928);
VCORE_ABI_SIZE(vcore_vcoremap_entry, 32);
VCORE_ABI_OFFSET(vcore_vcoremap_entry, pcoreid, 0);
VCORE_ABI_OFFSET(vcore_vcoremap_entry, valid, 4);
VCORE_ABI_OFFSET(vcore_vcoremap_entry, nr_preempts_sent, 8);
VCORE_ABI_OFFSET(vcore_vcoremap_entry, nr_preempts_done, 12);
VCORE_ABI_OFFSET(vcore_vcoremap_entry, preempt_pending, 16);
VCORE_ABI_OFFSET(vcore_vcoremap_entry, home_node, 24);
VCORE_ABI_SIZE(vcore_pcoremap_entry, 32);
VCORE_ABI_OFFSET(vcore_pcoremap_entry, vcoreid, 0);
VCORE_ABI_OFFSET(vcore_pcoremap_entry, valid, 4);
VCORE_ABI_OFFSET(vcore_pcoremap_entry, managed, 8);
VCORE_ABI_OFFSET(vcore_pcoremap_entry, numa_node, 12);
VCORE_ABI_OFFSET(vcore_pcoremap_entry, package_id, 16);
VCORE_ABI_OFFSET(vcore_pcoremap_entry, core_id, 20);
VCORE_ABI_SIZE(vcore_procinfo, 16640);
VCORE_ABI_OFFSET(vcore_procinfo, pid, 0);
VCORE_ABI_OFFSET(vcore_procinfo, state, 4);
VCORE_ABI_OFFSET(vcore_procinfo, num_vcores, 8);
VCORE_ABI_OFFSET(vcore_procinfo, max_vcores, 12);
VCORE_ABI_OFFSET(vcore_procinfo, nr_pcores, 16);
VCORE_ABI_OFFSET(vcore_procinfo, coremap_seq, 20);
VCORE_ABI_OFFSET(vcore_procinfo, tsc_freq, 24);
VCORE_ABI_OFFSET(vcore_procinfo, nr_nodes, 32);
VCORE_ABI_OFFSET(vcore_procinfo, vcoremap, 256);
VCORE_ABI_OFFSET(vcore_procinfo, pcoremap, 8448);
VCORE_ABI_SIZE(vcore_resource_req, 32);
VCORE_ABI_OFFSET(vcore_resource_req, amt_wanted, 0);
VCORE_ABI_OFFSET(vcore_resource_req, amt_wanted_min, 8);
VCORE_ABI_OFFSET(vcore_resource_req, flags, 16);
VCORE_ABI_SIZE(vcore_procdata, 4096);
VCORE_ABI_OFFSET(vcore_procdata, res_req, 0);
VCORE_ABI_OFFSET(vcore_procdata, kernel_evts, 128);
VCORE_ABI_SIZE(vcore_api, 168);
VCORE_ABI_OFFSET(vcore_api, api, 0);
VCORE_ABI_OFFSET(vcore_api, flags, 4);
VCORE_ABI_OFFSET(vcore_api, features, 8);
VCORE_ABI_OFFSET(vcore_api, ioctls, 16);
VCORE_ABI_OFFSET(vcore_api, procinfo_offset, 32);
VCORE_ABI_OFFSET(vcore_api, procinfo_size, 40);
VCORE_ABI_OFFSET(vcore_api, procdata_offset, 48);
VCORE_ABI_OFFSET(vcore_api, procdata_size, 56);
VCORE_ABI_OFFSET(vcore_api, arena_offset, 64);
VCORE_ABI_OFFSET(vcore_api, arena_max_size, 72);
VCORE_ABI_OFFSET(vcore_api, vcpd_offset, 80);
VCORE_ABI_OFFSET(vcore_api, vcpd_size, 84);
VCORE_ABI_OFFSET(vcore_api, max_vcores, 88);
VCORE_ABI_OFFSET(vcore_api, max_nr_event, 92);
VCORE_ABI_OFFSET(vcore_api, nr_pcores, 96);
VCORE_ABI_OFFSET(vcore_api, fp_state_size, 100);
VCORE_ABI_OFFSET(vcore_api, resv, 104);
VCORE_ABI_SIZE(vcore_arena_alloc, 32);
VCORE_ABI_OFFSET(vcore_arena_alloc, addr, 0);
VCORE_ABI_OFFSET(vcore_arena_alloc, nr_pages, 8);
VCORE_ABI_OFFSET(vcore_arena_alloc, flags, 12);
VCORE_ABI_OFFSET(vcore_arena_alloc, node, 16);
VCORE_ABI_SIZE(vcore_setup, 48);
VCORE_ABI_OFFSET(vcore_setup, arena_size, 0);
VCORE_ABI_OFFSET(vcore_setup, flags, 8);
VCORE_ABI_SIZE(vcore_send_event, 56);
VCORE_ABI_OFFSET(vcore_send_event, ev_q, 0);
VCORE_ABI_OFFSET(vcore_send_event, msg, 8);
VCORE_ABI_OFFSET(vcore_send_event, vcoreid, 32);
VCORE_ABI_OFFSET(vcore_send_event, flags, 36);
VCORE_ABI_SIZE(vcore_self_notify, 48);
VCORE_ABI_OFFSET(vcore_self_notify, vcoreid, 0);
VCORE_ABI_OFFSET(vcore_self_notify, flags, 4);
VCORE_ABI_OFFSET(vcore_self_notify, msg, 8);
VCORE_ABI_SIZE(vcore_notify, 48);
VCORE_ABI_OFFSET(vcore_notify, target_fd, 0);
VCORE_ABI_OFFSET(vcore_notify, target_pid, 4);
VCORE_ABI_OFFSET(vcore_notify, msg, 8);
VCORE_ABI_SIZE(vcore_stats, 384);
VCORE_ABI_OFFSET(vcore_stats, sent, 0);
VCORE_ABI_OFFSET(vcore_stats, posted, 8);
VCORE_ABI_OFFSET(vcore_stats, notifs, 40);
VCORE_ABI_OFFSET(vcore_stats, indirs, 48);
VCORE_ABI_OFFSET(vcore_stats, spams, 56);
VCORE_ABI_OFFSET(vcore_stats, alarms_fired, 64);
VCORE_ABI_OFFSET(vcore_stats, alarms_held, 72);
VCORE_ABI_OFFSET(vcore_stats, tap_fires, 80);
VCORE_ABI_OFFSET(vcore_stats, tap_pollfree, 88);
VCORE_ABI_OFFSET(vcore_stats, kernel_blocks, 96);
VCORE_ABI_OFFSET(vcore_stats, resv, 104);
VCORE_ABI_OFFSET(vcore_stats, dropped, 128);
VCORE_ABI_SIZE(vcore_tap_req, 56);
VCORE_ABI_OFFSET(vcore_tap_req, fd, 0);
VCORE_ABI_OFFSET(vcore_tap_req, cmd, 4);
VCORE_ABI_OFFSET(vcore_tap_req, filter, 8);
VCORE_ABI_OFFSET(vcore_tap_req, flags, 12);
VCORE_ABI_OFFSET(vcore_tap_req, ev_q, 16);
VCORE_ABI_OFFSET(vcore_tap_req, data, 24);
VCORE_ABI_OFFSET(vcore_tap_req, ev_id, 32);
VCORE_ABI_SIZE(vcore_attach, 32);
VCORE_ABI_OFFSET(vcore_attach, vcoreid, 0);
VCORE_ABI_OFFSET(vcore_attach, flags, 4);
VCORE_ABI_SIZE(vcore_yield, 32);
VCORE_ABI_OFFSET(vcore_yield, flags, 0);
VCORE_ABI_SIZE(vcore_change, 32);
VCORE_ABI_OFFSET(vcore_change, vcoreid, 0);
VCORE_ABI_OFFSET(vcore_change, enable_my_notif, 4);
VCORE_ABI_SIZE(vcore_preempt, 40);
VCORE_ABI_OFFSET(vcore_preempt, target_fd, 0);
VCORE_ABI_OFFSET(vcore_preempt, target_pid, 4);
VCORE_ABI_OFFSET(vcore_preempt, vcoreid, 8);
VCORE_ABI_OFFSET(vcore_preempt, flags, 12);
VCORE_ABI_OFFSET(vcore_preempt, warn_ns, 16);
VCORE_ABI_SIZE(vcore_node_req, 32);
VCORE_ABI_OFFSET(vcore_node_req, node, 0);
VCORE_ABI_OFFSET(vcore_node_req, flags, 4);
VCORE_ABI_SIZE(vcore_alarm, 64);
VCORE_ABI_OFFSET(vcore_alarm, ev_q, 0);
VCORE_ABI_OFFSET(vcore_alarm, deadline_ns, 8);
VCORE_ABI_OFFSET(vcore_alarm, period_ns, 16);
VCORE_ABI_OFFSET(vcore_alarm, id, 24);
VCORE_ABI_OFFSET(vcore_alarm, flags, 28);
VCORE_ABI_OFFSET(vcore_alarm, vcoreid, 32);
VCORE_ABI_SIZE(vcore_alarm_cancel, 32);
VCORE_ABI_OFFSET(vcore_alarm_cancel, id, 0);
VCORE_ABI_OFFSET(vcore_alarm_cancel, flags, 4);

VCORE_STATIC_ASSERT(VCORE_UCQ_SLOTS_PER_PAGE == 127, "UCQ slots per page");
VCORE_STATIC_ASSERT(sizeof(struct vcore_preempt_data) % 64 == 0,
		    "VCPD size keeps the XSAVE area 64-byte aligned");
VCORE_STATIC_ASSERT(sizeof(struct vcore_procdata) % 4096 == 0,
		    "the VCPD array starts on a page");
VCORE_STATIC_ASSERT(VCORE_MAX_NR_EVENT <= 64 * VCORE_EVBITMAP_WORDS,
		    "the bitmap mbox covers every event type");
VCORE_STATIC_ASSERT(EVENT_FLAGS_ALL == 0x3ff, "EVENT_* flags");
VCORE_STATIC_ASSERT(VCORE_DROP_NR <= VCORE_STATS_MAX_DROP, "drop counters");
VCORE_STATIC_ASSERT(VCORE_IOC_API == 0xc0a8b900, "VCORE_IOC_API");

#endif /* _VCORE_ABI_CHECK_H */
