/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RCU for the harness.  Read-side sections are liburcu's (urcu-memb),
 * entered through h_rcu_read_lock(), which also keeps a per-thread nesting
 * depth so that a test can assert that every core operation leaves its
 * sections balanced.  A thread registers with liburcu on its first read
 * lock and unregisters when it exits.
 *
 * rcu_dereference() is an acquire load (stronger than the kernel's
 * dependency ordering, and visible to ThreadSanitizer) and
 * rcu_assign_pointer() a release store; both go through the access hook,
 * so watchpoints and injected delays reach the core's lockless peeks at
 * list heads.
 */
#ifndef _H_RCULIST_H
#define _H_RCULIST_H

void h_rcu_read_lock(void);
void h_rcu_read_unlock(void);
int h_rcu_depth(void);
void h_synchronize_rcu(void);

#define rcu_read_lock()		h_rcu_read_lock()
#define rcu_read_unlock()	h_rcu_read_unlock()
#define synchronize_rcu()	h_synchronize_rcu()

#define rcu_dereference(p)						\
	({ H_HOOK(&(p), H_LOAD, "rcu_dereference");			\
	   __atomic_load_n(&(p), __ATOMIC_ACQUIRE); })
#define rcu_assign_pointer(p, v)					\
	({ H_HOOK(&(p), H_STORE, "rcu_assign_pointer");		\
	   __atomic_store_n(&(p), (v), __ATOMIC_RELEASE); })

static inline void list_add_rcu(struct list_head *e, struct list_head *head)
{
	struct list_head *after = head->next;

	h_set_next(e, after);
	e->prev = head;
	rcu_assign_pointer(head->next, e);
	after->prev = e;
}

static inline void list_add_tail_rcu(struct list_head *e,
				     struct list_head *head)
{
	struct list_head *before = head->prev;

	h_set_next(e, head);
	e->prev = before;
	rcu_assign_pointer(before->next, e);
	head->prev = e;
}

/* A reader standing on e can still walk on: ->next is left alone. */
static inline void list_del_rcu(struct list_head *e)
{
	h_list_join(e->prev, e->next);
	e->prev = H_LIST_POISON_PREV;
}

#define list_next_rcu(e)	(*(struct list_head **)&(e)->next)

#define list_entry_rcu(ptr, type, member)	container_of(ptr, type, member)

#define list_first_or_null_rcu(head, type, member)			\
	({ struct list_head *__h = (head);				\
	   struct list_head *__n = rcu_dereference(__h->next);		\
	   __n != __h ? list_entry_rcu(__n, type, member) : NULL; })

#define list_for_each_entry_rcu(pos, head, member)			\
	for (pos = list_entry_rcu(rcu_dereference((head)->next),	\
				  __typeof__(*pos), member);		\
	     &pos->member != (head);					\
	     pos = list_entry_rcu(rcu_dereference(pos->member.next),	\
				  __typeof__(*pos), member))

#endif /* _H_RCULIST_H */
