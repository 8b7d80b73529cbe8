/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints vcore:*: the life of an event (send, post), of a
 * notification (IPI sent, delivered into vcore context) and of a vcore
 * (grant, yield, preempt, wakeup), a vcore thread blocking in the kernel,
 * alarm expiries, and each fire of an fd tap.  pid is the MCP's thread group id in the namespace it opened
 * /dev/vcore from.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vcore

#if !defined(_VCORE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VCORE_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(vcore_send,
	TP_PROTO(u32 pid, u64 ev_q, u16 ev_type, u32 vcoreid),
	TP_ARGS(pid, ev_q, ev_type, vcoreid),
	TP_STRUCT__entry(
		__field(u32, pid)
		__field(u64, ev_q)
		__field(u16, ev_type)
		__field(u32, vcoreid)
	),
	TP_fast_assign(
		__entry->pid = pid;
		__entry->ev_q = ev_q;
		__entry->ev_type = ev_type;
		__entry->vcoreid = vcoreid;
	),
	TP_printk("pid=%u ev_q=0x%llx ev_type=%u vcoreid=%u", __entry->pid,
		  __entry->ev_q, __entry->ev_type, __entry->vcoreid)
);

TRACE_EVENT(vcore_post,
	TP_PROTO(u32 pid, u32 mbox_type, u16 ev_type),
	TP_ARGS(pid, mbox_type, ev_type),
	TP_STRUCT__entry(
		__field(u32, pid)
		__field(u32, mbox_type)
		__field(u16, ev_type)
	),
	TP_fast_assign(
		__entry->pid = pid;
		__entry->mbox_type = mbox_type;
		__entry->ev_type = ev_type;
	),
	TP_printk("pid=%u mbox_type=%u ev_type=%u", __entry->pid,
		  __entry->mbox_type, __entry->ev_type)
);

DECLARE_EVENT_CLASS(vcore_vcore,
	TP_PROTO(u32 pid, u32 vcoreid, int cpu),
	TP_ARGS(pid, vcoreid, cpu),
	TP_STRUCT__entry(
		__field(u32, pid)
		__field(u32, vcoreid)
		__field(int, cpu)
	),
	TP_fast_assign(
		__entry->pid = pid;
		__entry->vcoreid = vcoreid;
		__entry->cpu = cpu;
	),
	TP_printk("pid=%u vcoreid=%u cpu=%d", __entry->pid, __entry->vcoreid,
		  __entry->cpu)
);

/* the IPI is sent, to the vcore's pcore */
DEFINE_EVENT(vcore_vcore, vcore_ipi,
	TP_PROTO(u32 pid, u32 vcoreid, int cpu), TP_ARGS(pid, vcoreid, cpu));
/* the vcore's thread is about to return into vcore_entry */
DEFINE_EVENT(vcore_vcore, vcore_notify,
	TP_PROTO(u32 pid, u32 vcoreid, int cpu), TP_ARGS(pid, vcoreid, cpu));
DEFINE_EVENT(vcore_vcore, vcore_grant,
	TP_PROTO(u32 pid, u32 vcoreid, int cpu), TP_ARGS(pid, vcoreid, cpu));
DEFINE_EVENT(vcore_vcore, vcore_yield,
	TP_PROTO(u32 pid, u32 vcoreid, int cpu), TP_ARGS(pid, vcoreid, cpu));
DEFINE_EVENT(vcore_vcore, vcore_preempt,
	TP_PROTO(u32 pid, u32 vcoreid, int cpu), TP_ARGS(pid, vcoreid, cpu));

/* an alarm expired; folded = the periods this expiry stands for */
TRACE_EVENT(vcore_alarm,
	TP_PROTO(u32 pid, u32 id, u32 vcoreid, int cpu, u64 folded),
	TP_ARGS(pid, id, vcoreid, cpu, folded),
	TP_STRUCT__entry(
		__field(u32, pid)
		__field(u32, id)
		__field(u32, vcoreid)
		__field(int, cpu)
		__field(u64, folded)
	),
	TP_fast_assign(
		__entry->pid = pid;
		__entry->id = id;
		__entry->vcoreid = vcoreid;
		__entry->cpu = cpu;
		__entry->folded = folded;
	),
	TP_printk("pid=%u id=%u vcoreid=%u cpu=%d folded=%llu", __entry->pid,
		  __entry->id, __entry->vcoreid, __entry->cpu, __entry->folded)
);

TRACE_EVENT(vcore_wakeup,
	TP_PROTO(u32 pid),
	TP_ARGS(pid),
	TP_STRUCT__entry(
		__field(u32, pid)
	),
	TP_fast_assign(
		__entry->pid = pid;
	),
	TP_printk("pid=%u", __entry->pid)
);

/*
 * a vcore thread went to sleep in the kernel outside the module's own
 * waits: its task state (TASK_* bits) and the user instruction it left
 * user space from (a syscall's return address, a faulting instruction)
 */
TRACE_EVENT(vcore_blocked,
	TP_PROTO(u32 pid, u32 vcoreid, unsigned int state, u64 ip),
	TP_ARGS(pid, vcoreid, state, ip),
	TP_STRUCT__entry(
		__field(u32, pid)
		__field(u32, vcoreid)
		__field(unsigned int, state)
		__field(u64, ip)
	),
	TP_fast_assign(
		__entry->pid = pid;
		__entry->vcoreid = vcoreid;
		__entry->state = state;
		__entry->ip = ip;
	),
	TP_printk("pid=%u vcoreid=%u state=0x%x ip=0x%llx", __entry->pid,
		  __entry->vcoreid, __entry->state, __entry->ip)
);

/* an fd tap fired: its fd number, the VCORE_TAP_* bits, its ev_id */
TRACE_EVENT(vcore_tap_fire,
	TP_PROTO(u32 pid, int fd, u32 bits, u16 ev_id),
	TP_ARGS(pid, fd, bits, ev_id),
	TP_STRUCT__entry(
		__field(u32, pid)
		__field(int, fd)
		__field(u32, bits)
		__field(u16, ev_id)
	),
	TP_fast_assign(
		__entry->pid = pid;
		__entry->fd = fd;
		__entry->bits = bits;
		__entry->ev_id = ev_id;
	),
	TP_printk("pid=%u fd=%d bits=0x%x ev_id=%u", __entry->pid,
		  __entry->fd, __entry->bits, __entry->ev_id)
);

#endif /* _VCORE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
