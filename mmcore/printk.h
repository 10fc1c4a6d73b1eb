/* SPDX-License-Identifier: MIT */
/*
 * printk.h - the machine's kernel log (the ring buffer dmesg reads).
 *
 * Mirrors: kernel/printk/printk.c as far as a reader sees it: messages are lines; a
 * message without a trailing newline stays open and pr_cont() continues it; the next
 * printk() closes it. Every line carries a timestamp from the machine's virtual clock,
 * so two machines with one history have one log. Nothing here does I/O: the log is text
 * held by the machine and rendered by mm_dmesg_render().
 */
#ifndef MM_PRINTK_H
#define MM_PRINTK_H

#include "buf.h"

struct mm_machine;

struct printk_log {
	struct mm_buf text; /* complete lines, "[    0.000000] msg\n" */
	bool open;	    /* the last line has no newline yet */
	uint64_t clock_ns;  /* virtual time stamped on new lines */
};

void printk(struct mm_machine *m, const char *fmt, ...) MM_PRINTF(2, 3);
void pr_cont(struct mm_machine *m, const char *fmt, ...) MM_PRINTF(2, 3);
void printk_finish(struct printk_log *log);

#endif /* MM_PRINTK_H */
