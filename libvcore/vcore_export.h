/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Akaros's names, libvcore's symbols.
 *
 * The event API keeps Akaros's function names (get_ucq_msg, handle_event_q,
 * ...) so that code and papers written for Akaros read the same here, but
 * the library exports only vcore_-prefixed symbols.  VCORE_SYM() binds a C
 * name to its prefixed linker symbol, as glibc's __REDIRECT does:
 *
 *	bool get_ucq_msg(struct ucq *ucq, struct event_msg *msg)
 *		VCORE_SYM(get_ucq_msg);
 *
 * declares get_ucq_msg() for C and C++ callers, defined and exported as
 * vcore_get_ucq_msg.
 */
#ifndef _VCORE_EXPORT_H
#define _VCORE_EXPORT_H

#define VCORE_SYM(name)	__asm__("vcore_" #name)

#endif /* _VCORE_EXPORT_H */
