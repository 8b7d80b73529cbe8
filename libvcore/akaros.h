/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Akaros's spellings of libvcore's functions, for code ported from
 * Akaros's parlib: opt in by including this header after the others.
 * Every libvcore function carries the vcore_ prefix (vcore_get_ucq_msg(),
 * vcore_handle_events(), vcore_uthread_create(), ...); each macro here maps
 * the unprefixed name to it.  They are function-like macros, so a struct
 * field of the same name (procinfo's max_vcores) is left alone, and a
 * function's address must be taken by its vcore_ name.
 */
#ifndef _VCORE_AKAROS_H
#define _VCORE_AKAROS_H

#include "libvcore.h"

#define ceq_cleanup(...)	vcore_ceq_cleanup(__VA_ARGS__)
#define ceq_init(...)	vcore_ceq_init(__VA_ARGS__)
#define ceq_is_empty(...)	vcore_ceq_is_empty(__VA_ARGS__)
#define clear_kevent_q(...)	vcore_clear_kevent_q(__VA_ARGS__)
#define deregister_ev_handler(...)	vcore_deregister_ev_handler(__VA_ARGS__)
#define disable_notifs(...)	vcore_disable_notifs(__VA_ARGS__)
#define enable_notifs(...)	vcore_enable_notifs(__VA_ARGS__)
#define evbitmap_cleanup(...)	vcore_evbitmap_cleanup(__VA_ARGS__)
#define evbitmap_init(...)	vcore_evbitmap_init(__VA_ARGS__)
#define evbitmap_is_empty(...)	vcore_evbitmap_is_empty(__VA_ARGS__)
#define event_mbox_cleanup(...)	vcore_event_mbox_cleanup(__VA_ARGS__)
#define event_mbox_init(...)	vcore_event_mbox_init(__VA_ARGS__)
#define event_mbox_init_ceq(...)	vcore_event_mbox_init_ceq(__VA_ARGS__)
#define evq_attach_wakeup_ctlr(...)	vcore_evq_attach_wakeup_ctlr(__VA_ARGS__)
#define evq_remove_wakeup_ctlr(...)	vcore_evq_remove_wakeup_ctlr(__VA_ARGS__)
#define extract_one_mbox_msg(...)	vcore_extract_one_mbox_msg(__VA_ARGS__)
#define get_ceq_msg(...)	vcore_get_ceq_msg(__VA_ARGS__)
#define get_evbitmap_msg(...)	vcore_get_evbitmap_msg(__VA_ARGS__)
#define get_eventq(...)	vcore_get_eventq(__VA_ARGS__)
#define get_eventq_raw(...)	vcore_get_eventq_raw(__VA_ARGS__)
#define get_eventq_slim(...)	vcore_get_eventq_slim(__VA_ARGS__)
#define get_eventq_vcpd(...)	vcore_get_eventq_vcpd(__VA_ARGS__)
#define get_ucq_msg(...)	vcore_get_ucq_msg(__VA_ARGS__)
#define handle_ev_ev(...)	vcore_handle_ev_ev(__VA_ARGS__)
#define handle_event_q(...)	vcore_handle_event_q(__VA_ARGS__)
#define handle_events(...)	vcore_handle_events(__VA_ARGS__)
#define handle_mbox(...)	vcore_handle_mbox(__VA_ARGS__)
#define handle_one_mbox_msg(...)	vcore_handle_one_mbox_msg(__VA_ARGS__)
#define in_vcore_context(...)	vcore_in_vcore_context(__VA_ARGS__)
#define max_vcores(...)	vcore_max_vcores(__VA_ARGS__)
#define mbox_is_empty(...)	vcore_mbox_is_empty(__VA_ARGS__)
#define num_vcores(...)	vcore_num_vcores(__VA_ARGS__)
#define pdr_lock(...)	vcore_pdr_lock(__VA_ARGS__)
#define pdr_unlock(...)	vcore_pdr_unlock(__VA_ARGS__)
#define pop_user_ctx(...)	vcore_pop_user_ctx(__VA_ARGS__)
#define put_eventq(...)	vcore_put_eventq(__VA_ARGS__)
#define register_ev_handler(...)	vcore_register_ev_handler(__VA_ARGS__)
#define register_kevent_q(...)	vcore_register_kevent_q(__VA_ARGS__)
#define ucq_free(...)	vcore_ucq_free(__VA_ARGS__)
#define ucq_init(...)	vcore_ucq_init(__VA_ARGS__)
#define ucq_init_raw(...)	vcore_ucq_init_raw(__VA_ARGS__)
#define ucq_is_empty(...)	vcore_ucq_is_empty(__VA_ARGS__)
#define uth_blockon_evqs_arr(...)	vcore_uth_blockon_evqs_arr(__VA_ARGS__)
#define uth_cond_var_broadcast(...)	vcore_uth_cond_var_broadcast(__VA_ARGS__)
#define uth_cond_var_init(...)	vcore_uth_cond_var_init(__VA_ARGS__)
#define uth_cond_var_signal(...)	vcore_uth_cond_var_signal(__VA_ARGS__)
#define uth_cond_var_wait(...)	vcore_uth_cond_var_wait(__VA_ARGS__)
#define uth_disable_notifs(...)	vcore_uth_disable_notifs(__VA_ARGS__)
#define uth_enable_notifs(...)	vcore_uth_enable_notifs(__VA_ARGS__)
#define uth_mutex_init(...)	vcore_uth_mutex_init(__VA_ARGS__)
#define uth_mutex_lock(...)	vcore_uth_mutex_lock(__VA_ARGS__)
#define uth_mutex_trylock(...)	vcore_uth_mutex_trylock(__VA_ARGS__)
#define uth_mutex_unlock(...)	vcore_uth_mutex_unlock(__VA_ARGS__)
#define uthread_block(...)	vcore_uthread_block(__VA_ARGS__)
#define uthread_create(...)	vcore_uthread_create(__VA_ARGS__)
#define uthread_create_on_node(...)	vcore_uthread_create_on_node(__VA_ARGS__)
#define uthread_detach(...)	vcore_uthread_detach(__VA_ARGS__)
#define uthread_exit(...)	vcore_uthread_exit(__VA_ARGS__)
#define uthread_get_stats(...)	vcore_uthread_get_stats(__VA_ARGS__)
#define uthread_join(...)	vcore_uthread_join(__VA_ARGS__)
#define uthread_lib_init(...)	vcore_uthread_lib_init(__VA_ARGS__)
#define uthread_runnable(...)	vcore_uthread_runnable(__VA_ARGS__)
#define uthread_self(...)	vcore_uthread_self(__VA_ARGS__)
#define uthread_yield(...)	vcore_uthread_yield(__VA_ARGS__)
#define vcpd_mboxes_cleanup(...)	vcore_vcpd_mboxes_cleanup(__VA_ARGS__)
#define vcpd_mboxes_init(...)	vcore_vcpd_mboxes_init(__VA_ARGS__)
#define vcpd_of(...)	vcore_vcpd_of(__VA_ARGS__)

#define CEQ_DEFAULT_SZ	VCORE_CEQ_DEFAULT_SZ
#define CEQ_MAX_EVENTS	VCORE_CEQ_MAX_EVENTS
#define CEQ_MAX_RING_SZ	VCORE_CEQ_MAX_RING_SZ

#endif /* _VCORE_AKAROS_H */
