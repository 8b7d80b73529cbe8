/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Circular doubly linked lists with a sentinel head, with the kernel's
 * names and semantics, written for the harness.
 *
 * Every store to a ->next link is a relaxed atomic store, because the
 * RCU readers in rculist.h load ->next locklessly while writers (under a
 * lock) change it; ThreadSanitizer then sees no plain write racing with
 * them.  ->prev is only followed under the writers' lock.  A deleted entry
 * gets poison links, so a use after list_del() faults.
 */
#ifndef _H_LIST_H
#define _H_LIST_H

struct list_head {
	struct list_head *next, *prev;
};

#define H_LIST_POISON_NEXT	((struct list_head *)0x00dead0000000100ULL)
#define H_LIST_POISON_PREV	((struct list_head *)0x00dead0000000200ULL)

#define LIST_HEAD_INIT(name)	{ &(name), &(name) }
#define LIST_HEAD(name)		struct list_head name = LIST_HEAD_INIT(name)

static inline void h_set_next(struct list_head *e, struct list_head *next)
{
	__atomic_store_n(&e->next, next, __ATOMIC_RELAXED);
}

static inline void INIT_LIST_HEAD(struct list_head *head)
{
	h_set_next(head, head);
	head->prev = head;
}

/* Put e between the adjacent entries before and after. */
static inline void h_list_link(struct list_head *e, struct list_head *before,
			       struct list_head *after)
{
	h_set_next(e, after);
	e->prev = before;
	after->prev = e;
	h_set_next(before, e);
}

/* Join before and after, dropping whatever was between them. */
static inline void h_list_join(struct list_head *before,
			       struct list_head *after)
{
	after->prev = before;
	h_set_next(before, after);
}

static inline void list_add(struct list_head *e, struct list_head *head)
{
	h_list_link(e, head, head->next);
}

static inline void list_add_tail(struct list_head *e, struct list_head *head)
{
	h_list_link(e, head->prev, head);
}

static inline void list_del(struct list_head *e)
{
	h_list_join(e->prev, e->next);
	h_set_next(e, H_LIST_POISON_NEXT);
	e->prev = H_LIST_POISON_PREV;
}

static inline void list_del_init(struct list_head *e)
{
	h_list_join(e->prev, e->next);
	INIT_LIST_HEAD(e);
}

static inline void list_move(struct list_head *e, struct list_head *head)
{
	h_list_join(e->prev, e->next);
	list_add(e, head);
}

static inline void list_move_tail(struct list_head *e, struct list_head *head)
{
	h_list_join(e->prev, e->next);
	list_add_tail(e, head);
}

static inline bool list_empty(const struct list_head *head)
{
	return __atomic_load_n(&head->next, __ATOMIC_RELAXED) == head;
}

static inline bool list_is_singular(const struct list_head *head)
{
	return !list_empty(head) && head->next == head->prev;
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(head, type, member)				\
	list_entry((head)->next, type, member)
#define list_last_entry(head, type, member)				\
	list_entry((head)->prev, type, member)
#define list_first_entry_or_null(head, type, member)			\
	(list_empty(head) ? NULL : list_first_entry(head, type, member))
#define list_next_entry(pos, member)					\
	list_entry((pos)->member.next, __typeof__(*(pos)), member)

#define list_for_each(pos, head)					\
	for (pos = (head)->next; pos != (head); pos = pos->next)
#define list_for_each_entry(pos, head, member)				\
	for (pos = list_first_entry(head, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = list_next_entry(pos, member))
#define list_for_each_entry_safe(pos, n, head, member)			\
	for (pos = list_first_entry(head, __typeof__(*pos), member),	\
	     n = list_next_entry(pos, member);				\
	     &pos->member != (head);					\
	     pos = n, n = list_next_entry(n, member))

/* Entries on a list, counted with a bound (the harness's own checks). */
static inline unsigned long h_list_count(const struct list_head *head,
					 unsigned long max)
{
	const struct list_head *p;
	unsigned long n = 0;

	for (p = head->next; p != head && n <= max; p = p->next)
		n++;
	return n;
}

#endif /* _H_LIST_H */
